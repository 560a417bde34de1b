// Command guildhall-bench measures Guildhall against the machine's own
// ceilings, in one run (`make bench`):
//
//  1. ceiling (a): raw SQLite transactions, one read and one insert each,
//     through the same driver and DSN (db.DSN) and one writer connection,
//     as the server's;
//  2. ceiling (b): a bare Echo handler that decodes the invite's JSON and
//     answers {"success": true}, in a process of its own;
//  3. the real server binary on a fresh database: invite_user_to_organization
//     from N concurrent keep-alive clients, each request a distinct invitee;
//  4. reads: fetch_memberships_of_organization of an organization of 10,000
//     members, whole and paged (with a username search), and its page.
//
// Every phase uses the same HTTP client and runs for a fixed time. The
// server runs with its abuse limits off (--max-pending-invites 0
// --invite-rate 0): the benchmark is one user sending invitations as fast
// as the machine allows, which the default limits exist to stop.
package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"
	_ "modernc.org/sqlite"

	"guildhall/db"
)

// Defaults of the flags, each a phase's shape.
const (
	defaultClients      = 64
	defaultRounds       = 3
	defaultDuration     = 4 * time.Second
	defaultReadDuration = 3 * time.Second
	defaultInvitees     = 120_000 // users created up front, one per invitation
	defaultMembers      = 10_000  // members of the organization the reads list
	// ownerPassword is the benchmark owner's password; argon2id hashes it
	// at the server's default cost, once at sign-up and once per password call.
	ownerPassword = "bench-owner-password"
	// echoCeilingEnv makes this program serve ceiling (b) instead of benchmarking.
	echoCeilingEnv = "GUILDHALL_BENCH_ECHO_CEILING"
	// serverStartTimeout bounds how long a server may take to print its address.
	serverStartTimeout = 30 * time.Second
)

type config struct {
	bin          string
	dir          string
	clients      int
	duration     time.Duration
	readDuration time.Duration
	invitees     int
	members      int
	serverFlags  string
	keep         bool
	noCeilings   bool
	rounds       int
}

func main() {
	if os.Getenv(echoCeilingEnv) != "" {
		if err := serveEchoCeiling(); err != nil {
			fmt.Fprintln(os.Stderr, "echo ceiling:", err)
			os.Exit(1)
		}
		return
	}
	var cfg config
	flag.StringVar(&cfg.bin, "bin", "", "guildhall server `binary` (default: go build ./cmd/guildhall into -dir)")
	flag.StringVar(&cfg.dir, "dir", "", "`directory` for the databases (default: a fresh one under ./tmp, on the repository's disk)")
	flag.IntVar(&cfg.clients, "clients", defaultClients, "concurrent keep-alive clients")
	flag.DurationVar(&cfg.duration, "duration", defaultDuration, "length of each write phase and ceiling, per round")
	flag.IntVar(&cfg.rounds, "rounds", defaultRounds, "rounds of the write phases and ceilings, back to back")
	flag.DurationVar(&cfg.readDuration, "read-duration", defaultReadDuration, "length of each read phase")
	flag.IntVar(&cfg.invitees, "invitees", defaultInvitees, "users created up front to be invited, one per request")
	flag.IntVar(&cfg.members, "members", defaultMembers, "members of the organization the read phases list")
	flag.StringVar(&cfg.serverFlags, "server-flags", "", "extra flags for guildhall serve, space-separated")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the databases afterwards")
	flag.BoolVar(&cfg.noCeilings, "no-ceilings", false, "measure the server only (no ratios)")
	flag.Parse()
	if err := run(context.Background(), cfg); err != nil {
		fmt.Fprintln(os.Stderr, "guildhall-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config) error {
	if cfg.dir == "" {
		if err := os.MkdirAll("tmp", 0o755); err != nil {
			return err
		}
		dir, err := os.MkdirTemp("tmp", "bench-")
		if err != nil {
			return err
		}
		cfg.dir = dir
	}
	if err := os.MkdirAll(cfg.dir, 0o755); err != nil {
		return err
	}
	if !cfg.keep {
		defer os.RemoveAll(cfg.dir)
	}
	if cfg.bin == "" {
		cfg.bin = filepath.Join(cfg.dir, "guildhall")
		fmt.Printf("building %s\n", cfg.bin)
		build := exec.Command("go", "build", "-o", cfg.bin, "guildhall/cmd/guildhall")
		build.Stdout, build.Stderr = os.Stdout, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build the server: %w", err)
		}
	}
	printMachine(cfg)
	client := newClient(cfg.clients)

	// One server per commit mode, each on a fresh database.
	modes := []*serverMode{
		{label: "invite_user_to_organization, one commit each", flags: []string{"--group-commit=false"}},
		{label: "invite_user_to_organization, --group-commit", flags: []string{"--group-commit"}},
	}
	for i, m := range modes {
		if err := m.start(ctx, client, cfg, filepath.Join(cfg.dir, fmt.Sprintf("server%d", i))); err != nil {
			return err
		}
		defer m.srv.kill()
	}
	var ceilA *rawCeiling
	var echoSrv *process
	if !cfg.noCeilings {
		var err error
		if ceilA, err = newRawCeiling(ctx, filepath.Join(cfg.dir, "ceiling.db")); err != nil {
			return fmt.Errorf("ceiling (a): %w", err)
		}
		defer ceilA.close()
		if echoSrv, err = startEchoCeiling(ctx); err != nil {
			return fmt.Errorf("ceiling (b): %w", err)
		}
		defer echoSrv.kill()
	}

	// Rounds: each measures the ceilings and both modes back to back, so a
	// neighbour's load on a shared machine weighs on all of them alike,
	// and the ratios are taken within a round.
	var roundsA, roundsB []result
	roundsInvite := make([][]result, len(modes))
	for round := 1; round <= cfg.rounds; round++ {
		fmt.Printf("round %d of %d\n", round, cfg.rounds)
		if ceilA != nil {
			fmt.Println("  ceiling (a): raw SQLite transactions ...")
			roundsA = append(roundsA, ceilA.run(ctx, cfg))
			fmt.Println("  ceiling (b): bare Echo handler ...")
			roundsB = append(roundsB, echoCeiling(ctx, client, echoSrv, cfg))
		}
		for i, m := range modes {
			fmt.Printf("  %s ...\n", m.label)
			roundsInvite[i] = append(roundsInvite[i], m.invite(ctx, client, cfg))
		}
	}
	var results []result
	if ceilA != nil {
		results = append(results, merge(roundsA), merge(roundsB))
		echoSrv.stop()
	}
	for i, m := range modes {
		r := merge(roundsInvite[i])
		r.rss = m.srv.peakRSS()
		results = append(results, r)
		if err := checkInvites(m.dbPath, m.fx.inviteOrg, r.ok); err != nil {
			return err
		}
	}

	// Reads, on the last server.
	last := modes[len(modes)-1]
	fmt.Println("reads ...")
	reads, err := readPhases(ctx, client, last.srv, last.fx, cfg)
	if err != nil {
		return err
	}
	results = append(results, reads...)
	for _, m := range modes {
		if err := m.srv.stop(); err != nil {
			return fmt.Errorf("server did not stop cleanly: %w\n%s", err, m.srv.stderr)
		}
	}
	printResults(results, cfg)
	if ceilA != nil {
		printRatios(roundsA, roundsB, roundsInvite, modes)
	}
	return nil
}

// serverMode is the server binary run with one set of flags.
type serverMode struct {
	label  string
	flags  []string
	srv    *process
	dbPath string
	fx     fixtures
	next   atomic.Int64 // the last invitee used
}

// start seeds a fresh database in dir and starts the server on it with the
// abuse limits off, then sets up the fixtures.
func (m *serverMode) start(ctx context.Context, client *http.Client, cfg config, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	m.dbPath = filepath.Join(dir, "guildhall.db")
	fmt.Printf("seeding %d invitees and %d members in %s ...\n", cfg.invitees, cfg.members, m.dbPath)
	if err := seedUsers(ctx, m.dbPath, cfg); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	args := []string{"serve", "--addr", "127.0.0.1:0", "--db", m.dbPath, "--max-pending-invites", "0", "--invite-rate", "0"}
	args = append(args, m.flags...)
	args = append(args, strings.Fields(cfg.serverFlags)...)
	fmt.Printf("starting %s %s\n", cfg.bin, strings.Join(args, " "))
	var err error
	if m.srv, err = startProcess(ctx, cfg.bin, args, nil); err != nil {
		return err
	}
	if m.fx, err = setUpFixtures(ctx, client, m.srv.base, m.dbPath, cfg); err != nil {
		return fmt.Errorf("fixtures: %w", err)
	}
	return nil
}

// invite runs one invite phase: every request a new invitee.
func (m *serverMode) invite(ctx context.Context, client *http.Client, cfg config) result {
	cpu := m.srv.cpuTime()
	r := drive(ctx, client, cfg.clients, cfg.duration, func(int) (*http.Request, error) {
		n := m.next.Add(1)
		if int(n) > cfg.invitees {
			return nil, errOutOfInvitees
		}
		return jsonRequest(m.srv.base+"/api/invite_user_to_organization", inviteBody(m.fx.apiKey, inviteeName(int(n)), m.fx.inviteOrg))
	})
	r.name = m.label
	r.cpu = m.srv.cpuTime() - cpu
	return r
}

// merge adds up the rounds of one phase.
func merge(rounds []result) result {
	out := result{name: rounds[0].name}
	for _, r := range rounds {
		out.ops += r.ops
		out.ok += r.ok
		out.non2xx += r.non2xx
		out.errors += r.errors
		out.elapsed += r.elapsed
		out.lat = append(out.lat, r.lat...)
		out.rss = max(out.rss, r.rss)
		out.cpu += r.cpu
		if r.stopNote != "" {
			out.stopNote = r.stopNote
		}
	}
	slices.Sort(out.lat)
	return out
}

// printRatios prints each round's ratios and their medians.
func printRatios(roundsA, roundsB []result, roundsInvite [][]result, modes []*serverMode) {
	for i, m := range modes {
		var vsA, vsB []float64
		for k := range roundsA {
			inv := roundsInvite[i][k].perSecond()
			vsA = append(vsA, inv/roundsA[k].perSecond())
			vsB = append(vsB, inv/roundsB[k].perSecond())
		}
		fmt.Printf("%s: %.2f× ceiling (a), %.2f× ceiling (b) (medians of rounds; (a) by round:", m.label, median(vsA), median(vsB))
		for _, v := range vsA {
			fmt.Printf(" %.2f", v)
		}
		fmt.Println(")")
	}
	fmt.Println("targets: ≥ 0.80× (a) with one commit each; ≥ 1.50× (a) for group commit to be kept; p99 < 25 ms; RSS < 100 MB; 0 non-2xx")
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// errOutOfInvitees stops a worker when every seeded invitee has been used.
var errOutOfInvitees = errors.New("out of invitees; raise -invitees")

// result is one phase's figures.
type result struct {
	name     string
	ops      int
	ok       int
	non2xx   int
	errors   int
	elapsed  time.Duration
	lat      []time.Duration // sorted
	rss      int64           // server peak RSS in KiB, 0 if not measured
	cpu      time.Duration   // CPU time the serving process used in the phase, 0 if not measured
	note     string
	stopNote string
}

func (r result) perSecond() float64 { return float64(r.ok) / r.elapsed.Seconds() }

func (r result) quantile(q float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[min(len(r.lat)-1, int(q*float64(len(r.lat))))]
}

// newClient is the one HTTP client every phase uses: keep-alive, one
// connection per concurrent client.
func newClient(clients int) *http.Client {
	return &http.Client{
		Timeout: time.Minute,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConns:        clients,
			MaxIdleConnsPerHost: clients,
			MaxConnsPerHost:     clients,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
		},
	}
}

// drive runs clients workers for d, each sending the requests next builds
// one after another, and collects the answers.
func drive(ctx context.Context, client *http.Client, clients int, d time.Duration, next func(worker int) (*http.Request, error)) result {
	type tally struct {
		ok, non2xx, errs int
		lat              []time.Duration
		stop             string
	}
	tallies := make([]tally, clients)
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range clients {
		wg.Go(func() {
			t := &tallies[w]
			t.lat = make([]time.Duration, 0, 4096)
			for time.Now().Before(deadline) && ctx.Err() == nil {
				req, err := next(w)
				if err != nil {
					t.stop = err.Error()
					return
				}
				began := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					t.errs++
					continue
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				t.lat = append(t.lat, time.Since(began))
				if err != nil {
					t.errs++
				} else if resp.StatusCode/100 != 2 {
					t.non2xx++
				} else {
					t.ok++
				}
			}
		})
	}
	wg.Wait()
	r := result{elapsed: time.Since(start)}
	for _, t := range tallies {
		r.ok += t.ok
		r.non2xx += t.non2xx
		r.errors += t.errs
		r.lat = append(r.lat, t.lat...)
		if t.stop != "" {
			r.stopNote = t.stop
		}
	}
	r.ops = r.ok + r.non2xx + r.errors
	slices.Sort(r.lat)
	return r
}

func jsonRequest(u string, body []byte) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	return req, nil
}

// inviteBody is the call every invite phase and ceiling (b) sends.
func inviteBody(apiKey, invitee string, org int64) []byte {
	b, _ := json.Marshal(map[string]any{
		"auth":               map[string]string{"api_key": apiKey},
		"username_to_invite": invitee,
		"organization_id":    org,
		"member_class":       "member",
	})
	return b
}

func inviteeName(n int) string { return fmt.Sprintf("invitee%07d", n) }
func memberName(n int) string  { return fmt.Sprintf("member%05d", n) }

// process is a server started by the benchmark.
type process struct {
	cmd    *exec.Cmd
	base   string // http://host:port
	done   chan error
	stderr *lockedBuffer // what it logged
}

// startProcess starts bin and waits for its "listening on http://..." line.
func startProcess(ctx context.Context, bin string, args, env []string) (*process, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, done: make(chan error, 1), stderr: &lockedBuffer{}}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if _, rest, ok := strings.Cut(sc.Text(), "listening on "); ok {
				found <- strings.Fields(rest)[0]
			}
		}
	}()
	go func() { p.done <- cmd.Wait() }()
	select {
	case p.base = <-found:
		return p, nil
	case err := <-p.done:
		return nil, fmt.Errorf("%s exited before listening: %v\n%s", bin, err, p.stderr)
	case <-time.After(serverStartTimeout):
		p.kill()
		return nil, fmt.Errorf("%s did not start listening within %v", bin, serverStartTimeout)
	}
}

// lockedBuffer keeps the child's stderr, readable while it is being written.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(b)
}

// String returns everything written so far.
func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// cpuTime reads the process's user and system CPU time so far.
func (p *process) cpuTime() time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// The fields after the command name, which is in parentheses.
	_, rest, _ := strings.Cut(string(data), ") ")
	fields := strings.Fields(rest)
	if len(fields) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / clockTicks
}

// clockTicks is the kernel's USER_HZ, the unit of /proc/<pid>/stat times:
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// selfCPUTime is this process's CPU time, for the in-process ceiling (a).
func selfCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS reads the server's peak resident set (VmHWM) in KiB.
func (p *process) peakRSS() int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			return kb
		}
	}
	return 0
}

// stop sends SIGTERM and waits for a clean exit.
func (p *process) stop() error {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(30 * time.Second):
		p.kill()
		return errors.New("no exit 30 s after SIGTERM")
	}
}

func (p *process) kill() {
	if p.cmd.ProcessState == nil {
		p.cmd.Process.Kill()
	}
}

// seedUsers creates the database with the server's migrations and then
// inserts the invitees and the big organization's members directly: made
// through the API, each would cost a deliberately slow argon2id hash. Their
// password hash is a well-formed PHC string of a random key nobody knows.
func seedUsers(ctx context.Context, path string, cfg config) error {
	store, err := db.Open(ctx, path, db.Options{})
	if err != nil {
		return err
	}
	store.Close()
	raw, err := sql.Open("sqlite", db.DSN(path))
	if err != nil {
		return err
	}
	defer raw.Close()
	tx, err := raw.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO users (username, password_hash, admin, created) VALUES (?, ?, 0, ?)`)
	if err != nil {
		return err
	}
	const unusable = "$argon2id$v=19$m=19456,t=2,p=1$YmVuY2htYXJrc2FsdA$bm9ib2R5a25vd3N0aGlzcGFzc3dvcmRhdGFsbA"
	now := time.Now().Unix()
	for i := 1; i <= cfg.invitees; i++ {
		if _, err := stmt.ExecContext(ctx, inviteeName(i), unusable, now); err != nil {
			return err
		}
	}
	for i := 1; i <= cfg.members; i++ {
		if _, err := stmt.ExecContext(ctx, memberName(i), unusable, now); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// fixtures are what the phases act on.
type fixtures struct {
	apiKey    string
	inviteOrg int64 // the organization invitations go to
	bigOrg    int64 // the organization of cfg.members members
}

// setUpFixtures signs up the owner, makes an API key and two organizations
// through the API, then makes the seeded members active members of the big
// one directly (10,000 invitations and acceptances would take minutes of
// password hashing and fsyncs that measure nothing the invite phase does not).
func setUpFixtures(ctx context.Context, client *http.Client, base, dbPath string, cfg config) (fixtures, error) {
	var fx fixtures
	call := func(fn string, body any, out any) error {
		b, _ := json.Marshal(body)
		req, err := jsonRequest(base+"/api/"+fn, b)
		if err != nil {
			return err
		}
		resp, err := client.Do(req.WithContext(ctx))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var env struct {
			Success bool            `json:"success"`
			Result  json.RawMessage `json:"result"`
			Error   string          `json:"error"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
			return err
		}
		if !env.Success {
			return fmt.Errorf("%s: %d %s", fn, resp.StatusCode, env.Error)
		}
		if out != nil {
			return json.Unmarshal(env.Result, out)
		}
		return nil
	}
	owner := map[string]string{"username": "owner", "password": ownerPassword}
	if err := call("add_user", owner, nil); err != nil {
		return fx, err
	}
	var key struct {
		APIKey string `json:"api_key"`
	}
	if err := call("create_api_key", map[string]any{"auth": owner, "title": "bench"}, &key); err != nil {
		return fx, err
	}
	fx.apiKey = key.APIKey
	var org struct {
		ID int64 `json:"organization_id"`
	}
	auth := map[string]string{"api_key": fx.apiKey}
	if err := call("create_organization", map[string]any{"auth": auth, "organization_name": "Invitations"}, &org); err != nil {
		return fx, err
	}
	fx.inviteOrg = org.ID
	if err := call("create_organization", map[string]any{"auth": auth, "organization_name": "Big"}, &org); err != nil {
		return fx, err
	}
	fx.bigOrg = org.ID

	raw, err := sql.Open("sqlite", db.DSN(dbPath))
	if err != nil {
		return fx, err
	}
	defer raw.Close()
	now := time.Now().Unix()
	roles := []string{"admin", "member", "member", "member", "viewer"}
	_, err = raw.ExecContext(ctx, `
		WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		INSERT INTO memberships (organization_id, user_id, role, status, sender_id, created, accepted)
		SELECT ?, u.id, json_extract(?, '$[' || (n.i % 5) || ']'), 'active', o.id, ?, ?
		FROM n JOIN users u ON u.username = printf('member%05d', n.i)
		JOIN users o ON o.username = 'owner'`,
		cfg.members, fx.bigOrg, mustJSON(roles), now, now)
	return fx, err
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

// checkInvites makes sure every acknowledged invitation is in the database.
func checkInvites(path string, org int64, acknowledged int) error {
	raw, err := sql.Open("sqlite", db.DSN(path))
	if err != nil {
		return err
	}
	defer raw.Close()
	var n int
	if err := raw.QueryRow(`SELECT count(*) FROM memberships WHERE organization_id = ? AND status = 'pending'`, org).Scan(&n); err != nil {
		return err
	}
	if n != acknowledged {
		return fmt.Errorf("%d invitations acknowledged but %d in the database", acknowledged, n)
	}
	return nil
}

// readPhases drive the read scenario against the big organization.
func readPhases(ctx context.Context, client *http.Client, srv *process, fx fixtures, cfg config) ([]result, error) {
	auth := map[string]string{"api_key": fx.apiKey}
	fetch := func(extra map[string]any) func(int) (*http.Request, error) {
		args := map[string]any{"auth": auth, "organization_id": fx.bigOrg}
		for k, v := range extra {
			args[k] = v
		}
		body := []byte(mustJSON(args))
		return func(int) (*http.Request, error) {
			return jsonRequest(srv.base+"/api/fetch_memberships_of_organization", body)
		}
	}
	var out []result
	phases := []struct {
		name string
		next func(int) (*http.Request, error)
	}{
		{fmt.Sprintf("fetch_memberships_of_organization, all %d", cfg.members), fetch(nil)},
		{"fetch_memberships_of_organization, first page of 50", fetch(map[string]any{"offset": 0, "limit": 50})},
		{"fetch_memberships_of_organization, middle page of 50", fetch(map[string]any{"offset": cfg.members / 2, "limit": 50})},
		{"fetch_memberships_of_organization, search", fetch(map[string]any{"search": "member012", "limit": 50})},
	}
	if page, err := pageRequest(ctx, client, srv.base, fx.bigOrg); err != nil {
		fmt.Printf("organization page: not measured (%v)\n", err)
	} else {
		phases = append(phases,
			struct {
				name string
				next func(int) (*http.Request, error)
			}{"organization page, first page", page("")},
			struct {
				name string
				next func(int) (*http.Request, error)
			}{"organization page, search", page("member012")},
		)
	}
	for _, ph := range phases {
		for _, clients := range []int{1, cfg.clients} {
			fmt.Printf("  %s, %d client(s) ...\n", ph.name, clients)
			cpu := srv.cpuTime()
			r := drive(ctx, client, clients, cfg.readDuration, ph.next)
			r.cpu = srv.cpuTime() - cpu
			r.name = fmt.Sprintf("%s [%d]", ph.name, clients)
			r.rss = srv.peakRSS()
			out = append(out, r)
		}
	}
	return out, nil
}

// pageRequest signs the owner in through the web pages and returns a
// builder of requests for the organization's page, or an error if this
// server has no such page.
func pageRequest(ctx context.Context, client *http.Client, base string, org int64) (func(search string) func(int) (*http.Request, error), error) {
	jar := &cookieJar{}
	get := func(u string) (*http.Response, string, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		jar.apply(req)
		resp, err := client.Do(req)
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		jar.store(resp)
		return resp, string(b), nil
	}
	resp, body, err := get(base + "/login")
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /login: %d", resp.StatusCode)
	}
	form := url.Values{"username": {"owner"}, "password": {ownerPassword}}
	if name, value, ok := hiddenCSRF(body); ok {
		form.Set(name, value)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	jar.apply(req)
	noRedirect := *client
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err = noRedirect.Do(req)
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	jar.store(resp)
	if resp.StatusCode/100 != 3 {
		return nil, fmt.Errorf("POST /login: %d", resp.StatusCode)
	}
	pageURL := fmt.Sprintf("%s/orgs/%d", base, org)
	resp, _, err = get(pageURL)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /orgs/%d: %d", org, resp.StatusCode)
	}
	return func(search string) func(int) (*http.Request, error) {
		u := pageURL
		if search != "" {
			u += "?q=" + url.QueryEscape(search)
		}
		return func(int) (*http.Request, error) {
			req, err := http.NewRequest(http.MethodGet, u, nil)
			if err != nil {
				return nil, err
			}
			jar.apply(req)
			return req, nil
		}
	}, nil
}

// hiddenCSRF finds a hidden form field whose name mentions csrf.
func hiddenCSRF(html string) (name, value string, ok bool) {
	for _, tag := range strings.Split(html, "<input")[1:] {
		tag, _, _ = strings.Cut(tag, ">")
		attr := func(a string) string {
			_, v, found := strings.Cut(tag, a+`="`)
			if !found {
				return ""
			}
			v, _, _ = strings.Cut(v, `"`)
			return v
		}
		if n := attr("name"); strings.Contains(strings.ToLower(n), "csrf") {
			return n, attr("value"), true
		}
	}
	return "", "", false
}

// cookieJar keeps the session cookie for the page phases; safe for
// concurrent readers once signed in.
type cookieJar struct {
	mu      sync.Mutex
	cookies map[string]*http.Cookie
}

func (j *cookieJar) store(resp *http.Response) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.cookies == nil {
		j.cookies = map[string]*http.Cookie{}
	}
	for _, c := range resp.Cookies() {
		j.cookies[c.Name] = c
	}
}

func (j *cookieJar) apply(req *http.Request) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, c := range j.cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
}

// printMachine says what the figures were measured on.
func printMachine(cfg config) {
	model := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(data)) {
			if rest, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), ":"))
				break
			}
		}
	}
	fmt.Printf("machine: %s, %d CPUs (GOMAXPROCS %d), %s %s/%s\n", model, runtime.NumCPU(), runtime.GOMAXPROCS(0),
		runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Printf("phases: %d clients, %d rounds of %v per write phase, %v per read phase; databases in %s\n",
		cfg.clients, cfg.rounds, cfg.duration, cfg.readDuration, cfg.dir)
}

// printResults prints the table.
func printResults(results []result, cfg config) {
	fmt.Println()
	fmt.Printf("%d clients; write phases %d × %v, read phases %v each\n", cfg.clients, cfg.rounds, cfg.duration, cfg.readDuration)
	fmt.Printf("%-58s %10s %9s %9s %9s %8s %10s %10s\n", "phase [clients]", "ops/s", "p50", "p95", "p99", "non-2xx", "server RSS", "CPU µs/op")
	for _, r := range results {
		rss := "-"
		if r.rss > 0 {
			rss = fmt.Sprintf("%.1f MB", float64(r.rss)/1024)
		}
		non2xx := strconv.Itoa(r.non2xx)
		if r.errors > 0 {
			non2xx += fmt.Sprintf(" +%d err", r.errors)
		}
		cpu := "-"
		if r.cpu > 0 && r.ok > 0 {
			cpu = fmt.Sprintf("%.0f", float64(r.cpu.Microseconds())/float64(r.ok))
		}
		fmt.Printf("%-58s %10.0f %9s %9s %9s %8s %10s %10s\n", r.name, r.perSecond(),
			ms(r.quantile(0.50)), ms(r.quantile(0.95)), ms(r.quantile(0.99)), non2xx, rss, cpu)
		if r.stopNote != "" {
			fmt.Printf("  (stopped early: %s)\n", r.stopNote)
		}
	}
	fmt.Println()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

// rawCeiling measures ceiling (a): transactions of one read and one
// insert, from cfg.clients goroutines through one writer connection with
// BEGIN IMMEDIATE, on the server's DSN (db.DSN: the same driver, the same
// pragmas, synchronous=FULL), in a database file beside the server's.
type rawCeiling struct {
	w    *sql.DB
	next atomic.Int64
}

// rawCeilingUsers is how many users the ceiling's reads look up.
const rawCeilingUsers = 100_000

func newRawCeiling(ctx context.Context, path string) (*rawCeiling, error) {
	w, err := sql.Open("sqlite", db.DSN(path, "_txlock=immediate"))
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	for _, q := range []string{
		`CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE) STRICT`,
		`CREATE TABLE invitations (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id), created INTEGER NOT NULL) STRICT`,
		fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
		 INSERT INTO users (username) SELECT printf('invitee%%07d', i) FROM n`, rawCeilingUsers),
	} {
		if _, err := w.ExecContext(ctx, q); err != nil {
			w.Close()
			return nil, err
		}
	}
	return &rawCeiling{w: w}, nil
}

func (c *rawCeiling) close() { c.w.Close() }

// run is one round of ceiling (a).
func (c *rawCeiling) run(ctx context.Context, cfg config) result {
	type tally struct {
		ok, errs int
		lat      []time.Duration
	}
	tallies := make([]tally, cfg.clients)
	deadline := time.Now().Add(cfg.duration)
	start, cpu := time.Now(), selfCPUTime()
	var wg sync.WaitGroup
	for i := range cfg.clients {
		wg.Go(func() {
			t := &tallies[i]
			for time.Now().Before(deadline) {
				began := time.Now()
				name := inviteeName(int(c.next.Add(1)%rawCeilingUsers) + 1)
				err := func() error {
					tx, err := c.w.BeginTx(ctx, nil)
					if err != nil {
						return err
					}
					defer tx.Rollback()
					var id int64
					if err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE username = ?`, name).Scan(&id); err != nil {
						return err
					}
					if _, err := tx.ExecContext(ctx, `INSERT INTO invitations (user_id, created) VALUES (?, ?)`, id, time.Now().Unix()); err != nil {
						return err
					}
					return tx.Commit()
				}()
				if err != nil {
					t.errs++
					continue
				}
				t.ok++
				t.lat = append(t.lat, time.Since(began))
			}
		})
	}
	wg.Wait()
	r := result{name: "ceiling (a) raw SQLite tx: 1 read + 1 insert", elapsed: time.Since(start), cpu: selfCPUTime() - cpu}
	for _, t := range tallies {
		r.ok += t.ok
		r.errors += t.errs
		r.lat = append(r.lat, t.lat...)
	}
	r.ops = r.ok + r.errors
	slices.Sort(r.lat)
	return r
}

// startEchoCeiling runs this program again as ceiling (b)'s bare Echo server.
func startEchoCeiling(ctx context.Context) (*process, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return startProcess(ctx, self, nil, []string{echoCeilingEnv + "=1"})
}

// echoCeiling is one round of ceiling (b): the same client, the same body.
func echoCeiling(ctx context.Context, client *http.Client, p *process, cfg config) result {
	body := inviteBody("sk-"+strings.Repeat("x", 48), inviteeName(1), 1)
	cpu := p.cpuTime()
	r := drive(ctx, client, cfg.clients, cfg.duration, func(int) (*http.Request, error) {
		return jsonRequest(p.base+"/api/invite_user_to_organization", body)
	})
	r.cpu = p.cpuTime() - cpu
	r.name = "ceiling (b) bare Echo: decode invite JSON, answer"
	r.rss = p.peakRSS()
	return r
}

// serveEchoCeiling is ceiling (b)'s server: Echo, one route, the invite's
// JSON decoded into its fields, {"success": true} answered.
func serveEchoCeiling() error {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Match([]string{http.MethodGet, http.MethodPost}, "/api/:function", func(c echo.Context) error {
		var args struct {
			Auth struct {
				APIKey string `json:"api_key"`
			} `json:"auth"`
			UsernameToInvite string `json:"username_to_invite"`
			OrganizationID   int64  `json:"organization_id"`
			MemberClass      string `json:"member_class"`
		}
		if err := json.NewDecoder(io.LimitReader(c.Request().Body, 1<<20)).Decode(&args); err != nil {
			return c.JSON(http.StatusBadRequest, map[string]any{"success": false, "error": "bad JSON", "code": "invalid_request"})
		}
		return c.JSON(http.StatusOK, map[string]bool{"success": true})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("echo ceiling listening on http://%s\n", ln.Addr())
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	stop := make(chan os.Signal, 1)
	go func() {
		<-stop
		srv.Close()
	}()
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
