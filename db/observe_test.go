package db_test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"guildhall"
	"guildhall/db"
	"guildhall/db/dbtest"
)

// recorder is an Observer that keeps what it is told.
type recorder struct {
	mu       sync.Mutex
	batches  []int
	refusals map[string]int
}

func (r *recorder) GroupCommitted(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batches = append(r.batches, n)
}

func (r *recorder) LimitRefused(limit string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.refusals == nil {
		r.refusals = map[string]int{}
	}
	r.refusals[limit]++
}

func (r *recorder) refused() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.refusals)
}

// TestObserverHearsEveryLimit: each limit that refuses a request tells the
// Observer its own name, once per refusal, and nothing else does.
func TestObserverHearsEveryLimit(t *testing.T) {
	ctx := context.Background()
	rec := &recorder{}
	d, clk, _ := MustOpenDBWith(t, db.Options{Observer: rec, InviteRate: 1, OrganizationRate: 1, SignupRate: 1,
		MaxPendingInvites: 1, MaxPendingInvitesPerUser: 1, LoginThrottleMaxKeys: 2})
	want := map[string]int{}
	check := func(step string) {
		t.Helper()
		if got := rec.refused(); !maps.Equal(got, want) {
			t.Fatalf("after %s: refusals %v, want %v", step, got, want)
		}
	}
	owner := MustCreateUser(t, d, "olivia")
	for _, name := range []string{"ann", "ben"} {
		MustCreateUser(t, d, name)
	}
	acme := MustCreateOrg(t, d, owner, "Acme")
	_, err := d.CreateOrganization(ctx, owner, "Second", "")
	wantCode(t, err, guildhall.ERATELIMITED)
	want[db.LimitOrganizationRate]++
	check("a second organization within the hour")

	if _, err := d.InviteUser(ctx, owner, acme, "ann", guildhall.RoleMember); err != nil {
		t.Fatal(err)
	}
	_, err = d.InviteUser(ctx, owner, acme, "ben", guildhall.RoleMember)
	wantCode(t, err, guildhall.ERATELIMITED)
	want[db.LimitInviteRate]++
	check("a second invitation within the minute")

	clk.Advance(time.Hour) // both rates refill
	_, err = d.InviteUser(ctx, owner, acme, "ben", guildhall.RoleMember)
	wantCode(t, err, guildhall.ERATELIMITED)
	want[db.LimitPendingInvites]++
	check("a second open invitation in Acme")

	other := MustCreateOrg(t, d, owner, "Other")
	clk.Advance(time.Minute)
	_, err = d.InviteUser(ctx, owner, other, "ann", guildhall.RoleMember)
	wantCode(t, err, guildhall.ECONFLICT)
	want[db.LimitPendingInvitesPerUser]++
	check("a second open invitation for ann")

	for _, name := range []string{"newbie1", "newbie2"} {
		_, err = d.SignUp(ctx, name, "password-"+name, "192.0.2.1")
	}
	wantCode(t, err, guildhall.ERATELIMITED)
	want[db.LimitSignupRate]++
	check("a second sign-up from one address")

	wrong := guildhall.Credentials{Username: "olivia", Password: "not her password", ClientAddr: "192.0.2.2"}
	for range 5 { // the failures that cost nothing
		_, err := d.Authenticate(ctx, wrong)
		wantCode(t, err, guildhall.EUNAUTHORIZED)
	}
	_, err = d.Authenticate(ctx, wrong)
	wantCode(t, err, guildhall.ERATELIMITED)
	want[db.LimitLoginThrottle]++
	check("a sixth wrong password at once")

	// The throttle holds olivia and 192.0.2.2, its two keys: a login that
	// needs two more is refused, not counted. (On PostgreSQL the throttle
	// is a table, with room for every key.)
	if !dbtest.Postgres() {
		_, err = d.Authenticate(ctx, guildhall.Credentials{Username: "ann", Password: "password-ann", ClientAddr: "192.0.2.3"})
		wantCode(t, err, guildhall.EUNAVAILABLE)
		want[db.LimitLoginThrottleFull]++
		check("a login the full throttle cannot count")
	}

	for name := range want {
		if !slices.Contains(db.Limits, name) {
			t.Errorf("db.Limits lacks %q", name)
		}
	}
	if len(db.Limits) != len(want) && !dbtest.Postgres() {
		t.Errorf("db.Limits %v, but the test refused %v", db.Limits, want)
	}
}

// TestObserverHearsGroupCommitBatches: the Observer hears how many
// operations each shared commit held, after it commits.
func TestObserverHearsGroupCommitBatches(t *testing.T) {
	dbtest.SQLiteOnly(t, "group commit")
	ctx := context.Background()
	rec := &recorder{}
	d, _, _ := MustOpenDBWith(t, db.Options{Observer: rec, GroupCommit: true})
	owner := MustCreateUser(t, d, "olivia")
	org := MustCreateOrg(t, d, owner, "Acme")
	for _, name := range []string{"ann", "ben", "cid"} {
		MustCreateUser(t, d, name)
	}
	queued := make(chan struct{}, 8)
	d.OnWriteQueued(func() { queued <- struct{}{} })
	rec.mu.Lock()
	rec.batches = nil
	rec.mu.Unlock()

	held, release := holdWriter(t, ctx, d)
	<-queued // the held operation itself
	var answers []<-chan error
	for _, name := range []string{"ann", "ben", "cid"} {
		answers = append(answers, inviteAsync(ctx, d, owner, org, name))
		<-queued
	}
	release()
	for _, a := range append(answers, held) {
		if err := <-a; err != nil {
			t.Fatal(err)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if !slices.Equal(rec.batches, []int{1, 3}) {
		t.Fatalf("batches %v, want [1 3]: the held write, then the three queued behind it", rec.batches)
	}
}

// TestReady: a migrated database is ready; one behind the binary's
// migrations, or closed, is not, and the answer says which.
func TestReady(t *testing.T) {
	ctx := context.Background()
	d, _, path := MustOpenDBWith(t, db.Options{})
	if err := d.Ready(ctx); err != nil {
		t.Fatalf("a freshly migrated database: %v", err)
	}
	raw, err := db.OpenRaw(path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	provider, err := raw.MigrationProvider()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provider.Down(ctx); err != nil {
		t.Fatal(err)
	}
	err = d.Ready(ctx)
	wantCode(t, err, guildhall.EUNAVAILABLE)
	if !strings.Contains(err.Error(), "this server needs") {
		t.Fatalf("behind in migrations: %v", err)
	}
	if _, err := provider.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.Ready(ctx); err != nil {
		t.Fatalf("migrated again: %v", err)
	}
	d.Close()
	err = d.Ready(ctx)
	wantCode(t, err, guildhall.EUNAVAILABLE)
	if msg := guildhall.ErrorMessage(err); msg != "The database is not answering." {
		t.Fatalf("closed: %q", msg)
	}
}

// TestCountOpenSessions counts the sessions in force, not the rows: one
// idle too long and one past its absolute expiry are still stored.
func TestCountOpenSessions(t *testing.T) {
	ctx := context.Background()
	d, clk, path := MustOpenDBWith(t, db.Options{})
	u := MustCreateUser(t, d, "olivia")
	const idle = 10 * time.Minute
	create := func(id string, absolute time.Duration) {
		t.Helper()
		if _, err := d.CreateSession(ctx, id, u, nil, idle, absolute); err != nil {
			t.Fatal(err)
		}
	}
	create("idle-too-long", time.Hour)
	clk.Advance(5 * time.Minute)
	create("past-expiry", 6*time.Minute)
	clk.Advance(3 * time.Minute)
	create("open", time.Hour)
	clk.Advance(4 * time.Minute)
	n, err := d.CountOpenSessions(ctx, idle)
	if err != nil || n != 1 {
		t.Fatalf("open sessions %d (%v), want 1", n, err)
	}
	var rows int
	if err := queryRow(t, path, `SELECT count(*) FROM sessions`, &rows); err != nil || rows != 3 {
		t.Fatalf("%d session rows (%v), want 3", rows, err)
	}
}

func TestPoolStats(t *testing.T) {
	d, _, _ := MustOpenDBWith(t, db.Options{ReadConns: 3})
	stats := d.PoolStats()
	writers := 1 // SQLite has one writer
	if dbtest.Postgres() {
		writers = 3
	}
	if len(stats) != 2 || stats["write"].MaxOpenConnections != writers || stats["read"].MaxOpenConnections != 3 {
		t.Fatalf("pool stats %+v", stats)
	}
}
