package handlers_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestStoredTextThroughPages: every form that stores text (organization
// name and description, API key title) refuses invalid UTF-8, raw or
// percent-encoded, and direction overrides, with a 400 that stores
// nothing; limits count characters, so 34 CJK characters make a title.
func TestStoredTextThroughPages(t *testing.T) {
	t.Parallel()
	env, v := aliceSignedIn(t)
	tok := v.token("/keys")
	rows := func() (orgs, keys int) {
		sdb := openRaw(t, env.path)
		sdb.QueryRow(`SELECT count(*) FROM organizations`).Scan(&orgs)
		sdb.QueryRow(`SELECT count(*) FROM api_keys`).Scan(&keys)
		return orgs, keys
	}
	post := func(path, rawBody string) page {
		if path == "/keys" {
			rawBody = "current_password=alice-password&" + rawBody
		}
		req, _ := http.NewRequest(http.MethodPost, env.srv.URL+path, strings.NewReader("csrf_token="+url.QueryEscape(tok)+"&"+rawBody))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return v.do(req)
	}
	// Bytes that are not UTF-8 are refused before any handler (400); text
	// the service refuses is answered as every refused form is without
	// JavaScript: a redirect back to the form, which shows the message.
	for _, c := range []struct {
		name, path, body string
		status           int
	}{
		{"raw byte in a title", "/keys", "title=laptop\xff", http.StatusBadRequest},
		{"percent-encoded byte in a title", "/keys", "title=laptop%FF", http.StatusBadRequest},
		{"right-to-left override in a title", "/keys", "title=" + url.QueryEscape("invoice\u202efdp.exe"), http.StatusSeeOther},
		{"raw byte in a name", "/orgs", "organization_name=Ac\xc3me", http.StatusBadRequest},
		{"isolate in a name", "/orgs", "organization_name=" + url.QueryEscape("Acme\u2067x"), http.StatusSeeOther},
		{"raw byte in a description", "/orgs", "organization_name=Acme&organization_description=We%20make\xfe", http.StatusBadRequest},
		{"escape in a description", "/orgs", "organization_name=Acme&organization_description=" + url.QueryEscape("red\x1b[31m"), http.StatusSeeOther},
		{"raw byte in a field name", "/orgs", "organization_name=Acme&x\xff=1", http.StatusBadRequest},
	} {
		p := post(c.path, c.body)
		if p.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d", c.name, p.StatusCode, c.status)
		}
		if c.status == http.StatusSeeOther {
			back := c.path
			if back == "/orgs" {
				back = "/orgs/new"
			}
			if loc, _, _ := strings.Cut(p.Header.Get("Location"), "#"); loc != back {
				t.Errorf("%s: sent to %q, want %q", c.name, loc, back)
			}
			if msg := text(v.get(back).Doc.Find(`[data-testid="form-error"]`)); msg == "" {
				t.Errorf("%s: no message beside the form", c.name)
			}
		}
		if orgs, keys := rows(); orgs != 0 || keys != 0 {
			t.Fatalf("%s: stored %d organizations and %d keys", c.name, orgs, keys)
		}
	}
	cjk := strings.Repeat("鍵", 34)
	if p := post("/keys", "title="+url.QueryEscape(cjk)); p.StatusCode != http.StatusSeeOther {
		t.Fatalf("a title of 34 CJK characters: %d", p.StatusCode)
	}
	if p := v.get("/keys"); !strings.Contains(text(p.Doc.Find("#new-key-heading")), cjk) {
		t.Fatalf("a title of 34 CJK characters: %q", text(p.Doc.Find(`[data-testid="form-error"]`)))
	}
}

// TestStoredTextThroughAPI: the same through the API, where JSON with bad
// bytes is refused before encoding/json could turn them into U+FFFD.
func TestStoredTextThroughAPI(t *testing.T) {
	t.Parallel()
	env := newWorld(t).env
	password := map[string]string{"username": "alice", "password": "password-alice"}
	before := env.snapshot()
	for _, c := range []struct{ name, function, body string }{
		{"raw byte in a title", "create_api_key", `{"auth": {"username": "alice", "password": "password-alice"}, "title": "laptop` + "\xff" + `"}`},
		{"override in a title", "create_api_key", `{"auth": {"username": "alice", "password": "password-alice"}, "title": "invoice\u202efdp.exe"}`},
		{"bell in a name", "create_organization", `{"auth": {"username": "alice", "password": "password-alice"}, "organization_name": "Acme\u0007"}`},
		{"NUL in a description", "create_organization", `{"auth": {"username": "alice", "password": "password-alice"}, "organization_name": "Acme", "organization_description": "a\u0000b"}`},
	} {
		r := env.do(httptest.NewRequest(http.MethodPost, "/api/"+c.function, strings.NewReader(c.body)))
		if r.Status != http.StatusBadRequest || r.Code != "invalid_request" {
			t.Errorf("%s: %d %s", c.name, r.Status, r.Raw)
		}
	}
	r := env.do(httptest.NewRequest(http.MethodGet, "/api/create_organization?parameters="+url.QueryEscape(`{"organization_name": "Ac`)+"%FF"+url.QueryEscape(`me"}`), nil))
	if r.Status != http.StatusBadRequest {
		t.Errorf("a bad byte in ?parameters=: %d %s", r.Status, r.Raw)
	}
	if after := env.snapshot(); after != before {
		t.Fatalf("a refused request changed the database:\n%s\nthen\n%s", before, after)
	}
	cjk := strings.Repeat("鍵", 34)
	if res := env.ok("create_api_key", map[string]any{"auth": password, "title": cjk}); !strings.Contains(string(res), cjk) {
		t.Fatalf("a title of 34 CJK characters: %s", res)
	}
}
