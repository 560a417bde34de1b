package handlers

import (
	"encoding/json"
	"testing"

	"guildhall"
)

// FuzzMembershipListJSON: a membershipList encodes as encoding/json
// encodes the same []membershipResult, byte for byte, whatever the texts.
func FuzzMembershipListJSON(f *testing.F) {
	for _, s := range []string{"Acme", `<b>"quoted" & \back</b>`, "tab\there\nnew\x01", "\u2028\u2029 é 😀", "bad \xff\xfe bytes", "\b\f", ""} {
		f.Add(s, "member0000042", int64(7), true)
	}
	f.Fuzz(func(t *testing.T, name, user string, n int64, open bool) {
		expires := n * 3
		list := membershipList{
			{OrganizationID: n, OrganizationName: name, Role: guildhall.Role(user), Username: user, InviteStillOpen: open, Sender: name, Expires: &expires},
			{OrganizationID: -n, OrganizationName: user, Role: guildhall.RoleOwner},
		}
		got, err := json.Marshal(list)
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal([]membershipResult(list))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Fatalf("\n got %s\nwant %s", got, want)
		}
	})
}

// TestMembersPageResultJSON: a page of fetch_memberships_of_organization
// is written as encoding/json wrote the map it used to be, in each shape.
func TestMembersPageResultJSON(t *testing.T) {
	list := membershipList{{OrganizationID: 1, OrganizationName: "A&B", Role: guildhall.RoleOwner, Username: "olivia"}}
	next, total, offset, five := "c<ursor>", 12, 0, 5
	for _, c := range []struct {
		page membersPageResult
		was  map[string]any
	}{
		{membersPageResult{Memberships: list}, map[string]any{"memberships": list, "next_cursor": nil}},
		{membersPageResult{Memberships: membershipList{}, NextCursor: &next}, map[string]any{"memberships": []membershipResult{}, "next_cursor": next}},
		{membersPageResult{Memberships: list, Paged: true, Limit: &five, Total: &total, Offset: &offset}, map[string]any{"memberships": list, "next_cursor": nil, "limit": 5, "total": total, "offset": offset}},
		{membersPageResult{Memberships: list, NextCursor: &next, Paged: true, Limit: &five}, map[string]any{"memberships": list, "next_cursor": next, "limit": 5, "total": nil}},
	} {
		want, _ := json.Marshal(success{Success: true, Result: c.was})
		got := append(c.page.appendJSON([]byte(`{"success":true,"result":`)), '}')
		if string(got) != string(want) {
			t.Errorf("\n got %s\nwant %s", got, want)
		}
		if viaEncoding, _ := json.Marshal(c.page); string(viaEncoding) != string(c.page.appendJSON(nil)) {
			t.Errorf("MarshalJSON differs: %s", viaEncoding)
		}
	}
}
