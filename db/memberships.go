package db

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"guildhall"
)

// membersOrder is the order of member lists: open invitations first (they
// are what owners and admins act on), then by rank, highest first, then by
// username.
var membersOrder = `m.status DESC, ` + roleRankSQL("m.role") + ` DESC, u.username`

// roleRankSQL is an SQL expression for the rank of the role in column, as
// guildhall.Role.Rank gives it: the ranking is written once, in the root
// package, and the queries are built from it when the program starts. The
// roles are constants, so quoting them here is safe.
func roleRankSQL(column string) string {
	var b strings.Builder
	b.WriteString("CASE " + column)
	for _, r := range guildhall.Roles {
		fmt.Fprintf(&b, " WHEN '%s' THEN %d", r, r.Rank())
	}
	b.WriteString(" ELSE 0 END")
	return b.String()
}

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
