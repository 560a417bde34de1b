package db

import (
	"context"
	"database/sql"

	"guildhall"
)

// membershipColumns selects a guildhall.Membership; scanMembership reads it.
const membershipColumns = `
	m.organization_id, o.name, u.username, m.role, m.status,
	coalesce(s.username, ''), m.created, m.expires, m.accepted`

const membershipJoins = `
	FROM memberships m
	JOIN organizations o ON o.id = m.organization_id
	JOIN users u ON u.id = m.user_id
	LEFT JOIN users s ON s.id = m.sender_id`

func scanMembership(rows *sql.Rows) (guildhall.Membership, error) {
	var m guildhall.Membership
	var role, status string
	var created int64
	var expires, accepted sql.NullInt64
	err := rows.Scan(&m.OrganizationID, &m.OrganizationName, &m.Username, &role, &status,
		&m.Sender, &created, &expires, &accepted)
	m.Role, m.Status = guildhall.Role(role), guildhall.Status(status)
	m.Created = fromUnix(sql.NullInt64{Int64: created, Valid: true})
	m.Expires, m.Accepted = fromUnix(expires), fromUnix(accepted)
	return m, err
}

func (tx *Tx) memberships(ctx context.Context, query string, args ...any) ([]guildhall.Membership, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []guildhall.Membership{}
	for rows.Next() {
		m, err := scanMembership(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// FetchMemberships lists the actor's own memberships: accepted ones, open
// invitations (expired ones are left out: they can no longer be accepted),
// or both.
func (db *DB) FetchMemberships(ctx context.Context, a guildhall.Actor, subset guildhall.MembershipSubset) ([]guildhall.Membership, error) {
	if _, err := guildhall.ParseMembershipSubset(string(subset)); err != nil {
		return nil, err
	}
	var out []guildhall.Membership
	err := db.view(ctx, func(tx *Tx) error {
		var err error
		out, err = tx.memberships(ctx, `SELECT `+membershipColumns+membershipJoins+`
			WHERE m.user_id = ?1
			  AND (m.status = 'active' AND ?2 != 'open_invitations'
			    OR m.status = 'pending' AND m.expires > ?3 AND ?2 != 'accepted')
			ORDER BY o.name, o.id`, a.UserID, string(subset), unix(tx.now))
		return err
	})
	return out, err
}

// FetchOrganizationMembers lists an organization's members and open
// invitations, in membersOrder. Only active members may look.
func (db *DB) FetchOrganizationMembers(ctx context.Context, a guildhall.Actor, orgID int64) ([]guildhall.Membership, error) {
	var out []guildhall.Membership
	err := db.view(ctx, func(tx *Tx) error {
		_, _, err := tx.orgAsMember(ctx, a, orgID)
		if err != nil {
			return err
		}
		out, err = tx.memberships(ctx, `SELECT `+membershipColumns+membershipJoins+`
			WHERE m.organization_id = ? AND (m.status = 'active' OR m.expires > ?)
			ORDER BY `+membersOrder,
			orgID, unix(tx.now))
		return err
	})
	return out, err
}

// AuditLog lists an organization's audit events, newest first. Only its
// active owners and admins may read it.
func (db *DB) AuditLog(ctx context.Context, a guildhall.Actor, orgID int64, limit int) ([]guildhall.AuditEvent, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	out := []guildhall.AuditEvent{}
	err := db.view(ctx, func(tx *Tx) error {
		org, role, err := tx.orgAsMember(ctx, a, orgID)
		if err != nil {
			return err
		}
		if role.Rank() < guildhall.RoleAdmin.Rank() {
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
