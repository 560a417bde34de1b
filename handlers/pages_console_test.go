package handlers_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"guildhall"
	"guildhall/views"
)

// consoleWorld is orgWorld with bob invited (open, by adam, as member) and
// carl's invitation (as viewer) expired: every kind of row the list shows.
func consoleWorld(t *testing.T) *orgWorld {
	t.Helper()
	w := newOrgWorld(t, "Acme")
	ctx := context.Background()
	w.env.user("carl")
	if _, err := w.env.store.InviteUser(ctx, w.owner, w.orgID, "carl", guildhall.RoleViewer); err != nil {
		t.Fatal(err)
	}
	w.env.advance(8 * 24 * time.Hour)
	if _, err := w.env.store.InviteUser(ctx, w.admin, w.orgID, "bob", guildhall.RoleMember); err != nil {
		t.Fatal(err)
	}
	return w
}

// rowControls lists, for each row of the member list, the controls it
// offers: "select:<roles>", "remove", "leave", "resend", "revoke".
func rowControls(p page) map[string]string {
	out := map[string]string{}
	p.Doc.Find(`tr[data-testid="member"]`).Each(func(_ int, row *goquery.Selection) {
		var controls []string
		if sel := row.Find(`select[name="member_class"]`); sel.Length() == 1 {
			var roles []string
			sel.Find("option").Each(func(_ int, o *goquery.Selection) { roles = append(roles, o.AttrOr("value", "")) })
			controls = append(controls, "select:"+strings.Join(roles, "/"))
		}
		for _, c := range []string{"remove", "leave", "resend", "revoke"} {
			if row.Find(`[data-testid="`+c+`"]`).Length() == 1 {
				controls = append(controls, c)
			}
		}
		out[row.AttrOr("data-username", "")+"("+row.AttrOr("data-status", "")+")"] = strings.Join(controls, " ")
	})
	return out
}

// TestOrganizationControlsByRole: each viewer gets the controls the rules
// give them, on exactly the rows they may act on, and the invite forms if
// they may invite; expired invitations show, marked expired, to owners and
// admins only.
func TestOrganizationControlsByRole(t *testing.T) {
	t.Parallel()
	w := consoleWorld(t)
	want := map[string]map[string]string{
		"alice": {
			"alice(active)": "leave", "adam(active)": "select:owner/admin/member/viewer remove",
			"mary(active)": "select:owner/admin/member/viewer remove", "vera(active)": "select:owner/admin/member/viewer remove",
			"bob(invited)": "resend revoke", "carl(expired)": "resend revoke",
		},
		"adam": {
			"alice(active)": "", "adam(active)": "leave", "mary(active)": "select:member/viewer remove",
			"vera(active)": "select:member/viewer remove", "bob(invited)": "resend revoke", "carl(expired)": "resend revoke",
		},
		"mary": {
			"alice(active)": "", "adam(active)": "", "mary(active)": "leave", "vera(active)": "select:viewer remove",
			"bob(invited)": "",
		},
		"vera": {"alice(active)": "", "adam(active)": "", "mary(active)": "", "vera(active)": "leave", "bob(invited)": ""},
	}
	for user, rows := range want {
		t.Run(user, func(t *testing.T) {
			v := w.env.visitor()
			v.login(user)
			p := v.get(orgPath(w.orgID))
			got := rowControls(p)
			for row, controls := range rows {
				if got[row] != controls {
					t.Errorf("row %s offers %q, want %q", row, got[row], controls)
				}
			}
			if len(got) != len(rows) {
				t.Errorf("rows %v, want %v", got, rows)
			}
			// Both invite forms, one person or many at once, for those who
			// may invite, each offering the roles they may grant.
			var roles []string
			p.Doc.Find(`#bulk-role option`).Each(func(_ int, o *goquery.Selection) { roles = append(roles, o.AttrOr("value", "")) })
			wantRoles := map[string]string{"alice": "owner/admin/member/viewer", "adam": "member/viewer", "mary": "viewer", "vera": ""}[user]
			if got := strings.Join(roles, "/"); got != wantRoles ||
				p.Doc.Find(`form[data-testid="invite-form"]`).Length() != p.Doc.Find(`form[data-testid="bulk-invite-form"]`).Length() ||
				p.Doc.Find(`form[data-testid="bulk-invite-form"]`).Length() != map[bool]int{true: 1}[wantRoles != ""] {
				t.Errorf("invite forms %d and %d, bulk roles %q; want both with %q",
					p.Doc.Find(`form[data-testid="invite-form"]`).Length(), p.Doc.Find(`form[data-testid="bulk-invite-form"]`).Length(), got, wantRoles)
			}
			tabs := text(p.Doc.Find(`[data-testid="members-tabs"]`))
			if seesExpired := user == "alice" || user == "adam"; strings.Contains(tabs, "Expired") != seesExpired {
				t.Errorf("tabs %q; the Expired tab is for owners and admins", tabs)
			}
			settings := v.get(orgPath(w.orgID) + "/settings")
			var sections []string
			for _, s := range []string{"details-section", "transfer-section", "leave-section", "delete-section"} {
				if settings.Doc.Find(`[data-testid="`+s+`"]`).Length() == 1 {
					sections = append(sections, s)
				}
			}
			wantSections := map[string]string{
				"alice": "details-section transfer-section leave-section delete-section",
				"adam":  "details-section leave-section", "mary": "leave-section", "vera": "leave-section",
			}[user]
			if strings.Join(sections, " ") != wantSections {
				t.Errorf("settings sections %v, want %s", sections, wantSections)
			}
		})
	}
	// The member's list is not allowed expired invitations, even asked for.
	v := w.env.visitor()
	v.login("mary")
	if p := v.get(orgPath(w.orgID) + "?status=expired"); p.StatusCode != http.StatusForbidden {
		t.Errorf("a member asking for expired invitations: %d", p.StatusCode)
	}
	// The expired invitee still cannot accept it.
	carl := w.env.visitor()
	carl.login("carl")
	if p := carl.get("/"); p.Doc.Find(`[data-testid="invitation"]`).Length() != 0 {
		t.Error("an expired invitation is offered to the invitee")
	}
	p := carl.post("/invitations/"+itoa(w.orgID)+"/accept", url.Values{"csrf_token": {carl.token("/")}})
	if got := text(carl.get("/").Doc.Find(".status.error")); p.StatusCode != http.StatusSeeOther || !strings.Contains(got, "expired") {
		t.Errorf("accepting the expired invitation: %d %q", p.StatusCode, got)
	}
}

// TestMemberListFilters: tabs, role filters and sorts, with their counts,
// keep each other in their links.
func TestMemberListFilters(t *testing.T) {
	t.Parallel()
	w := consoleWorld(t)
	v := w.env.visitor()
	v.login("alice")
	p := v.get(orgPath(w.orgID))
	counts := map[string]string{}
	p.Doc.Find(`[data-testid^="count-"]`).Each(func(_ int, s *goquery.Selection) { counts[s.AttrOr("data-testid", "")] = text(s) })
	if got := strings.Join([]string{counts["count-all"], counts["count-active"], counts["count-invited"], counts["count-expired"]}, " "); got != "6 4 1 1" {
		t.Errorf("counts all/active/invited/expired: %s", got)
	}
	href, _ := p.Doc.Find(`[data-testid="tab-expired"]`).Attr("href")
	expired := v.get(href)
	if got := rowControls(expired); len(got) != 1 || got["carl(expired)"] != "resend revoke" {
		t.Errorf("the Expired tab lists %v", got)
	}
	if cur := expired.Doc.Find(`[data-testid="tab-expired"]`).AttrOr("aria-current", ""); cur != "page" {
		t.Error("the Expired tab is not marked current")
	}
	href, _ = expired.Doc.Find(`[data-testid="role-viewer"]`).Attr("href")
	if href != orgPath(w.orgID)+"?role=viewer&status=expired#members" {
		t.Errorf("the role filter forgets the tab: %s", href)
	}
	href, _ = p.Doc.Find(`[data-testid="sort-name"]`).Attr("href")
	var names []string
	v.get(href).Doc.Find(`tr[data-testid="member"]`).Each(func(_ int, s *goquery.Selection) { names = append(names, s.AttrOr("data-username", "")) })
	if strings.Join(names, ",") != "adam,alice,bob,carl,mary,vera" {
		t.Errorf("sorted by name: %v", names)
	}
}

// TestMemberActionsWithoutJavaScript changes a role, removes a member
// (after a confirmation page), and renews an expired invitation, each a
// form post and a redirect back to the list with a message beside it.
func TestMemberActionsWithoutJavaScript(t *testing.T) {
	t.Parallel()
	w := consoleWorld(t)
	v := w.env.visitor()
	v.login("adam")
	tok := v.token(orgPath(w.orgID))
	back := orgPath(w.orgID) + "#members"
	say := func(p page) string {
		if p.StatusCode != http.StatusSeeOther || p.Header.Get("Location") != back {
			t.Fatalf("answer %d %q, want a redirect to %s", p.StatusCode, p.Header.Get("Location"), back)
		}
		return text(v.get(orgPath(w.orgID)).Doc.Find("#members-status"))
	}
	if got := say(v.post(orgPath(w.orgID)+"/members/mary/role", url.Values{"csrf_token": {tok}, "member_class": {"viewer"}})); got != "mary is now viewer." {
		t.Errorf("role change: %q", got)
	}
	if got := say(v.post(orgPath(w.orgID)+"/members/alice/role", url.Values{"csrf_token": {tok}, "member_class": {"viewer"}})); !strings.Contains(got, "cannot change the role of alice") {
		t.Errorf("an admin demoting the owner: %q", got)
	}
	confirm := v.get(orgPath(w.orgID) + "/members/vera/remove")
	if confirm.StatusCode != http.StatusOK || text(confirm.Doc.Find("h1")) != "Remove vera from Acme?" || confirm.Doc.Find(`[data-testid="confirm-cancel"]`).AttrOr("href", "") != orgPath(w.orgID) {
		t.Fatalf("remove confirmation: %d %q", confirm.StatusCode, text(confirm.Doc.Find("h1")))
	}
	if slices.Contains(w.env.memberships(w.owner, w.orgID), "vera:viewer:active") != true {
		t.Fatal("asking removed vera")
	}
	if got := say(v.post(orgPath(w.orgID)+"/members/vera/remove", url.Values{"csrf_token": {tok}})); got != "Removed vera." {
		t.Errorf("remove: %q", got)
	}
	if got := say(v.post(orgPath(w.orgID)+"/invitations/carl/resend", url.Values{"csrf_token": {tok}})); !strings.HasPrefix(got, "Renewed the invitation of carl") {
		t.Errorf("resend: %q", got)
	}
	if got := w.env.memberships(w.owner, w.orgID); strings.Join(got, " ") != "bob:member:pending carl:viewer:pending alice:owner:active adam:admin:active mary:viewer:active" {
		t.Errorf("members: %v", got)
	}
	// The audit trail shows the role change as old → new ("to", unseen,
	// for screen readers, which skip the arrow).
	row := v.get(orgPath(w.orgID)).Doc.Find(`tr[data-action="change_role"]`).First()
	if got := text(row.Find(`[data-testid="audit-role"]`)); got != "member → to viewer" {
		t.Errorf("audit role cell %q", got)
	}
	// No form post without the CSRF token changes anything.
	if p := v.post(orgPath(w.orgID)+"/members/mary/remove", url.Values{}); p.StatusCode != http.StatusForbidden {
		t.Errorf("remove without a token: %d", p.StatusCode)
	}
}

// TestSettingsWithoutJavaScript renames, hands over, leaves and deletes
// through the settings page's forms and confirmation pages.
func TestSettingsWithoutJavaScript(t *testing.T) {
	t.Parallel()
	w := consoleWorld(t)
	alice := w.env.visitor()
	alice.login("alice")
	settings := orgPath(w.orgID) + "/settings"
	tok := alice.token(settings)
	p := alice.post(settings, url.Values{"csrf_token": {tok}, "organization_name": {""}, "organization_description": {"Anvils"}})
	if p.StatusCode != http.StatusSeeOther || p.Header.Get("Location") != settings+"#details" {
		t.Fatalf("an empty name: %d %q", p.StatusCode, p.Header.Get("Location"))
	}
	page := alice.get(settings)
	if text(page.Doc.Find(`#details [data-testid="form-error"]`)) != "Organization name must not be empty." || text(page.Doc.Find("#details-description")) != "Anvils" {
		t.Errorf("refused rename: %q", text(page.Doc.Find("#details")))
	}
	alice.post(settings, url.Values{"csrf_token": {tok}, "organization_name": {"Acme Works"}, "organization_description": {"Anvils"}})
	if page := alice.get(settings); text(page.Doc.Find("#details-status")) != "Saved." || page.Doc.Find("#details-name").AttrOr("value", "") != "Acme Works" {
		t.Errorf("after the rename: %q", text(page.Doc.Find("#details")))
	}
	// The last owner may not leave: the refusal says to transfer first.
	if q := alice.get(orgPath(w.orgID) + "/leave"); q.StatusCode != http.StatusOK || text(q.Doc.Find("h1")) != "Leave Acme Works?" {
		t.Fatalf("leave confirmation: %d", q.StatusCode)
	}
	alice.post(orgPath(w.orgID)+"/leave", url.Values{"csrf_token": {tok}})
	if got := text(alice.get(orgPath(w.orgID)).Doc.Find("#members-status")); !strings.Contains(got, "transfer ownership") {
		t.Errorf("the last owner leaving: %q", got)
	}
	// Transfer: a form that asks, then a post; a refusal goes back to the form.
	q := alice.get(orgPath(w.orgID) + "/transfer?username=Bob")
	if q.Doc.Find(`input[name="username"][type="hidden"]`).AttrOr("value", "") != "bob" {
		t.Fatalf("transfer confirmation: %s", q.Body)
	}
	alice.post(orgPath(w.orgID)+"/transfer", url.Values{"csrf_token": {tok}, "username": {"bob"}})
	page = alice.get(settings)
	if !strings.Contains(text(page.Doc.Find(`[data-testid="transfer-error"]`)), "has not accepted") || page.Doc.Find("#transfer-username").AttrOr("value", "") != "bob" {
		t.Errorf("transfer to a pending invitee: %q", text(page.Doc.Find("#transfer")))
	}
	p = alice.post(orgPath(w.orgID)+"/transfer", url.Values{"csrf_token": {tok}, "username": {"adam"}})
	if p.StatusCode != http.StatusSeeOther {
		t.Fatal(p.StatusCode)
	}
	if got := w.env.memberships(w.admin, w.orgID); !slices.Contains(got, "adam:owner:active") || !slices.Contains(got, "alice:admin:active") {
		t.Fatalf("after the transfer: %v", got)
	}
	// Now alice, an admin, may leave.
	alice.post(orgPath(w.orgID)+"/leave", url.Values{"csrf_token": {tok}})
	if got := text(alice.get("/").Doc.Find("#status")); got != "You left Acme Works." {
		t.Errorf("after leaving: %q", got)
	}
	// adam deletes it: a wrong name comes back to the confirmation with its
	// message; the right one deletes.
	adam := w.env.visitor()
	adam.login("adam")
	atok := adam.token(settings)
	q = adam.get(orgPath(w.orgID) + "/delete")
	if q.Doc.Find(`input[name="confirm_name"]`).Length() != 1 || !strings.Contains(text(q.Doc.Find("label")), "Acme Works") {
		t.Fatalf("delete confirmation: %s", text(q.Doc.Find("main")))
	}
	p = adam.post(orgPath(w.orgID)+"/delete", url.Values{"csrf_token": {atok}, "confirm_name": {"acme works"}})
	if p.StatusCode != http.StatusSeeOther || p.Header.Get("Location") != orgPath(w.orgID)+"/delete#delete" {
		t.Fatalf("a wrong name: %d %q", p.StatusCode, p.Header.Get("Location"))
	}
	if got := text(adam.get(orgPath(w.orgID) + "/delete").Doc.Find(`[data-testid="confirm-error"]`)); !strings.Contains(got, "type its name") {
		t.Errorf("a wrong name says %q", got)
	}
	adam.post(orgPath(w.orgID)+"/delete", url.Values{"csrf_token": {atok}, "confirm_name": {"Acme Works"}})
	if got := text(adam.get("/").Doc.Find("#status")); got != "Deleted Acme Works." {
		t.Errorf("after deleting: %q", got)
	}
	if p := adam.get(orgPath(w.orgID)); p.StatusCode != http.StatusNotFound {
		t.Errorf("the deleted organization: %d", p.StatusCode)
	}
}

// TestAccountPage: the sessions, ending another one, and changing the
// password, which signs the other browser out and keeps this one in.
func TestAccountPage(t *testing.T) {
	t.Parallel()
	env, here := aliceSignedIn(t)
	there, third := env.visitor(), env.visitor()
	there.login("alice")
	third.login("alice")
	p := here.get("/account")
	rows := p.Doc.Find(`tr[data-testid="session"]`)
	if rows.Length() != 3 || p.Doc.Find(`tr[data-current]`).Length() != 1 || p.Doc.Find(`tr[data-current] [data-testid="end-session"]`).Length() != 0 {
		t.Fatalf("sessions: %q", text(p.Doc.Find("#sessions")))
	}
	// Neither any cookie nor the raw session id inside it is ever on the
	// page: the other sessions are named by their handle, the hex of the
	// id's SHA-256, which cannot be turned back into it.
	for _, v := range []*visitor{here, there, third} {
		cookie := v.cookie("guildhall_session").Value
		raw := sessionIDOf(t, env, cookie)
		if strings.Contains(p.Body, cookie) || strings.Contains(p.Body, string(raw)) {
			t.Fatal("the page shows a session's cookie or raw id")
		}
		sum := sha256.Sum256(raw)
		if v != here && !strings.Contains(p.Body, views.EndSessionURL(hex.EncodeToString(sum[:]))) {
			t.Error("another session is not named by its handle")
		}
	}
	tok := here.token("/account")
	end, _ := p.Doc.Find(`[data-testid="end-session"]`).First().Attr("href")
	if q := here.get(end); q.StatusCode != http.StatusOK || q.Doc.Find(`form[data-testid="confirm-form"]`).AttrOr("action", "") != end {
		t.Fatalf("end-session confirmation: %d", q.StatusCode)
	}
	here.post(end, url.Values{"csrf_token": {tok}})
	if p := here.get("/account"); p.Doc.Find(`tr[data-testid="session"]`).Length() != 2 || text(p.Doc.Find("#sessions-status")) != "That session is signed out." {
		t.Fatalf("after ending one: %q", text(p.Doc.Find("#sessions")))
	}
	signedIn := func(v *visitor) bool { return v.get("/").StatusCode == http.StatusOK }
	if signedIn(there) == signedIn(third) {
		t.Fatal("exactly one of the other browsers should be signed out")
	}
	// The two new passwords differ: the message, and the cursor in the new password.
	post := func(current, next, again string) {
		t.Helper()
		p := here.post("/account/password", url.Values{"csrf_token": {here.token("/account")}, "current_password": {current}, "new_password": {next}, "new_password_confirm": {again}})
		if p.StatusCode != http.StatusSeeOther || p.Header.Get("Location") != "/account#password" {
			t.Fatalf("change password: %d %q", p.StatusCode, p.Header.Get("Location"))
		}
	}
	post("alice-password", "a new password", "a new passwort")
	p = here.get("/account")
	if !strings.Contains(text(p.Doc.Find(`#password [data-testid="form-error"]`)), "differ") || p.Doc.Find(`#new-password[autofocus]`).Length() != 1 {
		t.Errorf("mismatch: %q", text(p.Doc.Find("#password")))
	}
	post("wrong-password", "a new password", "a new password")
	p = here.get("/account")
	if text(p.Doc.Find(`#password [data-testid="form-error"]`)) != "Your current password is not right." || p.Doc.Find(`#current-password[autofocus]`).Length() != 1 {
		t.Errorf("wrong current password: %q", text(p.Doc.Find("#password")))
	}
	old := here.cookie("guildhall_session").Value
	post("alice-password", "a new password", "a new password")
	p = here.get("/account")
	if p.StatusCode != http.StatusOK || !strings.HasPrefix(text(p.Doc.Find("#password-status")), "Password changed.") || p.Doc.Find(`tr[data-testid="session"]`).Length() != 1 {
		t.Fatalf("after the change: %d %q", p.StatusCode, text(p.Doc.Find("main")))
	}
	if here.cookie("guildhall_session").Value == old {
		t.Error("the session was not renewed")
	}
	if signedIn(there) || signedIn(third) {
		t.Error("another browser is still signed in after the password change")
	}
	if _, err := env.store.Authenticate(context.Background(), guildhall.Credentials{Username: "alice", Password: "a new password"}); err != nil {
		t.Errorf("the new password: %v", err)
	}
}

// TestDeclineAllFromDashboard: offered with two invitations or more, asked
// first, and said beside the invitations.
func TestDeclineAllFromDashboard(t *testing.T) {
	t.Parallel()
	w := newOrgWorld(t, "Acme")
	other := w.env.org(w.owner, "Other")
	for _, org := range []int64{w.orgID, other} {
		if _, err := w.env.store.InviteUser(context.Background(), w.owner, org, "bob", guildhall.RoleViewer); err != nil {
			t.Fatal(err)
		}
	}
	v := w.env.visitor()
	v.login("bob")
	p := v.get("/")
	href, ok := p.Doc.Find(`[data-testid="decline-all"]`).Attr("href")
	if !ok || text(p.Doc.Find(`[data-testid="invitation"] [data-testid="invitation-sender"]`).First()) != "alice" {
		t.Fatalf("dashboard: %q", text(p.Doc.Find("#invitations")))
	}
	if q := v.get(href); q.Doc.Find(`form[data-testid="confirm-form"]`).AttrOr("action", "") != href {
		t.Fatal("no confirmation before declining all")
	}
	v.post(href, url.Values{"csrf_token": {v.token("/")}})
	p = v.get("/")
	if text(p.Doc.Find("#invitations-status")) != "Declined 2 invitations." || p.Doc.Find(`[data-testid="invitation"]`).Length() != 0 {
		t.Errorf("after declining all: %q", text(p.Doc.Find("#invitations")))
	}
}

// TestSignupMismatchFocusesThePassword: after the two passwords differ the
// cursor goes to the password, not the username, which was fine.
func TestSignupMismatchFocusesThePassword(t *testing.T) {
	t.Parallel()
	env := newPageEnv(t)
	v := env.visitor()
	p := v.post("/signup", url.Values{"csrf_token": {v.token("/signup")}, "username": {"zed"}, "password": {"password-one"}, "password_confirm": {"password-two"}})
	if p.Doc.Find(`#signup-password[autofocus]`).Length() != 1 || p.Doc.Find(`#signup-username[autofocus]`).Length() != 0 {
		t.Errorf("focus after a mismatch: %s", p.Doc.Find("form").Text())
	}
}

// TestEveryFormCarriesCSRF visits every page, and every confirmation as a
// page and as a dialog, as an owner with something to act on everywhere:
// each form that posts carries the session's token.
func TestEveryFormCarriesCSRF(t *testing.T) {
	t.Parallel()
	w := consoleWorld(t)
	if _, err := w.env.store.InviteUser(context.Background(), w.bob, w.env.org(w.bob, "Bobcorp"), "alice", guildhall.RoleMember); err != nil {
		t.Fatal(err)
	}
	v := w.env.visitor()
	v.login("alice")
	other := w.env.visitor()
	other.login("alice")
	if _, _, err := w.env.store.CreateAPIKey(context.Background(), w.owner, "k"); err != nil {
		t.Fatal(err)
	}
	tok := v.token("/")
	org := orgPath(w.orgID)
	pages := []string{"/", "/orgs/new", org, org + "/settings", "/keys", "/account"}
	// The confirmations the pages link to.
	for _, path := range pages {
		v.get(path).Doc.Find(`a[hx-target="#dialog-slot"]`).Each(func(_ int, a *goquery.Selection) {
			pages = append(pages, a.AttrOr("href", ""))
		})
	}
	pages = append(pages, org+"/transfer?username=adam")
	seen := map[string]bool{}
	forms := 0
	for _, path := range pages {
		if seen[path] {
			continue
		}
		seen[path] = true
		for _, htmxToo := range []bool{false, true} {
			var p page
			if htmxToo {
				p = v.do(htmxGet(v, path))
			} else {
				p = v.get(path)
			}
			if p.StatusCode != http.StatusOK {
				t.Errorf("GET %s (htmx %v): %d", path, htmxToo, p.StatusCode)
			}
			p.Doc.Find(`form[method="post"]`).Each(func(_ int, f *goquery.Selection) {
				forms++
				if got := f.Find(`input[name="csrf_token"]`).AttrOr("value", ""); got != tok {
					t.Errorf("GET %s: the form posting to %s carries token %q", path, f.AttrOr("action", ""), got)
				}
			})
		}
	}
	if len(seen) < 14 || forms < 60 {
		t.Errorf("visited %d pages with %d forms; the walk missed some", len(seen), forms)
	}
}

func itoa(n int64) string { return strings.TrimPrefix(orgPath(n), "/orgs/") }
