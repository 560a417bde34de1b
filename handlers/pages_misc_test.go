package handlers_test

import (
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
)

func TestLoginThrottleSharedByFormAndAPI(t *testing.T) {
	env := newPageEnv(t)
	env.user("alice")
	v := env.visitor()
	apiLogin := func(password string) page {
		req, _ := http.NewRequest(http.MethodPost, env.srv.URL+"/api/login",
			strings.NewReader(`{"auth":{"username":"alice","password":"`+password+`"}}`))
		return v.do(req)
	}
	formLogin := func(password string) page {
		return v.post("/login", url.Values{"csrf_token": {v.token("/login")}, "username": {"alice"}, "password": {password}})
	}
	// Five failures, some through each door: all plain 401s.
	for i := range 5 {
		var p page
		if i%2 == 0 {
			p = apiLogin("wrong-password")
		} else {
			p = formLogin("wrong-password")
		}
		if p.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, p.StatusCode)
		}
	}
	// The sixth attempt, even with the right password, is refused through both.
	p := formLogin("alice-password")
	if p.StatusCode != http.StatusTooManyRequests || p.Header.Get("Retry-After") != "1" {
		t.Fatalf("form after 5 failures: %d Retry-After %q", p.StatusCode, p.Header.Get("Retry-After"))
	}
	if got := text(p.Doc.Find(`[data-testid="form-error"]`)); got != "Too many failed sign-in attempts; try again in 1 second." {
		t.Errorf("form message %q", got)
	}
	if setCookieFor(p.Response, "guildhall_session") != nil {
		t.Error("a refused login signed in")
	}
	p = apiLogin("alice-password")
	if p.StatusCode != http.StatusTooManyRequests || p.Header.Get("Retry-After") == "" || !strings.Contains(p.Body, `"code":"rate_limited"`) {
		t.Fatalf("API after 5 failures: %d %q %s", p.StatusCode, p.Header.Get("Retry-After"), p.Body)
	}
	// After the wait, one more failure doubles it...
	env.advance(time.Second)
	if p := apiLogin("wrong-password"); p.StatusCode != http.StatusUnauthorized {
		t.Fatalf("after the wait: %d", p.StatusCode)
	}
	if p := formLogin("alice-password"); p.StatusCode != http.StatusTooManyRequests || p.Header.Get("Retry-After") != "2" {
		t.Fatalf("second wait: %d %q", p.StatusCode, p.Header.Get("Retry-After"))
	}
	// ...and the right password after it signs in and clears the count.
	env.advance(2 * time.Second)
	if p := formLogin("alice-password"); p.StatusCode != http.StatusSeeOther {
		t.Fatalf("right password after the wait: %d", p.StatusCode)
	}
}

func TestClientAddressComesFromTheConnection(t *testing.T) {
	// The per-address counter (20 failures) sees through different
	// usernames, and X-Forwarded-For does not get around it unless the
	// proxy is trusted.
	try := func(env *pageEnv, user, xff string) int {
		req, _ := http.NewRequest(http.MethodPost, env.srv.URL+"/api/login",
			strings.NewReader(`{"auth":{"username":"`+user+`","password":"wrong-password"}}`))
		req.Header.Set("X-Forwarded-For", xff)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	direct := newPageEnv(t)
	for i := range 20 {
		if code := try(direct, "user"+strconv.Itoa(i), "198.51.100."+strconv.Itoa(i)); code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, code)
		}
	}
	if code := try(direct, "someone-new", "198.51.100.200"); code != http.StatusTooManyRequests {
		t.Fatalf("a forged X-Forwarded-For got around the address limit: %d", code)
	}

	_, loopback, _ := net.ParseCIDR("127.0.0.0/8")
	proxied := newPageEnv(t, pageEnvOptions{trustedProxies: []*net.IPNet{loopback}})
	for i := range 20 {
		try(proxied, "user"+strconv.Itoa(i), "198.51.100.7")
	}
	if code := try(proxied, "someone-new", "198.51.100.7"); code != http.StatusTooManyRequests {
		t.Fatalf("behind a trusted proxy, the forwarded address is not counted: %d", code)
	}
	if code := try(proxied, "someone-new", "198.51.100.8"); code != http.StatusUnauthorized {
		t.Fatalf("behind a trusted proxy, another client is refused too: %d", code)
	}
}

func TestSecurityHeadersAndStaticFiles(t *testing.T) {
	env := newPageEnv(t)
	v := env.visitor()
	p := v.get("/login")
	want := map[string]string{
		"Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "same-origin",
		"X-Frame-Options":         "DENY",
		"Cache-Control":           "no-store",
	}
	for _, path := range []string{"/login", "/signup", "/nope"} {
		p := v.get(path)
		for h, val := range want {
			if got := p.Header.Get(h); got != val {
				t.Errorf("GET %s: %s = %q, want %q", path, h, got, val)
			}
		}
	}
	// No inline script or style anywhere; the htmx config is in a meta tag.
	if p.Doc.Find("script:not([src]), style, [style]").Length() != 0 {
		t.Error("the page has inline script or style, which the CSP blocks")
	}
	if cfg, _ := p.Doc.Find(`meta[name="htmx-config"]`).Attr("content"); !strings.Contains(cfg, `"includeIndicatorStyles":false`) {
		t.Errorf("htmx config %q", cfg)
	}
	// Every asset the page loads is served from here, fingerprinted, cached for a year.
	var assets []string
	p.Doc.Find(`link[rel="stylesheet"], script[src]`).Each(func(_ int, s *goquery.Selection) {
		assets = append(assets, s.AttrOr("href", s.AttrOr("src", "")))
	})
	if len(assets) != 5 {
		t.Fatalf("assets: %v", assets)
	}
	for _, a := range assets {
		if !strings.HasPrefix(a, "/static/") || strings.Count(a, "/") != 3 {
			t.Errorf("asset URL %q is not /static/<hash>/<name>", a)
		}
		p := v.get(a)
		if p.StatusCode != http.StatusOK || p.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" || len(p.Body) < 100 {
			t.Errorf("GET %s: %d %q (%d bytes)", a, p.StatusCode, p.Header.Get("Cache-Control"), len(p.Body))
		}
		ct := p.Header.Get("Content-Type")
		if strings.HasSuffix(a, ".js") && ct != "text/javascript; charset=utf-8" || strings.HasSuffix(a, ".css") && ct != "text/css; charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q", a, ct)
		}
		// An outdated fingerprint is sent on to the current one, not cached.
		name := a[strings.LastIndex(a, "/")+1:]
		old := v.get("/static/000000000000/" + name)
		if old.StatusCode != http.StatusTemporaryRedirect || old.Header.Get("Location") != a {
			t.Errorf("old fingerprint of %s: %d %q", name, old.StatusCode, old.Header.Get("Location"))
		}
	}
	if p := v.get("/static/000000000000/nothing.js"); p.StatusCode != http.StatusNotFound {
		t.Errorf("unknown static file: %d", p.StatusCode)
	}
}

func TestSignupPage(t *testing.T) {
	env := newPageEnv(t)
	env.user("taken")
	v := env.visitor()
	p := v.get("/signup")
	if p.StatusCode != http.StatusOK || p.Doc.Find(`nav a[href="/signup"]`).Length() != 1 {
		t.Fatalf("GET /signup: %d", p.StatusCode)
	}
	for _, id := range []string{"signup-username", "signup-password", "signup-confirm"} {
		if p.Doc.Find(`label[for="`+id+`"]`).Length() != 1 {
			t.Errorf("%s has no label", id)
		}
	}
	tok := v.token("/signup")
	for _, tt := range []struct {
		user, pass, confirm string
		status              int
		message             string
	}{
		{"taken", "long-enough", "long-enough", http.StatusConflict, `The username "taken" is taken.`},
		{"Bad Name", "long-enough", "long-enough", http.StatusBadRequest, "Username may contain only lowercase letters, digits, '_', '.' and '-'."},
		{"carol", "short", "short", http.StatusBadRequest, "Password must be 8 to 256 characters long."},
		{"carol", "long-enough", "different", http.StatusBadRequest, "The two passwords differ; type the same password twice."},
	} {
		p := v.post("/signup", url.Values{"csrf_token": {tok}, "username": {tt.user}, "password": {tt.pass}, "password_confirm": {tt.confirm}})
		if p.StatusCode != tt.status || text(p.Doc.Find(`[data-testid="form-error"]`)) != tt.message {
			t.Errorf("sign up %q: %d %q", tt.user, p.StatusCode, text(p.Doc.Find(`[data-testid="form-error"]`)))
		}
	}
	p = v.post("/signup", url.Values{"csrf_token": {tok}, "username": {"carol"}, "password": {"carol-password"}, "password_confirm": {"carol-password"}})
	if p.StatusCode != http.StatusSeeOther || setCookieFor(p.Response, "guildhall_session") == nil {
		t.Fatalf("sign up: %d", p.StatusCode)
	}
	p = v.get("/")
	if text(p.Doc.Find(`[data-testid="nav-user"]`)) != "carol" || !strings.Contains(text(p.Doc.Find("#status")), "Welcome to Guildhall, carol") {
		t.Errorf("after sign-up: %q / %q", text(p.Doc.Find(`[data-testid="nav-user"]`)), text(p.Doc.Find("#status")))
	}
	if p.Doc.Find(`[data-testid="no-orgs"]`).Length() != 1 || p.Doc.Find(`[data-testid="no-invitations"]`).Length() != 1 {
		t.Error("a new user's dashboard should say there is nothing yet")
	}

	closed := newPageEnv(t, pageEnvOptions{signupClosed: true})
	cv := closed.visitor()
	if p := cv.get("/signup"); p.StatusCode != http.StatusNotFound {
		t.Errorf("closed sign-up page: %d", p.StatusCode)
	}
	if p := cv.get("/login"); p.Doc.Find(`a[href="/signup"]`).Length() != 0 {
		t.Error("the login page links to a closed sign-up")
	}
	p = cv.post("/signup", url.Values{"csrf_token": {cv.token("/login")}, "username": {"dave"}, "password": {"dave-password"}, "password_confirm": {"dave-password"}})
	if p.StatusCode != http.StatusForbidden {
		t.Errorf("closed sign-up post: %d", p.StatusCode)
	}
}

func TestCreateOrganizationPage(t *testing.T) {
	env := newPageEnv(t)
	env.user("alice")
	v := env.visitor()
	v.login("alice")
	p := v.get("/orgs/new")
	if p.StatusCode != http.StatusOK || p.Doc.Find(`label[for="org-name"]`).Length() != 1 {
		t.Fatalf("GET /orgs/new: %d", p.StatusCode)
	}
	tok := v.token("/orgs/new")
	p = v.post("/orgs", url.Values{"csrf_token": {tok}, "organization_name": {"   "}})
	if p.StatusCode != http.StatusBadRequest || text(p.Doc.Find(`[data-testid="form-error"]`)) != "Organization name must not be empty." {
		t.Errorf("empty name: %d %q", p.StatusCode, text(p.Doc.Find(`[data-testid="form-error"]`)))
	}
	p = v.post("/orgs", url.Values{"csrf_token": {tok}, "organization_name": {"Guild of Makers"}, "organization_description": {"We make things."}})
	if p.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d", p.StatusCode)
	}
	p = v.get(p.Header.Get("Location"))
	if text(p.Doc.Find(`[data-testid="org-name"]`)) != "Guild of Makers" || !strings.Contains(text(p.Doc.Find("#status")), "Created Guild of Makers") {
		t.Errorf("new organization page: %q %q", text(p.Doc.Find("h1")), text(p.Doc.Find("#status")))
	}
	if text(p.Doc.Find(`tr[data-username="alice"] [data-testid="role"]`)) != "owner" {
		t.Error("the founder is not listed as owner")
	}
}

func TestAPIKeysPage(t *testing.T) {
	env := newPageEnv(t)
	env.user("alice")
	v := env.visitor()
	v.login("alice")
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
