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

// TestRankIsTheOrderOfRoles: Rank reads the order of Roles, highest first.
func TestRankIsTheOrderOfRoles(t *testing.T) {
	for i := 1; i < len(guildhall.Roles); i++ {
		if hi, lo := guildhall.Roles[i-1], guildhall.Roles[i]; hi.Rank() != lo.Rank()+1 {
			t.Errorf("%s ranks %d, %s ranks %d: want one step apart, highest first", hi, hi.Rank(), lo, lo.Rank())
		}
	}
}

func TestParseRole(t *testing.T) {
	for _, r := range guildhall.Roles {
		if got, err := guildhall.ParseRole(string(r)); err != nil || got != r {
			t.Errorf("ParseRole(%q) = %q, %v", r, got, err)
		}
	}
	_, err := guildhall.ParseRole("emperor")
	if guildhall.ErrorCode(err) != guildhall.EINVALID || guildhall.ErrorMessage(err) != `Role must be one of owner, admin, member or viewer, not "emperor".` {
		t.Errorf("ParseRole(emperor) = %v", err)
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

func TestCanReadAuditLog(t *testing.T) {
	want := map[guildhall.Role]bool{"owner": true, "admin": true, "member": false, "viewer": false, "": false, "root": false}
	for r, ok := range want {
		if got := guildhall.CanReadAuditLog(r); got != ok {
			t.Errorf("CanReadAuditLog(%q) = %v, want %v", r, got, ok)
		}
	}
}

// TestOrganizationRules is each console rule as a table over the actor's
// role: leaving, handing over, updating, deleting, seeing expired
// invitations.
func TestOrganizationRules(t *testing.T) {
	type row struct{ leave, transfer, transferSelf, update, del, expired bool }
	table := map[guildhall.Role]row{
		guildhall.RoleOwner:  {leave: true, transfer: true, update: true, del: true, expired: true},
		guildhall.RoleAdmin:  {leave: true, update: true, expired: true},
		guildhall.RoleMember: {leave: true},
		guildhall.RoleViewer: {leave: true},
		"":                   {},
	}
	for actor, want := range table {
		got := row{
			leave:        guildhall.CanLeave(actor),
			transfer:     guildhall.CanTransferOwnership(actor, false),
			transferSelf: guildhall.CanTransferOwnership(actor, true),
			update:       guildhall.CanUpdateOrganization(actor),
			del:          guildhall.CanDeleteOrganization(actor),
			expired:      guildhall.CanSeeExpiredInvitations(actor),
		}
		if got != want {
			t.Errorf("rules for %q: %+v, want %+v", actor, got, want)
		}
	}
	if guildhall.RoleAfterTransfer != guildhall.RoleAdmin {
		t.Errorf("an owner who hands over becomes %s, want admin", guildhall.RoleAfterTransfer)
	}
}

// TestCanResend: renewing an invitation is allowed exactly where revoking it is.
func TestCanResend(t *testing.T) {
	for _, actor := range append(guildhall.Roles, "") {
		for _, role := range guildhall.Roles {
			for _, sender := range []bool{false, true} {
				if got, want := guildhall.CanResend(actor, sender, role), guildhall.CanRevoke(actor, sender, role); got != want {
					t.Errorf("CanResend(%q, sender=%v, %s) = %v, CanRevoke says %v", actor, sender, role, got, want)
				}
			}
		}
	}
	if !guildhall.CanResend(guildhall.RoleViewer, true, guildhall.RoleViewer) || guildhall.CanResend(guildhall.RoleAdmin, false, guildhall.RoleAdmin) {
		t.Error("the sender may renew; an admin may not renew an admin invitation someone else sent")
	}
}
