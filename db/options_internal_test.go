package db

import (
	"context"
	"path/filepath"
	"testing"
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
	d, err := open(DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if d.maxPendingInvites != DefaultMaxPendingInvites || d.inviteRatePerMinute != DefaultInviteRate || d.inviteRate.interval == 0 {
		t.Errorf("DefaultOptions: cap %d, rate %d", d.maxPendingInvites, d.inviteRatePerMinute)
	}
	d, err = open(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d.maxPendingInvites != 0 || d.inviteRatePerMinute != 0 || d.inviteRate.interval != 0 {
		t.Errorf("zero limits must be off: cap %d, rate %d", d.maxPendingInvites, d.inviteRatePerMinute)
	}
	if d.ttl != DefaultOptions().InviteTTL || d.now == nil || d.log == nil {
		t.Errorf("fields without an off must take their defaults: ttl %v", d.ttl)
	}
	for _, o := range []Options{{MaxPendingInvites: -1}, {InviteRate: -1}} {
		if _, err := open(o); err == nil {
			t.Errorf("Open accepted a negative limit: %+v", o)
		}
	}
}
