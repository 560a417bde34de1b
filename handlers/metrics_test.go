package handlers_test

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"guildhall/db"
	"guildhall/db/dbtest"
	"guildhall/handlers"
)

// scrape GETs url (a /metrics) and returns each sample, keyed by its
// series as Prometheus shows it: name{label="value",...}.
func scrape(t testing.TB, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET %s: %d %q", url, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	samples := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("sample %q: %v", line, err)
		}
		samples[line[:i]] = v
	}
	return samples
}

// TestMetrics: requests are counted by method, route pattern or API
// function, and status, never by raw path; the service's refusals, group
// commits, pools and open sessions show; and each server's metrics are
// its own.
func TestMetrics(t *testing.T) {
	t.Parallel()
	metrics := handlers.NewMetrics()
	env := newPageEnv(t, pageEnvOptions{inviteRate: 1, metrics: metrics})
	alice := env.user("alice")
	env.user("bob")
	env.user("carol")
	acme := env.org(alice, "Acme")
	if _, err := env.store.CreateSession(context.Background(), "a-session-id", alice, nil, handlers.DefaultSessionIdleTimeout, time.Hour); err != nil {
		t.Fatal(err)
	}

	send := func(method, path, body string) int {
		t.Helper()
		req, _ := http.NewRequest(method, env.srv.URL+path, strings.NewReader(body))
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	invite := func(who string) string {
		return `{"auth":{"username":"alice","password":"alice-password"},"organization_id":` + strconv.FormatInt(acme, 10) + `,"username_to_invite":"` + who + `"}`
	}
	for _, r := range []struct {
		method, path, body string
		want               int
	}{
		{"POST", "/api/login", `{"auth":{"username":"alice","password":"wrong password"}}`, 401},
		{"POST", "/api/invite_user_to_organization", invite("bob"), 200},
		{"POST", "/api/invite_user_to_organization", invite("carol"), 429}, // --invite-rate 1
		{"GET", "/api/no_such_function", "", 404},
		{"GET", "/api/another_unknown_one", "", 404},
		{"GET", "/nowhere/alice", "", 404},
		{"GET", "/orgs/17", "", 303}, // not signed in
		{"BREW", "/healthz", "", 405},
		{"GET", "/healthz", "", 200},
	} {
		if got := send(r.method, r.path, r.body); got != r.want {
			t.Fatalf("%s %s: %d, want %d", r.method, r.path, got, r.want)
		}
	}
	m := scrape(t, env.srv.URL+"/metrics")
	for series, want := range map[string]float64{
		`guildhall_http_requests_total{method="POST",route="/api/login",status="401"}`:                          1,
		`guildhall_http_requests_total{method="POST",route="/api/invite_user_to_organization",status="200"}`:    1,
		`guildhall_http_requests_total{method="POST",route="/api/invite_user_to_organization",status="429"}`:    1,
		`guildhall_http_requests_total{method="GET",route="/api/(unknown)",status="404"}`:                       2,
		`guildhall_http_requests_total{method="GET",route="(unmatched)",status="404"}`:                          1,
		`guildhall_http_requests_total{method="GET",route="/orgs/:id",status="303"}`:                            1,
		`guildhall_http_requests_total{method="other",route="/healthz",status="405"}`:                           1,
		`guildhall_http_requests_total{method="GET",route="/healthz",status="200"}`:                             1,
		`guildhall_http_request_duration_seconds_count{method="POST",route="/api/invite_user_to_organization"}`: 2,
		`guildhall_limit_refusals_total{limit="invite_rate"}`:                                                   1,
		`guildhall_limit_refusals_total{limit="login_throttle"}`:                                                0,
		`guildhall_limit_refusals_total{limit="pending_invites"}`:                                               0,
		`guildhall_sessions_open`: 1,
	} {
		if got, ok := m[series]; !ok || got != want {
			t.Errorf("%s = %v (present: %v), want %v", series, got, ok, want)
		}
	}
	for _, series := range []string{`go_sql_max_open_connections{db_name="read"}`, `go_sql_max_open_connections{db_name="write"}`, `go_goroutines`} {
		if m[series] <= 0 {
			t.Errorf("%s = %v, want more than 0", series, m[series])
		}
	}
	// SQLite has one writer, whose writes commit in groups; PostgreSQL
	// many, each committing its own.
	if !dbtest.Postgres() {
		if w := m[`go_sql_max_open_connections{db_name="write"}`]; w != 1 {
			t.Errorf("the SQLite writer pool holds %v connections, want 1", w)
		}
		if m[`guildhall_db_group_commit_operations_count`] <= 0 {
			t.Error("no group commits counted")
		}
	}
	for series := range m {
		for _, raw := range []string{"no_such_function", "another_unknown", "nowhere", "alice", "17", "BREW"} {
			if strings.Contains(series, raw) {
				t.Errorf("series %s carries %q from a request", series, raw)
			}
		}
	}

	// Another server counts apart: no registry is shared.
	other := newPageEnv(t, pageEnvOptions{metrics: handlers.NewMetrics()})
	for series := range scrape(t, other.srv.URL+"/metrics") {
		if strings.HasPrefix(series, "guildhall_http_requests_total{") {
			t.Errorf("a fresh server has counted %s", series)
		}
	}
}

// TestMetricsOnTheirOwnListener: with MetricsServedElsewhere the router
// has no /metrics (guildhall serve --metrics-addr serves Handler), yet
// still counts its requests there.
func TestMetricsOnTheirOwnListener(t *testing.T) {
	t.Parallel()
	metrics := handlers.NewMetrics()
	store, _ := openStore(t, db.Options{Argon2: cheapArgon2, Observer: metrics})
	server := handlers.New(store, handlers.Config{Metrics: metrics, MetricsServedElsewhere: true})
	rec := httptest.NewRecorder()
	server.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("GET /metrics on the router: %d, want 404", rec.Code)
	}
	own := httptest.NewServer(metrics.Handler())
	t.Cleanup(own.Close)
	if got := scrape(t, own.URL)[`guildhall_http_requests_total{method="GET",route="(unmatched)",status="404"}`]; got != 1 {
		t.Fatalf("the 404 counted %v times on the metrics listener", got)
	}
	if _, ok := scrape(t, own.URL)["guildhall_sessions_open"]; ok {
		t.Error("a server without pages reports open sessions")
	}
}

// TestMetricsOnTheMainListenerAreLoopbackOnly: without --metrics-addr,
// /metrics on the main listener answers a peer on this machine (IPv4 or
// IPv6 loopback) and is a 404, like any path that does not exist, to
// everyone else, even one whose X-Forwarded-For says loopback through a
// trusted proxy: the connection's own address decides.
func TestMetricsOnTheMainListenerAreLoopbackOnly(t *testing.T) {
	t.Parallel()
	_, anywhere, _ := net.ParseCIDR("0.0.0.0/0")
	env := newPageEnv(t, pageEnvOptions{metrics: handlers.NewMetrics(), trustedProxies: []*net.IPNet{anywhere}})
	get := func(path, peer, forwardedFor string) (int, string) {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.RemoteAddr = peer
		if forwardedFor != "" {
			req.Header.Set("X-Forwarded-For", forwardedFor)
		}
		rec := httptest.NewRecorder()
		env.srv.Config.Handler.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	if status, missing := get("/no-such-path", "203.0.113.7:40000", ""); status != http.StatusNotFound || !strings.Contains(missing, "<title>Not found") {
		t.Fatalf("a missing path: %d", status)
	}
	for _, c := range []struct {
		peer, forwardedFor string
		want               int
	}{
		{"127.0.0.1:40000", "", http.StatusOK},
		{"[::1]:40000", "", http.StatusOK},
		{"[::ffff:127.0.0.1]:40000", "", http.StatusOK},
		{"203.0.113.7:40000", "", http.StatusNotFound},
		{"203.0.113.7:40000", "127.0.0.1", http.StatusNotFound},
		{"[2001:db8::1]:40000", "::1", http.StatusNotFound},
		{"10.0.0.2:40000", "", http.StatusNotFound},
	} {
		status, body := get("/metrics", c.peer, c.forwardedFor)
		if status != c.want {
			t.Errorf("/metrics from %s (X-Forwarded-For %q): %d, want %d", c.peer, c.forwardedFor, status, c.want)
		}
		if c.want == http.StatusOK && !strings.Contains(body, "guildhall_") {
			t.Errorf("/metrics from %s: no metrics in %.200q", c.peer, body)
		}
		if c.want == http.StatusNotFound && (!strings.Contains(body, "<title>Not found") || strings.Contains(body, "guildhall_")) {
			t.Errorf("/metrics from %s is not answered as a missing path: %.300q", c.peer, body)
		}
	}
}
