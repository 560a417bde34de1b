package db

import (
	"fmt"
	"strings"
	"sync"

	"guildhall"
)

// The SQL of an organization's member list (members_page.go). Every page
// is read by keyset over an index that holds its order, so a page costs
// the same at any length of the list:
//
//   - memberships_list (organization_id, status, role, username) holds
//     each segment (one status and one role) by username;
//   - memberships_recent (organization_id, status, role, recency,
//     username) holds each segment most recent first.
//
// The order of the segments (invitations first, then roles highest first)
// is the service's, from guildhall.Roles: a sort by role reads the
// segments one after another, and a sort by name or by date merges them
// (a compound SELECT whose arms each read one segment in order; SQLite
// merges them row by row, PostgreSQL with a Merge Append). Nothing here
// knows how roles rank.
//
// Written in portable SQL (row values, OFFSET, UNION ALL) except where
// each backend supplies its own through its dialect's memberListSQL: how
// rows are skipped and bounded (skipRows) and the username search (SQLite's
// FTS5, PostgreSQL's pg_trgm). livePendingByRoleSQL names its index
// (INDEXED BY), which PostgreSQL's rebind drops: its planner picks the
// partial index itself. PostgreSQL orders username with COLLATE "C", the
// byte order these bounds assume.

// membersColumns are what a page shows of each row; memberScanner reads
// them. The list indexes hold every one of them, so a page is read from an
// index alone.
const membersColumns = `m.username AS username, m.role, m.status, m.sender_name, m.created, m.expires, m.accepted`

// membersFrom is where a page's rows are.
const membersFrom = ` FROM memberships m`

// usernameAfterAll sorts after every username in byte order: usernames
// hold only [a-z0-9_.-] (guildhall.ValidateUsername), all below '~'. It
// bounds a backward read of a whole segment.
const usernameAfterAll = "~"

// expiryMode is what a segment of open invitations keeps: all of them,
// those still open, or those past their expiry. Active segments keep all.
type expiryMode int

const (
	anyExpiry expiryMode = iota
	liveOnly
	expiredOnly
)

// sql is the condition the mode puts on a segment's rows, now being the
// numbered parameter at.
func (e expiryMode) sql(now int) string {
	switch e {
	case liveOnly:
		return fmt.Sprintf(" AND m.expires > ?%d", now)
	case expiredOnly:
		return fmt.Sprintf(" AND m.expires <= ?%d", now)
	}
	return ""
}

// memberListSQL is one backend's SQL for the lists read a page at a time
// (an organization's members, a user's memberships, the audit trail),
// built once per backend (the dialect's lists) from the few parts in
// which the backends differ.
type memberListSQL struct {
	// skipRows is the clause that ends a page's query: it skips ?offset
	// rows before the first, and bounds the rows read at ?limit where the
	// backend needs a bound (see sqliteSkipRows, postgresSkipRows).
	skipRows func(limit, offset int) string
	// usernameSearch is the username search, with %d for the most names
	// it reads, and searchArg the parameter it takes for a search text.
	usernameSearch string
	searchArg      func(search string) string
	// segments holds segmentSQL for every status, mode and direction.
	segments map[segmentQuery]string
	// merges caches mergeSQL by its arms and directions: the filters make
	// a few dozen shapes in all.
	merges sync.Map
	// userMemberships and auditPage are a user's memberships
	// (memberships.go) and the audit trail (audit.go), a page at a time.
	userMemberships map[guildhall.MembershipSubset]string
	auditPage       string
}

// newMemberListSQL builds a backend's member-list SQL from its parts.
func newMemberListSQL(skipRows func(limit, offset int) string, usernameSearch string, searchArg func(string) string) *memberListSQL {
	l := &memberListSQL{skipRows: skipRows, usernameSearch: usernameSearch, searchArg: searchArg, segments: map[segmentQuery]string{}}
	l.userMemberships, l.auditPage = l.userMembershipsSQL(), l.auditPageSQL()
	for _, st := range []guildhall.Status{guildhall.StatusPending, guildhall.StatusActive} {
		for _, e := range []expiryMode{anyExpiry, liveOnly, expiredOnly} {
			for _, back := range []bool{false, true} {
				l.segments[segmentQuery{st, e, back}] = l.segmentSQL(st, e, back)
			}
		}
	}
	return l
}

// sqliteSkipRows bounds a page by reading no more rows than it needs,
// never by a LIMIT with a bound parameter: SQLite plans a statement for
// the value of its LIMIT parameter, and prepares it again each time
// another value is bound (a page of 50 after one of 100 on the same
// connection), which cost more than reading the page. The rows not read
// are never computed. SQLite's OFFSET must follow a LIMIT, and -1 means
// none.
func sqliteSkipRows(_, offset int) string { return fmt.Sprintf(" LIMIT -1 OFFSET ?%d", offset) }

// postgresSkipRows bounds a page by a LIMIT: PostgreSQL's planner picks
// the index that holds the order only for a query it knows to stop early,
// and pgx reads every row of a result to its end when it is closed, so
// a page's query without one would read the rest of the list.
func postgresSkipRows(limit, offset int) string {
	return fmt.Sprintf(" LIMIT ?%d OFFSET ?%d", limit, offset)
}

// statusSQL writes a status into a query as a literal, never a bound
// parameter: SQLite matches a parameter compared with a column that a
// partial index is conditioned on (memberships_pending and
// memberships_user_pending are, on status) by its value, and must then
// prepare the statement again whenever the parameter is bound, at every
// execution. The statuses are the schema's own constants.
func statusSQL(st guildhall.Status) string { return "'" + string(st) + "'" }

// segmentSQL reads one segment of status st from a bound, for the sort by
// role: ?1 organization, ?2 the most rows to read (where the backend
// bounds them), ?3 role, ?4 the username bound (exclusive), ?5 now, ?7 the
// rows to skip. backward reads from the bound towards the start, nearest
// first.
func (l *memberListSQL) segmentSQL(st guildhall.Status, e expiryMode, backward bool) string {
	cmp, dir := ">", ""
	if backward {
		cmp, dir = "<", " DESC"
	}
	return `SELECT ` + membersColumns + membersFrom + `
		WHERE m.organization_id = ?1 AND m.status = ` + statusSQL(st) + ` AND m.role = ?3 AND m.username ` + cmp + ` ?4` + e.sql(5) + `
		ORDER BY m.username` + dir + l.skipRows(2, 7)
}

// segmentQuery identifies one of memberListSQL.segments.
type segmentQuery struct {
	status   guildhall.Status
	expiry   expiryMode
	backward bool
}

// mergeArm is one segment in a merged read: which of memberSegments, and
// what it keeps of open invitations.
type mergeArm struct {
	segment int
	expiry  expiryMode
}

// mergeSQL reads the segments arms, merged, for the sorts by name
// (byRecency false: the key is the username) and by date (the key is
// recency, then username): ?1 organization, ?2 the username bound, ?3 the
// recency bound, ?4 now, ?5 the most rows to read (where the backend
// bounds them), ?6 the rows to skip, and for arm i its role at
// ?(10+i) (its status is written in, see statusSQL). A bound is
// exclusive; backward reads towards the start, nearest first. The start
// of the list in either direction has a bound no row reaches (see
// boundsAtStart).
func (l *memberListSQL) mergeSQL(arms []mergeArm, byRecency, backward bool) string {
	cmp, dir := ">", ""
	if backward {
		cmp, dir = "<", " DESC"
	}
	columns, bound, order := membersColumns, `m.username `+cmp+` ?2`, `username`+dir
	if byRecency {
		// The merge orders by a result column: recency, from the index.
		columns = membersColumns + `, m.recency AS recency`
		bound, order = `(m.recency, m.username) `+cmp+` (?3, ?2)`, `recency`+dir+`, username`+dir
	}
	parts := make([]string, len(arms))
	for i, arm := range arms {
		parts[i] = fmt.Sprintf(`SELECT %s%s
		WHERE m.organization_id = ?1 AND m.status = %s AND m.role = ?%d AND %s%s`,
			columns, membersFrom, statusSQL(memberSegments[arm.segment].status), 10+i, bound, arm.expiry.sql(4))
	}
	return strings.Join(parts, "\n\t\tUNION ALL\n\t\t") + `
		ORDER BY ` + order + l.skipRows(5, 6)
}

// mergeQuery is mergeSQL, built once per shape.
func (l *memberListSQL) mergeQuery(arms []mergeArm, byRecency, backward bool) string {
	key := fmt.Sprint(arms, byRecency, backward)
	if q, ok := l.merges.Load(key); ok {
		return q.(string)
	}
	q := l.mergeSQL(arms, byRecency, backward)
	l.merges.Store(key, q)
	return q
}

// usernameSearchSQL finds up to most users, in the whole server, whose
// name contains the text in ?2 (searchArg of the search), each with their
// row in organization ?1 if they have one; most is written in (see
// sqliteSkipRows on LIMIT parameters), one text per configured bound.
func (l *memberListSQL) usernameSearchSQL(most int) string {
	return fmt.Sprintf(l.usernameSearch, most)
}

// usernameSearchMatched ends each backend's usernameSearch: the rows of
// the names matched, in organization ?1.
const usernameSearchMatched = `
	SELECT m.id IS NOT NULL, coalesce(m.username, ''), coalesce(m.role, ''), coalesce(m.status, ''),
		coalesce(m.sender_name, ''), coalesce(m.created, 0), m.expires, m.accepted
	FROM matched
	LEFT JOIN memberships m ON m.organization_id = ?1 AND m.user_id = matched.user_id`

// sqliteUsernameSearch matches names through FTS5's MATCH over the
// users_fts trigram index of migration 7.
const sqliteUsernameSearch = `
	WITH matched AS (SELECT rowid AS user_id FROM users_fts WHERE users_fts MATCH ?2 LIMIT %d)` + usernameSearchMatched

// ftsPhrase quotes a search as an FTS5 phrase: with the trigram tokenizer
// it matches every name containing it. The search holds only username
// characters (checked before), none of them a quote.
func ftsPhrase(search string) string { return `"` + search + `"` }

// postgresUsernameSearch matches names with LIKE, which the pg_trgm index
// of migration 7 (users_username_trgm) answers for a text of three
// characters or more (guildhall.MemberSearchMinIndexed).
const postgresUsernameSearch = `
	WITH matched AS (SELECT id AS user_id FROM users WHERE username LIKE ?2 ESCAPE '\' LIMIT %d)` + usernameSearchMatched

// likeContaining is the LIKE pattern of the names that contain search,
// its wildcards (of which usernames may hold _) escaped.
func likeContaining(search string) string {
	return "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(search) + "%"
}

// membershipCountsSQL reads the organization's counts by status and role,
// kept by the triggers of migration 7.
const membershipCountsSQL = `SELECT status, role, members FROM membership_counts WHERE organization_id = ?`

// organizationRowsSQL reads how many rows an organization's list has in
// all, from the counts.
const organizationRowsSQL = `SELECT coalesce(sum(members), 0) FROM membership_counts WHERE organization_id = ?`

// livePendingByRoleSQL counts the organization's open invitations still
// open at ?2, one count for each role of guildhall.Roles in its order,
// from the partial index of open invitations alone: it costs what is open
// (the cap on open invitations bounds it), never the members. One pass,
// no grouping: a GROUP BY sorted the rows in a temporary B-tree first,
// which cost more than counting them. INDEXED BY is SQLite's.
var livePendingByRoleSQL = func() string {
	counts := make([]string, len(guildhall.Roles))
	for i, r := range guildhall.Roles {
		counts[i] = "count(*) FILTER (WHERE role = '" + string(r) + "')"
	}
	return `SELECT ` + strings.Join(counts, ", ") + ` FROM memberships INDEXED BY memberships_pending
	WHERE organization_id = ?1 AND status = 'pending' AND expires > ?2`
}()
