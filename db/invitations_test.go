package db_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"guildhall"
	"guildhall/db"
)

func TestResendInvitation(t *testing.T) {
	ctx := context.Background()
	w := newAcme(t, db.Options{})
	// mia (a member) invites vera as viewer: the sender and the admin may
	// renew it; a viewer, an outsider and the invitee may not.
	vera := MustCreateUser(t, w.d, "vera")
	if _, err := w.d.InviteUser(ctx, w.member, w.org, "vera", guildhall.RoleViewer); err != nil {
		t.Fatal(err)
	}
	// pete's invitation (as member, from olivia) expires.
	w.clk.Advance(7*24*time.Hour + time.Second)
	wantCode(t, w.d.ResolveInvitation(ctx, w.pending, w.org, true), guildhall.EGONE)
	for _, c := range []struct {
		who  guildhall.Actor
		whom string
		code string
	}{
		{w.viewer, "vera", guildhall.EFORBIDDEN},
		{vera, "vera", guildhall.EFORBIDDEN},
		{w.otto, "vera", guildhall.EFORBIDDEN},
		{w.member, "pete", guildhall.EFORBIDDEN}, // a member may not grant member
		{w.owner, "mia", guildhall.ECONFLICT},    // already accepted
		{w.owner, "otto", guildhall.ENOTFOUND},
	} {
		_, err := w.d.ResendInvitation(ctx, c.who, w.org, c.whom)
		wantCode(t, err, c.code)
	}
	// The admin renews pete's expired invitation (named in capitals): a new
	// expiry from now, and pete can accept it.
	m, err := w.d.ResendInvitation(ctx, w.admin, w.org, "Pete")
	if err != nil {
		t.Fatal(err)
	}
	if want := w.clk.Now().Add(7 * 24 * time.Hour); !m.Expires.Equal(want) || m.Username != "pete" {
		t.Fatalf("renewed: %+v, want pete expiring %v", m, want)
	}
	if got := w.lastEvent(t); got != "adam:resend:pete:member::" {
		t.Errorf("audit: %s", got)
	}
	if err := w.d.ResolveInvitation(ctx, w.pending, w.org, true); err != nil {
		t.Fatalf("accepting the renewed invitation: %v", err)
	}
	// The sender renews an open one.
	if _, err := w.d.ResendInvitation(ctx, w.member, w.org, "vera"); err != nil {
		t.Fatalf("the sender renewing: %v", err)
	}
}

// TestResendCountsTowardsTheCap: a renewed expired invitation is open
// again, so it counts towards the organization's cap.
func TestResendCountsTowardsTheCap(t *testing.T) {
	ctx := context.Background()
	d, clk, _ := MustOpenDBWith(t, db.Options{MaxPendingInvites: 1})
	owner := MustCreateUser(t, d, "olivia")
	org := MustCreateOrg(t, d, owner, "Acme")
	MustJoin(t, d, owner, org, MustCreateUser(t, d, "bob"), guildhall.RoleMember, true)
	clk.Advance(8 * 24 * time.Hour)
	MustJoin(t, d, owner, org, MustCreateUser(t, d, "carl"), guildhall.RoleMember, true)
	_, err := d.ResendInvitation(ctx, owner, org, "bob")
	wantCode(t, err, guildhall.ERATELIMITED)
}

func TestDeclineAllInvitations(t *testing.T) {
	ctx := context.Background()
	d, clk := MustOpenDB(t)
	owner := MustCreateUser(t, d, "olivia")
	bob := MustCreateUser(t, d, "bob")
	var orgs []int64
	for _, name := range []string{"One", "Two", "Three", "Joined"} {
		orgs = append(orgs, MustCreateOrg(t, d, owner, name))
	}
	MustJoin(t, d, owner, orgs[0], bob, guildhall.RoleViewer, true)
	clk.Advance(7*24*time.Hour + time.Second) // One's invitation expires
	MustJoin(t, d, owner, orgs[1], bob, guildhall.RoleMember, true)
	MustJoin(t, d, owner, orgs[2], bob, guildhall.RoleAdmin, true)
	MustJoin(t, d, owner, orgs[3], bob, guildhall.RoleMember, false)

	n, err := d.DeclineAllInvitations(ctx, bob)
	if err != nil || n != 2 {
		t.Fatalf("declined %d (%v), want the 2 open invitations", n, err)
	}
	open, _ := d.FetchMemberships(ctx, bob, guildhall.SubsetOpenInvitations)
	if len(open) != 0 {
		t.Fatalf("still open: %+v", open)
	}
	accepted, _ := d.FetchMemberships(ctx, bob, guildhall.SubsetAccepted)
	if len(accepted) != 1 || accepted[0].OrganizationName != "Joined" {
		t.Fatalf("accepted memberships changed: %+v", accepted)
	}
	// Each organization's trail has its decline; the expired invitation
	// stays for One's owner to renew or revoke.
	for i, want := range []string{"", "bob:decline:bob:member", "bob:decline:bob:admin"} {
		events, _ := d.AuditLog(ctx, owner, orgs[i], 1)
		got := events[0].Actor + ":" + events[0].Action + ":" + events[0].Target + ":" + string(events[0].Role)
		if want == "" && events[0].Action == guildhall.ActionDecline || want != "" && got != want {
			t.Errorf("%d: last event %s, want %s", i, got, want)
		}
	}
	page, err := d.ListMembersPage(ctx, owner, orgs[0], guildhall.MembersQuery{Status: guildhall.MembersExpired})
	if err != nil || page.Total != 1 {
		t.Fatalf("One's expired invitation: %+v %v", page, err)
	}
	if n, err := d.DeclineAllInvitations(ctx, bob); err != nil || n != 0 {
		t.Fatalf("declining with nothing open: %d %v", n, err)
	}
}

// TestUsernamesFold: usernames are lower-case, so every lookup by name
// takes "Carol" for carol: inviting, acting on a member, signing in.
func TestUsernamesFold(t *testing.T) {
	ctx := context.Background()
	w := newAcme(t, db.Options{})
	carol := MustCreateUser(t, w.d, "carol")
	m, err := w.d.InviteUser(ctx, w.owner, w.org, " Carol ", guildhall.RoleMember)
	if err != nil || m.Username != "carol" {
		t.Fatalf("inviting Carol: %+v %v", m, err)
	}
	if got := w.lastEvent(t); !strings.HasPrefix(got, "olivia:invite:carol:member") {
		t.Errorf("audit names %s", got)
	}
	if err := w.d.RevokeInvitation(ctx, w.owner, w.org, "CAROL"); err != nil {
		t.Fatal(err)
	}
	MustJoin(t, w.d, w.owner, w.org, carol, guildhall.RoleViewer, false)
	if err := w.d.RemoveMember(ctx, w.admin, w.org, "CaRoL"); err != nil {
		t.Fatal(err)
	}
	a, err := w.d.Authenticate(ctx, guildhall.Credentials{Username: "Carol", Password: "password-carol"})
	if err != nil || a.Username != "carol" {
		t.Fatalf("signing in as Carol: %+v %v", a, err)
	}
}
