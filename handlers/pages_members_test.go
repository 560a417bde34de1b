package handlers_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"guildhall"
)

// TestOrganizationPageIsPaged: a large organization shows one page of its
// members, with a pager and a username search; open invitations come first.
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
	// A page past the end says so, and links to the last one.
	past := v.get(orgPath(orgID) + "?page=9")
	if got := text(past.Doc.Find(`[data-testid="members-out-of-range"]`)); got != "There is no page 9: this list has 2 pages. Go to the last page." ||
		past.Doc.Find(`[data-testid="members-range"]`).Length() != 0 {
		t.Fatalf("past the end: %q", got)
	}
	if href, _ := past.Doc.Find(`[data-testid="members-out-of-range"] a`).Attr("href"); href != orgPath(orgID)+"?page=2#members" {
		t.Fatalf("the last page is %q", href)
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
	if p := v.get(orgPath(orgID) + "?page=-3"); p.Doc.Find(`[data-testid="member"]`).Length() != guildhall.MembersPageSize {
		t.Fatal("a nonsense page number should show the first page")
	}
}
