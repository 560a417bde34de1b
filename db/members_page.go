package db

import (
	"context"
	"strings"

	"guildhall"
)

// standingSQL names where a row stands, as guildhall.Standings does: an
// active member, an open invitation, or an expired one (?2 is now).
const standingSQL = `CASE WHEN m.status = 'active' THEN 'active' WHEN m.expires > ?2 THEN 'invited' ELSE 'expired' END`

// membersFrom is a member list's rows before any filter (?1 organization),
// with the usernames a search (?3, a LIKE pattern; '%' for all) needs.
const membersFrom = `
	FROM memberships m JOIN users u ON u.id = m.user_id
	WHERE m.organization_id = ?1 AND u.username LIKE ?3 ESCAPE '\'`

// standingFilterSQL is the condition each filter puts on the rows (?2 is now).
var standingFilterSQL = map[guildhall.MemberFilter]string{
	guildhall.MembersCurrent: ` AND (m.status = 'active' OR m.expires > ?2)`,
	guildhall.MembersActive:  ` AND m.status = 'active'`,
	guildhall.MembersInvited: ` AND m.status = 'pending' AND m.expires > ?2`,
	guildhall.MembersExpired: ` AND m.status = 'pending' AND m.expires <= ?2`,
	guildhall.MembersAll:     ``,
}

// membersSortSQL is each order of a member list; username breaks ties, so
// the order is total and pages do not overlap.
var membersSortSQL = map[guildhall.MemberSort]string{
	guildhall.SortByRole:   membersOrder,
	guildhall.SortByName:   `u.username`,
	guildhall.SortByJoined: `coalesce(m.accepted, m.created) DESC, u.username`,
}

// ListMembersPage returns one page of an organization's member list, the
// rows q selects in q's order, with the counts of each standing and role
// beside the filters. Only active members may look, and only those
// guildhall.CanSeeExpiredInvitations allows may list expired invitations
// (to others they are not counted either). A Limit of 0 means
// guildhall.MembersPageSize; more than MembersPageMaxSize is an error, as
// is a negative offset. An offset past the end gives an empty page, whose
// OutOfRange says so.
func (db *DB) ListMembersPage(ctx context.Context, a guildhall.Actor, orgID int64, q guildhall.MembersQuery) (guildhall.MembersPage, error) {
	q.Search = strings.ToLower(strings.TrimSpace(q.Search))
	switch {
	case q.Limit == 0:
		q.Limit = guildhall.MembersPageSize
	case q.Limit < 0 || q.Limit > guildhall.MembersPageMaxSize:
		return guildhall.MembersPage{}, guildhall.Errorf(guildhall.EINVALID, "A page holds 1 to %d rows, not %d.", guildhall.MembersPageMaxSize, q.Limit)
	}
	if q.Offset < 0 {
		return guildhall.MembersPage{}, guildhall.Errorf(guildhall.EINVALID, "The offset must not be negative.")
	}
	if len(q.Search) > guildhall.MemberSearchMaxLen {
		return guildhall.MembersPage{}, guildhall.Errorf(guildhall.EINVALID, "Search for at most %d characters of a username.", guildhall.MemberSearchMaxLen)
	}
	if _, err := guildhall.ParseMemberFilter(string(q.Status)); err != nil {
		return guildhall.MembersPage{}, err
	}
	if _, err := guildhall.ParseMemberSort(string(q.Sort)); err != nil {
		return guildhall.MembersPage{}, err
	}
	if q.Role != "" {
		if _, err := guildhall.ParseRole(string(q.Role)); err != nil {
			return guildhall.MembersPage{}, err
		}
	}
	page := guildhall.MembersPage{MembersQuery: q, StandingCounts: map[guildhall.MemberFilter]int{}, RoleCounts: map[guildhall.Role]int{}}
	pattern := "%" + likeEscaper.Replace(q.Search) + "%"
	err := db.view(ctx, func(tx *Tx) error {
		org, role, err := tx.orgAsMember(ctx, a, orgID)
		if err != nil {
			return err
		}
		page.AsOf = tx.now
		seesExpired := guildhall.CanSeeExpiredInvitations(role)
		if q.Status.NeedsExpired() && !seesExpired {
			return guildhall.Errorf(guildhall.EFORBIDDEN, "Only owners and admins see the expired invitations of %s.", org.Name)
		}
		if err := tx.countMembers(ctx, orgID, &page, seesExpired, pattern); err != nil {
			return err
		}
		where := membersFrom + standingFilterSQL[q.Status]
		args := []any{orgID, unix(tx.now), pattern, q.Limit, q.Offset}
		if q.Role != "" {
			where += ` AND m.role = ?6`
			args = append(args, string(q.Role))
		}
		order := membersSortSQL[q.Sort]
		// The page's rows are chosen first from the narrow columns the order
		// needs; only those rows are then joined to their organization and sender.
		page.Members, err = tx.memberships(ctx, `SELECT `+membershipColumns+membershipJoins+`
			WHERE m.id IN (SELECT m.id`+where+` ORDER BY `+order+` LIMIT ?4 OFFSET ?5)
			ORDER BY `+order, args...)
		return err
	})
	return page, err
}

// countMembers fills the page's counts from one grouped count of the
// organization's rows (under the search) by standing and role: each count
// beside a filter applies the other filter, and Total applies both.
func (tx *Tx) countMembers(ctx context.Context, orgID int64, page *guildhall.MembersPage, seesExpired bool, pattern string) error {
	rows, err := tx.QueryContext(ctx, `SELECT `+standingSQL+`, m.role, count(*)`+membersFrom+` GROUP BY 1, 2`,
		orgID, unix(tx.now), pattern)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var standing, role string
		var n int
		if err := rows.Scan(&standing, &role, &n); err != nil {
			return err
		}
		s, r := guildhall.MemberFilter(standing), guildhall.Role(role)
		if s == guildhall.MembersExpired && !seesExpired {
			continue
		}
		inStatus, inRole := page.Status.Includes(s), page.Role == "" || page.Role == r
		if inRole {
			page.StandingCounts[s] += n
		}
		if inStatus {
			page.RoleCounts[r] += n
		}
		if inStatus && inRole {
			page.Total += n
		}
	}
	return rows.Err()
}

// likeEscaper makes a search fragment match itself literally in LIKE ... ESCAPE '\'.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
