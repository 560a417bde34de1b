package db_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"guildhall"
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
		page, err := d.ListMembersPage(ctx, owner, org, "", offset, 10)
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
	page, err := d.ListMembersPage(ctx, owner, org, " USER1", 0, 0)
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
		if page, err := d.ListMembersPage(ctx, owner, org, search, 0, 0); err != nil || page.Total != 0 {
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
		_, err := d.ListMembersPage(ctx, owner, org, c.search, c.offset, c.limit)
		if guildhall.ErrorCode(err) != guildhall.EINVALID {
			t.Errorf("%s: %v, want invalid_request", c.name, err)
		}
	}
	outsider := MustCreateUser(t, d, "oscar")
	_, err = d.ListMembersPage(ctx, outsider, org, "", 0, 10)
	wantCode(t, err, guildhall.EFORBIDDEN)
	_, err = d.ListMembersPage(ctx, owner, org+100, "", 0, 10)
	wantCode(t, err, guildhall.ENOTFOUND)
}
