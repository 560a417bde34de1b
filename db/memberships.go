package db

import (
	"context"
	"database/sql"

	"guildhall"
)

// A user's own memberships are listed in the order they were made (by
// id), by keyset over memberships_user_status (user_id, status, and the
// rowid every SQLite index ends with; a PostgreSQL backend indexes
// (user_id, status, id)): a page costs the same however many memberships
// the user has.

// userMembershipArm reads one status of a user's memberships after an
// id: ?1 the user, ?2 the id bound (exclusive), ?3 now. Open invitations
// are those not yet expired. A page reads the rows it needs and no more
// (see sqliteSkipRows on LIMIT).
func userMembershipArm(status guildhall.Status) string {
	cond := `m.status = 'active'`
	if status == guildhall.StatusPending {
		cond = `m.status = 'pending' AND m.expires > ?3`
	}
	return userMembershipSelect + `
	WHERE m.user_id = ?1 AND ` + cond + ` AND m.id > ?2`
}

// userMembershipSelect reads a user's membership with its organization's
// and its sender's names; scanUserMembership reads it.
const userMembershipSelect = `SELECT m.id AS id, m.organization_id, o.name, m.username, m.role, m.status,
		m.sender_name, m.created, m.expires, m.accepted
	FROM memberships m
	JOIN organizations o ON o.id = m.organization_id`

// openInvitationSQL reads one open invitation of a user: ?1 the user, ?2
// the organization, ?3 now.
const openInvitationSQL = userMembershipSelect + `
	WHERE m.user_id = ?1 AND m.organization_id = ?2 AND m.status = 'pending' AND m.expires > ?3`

// scanUserMembership reads a row of userMembershipArm's columns into m and
// returns its id.
func scanUserMembership(rows *sql.Rows, m *guildhall.Membership) (int64, error) {
	var id, created int64
	var role, status string
	var expires, accepted sql.NullInt64
	err := rows.Scan(&id, &m.OrganizationID, &m.OrganizationName, &m.Username, &role, &status,
		&m.Sender, &created, &expires, &accepted)
	m.Role, m.Status = guildhall.Role(role), guildhall.Status(status)
	m.Created = fromUnix(sql.NullInt64{Int64: created, Valid: true})
	m.Expires, m.Accepted = fromUnix(expires), fromUnix(accepted)
	return id, err
}

// userMembershipsSQL is each subset's page query: one status read in
// order, or both merged by id; ?4 and ?5 are the most rows to read and
// the rows to skip (none), where the backend's skipRows uses them.
func (l *memberListSQL) userMembershipsSQL() map[guildhall.MembershipSubset]string {
	return map[guildhall.MembershipSubset]string{
		guildhall.SubsetAccepted:        userMembershipArm(guildhall.StatusActive) + ` ORDER BY m.id` + l.skipRows(4, 5),
		guildhall.SubsetOpenInvitations: userMembershipArm(guildhall.StatusPending) + ` ORDER BY m.id` + l.skipRows(4, 5),
		guildhall.SubsetAll: userMembershipArm(guildhall.StatusActive) + `
		UNION ALL
		` + userMembershipArm(guildhall.StatusPending) + ` ORDER BY id` + l.skipRows(4, 5),
	}
}

// ListMemberships returns one page of the actor's own memberships:
// accepted ones, open invitations (expired ones are left out: they can no
// longer be accepted), or both, in the order they were made, with the
// cursor to the next page.
func (db *DB) ListMemberships(ctx context.Context, a guildhall.Actor, q guildhall.MembershipsQuery) (guildhall.MembershipsPage, error) {
	if _, err := guildhall.ParseMembershipSubset(string(q.Subset)); err != nil {
		return guildhall.MembershipsPage{}, err
	}
	if q.Limit == 0 {
		q.Limit = guildhall.ListDefaultLimit
	}
	if err := guildhall.CheckListLimit(q.Limit); err != nil {
		return guildhall.MembershipsPage{}, err
	}
	list := listID("memberships", a.UserID, q.Subset)
	cur, err := decodeCursor(q.Cursor, list)
	if err != nil {
		return guildhall.MembershipsPage{}, err
	}
	var after int64
	if cur != nil {
		after = cur.ID
	}
	page := guildhall.MembershipsPage{Memberships: []guildhall.Membership{}}
	err = db.view(ctx, func(tx *Tx) error {
		rows, err := tx.QueryContext(ctx, tx.dialect.lists.userMemberships[q.Subset], a.UserID, after, unix(tx.now), q.Limit+1, 0)
		if err != nil {
			return err
		}
		defer rows.Close()
		var last int64
		for rows.Next() {
			if len(page.Memberships) == q.Limit {
				page.NextCursor = cursor{List: list, ID: last}.encode()
				break
			}
			var m guildhall.Membership
			if last, err = scanUserMembership(rows, &m); err != nil {
				return err
			}
			page.Memberships = append(page.Memberships, m)
		}
		return rows.Err()
	})
	return page, err
}

// FetchMemberships lists all of the actor's memberships of a subset (see
// ListMemberships), every page read one after another: it costs the whole
// list. For tools and tests; the API and the pages read a page at a time.
func (db *DB) FetchMemberships(ctx context.Context, a guildhall.Actor, subset guildhall.MembershipSubset) ([]guildhall.Membership, error) {
	out := []guildhall.Membership{}
	q := guildhall.MembershipsQuery{Subset: subset, Limit: guildhall.ListMaxLimit}
	for {
		page, err := db.ListMemberships(ctx, a, q)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Memberships...)
		if page.NextCursor == "" {
			return out, nil
		}
		q.Cursor = page.NextCursor
	}
}

// OpenInvitation returns the actor's own open invitation to an
// organization, or ENOTFOUND if they have none (an expired one included).
func (db *DB) OpenInvitation(ctx context.Context, a guildhall.Actor, orgID int64) (guildhall.Membership, error) {
	var m guildhall.Membership
	err := db.view(ctx, func(tx *Tx) error {
		rows, err := tx.QueryContext(ctx, openInvitationSQL, a.UserID, orgID, unix(tx.now))
		if err != nil {
			return err
		}
		defer rows.Close()
		if !rows.Next() {
			if err := rows.Err(); err != nil {
				return err
			}
			return guildhall.Errorf(guildhall.ENOTFOUND, "You have no open invitation to organization %d.", orgID)
		}
		_, err = scanUserMembership(rows, &m)
		return err
	})
	return m, err
}
