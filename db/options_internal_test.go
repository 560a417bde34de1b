package db

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// TestOptionsLimits: a limit holds the value in force and 0 turns it off,
// as the serve flags say; DefaultOptions carries the defaults; a negative
// limit is refused rather than read as anything.
func TestOptionsLimits(t *testing.T) {
	open := func(o Options) (*DB, error) {
		o.Argon2 = CheapArgon2
		d, err := Open(context.Background(), filepath.Join(t.TempDir(), "g.db"), o)
		if err == nil {
			t.Cleanup(func() { d.Close() })
		}
		return d, err
	}
	interval := func(l limiter) time.Duration { return l.(*rateLimiter).interval }
	d, err := open(DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if d.maxPendingInvites != DefaultMaxPendingInvites || d.maxPendingInvitesPerUser != DefaultMaxPendingInvitesPerUser ||
		d.inviteRatePerMinute != DefaultInviteRate || interval(d.inviteRate) != time.Minute/DefaultInviteRate ||
		d.orgRatePerHour != DefaultOrganizationRate || interval(d.orgRate) != time.Hour/DefaultOrganizationRate ||
		d.signupRatePerHour != DefaultSignupRate || interval(d.signupRate) != time.Hour/DefaultSignupRate ||
		d.throttle.(*loginThrottle).maxKeys != DefaultLoginThrottleMaxKeys {
		t.Errorf("DefaultOptions: caps %d %d, rates %d %d %d", d.maxPendingInvites, d.maxPendingInvitesPerUser, d.inviteRatePerMinute, d.orgRatePerHour, d.signupRatePerHour)
	}
	d, err = open(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d.maxPendingInvites != 0 || d.maxPendingInvitesPerUser != 0 ||
		interval(d.inviteRate) != 0 || interval(d.orgRate) != 0 || interval(d.signupRate) != 0 {
		t.Errorf("zero limits must be off: caps %d %d, rates %d %d %d", d.maxPendingInvites, d.maxPendingInvitesPerUser, d.inviteRatePerMinute, d.orgRatePerHour, d.signupRatePerHour)
	}
	if d.throttle.(*loginThrottle).maxKeys != DefaultLoginThrottleMaxKeys {
		t.Error("the login throttle's bound has no off; zero must take the default")
	}
	if d.ttl != DefaultOptions().InviteTTL || d.now == nil || d.log == nil {
		t.Errorf("fields without an off must take their defaults: ttl %v", d.ttl)
	}
	for _, o := range []Options{{MaxPendingInvites: -1}, {MaxPendingInvitesPerUser: -1}, {InviteRate: -1},
		{OrganizationRate: -1}, {SignupRate: -1}, {LoginThrottleMaxKeys: -1}} {
		if _, err := open(o); err == nil {
			t.Errorf("Open accepted a negative limit: %+v", o)
		}
	}
}
