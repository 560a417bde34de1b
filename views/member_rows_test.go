package views

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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
	// Usernames and senders are built here, not validated: some hold
	// every character HTML escapes, so that the escaping of each place
	// they appear is tested, whatever the rule on usernames allows.
	for i, r := range guildhall.Roles {
		for j, expires := range []time.Duration{0, 50 * time.Hour, -time.Hour} { // active, invited, expired
			m := guildhall.Membership{OrganizationID: 7, Username: fmt.Sprintf([]string{"user.%d-%d_x", `ev<i>l&"'%d%d`}[(i+j)%2], i, j), Role: r,
				Status: guildhall.StatusActive, Sender: []string{"", "olivia", `s<b>&"'nd`}[(i+j)%3], Created: now.Add(-time.Duration(i+j) * time.Hour)}
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

// blank is the markup the rows must write for an empty cell: a dash to
// the eye, what it means to a screen reader.
func blank(meaning string) templ.Component {
	return templ.Raw(`<span class="muted" aria-hidden="true">—</span><span class="visually-hidden">` + meaning + `</span>`)
}

// componentHTML renders c and returns its top-level elements as the
// HTML parser reads them back: markup compared so is compared as a
// browser sees it.
func componentHTML(t *testing.T, c templ.Component) []string {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Render(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	doc, err := goquery.NewDocumentFromReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	doc.Find("body").Children().Each(func(_ int, s *goquery.Selection) { out = append(out, selectionHTML(t, s)) })
	return out
}

// siblingsHTML returns the first element of s and the n-1 elements after
// it, read back as componentHTML reads a component's.
func siblingsHTML(t *testing.T, s *goquery.Selection, n int) []string {
	t.Helper()
	var out []string
	for s = s.First(); s.Length() > 0 && len(out) < n; s = s.Next() {
		out = append(out, selectionHTML(t, s))
	}
	return out
}

func selectionHTML(t *testing.T, s *goquery.Selection) string {
	t.Helper()
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
				wantIn := func(in *goquery.Selection, sel string, c templ.Component) {
					t.Helper()
					want := componentHTML(t, c)
					if got := siblingsHTML(t, in.Find(sel), len(want)); !slices.Equal(got, want) {
						t.Errorf("%s, %s:\n got %q\nwant %q", m.Username, sel, got, want)
					}
				}
				want := func(sel string, c templ.Component) { t.Helper(); wantIn(row, sel, c) }
				attr := func(sel, name, want string) {
					t.Helper()
					if got, ok := row.Find(sel).Attr(name); !ok || got != want {
						t.Errorf("%s: %s's %s is %q, want %q", m.Username, sel, name, got, want)
					}
				}
				if got, _ := row.Attr("id"); got != "member-"+m.Username {
					t.Errorf("%s: the row's id is %q", m.Username, got)
				}
				if you := row.Find(`th small`); (m.Username == v.Me) != (you.Length() == 1 && you.Text() == "(you)") {
					t.Errorf("%s: (you) is %q for %s", m.Username, you.Text(), v.Me)
				}
				status := row.Find(`[data-testid="member-status"]`)
				if status.Text() != statusText(m, v.Now) || status.HasClass("badge") != m.Open() {
					t.Errorf("%s: the status reads %q (a badge: %v)", m.Username, status.Text(), status.HasClass("badge"))
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
					attr(`form.role-form`, "action", MemberURL(7, m.Username, "role"))
					attr(`form.role-form`, "hx-post", MemberURL(7, m.Username, "role"))
					attr(`form.role-form`, "hx-target", "#members")
					attr(`button[data-testid="role-submit"]`, "aria-label", "Change the role of "+m.Username)
					attr(`select[data-testid="role-select"]`, "id", "role-"+m.Username)
				} else {
					absent(`select`)
					absent(`a[data-testid="remove"]`)
					want(`span[data-testid="role"]`, RoleBadge(m.Role))
				}
				if v.canRevoke(m) {
					controls["revoke"]++
					want(`a[data-testid="revoke"]`, ConfirmLink(InvitationURL(7, m.Username, "revoke"), "Revoke", "revoke", "Revoke the invitation of "+m.Username))
					attr(`form:has(button[data-testid="resend"])`, "action", InvitationURL(7, m.Username, "resend"))
					attr(`form:has(button[data-testid="resend"])`, "hx-post", InvitationURL(7, m.Username, "resend"))
					attr(`form:has(button[data-testid="resend"])`, "hx-target", "#members")
					attr(`button[data-testid="resend"]`, "aria-label", "Resend the invitation of "+m.Username)
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
					wantIn(f, `input[name="`+CSRFField+`"]`, CSRFInput(csrf))
					if got, _ := f.Find(`input[name="` + CSRFField + `"]`).Attr("value"); got != csrf {
						t.Errorf("%s: a form carries the token %q, want %q", m.Username, got, csrf)
					}
				})
				if m.Open() {
					want(`td[data-testid="member-joined"] span`, blank("not yet")) // both its spans
					want(`td[data-testid="member-expires"] time`, Until(v.Now, m.Expires))
				} else {
					want(`td[data-testid="member-joined"] time`, Time(m.Accepted))
					want(`td[data-testid="member-expires"] span`, blank("does not expire"))
				}
				if m.Sender == "" {
					want(`td[data-testid="member-sender"] span`, blank("nobody"))
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

var updateGolden = flag.Bool("update", false, "rewrite testdata/member_rows from the rows as now written")

// TestMemberRowsGolden holds the member rows, for every viewer role, to
// the bytes in testdata/member_rows (a row a line). The files were written
// by the templ component these rows replaced (views/organization.templ
// before memberRows), so the rows are what it wrote, byte for byte. A
// deliberate change to the markup rewrites them: go test ./views -run
// TestMemberRowsGolden -update, then read the diff.
func TestMemberRowsGolden(t *testing.T) {
	for _, viewer := range guildhall.Roles {
		t.Run(string(viewer), func(t *testing.T) {
			// Rendered twice, the same component writes the same bytes.
			var buf, again bytes.Buffer
			rows := memberRows(`tok<en>&"'`, memberRowsView(viewer))
			for _, w := range []*bytes.Buffer{&buf, &again} {
				if err := rows.Render(context.Background(), w); err != nil {
					t.Fatal(err)
				}
			}
			if buf.String() != again.String() {
				t.Error("rendered twice, the rows differ")
			}
			got := strings.ReplaceAll(buf.String(), "</tr><tr ", "</tr>\n<tr ") + "\n"
			path := filepath.Join("testdata", "member_rows", string(viewer)+".html")
			if *updateGolden {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			gotRows, wantRows := strings.Split(got, "\n"), strings.Split(string(want), "\n")
			for i := range max(len(gotRows), len(wantRows)) {
				g, w := "(none)", "(none)"
				if i < len(gotRows) {
					g = gotRows[i]
				}
				if i < len(wantRows) {
					w = wantRows[i]
				}
				if g != w {
					t.Errorf("row %d:\n got %s\nwant %s", i+1, g, w)
				}
			}
		})
	}
}
