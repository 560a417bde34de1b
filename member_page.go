package guildhall

// Limits on one page of an organization's member list.
const (
	// MembersPageSize is how many rows a page shows when the caller does not say.
	MembersPageSize = 50
	// MembersPageMaxSize is the most rows one page may hold.
	MembersPageMaxSize = 500
	// MemberSearchMaxLen bounds a username search; no username is longer.
	MemberSearchMaxLen = UsernameMaxLen
)

// MembersPage is one page of an organization's members and open
// invitations, in the order of the full list (active before pending,
// highest role first, then by username).
type MembersPage struct {
	Members []Membership
	// Total counts the rows matching the search over all pages.
	Total int
	// Offset and Limit are the window this page shows, as applied.
	Offset, Limit int
	// Search is the username fragment the rows were filtered by ("" for all).
	Search string
}
