package db_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"guildhall"
	"guildhall/db"
	"guildhall/db/dbtest"
)

// TestMigrationsRunOnceAcrossNodes: nodes that start together on an empty
// PostgreSQL database all open it; the migrations run once, under the
// advisory lock, and each node finds the schema complete.
func TestMigrationsRunOnceAcrossNodes(t *testing.T) {
	dbtest.PostgresOnly(t, "several nodes on one database")
	source := dbtest.NewPostgres(t, "")
	const nodes = 3
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() {
			d, err := db.Open(context.Background(), source, db.Options{Argon2: db.CheapArgon2})
			if err == nil {
				err = d.Ready(context.Background())
				d.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
	}
	var applied, distinct int
	if err := queryRow(t, source, `SELECT count(*), count(DISTINCT version_id) FROM goose_db_version WHERE version_id > 0`, &applied, &distinct); err != nil {
		t.Fatal(err)
	}
	if applied != distinct || applied == 0 {
		t.Fatalf("%d migrations recorded, %d distinct: each must run once", applied, distinct)
	}
}

// twoNodes opens the database at source twice, as two servers would, each
// with opts and the one settable clock.
func twoNodes(t *testing.T, opts db.Options) (a, b *db.DB, clk *clock) {
	t.Helper()
	a, clk, source := MustOpenDBWith(t, opts)
	opts.Now = clk.Now
	opts.InviteTTL = 7 * 24 * time.Hour
	return a, MustOpenDBFile(t, source, opts), clk
}

// TestLimitsHoldAcrossNodes: on PostgreSQL the rate limits and the login
// throttle are the database's, so two nodes enforce one limit between
// them, not one each; a session begun on one node is the other's too.
func TestLimitsHoldAcrossNodes(t *testing.T) {
	dbtest.PostgresOnly(t, "several nodes on one database")
	ctx := context.Background()
	a, b, clk := twoNodes(t, db.Options{InviteRate: 2, OrganizationRate: 2, SignupRate: 2})
	nodes := [2]*db.DB{a, b}
	owner := MustCreateUser(t, a, "olivia")
	for i := range 4 {
		MustCreateUser(t, a, fmt.Sprintf("user%d", i))
	}

	// Organizations: two an hour, one on each node; the third is refused on either.
	var org int64
	for i, d := range nodes {
		o, err := d.CreateOrganization(ctx, owner, fmt.Sprintf("Org %d", i), "")
		if err != nil {
			t.Fatalf("organization %d: %v", i, err)
		}
		org = o.ID
	}
	for _, d := range nodes {
		_, err := d.CreateOrganization(ctx, owner, "One too many", "")
		wantCode(t, err, guildhall.ERATELIMITED)
	}

	// Invitations: two a minute between the nodes.
	for i, d := range nodes {
		if _, err := d.InviteUser(ctx, owner, org, fmt.Sprintf("user%d", i), guildhall.RoleMember); err != nil {
			t.Fatalf("invitation %d: %v", i, err)
		}
	}
	for _, d := range nodes {
		_, err := d.InviteUser(ctx, owner, org, "user3", guildhall.RoleMember)
		rateLimited(t, err, time.Minute)
	}
	clk.Advance(30 * time.Second) // one invitation's worth
	if _, err := b.InviteUser(ctx, owner, org, "user2", guildhall.RoleMember); err != nil {
		t.Fatalf("after the wait: %v", err)
	}

	// Sign-ups: two an hour from one address, between the nodes.
	for i, d := range nodes {
		if _, err := d.SignUp(ctx, fmt.Sprintf("newbie%d", i), "password-newbie", "192.0.2.1"); err != nil {
			t.Fatalf("sign-up %d: %v", i, err)
		}
	}
	_, err := a.SignUp(ctx, "newbie2", "password-newbie", "192.0.2.1")
	wantCode(t, err, guildhall.ERATELIMITED)

	// The login throttle: failures on either node count towards one lockout.
	wrong := guildhall.Credentials{Username: "olivia", Password: "not her password", ClientAddr: "198.51.100.7"}
	for i := range 5 { // free failures, alternating nodes
		_, err := nodes[i%2].Authenticate(ctx, wrong)
		wantCode(t, err, guildhall.EUNAUTHORIZED)
	}
	for _, d := range nodes {
		_, err := d.Authenticate(ctx, guildhall.Credentials{Username: "olivia", Password: "password-olivia", ClientAddr: "198.51.100.8"})
		wantCode(t, err, guildhall.ERATELIMITED)
	}

	// Sessions: begun on one node, read on the other, ended on both.
	clk.Advance(time.Hour)
	if _, err := a.CreateSession(ctx, "shared", owner, nil, time.Hour, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if s, err := b.Session(ctx, "shared", time.Hour); err != nil || s.Username != "olivia" {
		t.Fatalf("the other node's session: %+v %v", s, err)
	}
	if err := b.DeleteSession(ctx, "shared"); err != nil {
		t.Fatal(err)
	}
	for _, d := range nodes {
		_, err := d.Session(ctx, "shared", time.Hour)
		wantCode(t, err, guildhall.EUNAUTHORIZED)
	}
}

// TestLoginThrottleAcrossNodesUnderConcurrentGuesses: wrong passwords
// sent all at once to two nodes are counted as they start, across both,
// so no more reach the password check than one node lets through.
func TestLoginThrottleAcrossNodesUnderConcurrentGuesses(t *testing.T) {
	dbtest.PostgresOnly(t, "several nodes on one database")
	a, b, _ := twoNodes(t, db.Options{})
	MustCreateUser(t, a, "alice")
	guessAtOnce(t, 30, a, b)
}
