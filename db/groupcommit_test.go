package db_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"guildhall"
	"guildhall/db"
	"guildhall/db/dbtest"
)

// openGroupCommit opens a fresh database that commits writes in groups.
func openGroupCommit(tb testing.TB, maxPending int) (*db.DB, string) {
	tb.Helper()
	d, _, path := MustOpenDBWith(tb, db.Options{GroupCommit: true, MaxPendingInvites: maxPending})
	return d, path
}

// TestGroupCommitIsolatesFailures races invitations that succeed, conflict,
// name nobody, or insert and are then refused by the cap (so their
// savepoint must undo a written row): each caller gets its own answer and
// the database holds exactly the successes. On PostgreSQL, which has no
// group commit, the same race runs as concurrent transactions.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	const limit, users = 10, 20
	d, path := openGroupCommit(t, limit)
	owner := MustCreateUser(t, d, "olivia")
	org := MustCreateOrg(t, d, owner, "Acme")
	for i := range users {
		MustCreateUser(t, d, fmt.Sprintf("user%02d", i))
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	tally := map[string]int{}
	for i := range 3 * users {
		name := fmt.Sprintf("user%02d", i%users) // every user asked for three times
		if i%7 == 0 {
			name = fmt.Sprintf("ghost%d", i)
		}
		wg.Go(func() {
			_, err := d.InviteUser(context.Background(), owner, org, name, guildhall.RoleMember)
			mu.Lock()
			tally[guildhall.ErrorCode(err)]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if tally[""] != limit || tally[guildhall.ENOTFOUND] == 0 || tally[guildhall.ECONFLICT]+tally[guildhall.ERATELIMITED] == 0 {
		t.Fatalf("outcomes %v; want %d successes, some not_found, the rest conflict or rate_limited", tally, limit)
	}
	for code := range tally {
		if code != "" && code != guildhall.ENOTFOUND && code != guildhall.ECONFLICT && code != guildhall.ERATELIMITED {
			t.Fatalf("unexpected outcome %q (%v)", code, tally)
		}
	}
	if rows, counted := pendingCount(t, path, org); rows != limit || counted != limit {
		t.Fatalf("pending rows %d, counted %d; want %d", rows, counted, limit)
	}
	events, err := d.AuditLog(context.Background(), owner, org, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != limit+1 { // the founding, and one per invitation
		t.Fatalf("%d audit events, want %d", len(events), limit+1)
	}
}

// TestGroupCommitCancelledBeforeStart: an operation whose context has ended
// is not run, and says so.
func TestGroupCommitCancelledBeforeStart(t *testing.T) {
	dbtest.SQLiteOnly(t, "group commit")
	d, _ := openGroupCommit(t, 0)
	owner := MustCreateUser(t, d, "olivia")
	org := MustCreateOrg(t, d, owner, "Acme")
	MustCreateUser(t, d, "bob")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := d.InviteUser(ctx, owner, org, "bob", guildhall.RoleMember)
	wantCode(t, err, guildhall.EUNAVAILABLE)
	if got := memberRoles(t, d, owner, org)["bob"]; got != "" {
		t.Fatalf("cancelled invitation left bob as %s", got)
	}
	if _, err := d.InviteUser(context.Background(), owner, org, "bob", guildhall.RoleMember); err != nil {
		t.Fatal(err)
	}
}

// holdWriter starts a write operation that, once the committer runs it,
// holds the writer until release is called and then inserts an
// organization named "held". It returns when the committer is inside the
// operation; the caller's error arrives on the returned channel. The test's
// end releases the writer too, so a failed test still closes its database.
func holdWriter(t *testing.T, ctx context.Context, d *db.DB) (result <-chan error, release func()) {
	t.Helper()
	started, released := make(chan struct{}), make(chan struct{})
	release = sync.OnceFunc(func() { close(released) })
	t.Cleanup(release)
	answer := make(chan error, 1)
	go func() {
		answer <- d.Update(ctx, func(tx *db.Tx) error {
			close(started)
			<-released
			_, err := tx.ExecContext(ctx, `INSERT INTO organizations (name, created) VALUES ('held', 0)`)
			return err
		})
	}()
	<-started
	return answer, release
}

// inviteAsync invites username into org for owner in the background; the
// caller's error arrives on the returned channel.
func inviteAsync(ctx context.Context, d *db.DB, owner guildhall.Actor, org int64, username string) <-chan error {
	result := make(chan error, 1)
	go func() {
		_, err := d.InviteUser(ctx, owner, org, username, guildhall.RoleMember)
		result <- err
	}()
	return result
}

// receive returns the next value from ch. It fails the test, rather than
// hang it, if none comes within a bound no healthy run comes near.
func receive(t *testing.T, ch <-chan error, what string) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: no answer", what)
		return nil
	}
}

// heldWrites counts holdWriter's organizations, straight from the file.
func heldWrites(t *testing.T, path string) int {
	t.Helper()
	var n int
	if err := queryRow(t, path, `SELECT count(*) FROM organizations WHERE name = 'held'`, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestGroupCommitClose: Close commits what is already queued, and from the
// moment it begins refuses new writes as unavailable.
func TestGroupCommitClose(t *testing.T) {
	dbtest.SQLiteOnly(t, "group commit")
	ctx := context.Background()
	d, path := openGroupCommit(t, 0)
	owner := MustCreateUser(t, d, "olivia")
	org := MustCreateOrg(t, d, owner, "Acme")
	MustCreateUser(t, d, "bob")
	MustCreateUser(t, d, "carol")
	queued := make(chan struct{}, 2)
	d.OnWriteQueued(func() { queued <- struct{}{} })

	held, release := holdWriter(t, ctx, d)
	<-queued
	invited := inviteAsync(ctx, d, owner, org, "bob")
	<-queued // bob's invitation waits behind the held write

	d.StopWrites() // what Close does first
	err := receive(t, inviteAsync(ctx, d, owner, org, "carol"), "an invitation once Close has begun")
	wantCode(t, err, guildhall.EUNAVAILABLE)

	release()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := receive(t, held, "held write"); err != nil {
		t.Fatalf("held write: %v", err)
	}
	if err := receive(t, invited, "queued invitation"); err != nil {
		t.Fatalf("an invitation queued before Close: %v", err)
	}
	_, err = d.InviteUser(ctx, owner, org, "carol", guildhall.RoleMember)
	wantCode(t, err, guildhall.EUNAVAILABLE)
	if !strings.Contains(guildhall.ErrorMessage(err), "shutting down") {
		t.Fatalf("message %q should say the server is shutting down", guildhall.ErrorMessage(err))
	}

	d = MustOpenDBFile(t, path, db.Options{})
	if got := memberRoles(t, d, owner, org); got["bob"] != "member/pending" || got["carol"] != "" {
		t.Fatalf("after Close the members are %v; want bob pending and no carol", got)
	}
	if heldWrites(t, path) != 1 {
		t.Fatal("the held write was acknowledged but is not in the database")
	}
}

// TestGroupCommitAbandonsQueuedWrite: a caller whose context ends while
// its write is still queued gets EUNAVAILABLE at once, and the write never
// happens; a caller whose write has started waits for its real outcome.
func TestGroupCommitAbandonsQueuedWrite(t *testing.T) {
	dbtest.SQLiteOnly(t, "group commit")
	d, path := openGroupCommit(t, 0)
	owner := MustCreateUser(t, d, "olivia")
	org := MustCreateOrg(t, d, owner, "Acme")
	MustCreateUser(t, d, "bob")
	MustCreateUser(t, d, "carol")
	queued := make(chan struct{}, 3)
	d.OnWriteQueued(func() { queued <- struct{}{} })

	heldCtx, cancelHeld := context.WithCancel(context.Background())
	defer cancelHeld()
	held, release := holdWriter(t, heldCtx, d)
	<-queued
	bobCtx, cancelBob := context.WithCancel(context.Background())
	defer cancelBob()
	bob := inviteAsync(bobCtx, d, owner, org, "bob")
	<-queued

	// Bob's caller gives up while the committer is still held.
	cancelBob()
	err := receive(t, bob, "bob's abandoned invitation")
	wantCode(t, err, guildhall.EUNAVAILABLE)
	if !strings.Contains(guildhall.ErrorMessage(err), "ran out of time") {
		t.Fatalf("message %q should say the request ran out of time", guildhall.ErrorMessage(err))
	}

	// The held write had started: its caller waits and hears that it committed.
	cancelHeld()
	release()
	if err := receive(t, held, "held write"); err != nil {
		t.Fatalf("a started write whose context ended: %v, want its real outcome (committed)", err)
	}
	// Carol's invitation queues behind bob's abandoned one; once it is
	// answered, the committer has passed bob's.
	if err := receive(t, inviteAsync(context.Background(), d, owner, org, "carol"), "carol's invitation"); err != nil {
		t.Fatal(err)
	}
	if got := memberRoles(t, d, owner, org); got["bob"] != "" || got["carol"] != "member/pending" {
		t.Fatalf("members %v; want carol pending and no bob", got)
	}
	if heldWrites(t, path) != 1 {
		t.Fatal("the held write reported success but is not in the database")
	}
	events, err := d.AuditLog(context.Background(), owner, org, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if e.Target == "bob" {
			t.Fatalf("the abandoned invitation left an audit event: %+v", e)
		}
	}
}
