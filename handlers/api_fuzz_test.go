package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gorilla/securecookie"

	"guildhall"
	"guildhall/db"
	"guildhall/handlers"
)

// fuzzEnv is one real database and router shared by a fuzz target's
// inputs, with a user, an API key and an organization for inputs to name.
type fuzzEnv struct {
	store  *db.DB
	server *handlers.Server
	key    string
	org    int64
}

// fuzzPassword is the fuzz user's password, for inputs using password auth.
const fuzzPassword = "fuzz-password"

// fuzzSessionKey signs the session cookies of the cookie fuzz target.
var fuzzSessionKey = bytes.Repeat([]byte("k"), handlers.SessionKeyMinBytes)

func newFuzzEnv(tb testing.TB) *fuzzEnv {
	tb.Helper()
	ctx := context.Background()
	opts := db.DefaultOptions()
	opts.Argon2 = cheapArgon2
	store, _ := openStore(tb, opts)
	u, err := store.CreateUser(ctx, "fuzzer", fuzzPassword, false)
	if err != nil {
		tb.Fatal(err)
	}
	actor := guildhall.Actor{UserID: u.ID, Username: u.Username, Auth: guildhall.AuthPassword}
	_, key, err := store.CreateAPIKey(ctx, actor, "fuzz")
	if err != nil {
		tb.Fatal(err)
	}
	org, err := store.CreateOrganization(ctx, actor, "Fuzz", "")
	if err != nil {
		tb.Fatal(err)
	}
	for _, name := range []string{"alice", "bob"} {
		if _, err := store.CreateUser(ctx, name, "password-"+name, false); err != nil {
			tb.Fatal(err)
		}
	}
	server := handlers.New(store, handlers.Config{Sessions: store, SessionKeys: [][]byte{fuzzSessionKey}})
	return &fuzzEnv{store: store, server: server, key: key, org: org.ID}
}

// checkEnvelope fails unless the answer is a well-formed envelope with a
// status that fits it, and never a 5xx.
func checkEnvelope(t *testing.T, rec *httptest.ResponseRecorder, what string) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("%s: status %d: %s", what, rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s: Content-Type %q", what, ct)
	}
	var env map[string]json.RawMessage
	if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
		t.Fatalf("%s: answer is not a JSON object: %v: %s", what, err, rec.Body)
	}
	var success bool
	if err := json.Unmarshal(env["success"], &success); err != nil {
		t.Fatalf("%s: success is not a boolean: %s", what, rec.Body)
	}
	if success != (rec.Code == http.StatusOK) {
		t.Fatalf("%s: success %v with status %d", what, success, rec.Code)
	}
	if success {
		return
	}
	var message, code string
	if json.Unmarshal(env["error"], &message) != nil || message == "" ||
		json.Unmarshal(env["code"], &code) != nil || code == "" {
		t.Fatalf("%s: failure without error and code: %s", what, rec.Body)
	}
	if ra := rec.Header().Get("Retry-After"); ra != "" {
		if n, err := strconv.Atoi(ra); err != nil || n < 1 {
			t.Fatalf("%s: Retry-After %q", what, ra)
		}
	}
}

// FuzzAPIRequest sends any function name and any bytes, as the body or as
// ?parameters=, through the real router: never a panic, never a 5xx,
// always a well-formed envelope. In the input, $KEY stands for a real API
// key and $ORG for a real organization id, so that inputs can get past
// authentication into the operations.
func FuzzAPIRequest(f *testing.F) {
	env := newFuzzEnv(f)
	loadContract(f)
	for _, seed := range []struct {
		function string
		body     string
		inQuery  bool
	}{
		{"invite_user_to_organization", `{"auth": {"api_key": "$KEY"}, "username_to_invite": "alice", "organization_id": $ORG, "member_class": "member"}`, false},
		{"invite_user_to_organization", `{"auth": {"api_key": "$KEY"}, "username_to_invite": "bob", "organization_id": $ORG}`, true},
		{"fetch_memberships_of_organization", `{"auth": {"api_key": "$KEY"}, "organization_id": $ORG, "search": "a", "limit": 10}`, false},
		{"login", `{"auth": {"username": "fuzzer", "password": "fuzz-password"}}`, false},
		{"add_user", `{"username": "carol", "password": "password-carol"}`, false},
		{"create_organization", `{"auth": {"api_key": "$KEY"}, "organization_name": "Acme"}`, false},
		{"change_organization_member_role", `{"auth": {"api_key": "$KEY"}, "organization_id": $ORG, "username": "alice", "member_class": "admin"}`, false},
		{"fetch_memberships", `{"auth": {"api_key": "$KEY"}, "return_subset": "all"}`, true},
		{"help", ``, false},
		{"ping", `{}`, false},
		{"invite_user_to_organization", `{"auth": {"auth": {"auth": [[[[[]]]]]}}}`, false},
		{"invite_user_to_organization", `{"organization_id": 1e400}`, false},
		{"invite_user_to_organization", `{"organization_id": "1", "auth": null}`, false},
		{"nope", `not json`, false},
		{"add_user", `{"username": "x", "username": "y"}`, false},
		{"add_user", "{\"username\": \"\xff\", \"password\": \"\xfe\xfe\xfe\xfe\xfe\xfe\xfe\xfe\"}", false},
	} {
		f.Add(seed.function, []byte(seed.body), seed.inQuery)
	}
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, function string, body []byte, inQuery bool) {
		body = bytes.ReplaceAll(body, []byte("$KEY"), []byte(env.key))
		body = bytes.ReplaceAll(body, []byte("$ORG"), []byte(strconv.FormatInt(env.org, 10)))
		target := "/api/" + url.PathEscape(function)
		var req *http.Request
		var err error
		if inQuery {
			// http.NoBody: a server's requests always have a body, if empty.
			req, err = http.NewRequest(http.MethodGet, target+"?parameters="+url.QueryEscape(string(body)), http.NoBody)
		} else {
			req, err = http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
		}
		if err != nil {
			t.Skip("not a request:", err)
		}
		req.RemoteAddr = "192.0.2." + strconv.Itoa(int(n.Add(1)%250)+1) + ":1234"
		rec := httptest.NewRecorder()
		env.server.ServeHTTP(rec, req)
		checkEnvelope(t, rec, req.Method+" "+target)
		if err := checkContract(req, body, rec); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzSessionCookie sends any Cookie header to a signed-in page through the
// real router: never a panic or a 5xx, and signed in only when the header
// carries the session cookie properly signed for a live session.
func FuzzSessionCookie(f *testing.F) {
	env := newFuzzEnv(f)
	ctx := context.Background()
	u, err := env.store.Authenticate(ctx, guildhall.Credentials{Username: "fuzzer", Password: fuzzPassword})
	if err != nil {
		f.Fatal(err)
	}
	const sessionID = "fuzz-session-id-0123456789abcdefghijklmnopqr"
	if _, err := env.store.CreateSession(ctx, sessionID, u, nil, handlers.DefaultSessionIdleTimeout, handlers.DefaultSessionMaxAge); err != nil {
		f.Fatal(err)
	}
	codec := securecookie.New(fuzzSessionKey, nil)
	codec.SetSerializer(securecookie.NopEncoder{})
	valid, err := codec.Encode("guildhall_session", []byte(sessionID))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		"guildhall_session=" + valid,
		"guildhall_session=" + valid + "; guildhall_session=x",
		"guildhall_session=" + valid[:len(valid)/2],
		"guildhall_session=" + strings.ToUpper(valid),
		"guildhall_session=",
		"guildhall_session=\"" + valid + "\"",
		"guildhall_presession=abc; guildhall_session=MTIz",
		"guildhall_session=" + strings.Repeat("A", 4000),
		"=;=;;;",
		"guildhall_session=%00%ff",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, cookieHeader string) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Cookie", cookieHeader)
		rec := httptest.NewRecorder()
		env.server.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d for Cookie %q: %s", rec.Code, cookieHeader, rec.Body)
		}
		if rec.Code != http.StatusOK {
			return // sent to sign in
		}
		// Signed in: some session cookie in the header must verify to the live id.
		for _, c := range (&http.Request{Header: http.Header{"Cookie": {cookieHeader}}}).Cookies() {
			var id []byte
			if c.Name == "guildhall_session" && codec.Decode(c.Name, c.Value, &id) == nil && string(id) == sessionID {
				return
			}
		}
		t.Fatalf("signed in by Cookie %q, which carries no validly signed session", cookieHeader)
	})
}
