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
