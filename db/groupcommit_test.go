package db_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"guildhall"
	"guildhall/db"
)

// openGroupCommit opens a fresh database that commits writes in groups.
func openGroupCommit(tb testing.TB, maxPending int) (*db.DB, string) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "guildhall.db")
	d, err := db.Open(context.Background(), path, db.Options{Argon2: cheapArgon2, GroupCommit: true,
		MaxPendingInvites: maxPending})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() })
	return d, path
}

// TestGroupCommitIsolatesFailures races invitations that succeed, conflict,
// name nobody, or insert and are then refused by the cap (so their
// savepoint must undo a written row): each caller gets its own answer and
// the database holds exactly the successes.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	const limit, users = 20, 40
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

// TestGroupCommitClose: Close commits what is queued, then refuses writes.
func TestGroupCommitClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "guildhall.db")
	d, err := db.Open(context.Background(), path, db.Options{Argon2: cheapArgon2, GroupCommit: true})
	if err != nil {
		t.Fatal(err)
	}
	owner := MustCreateUser(t, d, "olivia")
	org := MustCreateOrg(t, d, owner, "Acme")
	for i := range 50 {
		MustCreateUser(t, d, fmt.Sprintf("user%02d", i))
	}
	var wg sync.WaitGroup
	acked := make([]bool, 50)
	for i := range 50 {
		wg.Go(func() {
			_, err := d.InviteUser(context.Background(), owner, org, fmt.Sprintf("user%02d", i), guildhall.RoleMember)
			acked[i] = err == nil
		})
	}
	time.Sleep(time.Millisecond)
	d.Close()
	wg.Wait()
	d2, err := db.Open(context.Background(), path, db.Options{Argon2: cheapArgon2})
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	members := memberRoles(t, d2, owner, org)
	for i, ok := range acked {
		if ok && members[fmt.Sprintf("user%02d", i)] != "member/pending" {
			t.Fatalf("user%02d's invitation was acknowledged but is not in the database", i)
		}
	}
}
