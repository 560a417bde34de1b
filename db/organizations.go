package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"guildhall"
)

// CreateOrganization founds an organization with the actor as its owner,
// at most Options.OrganizationRate an hour for one user.
func (db *DB) CreateOrganization(ctx context.Context, a guildhall.Actor, name, description string) (guildhall.Organization, error) {
	name, err := guildhall.NormalizeOrganizationName(name)
	if err != nil {
		return guildhall.Organization{}, err
	}
	if description, err = guildhall.NormalizeOrganizationDescription(description); err != nil {
		return guildhall.Organization{}, err
	}
	// Each organization is another place to invite from: without a rate,
	// one account could invite a victim from hundreds of them a minute.
	// Counted once, should an enclosing transaction run again (Tx.once).
	if err := db.ambient(ctx).once(func() error {
		return db.rateLimited(ctx, db.orgRate, userKey(a), fmt.Sprintf(
			"You are creating organizations too fast (at most %d an hour)", db.orgRatePerHour))
	}); err != nil {
		return guildhall.Organization{}, err
	}
	org := guildhall.Organization{Name: name, Description: description}
	err = db.update(ctx, func(tx *Tx) error {
		org.Created = tx.now
		if err := tx.QueryRowContext(ctx, `INSERT INTO organizations (name, description, created) VALUES (?, ?, ?) RETURNING id`,
			name, description, unix(tx.now)).Scan(&org.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO memberships (organization_id, user_id, username, role, status, created, accepted)
			VALUES (?, ?, ?, 'owner', 'active', ?, ?)`, org.ID, a.UserID, a.Username, unix(tx.now), unix(tx.now)); err != nil {
			return err
		}
		return tx.audit(ctx, org.ID, a.Username, guildhall.ActionCreate, a.Username, guildhall.RoleOwner)
	})
	return org, err
}

// Organization returns an organization and the actor's role in it; only
// active members may look.
func (db *DB) Organization(ctx context.Context, a guildhall.Actor, orgID int64) (guildhall.Organization, guildhall.Role, error) {
	var org guildhall.Organization
	var role guildhall.Role
	err := db.view(ctx, func(tx *Tx) error {
		var err error
		org, role, err = tx.orgAsMember(ctx, a, orgID)
		return err
	})
	return org, role, err
}

// UpdateOrganization renames an organization or changes its description,
// for those guildhall.CanUpdateOrganization allows (owners and admins). A
// nil field is left as it is; at least one must be given. Each change that
// alters something is audited: a rename with the old name, a new
// description on its own.
func (db *DB) UpdateOrganization(ctx context.Context, a guildhall.Actor, orgID int64, name, description *string) (guildhall.Organization, error) {
	if name == nil && description == nil {
		return guildhall.Organization{}, guildhall.Errorf(guildhall.EINVALID, "Give a new organization_name, a new organization_description, or both.")
	}
	var err error
	var newName, newDescription string
	if name != nil {
		if newName, err = guildhall.NormalizeOrganizationName(*name); err != nil {
			return guildhall.Organization{}, err
		}
	}
	if description != nil {
		if newDescription, err = guildhall.NormalizeOrganizationDescription(*description); err != nil {
			return guildhall.Organization{}, err
		}
	}
	var org guildhall.Organization
	err = db.update(ctx, func(tx *Tx) error {
		var role guildhall.Role
		if org, role, err = tx.orgAsMember(ctx, a, orgID); err != nil {
			return err
		}
		if !guildhall.CanUpdateOrganization(role) {
			return guildhall.Errorf(guildhall.EFORBIDDEN, "Only owners and admins can change the name or description of %s.", org.Name)
		}
		if name != nil && newName != org.Name {
			if _, err := tx.ExecContext(ctx, `UPDATE organizations SET name = ? WHERE id = ?`, newName, orgID); err != nil {
				return err
			}
			if err := tx.auditEvent(ctx, guildhall.AuditEvent{OrganizationID: orgID, Actor: a.Username,
				Action: guildhall.ActionRename, Target: newName, OldName: org.Name}); err != nil {
				return err
			}
			org.Name = newName
		}
		if description != nil && newDescription != org.Description {
			if _, err := tx.ExecContext(ctx, `UPDATE organizations SET description = ? WHERE id = ?`, newDescription, orgID); err != nil {
				return err
			}
			if err := tx.audit(ctx, orgID, a.Username, guildhall.ActionDescribe, org.Name, ""); err != nil {
				return err
			}
			org.Description = newDescription
		}
		return nil
	})
	return org, err
}

// DeleteOrganization deletes an organization with its memberships,
// invitations and audit trail, for an owner who types its current name as
// confirmName. The trail goes with it, so the deletion is logged instead.
func (db *DB) DeleteOrganization(ctx context.Context, a guildhall.Actor, orgID int64, confirmName string) error {
	var org guildhall.Organization
	err := db.update(ctx, func(tx *Tx) error {
		var role guildhall.Role
		var err error
		if org, role, err = tx.orgAsMember(ctx, a, orgID); err != nil {
			return err
		}
		if !guildhall.CanDeleteOrganization(role) {
			return guildhall.Errorf(guildhall.EFORBIDDEN, "Only an owner can delete %s.", org.Name)
		}
		if err := guildhall.CheckDeletionConfirmation(org.Name, confirmName); err != nil {
			return err
		}
		// Memberships, invitations, the audit trail and the pending count
		// follow by ON DELETE CASCADE.
		if _, err = tx.ExecContext(ctx, `DELETE FROM organizations WHERE id = ?`, orgID); err != nil {
			return err
		}
		// The log line is all that is left of a deletion, so it is written
		// once the deletion has committed: not for a savepoint that an
		// enclosing transaction (an idempotent write) may still roll back
		// or run again.
		name := org.Name
		tx.afterCommit(func() {
			db.log.InfoContext(ctx, "organization deleted", "organization_id", orgID, "name", name, "by", a.Username)
		})
		return nil
	})
	return err
}

// TransferOwnership makes username, an active member, an owner, and the
// actor, an owner, guildhall.RoleAfterTransfer, in one transaction: the
// organization has an owner before and after, whatever runs beside it.
func (db *DB) TransferOwnership(ctx context.Context, a guildhall.Actor, orgID int64, username string) error {
	return db.update(ctx, func(tx *Tx) error {
		org, actorRole, err := tx.orgAsMember(ctx, a, orgID)
		if err != nil {
			return err
		}
		if !guildhall.CanTransferOwnership(actorRole, false) {
			return guildhall.Errorf(guildhall.EFORBIDDEN, "Only an owner can transfer ownership of %s.", org.Name)
		}
		target, err := tx.member(ctx, org, username)
		if err != nil {
			return err
		}
		if !guildhall.CanTransferOwnership(actorRole, target.userID == a.UserID) {
			return guildhall.Errorf(guildhall.EINVALID, "You already own %s; name the member who should take it over.", org.Name)
		}
		if target.status == guildhall.StatusPending {
			return guildhall.Errorf(guildhall.ECONFLICT, "%s has not accepted the invitation to %s yet; only an active member can become owner.", target.username, org.Name)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE memberships SET role = 'owner' WHERE id = ?`, target.id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE memberships SET role = ? WHERE organization_id = ? AND user_id = ?`,
			string(guildhall.RoleAfterTransfer), orgID, a.UserID); err != nil {
			return err
		}
		return tx.auditEvent(ctx, guildhall.AuditEvent{OrganizationID: orgID, Actor: a.Username, Action: guildhall.ActionTransfer,
			Target: target.username, Role: guildhall.RoleOwner, OldRole: target.role})
	})
}

// InviteUser invites username to the organization with role. The actor must
// be an active member who may grant role. A second invitation of someone
// already invited (and not expired) or already a member is a conflict,
// detected by the UNIQUE constraint (inviteSQL's ON CONFLICT writes no
// row), so racing invitations yield one success. The conflict is not an
// error of the statement: PostgreSQL would abort the transaction on one,
// and notInvited still has to read. On PostgreSQL, invitations to one
// organization take turns (updateQueued).
func (db *DB) InviteUser(ctx context.Context, a guildhall.Actor, orgID int64, username string, role guildhall.Role) (guildhall.Membership, error) {
	if _, err := guildhall.ParseRole(string(role)); err != nil { // refused before queueing
		return guildhall.Membership{}, err
	}
	var m guildhall.Membership
	err := db.updateQueued(ctx, invitationsTo(orgID), func(tx *Tx) error {
		org, actorRole, err := tx.orgAsMember(ctx, a, orgID)
		if err != nil {
			return err
		}
		m, err = db.invite(ctx, tx, a, org, actorRole, username, role)
		return err
	})
	return m, err
}

// InviteUsers invites each row of invitations to the organization, in one
// transaction, judging every row as InviteUser judges one invitation: the
// rate limit and the pending cap count each row, an earlier row of the
// list counts as already invited, and each invitation writes its audit
// event. A row refused leaves the others standing, unless allOrNothing:
// then nothing is written unless every row succeeds, and the results say
// why the refused rows were refused. It returns a result per row, in
// order, and how many were invited. The organization and the actor's
// membership are judged once, for the whole call.
func (db *DB) InviteUsers(ctx context.Context, a guildhall.Actor, orgID int64, invitations []guildhall.Invitation, allOrNothing bool) ([]guildhall.InvitationResult, int, error) {
	if len(invitations) == 0 || len(invitations) > guildhall.MaxBulkInvitations {
		return nil, 0, guildhall.Errorf(guildhall.EINVALID, "Send 1 to %d invitations at once, not %d.", guildhall.MaxBulkInvitations, len(invitations))
	}
	results := make([]guildhall.InvitationResult, len(invitations))
	invited := 0
	err := db.updateQueued(ctx, invitationsTo(orgID), func(tx *Tx) error {
		org, actorRole, err := tx.orgAsMember(ctx, a, orgID)
		if err != nil {
			return err
		}
		invited = 0
		err = tx.nested(ctx, func(tx *Tx) error {
			refused := false
			for i, inv := range invitations {
				results[i] = guildhall.InvitationResult{Username: inv.Username}
				err := tx.nested(ctx, func(tx *Tx) error {
					_, err := db.invite(ctx, tx, a, org, actorRole, inv.Username, inv.Role)
					return err
				})
				switch code := guildhall.ErrorCode(err); {
				case err == nil:
					results[i].Invited = true
					invited++
				case code == guildhall.EINTERNAL || code == guildhall.EUNAVAILABLE:
					return err // a fault, not a refusal: the whole call fails
				default:
					results[i].Err = err
					refused = true
				}
			}
			if allOrNothing && refused {
				return errHoldBack
			}
			return nil
		})
		if errors.Is(err, errHoldBack) {
			for i := range results {
				results[i].Invited = false
			}
			invited = 0
			return nil
		}
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return results, invited, nil
}

// errHoldBack undoes the rows of an all-or-nothing bulk invitation that
// would have succeeded, because another row was refused.
var errHoldBack = errors.New("hold back every invitation: a row was refused")

// invite is one invitation, inside tx: the rules InviteUser and every row
// of InviteUsers apply, in the actor's role in org.
func (db *DB) invite(ctx context.Context, tx *Tx, a guildhall.Actor, org guildhall.Organization, actorRole guildhall.Role, username string, role guildhall.Role) (guildhall.Membership, error) {
	if _, err := guildhall.ParseRole(string(role)); err != nil {
		return guildhall.Membership{}, err
	}
	if err := tx.once(func() error { return db.allowInvite(ctx, a) }); err != nil {
		return guildhall.Membership{}, err
	}
	if !guildhall.CanGrant(actorRole, role) {
		return guildhall.Membership{}, cannotGrant(actorRole, role)
	}
	username = guildhall.FoldUsername(username)
	// One statement finds the invitee and inserts the invitation, or
	// renews in place an invitation of theirs that has expired (an expired
	// one no longer counts), if they hold fewer open invitations than the
	// per-user cap. A live invitation or a membership is left alone, and
	// nothing is written: the UNIQUE constraint on (organization, user)
	// decides, whatever races beside it. On SQLite the writer is one, so
	// the cap is counted and the row written with nothing between them; on
	// PostgreSQL two invitations of one user from two organizations (two
	// queues) may count at once, and SERIALIZABLE fails one of them, which
	// runs again and counts the other's row.
	expires := tx.now.Add(db.ttl)
	res, err := tx.ExecContext(ctx, inviteSQL, org.ID, username, string(role), a.UserID, unix(tx.now), unix(expires), db.maxPendingInvitesPerUser, a.Username)
	if err != nil {
		return guildhall.Membership{}, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return guildhall.Membership{}, err
	} else if n == 0 {
		return guildhall.Membership{}, tx.notInvited(ctx, org, username, db.maxPendingInvitesPerUser)
	}
	// Counted after the insert, in the same transaction: racing
	// invitations cannot overshoot the cap together.
	if err := tx.checkPendingCap(ctx, org, db.maxPendingInvites); err != nil {
		return guildhall.Membership{}, err
	}
	m := guildhall.Membership{
		OrganizationID: org.ID, OrganizationName: org.Name, Username: username, Role: role,
		Status: guildhall.StatusPending, Sender: a.Username, Created: tx.now, Expires: expires,
	}
	return m, tx.audit(ctx, org.ID, a.Username, guildhall.ActionInvite, username, role)
}

// inviteSQL invites the user named ?2 to organization ?1 as ?3, sent by
// ?4 (named ?8) at ?5, open until ?6, unless they already hold ?7 open invitations
// (0: no cap; counted from memberships_user_pending, at most the cap). It
// writes no row when there is no such user, when they are at the cap, or
// when they are already a member or invited (and that invitation has not
// expired).
const inviteSQL = `
	INSERT INTO memberships (organization_id, user_id, username, role, status, sender_id, sender_name, created, expires)
	SELECT ?1, u.id, u.username, ?3, 'pending', ?4, ?8, ?5, ?6 FROM users u
	WHERE u.username = ?2 AND (?7 = 0 OR
		(SELECT count(*) FROM memberships p WHERE p.user_id = u.id AND p.status = 'pending' AND p.expires > ?5) < ?7)
	ON CONFLICT (organization_id, user_id) DO UPDATE
		SET role = excluded.role, sender_id = excluded.sender_id, sender_name = excluded.sender_name,
			created = excluded.created, expires = excluded.expires
		WHERE memberships.status = 'pending' AND memberships.expires <= excluded.created`

// notInvited explains an invitation that inviteSQL did not write: there
// is no such user (ENOTFOUND), the row that is there already wins (a
// UNIQUE conflict), or the invitee holds the most open invitations one
// user may (see refuseInviteeCap). It reads only to word the message.
func (tx *Tx) notInvited(ctx context.Context, org guildhall.Organization, username string, limit int) error {
	userID, err := tx.userID(ctx, username)
	if err != nil {
		return err
	}
	var status string
	var expires sql.NullInt64
	err = tx.QueryRowContext(ctx, `SELECT status, expires FROM memberships WHERE organization_id = ? AND user_id = ?`, org.ID, userID).Scan(&status, &expires)
	switch {
	case errors.Is(err, sql.ErrNoRows) || err == nil && guildhall.Status(status) == guildhall.StatusPending && expires.Int64 <= unix(tx.now):
		return tx.refuseInviteeCap(username, limit)
	case err != nil:
		return err
	case guildhall.Status(status) == guildhall.StatusActive:
		return guildhall.Errorf(guildhall.ECONFLICT, "%s is already a member of %s.", username, org.Name)
	}
	return guildhall.Errorf(guildhall.ECONFLICT, "%s has already been invited to %s.", username, org.Name)
}

// ResolveInvitation accepts or declines the actor's own invitation.
// Accepting makes them an active member; declining removes the invitation.
func (db *DB) ResolveInvitation(ctx context.Context, a guildhall.Actor, orgID int64, accept bool) error {
	return db.update(ctx, func(tx *Tx) error {
		org, err := tx.organization(ctx, orgID)
		if err != nil {
			return err
		}
		row, err := tx.membership(ctx, orgID, a.UserID)
		if errors.Is(err, sql.ErrNoRows) {
			// By id: the caller is an outsider.
			return guildhall.Errorf(guildhall.ENOTFOUND, "You have no invitation to organization %d.", orgID)
		} else if err != nil {
			return err
		}
		if row.status == guildhall.StatusActive {
			return guildhall.Errorf(guildhall.ECONFLICT, "You are already a member of %s.", org.Name)
		}
		if accept && !tx.now.Before(row.expires) {
			return guildhall.Errorf(guildhall.EGONE, "Your invitation to %s expired on %s; ask for a new one.",
				org.Name, row.expires.Format(time.DateOnly))
		}
		if accept {
			_, err = tx.ExecContext(ctx, `
				UPDATE memberships SET status = 'active', accepted = ?, expires = NULL
				WHERE id = ?`, unix(tx.now), row.id)
			if err != nil {
				return err
			}
			return tx.audit(ctx, orgID, a.Username, guildhall.ActionAccept, a.Username, row.role)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM memberships WHERE id = ?`, row.id); err != nil {
			return err
		}
		return tx.audit(ctx, orgID, a.Username, guildhall.ActionDecline, a.Username, row.role)
	})
}

// RevokeInvitation withdraws a pending invitation. Its sender may, and so
// may any active member who could have granted its role.
func (db *DB) RevokeInvitation(ctx context.Context, a guildhall.Actor, orgID int64, username string) error {
	return db.update(ctx, func(tx *Tx) error {
		org, target, actorRole, err := tx.memberAction(ctx, a, orgID, username)
		if err != nil {
			return err
		}
		if target.status == guildhall.StatusActive {
			return guildhall.Errorf(guildhall.ECONFLICT, "%s has already accepted; remove them from %s instead.", target.username, org.Name)
		}
		if !guildhall.CanRevoke(actorRole, target.sentBy(a), target.role) {
			return guildhall.Errorf(guildhall.EFORBIDDEN, "Only the sender, or someone who may grant %s, can revoke this invitation.", target.role)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM memberships WHERE id = ?`, target.id); err != nil {
			return err
		}
		return tx.audit(ctx, orgID, a.Username, guildhall.ActionRevoke, target.username, target.role)
	})
}

// ChangeMemberRole moves an active member to another role. Only members
// ranked below the actor (owners: anyone) can be changed, only to a role
// the actor may grant, never the actor's own, and never the last owner.
func (db *DB) ChangeMemberRole(ctx context.Context, a guildhall.Actor, orgID int64, username string, role guildhall.Role) error {
	if _, err := guildhall.ParseRole(string(role)); err != nil {
		return err
	}
	return db.update(ctx, func(tx *Tx) error {
		org, target, actorRole, err := tx.memberAction(ctx, a, orgID, username)
		if err != nil {
			return err
		}
		if target.status == guildhall.StatusPending {
			return guildhall.Errorf(guildhall.ECONFLICT, "%s has not accepted the invitation yet; revoke it and invite again with the new role.", target.username)
		}
		self := target.userID == a.UserID
		if !guildhall.CanChangeRole(actorRole, self, target.role, role) {
			// The rule said no; say which part of it.
			switch {
			case self:
				return guildhall.Errorf(guildhall.EFORBIDDEN, "You cannot change your own role.")
			case !guildhall.CanGrant(actorRole, target.role):
				return guildhall.Errorf(guildhall.EFORBIDDEN, "As %s you cannot change the role of %s, who is %s.", article(actorRole), target.username, article(target.role))
			}
			return cannotGrant(actorRole, role)
		}
		if target.role == role {
			return nil
		}
		if target.role == guildhall.RoleOwner {
			if err := tx.keepAnOwner(ctx, org, false); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE memberships SET role = ? WHERE id = ?`, string(role), target.id); err != nil {
			return err
		}
		return tx.auditEvent(ctx, guildhall.AuditEvent{OrganizationID: orgID, Actor: a.Username, Action: guildhall.ActionRole,
			Target: target.username, Role: role, OldRole: target.role})
	})
}

// RemoveMember removes an active member. Members ranked below the actor
// (owners: anyone) can be removed; anyone may leave (naming themself, as
// LeaveOrganization does); the last owner stays.
func (db *DB) RemoveMember(ctx context.Context, a guildhall.Actor, orgID int64, username string) error {
	return db.update(ctx, func(tx *Tx) error {
		org, target, actorRole, err := tx.memberAction(ctx, a, orgID, username)
		if err != nil {
			return err
		}
		if target.status == guildhall.StatusPending {
			return guildhall.Errorf(guildhall.ECONFLICT, "%s has not accepted the invitation; revoke it instead.", target.username)
		}
		self := target.userID == a.UserID
		if !guildhall.CanRemove(actorRole, self, target.role) {
			return guildhall.Errorf(guildhall.EFORBIDDEN, "As %s you cannot remove %s, who is %s.", article(actorRole), target.username, article(target.role))
		}
		return tx.removeMember(ctx, org, a, target, self)
	})
}

// LeaveOrganization ends the actor's own active membership. The last owner
// cannot leave: they must transfer ownership first.
func (db *DB) LeaveOrganization(ctx context.Context, a guildhall.Actor, orgID int64) error {
	return db.update(ctx, func(tx *Tx) error {
		org, role, err := tx.orgAsMember(ctx, a, orgID)
		if err != nil {
			return err
		}
		if !guildhall.CanLeave(role) {
			return guildhall.Errorf(guildhall.EFORBIDDEN, "You are not a member of %s.", org.Name)
		}
		me, err := tx.membership(ctx, orgID, a.UserID)
		if err != nil {
			return err
		}
		me.username = a.Username
		return tx.removeMember(ctx, org, a, me, true)
	})
}

// removeMember deletes an active membership the rules allowed, keeping the
// organization's last owner, and audits it as a removal or, when the actor
// removes themself, as leaving.
func (tx *Tx) removeMember(ctx context.Context, org guildhall.Organization, a guildhall.Actor, target membershipRow, self bool) error {
	if target.role == guildhall.RoleOwner {
		if err := tx.keepAnOwner(ctx, org, self); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM memberships WHERE id = ?`, target.id); err != nil {
		return err
	}
	action := guildhall.ActionRemove
	if self {
		action = guildhall.ActionLeave
	}
	return tx.audit(ctx, org.ID, a.Username, action, target.username, target.role)
}

// keepAnOwner refuses to take away the organization's only active owner;
// self says the owner is the actor, who is told to hand over first.
func (tx *Tx) keepAnOwner(ctx context.Context, org guildhall.Organization, self bool) error {
	var owners int
	if err := tx.QueryRowContext(ctx, `
		SELECT count(*) FROM memberships
		WHERE organization_id = ? AND role = 'owner' AND status = 'active'`, org.ID).Scan(&owners); err != nil {
		return err
	}
	switch {
	case owners > 1:
	case self:
		return guildhall.Errorf(guildhall.ECONFLICT, "You are the last owner of %s; transfer ownership to another member first.", org.Name)
	default:
		return guildhall.Errorf(guildhall.ECONFLICT, "%s must keep at least one owner; make someone else owner first.", org.Name)
	}
	return nil
}

// memberAction loads what an action on another member needs: the
// organization, the actor's role (active members only) and the target row.
func (tx *Tx) memberAction(ctx context.Context, a guildhall.Actor, orgID int64, username string) (guildhall.Organization, membershipRow, guildhall.Role, error) {
	org, actorRole, err := tx.orgAsMember(ctx, a, orgID)
	if err != nil {
		return org, membershipRow{}, "", err
	}
	row, err := tx.member(ctx, org, username)
	return org, row, actorRole, err
}

// member reads the row of the user named username (folded, see
// guildhall.FoldUsername) in org: ENOTFOUND if there is no such user, or
// they neither belong to org nor are invited to it.
func (tx *Tx) member(ctx context.Context, org guildhall.Organization, username string) (membershipRow, error) {
	username = guildhall.FoldUsername(username)
	targetID, err := tx.userID(ctx, username)
	if err != nil {
		return membershipRow{}, err
	}
	row, err := tx.membership(ctx, org.ID, targetID)
	if errors.Is(err, sql.ErrNoRows) {
		return row, guildhall.Errorf(guildhall.ENOTFOUND, "%s is not a member of %s and has no invitation to it.", username, org.Name)
	}
	row.username = username
	return row, err
}

// membershipRow is a memberships row as the rules need it.
type membershipRow struct {
	id       int64
	userID   int64
	username string // filled by member, from the name looked up
	role     guildhall.Role
	status   guildhall.Status
	senderID sql.NullInt64
	expires  time.Time
}

// sentBy reports whether a is the one who sent this invitation.
func (r membershipRow) sentBy(a guildhall.Actor) bool {
	return r.senderID.Valid && r.senderID.Int64 == a.UserID
}

// membership reads one user's row in one organization; sql.ErrNoRows if none.
func (tx *Tx) membership(ctx context.Context, orgID, userID int64) (membershipRow, error) {
	var r membershipRow
	var role, status string
	var expires sql.NullInt64
	err := tx.QueryRowContext(ctx, `
		SELECT id, user_id, role, status, sender_id, expires
		FROM memberships WHERE organization_id = ? AND user_id = ?`, orgID, userID).
		Scan(&r.id, &r.userID, &role, &status, &r.senderID, &expires)
	r.role, r.status, r.expires = guildhall.Role(role), guildhall.Status(status), fromUnix(expires)
	return r, err
}

// organization reads an organization or fails with ENOTFOUND.
func (tx *Tx) organization(ctx context.Context, id int64) (guildhall.Organization, error) {
	org := guildhall.Organization{ID: id}
	var created int64
	err := tx.QueryRowContext(ctx, `SELECT name, description, created FROM organizations WHERE id = ?`, id).
		Scan(&org.Name, &org.Description, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return org, guildhall.Errorf(guildhall.ENOTFOUND, "Organization %d does not exist.", id)
	}
	org.Created = time.Unix(created, 0).UTC()
	return org, err
}

// orgAsMember loads an organization and the actor's role in it: ENOTFOUND
// if there is no such organization, EFORBIDDEN unless the actor is one of
// its active members. Every operation on an organization starts here, so
// it is one statement: the organization and the actor's row together.
func (tx *Tx) orgAsMember(ctx context.Context, a guildhall.Actor, orgID int64) (guildhall.Organization, guildhall.Role, error) {
	org := guildhall.Organization{ID: orgID}
	var created int64
	var role, status sql.NullString
	err := tx.QueryRowContext(ctx, `
		SELECT o.name, o.description, o.created, m.role, m.status
		FROM organizations o LEFT JOIN memberships m ON m.organization_id = o.id AND m.user_id = ?2
		WHERE o.id = ?1`, orgID, a.UserID).Scan(&org.Name, &org.Description, &created, &role, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return org, "", guildhall.Errorf(guildhall.ENOTFOUND, "Organization %d does not exist.", orgID)
	} else if err != nil {
		return org, "", err
	}
	org.Created = time.Unix(created, 0).UTC()
	if guildhall.Status(status.String) != guildhall.StatusActive {
		// By id: an outsider learns nothing they did not send.
		return org, "", guildhall.Errorf(guildhall.EFORBIDDEN, "You are not a member of organization %d.", orgID)
	}
	return org, guildhall.Role(role.String), nil
}

// userID finds a user by name or fails with ENOTFOUND.
func (tx *Tx) userID(ctx context.Context, username string) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE username = ?`, username).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, guildhall.Errorf(guildhall.ENOTFOUND, "There is no user named %q.", username)
	}
	return id, err
}

// cannotGrant explains a refused grant in terms of what the actor may grant.
func cannotGrant(actor, role guildhall.Role) error {
	grantable := guildhall.GrantableRoles(actor)
	if len(grantable) == 0 {
		return guildhall.Errorf(guildhall.EFORBIDDEN, "As %s you cannot invite or grant roles.", article(actor))
	}
	names := ""
	for i, r := range grantable {
		switch {
		case i == 0:
		case i == len(grantable)-1:
			names += " or "
		default:
			names += ", "
		}
		names += string(r)
	}
	return guildhall.Errorf(guildhall.EFORBIDDEN, "As %s you cannot grant the %s role; you may grant %s.", article(actor), role, names)
}

// article returns "an admin", "a member" and so on, for messages.
func article(r guildhall.Role) string {
	if r == guildhall.RoleAdmin || r == guildhall.RoleOwner {
		return "an " + string(r)
	}
	return "a " + string(r)
}
