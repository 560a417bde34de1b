package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestAPIKeysPage(t *testing.T) {
	t.Parallel()
	env, v := aliceSignedIn(t)
	p := v.get("/keys")
	if p.StatusCode != http.StatusOK || p.Doc.Find(`[data-testid="no-keys"]`).Length() != 1 {
		t.Fatalf("GET /keys: %d", p.StatusCode)
	}
	tok := v.token("/keys")
	// The session alone is not enough: the current password, checked by
	// the service, or no key (the title comes back, the password not).
	if p.Doc.Find(`form[data-testid="create-key-form"] input[name="current_password"][type="password"]`).Length() != 1 {
		t.Fatal("the create form asks for no current password")
	}
	for _, pw := range []string{"", "not-alice-password"} {
		p = v.post("/keys", url.Values{"csrf_token": {tok}, "title": {"stolen"}, "current_password": {pw}})
		if p.StatusCode != http.StatusSeeOther {
			t.Fatalf("create with password %q: %d", pw, p.StatusCode)
		}
		p = v.get("/keys")
		if msg := text(p.Doc.Find(`[data-testid="form-error"]`)); msg != "Your current password is not right." ||
			p.Doc.Find(`#key-title`).AttrOr("value", "") != "stolen" || p.Doc.Find(`[data-testid="new-key"]`).Length() != 0 {
			t.Fatalf("create with password %q: %q", pw, msg)
		}
	}
	var keys int
	openRaw(t, env.path).QueryRow(`SELECT count(*) FROM api_keys`).Scan(&keys)
	if keys != 0 {
		t.Fatalf("%d keys created without the password", keys)
	}
	// Post/Redirect/Get: the key is shown on the page after the redirect,
	// so reloading it mints no second key.
	p = v.post("/keys", url.Values{"csrf_token": {tok}, "title": {"deploy script"}, "current_password": {"alice-password"}})
	if p.StatusCode != http.StatusSeeOther || p.Header.Get("Location") != "/keys" {
		t.Fatalf("create: %d %q", p.StatusCode, p.Header.Get("Location"))
	}
	// The secret rides to the next page in the session, sealed: no row of
	// the sessions table holds it (nor its title) in plaintext.
	carried := sessionsTable(t, env.path)
	if strings.Contains(carried, "sk-") || strings.Contains(carried, "deploy script") {
		t.Fatal("the session's row holds the new key in plaintext")
	}
	p = v.get("/keys")
	key := text(p.Doc.Find(`[data-testid="new-key-value"]`))
	if !strings.HasPrefix(key, "sk-") || len(key) != 51 || !strings.Contains(text(p.Doc.Find("#new-key-heading")), "deploy script") {
		t.Fatalf("after the redirect: key %q", key)
	}
	if strings.Contains(carried, key) || strings.Contains(carried, key[3:]) {
		t.Fatal("the session's row held the new key in plaintext")
	}
	var stored string
	openRaw(t, env.path).QueryRow(`SELECT data FROM sessions`).Scan(&stored)
	if strings.Contains(stored, key) || strings.Contains(stored, "sk-") {
		t.Fatal("the secret stays in the session after it was shown")
	}
	if target, _ := p.Doc.Find(`[data-testid="copy-key"]`).Attr("data-copy-target"); target != "new-key-value" {
		t.Errorf("copy button targets %q", target)
	}
	// The key works on the API...
	req, _ := http.NewRequest(http.MethodPost, env.srv.URL+"/api/fetch_memberships", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer "+key)
	if resp := env.visitor().do(req); resp.StatusCode != http.StatusOK {
		t.Fatalf("the new key does not work: %d %s", resp.StatusCode, resp.Body)
	}
	// ...and is never shown again; the list has its preview.
	p = v.get("/keys")
	if strings.Contains(p.Body, key) || p.Doc.Find(`[data-testid="new-key"]`).Length() != 0 {
		t.Fatal("the key is shown a second time")
	}
	row := p.Doc.Find(`tr[data-testid="key"]`)
	if row.Length() != 1 || !strings.Contains(text(row), "deploy script") || !strings.Contains(text(row), "sk-..."+key[len(key)-4:]) {
		t.Fatalf("key list: %q", text(row))
	}
	// Too long a title: the service's message beside the form, title kept.
	long := strings.Repeat("x", 101)
	p = v.post("/keys", url.Values{"csrf_token": {tok}, "title": {long}, "current_password": {"alice-password"}})
	if p.StatusCode != http.StatusSeeOther {
		t.Fatalf("long title: %d", p.StatusCode)
	}
	p = v.get("/keys")
	if text(p.Doc.Find(`[data-testid="form-error"]`)) == "" || p.Doc.Find(`#key-title`).AttrOr("value", "") != long || p.Doc.Find(`[data-testid="new-key"]`).Length() != 0 {
		t.Errorf("long title: %q", text(p.Doc.Find(`[data-testid="form-error"]`)))
	}
	// Revoke: a confirmation page first (without JavaScript), which posts.
	action, _ := row.Find(`[data-testid="revoke-key"]`).Attr("href")
	confirm := v.get(action)
	if confirm.StatusCode != http.StatusOK || confirm.Doc.Find(`form[data-testid="confirm-form"]`).AttrOr("action", "") != action {
		t.Fatalf("revoke confirmation: %d", confirm.StatusCode)
	}
	if rows := v.get("/keys").Doc.Find(`tr[data-testid="key"]`).Length(); rows != 1 {
		t.Fatal("asking revoked the key")
	}
	p = v.post(action, url.Values{"csrf_token": {tok}})
	if p.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %d", p.StatusCode)
	}
	p = v.get("/keys")
	if p.Doc.Find(`tr[data-testid="key"]`).Length() != 0 || !strings.Contains(text(p.Doc.Find("#keys-status")), "API key revoked") {
		t.Errorf("after revoke: %q", text(p.Doc.Find("main")))
	}
	req, _ = http.NewRequest(http.MethodPost, env.srv.URL+"/api/fetch_memberships", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer "+key)
	if resp := env.visitor().do(req); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a revoked key still works: %d", resp.StatusCode)
	}
}

// sessionsTable is every column of every row of the sessions table, as text.
func sessionsTable(t testing.TB, path string) string {
	t.Helper()
	var out strings.Builder
	dumpQuery(t, openRaw(t, path), &out, "sessions", `SELECT * FROM sessions`)
	return out.String()
}
