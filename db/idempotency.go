package db

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"time"

	"guildhall"
)

// Idempotent writes. A write sent with an Idempotency-Key runs once per
// user and key; a retry gets the first answer again. The state lives in
// the database (idempotency_keys), not in this process, so it survives a
// crash and, on a shared database, holds across server nodes:
//
//  1. claim: one transaction inserts the key's row as running, with a
//     random claim and a lease. A retry that finds the row running gets
//     a conflict; one that finds the row answered gets the answer.
//  2. run: one write transaction runs the operation (its service calls
//     join the transaction; see ambient) and stores the answer in the
//     row, if the row still holds this claim. The answer is never written
//     apart from the operation, so a crash between commit and the answer
//     leaves a retry the answer, never a second run.
//  3. release: if the operation ended in a way a retry should not get
//     again (guildhall.AnswerIsFinal), its row is deleted so a retry runs.
//
// A process killed between 1 and 2 leaves a running row without an
// answer; its writes were never committed, and once the lease has run out
// a retry takes the key over and runs.

// errClaimLost stops an operation whose key was taken over by a retry
// after its lease ran out: only one of them may commit.
var errClaimLost = guildhall.Errorf(guildhall.ECONFLICT, "A retry with this Idempotency-Key took over while this request was still running; send it again to get the answer.")

// idempotencyRow is an idempotency_keys row as Idempotent judges it.
type idempotencyRow struct {
	fingerprint []byte
	leaseUntil  time.Time
	answered    bool
	answer      guildhall.Answer
}

// Idempotent runs run at most once for c's user and key, and returns its
// answer; replayed says the answer is the stored one of an earlier
// request. The same key with another fingerprint is EIDEMPOTENCY; while
// an earlier request with the key runs (for up to lease), ECONFLICT.
//
// run writes through the service under the context it is given, in the
// transaction that stores its answer. It returns the answer to store, or
// an error for an outcome that is not to be kept (the key is then
// released): run must not block on other writes, as it holds the writer.
func (db *DB) Idempotent(ctx context.Context, c guildhall.IdempotentCall, lease time.Duration, run func(ctx context.Context) (guildhall.Answer, error)) (answer guildhall.Answer, replayed bool, err error) {
	if err := guildhall.ValidateIdempotencyKey(c.Key); err != nil {
		return answer, false, err
	}
	// A read first: a retry of a request that holds the writer (it is
	// running) must not wait for the writer to be told so.
	var row idempotencyRow
	var found bool
	err = db.view(ctx, func(tx *Tx) error {
		row, found, err = tx.idempotencyRow(ctx, c)
		return err
	})
	if err != nil {
		return answer, false, err
	}
	if found {
		if answer, replayed, err := row.judge(c, db.now()); replayed || err != nil {
			return answer, replayed, err
		}
	}

	claim := make([]byte, 16)
	rand.Read(claim)
	err = db.update(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE expires <= ?`, unix(tx.now)); err != nil {
			return err
		}
		// Take the key unless a live request holds it: an abandoned
		// claim (running past its lease) is taken over.
		res, err := tx.ExecContext(ctx, `
			INSERT INTO idempotency_keys (user_id, key, fingerprint, claim, lease_until, created, expires)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (user_id, key) DO UPDATE SET
				fingerprint = excluded.fingerprint, claim = excluded.claim, lease_until = excluded.lease_until,
				created = excluded.created, expires = excluded.expires
			WHERE idempotency_keys.status IS NULL AND idempotency_keys.lease_until <= ?`,
			c.UserID, c.Key, c.Fingerprint, claim, unix(tx.now.Add(lease)), unix(tx.now), unix(tx.now.Add(guildhall.IdempotencyTTL)),
			unix(tx.now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		// Another request holds the key: say what it holds.
		row, found, err = tx.idempotencyRow(ctx, c)
		if err != nil {
			return err
		}
		if !found { // cannot be: the row conflicted in this very transaction
			return errors.New("idempotency key vanished during its claim")
		}
		answer, replayed, err = row.judge(c, tx.now)
		if err == nil && !replayed {
			return errors.New("idempotency key both held and free")
		}
		return err
	})
	if err != nil || replayed {
		return answer, replayed, err
	}

	err = db.update(ctx, func(tx *Tx) error {
		var err error
		answer, err = run(context.WithValue(ctx, ambientKey{}, ambientTx{db: db, tx: tx}))
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `
			UPDATE idempotency_keys SET status = ?, body = ?
			WHERE user_id = ? AND key = ? AND claim = ? AND status IS NULL`,
			answer.Status, answer.Body, c.UserID, c.Key, claim)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errClaimLost
		}
		return nil
	})
	if err == nil {
		return answer, false, nil
	}
	if errors.Is(err, errClaimLost) {
		return answer, false, err
	}
	// Not an answer to keep: free the key for a retry. If this fails
	// too, the lease frees it.
	release := context.WithoutCancel(ctx)
	if rerr := db.update(release, func(tx *Tx) error {
		_, err := tx.ExecContext(release, `DELETE FROM idempotency_keys WHERE user_id = ? AND key = ? AND claim = ?`, c.UserID, c.Key, claim)
		return err
	}); rerr != nil {
		db.log.WarnContext(ctx, "release an idempotency key", "err", rerr)
	}
	return answer, false, err
}

// judge says what a request with c gets from a live row: the stored
// answer (replayed), EIDEMPOTENCY for other arguments, ECONFLICT while the
// row's request still runs, or nothing (a zero answer, not replayed, no
// error) when its claim was abandoned and may be taken over.
func (r idempotencyRow) judge(c guildhall.IdempotentCall, now time.Time) (guildhall.Answer, bool, error) {
	switch {
	case !bytes.Equal(r.fingerprint, c.Fingerprint):
		return guildhall.Answer{}, false, guildhall.Errorf(guildhall.EIDEMPOTENCY,
			"This Idempotency-Key was used with other arguments; use a new key for a new request.")
	case r.answered:
		return r.answer, true, nil
	case now.Before(r.leaseUntil):
		e := guildhall.Errorf(guildhall.ECONFLICT, "A request with this Idempotency-Key is still running; try again shortly.")
		e.RetryAfter = r.leaseUntil.Sub(now)
		return guildhall.Answer{}, false, e
	}
	return guildhall.Answer{}, false, nil
}

// idempotencyRow reads the live row of c's user and key, if there is one.
func (tx *Tx) idempotencyRow(ctx context.Context, c guildhall.IdempotentCall) (idempotencyRow, bool, error) {
	var r idempotencyRow
	var lease int64
	var status sql.NullInt64
	err := tx.QueryRowContext(ctx, `
		SELECT fingerprint, lease_until, status, body FROM idempotency_keys
		WHERE user_id = ? AND key = ? AND expires > ?`, c.UserID, c.Key, unix(tx.now)).
		Scan(&r.fingerprint, &lease, &status, &r.answer.Body)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	} else if err != nil {
		return r, false, err
	}
	r.leaseUntil = time.Unix(lease, 0)
	r.answered, r.answer.Status = status.Valid, int(status.Int64)
	return r, true, nil
}

// ambientKey carries, in a context, the write transaction that service
// calls made under it join (see DB.update).
type ambientKey struct{}

// ambientTx is an open write transaction and the service it belongs to.
type ambientTx struct {
	db *DB
	tx *Tx
}

// ambient returns the write transaction ctx carries for db, or nil.
func (db *DB) ambient(ctx context.Context) *Tx {
	if a, ok := ctx.Value(ambientKey{}).(ambientTx); ok && a.db == db {
		return a.tx
	}
	return nil
}

// nested runs fn in a savepoint of tx: if fn fails, its writes are undone
// and the rest of the transaction stands, as a separate transaction's
// failure would leave it. A race lost to a concurrent transaction
// (PostgreSQL's serialization failure or deadlock) is different: the
// whole transaction is void, whatever its caller makes of the error, so
// it is kept in tx.lost for update to run the transaction again.
func (tx *Tx) nested(ctx context.Context, fn func(tx *Tx) error) error {
	if _, err := tx.ExecContext(ctx, "SAVEPOINT nested"); err != nil {
		return tx.losing(err)
	}
	deferred := len(tx.committed)
	if err := fn(tx); err != nil {
		tx.losing(err)
		tx.committed = tx.committed[:deferred] // rolled back: nothing of fn's will commit
		if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO nested"); rerr != nil {
			return errors.Join(err, rerr)
		}
		if _, rerr := tx.ExecContext(ctx, "RELEASE nested"); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	_, err := tx.ExecContext(ctx, "RELEASE nested")
	return tx.losing(err)
}

// losing notes in tx.lost a race the whole transaction lost (see nested),
// and returns err.
func (tx *Tx) losing(err error) error {
	if err != nil && tx.lost == nil && tx.dialect.retryable(err) {
		tx.lost = err
	}
	return err
}
