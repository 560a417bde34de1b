package db

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"guildhall"
)

// Abuse limits, each configurable through Options (and the `guildhall
// serve` flag of the same name), where 0 turns a limit off.
const (
	// DefaultMaxPendingInvites caps the open invitations of one
	// organization: an account that may invite cannot flood it without end.
	DefaultMaxPendingInvites = 1000
	// DefaultMaxPendingInvitesPerUser caps the open invitations one user
	// holds, from all organizations together: nobody can bury someone's
	// dashboard under invitations.
	DefaultMaxPendingInvitesPerUser = 100
	// DefaultInviteRate is how many invitations one user may send per
	// minute, with a burst of as many at once.
	DefaultInviteRate = 600
	// DefaultOrganizationRate is how many organizations one user may
	// create per hour, with a burst of as many at once: each new
	// organization is another place to invite from.
	DefaultOrganizationRate = 10
	// DefaultSignupRate is how many accounts may be signed up from one
	// client address (an IPv6 /64) per hour, with a burst of as many.
	DefaultSignupRate = 20
)

// Bounds on the memory of the in-memory rate limiter.
const (
	// rateLimiterSweepSize is how many keys the rate limiter tracks before
	// it sweeps out those whose allowance has refilled completely.
	rateLimiterSweepSize = 4096
	// rateLimiterMaxKeys bounds the keys one rate limiter tracks (about
	// 10 MiB). When that many are all still counting, a new key is refused
	// until one frees up: the limiter fails closed rather than forget anyone.
	rateLimiterMaxKeys = 100_000
	// rateLimiterSweepEvery spaces the sweeps of a full rate limiter.
	rateLimiterSweepEvery = time.Second
)

// limiter decides whether one more event for a key may happen now: the
// service asks it before work a flood would make expensive or harmful (a
// sign-up, a new organization, an invitation). rateLimiter implements it
// in memory for one process; sharedRateLimiter (pg_limits.go) over
// PostgreSQL for every node at once, and the rules that ask it do not change.
type limiter interface {
	// allow records one event for key at now and returns 0, or refuses it
	// and returns how long until the next one would be allowed. An error
	// means it could not decide, and the event is refused.
	allow(ctx context.Context, key string, now time.Time) (wait time.Duration, err error)
}

// rateLimiter allows each key events per period, in bursts of up to
// events, by the generic cell rate algorithm: per key it keeps only the
// theoretical arrival time (tat) of the next event. A limiter with events
// 0 allows everything. It lives in memory: a restart forgets it, which
// costs an abuser at most one extra period's allowance.
type rateLimiter struct {
	interval  time.Duration // between events at the sustained rate
	tolerance time.Duration // how far ahead of now tat may run: the burst
	mu        sync.Mutex
	tat       map[string]time.Time
	// sweepAt is the size at which the next sweep runs: twice what the
	// last sweep left (at most maxKeys), so sweeps stay rare however many
	// keys are live; a full map is swept at most once per
	// rateLimiterSweepEvery, so a flood of new keys cannot make every
	// event scan it.
	sweepAt int
	sweptAt time.Time
	// maxKeys is rateLimiterMaxKeys; a test lowers it to fill the map cheaply.
	maxKeys int
}

func newRateLimiter(events int, period time.Duration) *rateLimiter {
	l := &rateLimiter{tat: map[string]time.Time{}, sweepAt: rateLimiterSweepSize, maxKeys: rateLimiterMaxKeys}
	l.interval, l.tolerance = rateSpacing(events, period)
	return l
}

// rateSpacing is how a limit of events per period spaces them (the
// generic cell rate algorithm both limiters run): one event each interval,
// a burst of all of them within tolerance; zeros for no limit.
func rateSpacing(events int, period time.Duration) (interval, tolerance time.Duration) {
	if events <= 0 {
		return 0, 0
	}
	interval = period / time.Duration(events)
	return interval, interval * time.Duration(events-1)
}

func (l *rateLimiter) allow(_ context.Context, key string, now time.Time) (time.Duration, error) {
	if l.interval == 0 {
		return 0, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	tat, seen := l.tat[key]
	if !seen || tat.Before(now) {
		tat = now
	}
	if wait := tat.Sub(now) - l.tolerance; wait > 0 {
		return wait, nil
	}
	if !seen && len(l.tat) >= l.sweepAt && (len(l.tat) < l.maxKeys || now.Sub(l.sweptAt) >= rateLimiterSweepEvery) {
		l.sweep(now)
		l.sweptAt = now
		l.sweepAt = min(max(rateLimiterSweepSize, 2*len(l.tat)), l.maxKeys)
	}
	if !seen && len(l.tat) >= l.maxKeys {
		return l.interval, nil
	}
	l.tat[key] = tat.Add(l.interval)
	return 0, nil
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

// rateLimited asks l to allow one more event for key, and words a refusal
// as what ("You are sending invitations too fast") and the wait, which
// also goes in Retry-After.
func (db *DB) rateLimited(ctx context.Context, l limiter, key, what string) error {
	wait, err := l.allow(ctx, key, db.now())
	if err != nil || wait <= 0 {
		return err
	}
	return &guildhall.Error{Code: guildhall.ERATELIMITED, Message: what + "; try again in " + waitText(wait) + ".", RetryAfter: wait}
}

// userKey names a user to a limiter.
func userKey(a guildhall.Actor) string { return "user:" + strconv.FormatInt(a.UserID, 10) }

// allowInvite applies the per-user invitation rate.
func (db *DB) allowInvite(ctx context.Context, a guildhall.Actor) error {
	return db.rateLimited(ctx, db.inviteRate, userKey(a), fmt.Sprintf(
		"You are sending invitations too fast (at most %d a minute)", db.inviteRatePerMinute))
}

// pendingCountSQL reads an organization's pending rows, open or expired,
// from the counts the triggers of migration 7 keep.
const pendingCountSQL = `SELECT coalesce(sum(members), 0) FROM membership_counts WHERE organization_id = ? AND status = 'pending'`

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
	if err := tx.QueryRowContext(ctx, pendingCountSQL, org.ID).Scan(&pending); err != nil {
		return err
	}
	if pending <= limit {
		return nil
	}
	var live int
	if err := tx.QueryRowContext(ctx, `
		SELECT count(*) FROM (
			SELECT 1 FROM memberships INDEXED BY memberships_pending
			WHERE organization_id = ? AND status = 'pending' AND expires > ? LIMIT ?) AS live_invitations`,
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
	tx.refused(LimitPendingInvites)
	e := guildhall.Errorf(guildhall.ERATELIMITED, "%s already has %d open invitations, the most it may have; "+
		"invite more once some are accepted, declined, revoked or expired.", org.Name, limit)
	e.RetryAfter = max(time.Second, time.Unix(earliest, 0).Sub(tx.now))
	return e
}

// checkInviteeCap refuses to open one more invitation for the user
// userID (named username) if they already hold limit open invitations
// (0: no cap), with refuseInviteeCap's words; inviteSQL makes the same
// count inside its own statement. The count stops at the cap.
func (tx *Tx) checkInviteeCap(ctx context.Context, userID int64, username string, limit int) error {
	if limit <= 0 {
		return nil
	}
	var open int
	if err := tx.QueryRowContext(ctx, `
		SELECT count(*) FROM (
			SELECT 1 FROM memberships WHERE user_id = ? AND status = 'pending' AND expires > ? LIMIT ?) AS open_invitations`,
		userID, unix(tx.now), limit).Scan(&open); err != nil {
		return err
	}
	if open < limit {
		return nil
	}
	return tx.refuseInviteeCap(username, limit)
}

// refuseInviteeCap is the refusal of an invitation that would give the
// invitee more open invitations than limit, from all organizations
// together (inviteSQL counts them, at most the cap, in the invitation's
// own statement). It is a conflict with the invitee's state and says no
// more than that: not how many invitations they hold, nor from where, nor
// when one lapses.
func (tx *Tx) refuseInviteeCap(username string, limit int) error {
	if limit <= 0 {
		return fmt.Errorf("the invitation of %s was not written, and no cap is on", username)
	}
	tx.refused(LimitPendingInvitesPerUser)
	return guildhall.Errorf(guildhall.ECONFLICT, "%s cannot take more invitations until they answer some of those they have; try again later.", username)
}
