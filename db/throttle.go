package db

import (
	"net/netip"
	"strconv"
	"strings"
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
	// loginThrottleMaxKeys bounds the memory the counters take; when full,
	// forgotten keys are swept, then the oldest entries are dropped.
	loginThrottleMaxKeys = 100_000
	// loginIPv6Prefix groups IPv6 clients by their /64: one host usually
	// holds the whole prefix and could rotate through it.
	loginIPv6Prefix = 64
)

// throttlePolicy is the pair of limits for one kind of key.
type throttlePolicy struct{ free, lockout int }

var (
	userPolicy = throttlePolicy{free: loginUserFreeFailures, lockout: loginUserLockoutFailures}
	addrPolicy = throttlePolicy{free: loginAddrFreeFailures, lockout: loginAddrLockoutFailures}
)

// failureCount is what the throttle remembers of one key.
type failureCount struct {
	failures    int
	lastFailure time.Time
}

// loginThrottle counts failed logins. It is safe for concurrent use.
type loginThrottle struct {
	mu   sync.Mutex
	keys map[string]failureCount
	// maxKeys is loginThrottleMaxKeys; a test lowers it to fill the map cheaply.
	maxKeys int
}

func newLoginThrottle() *loginThrottle {
	return &loginThrottle{keys: map[string]failureCount{}, maxKeys: loginThrottleMaxKeys}
}

// throttleKeys names the counters an attempt touches: its username and,
// when known, its client address.
func throttleKeys(username, clientAddr string) (user, addr string) {
	user = "user:" + strings.ToLower(username)
	if clientAddr == "" {
		return user, ""
	}
	ip, err := netip.ParseAddr(clientAddr)
	if err != nil {
		return user, "addr:" + clientAddr
	}
	ip = ip.Unmap()
	if ip.Is6() {
		if p, err := ip.Prefix(loginIPv6Prefix); err == nil {
			return user, "addr:" + p.String()
		}
	}
	return user, "addr:" + ip.String()
}

// wait returns how long a key must still wait at now before its next
// attempt; zero means it may try.
func (p throttlePolicy) wait(c failureCount, now time.Time) time.Duration {
	if c.failures < p.free || now.Sub(c.lastFailure) >= loginFailureWindow {
		return 0
	}
	var delay time.Duration
	if c.failures >= p.lockout {
		delay = loginLockout
	} else {
		delay = loginBackoffBase << (c.failures - p.free)
		delay = min(delay, loginBackoffMax)
	}
	return max(0, c.lastFailure.Add(delay).Sub(now))
}

// begin checks an attempt and, if it may go ahead, counts it as a failure
// at once, under the same lock: attempts sent together must not all pass
// the check before any of them is counted. finish settles the count when
// the outcome is known.
func (t *loginThrottle) begin(username, clientAddr string, now time.Time) error {
	user, addr := throttleKeys(username, clientAddr)
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.refusal(user, addr, now); err != nil {
		return err
	}
	t.count(user, addr, now)
	return nil
}

// finish settles an attempt that begin counted as a failure: a wrong
// password keeps the count; a success clears the username's count and
// gives the address its attempt back; any other outcome (the server could
// not check the password) gives both back.
func (t *loginThrottle) finish(username, clientAddr string, err error) {
	if guildhall.ErrorCode(err) == guildhall.EUNAUTHORIZED {
		return
	}
	user, addr := throttleKeys(username, clientAddr)
	t.mu.Lock()
	defer t.mu.Unlock()
	if err == nil {
		delete(t.keys, user)
		user = ""
	}
	for _, k := range []string{user, addr} {
		if c, ok := t.keys[k]; ok && k != "" && c.failures > 0 {
			c.failures--
			t.keys[k] = c
		}
	}
}

// refusal refuses an attempt whose username or address must still wait,
// with ERATELIMITED and the wait in RetryAfter; t.mu must be held.
func (t *loginThrottle) refusal(user, addr string, now time.Time) error {
	wait := userPolicy.wait(t.keys[user], now)
	if addr != "" {
		wait = max(wait, addrPolicy.wait(t.keys[addr], now))
	}
	if wait <= 0 {
		return nil
	}
	return &guildhall.Error{
		Code:       guildhall.ERATELIMITED,
		Message:    "Too many failed sign-in attempts; try again in " + waitText(wait) + ".",
		RetryAfter: wait,
	}
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

// count adds a failure to each key; t.mu must be held.
func (t *loginThrottle) count(user, addr string, now time.Time) {
	for _, k := range []string{user, addr} {
		if k == "" {
			continue
		}
		c, ok := t.keys[k]
		if !ok && len(t.keys) >= t.maxKeys {
			t.makeRoom(now)
		}
		if now.Sub(c.lastFailure) >= loginFailureWindow {
			c.failures = 0
		}
		c.failures++
		c.lastFailure = now
		t.keys[k] = c
	}
}

// makeRoom drops forgotten keys and, if the map is still full, the entries
// with the oldest failures, down to three quarters of the limit. t.mu must
// be held.
func (t *loginThrottle) makeRoom(now time.Time) {
	for k, c := range t.keys {
		if now.Sub(c.lastFailure) >= max(loginFailureWindow, loginLockout) {
			delete(t.keys, k)
		}
	}
	for len(t.keys) >= t.maxKeys*3/4 {
		var oldestKey string
		var oldest time.Time
		n := 0
		for k, c := range t.keys { // sample: map order is random
			if oldestKey == "" || c.lastFailure.Before(oldest) {
				oldestKey, oldest = k, c.lastFailure
			}
			if n++; n == 64 {
				break
			}
		}
		delete(t.keys, oldestKey)
	}
}
