package db_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"guildhall"
	"guildhall/db"
)

// openWithLimits opens a fresh database with the given abuse limits and a
// settable clock.
func openWithLimits(tb testing.TB, maxPending, ratePerMinute int) (*db.DB, *clock, string) {
	tb.Helper()
	return MustOpenDBWith(tb, db.Options{MaxPendingInvites: maxPending, InviteRate: ratePerMinute})
}

// rateLimited fails unless err is a 429-coded error with a Retry-After in (0, max].
func rateLimited(tb testing.TB, err error, maxWait time.Duration) time.Duration {
	tb.Helper()
	var ge *guildhall.Error
	if !errors.As(err, &ge) || ge.Code != guildhall.ERATELIMITED {
		tb.Fatalf("got %v, want a rate_limited error", err)
	}
	if ge.RetryAfter <= 0 || ge.RetryAfter > maxWait {
		tb.Fatalf("RetryAfter %v, want in (0, %v]", ge.RetryAfter, maxWait)
	}
	return ge.RetryAfter
}

// pendingCount reads the open invitations of org straight from the file.
func pendingCount(tb testing.TB, path string, org int64) (rows, counted int) {
	tb.Helper()
	raw, err := db.OpenRaw(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer raw.Close()
	if err := raw.QueryRow(`SELECT count(*) FROM memberships WHERE organization_id = ? AND status = 'pending'`, org).Scan(&rows); err != nil {
		tb.Fatal(err)
	}
	if err := raw.QueryRow(`SELECT coalesce(sum(members), 0) FROM membership_counts WHERE organization_id = ? AND status = 'pending'`, org).Scan(&counted); err != nil {
		tb.Fatal(err)
	}
	return rows, counted
}

func TestPendingInviteCap(t *testing.T) {
	ctx := context.Background()
	d, clk, path := openWithLimits(t, 3, 0)
	owner := MustCreateUser(t, d, "olivia")
	org := MustCreateOrg(t, d, owner, "Acme")
	other := MustCreateOrg(t, d, owner, "Other")
	users := make([]guildhall.Actor, 6)
	for i := range users {
		users[i] = MustCreateUser(t, d, fmt.Sprintf("user%d", i))
	}
	for _, u := range users[:3] {
		if _, err := d.InviteUser(ctx, owner, org, u.Username, guildhall.RoleMember); err != nil {
			t.Fatal(err)
		}
	}
	before := memberRoles(t, d, owner, org)
	_, err := d.InviteUser(ctx, owner, org, users[3].Username, guildhall.RoleMember)
	// A place frees up when the oldest invitation expires, 7 days on.
	rateLimited(t, err, guildhall.DefaultInviteTTL)
	if after := memberRoles(t, d, owner, org); len(after) != len(before) {
		t.Fatalf("refused invitation changed the members: %v -> %v", before, after)
	}
	// Another organization has its own cap; a conflict is still a conflict at the cap.
	if _, err := d.InviteUser(ctx, owner, other, users[3].Username, guildhall.RoleMember); err != nil {
		t.Fatal(err)
	}
	_, err = d.InviteUser(ctx, owner, org, users[0].Username, guildhall.RoleMember)
	wantCode(t, err, guildhall.ECONFLICT)

	// Accepting, declining and revoking each free a place.
	if err := d.ResolveInvitation(ctx, users[0], org, true); err != nil {
		t.Fatal(err)
	}
	if _, err := d.InviteUser(ctx, owner, org, users[3].Username, guildhall.RoleMember); err != nil {
		t.Fatalf("after an accept: %v", err)
	}
	if err := d.ResolveInvitation(ctx, users[1], org, false); err != nil {
		t.Fatal(err)
	}
	if err := d.RevokeInvitation(ctx, owner, org, users[2].Username); err != nil {
		t.Fatal(err)
	}
	for _, u := range users[4:6] {
		if _, err := d.InviteUser(ctx, owner, org, u.Username, guildhall.RoleViewer); err != nil {
			t.Fatalf("after a decline and a revoke: %v", err)
		}
	}
	_, err = d.InviteUser(ctx, owner, org, users[1].Username, guildhall.RoleMember)
	rateLimited(t, err, guildhall.DefaultInviteTTL)
	if rows, counted := pendingCount(t, path, org); rows != 3 || counted != 3 {
		t.Fatalf("pending rows %d, counted %d; want 3 and 3", rows, counted)
	}

	// Expired invitations still hold rows (and the running count) but no place.
	clk.Advance(guildhall.DefaultInviteTTL + time.Minute)
	for _, u := range users[1:3] {
		if _, err := d.InviteUser(ctx, owner, org, u.Username, guildhall.RoleMember); err != nil {
			t.Fatalf("after the others expired: %v", err)
		}
	}
	if rows, counted := pendingCount(t, path, org); rows != counted {
		t.Fatalf("pending rows %d but counted %d", rows, counted)
	}
}

func TestPendingInviteCapUnderRace(t *testing.T) {
	const limit, racers = 5, 24
	d, _, path := openWithLimits(t, limit, 0)
	owner := MustCreateUser(t, d, "olivia")
	org := MustCreateOrg(t, d, owner, "Acme")
	for i := range racers {
		MustCreateUser(t, d, fmt.Sprintf("user%d", i))
	}
	var wg sync.WaitGroup
	codes := make([]string, racers)
	for i := range racers {
		wg.Go(func() {
			_, err := d.InviteUser(context.Background(), owner, org, fmt.Sprintf("user%d", i), guildhall.RoleMember)
			codes[i] = guildhall.ErrorCode(err)
		})
	}
	wg.Wait()
	tally := map[string]int{}
	for _, c := range codes {
		tally[c]++
	}
	if tally[""] != limit || tally[guildhall.ERATELIMITED] != racers-limit {
		t.Fatalf("outcomes %v; want %d successes and the rest rate_limited", tally, limit)
	}
	if rows, counted := pendingCount(t, path, org); rows != limit || counted != limit {
		t.Fatalf("pending rows %d, counted %d; want %d", rows, counted, limit)
	}
}

func TestInviteRate(t *testing.T) {
	ctx := context.Background()
	d, clk, _ := openWithLimits(t, 0, 3)
	owner := MustCreateUser(t, d, "olivia")
	admin := MustCreateUser(t, d, "adam")
	org := MustCreateOrg(t, d, owner, "Acme")
	MustJoin(t, d, owner, org, admin, guildhall.RoleAdmin, false) // owner's first invitation
	for i := range 4 {
		MustCreateUser(t, d, fmt.Sprintf("user%d", i))
	}
	// A failed attempt counts too: the limit is on attempts, not results.
	_, err := d.InviteUser(ctx, owner, org, "nobody", guildhall.RoleMember)
	wantCode(t, err, guildhall.ENOTFOUND)
	if _, err := d.InviteUser(ctx, owner, org, "user0", guildhall.RoleMember); err != nil {
		t.Fatal(err)
	}
	before := memberRoles(t, d, owner, org)
	_, err = d.InviteUser(ctx, owner, org, "user1", guildhall.RoleMember)
	wait := rateLimited(t, err, 20*time.Second)
	if after := memberRoles(t, d, owner, org); len(after) != len(before) {
		t.Fatalf("refused invitation changed the members: %v -> %v", before, after)
	}
	// The limit is per user: the admin still may.
	if _, err := d.InviteUser(ctx, admin, org, "user1", guildhall.RoleMember); err != nil {
		t.Fatal(err)
	}
	clk.Advance(wait)
	if _, err := d.InviteUser(ctx, owner, org, "user2", guildhall.RoleMember); err != nil {
		t.Fatalf("after waiting %v: %v", wait, err)
	}
	_, err = d.InviteUser(ctx, owner, org, "user3", guildhall.RoleMember)
	rateLimited(t, err, 20*time.Second)
}

// TestInviteeCap: one user holds at most MaxPendingInvitesPerUser open
// invitations, from all organizations together. Past it, a conflict that
// names nothing but the invitee; answering one (accept or decline), a
// revocation or an expiry frees a place; an existing invitation is still
// "already invited".
func TestInviteeCap(t *testing.T) {
	ctx := context.Background()
	d, clk, _ := MustOpenDBWith(t, db.Options{MaxPendingInvitesPerUser: 2})
	owner := MustCreateUser(t, d, "olivia")
	victim := MustCreateUser(t, d, "vic")
	orgs := make([]int64, 5)
	for i := range orgs {
		orgs[i] = MustCreateOrg(t, d, owner, fmt.Sprintf("Org %d", i))
	}
	invite := func(org int64) error {
		_, err := d.InviteUser(ctx, owner, org, "vic", guildhall.RoleMember)
		return err
	}
	for _, org := range orgs[:2] {
		if err := invite(org); err != nil {
			t.Fatal(err)
		}
	}
	err := invite(orgs[2])
	wantCode(t, err, guildhall.ECONFLICT)
	if msg := guildhall.ErrorMessage(err); msg != "vic cannot take more invitations until they answer some of those they have; try again later." {
		t.Fatalf("refusal %q", msg)
	}
	if ms, _ := d.FetchMemberships(ctx, victim, guildhall.SubsetOpenInvitations); len(ms) != 2 {
		t.Fatalf("vic holds %d invitations, want 2", len(ms))
	}
	err = invite(orgs[0])
	wantCode(t, err, guildhall.ECONFLICT)
	if !strings.Contains(guildhall.ErrorMessage(err), "already been invited") {
		t.Fatalf("re-inviting at the cap: %v", err)
	}
	// Declining frees a place; so does accepting (a membership is not an invitation).
	if err := d.ResolveInvitation(ctx, victim, orgs[0], false); err != nil {
		t.Fatal(err)
	}
	if err := invite(orgs[2]); err != nil {
		t.Fatalf("after a decline: %v", err)
	}
	if err := d.ResolveInvitation(ctx, victim, orgs[1], true); err != nil {
		t.Fatal(err)
	}
	if err := invite(orgs[3]); err != nil {
		t.Fatalf("after an accept: %v", err)
	}
	wantCode(t, invite(orgs[4]), guildhall.ECONFLICT)
	if err := d.RevokeInvitation(ctx, owner, orgs[3], "vic"); err != nil {
		t.Fatal(err)
	}
	if err := invite(orgs[4]); err != nil {
		t.Fatalf("after a revoke: %v", err)
	}
	// Expired invitations hold no place.
	clk.Advance(guildhall.DefaultInviteTTL)
	if err := invite(orgs[0]); err != nil {
		t.Fatalf("after the others expired: %v", err)
	}
	// Renewing an expired invitation opens it again: it takes a place as a
	// new invitation would, and at the cap is refused in invite's words,
	// leaving it expired. Renewing an open one takes no new place.
	if _, err := d.ResendInvitation(ctx, owner, orgs[2], "vic"); err != nil {
		t.Fatalf("renew below the cap: %v", err)
	}
	before := inviteesExpiry(t, d, owner, orgs[4])
	_, err = d.ResendInvitation(ctx, owner, orgs[4], "vic")
	wantCode(t, err, guildhall.ECONFLICT)
	if msg := guildhall.ErrorMessage(err); msg != "vic cannot take more invitations until they answer some of those they have; try again later." {
		t.Fatalf("renew at the cap: %q", msg)
	}
	if after := inviteesExpiry(t, d, owner, orgs[4]); !after.Equal(before) || after.After(clk.Now()) {
		t.Fatalf("the refused renewal changed the expiry: %v, was %v", after, before)
	}
	if ms, _ := d.FetchMemberships(ctx, victim, guildhall.SubsetOpenInvitations); len(ms) != 2 {
		t.Fatalf("vic holds %d invitations, want 2", len(ms))
	}
	if _, err := d.ResendInvitation(ctx, owner, orgs[0], "vic"); err != nil {
		t.Fatalf("renew an open invitation at the cap: %v", err)
	}
	if err := d.RevokeInvitation(ctx, owner, orgs[2], "vic"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ResendInvitation(ctx, owner, orgs[4], "vic"); err != nil {
		t.Fatalf("renew after a revoke: %v", err)
	}
}

// inviteesExpiry is when vic's invitation to org expires, as its owner's
// member list shows it.
func inviteesExpiry(t *testing.T, d *db.DB, owner guildhall.Actor, org int64) time.Time {
	t.Helper()
	page, err := d.ListMembersPage(context.Background(), owner, org, guildhall.MembersQuery{Status: guildhall.MembersAll})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range page.Members {
		if m.Username == "vic" {
			return m.Expires
		}
	}
	t.Fatalf("no invitation of vic in %d", org)
	return time.Time{}
}

// TestOrganizationRate: one user founds at most OrganizationRate
// organizations an hour (a burst of as many); past it, 429 with the wait,
// and nothing is created; other users are not affected.
func TestOrganizationRate(t *testing.T) {
	ctx := context.Background()
	d, clk, _ := MustOpenDBWith(t, db.Options{OrganizationRate: 2})
	mallory := MustCreateUser(t, d, "mallory")
	other := MustCreateUser(t, d, "olivia")
	for i := range 2 {
		MustCreateOrg(t, d, mallory, fmt.Sprintf("Org %d", i))
	}
	_, err := d.CreateOrganization(ctx, mallory, "Org 2", "")
	wait := rateLimited(t, err, 30*time.Minute)
	if !strings.Contains(guildhall.ErrorMessage(err), "at most 2 an hour") {
		t.Errorf("refusal %q", guildhall.ErrorMessage(err))
	}
	if ms, _ := d.FetchMemberships(ctx, mallory, guildhall.SubsetAll); len(ms) != 2 {
		t.Fatalf("mallory owns %d organizations, want 2", len(ms))
	}
	MustCreateOrg(t, d, other, "Olivia's")
	clk.Advance(wait)
	MustCreateOrg(t, d, mallory, "Org 2")
}

// TestPendingInviteCapUnderBulkRace: bulk invitations racing each other
// and single ones (on PostgreSQL, concurrent transactions taking turns on
// the organization's queue) fill the cap exactly, never past it, and each
// refusal is the cap's.
func TestPendingInviteCapUnderBulkRace(t *testing.T) {
	const limit, racers = 5, 8
	d, _, path := openWithLimits(t, limit, 0)
	owner := MustCreateUser(t, d, "olivia")
	org := MustCreateOrg(t, d, owner, "Acme")
	for i := range 3 * racers {
		MustCreateUser(t, d, fmt.Sprintf("user%d", i))
	}
	var wg sync.WaitGroup
	bulk := make([][]guildhall.InvitationResult, racers)
	single := make([]error, racers)
	for i := range racers {
		wg.Go(func() {
			var err error
			bulk[i], _, err = d.InviteUsers(context.Background(), owner, org, []guildhall.Invitation{
				{Username: fmt.Sprintf("user%d", 3*i), Role: guildhall.RoleMember},
				{Username: fmt.Sprintf("user%d", 3*i+1), Role: guildhall.RoleViewer},
			}, false)
			if err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			_, single[i] = d.InviteUser(context.Background(), owner, org, fmt.Sprintf("user%d", 3*i+2), guildhall.RoleMember)
		})
	}
	wg.Wait()
	tally := map[string]int{}
	for i := range racers {
		tally[guildhall.ErrorCode(single[i])]++
		for _, r := range bulk[i] {
			if r.Invited {
				tally[""]++
			} else {
				tally[guildhall.ErrorCode(r.Err)]++
			}
		}
	}
	if tally[""] != limit || tally[guildhall.ERATELIMITED] != 3*racers-limit {
		t.Fatalf("outcomes %v; want %d successes and the rest rate_limited", tally, limit)
	}
	if rows, counted := pendingCount(t, path, org); rows != limit || counted != limit {
		t.Fatalf("pending rows %d, counted %d; want %d", rows, counted, limit)
	}
}
