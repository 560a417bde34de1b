package db_test

import (
	"context"
	"fmt"
	"testing"

	"guildhall"
	"guildhall/db"
)

// bulkOutcome writes a bulk invitation's results as "name:ok", "name:held"
// or "name:<code>", for comparing with one string.
func bulkOutcome(results []guildhall.InvitationResult) string {
	out := ""
	for _, r := range results {
		switch {
		case r.Invited:
			out += " " + r.Username + ":ok"
		case r.Err == nil:
			out += " " + r.Username + ":held"
		default:
			out += " " + r.Username + ":" + guildhall.ErrorCode(r.Err)
		}
	}
	return out
}

// auditInvites counts an organization's invite audit events.
func auditInvites(t *testing.T, path string, org int64) int {
	t.Helper()
	var n int
	if err := queryRow(t, path, fmt.Sprintf(`SELECT count(*) FROM audit_events WHERE organization_id = %d AND action = 'invite'`, org), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestInviteUsers: every row is judged as a single invitation is, a
// refused row leaves the others standing, duplicates within the list are
// conflicts, and each invitation has its audit event.
func TestInviteUsers(t *testing.T) {
	ctx := context.Background()
	d, _, path := MustOpenDBWith(t, db.Options{})
	owner := MustCreateUser(t, d, "olivia")
	org := MustCreateOrg(t, d, owner, "Acme")
	for _, name := range []string{"bob", "carol", "dave", "erin"} {
		MustCreateUser(t, d, name)
	}
	adam := MustCreateUser(t, d, "adam")
	MustJoin(t, d, owner, org, adam, guildhall.RoleAdmin, false)

	rows := []guildhall.Invitation{
		{Username: "bob", Role: guildhall.RoleMember},
		{Username: "carol", Role: guildhall.RoleViewer},
		{Username: "nobody", Role: guildhall.RoleMember},
		{Username: "bob", Role: guildhall.RoleViewer},
		{Username: "adam", Role: guildhall.RoleMember},
	}
	results, invited, err := d.InviteUsers(ctx, owner, org, rows, false)
	if err != nil || invited != 2 || bulkOutcome(results) != " bob:ok carol:ok nobody:not_found bob:conflict adam:conflict" {
		t.Fatalf("InviteUsers: %d %q %v", invited, bulkOutcome(results), err)
	}
	if got := guildhall.ErrorMessage(results[3].Err); got != "bob has already been invited to Acme." {
		t.Errorf("the duplicate row says %q", got)
	}
	if n := auditInvites(t, path, org); n != 3 { // adam's, bob's and carol's
		t.Errorf("%d invite audit events, want 3", n)
	}
	// An admin may not grant owner or admin: those rows are refused, the
	// member row goes through.
	results, invited, err = d.InviteUsers(ctx, adam, org, []guildhall.Invitation{
		{Username: "dave", Role: guildhall.RoleOwner}, {Username: "erin", Role: guildhall.RoleMember},
	}, false)
	if err != nil || invited != 1 || bulkOutcome(results) != " dave:forbidden erin:ok" {
		t.Fatalf("admin's rows: %d %q %v", invited, bulkOutcome(results), err)
	}
	if got := memberRoles(t, d, owner, org); got["bob"] != "member/pending" || got["carol"] != "viewer/pending" || got["erin"] != "member/pending" || got["dave"] != "" {
		t.Fatalf("members: %v", got)
	}

	// Whole-call refusals: the organization, the actor, the row count.
	outsider := MustCreateUser(t, d, "oscar")
	_, _, err = d.InviteUsers(ctx, outsider, org, rows[:1], false)
	wantCode(t, err, guildhall.EFORBIDDEN)
	_, _, err = d.InviteUsers(ctx, owner, 9999, rows[:1], false)
	wantCode(t, err, guildhall.ENOTFOUND)
	_, _, err = d.InviteUsers(ctx, owner, org, nil, false)
	wantCode(t, err, guildhall.EINVALID)
	_, _, err = d.InviteUsers(ctx, owner, org, make([]guildhall.Invitation, guildhall.MaxBulkInvitations+1), false)
	wantCode(t, err, guildhall.EINVALID)
}

// TestInviteUsersAllOrNothing: one refused row holds back every row, and
// the refused row still says why; with no refusal, all are written.
func TestInviteUsersAllOrNothing(t *testing.T) {
	ctx := context.Background()
	d, _, path := MustOpenDBWith(t, db.Options{})
	owner := MustCreateUser(t, d, "olivia")
	org := MustCreateOrg(t, d, owner, "Acme")
	MustCreateUser(t, d, "bob")
	MustCreateUser(t, d, "carol")
	before := memberRoles(t, d, owner, org)
	rows := []guildhall.Invitation{{Username: "bob", Role: guildhall.RoleMember}, {Username: "nobody", Role: guildhall.RoleMember}, {Username: "carol", Role: guildhall.RoleViewer}}
	results, invited, err := d.InviteUsers(ctx, owner, org, rows, true)
	if err != nil || invited != 0 || bulkOutcome(results) != " bob:held nobody:not_found carol:held" {
		t.Fatalf("all or nothing, one refused: %d %q %v", invited, bulkOutcome(results), err)
	}
	if after := memberRoles(t, d, owner, org); fmt.Sprint(after) != fmt.Sprint(before) || auditInvites(t, path, org) != 0 {
		t.Fatalf("a held-back call wrote: %v", after)
	}
	results, invited, err = d.InviteUsers(ctx, owner, org, []guildhall.Invitation{rows[0], rows[2]}, true)
	if err != nil || invited != 2 || bulkOutcome(results) != " bob:ok carol:ok" || auditInvites(t, path, org) != 2 {
		t.Fatalf("all or nothing, all good: %d %q %v", invited, bulkOutcome(results), err)
	}
}

// TestInviteUsersLimits: the pending cap and the invitation rate count
// each row.
func TestInviteUsersLimits(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name             string
		maxPending, rate int
	}{{"pending cap", 2, 0}, {"invite rate", 0, 2}} {
		t.Run(c.name, func(t *testing.T) {
			d, _, _ := openWithLimits(t, c.maxPending, c.rate)
			owner := MustCreateUser(t, d, "olivia")
			org := MustCreateOrg(t, d, owner, "Acme")
			var rows []guildhall.Invitation
			for _, name := range []string{"bob", "carol", "dave"} {
				MustCreateUser(t, d, name)
				rows = append(rows, guildhall.Invitation{Username: name, Role: guildhall.RoleMember})
			}
			results, invited, err := d.InviteUsers(ctx, owner, org, rows, false)
			if err != nil || invited != 2 || bulkOutcome(results) != " bob:ok carol:ok dave:rate_limited" {
				t.Fatalf("%d %q %v", invited, bulkOutcome(results), err)
			}
		})
	}
}
