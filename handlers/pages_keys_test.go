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
	p = v.post("/keys", url.Values{"csrf_token": {tok}, "title": {"deploy script"}})
	key := text(p.Doc.Find(`[data-testid="new-key-value"]`))
	if p.StatusCode != http.StatusOK || !strings.HasPrefix(key, "sk-") || len(key) != 51 {
		t.Fatalf("create: %d key %q", p.StatusCode, key)
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
	p = v.post("/keys", url.Values{"csrf_token": {tok}, "title": {long}})
	if p.StatusCode != http.StatusBadRequest || text(p.Doc.Find(`[data-testid="form-error"]`)) == "" || p.Doc.Find(`#key-title`).AttrOr("value", "") != long {
		t.Errorf("long title: %d %q", p.StatusCode, text(p.Doc.Find(`[data-testid="form-error"]`)))
	}
	// Revoke.
	action, _ := row.Find("form").Attr("action")
	p = v.post(action, url.Values{"csrf_token": {tok}})
	if p.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %d", p.StatusCode)
	}
	p = v.get("/keys")
	if p.Doc.Find(`tr[data-testid="key"]`).Length() != 0 || !strings.Contains(text(p.Doc.Find("#status")), "API key revoked") {
		t.Errorf("after revoke: %q", text(p.Doc.Find("main")))
	}
	req, _ = http.NewRequest(http.MethodPost, env.srv.URL+"/api/fetch_memberships", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer "+key)
	if resp := env.visitor().do(req); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a revoked key still works: %d", resp.StatusCode)
	}
}
