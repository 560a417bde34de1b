package db

import (
	"context"
	"strings"

	"guildhall"
)

// membersWhere selects an organization's members and open invitations
// (?1 organization, ?2 now), optionally those whose username contains a
// fragment (?3, a LIKE pattern; '%' for all).
const membersWhere = `
	WHERE m.organization_id = ?1 AND (m.status = 'active' OR m.expires > ?2)
	  AND u.username LIKE ?3 ESCAPE '\'`

// ListMembersPage returns one page of an organization's members and open
// invitations, in FetchOrganizationMembers' order, optionally only those
// whose username contains search. Only active members may look. limit 0
// means guildhall.MembersPageSize; larger than MembersPageMaxSize is an
// error, as is a negative offset.
func (db *DB) ListMembersPage(ctx context.Context, a guildhall.Actor, orgID int64, search string, offset, limit int) (guildhall.MembersPage, error) {
	search = strings.ToLower(strings.TrimSpace(search))
	switch {
	case limit == 0:
		limit = guildhall.MembersPageSize
	case limit < 0 || limit > guildhall.MembersPageMaxSize:
		return guildhall.MembersPage{}, guildhall.Errorf(guildhall.EINVALID, "A page holds 1 to %d rows, not %d.", guildhall.MembersPageMaxSize, limit)
	}
	if offset < 0 {
		return guildhall.MembersPage{}, guildhall.Errorf(guildhall.EINVALID, "The offset must not be negative.")
	}
	if len(search) > guildhall.MemberSearchMaxLen {
		return guildhall.MembersPage{}, guildhall.Errorf(guildhall.EINVALID, "Search for at most %d characters of a username.", guildhall.MemberSearchMaxLen)
	}
	page := guildhall.MembersPage{Offset: offset, Limit: limit, Search: search}
	pattern := "%" + likeEscaper.Replace(search) + "%"
	err := db.view(ctx, func(tx *Tx) error {
		_, _, err := tx.orgAsMember(ctx, a, orgID)
		if err != nil {
			return err
		}
		// Without a search the count needs no usernames, so no join.
		countQuery, countArgs := `SELECT count(*) FROM memberships m JOIN users u ON u.id = m.user_id`+membersWhere, []any{orgID, unix(tx.now), pattern}
		if search == "" {
			countQuery, countArgs = `SELECT count(*) FROM memberships m WHERE m.organization_id = ?1 AND (m.status = 'active' OR m.expires > ?2)`, countArgs[:2]
		}
		if err := tx.QueryRowContext(ctx, countQuery, countArgs...).Scan(&page.Total); err != nil {
			return err
		}
		// The page's rows are chosen first from the narrow columns the order
		// needs; only those rows are then joined to their organization and sender.
		page.Members, err = tx.memberships(ctx, `SELECT `+membershipColumns+membershipJoins+`
			WHERE m.id IN (
				SELECT m.id FROM memberships m JOIN users u ON u.id = m.user_id`+membersWhere+`
				ORDER BY `+membersOrder+` LIMIT ?4 OFFSET ?5)
			ORDER BY `+membersOrder,
			orgID, unix(tx.now), pattern, limit, offset)
		return err
	})
	return page, err
}

// likeEscaper makes a search fragment match itself literally in LIKE ... ESCAPE '\'.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
