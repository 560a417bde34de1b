package db

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"

	"guildhall"
)

// memberSegment is a run of an organization's member list that one index
// range holds in order: the rows of one status and one role.
type memberSegment struct {
	status guildhall.Status
	role   guildhall.Role
}

// memberSegments is the member list sorted by role, as runs: open
// invitations first (what owners and admins act on), then members; within
// each, the roles in guildhall.Roles' order, highest first. This is the
// one place the order of the segments is made, from the root package's
// ranking.
var memberSegments = func() []memberSegment {
	var out []memberSegment
	for _, st := range []guildhall.Status{guildhall.StatusPending, guildhall.StatusActive} {
		for _, r := range guildhall.Roles {
			out = append(out, memberSegment{st, r})
		}
	}
	return out
}()

// segmentOf is the index in memberSegments of a row's status and role.
func segmentOf(st guildhall.Status, r guildhall.Role) int {
	return slices.Index(memberSegments, memberSegment{st, r})
}

// memberRow is one row of a member list with its key in the list's order.
type memberRow struct {
	m   guildhall.Membership
	key memberKey
}

// memberKey places a row in a member list: its segment, its recency
// (minus when it joined) and its username, which alone is unique.
type memberKey struct {
	seg     int
	recency int64
	name    string
}

// compareKeys orders keys as sort orders the list.
func compareKeys(sort guildhall.MemberSort, a, b memberKey) int {
	switch sort {
	case guildhall.SortByName:
		return strings.Compare(a.name, b.name)
	case guildhall.SortByJoined:
		return cmp.Or(cmp.Compare(a.recency, b.recency), strings.Compare(a.name, b.name))
	}
	return cmp.Or(cmp.Compare(a.seg, b.seg), strings.Compare(a.name, b.name))
}

// memberScanner reads membersColumns (and recency, which a merge by date
// adds, ignored) into rows of organization org. Its destinations are made
// once for a query's rows, not once a row: a page reads up to a thousand.
type memberScanner struct {
	org              guildhall.Organization
	r                memberRow
	role, status     string
	created, recency int64
	expires          sql.NullInt64
	accepted         sql.NullInt64
	dest             []any
}

func newMemberScanner(org guildhall.Organization, withRecency bool) *memberScanner {
	s := &memberScanner{org: org}
	s.dest = []any{&s.r.m.Username, &s.role, &s.status, &s.r.m.Sender, &s.created, &s.expires, &s.accepted}
	if withRecency {
		s.dest = append(s.dest, &s.recency)
	}
	return s
}

// scan reads the row rows is at.
func (s *memberScanner) scan(rows *sql.Rows) (memberRow, error) {
	s.r = memberRow{}
	if err := rows.Scan(s.dest...); err != nil {
		return memberRow{}, err
	}
	s.r.fill(s.org, s.role, s.status, s.created, s.expires, s.accepted)
	return s.r, nil
}

// fill completes a scanned row: its membership's fields and its key. The
// recency is the generated column's -coalesce(accepted, created), computed
// here rather than read, so the list indexes cover a page's columns.
func (r *memberRow) fill(org guildhall.Organization, role, status string, created int64, expires, accepted sql.NullInt64) {
	r.m.OrganizationID, r.m.OrganizationName = org.ID, org.Name
	r.m.Role, r.m.Status = guildhall.Role(role), guildhall.Status(status)
	r.m.Created = fromUnix(sql.NullInt64{Int64: created, Valid: true})
	r.m.Expires, r.m.Accepted = fromUnix(expires), fromUnix(accepted)
	r.key.name, r.key.seg, r.key.recency = r.m.Username, segmentOf(r.m.Status, r.m.Role), -created
	if accepted.Valid {
		r.key.recency = -accepted.Int64
	}
}

// standingOf is where a row stands at now (Unix seconds), by the root
// package's rule (guildhall.Membership.Standing).
func standingOf(m guildhall.Membership, now int64) guildhall.MemberFilter {
	return m.Standing(time.Unix(now, 0))
}

// memberList is one query's list: the organization, the segments its
// filters keep, and its order.
type memberList struct {
	org  guildhall.Organization
	q    guildhall.MembersQuery
	now  int64
	arms []mergeArm // the segments kept, in the order of memberSegments
	// counts are the rows of each segment the list keeps, when known: they
	// let an offset skip whole segments.
	counts map[int]int
	// scan says the list's search reads it in order (see cursor.Scan).
	scan bool
}

// newMemberList plans the list q asks for in org at now.
func newMemberList(org guildhall.Organization, q guildhall.MembersQuery, now int64) *memberList {
	l := &memberList{org: org, q: q, now: now}
	for i, s := range memberSegments {
		if q.Role != "" && s.role != q.Role {
			continue
		}
		if s.status == guildhall.StatusActive {
			if q.Status.Includes(guildhall.MembersActive) {
				l.arms = append(l.arms, mergeArm{segment: i, expiry: anyExpiry})
			}
			continue
		}
		switch live, expired := q.Status.Includes(guildhall.MembersInvited), q.Status.Includes(guildhall.MembersExpired); {
		case live && expired:
			l.arms = append(l.arms, mergeArm{segment: i, expiry: anyExpiry})
		case live:
			l.arms = append(l.arms, mergeArm{segment: i, expiry: liveOnly})
		case expired:
			l.arms = append(l.arms, mergeArm{segment: i, expiry: expiredOnly})
		}
	}
	return l
}

// id fingerprints the list for its cursors.
func (l *memberList) id() string {
	return listID("members", l.org.ID, l.q.Status, l.q.Role, l.q.Sort, l.q.Search)
}

// keeps reports whether the list keeps a row (segment and expiry; the
// search aside).
func (l *memberList) keeps(r memberRow) bool {
	for _, arm := range l.arms {
		if arm.segment == r.key.seg {
			switch arm.expiry {
			case liveOnly:
				return standingOf(r.m, l.now) == guildhall.MembersInvited
			case expiredOnly:
				return standingOf(r.m, l.now) == guildhall.MembersExpired
			}
			return true
		}
	}
	return false
}

// rowReader reads up to max rows of a list in its order from bound
// (exclusive; nil: from the start), or towards the start when backward
// (nearest first), skipping offset rows first.
type rowReader func(ctx context.Context, bound *memberKey, backward bool, offset, max int) ([]memberRow, error)

// sqlReader reads the list from the database: the segments one after
// another for the sort by role, merged for the others.
func (l *memberList) sqlReader(tx *Tx) rowReader {
	if l.q.Sort == guildhall.SortByRole {
		return func(ctx context.Context, bound *memberKey, backward bool, offset, max int) ([]memberRow, error) {
			return l.readSegments(ctx, tx, bound, backward, offset, max)
		}
	}
	return func(ctx context.Context, bound *memberKey, backward bool, offset, max int) ([]memberRow, error) {
		return l.readMerged(ctx, tx, bound, backward, offset, max)
	}
}

// readSegments reads the segments in turn from the bound's, each from the
// bound within it, until max rows are read. An offset skips whole
// segments by their counts where they are known, and the rest by OFFSET.
func (l *memberList) readSegments(ctx context.Context, tx *Tx, bound *memberKey, backward bool, offset, max int) ([]memberRow, error) {
	arms := l.arms
	if backward {
		arms = slices.Clone(arms)
		slices.Reverse(arms)
	}
	out := make([]memberRow, 0, min(max, guildhall.MembersPageMaxSize+1))
	for _, arm := range arms {
		if len(out) >= max {
			break
		}
		from := ""
		if backward {
			from = usernameAfterAll
		}
		if bound != nil {
			switch c := cmp.Compare(arm.segment, bound.seg); {
			case c == 0:
				from = bound.name
			case c < 0 && !backward, c > 0 && backward:
				continue // before the bound in the direction of reading
			}
		}
		if n, known := l.counts[arm.segment]; known && bound == nil && offset >= n {
			offset -= n
			continue
		}
		seg := memberSegments[arm.segment]
		rows, err := tx.QueryContext(ctx, tx.dialect.lists.segments[segmentQuery{seg.status, arm.expiry, backward}],
			l.org.ID, max-len(out), string(seg.role), from, l.now, nil, offset)
		if err != nil {
			return nil, err
		}
		scanner := newMemberScanner(l.org, false)
		for len(out) < max && rows.Next() {
			r, err := scanner.scan(rows)
			if err != nil {
				rows.Close()
				return nil, err
			}
			out = append(out, r)
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		// An offset short of the segment's count was skipped inside it.
		offset = 0
	}
	return out, nil
}

// readMerged reads the segments merged in one statement (mergeSQL).
func (l *memberList) readMerged(ctx context.Context, tx *Tx, bound *memberKey, backward bool, offset, max int) ([]memberRow, error) {
	if len(l.arms) == 0 {
		return nil, nil
	}
	name, recency := boundsAtStart(backward)
	if bound != nil {
		name, recency = bound.name, bound.recency
	}
	args := make([]any, 9, 9+len(l.arms))
	args[0], args[1], args[2], args[3], args[4], args[5] = l.org.ID, name, recency, l.now, max, offset
	for _, arm := range l.arms {
		args = append(args, string(memberSegments[arm.segment].role))
	}
	rows, err := tx.QueryContext(ctx, tx.dialect.lists.mergeQuery(l.arms, l.q.Sort == guildhall.SortByJoined, backward), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]memberRow, 0, min(max, guildhall.MembersPageMaxSize+1))
	scanner := newMemberScanner(l.org, l.q.Sort == guildhall.SortByJoined)
	for len(out) < max && rows.Next() {
		r, err := scanner.scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// boundsAtStart are bounds before every row (after every row when
// backward): a username and a recency no row reaches.
func boundsAtStart(backward bool) (name string, recency int64) {
	if backward {
		return usernameAfterAll, 1 << 62
	}
	return "", -1 << 62
}

// sliceReader reads rows already in memory, sorted in the list's order:
// a search answered from the username index.
func (l *memberList) sliceReader(sorted []memberRow) rowReader {
	return func(_ context.Context, bound *memberKey, backward bool, offset, max int) ([]memberRow, error) {
		var out []memberRow
		if !backward {
			i := 0
			if bound != nil {
				i, _ = slices.BinarySearchFunc(sorted, *bound, func(r memberRow, k memberKey) int { return compareKeys(l.q.Sort, r.key, k) })
				if i < len(sorted) && compareKeys(l.q.Sort, sorted[i].key, *bound) == 0 {
					i++
				}
			}
			i += offset
			for ; i < len(sorted) && len(out) < max; i++ {
				out = append(out, sorted[i])
			}
			return out, nil
		}
		i := len(sorted) - 1
		if bound != nil {
			j, _ := slices.BinarySearchFunc(sorted, *bound, func(r memberRow, k memberKey) int { return compareKeys(l.q.Sort, r.key, k) })
			i = j - 1
		}
		for ; i >= 0 && len(out) < max; i-- {
			out = append(out, sorted[i])
		}
		return out, nil
	}
}

// searchReader reads the list in its order through base and keeps the
// rows whose username contains search, reading at most budget rows per
// call: a search too broad for the username index. It notes where it
// stopped when the budget ran out first, for the next page to go on from.
type searchReader struct {
	base    rowReader
	search  string
	budget  int
	stopped *memberKey // the last row read, when the budget ran out
}

func (s *searchReader) read(ctx context.Context, bound *memberKey, backward bool, offset, max int) ([]memberRow, error) {
	s.stopped = nil
	var out []memberRow
	read, chunk := 0, max+offset
	for read < s.budget {
		chunk = min(chunk, s.budget-read)
		rows, err := s.base(ctx, bound, backward, 0, chunk)
		if err != nil {
			return nil, err
		}
		read += len(rows)
		for _, r := range rows {
			if !strings.Contains(r.m.Username, s.search) {
				continue
			}
			if offset > 0 {
				offset--
				continue
			}
			out = append(out, r)
			if len(out) == max {
				return out, nil
			}
		}
		if len(rows) < chunk {
			return out, nil // the end of the list
		}
		bound = &rows[len(rows)-1].key
		chunk *= 2
	}
	s.stopped = bound
	return out, nil
}

// checkMembersQuery validates a query and fills in its limit.
func checkMembersQuery(q guildhall.MembersQuery) (guildhall.MembersQuery, error) {
	q.Search = guildhall.FoldUsername(q.Search)
	if q.Limit == 0 {
		q.Limit = guildhall.MembersPageSize
	}
	if err := guildhall.CheckListLimit(q.Limit); err != nil {
		return q, err
	}
	if q.Offset < 0 {
		return q, guildhall.Errorf(guildhall.EINVALID, "The offset must not be negative.")
	}
	if q.Offset > 0 && q.Cursor != "" {
		return q, guildhall.Errorf(guildhall.EINVALID, "Give a cursor or an offset, not both.")
	}
	if len(q.Search) > guildhall.MemberSearchMaxLen {
		return q, guildhall.Errorf(guildhall.EINVALID, "Search for at most %d characters of a username.", guildhall.MemberSearchMaxLen)
	}
	if _, err := guildhall.ParseMemberFilter(string(q.Status)); err != nil {
		return q, err
	}
	if _, err := guildhall.ParseMemberSort(string(q.Sort)); err != nil {
		return q, err
	}
	if q.Role != "" {
		if _, err := guildhall.ParseRole(string(q.Role)); err != nil {
			return q, err
		}
	}
	return q, nil
}

// ListMembersPage returns one page of an organization's member list, the
// rows q selects in q's order, with the counts of each standing and role
// beside the filters and cursors to the pages before and after. Only
// active members may look, and only those
// guildhall.CanSeeExpiredInvitations allows may list expired invitations
// (to others they are not counted either). A Limit of 0 means
// guildhall.MembersPageSize; more than MembersPageMaxSize is an error, as
// is a negative offset, an offset with a cursor, or a cursor of another
// list. A page past the end is empty, and its OutOfRange says so.
//
// A page costs the same at any size of the list: it is read by keyset
// from the cursor, and counted from the counts the database keeps. An
// offset costs the rows it skips. A search costs the usernames, in the
// whole server, that contain it; one matching more than
// guildhall.MemberSearchMaxMatches (or shorter than a trigram) reads the
// list in order instead, at most guildhall.MemberSearchScanBudget rows a
// page, and is not counted.
func (db *DB) ListMembersPage(ctx context.Context, a guildhall.Actor, orgID int64, q guildhall.MembersQuery) (guildhall.MembersPage, error) {
	q, err := checkMembersQuery(q)
	if err != nil {
		return guildhall.MembersPage{}, err
	}
	var page guildhall.MembersPage
	err = db.view(ctx, func(tx *Tx) error {
		org, role, err := tx.orgAsMember(ctx, a, orgID)
		if err != nil {
			return err
		}
		page, err = tx.membersPage(ctx, org, role, q, db.search)
		return err
	})
	return page, err
}

// OrganizationPage reads what an organization's page shows, in one read
// transaction: the organization and the actor's role (active members
// only), the page of its member list q asks for and, for those
// guildhall.CanReadAuditLog lets read it, the latest auditLimit audit
// events. The list unfiltered (MembersCurrent) shows all the viewer may
// see: expired invitations too, for those
// guildhall.CanSeeExpiredInvitations lets see them.
func (db *DB) OrganizationPage(ctx context.Context, a guildhall.Actor, orgID int64, q guildhall.MembersQuery, auditLimit int) (guildhall.OrganizationPage, error) {
	q, err := checkMembersQuery(q)
	if err != nil {
		return guildhall.OrganizationPage{}, err
	}
	var p guildhall.OrganizationPage
	err = db.view(ctx, func(tx *Tx) error {
		if p.Org, p.Role, err = tx.orgAsMember(ctx, a, orgID); err != nil {
			return err
		}
		if q.Status == guildhall.MembersCurrent && guildhall.CanSeeExpiredInvitations(p.Role) {
			q.Status = guildhall.MembersAll
		}
		if p.Members, err = tx.membersPage(ctx, p.Org, p.Role, q, db.search); err != nil {
			return err
		}
		if !guildhall.CanReadAuditLog(p.Role) {
			return nil
		}
		audit, err := tx.auditPage(ctx, orgID, guildhall.AuditQuery{Limit: auditLimit})
		p.Audit, p.AuditMore = audit.Events, audit.NextCursor != ""
		return err
	})
	return p, err
}

// searchLimits bound the work of a search: guildhall.MemberSearchMaxMatches
// and guildhall.MemberSearchScanBudget, which tests lower to show each way
// of searching on a few rows.
type searchLimits struct {
	maxMatches, scanBudget int
}

// defaultSearchLimits are the documented ones.
var defaultSearchLimits = searchLimits{maxMatches: guildhall.MemberSearchMaxMatches, scanBudget: guildhall.MemberSearchScanBudget}

// membersPage reads one page of org's member list for a viewer holding role.
func (tx *Tx) membersPage(ctx context.Context, org guildhall.Organization, role guildhall.Role, q guildhall.MembersQuery, limits searchLimits) (guildhall.MembersPage, error) {
	page := guildhall.MembersPage{MembersQuery: q, AsOf: tx.now}
	seesExpired := guildhall.CanSeeExpiredInvitations(role)
	if q.Status.NeedsExpired() && !seesExpired {
		return page, guildhall.Errorf(guildhall.EFORBIDDEN, "Only owners and admins see the expired invitations of %s.", org.Name)
	}
	list := newMemberList(org, q, unix(tx.now))
	cur, err := decodeCursor(q.Cursor, list.id())
	if err != nil {
		return page, err
	}
	var read rowReader
	var search *searchReader
	switch {
	case q.Search == "":
		counts, err := tx.memberCounts(ctx, org.ID, unix(tx.now))
		if err != nil {
			return page, err
		}
		counts.fill(&page, seesExpired)
		list.counts = counts.bySegment(list.arms)
		read = list.sqlReader(tx)
	case !couldBeInUsername(q.Search):
		read = list.sliceReader(nil)
		standingCounts{}.fill(&page, seesExpired)
	default:
		indexed := len(q.Search) >= guildhall.MemberSearchMinIndexed && (cur == nil || !cur.Scan)
		matches, complete, err := tx.searchMembers(ctx, list, indexed, limits.maxMatches)
		if err != nil {
			return page, err
		}
		if !complete {
			// Too short for the index, or too common: an organization
			// small enough is read whole and searched; a larger one in
			// order, a page at a time.
			if matches, complete, err = tx.searchSmallOrganization(ctx, list, limits.scanBudget); err != nil {
				return page, err
			}
		}
		if complete {
			counts := standingCounts{}
			for _, r := range matches {
				counts.add(standingOf(r.m, list.now), r.m.Role, 1)
			}
			counts.fill(&page, seesExpired)
			kept := slices.DeleteFunc(matches, func(r memberRow) bool { return !list.keeps(r) })
			slices.SortFunc(kept, func(a, b memberRow) int { return compareKeys(q.Sort, a.key, b.key) })
			read = list.sliceReader(kept)
		} else {
			page.Total = -1
			list.scan = true
			search = &searchReader{base: list.sqlReader(tx), search: q.Search, budget: limits.scanBudget}
			read = search.read
		}
	}
	return page, list.window(ctx, &page, read, cur, search)
}

// window reads the page of q from cur (or q's offset) through read and
// sets its rows, position and cursors.
func (l *memberList) window(ctx context.Context, page *guildhall.MembersPage, read rowReader, cur *cursor, search *searchReader) error {
	limit := page.Limit
	var bound *memberKey
	if cur != nil {
		bound = &memberKey{seg: cur.Seg, recency: cur.Recency, name: cur.Name}
	}
	if cur != nil && cur.Back {
		rows, err := read(ctx, bound, true, 0, limit+1)
		if err != nil {
			return err
		}
		if len(rows) <= limit && (search == nil || search.stopped == nil) {
			// Back at the start: show the first page, whole.
			return l.window(ctx, page, read, nil, search)
		}
		rows = rows[:min(limit, len(rows))]
		slices.Reverse(rows)
		page.Position = max(1, cur.Pos-len(rows))
		if len(rows) > 0 {
			page.PrevCursor = l.cursorAt(rows[0].key, true, page.Position)
		} else {
			page.PrevCursor = l.cursorAt(*search.stopped, true, page.Position)
		}
		page.NextCursor = l.cursorAt(*bound, false, page.Position+len(rows))
		page.Members = members(rows)
		return nil
	}
	offset := page.Offset
	if cur != nil {
		page.Position, offset = cur.Pos, 0
	} else {
		page.Position = offset
	}
	rows, err := read(ctx, bound, false, offset, limit+1)
	if err != nil {
		return err
	}
	more := len(rows) > limit
	rows = rows[:min(limit, len(rows))]
	switch {
	case more:
		page.NextCursor = l.cursorAt(rows[len(rows)-1].key, false, page.Position+len(rows))
	case search != nil && search.stopped != nil:
		page.NextCursor = l.cursorAt(*search.stopped, false, page.Position+len(rows))
	}
	if (page.Position > 0 || cur != nil) && len(rows) > 0 {
		page.PrevCursor = l.cursorAt(rows[0].key, true, page.Position)
	}
	page.Members = members(rows)
	return nil
}

// cursorAt is the cursor to the rows after key (before it, when back),
// whose page starts at position pos.
func (l *memberList) cursorAt(key memberKey, back bool, pos int) string {
	return cursor{List: l.id(), Back: back, Seg: key.seg, Name: key.name, Recency: key.recency, Pos: pos, Scan: l.scan}.encode()
}

func members(rows []memberRow) []guildhall.Membership {
	out := make([]guildhall.Membership, len(rows))
	for i, r := range rows {
		out[i] = r.m
	}
	return out
}

// couldBeInUsername reports whether a search could match a username at
// all: usernames hold only [a-z0-9_.-] (guildhall.ValidateUsername).
func couldBeInUsername(search string) bool {
	for i := 0; i < len(search); i++ {
		if c := search[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// searchMembers finds the rows of the list's organization whose username
// contains the list's search, through the username index when indexed:
// every match, unsorted, and true, unless more than maxMatches usernames
// in the whole server contain it, or it is too short for the index: then
// nothing, and false.
func (tx *Tx) searchMembers(ctx context.Context, l *memberList, indexed bool, maxMatches int) ([]memberRow, bool, error) {
	if !indexed {
		return nil, false, nil
	}
	rows, err := tx.QueryContext(ctx, tx.dialect.lists.usernameSearchSQL(maxMatches+1), l.org.ID, tx.dialect.lists.searchArg(l.q.Search))
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	var out []memberRow
	candidates := 0
	for rows.Next() {
		candidates++
		var member bool
		var r memberRow
		var role, status string
		var created int64
		var expires, accepted sql.NullInt64
		if err := rows.Scan(&member, &r.m.Username, &role, &status, &r.m.Sender, &created, &expires, &accepted); err != nil {
			return nil, false, err
		}
		if member {
			r.fill(l.org, role, status, created, expires, accepted)
			out = append(out, r)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	if candidates > maxMatches {
		return nil, false, nil
	}
	return out, true, nil
}

// searchSmallOrganization finds the rows of the list's organization whose
// username contains the search by reading every row, when there are at
// most budget: every match and true; else nothing and false.
func (tx *Tx) searchSmallOrganization(ctx context.Context, l *memberList, budget int) ([]memberRow, bool, error) {
	var n int
	if err := tx.QueryRowContext(ctx, organizationRowsSQL, l.org.ID).Scan(&n); err != nil {
		return nil, false, err
	}
	if n > budget {
		return nil, false, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+membersColumns+membersFrom+` WHERE m.organization_id = ?`, l.org.ID)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	var out []memberRow
	scanner := newMemberScanner(l.org, false)
	for rows.Next() {
		r, err := scanner.scan(rows)
		if err != nil {
			return nil, false, err
		}
		if strings.Contains(r.m.Username, l.q.Search) {
			out = append(out, r)
		}
	}
	return out, true, rows.Err()
}

// standingCounts counts rows by standing and role.
type standingCounts map[guildhall.MemberFilter]map[guildhall.Role]int

func (c standingCounts) add(s guildhall.MemberFilter, r guildhall.Role, n int) {
	if c[s] == nil {
		c[s] = map[guildhall.Role]int{}
	}
	c[s][r] += n
}

// memberCounts reads an organization's counts at now: members and open
// invitations by role from the counts the database keeps, and which of
// the invitations are still open from the index of open invitations.
func (tx *Tx) memberCounts(ctx context.Context, orgID, now int64) (standingCounts, error) {
	counts := standingCounts{}
	pending := map[guildhall.Role]int{}
	rows, err := tx.QueryContext(ctx, membershipCountsSQL, orgID)
	if err != nil {
		return nil, err
	}
	anyPending := false
	for rows.Next() {
		var status, role string
		var n int
		if err := rows.Scan(&status, &role, &n); err != nil {
			rows.Close()
			return nil, err
		}
		if guildhall.Status(status) == guildhall.StatusActive {
			counts.add(guildhall.MembersActive, guildhall.Role(role), n)
		} else {
			pending[guildhall.Role(role)] += n
			anyPending = anyPending || n > 0
		}
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return nil, err
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	if !anyPending {
		return counts, nil
	}
	live := make([]int, len(guildhall.Roles))
	dest := make([]any, len(live))
	for i := range live {
		dest[i] = &live[i]
	}
	if err := tx.QueryRowContext(ctx, livePendingByRoleSQL, orgID, now).Scan(dest...); err != nil {
		return nil, err
	}
	for i, r := range guildhall.Roles {
		counts.add(guildhall.MembersInvited, r, live[i])
		counts.add(guildhall.MembersExpired, r, pending[r]-live[i])
	}
	return counts, nil
}

// fill sets the page's counts: each count beside a filter applies the
// other filter, and Total applies both. Expired invitations count only
// for a viewer who sees them.
func (c standingCounts) fill(page *guildhall.MembersPage, seesExpired bool) {
	page.Total = 0
	page.StandingCounts, page.RoleCounts = map[guildhall.MemberFilter]int{}, map[guildhall.Role]int{}
	for s, byRole := range c {
		if s == guildhall.MembersExpired && !seesExpired {
			continue
		}
		for r, n := range byRole {
			if n == 0 {
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
	}
}

// bySegment gives the row count of each segment the arms keep.
func (c standingCounts) bySegment(arms []mergeArm) map[int]int {
	out := map[int]int{}
	for _, arm := range arms {
		seg := memberSegments[arm.segment]
		if seg.status == guildhall.StatusActive {
			out[arm.segment] = c[guildhall.MembersActive][seg.role]
			continue
		}
		switch arm.expiry {
		case liveOnly:
			out[arm.segment] = c[guildhall.MembersInvited][seg.role]
		case expiredOnly:
			out[arm.segment] = c[guildhall.MembersExpired][seg.role]
		default:
			out[arm.segment] = c[guildhall.MembersInvited][seg.role] + c[guildhall.MembersExpired][seg.role]
		}
	}
	return out
}

// FetchOrganizationMembers lists an organization's members and open
// invitations, all of them, in the order of the sort by role: every page
// of the list read one after another, so it costs the whole list. For
// tools and tests; the API and the pages read one page at a time
// (ListMembersPage). Only active members may look.
func (db *DB) FetchOrganizationMembers(ctx context.Context, a guildhall.Actor, orgID int64) ([]guildhall.Membership, error) {
	out := []guildhall.Membership{}
	q := guildhall.MembersQuery{Limit: guildhall.MembersPageMaxSize}
	for {
		page, err := db.ListMembersPage(ctx, a, orgID, q)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Members...)
		if page.NextCursor == "" {
			return out, nil
		}
		q.Cursor = page.NextCursor
	}
}
