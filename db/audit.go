package db

import (
	"context"
	"database/sql"

	"guildhall"
)

// auditPageSQL reads an organization's audit events older than an id,
// newest first, by keyset over the table's key (organization_id, id): ?1
// the organization, ?2 the id bound (exclusive), ?3 and ?4 the most rows
// to read and the rows to skip (none), where the backend's skipRows uses
// them. A page reads the rows it needs and no more (see sqliteSkipRows on
// LIMIT).
func (l *memberListSQL) auditPageSQL() string {
	return `
	SELECT id, organization_id, time, actor, action, target, role, old_role, old_name
	FROM audit_events WHERE organization_id = ?1 AND id < ?2 ORDER BY id DESC` + l.skipRows(3, 4)
}

// ListAuditLog returns one page of an organization's audit events, newest
// first, with the cursor to the older ones, to those
// guildhall.CanReadAuditLog lets read it (its active owners and admins).
// A page costs the same however long the trail.
func (db *DB) ListAuditLog(ctx context.Context, a guildhall.Actor, orgID int64, q guildhall.AuditQuery) (guildhall.AuditPage, error) {
	if q.Limit == 0 {
		q.Limit = guildhall.ListDefaultLimit
	}
	if err := guildhall.CheckListLimit(q.Limit); err != nil {
		return guildhall.AuditPage{}, err
	}
	var page guildhall.AuditPage
	err := db.view(ctx, func(tx *Tx) error {
		org, role, err := tx.orgAsMember(ctx, a, orgID)
		if err != nil {
			return err
		}
		if !guildhall.CanReadAuditLog(role) {
			return guildhall.Errorf(guildhall.EFORBIDDEN, "Only owners and admins can read the audit log of %s.", org.Name)
		}
		page, err = tx.auditPage(ctx, orgID, q)
		return err
	})
	return page, err
}

// AuditLog lists an organization's latest audit events, newest first (at
// most guildhall.AuditLogMaxEvents; limit 0 or more than that means that
// many): the first page of ListAuditLog.
func (db *DB) AuditLog(ctx context.Context, a guildhall.Actor, orgID int64, limit int) ([]guildhall.AuditEvent, error) {
	if limit <= 0 || limit > guildhall.AuditLogMaxEvents {
		limit = guildhall.AuditLogMaxEvents
	}
	page, err := db.ListAuditLog(ctx, a, orgID, guildhall.AuditQuery{Limit: limit})
	return page.Events, err
}

// auditPage reads one page of an organization's audit trail; the caller
// has checked the reader may.
func (tx *Tx) auditPage(ctx context.Context, orgID int64, q guildhall.AuditQuery) (guildhall.AuditPage, error) {
	page := guildhall.AuditPage{Events: []guildhall.AuditEvent{}}
	list := listID("audit", orgID)
	cur, err := decodeCursor(q.Cursor, list)
	if err != nil {
		return page, err
	}
	before := int64(1<<63 - 1)
	if cur != nil {
		before = cur.ID
	}
	rows, err := tx.QueryContext(ctx, tx.dialect.lists.auditPage, orgID, before, q.Limit+1, 0)
	if err != nil {
		return page, err
	}
	defer rows.Close()
	for rows.Next() {
		if len(page.Events) == q.Limit {
			page.NextCursor = cursor{List: list, ID: page.Events[len(page.Events)-1].ID}.encode()
			break
		}
		var e guildhall.AuditEvent
		var t int64
		var role, oldRole string
		if err := rows.Scan(&e.ID, &e.OrganizationID, &t, &e.Actor, &e.Action, &e.Target, &role, &oldRole, &e.OldName); err != nil {
			return page, err
		}
		e.Time, e.Role, e.OldRole = fromUnix(sql.NullInt64{Int64: t, Valid: true}), guildhall.Role(role), guildhall.Role(oldRole)
		page.Events = append(page.Events, e)
	}
	return page, rows.Err()
}

// audit records one membership change in the current transaction.
func (tx *Tx) audit(ctx context.Context, orgID int64, actor, action, target string, role guildhall.Role) error {
	return tx.auditEvent(ctx, guildhall.AuditEvent{OrganizationID: orgID, Actor: actor, Action: action, Target: target, Role: role})
}

// auditEventSQL records an event as the next of its organization: its id
// follows the organization's last (a seek to the end of its key range).
const auditEventSQL = `
	INSERT INTO audit_events (organization_id, id, time, actor, action, target, role, old_role, old_name)
	VALUES (?1, (SELECT coalesce(max(id), 0) + 1 FROM audit_events WHERE organization_id = ?1), ?2, ?3, ?4, ?5, ?6, ?7, ?8)`

// auditEvent records e, with what it replaced, at the transaction's time.
func (tx *Tx) auditEvent(ctx context.Context, e guildhall.AuditEvent) error {
	_, err := tx.ExecContext(ctx, auditEventSQL, e.OrganizationID, unix(tx.now), e.Actor, e.Action, e.Target, string(e.Role), string(e.OldRole), e.OldName)
	return err
}
