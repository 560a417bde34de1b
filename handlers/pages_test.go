package handlers_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"guildhall"
	"guildhall/db"
	"guildhall/handlers"
)

// pageEnv is a real database file behind the real router, served over
// loopback HTTP so that visitors keep cookies as a browser does.
type pageEnv struct {
	t     testing.TB
	path  string
	store *db.DB
	keys  [][]byte
	srv   *httptest.Server
	mu    sync.Mutex
	now   time.Time
}

// pageEnvOptions changes what newPageEnv builds.
type pageEnvOptions struct {
	secureCookies  bool
	signupClosed   bool
	trustedProxies []*net.IPNet
	inviteRate     int // db.Options.InviteRate; 0 keeps the default
	orgRate        int // db.Options.OrganizationRate; 0 keeps the default
	signupRate     int // db.Options.SignupRate; 0 keeps the default
	sessionIdle    time.Duration
	logs           io.Writer         // the server's log; nil discards it
	metrics        *handlers.Metrics // the service's Observer and the server's Metrics
}

// newPageEnv opens the database as `guildhall serve` does by default
// (group commit, the default limits), but with cheap password hashes, and
// serves the pages and the API over it.
func newPageEnv(t testing.TB, opts ...pageEnvOptions) *pageEnv {
	t.Helper()
	var o pageEnvOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	env := &pageEnv{t: t, now: time.Now()}
	dbOpts := testOptions(env.clock)
	dbOpts.SignupClosed = o.signupClosed
	if o.inviteRate != 0 {
		dbOpts.InviteRate = o.inviteRate
	}
	if o.orgRate != 0 {
		dbOpts.OrganizationRate = o.orgRate
	}
	if o.signupRate != 0 {
		dbOpts.SignupRate = o.signupRate
	}
	if o.logs == nil {
		o.logs = io.Discard
	}
	logger := slog.New(slog.NewJSONHandler(o.logs, nil))
	dbOpts.Logger = logger // one log, as guildhall serve has
	if o.metrics != nil {
		dbOpts.Observer = o.metrics
	}
	store, path := openStore(t, dbOpts)
	env.store, env.path = store, path
	var err error
	if env.keys, err = store.SessionKeys(context.Background()); err != nil {
		t.Fatal(err)
	}
	env.srv = httptest.NewServer(checked(t, handlers.New(store, handlers.Config{
		Logger:   logger,
		Sessions: store, SignupClosed: o.signupClosed,
		SessionKeys: env.keys, SecureCookies: o.secureCookies, TrustedProxies: o.trustedProxies,
		SessionIdleTimeout: o.sessionIdle, Metrics: o.metrics,
	})))
	t.Cleanup(env.srv.Close)
	return env
}

func (e *pageEnv) clock() time.Time { e.mu.Lock(); defer e.mu.Unlock(); return e.now }

func (e *pageEnv) advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = e.now.Add(d)
}

// user creates a user whose password is "<name>-password".
func (e *pageEnv) user(name string) guildhall.Actor {
	e.t.Helper()
	u, err := e.store.CreateUser(context.Background(), name, name+"-password", false)
	if err != nil {
		e.t.Fatal(err)
	}
	return guildhall.Actor{UserID: u.ID, Username: u.Username, Auth: guildhall.AuthPassword}
}

// org creates an organization owned by owner.
func (e *pageEnv) org(owner guildhall.Actor, name string) int64 {
	e.t.Helper()
	o, err := e.store.CreateOrganization(context.Background(), owner, name, "")
	if err != nil {
		e.t.Fatal(err)
	}
	return o.ID
}

// member makes username an active member of orgID with role, invited by inviter.
func (e *pageEnv) member(inviter guildhall.Actor, orgID int64, who guildhall.Actor, role guildhall.Role) {
	e.t.Helper()
	ctx := context.Background()
	if _, err := e.store.InviteUser(ctx, inviter, orgID, who.Username, role); err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.ResolveInvitation(ctx, who, orgID, true); err != nil {
		e.t.Fatal(err)
	}
}

// memberships lists an organization's rows as "username:role:status".
func (e *pageEnv) memberships(owner guildhall.Actor, orgID int64) []string {
	e.t.Helper()
	ms, err := e.store.FetchOrganizationMembers(context.Background(), owner, orgID)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		out = append(out, fmt.Sprintf("%s:%s:%s", m.Username, m.Role, m.Status))
	}
	return out
}

// aliceSignedIn is a fresh pageEnv with one user, alice, signed in in a
// visitor's browser.
func aliceSignedIn(t testing.TB) (*pageEnv, *visitor) {
	t.Helper()
	env := newPageEnv(t)
	env.user("alice")
	v := env.visitor()
	v.login("alice")
	return env, v
}

// sessionRows counts the rows of the sessions table.
func (e *pageEnv) sessionRows() int {
	e.t.Helper()
	sdb := openRaw(e.t, e.path)
	var n int
	if err := sdb.QueryRow(`SELECT count(*) FROM sessions`).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// visitor is one browser: a cookie jar that does not follow redirects,
// so tests see them.
type visitor struct {
	t      testing.TB
	env    *pageEnv
	client *http.Client
}

func (e *pageEnv) visitor() *visitor {
	jar, _ := cookiejar.New(nil)
	return &visitor{t: e.t, env: e, client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// page is an answer with its parsed HTML.
type page struct {
	*http.Response
	Body string
	Doc  *goquery.Document
}

func (v *visitor) do(req *http.Request) page {
	v.t.Helper()
	resp, err := v.client.Do(req)
	if err != nil {
		v.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(string(body)))
	if err != nil {
		v.t.Fatal(err)
	}
	return page{Response: resp, Body: string(body), Doc: doc}
}

func (v *visitor) get(path string) page {
	v.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, v.env.srv.URL+path, nil)
	return v.do(req)
}

// post sends a form; headers are name, value pairs.
func (v *visitor) post(path string, form url.Values, headers ...string) page {
	v.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, v.env.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return v.do(req)
}

// token reads the CSRF token from a page's forms.
func (v *visitor) token(path string) string {
	v.t.Helper()
	p := v.get(path)
	if p.StatusCode == http.StatusSeeOther { // the login page, to someone signed in
		p = v.get(p.Header.Get("Location"))
	}
	tok, ok := p.Doc.Find(`input[name="csrf_token"]`).First().Attr("value")
	if !ok || tok == "" {
		v.t.Fatalf("GET %s (%d): no csrf_token field", path, p.StatusCode)
	}
	return tok
}

// login signs in through the form and checks it worked.
func (v *visitor) login(name string) {
	v.t.Helper()
	p := v.post("/login", url.Values{"csrf_token": {v.token("/login")}, "username": {name}, "password": {name + "-password"}})
	if p.StatusCode != http.StatusSeeOther || p.Header.Get("Location") != "/" {
		v.t.Fatalf("login %s: %d %s %s", name, p.StatusCode, p.Header.Get("Location"), text(p.Doc.Find(`[data-testid="form-error"]`)))
	}
}

// cookie returns the visitor's cookie of that name, or nil.
func (v *visitor) cookie(name string) *http.Cookie {
	u, _ := url.Parse(v.env.srv.URL)
	for _, c := range v.client.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func text(s *goquery.Selection) string { return strings.Join(strings.Fields(s.Text()), " ") }

func orgPath(id int64) string { return "/orgs/" + strconv.FormatInt(id, 10) }

// setCookieFor finds the Set-Cookie header of the named cookie.
func setCookieFor(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// openRaw opens the test database directly, to check what is stored.
func openRaw(t testing.TB, path string) *db.Raw {
	t.Helper()
	sdb, err := db.OpenRaw(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sdb.Close() })
	return sdb
}

func TestSecurityHeadersAndStaticFiles(t *testing.T) {
	t.Parallel()
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

func TestAPIIgnoresTheSessionCookie(t *testing.T) {
	t.Parallel()
	w := newOrgWorld(t, "Acme")
	v := w.env.visitor()
	v.login("alice")
	api := func(body string) page {
		req, _ := http.NewRequest(http.MethodPost, w.env.srv.URL+"/api/invite_user_to_organization", strings.NewReader(body))
		return v.do(req) // the visitor's jar sends the session cookie
	}
	// The cookie alone authenticates nothing on the API...
	p := api(`{"username_to_invite":"bob","organization_id":` + strconv.FormatInt(w.orgID, 10) + `}`)
	if p.StatusCode != http.StatusUnauthorized || !strings.Contains(p.Body, `"code":"unauthorized"`) {
		t.Fatalf("API with only a session cookie: %d %s", p.StatusCode, p.Body)
	}
	// ...and the API needs no CSRF token: its auth is in the body.
	p = api(`{"auth":{"username":"alice","password":"alice-password"},"username_to_invite":"bob","organization_id":` + strconv.FormatInt(w.orgID, 10) + `}`)
	if p.StatusCode != http.StatusOK || p.Body != "{\"success\":true}\n" {
		t.Fatalf("API with password auth: %d %s", p.StatusCode, p.Body)
	}
	// API errors stay JSON; page errors are HTML.
	if p := v.get("/api/no_such_function"); !strings.HasPrefix(p.Header.Get("Content-Type"), "application/json") {
		t.Errorf("API 404 is %q", p.Header.Get("Content-Type"))
	}
	p = v.get("/no/such/page")
	if p.StatusCode != http.StatusNotFound || !strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") || text(p.Doc.Find("h1")) != "Not found" {
		t.Errorf("page 404: %d %q %q", p.StatusCode, p.Header.Get("Content-Type"), text(p.Doc.Find("h1")))
	}
	if got := text(p.Doc.Find(`[data-testid="nav-user"]`)); got != "alice" {
		t.Errorf("the error page's navigation shows %q", got)
	}
}

// TestPagesNeedOnlyConfig: the pages come from Config.Sessions, not from
// what the Service happens to implement, so a wrapper around the service
// (failingService hides every method but Service's) keeps them; without
// Config.Sessions there are no pages, only the API.
func TestPagesNeedOnlyConfig(t *testing.T) {
	t.Parallel()
	env := newAPIEnv(t)
	wrapped := failingService{env.store}
	for _, tt := range []struct {
		cfg  handlers.Config
		want int
	}{
		{handlers.Config{Sessions: env.store, SessionKeys: [][]byte{fuzzSessionKey}}, http.StatusOK},
		{handlers.Config{}, http.StatusNotFound},
	} {
		rec := httptest.NewRecorder()
		handlers.New(wrapped, tt.cfg).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/login", nil))
		if rec.Code != tt.want {
			t.Errorf("GET /login with Sessions=%v: %d, want %d", tt.cfg.Sessions != nil, rec.Code, tt.want)
		}
	}
}
