package guildhall

import "time"

// Limits on one page of an organization's member list.
const (
	// MembersPageSize is how many rows a page shows when the caller does not say.
	MembersPageSize = 50
	// MembersPageMaxSize is the most rows one page may hold.
	MembersPageMaxSize = 500
	// MemberSearchMaxLen bounds a username search; no username is longer.
	MemberSearchMaxLen = UsernameMaxLen
)

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

// ParseMemberFilter validates a member-list filter.
func ParseMemberFilter(s string) (MemberFilter, error) {
	switch f := MemberFilter(s); f {
	case MembersCurrent, MembersActive, MembersInvited, MembersExpired, MembersAll:
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

// ParseMemberSort validates a member-list order.
func ParseMemberSort(s string) (MemberSort, error) {
	switch o := MemberSort(s); o {
	case SortByRole, SortByName, SortByJoined:
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
	// Offset and Limit are the window: rows skipped, and rows in the page
	// (0: MembersPageSize).
	Offset, Limit int
}

// MembersPage is one page of an organization's member list, with the
// counts a page shows beside its filters.
type MembersPage struct {
	// MembersQuery is the query as applied (the limit filled in).
	MembersQuery
	Members []Membership
	// Total counts the rows matching the whole query, over all pages.
	Total int
	// StandingCounts counts the rows at each standing (see Standings)
	// under the search and the role filter; expired invitations only for a
	// viewer who may see them.
	StandingCounts map[MemberFilter]int
	// RoleCounts counts the rows of each role under the search and the
	// status filter.
	RoleCounts map[Role]int
	// AsOf is when the page was read: whether an invitation had expired
	// was judged at this moment.
	AsOf time.Time
}

// OutOfRange reports whether the page starts past the last row: a page
// number beyond the list, which pages say rather than show an empty range.
func (p MembersPage) OutOfRange() bool { return p.Offset > 0 && p.Offset >= p.Total }

// PageCount is how many pages of Limit rows the list fills (at least one).
func (p MembersPage) PageCount() int {
	if p.Limit <= 0 || p.Total == 0 {
		return 1
	}
	return (p.Total + p.Limit - 1) / p.Limit
}
