package db

import (
	"context"

	"guildhall"
)

// ResendInvitation renews a pending invitation, open or expired, with a
// new expiry counted from now, for whoever guildhall.CanResend allows (as
// for revoking it). A renewed expired invitation is opened again, so it
// counts again towards the organization's cap on open invitations and,
// as a new invitation would, towards the invitee's
// (Options.MaxPendingInvitesPerUser: the same 409 as invite's).
func (db *DB) ResendInvitation(ctx context.Context, a guildhall.Actor, orgID int64, username string) (guildhall.Membership, error) {
	var m guildhall.Membership
	err := db.update(ctx, func(tx *Tx) error {
		org, target, actorRole, err := tx.memberAction(ctx, a, orgID, username)
		if err != nil {
			return err
		}
		if target.status == guildhall.StatusActive {
			return guildhall.Errorf(guildhall.ECONFLICT, "%s has already accepted the invitation to %s.", target.username, org.Name)
		}
		if !guildhall.CanResend(actorRole, target.sentBy(a), target.role) {
			return guildhall.Errorf(guildhall.EFORBIDDEN, "Only the sender, or someone who may grant %s, can renew this invitation.", target.role)
		}
		if !target.expires.After(tx.now) {
			if err := tx.checkInviteeCap(ctx, target.userID, target.username, db.maxPendingInvitesPerUser); err != nil {
				return err
			}
		}
		expires := tx.now.Add(db.ttl)
		if _, err := tx.ExecContext(ctx, `UPDATE memberships SET expires = ? WHERE id = ?`, unix(expires), target.id); err != nil {
			return err
		}
		if err := tx.checkPendingCap(ctx, org, db.maxPendingInvites); err != nil {
			return err
		}
		m = guildhall.Membership{OrganizationID: orgID, OrganizationName: org.Name, Username: target.username,
			Role: target.role, Status: guildhall.StatusPending, Expires: expires}
		return tx.audit(ctx, orgID, a.Username, guildhall.ActionResend, target.username, target.role)
	})
	return m, err
}

// DeclineAllInvitations declines every open invitation addressed to the
// actor, each audited in its organization as a decline, and returns how
// many there were. Expired invitations are left for their organizations'
// owners and admins to renew or revoke.
func (db *DB) DeclineAllInvitations(ctx context.Context, a guildhall.Actor) (int, error) {
	var declined int
	err := db.update(ctx, func(tx *Tx) error {
		declined = 0
		rows, err := tx.QueryContext(ctx, `
			DELETE FROM memberships
			WHERE user_id = ? AND status = 'pending' AND expires > ?
			RETURNING organization_id, role`, a.UserID, unix(tx.now))
		if err != nil {
			return err
		}
		type invitation struct {
			orgID int64
			role  string
		}
		var gone []invitation
		for rows.Next() {
			var inv invitation
			if err := rows.Scan(&inv.orgID, &inv.role); err != nil {
				rows.Close()
				return err
			}
			gone = append(gone, inv)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for _, inv := range gone {
			if err := tx.audit(ctx, inv.orgID, a.Username, guildhall.ActionDecline, a.Username, guildhall.Role(inv.role)); err != nil {
				return err
			}
		}
		declined = len(gone)
		return nil
	})
	return declined, err
}
