package db

import (
	"strconv"
	"testing"
	"time"

	"guildhall"
)

// throttleWait returns the wait check demands, zero if it lets the attempt through.
func throttleWait(t *testing.T, th *loginThrottle, user, addr string, now time.Time) time.Duration {
	t.Helper()
	err := th.check(user, addr, now)
	if err == nil {
		return 0
	}
	ge, ok := err.(*guildhall.Error)
	if !ok || ge.Code != guildhall.ERATELIMITED || ge.RetryAfter <= 0 {
		t.Fatalf("check: %v", err)
	}
	return ge.RetryAfter
}

func TestLoginThrottleSlowsThenLocksOut(t *testing.T) {
	th := newLoginThrottle()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	// Free failures.
	for i := range loginUserFreeFailures {
		if w := throttleWait(t, th, "alice", "192.0.2.1", now); w != 0 {
			t.Fatalf("attempt %d refused for %v", i+1, w)
		}
		th.failed("alice", "192.0.2.1", now)
	}
	// Slowed: each failure past the free ones doubles the wait.
	for i, want := range []time.Duration{1, 2, 4, 8, 16} {
		if w := throttleWait(t, th, "alice", "192.0.2.1", now); w != want*time.Second {
			t.Fatalf("slow step %d: wait %v, want %v", i, w, want*time.Second)
		}
		now = now.Add(want * time.Second)
		if w := throttleWait(t, th, "alice", "192.0.2.1", now); w != 0 {
			t.Fatalf("slow step %d: still refused after the wait (%v)", i, w)
		}
		th.failed("alice", "192.0.2.1", now)
	}
	// Locked out after loginUserLockoutFailures, for loginLockout.
	if w := throttleWait(t, th, "alice", "192.0.2.9", now); w != loginLockout {
		t.Fatalf("lockout wait %v, want %v", w, loginLockout)
	}
	// The username is locked from any address; another username from the
	// same address is not (that address has only 10 of its 20 failures).
	if w := throttleWait(t, th, "bob", "192.0.2.1", now); w != 0 {
		t.Fatalf("another user from the same address refused for %v", w)
	}
	if w := throttleWait(t, th, "alice", "192.0.2.1", now.Add(loginLockout)); w != 0 {
		t.Fatalf("still locked after the lockout: %v", w)
	}
}

func TestLoginThrottleSuccessAndWindow(t *testing.T) {
	th := newLoginThrottle()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for range loginUserFreeFailures - 1 {
		th.failed("alice", "192.0.2.1", now)
	}
	th.finish("alice", "", nil) // a success
	for range loginUserFreeFailures - 1 {
		th.failed("alice", "192.0.2.1", now)
	}
	if w := throttleWait(t, th, "alice", "", now); w != 0 {
		t.Fatalf("a success did not clear the username's count: %v", w)
	}
	// The address keeps counting across the success: 8 so far.
	for range loginAddrFreeFailures - 2*(loginUserFreeFailures-1) {
		th.failed("someone-else", "192.0.2.1", now)
	}
	if w := throttleWait(t, th, "carol", "192.0.2.1", now); w != loginBackoffBase {
		t.Fatalf("address after %d failures: wait %v", loginAddrFreeFailures, w)
	}
	// Old failures are forgotten.
	if w := throttleWait(t, th, "carol", "192.0.2.1", now.Add(loginFailureWindow)); w != 0 {
		t.Fatalf("failures older than the window still count: %v", w)
	}
}

func TestLoginThrottleKeys(t *testing.T) {
	for _, tt := range []struct{ user, addr, wantUser, wantAddr string }{
		{"Alice", "192.0.2.1", "user:alice", "addr:192.0.2.1"},
		{"bob", "::ffff:192.0.2.1", "user:bob", "addr:192.0.2.1"},
		{"bob", "2001:db8:1:2:3:4:5:6", "user:bob", "addr:2001:db8:1:2::/64"},
		{"bob", "2001:db8:1:2:ffff::1", "user:bob", "addr:2001:db8:1:2::/64"},
		{"bob", "", "user:bob", ""},
	} {
		u, a := throttleKeys(tt.user, tt.addr)
		if u != tt.wantUser || a != tt.wantAddr {
			t.Errorf("throttleKeys(%q, %q) = %q, %q", tt.user, tt.addr, u, a)
		}
	}
}

func TestLoginThrottleMemoryIsBounded(t *testing.T) {
	th := newLoginThrottle()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for i := range loginThrottleMaxKeys + 100 {
		th.failed("user"+strconv.Itoa(i), "", now.Add(time.Duration(i)*time.Millisecond))
	}
	if n := len(th.keys); n > loginThrottleMaxKeys {
		t.Fatalf("%d keys, over the bound %d", n, loginThrottleMaxKeys)
	}
}

func TestLoginThrottleMessage(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Second: "1 second", 1500 * time.Millisecond: "2 seconds", 16 * time.Second: "16 seconds", loginLockout: "15 minutes",
	} {
		if got := waitText(d); got != want {
			t.Errorf("waitText(%v) = %q, want %q", d, got, want)
		}
	}
}
