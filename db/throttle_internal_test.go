package db

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"

	"guildhall"
)

// Outcomes of a password check, as Authenticate hands them to finish.
var (
	wrongPassword = guildhall.Errorf(guildhall.EUNAUTHORIZED, "Wrong username or password.")
	signedIn      error
	notChecked    = guildhall.Errorf(guildhall.EUNAVAILABLE, "The server is busy; try again.")
)

// attempt makes one login attempt the way Authenticate does: begin, and if
// the throttle lets it through, finish with outcome. It returns the wait
// begin demanded, zero if it let the attempt through.
func attempt(t *testing.T, th *loginThrottle, user, addr string, now time.Time, outcome error) time.Duration {
	t.Helper()
	err := th.begin(context.Background(), user, addr, now)
	if err == nil {
		th.finish(context.Background(), user, addr, now, outcome)
		return 0
	}
	ge, ok := err.(*guildhall.Error)
	if !ok || ge.Code != guildhall.ERATELIMITED || ge.RetryAfter <= 0 {
		t.Fatalf("begin: %v", err)
	}
	return ge.RetryAfter
}

func TestLoginThrottleSlowsThenLocksOut(t *testing.T) {
	th := newLoginThrottle(DefaultLoginThrottleMaxKeys)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	// Free failures.
	for i := range loginUserFreeFailures {
		if w := attempt(t, th, "alice", "192.0.2.1", now, wrongPassword); w != 0 {
			t.Fatalf("attempt %d refused for %v", i+1, w)
		}
	}
	// Slowed: each failure past the free ones doubles the wait. A refused
	// attempt is not counted, so the wait runs from the last failure.
	for i, want := range []time.Duration{1, 2, 4, 8, 16} {
		if w := attempt(t, th, "alice", "192.0.2.1", now, wrongPassword); w != want*time.Second {
			t.Fatalf("slow step %d: wait %v, want %v", i, w, want*time.Second)
		}
		now = now.Add(want * time.Second)
		if w := attempt(t, th, "alice", "192.0.2.1", now, wrongPassword); w != 0 {
			t.Fatalf("slow step %d: still refused after the wait (%v)", i, w)
		}
	}
	// Locked out after loginUserLockoutFailures, for loginLockout, even
	// with the right password.
	if w := attempt(t, th, "alice", "192.0.2.9", now, signedIn); w != loginLockout {
		t.Fatalf("lockout wait %v, want %v", w, loginLockout)
	}
	// The username is locked from any address; another username from the
	// same address is not (that address has only 10 of its 20 failures).
	if w := attempt(t, th, "bob", "192.0.2.1", now, signedIn); w != 0 {
		t.Fatalf("another user from the same address refused for %v", w)
	}
	if w := attempt(t, th, "alice", "192.0.2.1", now.Add(loginLockout), signedIn); w != 0 {
		t.Fatalf("still locked after the lockout: %v", w)
	}
}

func TestLoginThrottleSuccessAndWindow(t *testing.T) {
	th := newLoginThrottle(DefaultLoginThrottleMaxKeys)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for range loginUserFreeFailures - 1 {
		attempt(t, th, "alice", "192.0.2.1", now, wrongPassword)
	}
	attempt(t, th, "alice", "192.0.2.1", now, signedIn)
	for range loginUserFreeFailures - 1 {
		attempt(t, th, "alice", "192.0.2.1", now, wrongPassword)
	}
	// Had the success not cleared the username's count, this would be
	// alice's ninth failure in a row, and refused.
	if w := attempt(t, th, "alice", "", now, notChecked); w != 0 {
		t.Fatalf("a success did not clear the username's count: %v", w)
	}
	// The address keeps counting across the success (8 failures so far),
	// whichever usernames it tries.
	for i := range loginAddrFreeFailures - 2*(loginUserFreeFailures-1) {
		if w := attempt(t, th, "someone-"+strconv.Itoa(i), "192.0.2.1", now, wrongPassword); w != 0 {
			t.Fatalf("address failure %d refused for %v", 2*(loginUserFreeFailures-1)+i+1, w)
		}
	}
	if w := attempt(t, th, "carol", "192.0.2.1", now, signedIn); w != loginBackoffBase {
		t.Fatalf("address after %d failures: wait %v", loginAddrFreeFailures, w)
	}
	// Old failures are forgotten.
	if w := attempt(t, th, "carol", "192.0.2.1", now.Add(loginFailureWindow), signedIn); w != 0 {
		t.Fatalf("failures older than the window still count: %v", w)
	}
}

// TestLoginThrottleUncheckedAttemptsAreFree: an attempt whose password the
// server could not check (a busy hasher, a database fault) is given back
// to both its username and its address.
func TestLoginThrottleUncheckedAttemptsAreFree(t *testing.T) {
	th := newLoginThrottle(DefaultLoginThrottleMaxKeys)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for i := range loginAddrLockoutFailures {
		if w := attempt(t, th, "alice", "192.0.2.1", now, notChecked); w != 0 {
			t.Fatalf("unchecked attempt %d refused for %v", i+1, w)
		}
	}
	for i := range loginUserFreeFailures {
		if w := attempt(t, th, "alice", "192.0.2.1", now, wrongPassword); w != 0 {
			t.Fatalf("failure %d after unchecked attempts refused for %v", i+1, w)
		}
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

// TestLoginThrottleNeverEvictsALockout: other keys' traffic never makes
// the throttle forget a key that counts. Junk (attempts never checked,
// such as a client gone while waiting for the hasher) leaves nothing; real
// failures fill the table, which then refuses new keys (503) rather than
// evict anyone, and makes room again as keys are forgotten. The bound is
// lowered from DefaultLoginThrottleMaxKeys, which works the same way at
// 10,000 times the cost.
func TestLoginThrottleNeverEvictsALockout(t *testing.T) {
	const maxKeys = 10
	th := newLoginThrottle(maxKeys)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for range loginUserLockoutFailures {
		attempt(t, th, "alice", "192.0.2.1", now, wrongPassword)
	}
	locked := func() {
		t.Helper()
		if w := attempt(t, th, "alice", "192.0.2.99", now, signedIn); w <= 0 || w > loginLockout {
			t.Fatalf("alice's lockout is gone (wait %v)", w)
		}
	}
	locked()
	// 10,000 attempts that never reach the password check, each for
	// another username from another address: no entry is left.
	for i := range 10_000 {
		attempt(t, th, fmt.Sprintf("junk%d", i), fmt.Sprintf("2001:db8:%x::1", i), now, notChecked)
	}
	if n := len(th.keys); n != 2 {
		t.Fatalf("%d keys after the junk, want alice's and her address's: %v", n, th.keys)
	}
	locked()
	// Real failures fill the table; then a new key is refused, not alice
	// forgotten.
	for i := 0; len(th.keys) < maxKeys; i++ {
		attempt(t, th, fmt.Sprintf("guess%d", i), "192.0.2.2", now, wrongPassword)
	}
	err := th.begin(context.Background(), "newcomer", "192.0.2.3", now)
	if guildhall.ErrorCode(err) != guildhall.EUNAVAILABLE {
		t.Fatalf("a new key into a full table: %v, want unavailable", err)
	}
	locked()
	// Keys already held are still counted while the table is full.
	if w := attempt(t, th, "guess0", "192.0.2.2", now, wrongPassword); w != 0 {
		t.Fatalf("a held key refused for %v", w)
	}
	if len(th.keys) > maxKeys {
		t.Fatalf("%d keys, over the bound %d", len(th.keys), maxKeys)
	}
	// Once the failures are old enough to be forgotten, there is room again.
	now = now.Add(loginLockout)
	if w := attempt(t, th, "newcomer", "192.0.2.3", now, signedIn); w != 0 {
		t.Fatalf("after the lockout: refused for %v", w)
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

// BenchmarkLoginThrottleFull fills a throttle to its default bound with the
// largest keys there are (32-character usernames and IPv6 /64s, one failure
// each) and reports the heap the full table holds: the memory bound the
// README states.
func BenchmarkLoginThrottleFull(b *testing.B) {
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		th := newLoginThrottle(DefaultLoginThrottleMaxKeys)
		for i := range DefaultLoginThrottleMaxKeys / 2 {
			user, addr := fmt.Sprintf("%032d", i), fmt.Sprintf("2001:db8:%x:%x::1", i>>16, i&0xffff)
			if err := th.begin(ctx, user, addr, now); err != nil {
				b.Fatal(err)
			}
			th.finish(ctx, user, addr, now, wrongPassword)
		}
		if len(th.keys) != DefaultLoginThrottleMaxKeys {
			b.Fatalf("%d keys", len(th.keys))
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MiB-full")
		runtime.KeepAlive(th)
	}
}
