package guildhall

import "slices"

// Role is a member's standing in an organization. Roles are ordered by rank:
// owner 4 > admin 3 > member 2 > viewer 1.
type Role string

// The four roles, highest first.
const (
	RoleOwner  Role = "owner"
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
	RoleViewer Role = "viewer"
)

// Roles lists every role, highest rank first. The order is the rank: it is
// the one place the ranking is written (Rank reads it, and the service's SQL
// ordering is built from Rank).
var Roles = []Role{RoleOwner, RoleAdmin, RoleMember, RoleViewer}

// DefaultInviteRole is the role an invitation grants when none is named,
// as QueryLake's member_class defaults to "member".
const DefaultInviteRole = RoleMember

// Rank orders roles: 4 for owner down to 1 for viewer, 0 for anything else.
func (r Role) Rank() int {
	if i := slices.Index(Roles, r); i >= 0 {
		return len(Roles) - i
	}
	return 0
}

// Valid reports whether r is one of the four roles.
func (r Role) Valid() bool { return r.Rank() > 0 }

// ParseRole turns a string into a Role, or an EINVALID error listing the
// accepted values.
func ParseRole(s string) (Role, error) {
	if r := Role(s); r.Valid() {
		return r, nil
	}
	return "", Errorf(EINVALID, "Role must be one of owner, admin, member or viewer, not %q.", s)
}

// CanGrant reports whether a member holding actor may give someone role:
// an owner may grant any role, anyone else only a role ranked strictly below
// their own. The same rule says whom actor manages (changes the role of,
// removes): the members holding a role actor could grant.
func CanGrant(actor, role Role) bool {
	if !actor.Valid() || !role.Valid() {
		return false
	}
	return actor == RoleOwner || role.Rank() < actor.Rank()
}

// GrantableRoles lists, highest first, the roles actor may grant. It is
// empty for a viewer, who may invite nobody.
func GrantableRoles(actor Role) []Role {
	var out []Role
	for _, r := range Roles {
		if CanGrant(actor, r) {
			out = append(out, r)
		}
	}
	return out
}

// CanInvite reports whether actor may invite anyone at all.
func CanInvite(actor Role) bool { return len(GrantableRoles(actor)) > 0 }

// CanRevoke reports whether actor may revoke a pending invitation for role:
// its sender may, and so may anyone who could have granted that role.
func CanRevoke(actor Role, actorIsSender bool, role Role) bool {
	if !actor.Valid() {
		return false
	}
	return actorIsSender || CanGrant(actor, role)
}

// CanChangeRole reports whether actor may move a member from target to
// newRole: never their own role (self), only a member they manage (see
// CanGrant), and only to a role they may grant. The last-owner rule needs a
// count and is enforced by the service.
func CanChangeRole(actor Role, self bool, target, newRole Role) bool {
	return !self && CanGrant(actor, target) && CanGrant(actor, newRole)
}

// CanRemove reports whether actor may remove a member holding target. A
// member may always leave (self); others only a member actor manages (see
// CanGrant). The last-owner rule is the service's.
func CanRemove(actor Role, self bool, target Role) bool {
	if self {
		return actor.Valid()
	}
	return CanGrant(actor, target)
}

// CanReadAuditLog reports whether actor may read an organization's audit
// trail: its owners and admins may.
func CanReadAuditLog(actor Role) bool { return actor.Rank() >= RoleAdmin.Rank() }

// CanLeave reports whether a member holding actor may leave: any active
// member may. The last owner must hand the organization over first; that
// needs a count of owners and is the service's to check.
func CanLeave(actor Role) bool { return actor.Valid() }

// RoleAfterTransfer is the role an owner keeps after handing ownership
// over: they stay, ranked just below the new owner.
const RoleAfterTransfer = RoleAdmin

// CanTransferOwnership reports whether actor may make another active
// member owner in their place (becoming RoleAfterTransfer): only an owner
// may, and never to themself (self).
func CanTransferOwnership(actor Role, self bool) bool { return actor == RoleOwner && !self }

// CanUpdateOrganization reports whether actor may rename an organization
// or change its description: its owners and admins may.
func CanUpdateOrganization(actor Role) bool { return actor.Rank() >= RoleAdmin.Rank() }

// CanDeleteOrganization reports whether actor may delete an organization
// with its memberships and invitations: only an owner may.
func CanDeleteOrganization(actor Role) bool { return actor == RoleOwner }

// CanResend reports whether actor may renew a pending invitation (open or
// expired) with a new expiry: whoever may revoke it (see CanRevoke).
func CanResend(actor Role, actorIsSender bool, role Role) bool {
	return CanRevoke(actor, actorIsSender, role)
}

// CanSeeExpiredInvitations reports whether actor's member list keeps
// expired invitations, marked expired, for them to renew or revoke: owners
// and admins see them; to others they are gone.
func CanSeeExpiredInvitations(actor Role) bool { return actor.Rank() >= RoleAdmin.Rank() }
