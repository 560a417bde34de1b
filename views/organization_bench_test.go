package views

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"guildhall"
)

// BenchmarkOrganizationPage renders the organization page as its owner
// sees it: a full page of members (each row with its controls), five open
// invitations, the filters with their counts, the pager and twenty audit
// events. It is the rendering's share of the page's cost
// (docs/PERFORMANCE.md).
func BenchmarkOrganizationPage(b *testing.B) {
	now := time.Now()
	v := OrganizationView{Org: guildhall.Organization{ID: 7, Name: "Acme"}, Role: guildhall.RoleOwner, Me: "olivia", Now: now}
	for i := range guildhall.MembersPageSize {
		m := guildhall.Membership{OrganizationID: 7, Username: fmt.Sprintf("member%07d", i), Role: guildhall.Roles[1+i%3],
			Status: guildhall.StatusActive, Sender: "olivia", Created: now, Accepted: now}
		if i < 5 {
			m.Status, m.Expires, m.Accepted = guildhall.StatusPending, now.Add(time.Hour), time.Time{}
		}
		v.Members = append(v.Members, m)
	}
	v.MembersPage = guildhall.MembersPage{Members: v.Members, Total: 1_000_000, Position: 500_000,
		StandingCounts: map[guildhall.MemberFilter]int{guildhall.MembersActive: 999_900, guildhall.MembersInvited: 100},
		RoleCounts:     map[guildhall.Role]int{guildhall.RoleMember: 600_000}, NextCursor: "next", PrevCursor: "prev"}
	for range 20 {
		v.Audit = append(v.Audit, guildhall.AuditEvent{Time: now, Actor: "olivia", Action: guildhall.ActionInvite, Target: "bob", Role: guildhall.RoleMember})
	}
	p := Page{Title: "Acme", User: "olivia", CSRFToken: "0123456789abcdef0123456789abcdef0123456789ab"}
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := OrganizationPage(p, v).Render(context.Background(), &buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes/page")
}
