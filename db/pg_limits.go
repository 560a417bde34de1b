package db

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"sync/atomic"
	"time"
)

// The limits' state on PostgreSQL. Several nodes serve one database, and
// a limit kept in each node's memory would let a client N times its
// allowance across N nodes; so there the rate limits and the login
// throttle keep their state in the database (rate_limits and
// login_attempts), each decision one short transaction that every node
// sees. The rules are the ones the in-memory limiters apply: the generic
// cell rate algorithm (limits.go) and throttlePolicy and keyState
// (throttle.go). On SQLite, one node serves the file and its limits stay
// in memory.

// The names of the rate limits, as rate_limits rows name them.
const (
	limitInvite       = "invite"
	limitOrganization = "organization"
	limitSignup       = "signup"
)

const (
	// sharedLimitSweepEvery spaces each node's sweeps of the limit rows
	// nothing depends on any more.
	sharedLimitSweepEvery = time.Minute
	// loginAttemptAbandoned: a password check counted as under way for
	// longer than this was abandoned (its node stopped before it could
	// settle it), and counts no more. A check takes well under the
	// handlers' request timeout.
	loginAttemptAbandoned = time.Minute
	// sharedLimitTimeout bounds settling a login attempt after its
	// request has gone: the count must be settled all the same.
	sharedLimitTimeout = 5 * time.Second
)

// newRateLimiterFor makes the limiter named name of events per period (0:
// no limit): in memory, or in the database when nodes share it.
func (db *DB) newRateLimiterFor(name string, events int, period time.Duration) limiter {
	if !db.dialect.sharedState {
		return newRateLimiter(events, period)
	}
	l := &sharedRateLimiter{db: db, name: name}
	l.interval, l.tolerance = rateSpacing(events, period)
	return l
}

// newLoginLimiterFor makes the login throttle: in memory, bounded to
// maxKeys usernames and addresses, or in the database when nodes share it.
func (db *DB) newLoginLimiterFor(maxKeys int) loginLimiter {
	if !db.dialect.sharedState {
		return newLoginThrottle(maxKeys)
	}
	return &sharedLoginThrottle{db: db}
}

// sharedRateLimiter is rateLimiter's algorithm over the rate_limits table:
// one atomic upsert per event decides it.
type sharedRateLimiter struct {
	db                  *DB
	name                string
	interval, tolerance time.Duration // as rateLimiter's; interval 0 allows everything
	sweptAt             atomic.Int64  // Unix nanoseconds of this node's last sweep
}

// allowEventSQL records an event at $3 if the key's theoretical arrival
// time is at most the burst tolerance ($5) ahead of it, moving that time
// on by the interval ($4), and returns a row only then. ON CONFLICT locks
// the key's row, so racing events are decided one after the other.
const allowEventSQL = `
	INSERT INTO rate_limits AS r (name, key, tat) VALUES ($1, $2, $3::bigint + $4::bigint)
	ON CONFLICT (name, key) DO UPDATE SET tat = greatest(r.tat, $3::bigint) + $4::bigint
	WHERE r.tat - $3::bigint <= $5::bigint
	RETURNING tat`

func (l *sharedRateLimiter) allow(ctx context.Context, key string, now time.Time) (time.Duration, error) {
	if l.interval == 0 {
		return 0, nil
	}
	l.sweep(ctx, now)
	var tat int64
	err := l.db.shared.QueryRowContext(ctx, allowEventSQL, l.name, key, now.UnixNano(), int64(l.interval), int64(l.tolerance)).Scan(&tat)
	if err == nil {
		return 0, nil
	} else if !errors.Is(err, sql.ErrNoRows) {
		return 0, l.db.storageError(ctx, "rate limit", err)
	}
	// Refused: the wait is until the arrival time falls within the burst.
	err = l.db.shared.QueryRowContext(ctx, `SELECT tat FROM rate_limits WHERE name = $1 AND key = $2`, l.name, key).Scan(&tat)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, l.db.storageError(ctx, "rate limit", err)
	}
	return max(time.Duration(tat-now.UnixNano())-l.tolerance, time.Nanosecond), nil
}

// sweep deletes, at most once per sharedLimitSweepEvery on this node, the
// limit's rows whose arrival time has passed: they allow a full burst, as
// no row does.
func (l *sharedRateLimiter) sweep(ctx context.Context, now time.Time) {
	if !claimSweep(&l.sweptAt, now) {
		return
	}
	if _, err := l.db.shared.ExecContext(ctx, `DELETE FROM rate_limits WHERE name = $1 AND tat < $2`, l.name, now.UnixNano()); err != nil {
		l.db.log.WarnContext(ctx, "sweep rate limits", "limit", l.name, "err", err)
	}
}

// claimSweep reports whether a sweep last done at *sweptAt is due at now,
// and if so marks it done: of racing callers, one sweeps.
func claimSweep(sweptAt *atomic.Int64, now time.Time) bool {
	last := sweptAt.Load()
	return now.UnixNano()-last >= int64(sharedLimitSweepEvery) && sweptAt.CompareAndSwap(last, now.UnixNano())
}

// sharedLoginThrottle is loginThrottle's rules over the login_attempts
// table: each begin and finish locks the rows of the attempt's username
// and address, judges them as loginThrottle does, and writes them back.
// A table has room for every key, so, unlike loginThrottle, it never
// refuses an attempt for want of it.
type sharedLoginThrottle struct {
	db      *DB
	sweptAt atomic.Int64 // Unix nanoseconds of this node's last sweep
}

func (t *sharedLoginThrottle) begin(ctx context.Context, username, clientAddr string, now time.Time) error {
	t.sweep(ctx, now)
	user, addr := throttleKeys(username, clientAddr)
	return t.update(ctx, now, func(states map[string]keyState) error {
		wait := userPolicy.waitOf(states[user], now)
		if addr != "" {
			wait = max(wait, addrPolicy.waitOf(states[addr], now))
		}
		if err := loginWaitRefusal(wait); err != nil {
			return err
		}
		for k, s := range states {
			s.inFlight++
			s.lastBegin = now
			states[k] = s
		}
		return nil
	}, user, addr)
}

func (t *sharedLoginThrottle) finish(ctx context.Context, username, clientAddr string, now time.Time, outcome error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sharedLimitTimeout)
	defer cancel()
	user, addr := throttleKeys(username, clientAddr)
	err := t.update(ctx, now, func(states map[string]keyState) error {
		for k, s := range states {
			states[k] = s.settled(now, outcome, k == user)
		}
		return nil
	}, user, addr)
	if err != nil {
		t.db.log.WarnContext(ctx, "settle a login attempt", "err", err)
	}
}

// update runs judge on the states of keys ("" left out), read with their
// rows locked, and writes back what judge leaves in the map if it returns
// nil. Rows are created, locked and written in key order, so two attempts
// that share both keys never wait for each other in a circle.
func (t *sharedLoginThrottle) update(ctx context.Context, now time.Time, judge func(map[string]keyState) error, keys ...string) error {
	keys = slices.DeleteFunc(keys, func(k string) bool { return k == "" })
	slices.Sort(keys)
	return t.db.retrying(ctx, func(int) (string, error) {
		tx, err := t.db.shared.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
		if err != nil {
			return "begin", err
		}
		defer tx.Rollback()
		// A row to lock, even for a key never seen: two first attempts
		// must not both count from nothing.
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO login_attempts (key) SELECT unnest($1::text[]) ORDER BY 1
			ON CONFLICT (key) DO NOTHING`, keys); err != nil {
			return "login throttle", err
		}
		rows, err := tx.QueryContext(ctx, `
			SELECT key, failures, last_failure, in_flight, last_begin FROM login_attempts
			WHERE key = ANY ($1::text[]) ORDER BY key FOR UPDATE`, keys)
		if err != nil {
			return "login throttle", err
		}
		states := make(map[string]keyState, len(keys))
		for rows.Next() {
			var k string
			var s keyState
			var lastFailure, lastBegin int64
			if err := rows.Scan(&k, &s.failures, &lastFailure, &s.inFlight, &lastBegin); err != nil {
				rows.Close()
				return "login throttle", err
			}
			s.lastFailure, s.lastBegin = time.Unix(0, lastFailure), time.Unix(0, lastBegin)
			if s.inFlight > 0 && now.Sub(s.lastBegin) >= loginAttemptAbandoned {
				s.inFlight = 0
			}
			states[k] = s
		}
		if err := rows.Close(); err != nil {
			return "login throttle", err
		}
		if err := judge(states); err != nil {
			return "", err
		}
		for _, k := range keys {
			s := states[k]
			if s.forgotten(now) {
				_, err = tx.ExecContext(ctx, `DELETE FROM login_attempts WHERE key = $1`, k)
			} else {
				_, err = tx.ExecContext(ctx, `
					UPDATE login_attempts SET failures = $2, last_failure = $3, in_flight = $4, last_begin = $5
					WHERE key = $1`, k, s.failures, s.lastFailure.UnixNano(), s.inFlight, s.lastBegin.UnixNano())
			}
			if err != nil {
				return "login throttle", err
			}
		}
		return "commit", tx.Commit()
	})
}

// sweep deletes, at most once per sharedLimitSweepEvery on this node, the
// rows of keys whose failures no longer count and that have no attempt
// under way (or only abandoned ones).
func (t *sharedLoginThrottle) sweep(ctx context.Context, now time.Time) {
	if !claimSweep(&t.sweptAt, now) {
		return
	}
	forgotten := now.Add(-max(loginFailureWindow, loginLockout)).UnixNano()
	abandoned := now.Add(-loginAttemptAbandoned).UnixNano()
	if _, err := t.db.shared.ExecContext(ctx, `
		DELETE FROM login_attempts WHERE last_failure < $1 AND (in_flight = 0 OR last_begin < $2)`,
		forgotten, abandoned); err != nil {
		t.db.log.WarnContext(ctx, "sweep the login throttle", "err", err)
	}
}
