package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"guildhall"
	"guildhall/handlers"
)

// TestConfirmationsPostToCanonicalURLs walks every route whose GET asks
// before a destructive action, with "/", "..", "?" and "#" (encoded, as
// the router decodes them) in each of its parameters: each answer is a
// 404, or a question whose form posts to the URL the pages build for the
// same route and the parameter as decoded, never to a path the decoded
// characters would lead elsewhere. The attack this stops: a session's
// handle of "..%2F..%2Forgs%2F1%2Fmembers%2Fbob%2Fremove%3F" made "Sign
// out that session?" post to /orgs/1/members/bob/remove. Posting the same
// URLs changes nothing, and a sign-in's next= cannot lead to them.
func TestConfirmationsPostToCanonicalURLs(t *testing.T) {
	t.Parallel()
	env := newPageEnv(t)
	ctx := context.Background()
	alice, bob, dave := env.user("alice"), env.user("bob"), env.user("dave")
	env.user("carol")
	acme := env.org(alice, "Acme")
	env.member(alice, acme, bob, guildhall.RoleMember)
	if _, err := env.store.InviteUser(ctx, alice, acme, "carol", guildhall.RoleViewer); err != nil {
		t.Fatal(err)
	}
	dcorp := env.org(dave, "Dcorp")
	if _, err := env.store.InviteUser(ctx, dave, dcorp, "alice", guildhall.RoleMember); err != nil {
		t.Fatal(err)
	}
	key, _, err := env.store.CreateAPIKey(ctx, alice, "laptop")
	if err != nil {
		t.Fatal(err)
	}
	v := env.visitor()
	v.login("alice")
	other := env.visitor()
	other.login("alice")
	sessions, err := env.store.ListSessions(ctx, alice, handlers.DefaultSessionIdleTimeout)
	if err != nil || len(sessions) != 2 {
		t.Fatalf("alice's sessions: %v %v", sessions, err)
	}
	tok := v.token("/")

	// The real value of each parameter, by the route it is in.
	real := func(route, param string) string {
		switch {
		case param == "handle":
			return sessions[0].Handle
		case param == "username" && strings.Contains(route, "/members/"):
			return "bob"
		case param == "username":
			return "carol"
		case strings.HasPrefix(route, "/invitations/"):
			return strconv.FormatInt(dcorp, 10)
		case strings.HasPrefix(route, "/keys/"):
			return strconv.FormatInt(key.ID, 10)
		}
		return strconv.FormatInt(acme, 10)
	}
	attacks := []string{"%2F", "..", "%3F", "%23", "..%2F..%2Forgs%2F" + strconv.FormatInt(acme, 10) + "%2Fmembers%2Fbob%2Fremove%3F"}
	paramRE := regexp.MustCompile(`:[a-z]+`)
	fill := func(route string, values map[string]string) string {
		return paramRE.ReplaceAllStringFunc(route, func(p string) string { return values[p[1:]] })
	}
	query := func(route string) string {
		if strings.HasSuffix(route, "/transfer") {
			return "?username=bob"
		}
		return ""
	}
	before := snapshotOf(t, env.path)
	routes := handlers.ConfirmationRoutes()
	if len(routes) < 9 {
		t.Fatalf("confirmation routes: %v", routes)
	}
	asked := 0
	for _, route := range routes {
		params := paramRE.FindAllString(route, -1)
		values := map[string]string{}
		for _, p := range params {
			values[p[1:]] = real(route, p[1:])
		}
		// Each parameter in turn is attacked, the others keep their real
		// values; the first case is every value real.
		cases := []map[string]string{values}
		for _, p := range params {
			for _, attack := range attacks {
				for _, raw := range []string{values[p[1:]] + attack, attack + values[p[1:]], attack} {
					vs := map[string]string{}
					for k, v := range values {
						vs[k] = v
					}
					vs[p[1:]] = raw
					cases = append(cases, vs)
				}
			}
		}
		for i, vs := range cases {
			target := fill(route, vs) + query(route)
			decoded := map[string]string{}
			for k, raw := range vs {
				d, err := url.PathUnescape(raw)
				if err != nil {
					t.Fatal(err)
				}
				decoded[k] = url.PathEscape(d)
			}
			want := fill(route, decoded)
			for _, htmx := range []bool{false, true} {
				req, _ := http.NewRequest(http.MethodGet, env.srv.URL+target, nil)
				if htmx {
					req.Header.Set("HX-Request", "true")
				}
				p := v.do(req)
				if i == 0 && p.StatusCode != http.StatusOK {
					t.Fatalf("GET %s (real values): %d", target, p.StatusCode)
				}
				if p.StatusCode == http.StatusNotFound {
					continue
				}
				form := p.Doc.Find(`form[data-testid="confirm-form"]`)
				action, _ := form.Attr("action")
				if p.StatusCode != http.StatusOK || form.Length() != 1 || action != want {
					t.Errorf("GET %s (htmx %v): %d, form posts to %q; want 404 or %q", target, htmx, p.StatusCode, action, want)
					continue
				}
				if hx, ok := form.Attr("hx-post"); ok && hx != action {
					t.Errorf("GET %s: hx-post %q, action %q", target, hx, action)
				}
				// The URL is a path of its own: no query, fragment or dot
				// segment, so the browser posts where the page says.
				if u, err := url.Parse(action); err != nil || u.RawQuery != "" || u.Fragment != "" || path.Clean(u.Path) != u.Path ||
					strings.Count(u.Path, "/") != strings.Count(route, "/") {
					t.Errorf("GET %s: the form posts to %q", target, action)
				}
				asked++
			}
			if i > 0 {
				// Posting the attacked URL is refused as well.
				v.post(target, url.Values{"csrf_token": {tok}, "confirm_name": {"Acme"}, "username": {"bob"}})
			}
		}
	}
	if asked < 2*len(routes) {
		t.Errorf("only %d questions were asked", asked)
	}
	if after := snapshotOf(t, env.path); after != before {
		t.Errorf("posting the attacked URLs changed the database:\n%s\nwas\n%s", after, before)
	}

	// A sign-in leads back only to a page named as the pages name it.
	attack := "/account/sessions/..%2F..%2Forgs%2F" + strconv.FormatInt(acme, 10) + "%2Fmembers%2Fbob%2Fremove%3F/end"
	for next, want := range map[string]string{
		attack:                     "/",
		"/orgs/1/../../keys":       "/",
		"/orgs/%2e%2e/keys":        "/",
		"/keys%5c":                 "/",
		"/api/delete_organization": "/",
		"/\t/evil.example":         "/",
		"/keys":                    "/keys",
		"/orgs/" + strconv.FormatInt(acme, 10) + "?status=invited#members": "/orgs/" + strconv.FormatInt(acme, 10) + "?status=invited#members",
	} {
		anon := env.visitor()
		form := url.Values{"csrf_token": {anon.token("/login")}, "username": {"alice"}, "password": {"alice-password"}, "next": {next}}
		if p := anon.post("/login", form); p.StatusCode != http.StatusSeeOther || p.Header.Get("Location") != want {
			t.Errorf("login with next=%q: %d Location %q, want %q", next, p.StatusCode, p.Header.Get("Location"), want)
		}
	}
}

// TestDeclineConfirmAsksOnlyTheInvitee: the question before declining
// comes from the service's OpenInvitation: the invitee with an open
// invitation is asked, naming the organization; anyone else, and the
// invitee once it has expired, gets a 404 that names it only by its id.
func TestDeclineConfirmAsksOnlyTheInvitee(t *testing.T) {
	t.Parallel()
	env := newPageEnv(t)
	dave := env.user("dave")
	env.user("alice")
	env.user("bob")
	dcorp := env.org(dave, "Dcorp")
	if _, err := env.store.InviteUser(context.Background(), dave, dcorp, "alice", guildhall.RoleMember); err != nil {
		t.Fatal(err)
	}
	path := "/invitations/" + strconv.FormatInt(dcorp, 10) + "/decline"
	alice, bob := env.visitor(), env.visitor()
	alice.login("alice")
	bob.login("bob")
	if p := alice.get(path); p.StatusCode != http.StatusOK || !strings.Contains(text(p.Doc.Find("h1, h2")), "Dcorp") {
		t.Fatalf("the invitee: %d %q", p.StatusCode, text(p.Doc.Find("main")))
	}
	if p := bob.get(path); p.StatusCode != http.StatusNotFound || strings.Contains(p.Body, "Dcorp") || !strings.Contains(p.Body, "organization "+strconv.FormatInt(dcorp, 10)) {
		t.Errorf("someone else: %d %q", p.StatusCode, text(p.Doc.Find("main")))
	}
	env.advance(guildhall.DefaultInviteTTL + time.Second)
	alice.login("alice") // the session has timed out meanwhile
	if p := alice.get(path); p.StatusCode != http.StatusNotFound || strings.Contains(p.Body, "Dcorp") {
		t.Errorf("the invitee, expired: %d %q", p.StatusCode, text(p.Doc.Find("main")))
	}
}
