package db_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"guildhall"
	"guildhall/db"
	"guildhall/db/dbtest"
)

// idemLease is the lease the tests claim keys with.
const idemLease = time.Minute

// foundAcme is an idempotent run that founds an organization through the
// service and answers with its name, counting its runs.
func foundAcme(d *db.DB, a guildhall.Actor, runs *atomic.Int64) func(ctx context.Context) (guildhall.Answer, error) {
	return func(ctx context.Context) (guildhall.Answer, error) {
		runs.Add(1)
		org, err := d.CreateOrganization(ctx, a, "Acme", "")
		if err != nil {
			return guildhall.Answer{}, err
		}
		return guildhall.Answer{Status: 200, Body: []byte(org.Name)}, nil
	}
}

// orgCount counts the organizations in the file.
func orgCount(t *testing.T, path string) int {
	t.Helper()
	var n int
	if err := queryRow(t, path, `SELECT count(*) FROM organizations`, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestIdempotentReplays: the first call runs and stores its answer; the
// same key and fingerprint replays it without running; another
// fingerprint is a mismatch; another user's key of the same name is
// theirs; after IdempotencyTTL the key is free again.
func TestIdempotentReplays(t *testing.T) {
	ctx := context.Background()
	d, clk, path := MustOpenDBWith(t, db.Options{GroupCommit: true})
	alice := MustCreateUser(t, d, "alice")
	bob := MustCreateUser(t, d, "bob")
	var runs atomic.Int64
	call := guildhall.IdempotentCall{UserID: alice.UserID, Key: "k1", Fingerprint: []byte("create Acme")}

	ans, replayed, err := d.Idempotent(ctx, call, idemLease, foundAcme(d, alice, &runs))
	if err != nil || replayed || string(ans.Body) != "Acme" || ans.Status != 200 {
		t.Fatalf("first: %+v %v %v", ans, replayed, err)
	}
	ans, replayed, err = d.Idempotent(ctx, call, idemLease, foundAcme(d, alice, &runs))
	if err != nil || !replayed || string(ans.Body) != "Acme" || ans.Status != 200 || runs.Load() != 1 || orgCount(t, path) != 1 {
		t.Fatalf("retry: %+v %v %v, %d runs, %d organizations", ans, replayed, err, runs.Load(), orgCount(t, path))
	}
	other := call
	other.Fingerprint = []byte("create Other")
	_, _, err = d.Idempotent(ctx, other, idemLease, foundAcme(d, alice, &runs))
	wantCode(t, err, guildhall.EIDEMPOTENCY)

	bobs := call
	bobs.UserID = bob.UserID
	if _, replayed, err := d.Idempotent(ctx, bobs, idemLease, foundAcme(d, bob, &runs)); err != nil || replayed || runs.Load() != 2 {
		t.Fatalf("bob's key of the same name: %v %v", replayed, err)
	}

	clk.Advance(guildhall.IdempotencyTTL)
	if _, replayed, err := d.Idempotent(ctx, call, idemLease, foundAcme(d, alice, &runs)); err != nil || replayed || runs.Load() != 3 {
		t.Fatalf("after the TTL: %v %v, %d runs", replayed, err, runs.Load())
	}
	_, _, err = d.Idempotent(ctx, guildhall.IdempotentCall{UserID: alice.UserID, Key: "", Fingerprint: []byte("x")}, idemLease, foundAcme(d, alice, &runs))
	wantCode(t, err, guildhall.EINVALID)
}

// TestIdempotentAnswerCommitsWithTheWrite: what run writes through the
// service and its answer commit together; a run that fails leaves neither
// its writes nor the key, so a retry runs.
func TestIdempotentAnswerCommitsWithTheWrite(t *testing.T) {
	ctx := context.Background()
	for _, groupCommit := range []bool{false, true} {
		d, _, path := MustOpenDBWith(t, db.Options{GroupCommit: groupCommit})
		alice := MustCreateUser(t, d, "alice")
		call := guildhall.IdempotentCall{UserID: alice.UserID, Key: "k", Fingerprint: []byte("f")}
		unavailable := guildhall.Errorf(guildhall.EUNAVAILABLE, "not now")
		_, _, err := d.Idempotent(ctx, call, idemLease, func(ctx context.Context) (guildhall.Answer, error) {
			if _, err := d.CreateOrganization(ctx, alice, "Lost", ""); err != nil {
				return guildhall.Answer{}, err
			}
			return guildhall.Answer{}, unavailable
		})
		if !errors.Is(err, unavailable) || orgCount(t, path) != 0 {
			t.Fatalf("group commit %v: a failed run: %v, %d organizations", groupCommit, err, orgCount(t, path))
		}
		var runs atomic.Int64
		if _, replayed, err := d.Idempotent(ctx, call, idemLease, foundAcme(d, alice, &runs)); err != nil || replayed || orgCount(t, path) != 1 {
			t.Fatalf("group commit %v: the retry: %v %v", groupCommit, replayed, err)
		}
		// A refusal inside run is an answer like any other: the retry gets it.
		refusal := guildhall.IdempotentCall{UserID: alice.UserID, Key: "k2", Fingerprint: []byte("f")}
		refuse := func(ctx context.Context) (guildhall.Answer, error) {
			runs.Add(1)
			_, err := d.InviteUser(ctx, alice, 9999, "bob", guildhall.RoleMember)
			return guildhall.Answer{Status: 404, Body: []byte(guildhall.ErrorMessage(err))}, nil
		}
		for i := range 2 {
			ans, replayed, err := d.Idempotent(ctx, refusal, idemLease, refuse)
			if err != nil || replayed != (i == 1) || ans.Status != 404 || string(ans.Body) != "Organization 9999 does not exist." || runs.Load() != 2 {
				t.Fatalf("group commit %v: refusal %d: %+v %v %v", groupCommit, i, ans, replayed, err)
			}
		}
	}
}

// TestIdempotentWhileRunning: a retry while the first request still runs
// is a conflict with a Retry-After, answered without waiting for the
// writer the first one holds; after it, the retry gets the answer.
func TestIdempotentWhileRunning(t *testing.T) {
	ctx := context.Background()
	d, _, _ := MustOpenDBWith(t, db.Options{GroupCommit: true})
	alice := MustCreateUser(t, d, "alice")
	call := guildhall.IdempotentCall{UserID: alice.UserID, Key: "k", Fingerprint: []byte("f")}
	started, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		_, _, err := d.Idempotent(ctx, call, idemLease, func(ctx context.Context) (guildhall.Answer, error) {
			close(started)
			<-release
			return guildhall.Answer{Status: 200, Body: []byte("done")}, nil
		})
		first <- err
	}()
	<-started
	var runs atomic.Int64
	_, _, err := d.Idempotent(ctx, call, idemLease, foundAcme(d, alice, &runs))
	var ge *guildhall.Error
	if !errors.As(err, &ge) || ge.Code != guildhall.ECONFLICT || ge.RetryAfter <= 0 || ge.RetryAfter > idemLease || runs.Load() != 0 {
		t.Fatalf("retry while running: %v", err)
	}
	close(release)
	if err := receive(t, first, "the first request"); err != nil {
		t.Fatal(err)
	}
	if ans, replayed, err := d.Idempotent(ctx, call, idemLease, foundAcme(d, alice, &runs)); err != nil || !replayed || string(ans.Body) != "done" {
		t.Fatalf("retry after: %+v %v %v", ans, replayed, err)
	}
}

// TestIdempotentAbandonedClaim: a claim left running by a process that
// died (no answer, as its write never committed) blocks retries for its
// lease, and is taken over after it.
func TestIdempotentAbandonedClaim(t *testing.T) {
	ctx := context.Background()
	d, clk, path := MustOpenDBWith(t, db.Options{})
	alice := MustCreateUser(t, d, "alice")
	err := d.Update(ctx, func(tx *db.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO idempotency_keys (user_id, key, fingerprint, claim, lease_until, created, expires)
			VALUES (?, 'k', ?, ?, ?, ?, ?)`, alice.UserID, []byte("f"), []byte{0}, clk.Now().Add(idemLease).Unix(), clk.Now().Unix(), clk.Now().Add(guildhall.IdempotencyTTL).Unix())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	call := guildhall.IdempotentCall{UserID: alice.UserID, Key: "k", Fingerprint: []byte("f")}
	var runs atomic.Int64
	_, _, err = d.Idempotent(ctx, call, idemLease, foundAcme(d, alice, &runs))
	wantCode(t, err, guildhall.ECONFLICT)
	clk.Advance(idemLease)
	if ans, replayed, err := d.Idempotent(ctx, call, idemLease, foundAcme(d, alice, &runs)); err != nil || replayed || string(ans.Body) != "Acme" || orgCount(t, path) != 1 {
		t.Fatalf("taking over: %+v %v %v", ans, replayed, err)
	}
}

// TestIdempotentWriteRunsAgainWholeAfterALostRace: on PostgreSQL, an
// operation run under an Idempotency-Key runs in a savepoint of the
// transaction that stores its answer. When it loses a race to a concurrent
// transaction (a serialization failure inside the savepoint), the answer
// the caller made of that failure must not be stored: the whole
// transaction runs again, and the answer stored is the one of the run
// that committed. SQLite's writes take turns, so no write can commit
// between a transaction's snapshot and its own write there.
func TestIdempotentWriteRunsAgainWholeAfterALostRace(t *testing.T) {
	dbtest.PostgresOnly(t, "a write that commits inside another's transaction")
	ctx := context.Background()
	w := newAcme(t, db.Options{})
	begun := 0
	w.d.OnWriteBegun(func(ctx context.Context, tx *db.Tx, attempt int) error {
		begun++
		if begun != 2 { // 1: the key's claim; 2: the operation's first run
			return nil
		}
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil { // its snapshot
			return err
		}
		// A concurrent change of the same row commits after it.
		return w.d.ChangeMemberRole(context.Background(), w.owner, w.org, "mia", guildhall.RoleAdmin)
	})
	defer w.d.OnWriteBegun(nil)
	var runs atomic.Int64
	call := guildhall.IdempotentCall{UserID: w.owner.UserID, Key: "k", Fingerprint: []byte("f")}
	run := func(ctx context.Context) (guildhall.Answer, error) {
		runs.Add(1)
		if err := w.d.ChangeMemberRole(ctx, w.owner, w.org, "mia", guildhall.RoleViewer); err != nil {
			return guildhall.Answer{Status: 500, Body: []byte(err.Error())}, nil // as a handler answers a fault
		}
		return guildhall.Answer{Status: 200, Body: []byte("viewer")}, nil
	}
	ans, replayed, err := w.d.Idempotent(ctx, call, idemLease, run)
	if err != nil || replayed || ans.Status != 200 || runs.Load() != 2 {
		t.Fatalf("after the lost race: %d %q replayed %v, %v, %d runs; want 200 after 2 runs", ans.Status, ans.Body, replayed, err, runs.Load())
	}
	if got := w.roles(t); !strings.Contains(got, "mia:viewer/active") {
		t.Errorf("members: %s", got)
	}
	ans, replayed, err = w.d.Idempotent(ctx, call, idemLease, run)
	if err != nil || !replayed || ans.Status != 200 || string(ans.Body) != "viewer" || runs.Load() != 2 {
		t.Fatalf("the retry: %d %q replayed %v, %v; want the stored 200", ans.Status, ans.Body, replayed, err)
	}
}
