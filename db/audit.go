package db

import (
	"context"
	"database/sql"

	"guildhall"
)

// AuditLog lists an organization's audit events, newest first, to those
// guildhall.CanReadAuditLog lets read it (its active owners and admins):
// the latest limit of them, or guildhall.AuditLogMaxEvents when limit is 0
// or more than that.
func (db *DB) AuditLog(ctx context.Context, a guildhall.Actor, orgID int64, limit int) ([]guildhall.AuditEvent, error) {
	if limit <= 0 || limit > guildhall.AuditLogMaxEvents {
		limit = guildhall.AuditLogMaxEvents
	}
	out := []guildhall.AuditEvent{}
	err := db.view(ctx, func(tx *Tx) error {
		org, role, err := tx.orgAsMember(ctx, a, orgID)
		if err != nil {
			return err
		}
		if !guildhall.CanReadAuditLog(role) {
			return guildhall.Errorf(guildhall.EFORBIDDEN, "Only owners and admins can read the audit log of %s.", org.Name)
		}
		rows, err := tx.QueryContext(ctx, `
			SELECT id, organization_id, time, actor, action, target, role, old_role, old_name
			FROM audit_events WHERE organization_id = ? ORDER BY id DESC LIMIT ?`, orgID, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e guildhall.AuditEvent
			var t int64
			var role, oldRole string
			if err := rows.Scan(&e.ID, &e.OrganizationID, &t, &e.Actor, &e.Action, &e.Target, &role, &oldRole, &e.OldName); err != nil {
				return err
			}
			e.Time, e.Role, e.OldRole = fromUnix(sql.NullInt64{Int64: t, Valid: true}), guildhall.Role(role), guildhall.Role(oldRole)
			out = append(out, e)
		}
		return rows.Err()
	})
	return out, err
}

// audit records one membership change in the current transaction.
func (tx *Tx) audit(ctx context.Context, orgID int64, actor, action, target string, role guildhall.Role) error {
	return tx.auditEvent(ctx, guildhall.AuditEvent{OrganizationID: orgID, Actor: actor, Action: action, Target: target, Role: role})
}

// auditEvent records e, with what it replaced, at the transaction's time.
func (tx *Tx) auditEvent(ctx context.Context, e guildhall.AuditEvent) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO audit_events (organization_id, time, actor, action, target, role, old_role, old_name)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, e.OrganizationID, unix(tx.now), e.Actor, e.Action, e.Target, string(e.Role), string(e.OldRole), e.OldName)
	return err
}
