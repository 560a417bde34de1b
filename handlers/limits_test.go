package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"guildhall"
	"guildhall/db"
	"guildhall/db/dbtest"
	"guildhall/handlers"
)

// watchedService is the real service, counting the calls that hash a
// password and recording the context an invitation arrives with.
type watchedService struct {
	*db.DB
	authentications atomic.Int64
	signUps         atomic.Int64
	inviteDeadline  atomic.Value // time.Time
}

func (w *watchedService) Authenticate(ctx context.Context, c guildhall.Credentials) (guildhall.Actor, error) {
	w.authentications.Add(1)
	return w.DB.Authenticate(ctx, c)
}

func (w *watchedService) SignUp(ctx context.Context, username, password, clientAddr string) (guildhall.User, error) {
	w.signUps.Add(1)
	return w.DB.SignUp(ctx, username, password, clientAddr)
}

func (w *watchedService) InviteUser(ctx context.Context, a guildhall.Actor, orgID int64, username string, role guildhall.Role) (guildhall.Membership, error) {
	deadline, _ := ctx.Deadline()
	w.inviteDeadline.Store(deadline)
	return w.DB.InviteUser(ctx, a, orgID, username, role)
}

func newWatchedService(t *testing.T, opts db.Options) *watchedService {
	t.Helper()
	opts.Argon2 = cheapArgon2
	store, _ := openStore(t, opts)
	return &watchedService{DB: store}
}

// ownerOfAcme creates olivia (password "password-olivia") and her
// organization Acme.
func (w *watchedService) ownerOfAcme(t *testing.T) (guildhall.Actor, int64) {
	t.Helper()
	u, err := w.CreateUser(context.Background(), "olivia", "password-olivia", false)
	if err != nil {
		t.Fatal(err)
	}
	owner := guildhall.Actor{UserID: u.ID, Username: u.Username, Auth: guildhall.AuthPassword}
	org, err := w.CreateOrganization(context.Background(), owner, "Acme", "")
	if err != nil {
		t.Fatal(err)
	}
	return owner, org.ID
}

// serve sends one request through a router over svc and checks the envelope.
func serve(t *testing.T, h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	checkEnvelope(t, rec, req.Method+" "+req.URL.Path)
	return rec
}

// TestHostileJSONRefusedBeforeHashing: deeply nested or oversized JSON is
// refused by the decoder, before any password is hashed.
func TestHostileJSONRefusedBeforeHashing(t *testing.T) {
	t.Parallel()
	svc := newWatchedService(t, db.DefaultOptions())
	h := checked(t, handlers.New(svc, handlers.Config{}))
	deep := func(prefix string, depth int) string {
		return prefix + strings.Repeat("[", depth) + strings.Repeat("]", depth) + "}}"
	}
	cases := []struct {
		name, function, body string
		status               int
	}{
		{"nested password", "login", deep(`{"auth": {"username": "alice", "password": `, 200_000), http.StatusBadRequest},
		{"nested auth", "invite_user_to_organization", `{"auth": ` + strings.Repeat(`{"a": `, 100_000) + `1` + strings.Repeat("}", 100_000) + `}`, http.StatusBadRequest},
		{"unclosed nesting", "login", `{"auth": {"username": "alice", "password": ` + strings.Repeat("[", 500_000), http.StatusBadRequest},
		{"nested sign-up password", "add_user", deep(`{"username": "mallory", "password": {"x": `, 100_000), http.StatusBadRequest},
		{"huge body with a password", "login", `{"auth": {"username": "alice", "password": "` + strings.Repeat("p", handlers.MaxBodyBytes) + `"}}`, http.StatusRequestEntityTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := serve(t, h, httptest.NewRequest(http.MethodPost, "/api/"+c.function, strings.NewReader(c.body)))
			if rec.Code != c.status {
				t.Fatalf("status %d, want %d: %.200s", rec.Code, c.status, rec.Body)
			}
			if len(c.body) <= handlers.MaxBodyBytes {
				// The same in ?parameters= (GET).
				req := httptest.NewRequest(http.MethodGet, "/api/"+c.function+"?parameters="+url.QueryEscape(c.body), nil)
				if rec := serve(t, h, req); rec.Code != c.status {
					t.Fatalf("in ?parameters=: status %d, want %d", rec.Code, c.status)
				}
			}
		})
	}
	if n, m := svc.authentications.Load(), svc.signUps.Load(); n != 0 || m != 0 {
		t.Fatalf("%d authentications and %d sign-ups reached the service; want none", n, m)
	}
}

// TestInviteLimitsThroughAPI: both limits answer 429 with Retry-After.
func TestInviteLimitsThroughAPI(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name             string
		maxPending, rate int // 0: off
		max              time.Duration
	}{
		{"pending cap", 1, 0, guildhall.DefaultInviteTTL},
		{"invite rate", 0, 1, time.Minute},
	} {
		t.Run(c.name, func(t *testing.T) {
			opts := db.DefaultOptions()
			opts.MaxPendingInvites, opts.InviteRate = c.maxPending, c.rate
			svc := newWatchedService(t, opts)
			h := checked(t, handlers.New(svc, handlers.Config{}))
			ctx := context.Background()
			owner, orgID := svc.ownerOfAcme(t)
			invite := func(name string) *httptest.ResponseRecorder {
				if _, err := svc.CreateUser(ctx, name, "password-"+name, false); err != nil {
					t.Fatal(err)
				}
				body, _ := json.Marshal(map[string]any{"auth": map[string]string{"username": "olivia", "password": "password-olivia"},
					"username_to_invite": name, "organization_id": orgID})
				return serve(t, h, httptest.NewRequest(http.MethodPost, "/api/invite_user_to_organization", bytes.NewReader(body)))
			}
			if rec := invite("bob"); rec.Code != http.StatusOK {
				t.Fatalf("first invitation: %d %s", rec.Code, rec.Body)
			}
			rec := invite("carol")
			if rec.Code != http.StatusTooManyRequests || !strings.Contains(rec.Body.String(), `"code":"rate_limited"`) {
				t.Fatalf("second invitation: %d %s", rec.Code, rec.Body)
			}
			secs, err := strconv.Atoi(rec.Header().Get("Retry-After"))
			if err != nil || secs < 1 || time.Duration(secs)*time.Second > c.max+time.Second {
				t.Fatalf("Retry-After %q, want 1 to %v seconds", rec.Header().Get("Retry-After"), c.max.Seconds())
			}
			ms, err := svc.FetchOrganizationMembers(ctx, owner, orgID)
			if err != nil || len(ms) != 2 {
				t.Fatalf("members after a refusal: %v, %v", ms, err)
			}
		})
	}
}

// TestRequestDeadlineReachesService: the service sees each request's deadline.
func TestRequestDeadlineReachesService(t *testing.T) {
	t.Parallel()
	svc := newWatchedService(t, db.DefaultOptions())
	h := checked(t, handlers.New(svc, handlers.Config{}))
	_, orgID := svc.ownerOfAcme(t)
	before := time.Now()
	body := `{"auth": {"username": "olivia", "password": "password-olivia"}, "username_to_invite": "nobody", "organization_id": ` + strconv.FormatInt(orgID, 10) + `}`
	serve(t, h, httptest.NewRequest(http.MethodPost, "/api/invite_user_to_organization", strings.NewReader(body)))
	deadline, _ := svc.inviteDeadline.Load().(time.Time)
	if deadline.IsZero() || deadline.Before(before.Add(handlers.RequestTimeout-time.Second)) || deadline.After(time.Now().Add(handlers.RequestTimeout)) {
		t.Fatalf("service saw deadline %v; want about %v from the request", deadline, handlers.RequestTimeout)
	}
}

// TestMembersPageThroughAPI: search, offset and limit page the member list.
func TestMembersPageThroughAPI(t *testing.T) {
	t.Parallel()
	svc := newWatchedService(t, db.DefaultOptions())
	h := checked(t, handlers.New(svc, handlers.Config{}))
	ctx := context.Background()
	owner, orgID := svc.ownerOfAcme(t)
	for _, name := range []string{"anna", "annabel", "bert", "hannah"} {
		if _, err := svc.CreateUser(ctx, name, "password-"+name, false); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.InviteUser(ctx, owner, orgID, name, guildhall.RoleMember); err != nil {
			t.Fatal(err)
		}
	}
	call := func(extra string) (int, struct {
		Memberships []struct{ Username string } `json:"memberships"`
		Total       *int                        `json:"total"`
	}) {
		body := `{"auth": {"username": "olivia", "password": "password-olivia"}, "organization_id": ` + strconv.FormatInt(orgID, 10) + extra + `}`
		rec := serve(t, h, httptest.NewRequest(http.MethodPost, "/api/fetch_memberships_of_organization", strings.NewReader(body)))
		var env struct {
			Result struct {
				Memberships []struct{ Username string } `json:"memberships"`
				Total       *int                        `json:"total"`
			} `json:"result"`
		}
		json.Unmarshal(rec.Body.Bytes(), &env)
		return rec.Code, env.Result
	}
	if code, r := call(""); code != http.StatusOK || len(r.Memberships) != 5 || r.Total != nil {
		t.Fatalf("whole list: %d %+v", code, r)
	}
	if code, r := call(`, "search": "ann", "limit": 2`); code != http.StatusOK || len(r.Memberships) != 2 || r.Total == nil || *r.Total != 3 {
		t.Fatalf("search ann, limit 2: %d %+v", code, r)
	}
	if code, r := call(`, "search": "ann", "offset": 2`); code != http.StatusOK || len(r.Memberships) != 1 || r.Memberships[0].Username != "hannah" {
		t.Fatalf("search ann, offset 2: %d %+v", code, r)
	}
	if code, r := call(`, "limit": 0`); code != http.StatusOK || r.Total == nil || len(r.Memberships) != 5 {
		t.Fatalf("limit 0 means the default page size: %d %+v", code, r)
	}
	for _, bad := range []string{`, "limit": -1`, `, "limit": 100000`, `, "offset": -1`, `, "limit": "five"`} {
		if code, _ := call(bad); code != http.StatusBadRequest {
			t.Fatalf("%s: status %d, want 400", bad, code)
		}
	}
}

// TestPasswordLimitThroughAPI: the password limit is 256 characters
// (1,024 bytes at most). A password at the limit signs up and logs in; one
// character more is refused at sign-up and, at login, matches nobody, even
// when its first 1,024 bytes are someone's password.
func TestPasswordLimitThroughAPI(t *testing.T) {
	t.Parallel()
	env := newAPIEnv(t)
	atLimit := strings.Repeat("🔑", guildhall.PasswordMaxLen) // 256 characters, 1,024 bytes
	if len(atLimit) != guildhall.PasswordMaxBytes {
		t.Fatalf("the test password is %d bytes", len(atLimit))
	}
	env.ok("add_user", map[string]string{"username": "kim", "password": atLimit})
	login := func(password string) response {
		return env.call("login", map[string]any{"auth": map[string]string{"username": "kim", "password": password}})
	}
	if r := login(atLimit); r.Status != http.StatusOK {
		t.Fatalf("login with the password at the limit: %d %s", r.Status, r.Raw)
	}
	for _, suffix := range []string{"x", "🔑", strings.Repeat("anything", 100)} {
		if r := login(atLimit + suffix); r.Status != http.StatusUnauthorized || r.Error != "Invalid username or password." {
			t.Errorf("login with the password plus %.10q: %d %s", suffix, r.Status, r.Raw)
		}
	}
	before := env.snapshot()
	if r := env.call("add_user", map[string]string{"username": "lee", "password": atLimit + "x"}); r.Status != http.StatusBadRequest {
		t.Errorf("sign-up with 257 characters: %d %s", r.Status, r.Raw)
	}
	if env.snapshot() != before {
		t.Error("a refused sign-up changed the database")
	}
}

// TestLockoutSurvivesThrottleFlood reproduces the attack on the login
// throttle's table through the real router, behind a trusted proxy that
// forwards many client addresses: alice is locked out; then hundreds of
// logins for other usernames from other addresses, first from clients that
// leave before their password is checked (each request's context already
// ended), then real wrong guesses, try to push her entry out of a full
// table. Her lockout holds: the junk leaves no entry, and once real
// failures fill the table, a login it cannot count is refused (503) rather
// than any entry evicted. The table's bound is lowered from the default to
// keep the test cheap; it works the same way at 100,000.
func TestLockoutSurvivesThrottleFlood(t *testing.T) {
	dbtest.SQLiteOnly(t, "the bound of the in-memory login throttle (on PostgreSQL it is a table)")
	t.Parallel()
	const maxKeys = 40
	opts := db.DefaultOptions()
	opts.LoginThrottleMaxKeys = maxKeys
	var clock atomic.Int64 // Unix nanoseconds
	clock.Store(time.Now().UnixNano())
	opts.Now = func() time.Time { return time.Unix(0, clock.Load()) }
	svc := newWatchedService(t, opts)
	if _, err := svc.CreateUser(context.Background(), "alice", "password-alice", false); err != nil {
		t.Fatal(err)
	}
	_, proxy, _ := net.ParseCIDR("192.0.2.1/32") // httptest requests come from 192.0.2.1
	h := checked(t, handlers.New(svc, handlers.Config{TrustedProxies: []*net.IPNet{proxy}}))
	login := func(ctx context.Context, user, password, from string) *httptest.ResponseRecorder {
		body := `{"auth": {"username": "` + user + `", "password": "` + password + `"}}`
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/api/login", strings.NewReader(body))
		req.Header.Set("X-Forwarded-For", from)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	ctx := context.Background()
	for range 10 { // a minute apart: each waits out the backoff, all within the window
		clock.Add(int64(time.Minute))
		if rec := login(ctx, "alice", "wrong-password", "198.51.100.1"); rec.Code != http.StatusUnauthorized {
			t.Fatalf("a wrong guess: %d %s", rec.Code, rec.Body)
		}
	}
	lockedOut := func(when string) {
		t.Helper()
		for _, password := range []string{"password-alice", "fresh-guess"} {
			rec := login(ctx, "alice", password, "203.0.113.9")
			secs, _ := strconv.Atoi(rec.Header().Get("Retry-After"))
			if rec.Code != http.StatusTooManyRequests || secs < 60 {
				t.Fatalf("%s: alice's login answers %d (Retry-After %q), want her lockout", when, rec.Code, rec.Header().Get("Retry-After"))
			}
		}
	}
	lockedOut("before the flood")

	gone, leave := context.WithCancel(ctx)
	leave()
	for i := range 15 * maxKeys {
		rec := login(gone, fmt.Sprintf("junk%d", i), "wrong-password", fmt.Sprintf("2001:db8:%x:%x::1", i>>16, i&0xffff))
		if rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("junk login %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	lockedOut("after junk from departed clients")

	refused := 0
	for i := range 2 * maxKeys {
		switch rec := login(ctx, fmt.Sprintf("guess%d", i), "wrong-password", fmt.Sprintf("2001:db8:1:%x::1", i)); rec.Code {
		case http.StatusUnauthorized:
		case http.StatusServiceUnavailable:
			refused++
		default:
			t.Fatalf("guess %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	if refused == 0 {
		t.Fatal("the table never filled; the test shows nothing")
	}
	lockedOut("after the table filled with real failures")
}

// TestInvitationFloodThroughAPI reproduces the invitation flood through the
// real router: one account founds organizations as fast as it can and
// invites one victim into each. Organization creation stops at the rate
// (429 with Retry-After), and the victim holds at most the per-user cap of
// open invitations (lowered here from 100 to 3): past it the inviter gets a
// 409 that names only the victim, and the victim's lists stay that short.
func TestInvitationFloodThroughAPI(t *testing.T) {
	t.Parallel()
	opts := db.DefaultOptions()
	opts.MaxPendingInvitesPerUser = 3
	svc := newWatchedService(t, opts)
	h := checked(t, handlers.New(svc, handlers.Config{}))
	ctx := context.Background()
	for _, name := range []string{"mallory", "vic"} {
		if _, err := svc.CreateUser(ctx, name, "password-"+name, false); err != nil {
			t.Fatal(err)
		}
	}
	mallory := map[string]string{"username": "mallory", "password": "password-mallory"}
	call := func(function string, args map[string]any) *httptest.ResponseRecorder {
		body, _ := json.Marshal(args)
		return serve(t, h, httptest.NewRequest(http.MethodPost, "/api/"+function, bytes.NewReader(body)))
	}
	var orgs []int64
	for i := range db.DefaultOrganizationRate + 1 {
		rec := call("create_organization", map[string]any{"auth": mallory, "organization_name": fmt.Sprintf("Trap %d", i)})
		if rec.Code != http.StatusOK {
			secs, _ := strconv.Atoi(rec.Header().Get("Retry-After"))
			if i != db.DefaultOrganizationRate || rec.Code != http.StatusTooManyRequests || secs < 1 {
				t.Fatalf("organization %d: %d %q %s", i+1, rec.Code, rec.Header().Get("Retry-After"), rec.Body)
			}
			break
		}
		var env struct {
			Result struct {
				ID int64 `json:"organization_id"`
			} `json:"result"`
		}
		json.Unmarshal(rec.Body.Bytes(), &env)
		orgs = append(orgs, env.Result.ID)
	}
	if len(orgs) != db.DefaultOrganizationRate {
		t.Fatalf("%d organizations founded in a burst, want %d", len(orgs), db.DefaultOrganizationRate)
	}
	for i, org := range orgs {
		rec := call("invite_user_to_organization", map[string]any{"auth": mallory, "organization_id": org, "username_to_invite": "vic"})
		switch {
		case i < 3 && rec.Code != http.StatusOK:
			t.Fatalf("invitation %d: %d %s", i+1, rec.Code, rec.Body)
		case i >= 3 && (rec.Code != http.StatusConflict ||
			!strings.Contains(rec.Body.String(), `"error":"vic cannot take more invitations until they answer some of those they have; try again later."`)):
			t.Fatalf("invitation %d past the cap: %d %s", i+1, rec.Code, rec.Body)
		}
	}
	rec := call("fetch_memberships", map[string]any{"auth": map[string]string{"username": "vic", "password": "password-vic"}, "return_subset": "all"})
	if n := strings.Count(rec.Body.String(), `"invite_still_open":true`); rec.Code != http.StatusOK || n != 3 {
		t.Fatalf("vic's memberships: %d, %d open invitations: %s", rec.Code, n, rec.Body)
	}
}
