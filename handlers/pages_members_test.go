package handlers_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"guildhall"
)

// TestOrganizationPageIsPaged: a large organization shows one page of its
// members, with a pager of cursors and a username search; open
// invitations come first. A link to a place the list no longer reaches
// says so; one made for another view of the list shows its start.
func TestOrganizationPageIsPaged(t *testing.T) {
	t.Parallel()
	env := newPageEnv(t)
	owner := env.user("alice")
	orgID := env.org(owner, "Big Guild")
	const members = guildhall.MembersPageSize + 12
	for i := range members {
		env.member(owner, orgID, env.user(fmt.Sprintf("m%03d", i)), guildhall.RoleMember)
	}
	env.user("newbie")
	if _, err := env.store.InviteUser(t.Context(), owner, orgID, "newbie", guildhall.RoleViewer); err != nil {
		t.Fatal(err)
	}
	v := env.visitor()
	v.login("alice")

	first := v.get(orgPath(orgID))
	rows := first.Doc.Find(`[data-testid="member"]`)
	if first.StatusCode != http.StatusOK || rows.Length() != guildhall.MembersPageSize {
		t.Fatalf("first page: %d, %d rows, want %d", first.StatusCode, rows.Length(), guildhall.MembersPageSize)
	}
	if got, _ := rows.First().Attr("data-username"); got != "newbie" {
		t.Fatalf("the first row is %q, want the open invitation of newbie", got)
	}
	if got := text(first.Doc.Find(`[data-testid="count-all"]`)); got != fmt.Sprint(members+2) {
		t.Fatalf("total %q, want %d", got, members+2)
	}
	if got := text(first.Doc.Find(`[data-testid="members-range"]`).First()); got != fmt.Sprintf("1–50 of %d", members+2) {
		t.Fatalf("range %q", got)
	}
	if first.Doc.Find(`[data-testid="members-pager-top"]`).Length() != 1 || first.Doc.Find(`[data-testid="members-pager-bottom"]`).Length() != 1 {
		t.Fatal("the pager is not both above and below the list")
	}
	next, ok := first.Doc.Find(`[data-testid="members-next"]`).Attr("href")
	if !ok || first.Doc.Find(`[data-testid="members-prev"]`).Length() != 0 {
		t.Fatalf("first page pager: next %q", next)
	}

	second := v.get(next)
	if n := second.Doc.Find(`[data-testid="member"]`).Length(); n != members+2-guildhall.MembersPageSize {
		t.Fatalf("second page has %d rows, want %d", n, members+2-guildhall.MembersPageSize)
	}
	if second.Doc.Find(`[data-testid="members-next"]`).Length() != 0 || second.Doc.Find(`[data-testid="members-prev"]`).Length() != 2 {
		t.Fatal("the last page links back (above and below the list) but not forward")
	}
	if got := text(second.Doc.Find(`[data-testid="members-range"]`).First()); got != fmt.Sprintf("51–%d of %d", members+2, members+2) {
		t.Fatalf("second page's range %q", got)
	}
	prev, _ := second.Doc.Find(`[data-testid="members-prev"]`).Attr("href")
	if back := v.get(prev); text(back.Doc.Find(`[data-testid="members-range"]`).First()) != fmt.Sprintf("1–50 of %d", members+2) {
		t.Fatalf("Previous leads to %q", text(back.Doc.Find(`[data-testid="members-range"]`).First()))
	}
	found := v.get(orgPath(orgID) + "?q=m05")
	var names []string
	found.Doc.Find(`[data-testid="member"]`).Each(func(_ int, s *goquery.Selection) {
		name, _ := s.Attr("data-username")
		names = append(names, name)
	})
	if fmt.Sprint(names) != "[m050 m051 m052 m053 m054 m055 m056 m057 m058 m059]" {
		t.Fatalf("search m05 found %v", names)
	}
	if q, _ := found.Doc.Find(`#member-search-q`).Attr("value"); q != "m05" {
		t.Fatalf("the search box holds %q, want the search kept", q)
	}
	none := v.get(orgPath(orgID) + "?q=%3Cb%3Ezzz")
	if got := text(none.Doc.Find(`[data-testid="members-none"]`)); got != "No member's username contains “<b>zzz”." || none.Doc.Find("b").Length() != 0 {
		t.Fatalf("an empty search says %q", got)
	}
	if p := v.get(orgPath(orgID) + "?cursor=not-a-cursor"); p.Doc.Find(`[data-testid="member"]`).Length() != guildhall.MembersPageSize || p.Doc.Find(`[data-testid="members-stale"]`).Length() != 1 {
		t.Fatal("a damaged cursor should show the first page, and say so")
	}
	// A link to a place past the end of the list (its members have left
	// since) says so, and links to the first page.
	for i := 38; i < members; i++ {
		if err := env.store.RemoveMember(t.Context(), owner, orgID, fmt.Sprintf("m%03d", i)); err != nil {
			t.Fatal(err)
		}
	}
	past := v.get(next)
	if got := text(past.Doc.Find(`[data-testid="members-out-of-range"]`)); got != "Nothing is left at this point of the list: members have left, or changed role or standing, since the link was made. Go to the first page." ||
		past.Doc.Find(`[data-testid="members-range"]`).Length() != 0 {
		t.Fatalf("past the end: %q", got)
	}
	if href, _ := past.Doc.Find(`[data-testid="members-out-of-range"] a`).Attr("href"); href != orgPath(orgID)+"#members" {
		t.Fatalf("the first page is %q", href)
	}
	// A cursor made for another order of the list shows the start of this one.
	other := v.get(strings.Replace(next, "?", "?sort=name&", 1))
	if other.Doc.Find(`[data-testid="members-stale"]`).Length() != 1 || other.Doc.Find(`[data-testid="member"]`).Length() != 40 {
		t.Fatalf("a cursor of another order: stale note %d, %d rows", other.Doc.Find(`[data-testid="members-stale"]`).Length(), other.Doc.Find(`[data-testid="member"]`).Length())
	}
}

// TestDashboardIsPaged: the dashboard shows a page of the user's
// organizations and one of their invitations, each with a link to the
// next; following one keeps the other list where it was.
func TestDashboardIsPaged(t *testing.T) {
	t.Parallel()
	const pageSize = 50 // the dashboard's
	env := newPageEnv(t, pageEnvOptions{orgRate: 1000})
	nora := env.user("nora")
	for i := range pageSize + 2 {
		env.org(nora, fmt.Sprintf("Guild %02d", i))
	}
	host := env.user("hugo")
	for _, name := range []string{"Alpha", "Beta"} {
		if _, err := env.store.InviteUser(t.Context(), host, env.org(host, name), "nora", guildhall.RoleMember); err != nil {
			t.Fatal(err)
		}
	}
	v := env.visitor()
	v.login("nora")
	orgs := func(p page) (names []string) {
		p.Doc.Find(`[data-testid="my-org"]`).Each(func(_ int, s *goquery.Selection) {
			name, _ := s.Attr("data-org")
			names = append(names, name)
		})
		return names
	}
	home := v.get("/")
	if got := orgs(home); len(got) != pageSize || got[0] != "Guild 00" || home.Doc.Find(`[data-testid="invitation"]`).Length() != 2 {
		t.Fatalf("the first page: %d organizations from %v, %d invitations", len(got), got[:1], home.Doc.Find(`[data-testid="invitation"]`).Length())
	}
	if home.Doc.Find(`[data-testid="orgs-first"]`).Length() != 0 || home.Doc.Find(`[data-testid="invitations-pager"]`).Length() != 0 {
		t.Fatal("the first page links back, or pages two invitations")
	}
	more, ok := home.Doc.Find(`[data-testid="orgs-more"]`).Attr("href")
	if !ok {
		t.Fatal("no link to more organizations")
	}
	next := v.get(more)
	if got := orgs(next); strings.Join(got, ",") != "Guild 50,Guild 51" || next.Doc.Find(`[data-testid="orgs-more"]`).Length() != 0 ||
		next.Doc.Find(`[data-testid="invitation"]`).Length() != 2 {
		t.Fatalf("the next page: %v", got)
	}
	if back, _ := next.Doc.Find(`[data-testid="orgs-first"]`).Attr("href"); back != "/" {
		t.Fatalf("back to the first page: %q", back)
	}
	if damaged := v.get("/?orgs=nonsense"); len(orgs(damaged)) != pageSize {
		t.Fatal("a damaged cursor should show the first page")
	}
}
