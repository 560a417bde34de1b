package db_test

import (
	"context"
	"fmt"
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
