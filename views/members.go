package views

import (
	"strconv"

	"guildhall"
)

// with returns a copy of q changed by f: the member list's links each
// change one thing and keep the rest.
func (q MembersListQuery) with(f func(*MembersListQuery)) MembersListQuery {
	f(&q)
	return q
}

// filterTab is one link among the member list's filters.
type filterTab struct {
	name, label string
	filter      string
	count       int
	counted     bool // false under a search too broad to count
	current     bool
}

// standingTabs are the tabs over where members stand: All, Members,
// Invited, and Expired for those who see expired invitations.
func (v OrganizationView) standingTabs() []filterTab {
	counts := v.MembersPage.StandingCounts
	all := guildhall.MembersCurrent
	if guildhall.CanSeeExpiredInvitations(v.Role) {
		all = guildhall.MembersAll
	}
	total := 0
	for _, s := range guildhall.Standings {
		if all.Includes(s) {
			total += counts[s]
		}
	}
	current := v.List.Status
	if current == guildhall.MembersAll {
		current = guildhall.MembersCurrent
	}
	counted := v.MembersPage.Counted()
	tabs := []filterTab{{name: "all", label: "All", count: total, counted: counted, current: current == guildhall.MembersCurrent}}
	for _, t := range []struct {
		f     guildhall.MemberFilter
		label string
	}{{guildhall.MembersActive, "Members"}, {guildhall.MembersInvited, "Invited"}, {guildhall.MembersExpired, "Expired"}} {
		if all.Includes(t.f) {
			tabs = append(tabs, filterTab{name: string(t.f), label: t.label, filter: string(t.f), count: counts[t.f], counted: counted, current: current == t.f})
		}
	}
	return tabs
}

// roleTabs are the links that filter the list by role.
func (v OrganizationView) roleTabs() []filterTab {
	total := 0
	for _, n := range v.MembersPage.RoleCounts {
		total += n
	}
	counted := v.MembersPage.Counted()
	tabs := []filterTab{{name: "any", label: "Any role", count: total, counted: counted, current: v.List.Role == ""}}
	for _, r := range guildhall.Roles {
		tabs = append(tabs, filterTab{name: string(r), label: string(r) + "s", filter: string(r),
			count: v.MembersPage.RoleCounts[r], counted: counted, current: v.List.Role == r})
	}
	return tabs
}

// membersRange says which rows of the list a page shows: "51–100 of
// 1234", or without the total when the list was not counted.
func membersRange(p guildhall.MembersPage) string {
	r := strconv.Itoa(p.Position+1) + "–" + strconv.Itoa(p.Position+len(p.Members))
	if p.Counted() {
		r += " of " + strconv.Itoa(p.Total)
	}
	return r
}

// plural says how many of a thing there are: "1 invitation", "7 invitations".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return strconv.Itoa(n) + " " + thing + "s"
}
