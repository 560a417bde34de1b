package db

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"guildhall"
)

// TestGroupCommitSurvivesPanic: a panicking operation is rolled back to its
// savepoint and reported as an internal error; the operations batched with
// it commit, and the committer goes on serving.
func TestGroupCommitSurvivesPanic(t *testing.T) {
	d, err := Open(context.Background(), filepath.Join(t.TempDir(), "g.db"),
		Options{GroupCommit: true, Argon2: CheapArgon2})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	insert := func(name string, panics bool) error {
		return d.update(ctx, func(tx *Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO organizations (name, created) VALUES (?, 0)`, name); err != nil {
				return err
			}
			if panics {
				panic("boom")
			}
			return nil
		})
	}
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Go(func() { errs[i] = insert("org", i%5 == 0) })
	}
	wg.Wait()
	for i, err := range errs {
		var ge *guildhall.Error
		switch {
		case i%5 == 0 && (err == nil || errors.As(err, &ge)):
			t.Errorf("op %d panicked but returned %v, want an internal error", i, err)
		case i%5 != 0 && err != nil:
			t.Errorf("op %d: %v", i, err)
		}
	}
	var n int
	if err := d.read.QueryRow(`SELECT count(*) FROM organizations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 16 {
		t.Fatalf("%d organizations committed, want 16", n)
	}
	if err := insert("after", false); err != nil {
		t.Fatalf("committer after a panic: %v", err)
	}
}
