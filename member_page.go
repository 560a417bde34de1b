package guildhall

import (
	"slices"
	"time"
)

// Limits on one page of an organization's member list.
const (
	// MembersPageSize is how many rows a page shows when the caller does not say.
	MembersPageSize = 50
	// MembersPageMaxSize is the most rows one page may hold (ListMaxLimit).
	MembersPageMaxSize = ListMaxLimit
	// MemberSearchMaxLen bounds a username search; no username is longer.
	MemberSearchMaxLen = UsernameMaxLen
	// MemberSearchMinIndexed is the shortest search the username index
	// answers (a trigram); a shorter one reads the list in its order.
	MemberSearchMinIndexed = 3
	// MemberSearchMaxMatches is how many usernames, in the whole server, a
	// search may match and still be answered from the index, sorted and
	// counted. A search that matches more reads the list in its order
	// instead, at most MemberSearchScanBudget rows a page, uncounted.
	MemberSearchMaxMatches = 1000
	// MemberSearchScanBudget is the most rows one page of a search that is
	// not answered from the index reads: a page may hold fewer matches
	// than asked for, with a cursor to read on from where it stopped.
	MemberSearchScanBudget = 2000
)

// Limits of every paged list of the API (fetch_memberships,
// fetch_memberships_of_organization, fetch_organization_audit_log):
// each page is read by its cursor, at the same cost wherever it is.
const (
	// ListDefaultLimit is a page's size when the caller does not say.
	ListDefaultLimit = 100
	// ListMaxLimit is the most rows one page may hold.
	ListMaxLimit = 1000
	// CursorMaxLen bounds the cursor a caller sends back: the longest a
	// server makes (its key a 32-character username) is well under it.
	CursorMaxLen = 256
)

// CheckListLimit refuses a page size outside 1 to ListMaxLimit.
func CheckListLimit(limit int) error {
	if limit < 1 || limit > ListMaxLimit {
		return Errorf(EINVALID, "A page holds 1 to %d rows, not %d.", ListMaxLimit, limit)
	}
	return nil
}

// MemberFilter selects rows of a member list by where they stand.
type MemberFilter string

// The member-list filters. The rows an expired invitation leaves behind are
// listed only to those CanSeeExpiredInvitations lets see them.
const (
	MembersCurrent MemberFilter = ""        // active members and open invitations (the API's list)
	MembersActive  MemberFilter = "active"  // accepted members
	MembersInvited MemberFilter = "invited" // open invitations
	MembersExpired MemberFilter = "expired" // invitations past their expiry
	MembersAll     MemberFilter = "all"     // all three
)

// Standings lists the three places a row can stand, as filters, in the
// order pages show them.
var Standings = []MemberFilter{MembersActive, MembersInvited, MembersExpired}

// Standing is where m stands at now, one of Standings: an active member,
// an open invitation, or one past its expiry (Expired).
func (m Membership) Standing(now time.Time) MemberFilter {
	switch {
	case m.Status == StatusActive:
		return MembersActive
	case m.Expired(now):
		return MembersExpired
	}
	return MembersInvited
}

// MemberFilters are the filters a caller names (MembersCurrent is the
// one given by naming none).
var MemberFilters = []MemberFilter{MembersActive, MembersInvited, MembersExpired, MembersAll}

// ParseMemberFilter validates a member-list filter.
func ParseMemberFilter(s string) (MemberFilter, error) {
	if f := MemberFilter(s); f == MembersCurrent || slices.Contains(MemberFilters, f) {
		return f, nil
	}
	return "", Errorf(EINVALID, "The members to list must be \"active\", \"invited\", \"expired\" or \"all\", not %q.", s)
}

// Includes reports whether the filter lets through a row standing at s
// (one of Standings).
func (f MemberFilter) Includes(s MemberFilter) bool {
	switch f {
	case MembersCurrent:
		return s == MembersActive || s == MembersInvited
	case MembersAll:
		return true
	}
	return f == s
}

// NeedsExpired reports whether the filter lists expired invitations.
func (f MemberFilter) NeedsExpired() bool { return f.Includes(MembersExpired) }

// MemberSort orders a member list.
type MemberSort string

// The member-list orders.
const (
	// SortByRole lists invitations first (what owners and admins act on),
	// then by role, highest first, then by username.
	SortByRole MemberSort = ""
	// SortByName lists by username.
	SortByName MemberSort = "name"
	// SortByJoined lists the most recent first: by when a member accepted,
	// or an invitation was sent.
	SortByJoined MemberSort = "joined"
)

// MemberSorts are the orders a caller names (SortByRole is the one given
// by naming none).
var MemberSorts = []MemberSort{SortByName, SortByJoined}

// ParseMemberSort validates a member-list order.
func ParseMemberSort(s string) (MemberSort, error) {
	if o := MemberSort(s); o == SortByRole || slices.Contains(MemberSorts, o) {
		return o, nil
	}
	return "", Errorf(EINVALID, "Members can be sorted by \"name\" or \"joined\", not %q.", s)
}

// MembersQuery asks for one page of an organization's member list.
type MembersQuery struct {
	// Search keeps usernames containing it ("" for all).
	Search string
	// Status and Role filter the rows ("" for no filter).
	Status MemberFilter
	Role   Role
	Sort   MemberSort
	// Cursor continues the list from a page: its NextCursor or PrevCursor
	// ("" from the start). It belongs to one query: the same search,
	// filters and order.
	Cursor string
	// Offset skips rows from the start instead of a cursor: it costs as
	// many rows as it skips. Limit is the rows in the page (0:
	// MembersPageSize).
	Offset, Limit int
}

// MembersPage is one page of an organization's member list, with the
// counts a page shows beside its filters.
type MembersPage struct {
	// MembersQuery is the query as applied (the limit filled in).
	MembersQuery
	Members []Membership
	// Total counts the rows matching the whole query, over all pages; -1
	// when they were not counted (see Counted).
	Total int
	// StandingCounts counts the rows at each standing (see Standings)
	// under the search and the role filter; expired invitations only for a
	// viewer who may see them. Nil when not counted.
	StandingCounts map[MemberFilter]int
	// RoleCounts counts the rows of each role under the search and the
	// status filter. Nil when not counted.
	RoleCounts map[Role]int
	// Position is where the page's first row stands in the list, from 0:
	// exact for an offset, carried by the cursor otherwise (rows added or
	// removed before it since the cursor was made are not seen).
	Position int
	// NextCursor reads the rows after this page, PrevCursor those before
	// it; "" when there are none.
	NextCursor, PrevCursor string
	// AsOf is when the page was read: whether an invitation had expired
	// was judged at this moment.
	AsOf time.Time
}

// Counted reports whether Total and the counts beside the filters were
// counted: always, except for a search matching more usernames than
// MemberSearchMaxMatches.
func (p MembersPage) Counted() bool { return p.Total >= 0 }

// OutOfRange reports whether the page starts past the last row: an offset
// beyond the list, or a cursor from a page whose rows have since gone,
// which pages say rather than show an empty range.
func (p MembersPage) OutOfRange() bool {
	switch {
	case p.Cursor != "":
		return len(p.Members) == 0
	case !p.Counted():
		return p.Offset > 0 && len(p.Members) == 0
	}
	return p.Offset > 0 && p.Offset >= p.Total
}

// OrganizationPage is everything an organization's page shows, read in
// one transaction: the organization, the viewer's role in it, one page of
// its member list and, for those CanReadAuditLog lets read it, the latest
// audit events.
type OrganizationPage struct {
	Org     Organization
	Role    Role
	Members MembersPage
	// Audit is the latest events, newest first; AuditMore says there are
	// older ones.
	Audit     []AuditEvent
	AuditMore bool
}
