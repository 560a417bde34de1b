package db_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"guildhall"
	"guildhall/db"
)

func TestListMembersPage(t *testing.T) {
	ctx := context.Background()
	d, _ := MustOpenDB(t)
	owner := MustCreateUser(t, d, "olivia")
	org := MustCreateOrg(t, d, owner, "Acme")
	roles := []guildhall.Role{guildhall.RoleAdmin, guildhall.RoleMember, guildhall.RoleViewer}
	for i := range 23 {
		u := MustCreateUser(t, d, fmt.Sprintf("user%02d", i))
		MustJoin(t, d, owner, org, u, roles[i%3], i%4 == 0)
	}
	all, err := d.FetchOrganizationMembers(ctx, owner, org)
	if err != nil {
		t.Fatal(err)
	}
	names := func(ms []guildhall.Membership) string {
		var out []string
		for _, m := range ms {
			out = append(out, m.Username)
		}
		return strings.Join(out, ",")
	}
	// Pages walk the full list in its order.
	var walked []guildhall.Membership
	for offset := 0; offset < len(all); offset += 10 {
		page, err := d.ListMembersPage(ctx, owner, org, guildhall.MembersQuery{Search: "", Offset: offset, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != len(all) || page.Offset != offset || page.Limit != 10 {
			t.Fatalf("page at %d: total %d offset %d limit %d", offset, page.Total, page.Offset, page.Limit)
		}
		walked = append(walked, page.Members...)
	}
	if names(walked) != names(all) {
		t.Fatalf("pages give %s\nfull list is %s", names(walked), names(all))
	}
	// A search filters by username fragment, case-insensitively, and counts the matches.
	page, err := d.ListMembersPage(ctx, owner, org, guildhall.MembersQuery{Search: " USER1", Offset: 0, Limit: 0})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 10 || len(page.Members) != 10 || page.Limit != guildhall.MembersPageSize {
		t.Fatalf("search user1: total %d, %d rows, limit %d", page.Total, len(page.Members), page.Limit)
	}
	for _, m := range page.Members {
		if !strings.HasPrefix(m.Username, "user1") {
			t.Fatalf("search user1 found %s", m.Username)
		}
	}
	// LIKE's wildcards in a search are literal characters.
	for _, search := range []string{"%", "_", `\`} {
		if page, err := d.ListMembersPage(ctx, owner, org, guildhall.MembersQuery{Search: search, Offset: 0, Limit: 0}); err != nil || page.Total != 0 {
			t.Fatalf("search %q: total %d, err %v; want no match", search, page.Total, err)
		}
	}
	for _, c := range []struct {
		name          string
		offset, limit int
		search        string
	}{
		{"negative offset", -1, 10, ""},
		{"negative limit", 0, -1, ""},
		{"limit over the maximum", 0, guildhall.MembersPageMaxSize + 1, ""},
		{"search too long", 0, 10, strings.Repeat("a", guildhall.MemberSearchMaxLen+1)},
	} {
		_, err := d.ListMembersPage(ctx, owner, org, guildhall.MembersQuery{Search: c.search, Offset: c.offset, Limit: c.limit})
		if guildhall.ErrorCode(err) != guildhall.EINVALID {
			t.Errorf("%s: %v, want invalid_request", c.name, err)
		}
	}
	outsider := MustCreateUser(t, d, "oscar")
	_, err = d.ListMembersPage(ctx, outsider, org, guildhall.MembersQuery{Search: "", Offset: 0, Limit: 10})
	wantCode(t, err, guildhall.EFORBIDDEN)
	_, err = d.ListMembersPage(ctx, owner, org+100, guildhall.MembersQuery{Search: "", Offset: 0, Limit: 10})
	wantCode(t, err, guildhall.ENOTFOUND)
}

// TestMembersPageFilters: the standing and role filters, each count beside
// them, the orders, expired invitations for owners and admins only, and a
// page past the end.
func TestMembersPageFilters(t *testing.T) {
	ctx := context.Background()
	w := newAcme(t, db.Options{})
	// pete's invitation (as member) expires; then vera is invited as viewer.
	w.clk.Advance(7*24*time.Hour + time.Second)
	MustCreateUser(t, w.d, "vera")
	if _, err := w.d.InviteUser(ctx, w.admin, w.org, "vera", guildhall.RoleViewer); err != nil {
		t.Fatal(err)
	}
	list := func(a guildhall.Actor, q guildhall.MembersQuery) (string, guildhall.MembersPage) {
		t.Helper()
		page, err := w.d.ListMembersPage(ctx, a, w.org, q)
		if err != nil {
			t.Fatalf("%+v: %v", q, err)
		}
		var names []string
		for _, m := range page.Members {
			names = append(names, m.Username)
		}
		return strings.Join(names, ","), page
	}
	for _, c := range []struct {
		q     guildhall.MembersQuery
		names string
	}{
		{guildhall.MembersQuery{}, "vera,olivia,adam,mia,vic"},
		{guildhall.MembersQuery{Status: guildhall.MembersAll}, "pete,vera,olivia,adam,mia,vic"},
		{guildhall.MembersQuery{Status: guildhall.MembersActive}, "olivia,adam,mia,vic"},
		{guildhall.MembersQuery{Status: guildhall.MembersInvited}, "vera"},
		{guildhall.MembersQuery{Status: guildhall.MembersExpired}, "pete"},
		{guildhall.MembersQuery{Status: guildhall.MembersAll, Role: guildhall.RoleMember}, "pete,mia"},
		{guildhall.MembersQuery{Status: guildhall.MembersAll, Sort: guildhall.SortByName}, "adam,mia,olivia,pete,vera,vic"},
		{guildhall.MembersQuery{Sort: guildhall.SortByJoined}, "vera,adam,mia,olivia,vic"},
		{guildhall.MembersQuery{Status: guildhall.MembersAll, Search: "v"}, "vera,olivia,vic"},
	} {
		if got, page := list(w.owner, c.q); got != c.names || page.Total != len(page.Members) {
			t.Errorf("%+v: %s (total %d), want %s", c.q, got, page.Total, c.names)
		}
	}
	// The counts beside each filter apply the other filter.
	_, page := list(w.admin, guildhall.MembersQuery{Status: guildhall.MembersAll, Role: guildhall.RoleMember})
	if got := fmt.Sprint(page.StandingCounts, page.RoleCounts); got != "map[active:1 expired:1] map[admin:1 member:2 owner:1 viewer:2]" {
		t.Errorf("counts as an admin: %s", got)
	}
	// To a member, expired invitations do not exist: not listed, not counted.
	got, page := list(w.member, guildhall.MembersQuery{})
	if got != "vera,olivia,adam,mia,vic" || fmt.Sprint(page.StandingCounts) != "map[active:4 invited:1]" {
		t.Errorf("a member's list: %s %v", got, page.StandingCounts)
	}
	for _, f := range []guildhall.MemberFilter{guildhall.MembersExpired, guildhall.MembersAll} {
		_, err := w.d.ListMembersPage(ctx, w.member, w.org, guildhall.MembersQuery{Status: f})
		wantCode(t, err, guildhall.EFORBIDDEN)
	}
	for _, q := range []guildhall.MembersQuery{{Status: "pending"}, {Sort: "age"}, {Role: "boss"}} {
		_, err := w.d.ListMembersPage(ctx, w.owner, w.org, q)
		wantCode(t, err, guildhall.EINVALID)
	}
	// A page past the end is empty and says so.
	_, page = list(w.owner, guildhall.MembersQuery{Offset: 50, Limit: 50})
	if len(page.Members) != 0 || !page.OutOfRange() || page.Total != 5 {
		t.Errorf("past the end: %d rows, out of range %v, total %d", len(page.Members), page.OutOfRange(), page.Total)
	}
}

// listWorld is an organization with a bit of everything a member list
// orders and filters: every role, active members who joined at different
// times (some at the same second), open invitations and expired ones.
type listWorld struct {
	d     *db.DB
	clk   *clock
	owner guildhall.Actor
	org   int64
}

func newListWorld(t *testing.T) *listWorld {
	t.Helper()
	d, clk := MustOpenDB(t)
	w := &listWorld{d: d, clk: clk, owner: MustCreateUser(t, d, "olivia")}
	w.org = MustCreateOrg(t, d, w.owner, "Acme")
	roles := []guildhall.Role{guildhall.RoleAdmin, guildhall.RoleMember, guildhall.RoleViewer, guildhall.RoleOwner, guildhall.RoleMember}
	// Names out of alphabetical order of joining; some join together.
	names := []string{"kim", "bea", "zoe", "al", "max", "eve", "dan", "lu", "ian", "gus", "cy", "fay", "hal", "jo"}
	for i, name := range names {
		u := MustCreateUser(t, d, name)
		MustJoin(t, d, w.owner, w.org, u, roles[i%len(roles)], i%4 == 3) // every fourth stays invited
		if i%3 == 0 {
			clk.Advance(time.Minute)
		}
	}
	// These invitations expire; then two more are sent.
	for i, name := range []string{"exa", "exb", "exc"} {
		MustCreateUser(t, d, name)
		if _, err := d.InviteUser(context.Background(), w.owner, w.org, name, roles[i]); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(8 * 24 * time.Hour)
	for i, name := range []string{"new1", "new2"} {
		MustCreateUser(t, d, name)
		if _, err := d.InviteUser(context.Background(), w.owner, w.org, name, roles[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// expected is the list q asks for, filtered and ordered here from every
// row, by the rules as the docs state them, to hold the service's keyset
// reading to.
func (w *listWorld) expected(t *testing.T, all []guildhall.Membership, q guildhall.MembersQuery) []string {
	return expectedList(all, q, w.clk.Now())
}

// expectedList is the list q asks for out of all at now (see expected).
func expectedList(all []guildhall.Membership, q guildhall.MembersQuery, now time.Time) []string {
	var kept []guildhall.Membership
	for _, m := range all {
		standing := guildhall.MembersActive
		if m.Expired(now) {
			standing = guildhall.MembersExpired
		} else if m.Open() {
			standing = guildhall.MembersInvited
		}
		if q.Status.Includes(standing) && (q.Role == "" || m.Role == q.Role) && strings.Contains(m.Username, q.Search) {
			kept = append(kept, m)
		}
	}
	joined := func(m guildhall.Membership) time.Time {
		if m.Open() {
			return m.Created
		}
		return m.Accepted
	}
	sort.SliceStable(kept, func(i, j int) bool {
		a, b := kept[i], kept[j]
		switch q.Sort {
		case guildhall.SortByName:
			return a.Username < b.Username
		case guildhall.SortByJoined:
			if !joined(a).Equal(joined(b)) {
				return joined(a).After(joined(b))
			}
			return a.Username < b.Username
		}
		if a.Open() != b.Open() {
			return a.Open()
		}
		if a.Role.Rank() != b.Role.Rank() {
			return a.Role.Rank() > b.Role.Rank()
		}
		return a.Username < b.Username
	})
	return usernames(kept)
}

func usernames(ms []guildhall.Membership) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, m.Username)
	}
	return out
}

// everyRow is the whole organization, read with the status filter "all"
// by offset, a way of reading it that no cursor takes part in.
func (w *listWorld) everyRow(t *testing.T) []guildhall.Membership {
	t.Helper()
	page, err := w.d.ListMembersPage(context.Background(), w.owner, w.org, guildhall.MembersQuery{Status: guildhall.MembersAll, Limit: guildhall.MembersPageMaxSize})
	if err != nil || page.NextCursor != "" {
		t.Fatalf("every row: %v, next %q", err, page.NextCursor)
	}
	return page.Members
}

// TestMemberListWalks reads the list of every order and status filter,
// with and without a role filter, page by page: forward by each page's NextCursor, back by
// PrevCursor from the last page, and by offset. Each way gives exactly
// the list as the rules order it, with the page's position and counts.
func TestMemberListWalks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newListWorld(t)
	all := w.everyRow(t)
	if len(all) != 20 {
		t.Fatalf("%d rows: %v", len(all), usernames(all))
	}
	const limit = 4
	for _, sortBy := range []guildhall.MemberSort{guildhall.SortByRole, guildhall.SortByName, guildhall.SortByJoined} {
		for _, status := range []guildhall.MemberFilter{guildhall.MembersCurrent, guildhall.MembersActive, guildhall.MembersInvited, guildhall.MembersExpired, guildhall.MembersAll} {
			for _, role := range []guildhall.Role{"", guildhall.RoleMember} {
				q := guildhall.MembersQuery{Sort: sortBy, Status: status, Role: role, Limit: limit}
				want := w.expected(t, all, q)
				name := fmt.Sprintf("sort %q status %q role %q", sortBy, status, role)

				var forward []string
				var last guildhall.MembersPage
				for page := 0; ; page++ {
					p, err := w.d.ListMembersPage(ctx, w.owner, w.org, q)
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					if p.Total != len(want) || p.Position != len(forward) || (page > 0) != (p.PrevCursor != "") {
						t.Fatalf("%s, page %d: total %d position %d prev %q; want %d, %d", name, page, p.Total, p.Position, p.PrevCursor, len(want), len(forward))
					}
					forward = append(forward, usernames(p.Members)...)
					last = p
					if p.NextCursor == "" {
						break
					}
					q.Cursor = p.NextCursor
				}
				if strings.Join(forward, ",") != strings.Join(want, ",") {
					t.Errorf("%s forward:\n got %v\nwant %v", name, forward, want)
				}

				backward := usernames(last.Members)
				for p := last; p.PrevCursor != ""; {
					q.Cursor = p.PrevCursor
					var err error
					if p, err = w.d.ListMembersPage(ctx, w.owner, w.org, q); err != nil {
						t.Fatalf("%s back: %v", name, err)
					}
					if p.Position+len(p.Members)+len(backward) != len(want) && p.Position != 0 {
						t.Errorf("%s back: position %d with %d rows after", name, p.Position, len(backward))
					}
					backward = append(usernames(p.Members), backward...)
				}
				// Back at the start the first page is whole, so it may
				// repeat rows the walk back had already seen.
				if got := strings.Join(backward, ","); !strings.HasSuffix(got, strings.Join(want[min(limit, len(want)):], ",")) || !strings.HasPrefix(got, strings.Join(want[:min(limit, len(want))], ",")) {
					t.Errorf("%s backward:\n got %v\nwant %v", name, backward, want)
				}

				q.Cursor = ""
				for _, offset := range []int{0, limit + 1, len(want) - 1, len(want)} {
					if offset < 0 {
						continue
					}
					q.Offset = offset
					p, err := w.d.ListMembersPage(ctx, w.owner, w.org, q)
					if err != nil {
						t.Fatalf("%s offset %d: %v", name, offset, err)
					}
					if got, wantPage := strings.Join(usernames(p.Members), ","), strings.Join(want[min(offset, len(want)):min(offset+limit, len(want))], ","); got != wantPage {
						t.Errorf("%s offset %d: %s, want %s", name, offset, got, wantPage)
					}
					if p.OutOfRange() != (offset > 0 && offset >= len(want)) {
						t.Errorf("%s offset %d: out of range %v", name, offset, p.OutOfRange())
					}
				}
				q.Offset = 0
			}
		}
	}
}

// TestMemberListCursors: a cursor belongs to its list; a damaged one, one
// of another list, or one with an offset is refused; one whose place has
// gone gives an empty page that says so.
func TestMemberListCursors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newListWorld(t)
	first, err := w.d.ListMembersPage(ctx, w.owner, w.org, guildhall.MembersQuery{Limit: 5})
	if err != nil || first.NextCursor == "" {
		t.Fatal(first, err)
	}
	for _, q := range []guildhall.MembersQuery{
		{Limit: 5, Cursor: "garbage"},
		{Limit: 5, Cursor: first.NextCursor + "x"},
		{Limit: 5, Cursor: first.NextCursor, Sort: guildhall.SortByName},
		{Limit: 5, Cursor: first.NextCursor, Role: guildhall.RoleMember},
		{Limit: 5, Cursor: first.NextCursor, Search: "a"},
		{Limit: 5, Cursor: first.NextCursor, Offset: 5},
		{Limit: 5, Cursor: strings.Repeat("A", 1000)},
	} {
		_, err := w.d.ListMembersPage(ctx, w.owner, w.org, q)
		wantCode(t, err, guildhall.EINVALID)
	}
	other := MustCreateOrg(t, w.d, w.owner, "Other")
	_, err = w.d.ListMembersPage(ctx, w.owner, other, guildhall.MembersQuery{Limit: 5, Cursor: first.NextCursor})
	wantCode(t, err, guildhall.EINVALID)

	// Everyone after the first page leaves: its Next now leads nowhere.
	all := w.everyRow(t)
	last := w.expected(t, all, guildhall.MembersQuery{})
	for _, name := range last[5:] {
		var err error
		if m := find(all, name); m.Open() {
			err = w.d.RevokeInvitation(ctx, w.owner, w.org, name)
		} else {
			err = w.d.RemoveMember(ctx, w.owner, w.org, name)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	past, err := w.d.ListMembersPage(ctx, w.owner, w.org, guildhall.MembersQuery{Limit: 5, Cursor: first.NextCursor})
	if err != nil || len(past.Members) != 0 || !past.OutOfRange() || past.NextCursor != "" {
		t.Fatalf("past the end: %v %+v", err, past)
	}
}

func find(ms []guildhall.Membership, name string) guildhall.Membership {
	for _, m := range ms {
		if m.Username == name {
			return m
		}
	}
	return guildhall.Membership{}
}

// TestMemberSearch: a search is answered from the username index when few
// names contain it, counted; by reading a small organization whole when
// it is short or common; and, in a large organization, by reading the list
// in order at most the scan budget of rows a page, uncounted, until every
// match has been found once. The limits are lowered (from
// guildhall.MemberSearchMaxMatches and MemberSearchScanBudget) so that a
// few rows show each way.
func TestMemberSearch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newListWorld(t)
	const maxMatches, budget = 12, 30
	w.d.LowerSearchLimits(maxMatches, budget)
	all := w.everyRow(t)
	for _, c := range []struct {
		search string
		status guildhall.MemberFilter
	}{{"new", guildhall.MembersCurrent}, {"EX", guildhall.MembersAll}, {"a", guildhall.MembersAll}, {"zz", guildhall.MembersAll}, {"o", guildhall.MembersActive}} {
		q := guildhall.MembersQuery{Search: c.search, Status: c.status, Sort: guildhall.SortByName, Limit: 2}
		want := w.expected(t, all, guildhall.MembersQuery{Search: strings.ToLower(c.search), Status: c.status, Sort: guildhall.SortByName})
		var got []string
		for {
			p, err := w.d.ListMembersPage(ctx, w.owner, w.org, q)
			if err != nil || !p.Counted() || p.Total != len(want) {
				t.Fatalf("search %q: %v, total %d, want %d", c.search, err, p.Total, len(want))
			}
			got = append(got, usernames(p.Members)...)
			if p.NextCursor == "" {
				break
			}
			q.Cursor = p.NextCursor
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("search %q: %v, want %v", c.search, got, want)
		}
	}

	// A large organization: more rows than a search reads a page.
	big := MustCreateOrg(t, w.d, w.owner, "Big")
	if err := w.d.SeedMembers(ctx, big, 3*budget); err != nil {
		t.Fatal(err)
	}
	every, err := w.d.FetchOrganizationMembers(ctx, w.owner, big)
	if err != nil {
		t.Fatal(err)
	}
	for _, search := range []string{
		"member0008", // few names: the index
		"member",     // more names than the index answers for
		"7",          // too short for the index, and sparse
	} {
		var want []string
		for _, m := range every {
			if strings.Contains(m.Username, search) {
				want = append(want, m.Username)
			}
		}
		q := guildhall.MembersQuery{Search: search, Limit: 5}
		var got []string
		short := false
		for pages := 0; ; pages++ {
			p, err := w.d.ListMembersPage(ctx, w.owner, big, q)
			if err != nil {
				t.Fatal(err)
			}
			indexed := search == "member0008"
			if p.Counted() != indexed || (indexed && p.Total != len(want)) {
				t.Fatalf("search %q: counted %v, total %d", search, p.Counted(), p.Total)
			}
			got = append(got, usernames(p.Members)...)
			short = short || len(p.Members) < q.Limit && p.NextCursor != ""
			if p.NextCursor == "" {
				break
			}
			if pages > len(every) {
				t.Fatalf("search %q does not end", search)
			}
			q.Cursor = p.NextCursor
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("search %q: %d rows, want %d:\n got %v\nwant %v", search, len(got), len(want), got, want)
		}
		if search == "7" && !short {
			t.Errorf("search %q: no page stopped at its budget", search)
		}
	}
}

// TestMemberSearchFoldsAsUsernamesDo: a member search folds what is typed
// as a username is folded (guildhall.FoldUsername: spaces trimmed, ASCII
// capitals lower-cased, nothing else), so the Kelvin sign, which Unicode
// lower-cases to "k", finds no kim: no username can hold it.
func TestMemberSearchFoldsAsUsernamesDo(t *testing.T) {
	d, _ := MustOpenDB(t)
	ctx := context.Background()
	owner := MustCreateUser(t, d, "olivia")
	org := MustCreateOrg(t, d, owner, "Acme")
	MustJoin(t, d, owner, org, MustCreateUser(t, d, "kim"), guildhall.RoleMember, false)
	for search, want := range map[string]int{" KIM ": 1, "Ki": 1, "Kim": 0, "K": 0} {
		page, err := d.ListMembersPage(ctx, owner, org, guildhall.MembersQuery{Search: search})
		if err != nil || page.Total != want {
			t.Errorf("search %q: total %d, err %v; want %d", search, page.Total, err, want)
		}
	}
}
