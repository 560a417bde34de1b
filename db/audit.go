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
			SELECT id, organization_id, time, actor, action, target, role
			FROM audit_events WHERE organization_id = ? ORDER BY id DESC LIMIT ?`, orgID, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e guildhall.AuditEvent
			var t int64
			var role string
			if err := rows.Scan(&e.ID, &e.OrganizationID, &t, &e.Actor, &e.Action, &e.Target, &role); err != nil {
				return err
			}
			e.Time, e.Role = fromUnix(sql.NullInt64{Int64: t, Valid: true}), guildhall.Role(role)
			out = append(out, e)
		}
		return rows.Err()
	})
	return out, err
}

// audit records one membership change in the current transaction.
func (tx *Tx) audit(ctx context.Context, orgID int64, actor, action, target string, role guildhall.Role) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO audit_events (organization_id, time, actor, action, target, role)
		VALUES (?, ?, ?, ?, ?, ?)`, orgID, unix(tx.now), actor, action, target, string(role))
	return err
}
