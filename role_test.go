package guildhall_test

import (
	"slices"
	"testing"

	"guildhall"
)

func TestRoleRanks(t *testing.T) {
	want := map[guildhall.Role]int{"owner": 4, "admin": 3, "member": 2, "viewer": 1, "": 0, "Owner": 0, "root": 0}
	for r, rank := range want {
		if got := r.Rank(); got != rank {
			t.Errorf("Role(%q).Rank() = %d, want %d", r, got, rank)
		}
	}
}

// TestCanGrant is the grant rule as a table: an owner grants anything,
// anyone else only roles ranked strictly below their own.
func TestCanGrant(t *testing.T) {
	// rows: actor; columns: owner, admin, member, viewer
	table := map[guildhall.Role][4]bool{
		guildhall.RoleOwner:  {true, true, true, true},
		guildhall.RoleAdmin:  {false, false, true, true},
		guildhall.RoleMember: {false, false, false, true},
		guildhall.RoleViewer: {false, false, false, false},
		"":                   {false, false, false, false},
	}
	for actor, row := range table {
		for i, role := range guildhall.Roles {
			if got := guildhall.CanGrant(actor, role); got != row[i] {
				t.Errorf("CanGrant(%q, %q) = %v, want %v", actor, role, got, row[i])
			}
		}
		if guildhall.CanGrant(actor, "superuser") {
			t.Errorf("CanGrant(%q, superuser) = true for an unknown role", actor)
		}
	}
}

func TestGrantableRoles(t *testing.T) {
	tests := []struct {
		actor     guildhall.Role
		want      []guildhall.Role
		canInvite bool
	}{
		{guildhall.RoleOwner, []guildhall.Role{"owner", "admin", "member", "viewer"}, true},
		{guildhall.RoleAdmin, []guildhall.Role{"member", "viewer"}, true},
		{guildhall.RoleMember, []guildhall.Role{"viewer"}, true},
		{guildhall.RoleViewer, nil, false},
	}
	for _, tt := range tests {
		if got := guildhall.GrantableRoles(tt.actor); !slices.Equal(got, tt.want) {
			t.Errorf("GrantableRoles(%s) = %v, want %v", tt.actor, got, tt.want)
		}
		if got := guildhall.CanInvite(tt.actor); got != tt.canInvite {
			t.Errorf("CanInvite(%s) = %v, want %v", tt.actor, got, tt.canInvite)
		}
	}
}

func TestCanRevoke(t *testing.T) {
	tests := []struct {
		actor  guildhall.Role
		sender bool
		role   guildhall.Role
		want   bool
	}{
		{guildhall.RoleOwner, false, guildhall.RoleOwner, true},
		{guildhall.RoleAdmin, false, guildhall.RoleMember, true},
		{guildhall.RoleAdmin, false, guildhall.RoleAdmin, false}, // an owner's admin invitation
		{guildhall.RoleAdmin, true, guildhall.RoleAdmin, true},   // ...unless the admin sent it (as owner, since demoted)
		{guildhall.RoleMember, false, guildhall.RoleViewer, true},
		{guildhall.RoleMember, false, guildhall.RoleMember, false},
		{guildhall.RoleViewer, false, guildhall.RoleViewer, false},
		{guildhall.RoleViewer, true, guildhall.RoleViewer, true},
		{"", true, guildhall.RoleViewer, false},
	}
	for _, tt := range tests {
		if got := guildhall.CanRevoke(tt.actor, tt.sender, tt.role); got != tt.want {
			t.Errorf("CanRevoke(%s, sender=%v, %s) = %v, want %v", tt.actor, tt.sender, tt.role, got, tt.want)
		}
	}
}

func TestCanChangeRoleAndRemove(t *testing.T) {
	tests := []struct {
		actor, target, newRole guildhall.Role
		self                   bool
		change, remove         bool
	}{
		{guildhall.RoleOwner, guildhall.RoleOwner, guildhall.RoleAdmin, false, true, true},
		{guildhall.RoleOwner, guildhall.RoleViewer, guildhall.RoleOwner, false, true, true},
		{guildhall.RoleOwner, guildhall.RoleOwner, guildhall.RoleMember, true, false, true}, // own role: never; leaving: yes
		{guildhall.RoleAdmin, guildhall.RoleMember, guildhall.RoleViewer, false, true, true},
		{guildhall.RoleAdmin, guildhall.RoleMember, guildhall.RoleAdmin, false, false, true}, // can't grant admin
		{guildhall.RoleAdmin, guildhall.RoleAdmin, guildhall.RoleMember, false, false, false},
		{guildhall.RoleAdmin, guildhall.RoleOwner, guildhall.RoleMember, false, false, false},
		{guildhall.RoleMember, guildhall.RoleViewer, guildhall.RoleViewer, false, true, true},
		{guildhall.RoleMember, guildhall.RoleMember, guildhall.RoleViewer, false, false, false},
		{guildhall.RoleViewer, guildhall.RoleViewer, guildhall.RoleViewer, false, false, false},
		{guildhall.RoleViewer, guildhall.RoleViewer, guildhall.RoleViewer, true, false, true},
	}
	for _, tt := range tests {
		if got := guildhall.CanChangeRole(tt.actor, tt.self, tt.target, tt.newRole); got != tt.change {
			t.Errorf("CanChangeRole(%s, self=%v, %s -> %s) = %v, want %v", tt.actor, tt.self, tt.target, tt.newRole, got, tt.change)
		}
		if got := guildhall.CanRemove(tt.actor, tt.self, tt.target); got != tt.remove {
			t.Errorf("CanRemove(%s, self=%v, %s) = %v, want %v", tt.actor, tt.self, tt.target, got, tt.remove)
		}
	}
}

func TestValidateUsername(t *testing.T) {
	for _, ok := range []string{"a", "bob", "new_user", "a.b-c_9", "abcdefghijklmnopqrstuvwxyz012345"} {
		if err := guildhall.ValidateUsername(ok); err != nil {
			t.Errorf("ValidateUsername(%q) = %v, want ok", ok, err)
		}
	}
	for _, bad := range []string{"", "Bob", "bob smith", "bob@x", "abcdefghijklmnopqrstuvwxyz0123456", "bö", "a/b", "<script>", ".", "..", "_", "-.-"} {
		err := guildhall.ValidateUsername(bad)
		if guildhall.ErrorCode(err) != guildhall.EINVALID {
			t.Errorf("ValidateUsername(%q) = %v, want an invalid_request error", bad, err)
		}
	}
}

func TestValidatePassword(t *testing.T) {
	for _, ok := range []string{"12345678", "correct horse battery staple", "пароль-пароль", string(repeat('x', 256))} {
		if err := guildhall.ValidatePassword(ok); err != nil {
			t.Errorf("ValidatePassword(len %d) = %v, want ok", len(ok), err)
		}
	}
	for _, bad := range []string{"", "1234567", string(repeat('x', 257)), "abcdefg\xff"} {
		if guildhall.ErrorCode(guildhall.ValidatePassword(bad)) != guildhall.EINVALID {
			t.Errorf("ValidatePassword(len %d) accepted", len(bad))
		}
	}
}

func repeat(r rune, n int) []rune {
	out := make([]rune, n)
	for i := range out {
		out[i] = r
	}
	return out
}

func TestErrorCodeAndMessage(t *testing.T) {
	err := guildhall.Errorf(guildhall.ECONFLICT, "bob is already a member of %s.", "Acme")
	if guildhall.ErrorCode(err) != guildhall.ECONFLICT || guildhall.ErrorMessage(err) != "bob is already a member of Acme." {
		t.Errorf("coded error: code %q message %q", guildhall.ErrorCode(err), guildhall.ErrorMessage(err))
	}
	plain := errTest("near \"SELEC\": syntax error")
	if guildhall.ErrorCode(plain) != guildhall.EINTERNAL || guildhall.ErrorMessage(plain) != "Internal error." {
		t.Errorf("an uncoded error must read as internal, got %q / %q", guildhall.ErrorCode(plain), guildhall.ErrorMessage(plain))
	}
}

type errTest string

func (e errTest) Error() string { return string(e) }
