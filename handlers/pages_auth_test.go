package handlers_test

import (
	"crypto/sha256"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/securecookie"

	"guildhall/handlers"
)

func TestSignedOutVisitorsAreSentToLogin(t *testing.T) {
	t.Parallel()
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
	t.Parallel()
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
			raw := sessionIDOf(t, env, ck.Value)
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
	t.Parallel()
	env, v := aliceSignedIn(t)
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
	t.Parallel()
	env, v := aliceSignedIn(t)
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

// TestShortIdleTimeoutResetsOnActivity: with --session-idle 20s, a visitor
// active every 4 seconds stays signed in for minutes, and one idle for 20
// seconds (and the second the stored time is rounded to) is signed out;
// with --session-idle 1s, so is one active every 0.6 seconds. The idle
// clock restarts at every request, however short the setting.
func TestShortIdleTimeoutResetsOnActivity(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ idle, every time.Duration }{{20 * time.Second, 4 * time.Second}, {time.Second, 600 * time.Millisecond}} {
		env := newPageEnv(t, pageEnvOptions{sessionIdle: c.idle})
		env.advance(time.Second - time.Duration(env.clock().Nanosecond()) + 900*time.Millisecond) // 0.9 s past a whole second
		env.user("alice")
		v := env.visitor()
		v.login("alice")
		for i := range 15 { // three idle timeouts' worth
			env.advance(c.every)
			if p := v.get("/"); p.StatusCode != http.StatusOK {
				t.Fatalf("idle %v: signed out after %v of activity every %v: %d", c.idle, time.Duration(i+1)*c.every, c.every, p.StatusCode)
			}
		}
		env.advance(c.idle + time.Second)
		if p := v.get("/"); p.StatusCode != http.StatusSeeOther {
			t.Fatalf("idle %v: still signed in after %v without a request: %d", c.idle, c.idle+time.Second, p.StatusCode)
		}
	}
}

func TestLoginThrottleSharedByFormAndAPI(t *testing.T) {
	t.Parallel()
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
	t.Parallel()
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

func TestSignupPage(t *testing.T) {
	t.Parallel()
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

// TestSignupFloodThrottledPerAddress: sign-ups are counted per client
// address, add_user and the sign-up page together, taken names included:
// past the rate, 429 with Retry-After and no account, whichever path is
// used; another address still signs up.
func TestSignupFloodThrottledPerAddress(t *testing.T) {
	t.Parallel()
	_, loopback, _ := net.ParseCIDR("127.0.0.0/8")
	env := newPageEnv(t, pageEnvOptions{signupRate: 3, trustedProxies: []*net.IPNet{loopback}})
	env.user("taken")
	apiSignup := func(name, from string) page {
		req, _ := http.NewRequest(http.MethodPost, env.srv.URL+"/api/add_user",
			strings.NewReader(`{"username": "`+name+`", "password": "password-`+name+`"}`))
		req.Header.Set("X-Forwarded-For", from)
		return env.visitor().do(req)
	}
	pageSignup := func(name, from string) page {
		v := env.visitor()
		return v.post("/signup", url.Values{"csrf_token": {v.token("/signup")}, "username": {name}, "password": {"password-" + name}, "password_confirm": {"password-" + name}},
			"X-Forwarded-For", from)
	}
	if p := apiSignup("taken", "198.51.100.1"); p.StatusCode != http.StatusConflict {
		t.Fatalf("a taken name: %d %s", p.StatusCode, p.Body)
	}
	if p := apiSignup("ann", "198.51.100.1"); p.StatusCode != http.StatusOK {
		t.Fatalf("first sign-up: %d %s", p.StatusCode, p.Body)
	}
	if p := pageSignup("ben", "198.51.100.1"); p.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-up page: %d", p.StatusCode)
	}
	secs := func(p page) int { n, _ := strconv.Atoi(p.Header.Get("Retry-After")); return n }
	p := apiSignup("cid", "198.51.100.1")
	if p.StatusCode != http.StatusTooManyRequests || !strings.Contains(p.Body, `"code":"rate_limited"`) || secs(p) < 1 || secs(p) > 20*60 {
		t.Fatalf("fourth sign-up from one address: %d %q %s", p.StatusCode, p.Header.Get("Retry-After"), p.Body)
	}
	p = pageSignup("dee", "198.51.100.1")
	if p.StatusCode != http.StatusTooManyRequests || secs(p) < 1 || !strings.Contains(text(p.Doc.Find(`[data-testid="form-error"]`)), "Too many sign-ups from your network") {
		t.Fatalf("sign-up page past the rate: %d %q %q", p.StatusCode, p.Header.Get("Retry-After"), text(p.Doc.Find(`[data-testid="form-error"]`)))
	}
	var n int
	openRaw(t, env.path).QueryRow(`SELECT count(*) FROM users WHERE username IN ('cid', 'dee')`).Scan(&n)
	if n != 0 {
		t.Fatalf("%d refused sign-ups were stored", n)
	}
	if p := apiSignup("cid", "198.51.100.2"); p.StatusCode != http.StatusOK {
		t.Fatalf("another address: %d %s", p.StatusCode, p.Body)
	}
	env.advance(time.Hour / 3)
	if p := apiSignup("dee", "198.51.100.1"); p.StatusCode != http.StatusOK {
		t.Fatalf("after a third of an hour: %d %s", p.StatusCode, p.Body)
	}
}

// sessionIDOf is the raw session id inside a session cookie's value,
// which must be signed with env's session key.
func sessionIDOf(t testing.TB, env *pageEnv, cookie string) []byte {
	t.Helper()
	var raw []byte
	if err := securecookie.DecodeMulti("guildhall_session", cookie,
		&raw, securecookie.New(env.keys[0], nil).SetSerializer(securecookie.NopEncoder{})); err != nil {
		t.Fatalf("the cookie is not signed with the session key: %v", err)
	}
	return raw
}
