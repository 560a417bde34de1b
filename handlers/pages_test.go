package handlers_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/gorilla/securecookie"

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
	env := &pageEnv{t: t, path: filepath.Join(t.TempDir(), "guildhall.db"), now: time.Now()}
	dbOpts := testOptions(env.clock)
	dbOpts.SignupClosed = o.signupClosed
	if o.inviteRate != 0 {
		dbOpts.InviteRate = o.inviteRate
	}
	store, err := db.Open(context.Background(), env.path, dbOpts)
	if err != nil {
		t.Fatal(err)
	}
	env.store = store
	if env.keys, err = store.SessionKeys(context.Background()); err != nil {
		t.Fatal(err)
	}
	env.srv = httptest.NewServer(handlers.New(store, handlers.Config{
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Sessions: store, SignupClosed: o.signupClosed,
		SessionKeys: env.keys, SecureCookies: o.secureCookies, TrustedProxies: o.trustedProxies,
	}))
	t.Cleanup(func() { env.srv.Close(); store.Close() })
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
	return guildhall.Actor{UserID: u.ID, Username: u.Username}
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

func TestSignedOutVisitorsAreSentToLogin(t *testing.T) {
	env := newPageEnv(t)
	owner := env.user("alice")
	orgID := env.org(owner, "Acme")
	v := env.visitor()
	for path, want := range map[string]string{
		"/":            "/login",
		"/orgs/new":    "/login?next=%2Forgs%2Fnew",
		orgPath(orgID): "/login?next=%2Forgs%2F" + strconv.FormatInt(orgID, 10),
		"/keys":        "/login?next=%2Fkeys",
		"/keys?x=1":    "/login?next=%2Fkeys%3Fx%3D1",
	} {
		p := v.get(path)
		if p.StatusCode != http.StatusSeeOther || p.Header.Get("Location") != want {
			t.Errorf("GET %s: %d Location %q, want 303 %q", path, p.StatusCode, p.Header.Get("Location"), want)
		}
	}
	// A post from someone signed out goes to the login page and changes nothing.
	p := v.post(orgPath(orgID)+"/invitations", url.Values{"csrf_token": {v.token("/login")}, "username_to_invite": {"alice"}})
	if p.StatusCode != http.StatusSeeOther || p.Header.Get("Location") != "/login" {
		t.Errorf("signed-out invite: %d %q", p.StatusCode, p.Header.Get("Location"))
	}
	// An htmx request from a page whose session has ended is sent to the
	// login page as a whole (HX-Redirect), not swapped into the form.
	p = v.post(orgPath(orgID)+"/invitations", url.Values{"username_to_invite": {"alice"}}, "HX-Request", "true")
	if p.StatusCode != http.StatusUnauthorized || p.Header.Get("HX-Redirect") != "/login" {
		t.Errorf("signed-out htmx post: %d HX-Redirect %q", p.StatusCode, p.Header.Get("HX-Redirect"))
	}
	// After signing in, next= brings the visitor back where they were going.
	p = v.get("/login?next=%2Fkeys")
	if next, _ := p.Doc.Find(`input[name="next"]`).Attr("value"); next != "/keys" {
		t.Fatalf("login form keeps next=%q", next)
	}
	p = v.post("/login", url.Values{"csrf_token": {v.token("/login")}, "username": {"alice"}, "password": {"alice-password"}, "next": {"/keys"}})
	if p.StatusCode != http.StatusSeeOther || p.Header.Get("Location") != "/keys" {
		t.Errorf("login with next: %d %q", p.StatusCode, p.Header.Get("Location"))
	}
	// ...but never to another site.
	v2 := env.visitor()
	p = v2.post("/login", url.Values{"csrf_token": {v2.token("/login")}, "username": {"alice"}, "password": {"alice-password"}, "next": {"//evil.example/"}})
	if p.Header.Get("Location") != "/" {
		t.Errorf("login with an off-site next redirected to %q", p.Header.Get("Location"))
	}
}

func TestLoginPageAndSessionCookie(t *testing.T) {
	for _, secure := range []bool{false, true} {
		t.Run(fmt.Sprintf("secure=%v", secure), func(t *testing.T) {
			env := newPageEnv(t, pageEnvOptions{secureCookies: secure})
			env.user("alice")
			v := env.visitor()
			p := v.get("/login")
			if p.StatusCode != http.StatusOK || text(p.Doc.Find("h1")) != "Sign in" {
				t.Fatalf("GET /login: %d %q", p.StatusCode, text(p.Doc.Find("h1")))
			}
			for _, id := range []string{"login-username", "login-password"} {
				if p.Doc.Find(`label[for="`+id+`"]`).Length() != 1 || p.Doc.Find("#"+id).Length() != 1 {
					t.Errorf("field %s has no label", id)
				}
			}
			if p.Doc.Find(`#status[aria-live="polite"]`).Length() != 1 {
				t.Error("no aria-live status region")
			}
			tok := v.token("/login")

			// A wrong password: the form again, with the message and the username kept.
			p = v.post("/login", url.Values{"csrf_token": {tok}, "username": {"alice"}, "password": {"wrong-password"}})
			if p.StatusCode != http.StatusUnauthorized || text(p.Doc.Find(`[data-testid="form-error"]`)) != "Invalid username or password." {
				t.Fatalf("wrong password: %d %q", p.StatusCode, text(p.Doc.Find(`[data-testid="form-error"]`)))
			}
			if val, _ := p.Doc.Find("#login-username").Attr("value"); val != "alice" {
				t.Errorf("username not kept: %q", val)
			}
			if setCookieFor(p.Response, "guildhall_session") != nil {
				t.Error("a failed login set a session cookie")
			}

			p = v.post("/login", url.Values{"csrf_token": {tok}, "username": {"alice"}, "password": {"alice-password"}})
			ck := setCookieFor(p.Response, "guildhall_session")
			if p.StatusCode != http.StatusSeeOther || ck == nil {
				t.Fatalf("login: %d, cookie %v", p.StatusCode, ck)
			}
			if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Secure != secure || ck.MaxAge <= 0 {
				t.Errorf("session cookie flags: HttpOnly=%v SameSite=%v Path=%q Secure=%v MaxAge=%d", ck.HttpOnly, ck.SameSite, ck.Path, ck.Secure, ck.MaxAge)
			}
			if pre := setCookieFor(v.get("/login").Response, "guildhall_presession"); pre != nil && (!pre.HttpOnly || pre.Secure != secure) {
				t.Errorf("pre-session cookie flags: %+v", pre)
			}
			// The cookie is a signed random id; the database holds only its SHA-256.
			var raw []byte
			if err := securecookie.DecodeMulti("guildhall_session", ck.Value,
				&raw, securecookie.New(env.keys[0], nil).SetSerializer(securecookie.NopEncoder{})); err != nil {
				t.Fatalf("the cookie is not signed with the session key: %v", err)
			}
			if len(raw) < 32 {
				t.Errorf("session id %q is too short", raw)
			}
			sum := sha256.Sum256(raw)
			sdb := openRaw(t, env.path)
			var n, plain int
			sdb.QueryRow(`SELECT count(*) FROM sessions WHERE id_hash = ?`, sum[:]).Scan(&n)
			sdb.QueryRow(`SELECT count(*) FROM sessions WHERE id_hash = ? OR CAST(id_hash AS TEXT) = ?`, raw, string(raw)).Scan(&plain)
			if n != 1 || plain != 0 {
				t.Errorf("sessions by hash %d (want 1), by plain id %d (want 0)", n, plain)
			}
			// A tampered cookie signs in nobody.
			forged := &http.Cookie{Name: "guildhall_session", Value: ck.Value[:len(ck.Value)-4] + "AAAA"}
			req, _ := http.NewRequest(http.MethodGet, env.srv.URL+"/", nil)
			req.AddCookie(forged)
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther {
				t.Errorf("forged cookie: %d, want the redirect to /login", resp.StatusCode)
			}
		})
	}
}

func TestNewSessionIDAtEveryLoginAndLogoutEndsIt(t *testing.T) {
	env := newPageEnv(t)
	env.user("alice")
	v := env.visitor()
	v.login("alice")
	first := v.cookie("guildhall_session").Value
	v.login("alice") // from the same browser, already signed in
	second := v.cookie("guildhall_session").Value
	if first == second {
		t.Fatal("a second login kept the session id")
	}
	if n := env.sessionRows(); n != 1 {
		t.Fatalf("%d session rows after two logins from one browser, want 1 (the old one deleted)", n)
	}
	// The first cookie no longer works.
	replay := func(value string) page {
		req, _ := http.NewRequest(http.MethodGet, env.srv.URL+"/", nil)
		req.AddCookie(&http.Cookie{Name: "guildhall_session", Value: value})
		return env.visitor().do(req)
	}
	if p := replay(first); p.StatusCode != http.StatusSeeOther {
		t.Fatalf("the pre-login cookie still works: %d", p.StatusCode)
	}
	if p := replay(second); p.StatusCode != http.StatusOK || text(p.Doc.Find(`[data-testid="nav-user"]`)) != "alice" {
		t.Fatalf("the current cookie: %d %q", p.StatusCode, text(p.Doc.Find(`[data-testid="nav-user"]`)))
	}

	// Sign out: the row goes, the cookie is expired, and replaying it is anonymous.
	p := v.post("/logout", url.Values{"csrf_token": {v.token("/")}})
	if p.StatusCode != http.StatusSeeOther || p.Header.Get("Location") != "/login?signed_out=1" {
		t.Fatalf("logout: %d %q", p.StatusCode, p.Header.Get("Location"))
	}
	if ck := setCookieFor(p.Response, "guildhall_session"); ck == nil || ck.MaxAge >= 0 {
		t.Errorf("logout did not expire the cookie: %+v", ck)
	}
	if n := env.sessionRows(); n != 0 {
		t.Errorf("%d session rows after logout", n)
	}
	p = replay(second)
	if p.StatusCode != http.StatusSeeOther || p.Header.Get("Location") != "/login" {
		t.Fatalf("replayed cookie after logout: %d %q", p.StatusCode, p.Header.Get("Location"))
	}
	if p := v.get("/login?signed_out=1"); text(p.Doc.Find(`[data-testid="notice"]`)) != "You have signed out." {
		t.Errorf("no signed-out notice: %q", text(p.Doc.Find(`[data-testid="notice"]`)))
	}
}

func TestSessionTimeouts(t *testing.T) {
	env := newPageEnv(t)
	env.user("alice")
	v := env.visitor()
	v.login("alice")
	// Active use keeps the session alive past the idle timeout...
	for range 3 {
		env.advance(handlers.DefaultSessionIdleTimeout - time.Hour)
		if p := v.get("/"); p.StatusCode != http.StatusOK {
			t.Fatalf("active session ended early: %d", p.StatusCode)
		}
	}
	// ...but not past the absolute one.
	env.advance(handlers.DefaultSessionMaxAge)
	if p := v.get("/"); p.StatusCode != http.StatusSeeOther {
		t.Fatalf("session outlived its absolute timeout: %d", p.StatusCode)
	}
	if n := env.sessionRows(); n != 0 {
		t.Errorf("%d rows after the absolute timeout", n)
	}
	// Idle: no request for longer than the idle timeout.
	v.login("alice")
	env.advance(handlers.DefaultSessionIdleTimeout + time.Minute)
	if p := v.get("/"); p.StatusCode != http.StatusSeeOther {
		t.Fatalf("idle session still works: %d", p.StatusCode)
	}
}

func TestSessionsSurviveARestart(t *testing.T) {
	env := newPageEnv(t)
	env.user("alice")
	v := env.visitor()
	v.login("alice")
	// A second server over the same database, with the keys the database
	// kept (as cmd/guildhall does when GUILDHALL_SESSION_KEYS is unset).
	keys, err := env.store.SessionKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || string(keys[0]) != string(env.keys[0]) {
		t.Fatal("SessionKeys generated a second key instead of keeping the first")
	}
	other := httptest.NewServer(handlers.New(env.store, handlers.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Sessions: env.store, SessionKeys: keys}))
	defer other.Close()
	req, _ := http.NewRequest(http.MethodGet, other.URL+"/", nil)
	req.AddCookie(v.cookie("guildhall_session"))
	p := env.visitor().do(req)
	if p.StatusCode != http.StatusOK || text(p.Doc.Find(`[data-testid="nav-user"]`)) != "alice" {
		t.Fatalf("after restart: %d %q", p.StatusCode, text(p.Doc.Find(`[data-testid="nav-user"]`)))
	}
	// Rotation: a new key first, the old one still verifies.
	rotated := httptest.NewServer(handlers.New(env.store, handlers.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Sessions: env.store, SessionKeys: [][]byte{[]byte("a-brand-new-key-of-at-least-32-bytes!"), keys[0]}}))
	defer rotated.Close()
	req, _ = http.NewRequest(http.MethodGet, rotated.URL+"/", nil)
	req.AddCookie(v.cookie("guildhall_session"))
	if p := env.visitor().do(req); p.StatusCode != http.StatusOK {
		t.Fatalf("after key rotation: %d", p.StatusCode)
	}
}

// openRaw opens the test database directly, to check what is stored.
func openRaw(t testing.TB, path string) *sql.DB {
	t.Helper()
	sdb, err := sql.Open("sqlite", db.DSN(path))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sdb.Close() })
	return sdb
}
