package handlers_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestCSRFRefusalChangesNothing(t *testing.T) {
	t.Parallel()
	w := newOrgWorld(t, "Acme")
	v := w.env.visitor()
	v.login("alice")
	tok := v.token(orgPath(w.orgID))
	other := w.env.visitor()
	other.login("adam")
	otherTok := other.token("/")
	path := orgPath(w.orgID) + "/invitations"
	before := w.env.memberships(w.owner, w.orgID)
	form := func(token string) url.Values {
		f := url.Values{"username_to_invite": {"bob"}, "member_class": {"member"}}
		if token != "" {
			f.Set("csrf_token", token)
		}
		return f
	}
	for _, tt := range []struct {
		name    string
		form    url.Values
		headers []string
	}{
		{"no token", form(""), nil},
		{"wrong token", form("not-the-token"), nil},
		{"another session's token", form(otherTok), nil},
		{"htmx without the header", form(""), []string{"HX-Request", "true"}},
		{"htmx with a wrong header", form(""), []string{"HX-Request", "true", "X-CSRF-Token", otherTok}},
		{"cross-site origin", form(tok), []string{"Origin", "http://evil.example"}},
		{"null origin", form(tok), []string{"Origin", "null"}},
		{"cross-site fetch", form(tok), []string{"Sec-Fetch-Site", "cross-site"}},
		{"same-site fetch", form(tok), []string{"Sec-Fetch-Site", "same-site"}},
	} {
		p := v.post(path, tt.form, tt.headers...)
		if p.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", tt.name, p.StatusCode)
		}
		if !strings.Contains(p.Body, "did not come from this site") && !strings.Contains(p.Body, "other sites are refused") {
			t.Errorf("%s: no explanation in %q", tt.name, p.Body)
		}
	}
	if after := w.env.memberships(w.owner, w.orgID); !slices.Equal(before, after) {
		t.Fatalf("a refused post changed the database: %v", after)
	}
	// The login form is protected too (against logging someone in as the attacker).
	anon := w.env.visitor()
	p := anon.post("/login", url.Values{"username": {"alice"}, "password": {"alice-password"}})
	if p.StatusCode != http.StatusForbidden || setCookieFor(p.Response, "guildhall_session") != nil {
		t.Errorf("login without a token: %d", p.StatusCode)
	}
	// Logout and account creation too.
	if p := v.post("/logout", url.Values{}); p.StatusCode != http.StatusForbidden || w.env.sessionRows() != 2 {
		t.Errorf("logout without a token: %d, %d rows", p.StatusCode, w.env.sessionRows())
	}
	if p := v.post("/keys", url.Values{"title": {"x"}}); p.StatusCode != http.StatusForbidden {
		t.Errorf("key without a token: %d", p.StatusCode)
	}
	// The same post with the token and a same-origin Origin works.
	p = v.post(path, form(tok), "Origin", w.env.srv.URL, "Sec-Fetch-Site", "same-origin")
	if p.StatusCode != http.StatusSeeOther {
		t.Fatalf("valid post: %d %s", p.StatusCode, p.Body)
	}
}
