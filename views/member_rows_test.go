package views

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/a-h/templ"

	"guildhall"
)

// memberRowsView is an organization with a name that needs escaping
// everywhere it appears, and a row for every role, standing and sender
// (none, the viewer, another), plus the viewer's own row.
func memberRowsView(viewer guildhall.Role) OrganizationView {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	v := OrganizationView{Org: guildhall.Organization{ID: 7, Name: `Acme <b>&</b> "Co" 'x'`}, Role: viewer, Me: "olivia", Now: now}
	for i, r := range guildhall.Roles {
		for j, expires := range []time.Duration{0, 50 * time.Hour, -time.Hour} { // active, invited, expired
			m := guildhall.Membership{OrganizationID: 7, Username: fmt.Sprintf("user.%d-%d_x", i, j), Role: r,
				Status: guildhall.StatusActive, Sender: []string{"", "olivia", "bob"}[(i+j)%3], Created: now.Add(-time.Duration(i+j) * time.Hour)}
			if expires == 0 {
				m.Accepted = now.Add(-time.Duration(i*7+j) * time.Minute)
			} else {
				m.Status, m.Expires = guildhall.StatusPending, now.Add(expires)
			}
			v.Members = append(v.Members, m)
		}
	}
	v.Members = append(v.Members, guildhall.Membership{OrganizationID: 7, Username: "olivia", Role: viewer, Status: guildhall.StatusActive, Accepted: now})
	return v
}

// outerHTML renders c and returns its first element as the HTML parser
// reads it back: markup compared so is compared as a browser sees it.
func outerHTML(t *testing.T, c templ.Component) string {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Render(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	doc, err := goquery.NewDocumentFromReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return selectionHTML(t, doc.Find("body").Children().First())
}

func selectionHTML(t *testing.T, s *goquery.Selection) string {
	t.Helper()
	if s.Length() == 0 {
		return "(none)"
	}
	h, err := goquery.OuterHtml(s)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestMemberRowsMatchTheirComponents holds the member list's rows, written
// in Go for speed (memberRows), to the templ components whose markup they
// repeat, for every viewer role and every kind of row, and checks that
// every value in them reads back as given: escaped, never markup.
func TestMemberRowsMatchTheirComponents(t *testing.T) {
	const csrf = `tok<en>&"'`
	for _, viewer := range guildhall.Roles {
		t.Run(string(viewer), func(t *testing.T) {
			v := memberRowsView(viewer)
			var buf bytes.Buffer
			if err := MembersSection(csrf, v, false).Render(context.Background(), &buf); err != nil {
				t.Fatal(err)
			}
			doc, err := goquery.NewDocumentFromReader(&buf)
			if err != nil {
				t.Fatal(err)
			}
			rows := doc.Find(`tr[data-testid="member"]`)
			if rows.Length() != len(v.Members) {
				t.Fatalf("%d rows, want %d", rows.Length(), len(v.Members))
			}
			controls := map[string]int{}
			rows.Each(func(i int, row *goquery.Selection) {
				m := v.Members[i]
				if got, _ := row.Attr("data-username"); got != m.Username {
					t.Errorf("row %d is %q, want %q", i, got, m.Username)
				}
				if got, _ := row.Attr("data-status"); got != statusText(m, v.Now) {
					t.Errorf("%s: data-status %q, want %q", m.Username, got, statusText(m, v.Now))
				}
				// Each part of the row against its component, or its
				// absence where the viewer may not act.
				want := func(sel string, c templ.Component) {
					t.Helper()
					if got, want := selectionHTML(t, row.Find(sel).First()), outerHTML(t, c); got != want {
						t.Errorf("%s, %s:\n got %s\nwant %s", m.Username, sel, got, want)
					}
				}
				absent := func(sel string) {
					t.Helper()
					if row.Find(sel).Length() != 0 {
						t.Errorf("%s: %s is shown to a %s", m.Username, sel, viewer)
					}
				}
				if v.manages(m) {
					controls["role"]++
					want(`select option[selected]`, templ.Raw(fmt.Sprintf(`<option value="%s" selected>%s</option>`, m.Role, m.Role)))
					if n := row.Find("select option").Length(); n != len(guildhall.GrantableRoles(viewer)) {
						t.Errorf("%s: %d roles offered, want %d", m.Username, n, len(guildhall.GrantableRoles(viewer)))
					}
					want(`a[data-testid="remove"]`, ConfirmLink(MemberURL(7, m.Username, "remove"), "Remove", "remove", "Remove "+m.Username))
					if got, _ := row.Find(`form.role-form`).Attr("action"); got != MemberURL(7, m.Username, "role") {
						t.Errorf("%s: the role form posts to %q", m.Username, got)
					}
				} else {
					absent(`select`)
					absent(`a[data-testid="remove"]`)
					want(`span[data-testid="role"]`, RoleBadge(m.Role))
				}
				if v.canRevoke(m) {
					controls["revoke"]++
					want(`a[data-testid="revoke"]`, ConfirmLink(InvitationURL(7, m.Username, "revoke"), "Revoke", "revoke", "Revoke the invitation of "+m.Username))
					if got, _ := row.Find(`button[data-testid="resend"]`).Closest("form").Attr("hx-post"); got != InvitationURL(7, m.Username, "resend") {
						t.Errorf("%s: resend posts to %q", m.Username, got)
					}
				} else {
					absent(`a[data-testid="revoke"]`)
					absent(`button[data-testid="resend"]`)
				}
				if m.Username == v.Me {
					controls["leave"]++
					want(`a[data-testid="leave"]`, ConfirmLink(OrgActionURL(7, "leave"), "Leave", "leave", "Leave "+v.Org.Name))
				} else {
					absent(`a[data-testid="leave"]`)
				}
				row.Find("form").Each(func(_ int, f *goquery.Selection) {
					want(`input[name="`+CSRFField+`"]`, CSRFInput(csrf))
					if got, _ := f.Find(`input[name="` + CSRFField + `"]`).Attr("value"); got != csrf {
						t.Errorf("%s: a form carries the token %q, want %q", m.Username, got, csrf)
					}
				})
				if m.Open() {
					want(`td[data-testid="member-joined"] span`, Blank("not yet"))
					want(`td[data-testid="member-expires"] time`, Until(v.Now, m.Expires))
				} else {
					want(`td[data-testid="member-joined"] time`, Time(m.Accepted))
					want(`td[data-testid="member-expires"] span`, Blank("does not expire"))
				}
				if m.Sender == "" {
					want(`td[data-testid="member-sender"] span`, Blank("nobody"))
				} else if got := strings.TrimSpace(row.Find(`td[data-testid="member-sender"]`).Text()); got != m.Sender {
					t.Errorf("%s: sent by %q, want %q", m.Username, got, m.Sender)
				}
			})
			// The view has rows of each kind: the checks above ran.
			if controls["leave"] != 1 || guildhall.CanInvite(viewer) && controls["revoke"] == 0 || viewer == guildhall.RoleOwner && controls["role"] == 0 {
				t.Errorf("controls shown %v to a %s", controls, viewer)
			}
		})
	}
}
