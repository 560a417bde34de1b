package db

import (
	"context"
	"database/sql"
	"time"

	"guildhall"
)

// Observer is told of the service's events that an operator counts: the
// metrics (handlers.Metrics) implement it. The service calls it through
// this interface so that db/ knows nothing of how events are exported.
// Its methods are called on request paths and must not block.
type Observer interface {
	// GroupCommitted is told how many write operations one shared commit
	// held (see groupcommit.go), after the commit succeeded.
	GroupCommitted(operations int)
	// LimitRefused is told that the limit named limit (one of Limits)
	// refused a request.
	LimitRefused(limit string)
}

// The limits an Observer hears of, by name. Each is a bounded label value:
// the names never carry a user or an address.
const (
	// LimitLoginThrottle: failed logins for a username or an address must wait (429).
	LimitLoginThrottle = "login_throttle"
	// LimitLoginThrottleFull: the login throttle's table is full (503).
	LimitLoginThrottleFull = "login_throttle_full"
	// LimitSignupRate: sign-ups from one client address (Options.SignupRate).
	LimitSignupRate = "signup_rate"
	// LimitInviteRate: invitations sent by one user (Options.InviteRate).
	LimitInviteRate = "invite_rate"
	// LimitOrganizationRate: organizations created by one user (Options.OrganizationRate).
	LimitOrganizationRate = "org_rate"
	// LimitPendingInvites: an organization's open invitations (Options.MaxPendingInvites).
	LimitPendingInvites = "pending_invites"
	// LimitPendingInvitesPerUser: the open invitations one user holds (Options.MaxPendingInvitesPerUser).
	LimitPendingInvitesPerUser = "pending_invites_per_user"
)

// Limits lists every limit name, for an Observer that shows each from the
// start rather than from its first refusal.
var Limits = []string{LimitLoginThrottle, LimitLoginThrottleFull, LimitSignupRate, LimitInviteRate,
	LimitOrganizationRate, LimitPendingInvites, LimitPendingInvitesPerUser}

// noObserver is the Observer of a DB opened without one.
type noObserver struct{}

func (noObserver) GroupCommitted(int)  {}
func (noObserver) LimitRefused(string) {}

// observeLimits makes the limiters (in memory, or in the database on
// PostgreSQL) tell obs of each refusal. The pending caps, checked inside
// the invite's transaction, tell it themselves (limits.go).
func (db *DB) observeLimits(obs Observer) {
	db.throttle = observedLoginLimiter{db.throttle, obs}
	db.inviteRate = observedLimiter{db.inviteRate, obs, LimitInviteRate}
	db.orgRate = observedLimiter{db.orgRate, obs, LimitOrganizationRate}
	db.signupRate = observedLimiter{db.signupRate, obs, LimitSignupRate}
}

// observedLimiter is a limiter that reports its refusals.
type observedLimiter struct {
	limiter
	obs  Observer
	name string
}

func (l observedLimiter) allow(ctx context.Context, key string, now time.Time) (time.Duration, error) {
	wait, err := l.limiter.allow(ctx, key, now)
	if wait > 0 || err != nil {
		l.obs.LimitRefused(l.name)
	}
	return wait, err
}

// observedLoginLimiter is a loginLimiter that reports its refusals: a wait
// imposed, or an attempt it had no room to count.
type observedLoginLimiter struct {
	loginLimiter
	obs Observer
}

func (l observedLoginLimiter) begin(ctx context.Context, username, clientAddr string, now time.Time) error {
	err := l.loginLimiter.begin(ctx, username, clientAddr, now)
	switch guildhall.ErrorCode(err) {
	case "":
	case guildhall.ERATELIMITED:
		l.obs.LimitRefused(LimitLoginThrottle)
	default:
		l.obs.LimitRefused(LimitLoginThrottleFull)
	}
	return err
}

// PoolStats returns the use of each connection pool by name: "write" (the
// one writer connection) and "read" (the readers), for the metrics.
func (db *DB) PoolStats() map[string]sql.DBStats {
	return map[string]sql.DBStats{"write": db.write.Stats(), "read": db.read.Stats()}
}
