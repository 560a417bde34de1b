package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"guildhall"
)

// orgWorld is an organization with one member of each role, and bob, who
// belongs to nothing yet.
type orgWorld struct {
	env                          *pageEnv
	owner, admin, member, viewer guildhall.Actor
	bob                          guildhall.Actor
	orgID                        int64
}

func newOrgWorld(t *testing.T, orgName string) *orgWorld {
	env := newPageEnv(t)
	w := &orgWorld{env: env, owner: env.user("alice"), admin: env.user("adam"), member: env.user("mary"), viewer: env.user("vera"), bob: env.user("bob")}
	w.orgID = env.org(w.owner, orgName)
	env.member(w.owner, w.orgID, w.admin, guildhall.RoleAdmin)
	env.member(w.owner, w.orgID, w.member, guildhall.RoleMember)
	env.member(w.admin, w.orgID, w.viewer, guildhall.RoleViewer)
	return w
}

func TestDashboard(t *testing.T) {
	t.Parallel()
	w := newOrgWorld(t, "Acme")
	other := w.env.org(w.bob, "Bobcorp")
	if _, err := w.env.store.InviteUser(context.Background(), w.bob, other, "mary", guildhall.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	v := w.env.visitor()
	v.login("mary")
	p := v.get("/")
	if p.StatusCode != http.StatusOK {
		t.Fatalf("GET /: %d", p.StatusCode)
	}
	if got := text(p.Doc.Find(`[data-testid="nav-user"]`)); got != "mary" {
		t.Errorf("nav shows %q", got)
	}
	row := p.Doc.Find(`[data-testid="my-org"][data-org="Acme"]`)
	if row.Length() != 1 || text(row.Find(`[data-testid="role"]`)) != "member" {
		t.Errorf("my organizations: %q", text(p.Doc.Find(`[data-testid="my-orgs"]`)))
	}
	if href, _ := row.Find("a").Attr("href"); href != orgPath(w.orgID) {
		t.Errorf("organization link %q", href)
	}
	inv := p.Doc.Find(`[data-testid="invitation"][data-org="Bobcorp"]`)
	if inv.Length() != 1 {
		t.Fatalf("invitations: %q", text(p.Doc.Find("section").Last()))
	}
	got := text(inv)
	for _, want := range []string{"Bobcorp", "admin", "bob", "in 7 days", "Accept", "Decline"} {
		if !strings.Contains(got, want) {
			t.Errorf("invitation row %q lacks %q", got, want)
		}
	}
	// Accept from the dashboard: same ResolveInvitation as the API.
	action, _ := inv.Find(`form:has([data-testid="accept"])`).Attr("action")
	p = v.post(action, url.Values{"csrf_token": {v.token("/")}})
	if p.StatusCode != http.StatusSeeOther || p.Header.Get("Location") != orgPath(other) {
		t.Fatalf("accept: %d %q", p.StatusCode, p.Header.Get("Location"))
	}
	p = v.get(orgPath(other))
	if got := text(p.Doc.Find(`[data-testid="status"]`)); got != "Welcome to Bobcorp: you joined as admin." {
		t.Errorf("flash after accept: %q", got)
	}
	if !slices.Contains(w.env.memberships(w.bob, other), "mary:admin:active") {
		t.Errorf("after accept: %v", w.env.memberships(w.bob, other))
	}
	// Accepting twice is refused with the service's message.
	p = v.post(action, url.Values{"csrf_token": {v.token("/")}})
	if p.StatusCode != http.StatusSeeOther {
		t.Fatalf("second accept: %d", p.StatusCode)
	}
	if got := text(v.get("/").Doc.Find(`.status.error`)); got != "You are already a member of Bobcorp." {
		t.Errorf("second accept flash: %q", got)
	}

	// Decline: asked first, then the invitation goes, and the dashboard
	// says so beside the invitations.
	third := w.env.org(w.bob, "Thirdco")
	if _, err := w.env.store.InviteUser(context.Background(), w.bob, third, "mary", guildhall.RoleViewer); err != nil {
		t.Fatal(err)
	}
	p = v.get("/")
	if p.Doc.Find(`[data-testid="decline-all"]`).Length() != 0 {
		t.Error("Decline all is offered for a single invitation")
	}
	action, _ = p.Doc.Find(`[data-testid="invitation"][data-org="Thirdco"] [data-testid="decline"]`).Attr("href")
	if q := v.get(action); q.StatusCode != http.StatusOK || !strings.Contains(text(q.Doc.Find("h1")), "Thirdco") {
		t.Fatalf("decline confirmation: %d %q", q.StatusCode, text(q.Doc.Find("h1")))
	}
	p = v.post(action, url.Values{"csrf_token": {v.token("/")}})
	if p.StatusCode != http.StatusSeeOther || p.Header.Get("Location") != "/#invitations" {
		t.Fatalf("decline: %d %q", p.StatusCode, p.Header.Get("Location"))
	}
	p = v.get("/")
	if text(p.Doc.Find(`#invitations-status`)) != "Invitation declined." || p.Doc.Find(`[data-testid="invitation"]`).Length() != 0 {
		t.Errorf("after decline: %q", text(p.Doc.Find("main")))
	}
	if slices.Contains(w.env.memberships(w.bob, third), "mary:viewer:pending") {
		t.Error("the declined invitation is still there")
	}
}

func TestOrganizationPageByRole(t *testing.T) {
	t.Parallel()
	w := newOrgWorld(t, "Acme")
	if _, err := w.env.store.InviteUser(context.Background(), w.admin, w.orgID, "bob", guildhall.RoleMember); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		user      string
		roles     []string // offered by the invite form; nil: no form
		audit     bool
		revokeBob bool
	}{
		{"alice", []string{"owner", "admin", "member", "viewer"}, true, true},
		{"adam", []string{"member", "viewer"}, true, true},
		{"mary", []string{"viewer"}, false, false},
		{"vera", nil, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			v := w.env.visitor()
			v.login(tt.user)
			p := v.get(orgPath(w.orgID))
			if p.StatusCode != http.StatusOK || text(p.Doc.Find(`[data-testid="org-name"]`)) != "Acme" {
				t.Fatalf("GET org: %d %q", p.StatusCode, text(p.Doc.Find("h1")))
			}
			var roles []string
			p.Doc.Find(`#invite select[name="member_class"] option`).Each(func(_ int, s *goquery.Selection) {
				roles = append(roles, s.AttrOr("value", ""))
			})
			if !slices.Equal(roles, tt.roles) {
				t.Errorf("invite form offers %v, want %v", roles, tt.roles)
			}
			if hasForm := p.Doc.Find(`form[data-testid="invite-form"]`).Length() == 1; hasForm != (tt.roles != nil) {
				t.Errorf("invite form present = %v", hasForm)
			}
			if tt.roles != nil {
				if p.Doc.Find(`label[for="invite-username"]`).Length() != 1 || p.Doc.Find(`label[for="invite-role"]`).Length() != 1 {
					t.Error("invite fields lack labels")
				}
				if p.Doc.Find(`input[name="username_to_invite"]`).Length() != 1 {
					t.Error("no username_to_invite field")
				}
			}
			if got := p.Doc.Find(`[data-testid="audit-section"]`).Length() == 1; got != tt.audit {
				t.Errorf("audit trail shown = %v, want %v", got, tt.audit)
			}
			// The members table: role, status, sender and expiry for the pending one.
			rows := map[string]string{}
			p.Doc.Find(`tr[data-testid="member"]`).Each(func(_ int, s *goquery.Selection) {
				rows[s.AttrOr("data-username", "")] = text(s)
			})
			if len(rows) != 5 {
				t.Fatalf("members table has %d rows: %v", len(rows), rows)
			}
			bob := p.Doc.Find(`tr[data-username="bob"]`)
			if text(bob.Find(`[data-testid="role"]`)) != "member" || text(bob.Find(`[data-testid="member-status"]`)) != "invited" ||
				text(bob.Find(`[data-testid="member-sender"]`)) != "adam" || text(bob.Find(`[data-testid="member-expires"]`)) != "in 7 days" {
				t.Errorf("pending row: %q", text(bob))
			}
			vera := p.Doc.Find(`tr[data-username="vera"]`)
			if text(vera.Find(`[data-testid="member-status"]`)) != "active" || vera.Find(`option[selected], [data-testid="role"]`).AttrOr("value", text(vera.Find(`[data-testid="role"]`))) != "viewer" {
				t.Errorf("active row: %q", text(vera))
			}
			if got := bob.Find(`[data-testid="revoke"]`).Length() == 1; got != tt.revokeBob {
				t.Errorf("revoke button for bob = %v, want %v", got, tt.revokeBob)
			}
		})
	}
	// An outsider is refused, with an HTML page.
	v := w.env.visitor()
	v.login("bob")
	p := v.get(orgPath(w.orgID))
	if p.StatusCode != http.StatusForbidden || text(p.Doc.Find(`[data-testid="error-message"]`)) != "You are not a member of organization "+strconv.FormatInt(w.orgID, 10)+"." {
		t.Errorf("outsider: %d %q", p.StatusCode, text(p.Doc.Find(`[data-testid="error-message"]`)))
	}
	if p := v.get("/orgs/999"); p.StatusCode != http.StatusNotFound {
		t.Errorf("unknown organization: %d", p.StatusCode)
	}
	if p := v.get("/orgs/abc"); p.StatusCode != http.StatusNotFound {
		t.Errorf("non-numeric organization: %d", p.StatusCode)
	}
}

func TestOrganizationNameIsEscaped(t *testing.T) {
	t.Parallel()
	const evil = `<script>alert(1)</script>`
	env := newPageEnv(t)
	owner := env.user("alice")
	v := env.visitor()
	v.login("alice")
	// Created through the page, as a person would.
	p := v.post("/orgs", url.Values{"csrf_token": {v.token("/orgs/new")}, "organization_name": {evil}, "organization_description": {`"><img src=x onerror=alert(2)>`}})
	if p.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d %s", p.StatusCode, p.Body)
	}
	loc := p.Header.Get("Location")
	orgID, _ := strconv.ParseInt(strings.TrimPrefix(loc, "/orgs/"), 10, 64)
	if _, err := env.store.InviteUser(context.Background(), owner, orgID, "alice", guildhall.RoleViewer); err == nil {
		t.Fatal("setup: expected a conflict")
	}
	for _, path := range []string{loc, "/"} {
		p := v.get(path)
		if strings.Contains(p.Body, evil) || strings.Contains(p.Body, "<img src=x") {
			t.Fatalf("GET %s: the name is not escaped", path)
		}
		if !strings.Contains(p.Body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("GET %s: the escaped name is missing", path)
		}
		if p.Doc.Find("script:not([src])").Length() != 0 {
			t.Errorf("GET %s: an inline script made it into the page", path)
		}
	}
	if got := text(v.get(loc).Doc.Find(`[data-testid="org-name"]`)); got != evil {
		t.Errorf("the name reads %q", got)
	}
}

func TestCreateOrganizationPage(t *testing.T) {
	t.Parallel()
	_, v := aliceSignedIn(t)
	p := v.get("/orgs/new")
	if p.StatusCode != http.StatusOK || p.Doc.Find(`label[for="org-name"]`).Length() != 1 {
		t.Fatalf("GET /orgs/new: %d", p.StatusCode)
	}
	tok := v.token("/orgs/new")
	p = v.post("/orgs", url.Values{"csrf_token": {tok}, "organization_name": {"   "}, "organization_description": {"Kept."}})
	if p.StatusCode != http.StatusSeeOther || p.Header.Get("Location") != "/orgs/new#new-org" {
		t.Fatalf("empty name: %d %q", p.StatusCode, p.Header.Get("Location"))
	}
	p = v.get("/orgs/new")
	if text(p.Doc.Find(`[data-testid="form-error"]`)) != "Organization name must not be empty." || text(p.Doc.Find("#org-description")) != "Kept." {
		t.Errorf("empty name: %q %q", text(p.Doc.Find(`[data-testid="form-error"]`)), text(p.Doc.Find("#org-description")))
	}
	p = v.post("/orgs", url.Values{"csrf_token": {tok}, "organization_name": {"Guild of Makers"}, "organization_description": {"We make things."}})
	if p.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d", p.StatusCode)
	}
	// A HEAD first (a link checker, say) shows no page, so it leaves the
	// flash message for the GET.
	req, _ := http.NewRequest(http.MethodHead, v.env.srv.URL+p.Header.Get("Location"), nil)
	if head := v.do(req); head.StatusCode != http.StatusOK || head.Body != "" {
		t.Fatalf("HEAD: %d %q", head.StatusCode, head.Body)
	}
	p = v.get(p.Header.Get("Location"))
	if text(p.Doc.Find(`[data-testid="org-name"]`)) != "Guild of Makers" || !strings.Contains(text(p.Doc.Find("#invite-status")), "Created Guild of Makers") {
		t.Errorf("new organization page: %q %q", text(p.Doc.Find("h1")), text(p.Doc.Find("#status")))
	}
	if text(p.Doc.Find(`tr[data-username="alice"] [data-testid="role"]`)) != "owner" {
		t.Error("the founder is not listed as owner")
	}
}
