package db

import (
	"context"
	"fmt"
)

// CheapArgon2 keeps test sign-ups fast; the stored PHC string records the
// parameters, so verification works the same way as in production.
var CheapArgon2 = Argon2Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

// SeedMembers adds n active members ("member00000", ...) to an
// organization in one transaction, for tests and benchmarks of large
// organizations: signing each up through the service would hash n passwords.
func (db *DB) SeedMembers(ctx context.Context, orgID int64, n int) error {
	return db.update(ctx, func(tx *Tx) error {
		for i := range n {
			var id int64
			if err := tx.QueryRowContext(ctx, `INSERT INTO users (username, password_hash, created) VALUES (?, '!', ?) RETURNING id`,
				fmt.Sprintf("member%05d", i), unix(tx.now)).Scan(&id); err != nil {
				return err
			}
			role := []string{"admin", "member", "member", "viewer"}[i%4]
			if _, err := tx.ExecContext(ctx, `INSERT INTO memberships (organization_id, user_id, username, role, status, created, accepted) VALUES (?, ?, ?, ?, 'active', ?, ?)`,
				orgID, id, fmt.Sprintf("member%05d", i), role, unix(tx.now), unix(tx.now)); err != nil {
				return err
			}
		}
		return nil
	})
}

// Update runs fn as one write operation, the way every service method
// writes, so a test can hold the writer at a point it chooses.
func (db *DB) Update(ctx context.Context, fn func(tx *Tx) error) error {
	return db.update(ctx, fn)
}

// OnWriteBegun has each write transaction call f as it begins, with its
// attempt number (1, then 2 and on for retries). Set it before the writes
// it is for, and back to nil once they are done.
func (db *DB) OnWriteBegun(f func(ctx context.Context, tx *Tx, attempt int) error) {
	db.begun = f
}

// OnWriteQueued has the group committer call f each time an operation
// joins its queue. Set it before any write.
func (db *DB) OnWriteQueued(f func()) {
	db.committer.queued = f
}

// StopWrites is the first half of Close under group commit: from its
// return on, writes are refused; those already queued still commit.
func (db *DB) StopWrites() {
	db.committer.stop()
}

// HoldNewPasswordHashing takes every slot of the hasher's share for new
// passwords, as a flood of sign-ups all hashing at once would, and keeps
// them until release is called.
func (db *DB) HoldNewPasswordHashing() (release func()) {
	n := cap(db.hasher.newSlots)
	for range n {
		db.hasher.newSlots <- struct{}{}
	}
	return func() {
		for range n {
			<-db.hasher.newSlots
		}
	}
}

// LowerSearchLimits has member searches answer from the username index
// for at most maxMatches names, and read at most scanBudget rows a page
// otherwise, so that a test shows each way of searching on a few rows.
func (db *DB) LowerSearchLimits(maxMatches, scanBudget int) {
	db.search = searchLimits{maxMatches: maxMatches, scanBudget: scanBudget}
}
