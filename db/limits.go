package db

import (
	"context"
	"database/sql"
	"sync"
	"time"

	"guildhall"
)

// Abuse limits on invitations, each configurable through Options (and the
// `guildhall serve` flags --max-pending-invites and --invite-rate), where 0
// turns a limit off.
const (
	// DefaultMaxPendingInvites caps the open invitations of one
	// organization: an account that may invite cannot flood it without end.
	DefaultMaxPendingInvites = 1000
	// DefaultInviteRate is how many invitations one user may send per
	// minute, with a burst of as many at once.
	DefaultInviteRate = 600
	// rateLimiterSweepSize is how many users the rate limiter tracks before
	// it sweeps out those whose allowance has refilled completely.
	rateLimiterSweepSize = 4096
)

// rateLimiter allows each key perMinute events a minute, in bursts of up to
// perMinute, by the generic cell rate algorithm: per key it keeps only the
// theoretical arrival time (tat) of the next event. A limiter with
// perMinute 0 allows everything. It lives in memory: a restart forgets it,
// which costs an abuser at most one extra minute's allowance.
type rateLimiter struct {
	interval  time.Duration // between events at the sustained rate
	tolerance time.Duration // how far ahead of now tat may run: the burst
	mu        sync.Mutex
	tat       map[int64]time.Time
	// sweepAt is the size at which the next sweep runs: twice what the
	// last sweep left, so sweeps stay rare however many keys are live.
	sweepAt int
}

func newRateLimiter(perMinute int) *rateLimiter {
	l := &rateLimiter{tat: map[int64]time.Time{}, sweepAt: rateLimiterSweepSize}
	if perMinute > 0 {
		l.interval = time.Minute / time.Duration(perMinute)
		l.tolerance = l.interval * time.Duration(perMinute-1)
	}
	return l
}

// allow records one event for key at now, or refuses it and says how long
// until the next one would be allowed.
func (l *rateLimiter) allow(key int64, now time.Time) (ok bool, retryAfter time.Duration) {
	if l.interval == 0 {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	tat, seen := l.tat[key]
	if !seen || tat.Before(now) {
		tat = now
	}
	if wait := tat.Sub(now) - l.tolerance; wait > 0 {
		return false, wait
	}
	if !seen && len(l.tat) >= l.sweepAt {
		l.sweep(now)
		l.sweepAt = max(rateLimiterSweepSize, 2*len(l.tat))
	}
	l.tat[key] = tat.Add(l.interval)
	return true, 0
}

// sweep forgets keys whose allowance has refilled: for them, no entry and
// the entry say the same thing.
func (l *rateLimiter) sweep(now time.Time) {
	for k, tat := range l.tat {
		if !tat.After(now) {
			delete(l.tat, k)
		}
	}
}

// allowInvite applies the per-user invitation rate.
func (db *DB) allowInvite(a guildhall.Actor) error {
	ok, wait := db.inviteRate.allow(a.UserID, db.now())
	if ok {
		return nil
	}
	e := guildhall.Errorf(guildhall.ERATELIMITED, "You are sending invitations too fast (at most %d a minute); wait a moment and try again.", db.inviteRatePerMinute)
	e.RetryAfter = wait
	return e
}

// checkPendingCap refuses the invitation just inserted in tx if it takes
// the organization's open invitations over the cap (0: no cap). The
// trigger-kept count settles it below the cap; at the cap, expired
// invitations that still hold a row are left out by an exact count, which
// stops at the cap so its cost is bounded by it.
func (tx *Tx) checkPendingCap(ctx context.Context, org guildhall.Organization, limit int) error {
	if limit <= 0 {
		return nil
	}
	var pending int
	err := tx.QueryRowContext(ctx, `SELECT pending FROM pending_invitation_counts WHERE organization_id = ?`, org.ID).Scan(&pending)
	if err != nil && err != sql.ErrNoRows {
		return err
	}
	if err == nil && pending <= limit {
		return nil
	}
	var live int
	if err := tx.QueryRowContext(ctx, `
		SELECT count(*) FROM (
			SELECT 1 FROM memberships INDEXED BY memberships_pending
			WHERE organization_id = ? AND status = 'pending' AND expires > ? LIMIT ?)`,
		org.ID, unix(tx.now), limit+1).Scan(&live); err != nil {
		return err
	}
	if live <= limit {
		return nil
	}
	// A place frees up when the oldest open invitation expires (or sooner,
	// if someone accepts, declines or revokes one).
	var earliest int64
	if err := tx.QueryRowContext(ctx, `
		SELECT min(expires) FROM memberships INDEXED BY memberships_pending
		WHERE organization_id = ? AND status = 'pending' AND expires > ?`,
		org.ID, unix(tx.now)).Scan(&earliest); err != nil {
		return err
	}
	e := guildhall.Errorf(guildhall.ERATELIMITED, "%s already has %d open invitations, the most it may have; "+
		"invite more once some are accepted, declined, revoked or expired.", org.Name, limit)
	e.RetryAfter = max(time.Second, time.Unix(earliest, 0).Sub(tx.now))
	return e
}
