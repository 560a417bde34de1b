package db

import (
	"context"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"guildhall"
)

// Login throttling: failed password logins are counted per username and
// per client address, in memory. The first few failures cost nothing;
// after that each further attempt must wait a doubling delay (slowed), and
// past a hard limit the key is refused outright for a lockout period. An
// attempt that is refused never reaches the password check, so it costs no
// hashing either. The page login form and the API's password auth both go
// through Authenticate, so one counter covers both.
const (
	// loginUserFreeFailures failures for one username go unthrottled.
	loginUserFreeFailures = 5
	// loginUserLockoutFailures failures for one username lock it out.
	loginUserLockoutFailures = 10
	// loginAddrFreeFailures and loginAddrLockoutFailures are higher for a
	// client address, which many people can share behind one NAT.
	loginAddrFreeFailures    = 20
	loginAddrLockoutFailures = 50
	// loginBackoffBase is the wait after the first throttled failure; it
	// doubles with each failure after that, up to loginBackoffMax.
	loginBackoffBase = time.Second
	loginBackoffMax  = time.Minute
	// loginLockout is how long a locked-out username or address is refused.
	loginLockout = 15 * time.Minute
	// loginFailureWindow: a key whose last failure is older than this
	// starts counting from zero again.
	loginFailureWindow = 15 * time.Minute
	// DefaultLoginThrottleMaxKeys bounds the usernames and addresses the
	// throttle remembers at once, and so its memory (about 15 MiB when
	// full; see BenchmarkLoginThrottleFull). Nothing is ever evicted to
	// make room: when it is full, an attempt for a key it does not hold is
	// refused (503) until keys are forgotten, 15 minutes after their last
	// failure. Failing closed keeps every lockout; filling the table takes
	// that many real, hashed wrong guesses within 15 minutes, or as many
	// attempts waiting for the hasher at once.
	DefaultLoginThrottleMaxKeys = 100_000
	// loginSweepEvery spaces the sweeps of a full table for forgotten keys:
	// a flood of new keys must not make every attempt scan the table.
	loginSweepEvery = time.Second
	// loginIPv6Prefix groups IPv6 clients by their /64: one host usually
	// holds the whole prefix and could rotate through it.
	loginIPv6Prefix = 64
	// maxRawAddrKey bounds the key made of a client address that does not
	// parse as an IP address.
	maxRawAddrKey = 64
)

// loginLimiter counts password logins per username and per client address,
// so that guessing slows and then stops. loginThrottle implements it in
// memory for one process; sharedLoginThrottle (pg_limits.go) over
// PostgreSQL for every node at once, with the same rules (throttlePolicy,
// keyState). Authenticate, which asks it, does not change.
type loginLimiter interface {
	// begin refuses an attempt whose username or address must still wait
	// (ERATELIMITED, the wait in RetryAfter) or that it cannot keep count
	// of (EUNAVAILABLE), and otherwise counts it as under way: attempts
	// sent together must not all pass before any of them is counted.
	begin(ctx context.Context, username, clientAddr string, now time.Time) error
	// finish settles an attempt begin let through, by the outcome of its
	// password check: a wrong password (EUNAUTHORIZED) is a failure for
	// both keys; a success clears the username's failures; any other
	// outcome (the check never ran: the client left while waiting for the
	// hasher, the database failed) leaves no trace.
	finish(ctx context.Context, username, clientAddr string, now time.Time, outcome error)
}

// throttlePolicy is the pair of limits for one kind of key.
type throttlePolicy struct{ free, lockout int }

var (
	userPolicy = throttlePolicy{free: loginUserFreeFailures, lockout: loginUserLockoutFailures}
	addrPolicy = throttlePolicy{free: loginAddrFreeFailures, lockout: loginAddrLockoutFailures}
)

// keyState is what the throttle remembers of one username or address: its
// checked failures, and the attempts under way. A key with neither is not
// kept at all.
type keyState struct {
	failures    int // wrong passwords; stale once lastFailure is a window old
	lastFailure time.Time
	inFlight    int       // attempts begun and not finished
	lastBegin   time.Time // when the latest of them began
}

// liveFailures is the failures that still count at now.
func (s keyState) liveFailures(now time.Time) int {
	if now.Sub(s.lastFailure) >= loginFailureWindow {
		return 0
	}
	return s.failures
}

// forgotten reports whether nothing of s matters any more at now.
func (s keyState) forgotten(now time.Time) bool {
	return s.inFlight == 0 && (s.failures == 0 || now.Sub(s.lastFailure) >= max(loginFailureWindow, loginLockout))
}

// settled is s after an attempt it counted as under way ended with
// outcome: a wrong password (EUNAUTHORIZED) is one more failure; a success
// clears a username's failures (user says s is a username's); any other
// outcome leaves no trace.
func (s keyState) settled(now time.Time, outcome error, user bool) keyState {
	s.inFlight = max(0, s.inFlight-1)
	switch {
	case guildhall.ErrorCode(outcome) == guildhall.EUNAUTHORIZED:
		s.failures = s.liveFailures(now) + 1
		s.lastFailure = now
	case outcome == nil && user:
		s.failures = 0
	}
	return s
}

// loginThrottle is the in-memory loginLimiter. It is safe for concurrent use.
type loginThrottle struct {
	mu      sync.Mutex
	keys    map[string]keyState
	maxKeys int
	sweptAt time.Time
}

func newLoginThrottle(maxKeys int) *loginThrottle {
	return &loginThrottle{keys: map[string]keyState{}, maxKeys: maxKeys}
}

// throttleKeys names the counters an attempt touches: its username and,
// when known, its client address.
func throttleKeys(username, clientAddr string) (user, addr string) {
	user = "user:" + guildhall.FoldUsername(username)
	if clientAddr == "" {
		return user, ""
	}
	return user, addrKey(clientAddr)
}

// addrKey names a client address to a limiter: IPv4 addresses one by one,
// IPv6 ones by their /64.
func addrKey(clientAddr string) string {
	ip, err := netip.ParseAddr(clientAddr)
	if err != nil {
		return "addr:?" + clientAddr[:min(len(clientAddr), maxRawAddrKey)]
	}
	ip = ip.Unmap()
	if ip.Is6() {
		if p, err := ip.Prefix(loginIPv6Prefix); err == nil {
			return "addr:" + p.String()
		}
	}
	return "addr:" + ip.String()
}

// wait returns how long a key holding failures, the last at last, must
// still wait at now before its next attempt; zero means it may try.
func (p throttlePolicy) wait(failures int, last, now time.Time) time.Duration {
	if failures < p.free || now.Sub(last) >= loginFailureWindow {
		return 0
	}
	var delay time.Duration
	if failures >= p.lockout {
		delay = loginLockout
	} else {
		delay = loginBackoffBase << (failures - p.free)
		delay = min(delay, loginBackoffMax)
	}
	return max(0, last.Add(delay).Sub(now))
}

// errThrottleFull refuses an attempt the throttle has no room to count.
var errThrottleFull = guildhall.Errorf(guildhall.EUNAVAILABLE, "The server is too busy to check passwords right now; try again in a few minutes.")

func (t *loginThrottle) begin(_ context.Context, username, clientAddr string, now time.Time) error {
	user, addr := throttleKeys(username, clientAddr)
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.refusal(user, addr, now); err != nil {
		return err
	}
	if !t.roomFor(now, user, addr) {
		return errThrottleFull
	}
	for _, k := range []string{user, addr} {
		if k == "" {
			continue
		}
		s := t.keys[k]
		s.inFlight++
		s.lastBegin = now
		t.keys[k] = s
	}
	return nil
}

func (t *loginThrottle) finish(_ context.Context, username, clientAddr string, now time.Time, outcome error) {
	user, addr := throttleKeys(username, clientAddr)
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range []string{user, addr} {
		s, ok := t.keys[k]
		if k == "" || !ok {
			continue
		}
		s = s.settled(now, outcome, k == user)
		if s.forgotten(now) {
			delete(t.keys, k)
		} else {
			t.keys[k] = s
		}
	}
}

// refusal refuses an attempt whose username or address must still wait,
// with ERATELIMITED and the wait in RetryAfter; t.mu must be held.
func (t *loginThrottle) refusal(user, addr string, now time.Time) error {
	wait := time.Duration(0)
	for _, k := range []struct {
		key    string
		policy throttlePolicy
	}{{user, userPolicy}, {addr, addrPolicy}} {
		s, ok := t.keys[k.key]
		if k.key == "" || !ok {
			continue
		}
		wait = max(wait, k.policy.waitOf(s, now))
	}
	return loginWaitRefusal(wait)
}

// waitOf is how long a key in state s must still wait at now before its
// next attempt. The attempts under way count as failures, as of when the
// latest began.
func (p throttlePolicy) waitOf(s keyState, now time.Time) time.Duration {
	last := s.lastFailure
	if s.inFlight > 0 && s.lastBegin.After(last) {
		last = s.lastBegin
	}
	return p.wait(s.liveFailures(now)+s.inFlight, last, now)
}

// loginWaitRefusal is the refusal of a login attempt that must wait (nil
// when it need not): ERATELIMITED, with the wait in RetryAfter.
func loginWaitRefusal(wait time.Duration) error {
	if wait <= 0 {
		return nil
	}
	return &guildhall.Error{
		Code:       guildhall.ERATELIMITED,
		Message:    "Too many failed sign-in attempts; try again in " + waitText(wait) + ".",
		RetryAfter: wait,
	}
}

// roomFor reports whether the table can hold the keys an attempt needs,
// sweeping out forgotten keys (at most once per loginSweepEvery) if it is
// full. It never evicts a key that still counts: a lockout, a key close to
// one and an attempt under way all stay. t.mu must be held.
func (t *loginThrottle) roomFor(now time.Time, keys ...string) bool {
	need := 0
	for _, k := range keys {
		if _, ok := t.keys[k]; k != "" && !ok {
			need++
		}
	}
	if len(t.keys)+need <= t.maxKeys {
		return true
	}
	if now.Sub(t.sweptAt) < loginSweepEvery {
		return false
	}
	t.sweptAt = now
	for k, s := range t.keys {
		if s.forgotten(now) {
			delete(t.keys, k)
		}
	}
	return len(t.keys)+need <= t.maxKeys
}

// waitText says a wait in words: "3 seconds", "15 minutes".
func waitText(d time.Duration) string {
	if d > 90*time.Second {
		return strconv.Itoa(int((d+time.Minute-1)/time.Minute)) + " minutes"
	}
	if s := int((d + time.Second - 1) / time.Second); s != 1 {
		return strconv.Itoa(s) + " seconds"
	}
	return "1 second"
}
