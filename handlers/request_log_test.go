package handlers_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// lockedBuffer is a log that the server's goroutines write while the test reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestEachRequestLoggedOnce: every request, from the API or a page, gives
// exactly one "request" line with its request id, method, route (and API
// function), status, duration and, once known, the user id; no password,
// key, cookie or token sent with it appears anywhere in the log.
func TestEachRequestLoggedOnce(t *testing.T) {
	t.Parallel()
	logs := &lockedBuffer{}
	env := newPageEnv(t, pageEnvOptions{logs: logs})
	alice := env.user("alice")
	env.user("bob")
	acme := env.org(alice, "Acme")

	type sent struct {
		status   int
		route    string
		function string
		userID   int64 // 0: no user
	}
	requests := map[string]sent{} // by request id
	do := func(c *http.Client, req *http.Request, want sent) []byte {
		t.Helper()
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want.status {
			t.Fatalf("%s %s: %d %s, want %d", req.Method, req.URL.Path, resp.StatusCode, body, want.status)
		}
		requests[resp.Header.Get("X-Request-Id")] = want
		return body
	}
	api := func(fn, query, body string, header ...string) *http.Request {
		req, _ := http.NewRequest(http.MethodPost, env.srv.URL+"/api/"+fn+query, strings.NewReader(body))
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		return req
	}
	password := `{"username":"alice","password":"alice-password"}`
	var created struct {
		Result struct {
			APIKey string `json:"api_key"`
		} `json:"result"`
	}
	body := do(http.DefaultClient, api("create_api_key", "", `{"auth":`+password+`,"title":"laptop"}`),
		sent{200, "/api/create_api_key", "create_api_key", alice.UserID})
	if err := json.Unmarshal(body, &created); err != nil || created.Result.APIKey == "" {
		t.Fatalf("create_api_key: %s", body)
	}
	key := created.Result.APIKey
	do(http.DefaultClient, api("invite_user_to_organization", "", `{"organization_id":`+strconv.FormatInt(acme, 10)+`,"username_to_invite":"bob"}`,
		"Authorization", "Bearer "+key, "X-Request-Id", "trace-me.123"),
		sent{200, "/api/invite_user_to_organization", "invite_user_to_organization", alice.UserID})
	do(http.DefaultClient, api("fetch_memberships", "?parameters="+url.QueryEscape(`{"auth":`+password+`}`), ""),
		sent{200, "/api/fetch_memberships", "fetch_memberships", alice.UserID})
	do(http.DefaultClient, api("login", "", `{"auth":{"username":"alice","password":"a-wrong-secret-guess"}}`),
		sent{401, "/api/login", "login", 0})
	do(http.DefaultClient, api("no_such_function", "", `{"auth":`+password+`}`), sent{404, "/api/(unknown)", "", 0})

	// A browser signs in through the form, then opens the dashboard.
	v := env.visitor()
	csrf := v.token("/login")
	form := url.Values{"csrf_token": {csrf}, "username": {"alice"}, "password": {"alice-password"}}
	req, _ := http.NewRequest(http.MethodPost, env.srv.URL+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	do(v.client, req, sent{303, "/login", "", alice.UserID})
	req, _ = http.NewRequest(http.MethodGet, env.srv.URL+"/", nil)
	do(v.client, req, sent{200, "/", "", alice.UserID})
	session := v.cookie("guildhall_session")
	if session == nil {
		t.Fatal("no session cookie")
	}

	if _, ok := requests["trace-me.123"]; !ok {
		t.Fatal("the client's X-Request-Id was not kept")
	}
	lines := map[string][]map[string]any{}
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("log line %q is not JSON: %v", sc.Text(), err)
		}
		if line["msg"] == "request" {
			id, _ := line["request_id"].(string)
			lines[id] = append(lines[id], line)
		}
	}
	for id, want := range requests {
		got := lines[id]
		if len(got) != 1 {
			t.Errorf("request %s (%s): %d log lines, want 1", id, want.route, len(got))
			continue
		}
		line := got[0]
		userID, hasUser := line["user_id"].(float64)
		duration, hasDuration := line["duration_ms"].(float64)
		if line["route"] != want.route || line["status"] != float64(want.status) || line["method"] == nil ||
			!hasDuration || duration < 0 || line["level"] != "INFO" || line["client"] != "127.0.0.1" {
			t.Errorf("request %s: %v, want route %s status %d", id, line, want.route, want.status)
		}
		if fn, _ := line["function"].(string); fn != want.function {
			t.Errorf("request %s: function %q, want %q", id, fn, want.function)
		}
		if hasUser != (want.userID != 0) || int64(userID) != want.userID {
			t.Errorf("request %s (%s): user_id %v, want %d", id, want.route, line["user_id"], want.userID)
		}
	}
	for _, secret := range []string{"alice-password", "a-wrong-secret-guess", key, key[len(key)-12:], session.Value, csrf} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log carries a secret (%.8s...)", secret)
		}
	}
}
