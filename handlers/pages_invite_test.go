package handlers_test

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// htmx is the pair of headers htmx sends with a request from the page.
func htmx(token string) []string {
	return []string{"HX-Request", "true", "X-CSRF-Token", token}
}

func TestInviteWithHTMX(t *testing.T) {
	t.Parallel()
	w := newOrgWorld(t, "Acme")
	v := w.env.visitor()
	v.login("alice")
	tok := v.token(orgPath(w.orgID))
	path := orgPath(w.orgID) + "/invitations"

	// Success: the cleared form, the members table with bob's pending row
	// (out of band), the audit trail, and the status line.
	p := v.post(path, url.Values{"username_to_invite": {"bob"}, "member_class": {"member"}}, htmx(tok)...)
	if p.StatusCode != http.StatusOK {
		t.Fatalf("invite: %d %s", p.StatusCode, p.Body)
	}
	if strings.Contains(p.Body, "<html") || strings.Contains(p.Body, `aria-label="Main"`) {
		t.Error("the htmx answer is a whole page, not a fragment")
	}
	if val, _ := p.Doc.Find(`#invite input[name="username_to_invite"]`).Attr("value"); val != "" {
		t.Errorf("form not cleared: %q", val)
	}
	if p.Doc.Find(`#invite-error`).Length() != 0 {
		t.Error("an error shows after a success")
	}
	members := p.Doc.Find(`#members[hx-swap-oob="true"]`)
	bob := members.Find(`tr[data-username="bob"]`)
	if bob.Length() != 1 || text(bob.Find(`[data-testid="member-status"]`)) != "invited" || text(bob.Find(`[data-testid="member-sender"]`)) != "alice" {
		t.Errorf("the new pending row: %q", text(bob))
	}
	status := p.Doc.Find(`[hx-swap-oob="innerHTML:#invite-status"] [data-testid="status"]`)
	if text(status) != "Invited bob as member" || !status.HasClass("ok") {
		t.Errorf("status line %q", text(status))
	}
	if got := text(p.Doc.Find(`#audit[hx-swap-oob="true"] tr[data-testid="audit-event"]`).First()); !strings.Contains(got, "alice invited bob") {
		t.Errorf("the audit trail did not come along with the invitation first: %q", got)
	}
	if !slices.Contains(w.env.memberships(w.owner, w.orgID), "bob:member:pending") {
		t.Errorf("database: %v", w.env.memberships(w.owner, w.orgID))
	}

	// Failures keep their status, show the service's message beside the
	// form, keep the input, and empty the status area.
	for _, tt := range []struct {
		user, role string
		status     int
		message    string
	}{
		{"nobody", "member", http.StatusNotFound, `There is no user named "nobody".`},
		{"bob", "viewer", http.StatusConflict, "bob has already been invited to Acme."},
		{"mary", "viewer", http.StatusConflict, "mary is already a member of Acme."},
		{"bob", "emperor", http.StatusBadRequest, `Role must be one of owner, admin, member or viewer, not "emperor".`},
		{"", "member", http.StatusBadRequest, "Enter the username of the person to invite."},
	} {
		before := w.env.memberships(w.owner, w.orgID)
		p := v.post(path, url.Values{"username_to_invite": {tt.user}, "member_class": {tt.role}}, htmx(tok)...)
		if p.StatusCode != tt.status {
			t.Errorf("invite %s as %s: %d, want %d", tt.user, tt.role, p.StatusCode, tt.status)
		}
		if got := text(p.Doc.Find(`#invite #invite-error`)); got != tt.message {
			t.Errorf("invite %s as %s: message %q, want %q", tt.user, tt.role, got, tt.message)
		}
		if val, _ := p.Doc.Find(`#invite-username`).Attr("value"); val != tt.user {
			t.Errorf("input not kept: %q", val)
		}
		if inv, _ := p.Doc.Find(`#invite-username`).Attr("aria-invalid"); inv != "true" {
			t.Error("the field is not marked invalid")
		}
		if p.Doc.Find(`[hx-swap-oob="innerHTML:#invite-status"]`).Length() != 1 || p.Doc.Find(`#members`).Length() != 0 {
			t.Error("a failure should carry the form and an empty status area only")
		}
		if after := w.env.memberships(w.owner, w.orgID); !slices.Equal(before, after) {
			t.Errorf("a refused invitation changed the members: %v", after)
		}
	}

	// Someone who may grant only viewer is refused a higher role, in words.
	m := w.env.visitor()
	m.login("mary")
	p = m.post(path, url.Values{"username_to_invite": {"bob"}, "member_class": {"admin"}}, htmx(m.token(orgPath(w.orgID)))...)
	if p.StatusCode != http.StatusForbidden || text(p.Doc.Find("#invite-error")) != "As a member you cannot grant the admin role; you may grant viewer." {
		t.Errorf("member granting admin: %d %q", p.StatusCode, text(p.Doc.Find("#invite-error")))
	}
	// A viewer has no form; posting anyway gets the service's refusal as a
	// status line retargeted to the status area.
	vv := w.env.visitor()
	vv.login("vera")
	p = vv.post(path, url.Values{"username_to_invite": {"bob"}, "member_class": {"viewer"}}, htmx(vv.token(orgPath(w.orgID)))...)
	if p.StatusCode != http.StatusForbidden || text(p.Doc.Find("#invite-error")) != "As a viewer you cannot invite or grant roles." {
		t.Errorf("viewer inviting: %d %q", p.StatusCode, p.Body)
	}
	// An outsider's htmx post: no organization to render, so the message
	// goes to the status area.
	o := w.env.visitor()
	o.login("bob")
	p = o.post(path, url.Values{"username_to_invite": {"vera"}}, htmx(o.token("/"))...)
	if p.StatusCode != http.StatusForbidden || p.Header.Get("HX-Retarget") != "#status" || text(p.Doc.Find(".status.error")) != "You are not a member of organization "+strconv.FormatInt(w.orgID, 10)+"." {
		t.Errorf("outsider: %d %q %q", p.StatusCode, p.Header.Get("HX-Retarget"), p.Body)
	}
}

func TestInviteWithoutJavaScript(t *testing.T) {
	t.Parallel()
	w := newOrgWorld(t, "Acme")
	v := w.env.visitor()
	v.login("adam")
	tok := v.token(orgPath(w.orgID))
	path := orgPath(w.orgID) + "/invitations"
	p := v.post(path, url.Values{"csrf_token": {tok}, "username_to_invite": {"bob"}, "member_class": {"viewer"}})
	if p.StatusCode != http.StatusSeeOther || p.Header.Get("Location") != orgPath(w.orgID)+"#invite" {
		t.Fatalf("invite: %d %q", p.StatusCode, p.Header.Get("Location"))
	}
	p = v.get(orgPath(w.orgID))
	// The message shows beside the form that caused it, not at the top.
	if got := text(p.Doc.Find(`#invite-status [data-testid="status"]`)); got != "Invited bob as viewer" || text(p.Doc.Find("#status")) != "" {
		t.Errorf("flash %q beside the form, %q at the top", got, text(p.Doc.Find("#status")))
	}
	if p.Doc.Find(`tr[data-username="bob"][data-status="invited"]`).Length() != 1 {
		t.Error("no pending row for bob")
	}
	// The flash shows once.
	if got := text(v.get(orgPath(w.orgID)).Doc.Find(`#invite-status`)); got != "" {
		t.Errorf("flash shown twice: %q", got)
	}
	// A failure redirects back too (the browser never rests on the
	// invitations URL), and the page shows the message and the input.
	p = v.post(path, url.Values{"csrf_token": {tok}, "username_to_invite": {"Bob"}, "member_class": {"member"}})
	if p.StatusCode != http.StatusSeeOther || p.Header.Get("Location") != orgPath(w.orgID)+"#invite" {
		t.Fatalf("duplicate: %d %q", p.StatusCode, p.Header.Get("Location"))
	}
	p = v.get(orgPath(w.orgID))
	if text(p.Doc.Find("#invite-error")) != "bob has already been invited to Acme." {
		t.Errorf("duplicate: %q", text(p.Doc.Find("#invite-error")))
	}
	if val, _ := p.Doc.Find("#invite-username").Attr("value"); val != "Bob" {
		t.Errorf("failure page: input %q", val)
	}
	if sel, _ := p.Doc.Find(`#invite-role option[selected]`).Attr("value"); sel != "member" {
		t.Errorf("role not kept: %q", sel)
	}
	// Shown once: a reload shows the form empty.
	if p := v.get(orgPath(w.orgID)); p.Doc.Find("#invite-error").Length() != 0 || p.Doc.Find("#invite-username").AttrOr("value", "") != "" {
		t.Error("the refused form came back on the next page view")
	}
}

func TestRevokeInvitation(t *testing.T) {
	t.Parallel()
	w := newOrgWorld(t, "Acme")
	v := w.env.visitor()
	v.login("alice")
	tok := v.token(orgPath(w.orgID))
	p := v.post(orgPath(w.orgID)+"/invitations", url.Values{"csrf_token": {tok}, "username_to_invite": {"bob"}, "member_class": {"member"}})
	if p.StatusCode != http.StatusSeeOther {
		t.Fatal(p.StatusCode)
	}
	page := v.get(orgPath(w.orgID))
	action, ok := page.Doc.Find(`tr[data-username="bob"] [data-testid="revoke"]`).Attr("href")
	if !ok {
		t.Fatal("no revoke button for bob")
	}
	// It asks first: a dialog for htmx, whose form swaps the member list.
	p = v.do(htmxGet(v, action))
	form := p.Doc.Find(`dialog[data-confirm] form[data-testid="confirm-form"]`)
	if p.StatusCode != http.StatusOK || form.AttrOr("hx-post", "") != action || form.AttrOr("hx-target", "") != "#members" {
		t.Fatalf("confirmation dialog: %d %s", p.StatusCode, p.Body)
	}
	// Confirmed with htmx: the list without bob and with the focus on it,
	// the status line beside it, the dialog closed.
	p = v.post(action, url.Values{}, htmx(tok)...)
	if p.StatusCode != http.StatusOK || p.Doc.Find(`#members tr[data-username="bob"]`).Length() != 0 ||
		text(p.Doc.Find(`[hx-swap-oob="innerHTML:#members-status"] [data-testid="status"]`)) != "Revoked the invitation of bob" {
		t.Fatalf("revoke: %d %q", p.StatusCode, p.Body)
	}
	if p.Doc.Find(`#members [data-focus-here]`).Length() != 1 || p.Doc.Find(`#dialog-slot[hx-swap-oob]`).Length() != 1 {
		t.Errorf("after an htmx revoke the focus goes to the list and the dialog closes: %s", p.Body)
	}
	if slices.Contains(w.env.memberships(w.owner, w.orgID), "bob:member:pending") {
		t.Error("bob's invitation is still there")
	}
	// Again, without JavaScript: nothing to revoke, said beside the list.
	p = v.post(action, url.Values{"csrf_token": {tok}})
	if p.StatusCode != http.StatusSeeOther || p.Header.Get("Location") != orgPath(w.orgID)+"#members" {
		t.Fatal(p.StatusCode, p.Header.Get("Location"))
	}
	if got := text(v.get(orgPath(w.orgID)).Doc.Find(`#members-status .status.error`)); got != "bob is not a member of Acme and has no invitation to it." {
		t.Errorf("flash %q", got)
	}
	// With htmx, a refusal goes beside the list too, and closes the dialog.
	p = v.post(action, url.Values{}, append(htmx(tok), "HX-Target", "members")...)
	if p.StatusCode != http.StatusNotFound || p.Header.Get("HX-Retarget") != "#members-status" || p.Doc.Find(`#dialog-slot[hx-swap-oob]`).Length() != 1 {
		t.Errorf("an htmx refusal: %d %q %s", p.StatusCode, p.Header.Get("HX-Retarget"), p.Body)
	}
}

// htmxGet is a GET as htmx sends it from the page.
func htmxGet(v *visitor, path string) *http.Request {
	req, _ := http.NewRequest(http.MethodGet, v.env.srv.URL+path, nil)
	req.Header.Set("HX-Request", "true")
	return req
}

// TestInviteFormRateLimited: past the invite rate the form shows the
// service's 429 beside the form, with Retry-After, and invites nobody.
func TestInviteFormRateLimited(t *testing.T) {
	t.Parallel()
	env := newPageEnv(t, pageEnvOptions{inviteRate: 1})
	alice := env.user("alice")
	env.user("bob")
	env.user("carol")
	orgID := env.org(alice, "Acme")
	v := env.visitor()
	v.login("alice")
	tok := v.token(orgPath(orgID))
	path := orgPath(orgID) + "/invitations"
	if p := v.post(path, url.Values{"username_to_invite": {"bob"}, "member_class": {"member"}}, htmx(tok)...); p.StatusCode != http.StatusOK {
		t.Fatalf("first invite: %d", p.StatusCode)
	}
	p := v.post(path, url.Values{"username_to_invite": {"carol"}, "member_class": {"member"}}, htmx(tok)...)
	if p.StatusCode != http.StatusTooManyRequests || p.Header.Get("Retry-After") == "" {
		t.Fatalf("second invite: %d, Retry-After %q", p.StatusCode, p.Header.Get("Retry-After"))
	}
	if msg := text(p.Doc.Find(`#invite-error`)); msg == "" {
		t.Fatal("no message beside the form")
	}
	if val, _ := p.Doc.Find(`input[name="username_to_invite"]`).Attr("value"); val != "carol" {
		t.Fatalf("the input was not kept: %q", val)
	}
	if got := env.memberships(alice, orgID); slices.Contains(got, "carol:member:pending") {
		t.Fatalf("carol was invited anyway: %v", got)
	}
}
