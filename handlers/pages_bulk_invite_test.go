package handlers_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

// TestBulkInviteWithHTMX: the "many at once" field invites each username
// with one role and shows each row's outcome in place, with the members
// table and the status line; the field keeps the usernames not invited.
func TestBulkInviteWithHTMX(t *testing.T) {
	t.Parallel()
	w := newOrgWorld(t, "Acme")
	w.env.user("carol")
	v := w.env.visitor()
	v.login("alice")
	tok := v.token(orgPath(w.orgID))
	path := orgPath(w.orgID) + "/invitations/bulk"
	if v.get(orgPath(w.orgID)).Doc.Find(`#bulk-invite form[action="`+path+`"]`).Length() != 1 {
		t.Fatal("the organization page has no bulk form")
	}

	p := v.post(path, url.Values{"usernames": {"bob\ncarol, nobody\n\n mary "}, "member_class": {"viewer"}}, htmx(tok)...)
	if p.StatusCode != http.StatusOK {
		t.Fatalf("bulk invite: %d %s", p.StatusCode, p.Body)
	}
	var rows []string
	p.Doc.Find(`#bulk-invite [data-testid="bulk-invite-row"]`).Each(func(_ int, s *goquery.Selection) {
		u, _ := s.Attr("data-username")
		o, _ := s.Attr("data-outcome")
		rows = append(rows, u+":"+o)
	})
	if got := strings.Join(rows, " "); got != "bob:invited carol:invited nobody:refused mary:refused" {
		t.Errorf("rows %s", got)
	}
	if got := text(p.Doc.Find(`[data-testid="bulk-invite-row"][data-username="mary"]`)); got != "mary: mary is already a member of Acme." {
		t.Errorf("mary's row says %q", got)
	}
	if got := p.Doc.Find(`#bulk-usernames`).Text(); got != "nobody\nmary" {
		t.Errorf("the field keeps %q", got)
	}
	if p.Doc.Find(`#members[hx-swap-oob="true"] tr[data-username="carol"][data-status="invited"]`).Length() != 1 {
		t.Error("the members table did not come along with carol's row")
	}
	// The count shows beside the invite forms, not at the top of the page.
	if got := text(p.Doc.Find(`[hx-swap-oob="innerHTML:#invite-status"] [data-testid="status"]`)); got != "Invited 2 of 4" {
		t.Errorf("status line %q", got)
	}
	if got := w.env.memberships(w.owner, w.orgID); !slices.Contains(got, "bob:viewer:pending") || !slices.Contains(got, "carol:viewer:pending") {
		t.Errorf("members: %v", got)
	}

	// A refusal of the whole form keeps what was typed, under its status.
	for _, c := range []struct {
		usernames, role string
		status          int
		message         string
	}{
		{" , \n", "member", http.StatusBadRequest, "Enter at least one username."},
		{"dora", "emperor", http.StatusBadRequest, `Role must be one of owner, admin, member or viewer, not "emperor".`},
	} {
		p := v.post(path, url.Values{"usernames": {c.usernames}, "member_class": {c.role}}, htmx(tok)...)
		if p.StatusCode != c.status || text(p.Doc.Find(`#bulk-invite-error`)) != c.message || p.Doc.Find(`#bulk-usernames`).Text() != c.usernames {
			t.Errorf("%q as %s: %d %q", c.usernames, c.role, p.StatusCode, text(p.Doc.Find(`#bulk-invite-error`)))
		}
		// The earlier count does not linger beside the refusal.
		if clear := p.Doc.Find(`[hx-swap-oob="innerHTML:#invite-status"]`); clear.Length() != 1 || text(clear) != "" {
			t.Errorf("%q as %s: the status beside the forms is not emptied", c.usernames, c.role)
		}
	}
}

// TestBulkInviteWithoutJavaScript: the form posts normally and redirects
// back to the page (a reload invites nobody again), which shows each row's
// outcome once; a refusal of the whole form comes back the same way.
func TestBulkInviteWithoutJavaScript(t *testing.T) {
	t.Parallel()
	w := newOrgWorld(t, "Acme")
	v := w.env.visitor()
	v.login("adam")
	tok := v.token(orgPath(w.orgID))
	path := orgPath(w.orgID) + "/invitations/bulk"
	back := orgPath(w.orgID) + "#bulk-invite"
	p := v.post(path, url.Values{"csrf_token": {tok}, "usernames": {"bob,nobody"}, "member_class": {"member"}})
	if p.StatusCode != http.StatusSeeOther || p.Header.Get("Location") != back {
		t.Fatalf("bulk invite: %d %q", p.StatusCode, p.Header.Get("Location"))
	}
	p = v.get(orgPath(w.orgID))
	if got := text(p.Doc.Find(`[data-testid="bulk-invite-summary"]`)); got != "Invited 1 of 2:" {
		t.Errorf("summary %q", got)
	}
	if p.Doc.Find(`[data-testid="bulk-invite-row"][data-username="bob"][data-outcome="invited"]`).Length() != 1 ||
		p.Doc.Find(`[data-testid="bulk-invite-row"][data-username="nobody"][data-outcome="refused"]`).Length() != 1 ||
		p.Doc.Find(`tr[data-username="bob"][data-status="invited"]`).Length() != 1 {
		t.Errorf("page: %s", text(p.Doc.Find("#bulk-invite")))
	}
	if got := p.Doc.Find(`#bulk-usernames`).Text(); got != "nobody" {
		t.Errorf("the field keeps %q", got)
	}
	if sel, _ := p.Doc.Find(`#bulk-role option[selected]`).Attr("value"); sel != "member" {
		t.Errorf("role not kept: %q", sel)
	}
	// Shown once: a reload shows the form empty and closed.
	if p := v.get(orgPath(w.orgID)); p.Doc.Find(`[data-testid="bulk-invite-row"]`).Length() != 0 || p.Doc.Find(`#bulk-invite details[open]`).Length() != 0 {
		t.Errorf("the outcome outlived its page: %s", text(p.Doc.Find("#bulk-invite")))
	}
	// A refusal of the whole form redirects back with what was typed, and
	// writes nothing.
	before := w.env.memberships(w.owner, w.orgID)
	p = v.post(path, url.Values{"csrf_token": {tok}, "usernames": {"dora"}, "member_class": {"emperor"}})
	if p.StatusCode != http.StatusSeeOther || p.Header.Get("Location") != back {
		t.Fatalf("refused: %d %q", p.StatusCode, p.Header.Get("Location"))
	}
	p = v.get(orgPath(w.orgID))
	if got := text(p.Doc.Find(`#bulk-invite-error`)); got != `Role must be one of owner, admin, member or viewer, not "emperor".` || p.Doc.Find(`#bulk-usernames`).Text() != "dora" {
		t.Errorf("refusal %q, field %q", got, p.Doc.Find(`#bulk-usernames`).Text())
	}
	if got := w.env.memberships(w.owner, w.orgID); !slices.Equal(got, before) {
		t.Errorf("members after a refused form: %v, before %v", got, before)
	}
	// Without the CSRF token, nothing happens.
	if p := v.post(path, url.Values{"usernames": {"carol"}}); p.StatusCode != http.StatusForbidden {
		t.Errorf("without a token: %d", p.StatusCode)
	}
}
