package main

// Fault tests: the real server binary, built once in TestMain, under
// concurrent invite load while it is killed, stopped, or loses the ability
// to write its database.

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"guildhall/db"
)

// serverBin is the guildhall binary under test, built by TestMain.
var serverBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "guildhall-faults-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	serverBin = filepath.Join(dir, "guildhall")
	build := exec.Command("go", "build", "-o", serverBin, "guildhall/cmd/guildhall")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build guildhall:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// faultEnv is a server process on a seeded database, with fixtures.
type faultEnv struct {
	t      *testing.T
	cfg    config
	dbPath string
	srv    *process
	fx     fixtures
	client *http.Client
}

// Sizes of the fault tests' load: small, so the tests stay quick under -race.
const (
	faultClients  = 16
	faultInvitees = 20_000
)

// startFaultEnv seeds a database and starts the server on it, with flags.
func startFaultEnv(t *testing.T, flags ...string) *faultEnv {
	t.Helper()
	env := &faultEnv{
		t:      t,
		cfg:    config{clients: faultClients, invitees: faultInvitees, members: 0},
		dbPath: filepath.Join(t.TempDir(), "guildhall.db"),
		client: newClient(faultClients),
	}
	if err := seedUsers(context.Background(), env.dbPath, env.cfg); err != nil {
		t.Fatal(err)
	}
	env.start(flags...)
	fx, err := setUpFixtures(context.Background(), env.client, env.srv.base, env.dbPath, env.cfg)
	if err != nil {
		t.Fatal(err)
	}
	env.fx = fx
	return env
}

// start (re)starts the server on the environment's database.
func (env *faultEnv) start(flags ...string) {
	env.t.Helper()
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--db", env.dbPath, "--max-pending-invites", "0", "--invite-rate", "0"}, flags...)
	srv, err := startProcess(context.Background(), serverBin, args, nil)
	if err != nil {
		env.t.Fatal(err)
	}
	env.srv = srv
	env.t.Cleanup(srv.kill)
}

// answer is one API call's outcome as a client saw it.
type answer struct {
	status int // 0: no answer (connection error)
	code   string
	body   string
}

// call posts args to /api/fn and decodes the envelope.
func (env *faultEnv) call(fn string, args map[string]any) answer {
	env.t.Helper()
	args["auth"] = map[string]string{"api_key": env.fx.apiKey}
	b, _ := json.Marshal(args)
	req, err := jsonRequest(env.srv.base+"/api/"+fn, b)
	if err != nil {
		env.t.Fatal(err)
	}
	return do(env.client, req)
}

func do(client *http.Client, req *http.Request) answer {
	resp, err := client.Do(req)
	if err != nil {
		return answer{}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}
	}
	var env struct {
		Success *bool  `json:"success"`
		Code    string `json:"code"`
	}
	if json.Unmarshal(body, &env) != nil || env.Success == nil || *env.Success != (resp.StatusCode == http.StatusOK) {
		return answer{status: resp.StatusCode, code: "malformed envelope", body: string(body)}
	}
	return answer{status: resp.StatusCode, code: env.Code, body: string(body)}
}

// load invites distinct invitees from faultClients clients until stop is
// closed, and returns the invitees acknowledged with 200, and every answer
// that was neither a 200 nor a lost connection.
type load struct {
	mu       sync.Mutex
	acked    []string
	bad      []answer
	answered atomic.Int64 // answers of any kind
	next     atomic.Int64
	// after counts 200s received after the mark was set.
	mark  atomic.Bool
	after atomic.Int64
	done  sync.WaitGroup
}

func (env *faultEnv) startLoad(stop <-chan struct{}) *load {
	l := &load{}
	for range faultClients {
		l.done.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				name := inviteeName(int(l.next.Add(1)))
				req, _ := jsonRequest(env.srv.base+"/api/invite_user_to_organization", inviteBody(env.fx.apiKey, name, env.fx.inviteOrg))
				a := do(env.client, req)
				if a.status == 0 {
					time.Sleep(5 * time.Millisecond) // the server is gone or going; don't spin
					continue
				}
				l.answered.Add(1)
				l.mu.Lock()
				if a.status == http.StatusOK {
					l.acked = append(l.acked, name)
					if l.mark.Load() {
						l.after.Add(1)
					}
				} else {
					l.bad = append(l.bad, a)
				}
				l.mu.Unlock()
			}
		})
	}
	return l
}

// waitAnswers waits until the load has had n answers.
func (l *load) waitAnswers(t *testing.T, n int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for l.answered.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d answers in 30 s", l.answered.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkDatabase opens the file directly: the integrity check must pass and
// every acknowledged invitation must be there.
func checkDatabase(t *testing.T, path string, org int64, acked []string) {
	t.Helper()
	raw, err := sql.Open("sqlite", db.DSN(path))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var integrity string
	if err := raw.QueryRow(`PRAGMA integrity_check`).Scan(&integrity); err != nil || integrity != "ok" {
		t.Fatalf("integrity_check: %q, %v", integrity, err)
	}
	rows, err := raw.Query(`SELECT u.username FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.organization_id = ? AND m.status = 'pending'`, org)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	present := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		present[name] = true
	}
	var missing []string
	for _, name := range acked {
		if !present[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("%d of %d acknowledged invitations are missing, e.g. %v", len(missing), len(acked), missing[:min(5, len(missing))])
	}
	var audits int
	if err := raw.QueryRow(`SELECT count(*) FROM audit_events WHERE organization_id = ? AND action = 'invite'`, org).Scan(&audits); err != nil {
		t.Fatal(err)
	}
	if audits != len(present) {
		t.Fatalf("%d invitations but %d invite audit events: a write was half applied", len(present), audits)
	}
}

// commitModes runs a test against both ways of committing.
var commitModes = []struct {
	name  string
	flags []string
}{
	{"one commit each", []string{"--group-commit=false"}},
	{"group commit", []string{"--group-commit"}},
}

// TestKill9DuringInviteLoad: SIGKILL under concurrent invitations loses no
// acknowledged invitation, and the database checks out and reopens.
func TestKill9DuringInviteLoad(t *testing.T) {
	for _, mode := range commitModes {
		t.Run(mode.name, func(t *testing.T) {
			env := startFaultEnv(t, mode.flags...)
			stop := make(chan struct{})
			l := env.startLoad(stop)
			l.waitAnswers(t, 300)
			if err := env.srv.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			<-env.srv.done
			close(stop)
			l.done.Wait()
			for _, a := range l.bad {
				t.Errorf("answer before the kill: %d %s", a.status, a.body)
			}
			t.Logf("%d invitations acknowledged before kill -9", len(l.acked))
			checkDatabase(t, env.dbPath, env.fx.inviteOrg, l.acked)

			// The server starts again on the same file and serves what was acknowledged.
			env.start(mode.flags...)
			a := env.call("fetch_memberships_of_organization", map[string]any{"organization_id": env.fx.inviteOrg, "search": l.acked[len(l.acked)-1], "limit": 1})
			if a.status != http.StatusOK || !strings.Contains(a.body, l.acked[len(l.acked)-1]) {
				t.Fatalf("after restart: %d %s", a.status, a.body)
			}
		})
	}
}

// TestSIGTERMDuringInviteLoad: requests in flight when SIGTERM arrives are
// answered, nothing is answered with a 5xx, and the process exits 0.
func TestSIGTERMDuringInviteLoad(t *testing.T) {
	for _, mode := range commitModes {
		t.Run(mode.name, func(t *testing.T) {
			env := startFaultEnv(t, mode.flags...)
			stop := make(chan struct{})
			l := env.startLoad(stop)
			l.waitAnswers(t, 300)
			l.mark.Store(true)
			if err := env.srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			var exitErr error
			select {
			case exitErr = <-env.srv.done:
			case <-time.After(30 * time.Second):
				t.Fatal("no exit 30 s after SIGTERM")
			}
			close(stop)
			l.done.Wait()
			if exitErr != nil {
				t.Fatalf("exit after SIGTERM: %v\n%s", exitErr, env.srv.stderr.String())
			}
			if !strings.Contains(env.srv.stderr.String(), "stopped") {
				t.Fatalf("no clean stop in the log:\n%s", env.srv.stderr.String())
			}
			for _, a := range l.bad {
				t.Errorf("answer during shutdown: %d %s", a.status, a.body)
			}
			if l.after.Load() == 0 {
				t.Fatalf("no request in flight at SIGTERM was answered")
			}
			t.Logf("%d acknowledged, %d of them answered after SIGTERM", len(l.acked), l.after.Load())
			checkDatabase(t, env.dbPath, env.fx.inviteOrg, l.acked)
		})
	}
}

// makeImmutable sets or clears the immutable attribute on files.
//
// Why chattr: the fault must hit a server that already has the database
// open, as a failing disk or a full file system would. File modes cannot
// do that (they are checked at open, and root ignores them anyway), and a
// tiny loop-mounted file system to fill needs mount privileges that CI
// containers often lack. The immutable attribute refuses every write to
// the file, through already-open descriptors too (EPERM), even for root;
// setting it needs root (CAP_LINUX_IMMUTABLE) and an ext2/3/4, XFS or
// Btrfs file system, which the test checks for and skips without.
func makeImmutable(on bool, paths ...string) error {
	flag := "-i"
	if on {
		flag = "+i"
	}
	out, err := exec.Command("chattr", append([]string{flag}, paths...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("chattr %s: %v: %s", flag, err, out)
	}
	return nil
}

// TestUnwritableDatabase: when the database file and its WAL stop taking
// writes mid-run, writes are refused with a 503 envelope and leave nothing
// behind, reads are still served, and writes succeed again once the fault
// clears.
func TestUnwritableDatabase(t *testing.T) {
	probe := filepath.Join(t.TempDir(), "probe")
	if err := os.WriteFile(probe, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := makeImmutable(true, probe); err != nil {
		t.Skipf("cannot make files immutable here (needs root and ext4/XFS/Btrfs): %v", err)
	}
	makeImmutable(false, probe)

	for _, mode := range commitModes {
		t.Run(mode.name, func(t *testing.T) {
			env := startFaultEnv(t, mode.flags...)
			org := env.fx.inviteOrg
			invite := func(name string) answer {
				return env.call("invite_user_to_organization", map[string]any{"username_to_invite": name, "organization_id": org})
			}
			if a := invite(inviteeName(1)); a.status != http.StatusOK {
				t.Fatalf("before the fault: %d %s", a.status, a.body)
			}
			files := []string{env.dbPath, env.dbPath + "-wal"}
			if err := makeImmutable(true, files...); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { makeImmutable(false, files...) })

			for i := 2; i <= 6; i++ {
				a := invite(inviteeName(i))
				if a.status != http.StatusServiceUnavailable || a.code != "unavailable" {
					t.Fatalf("invite during the fault: %d %s", a.status, a.body)
				}
			}
			if a := env.call("create_organization", map[string]any{"organization_name": "Never"}); a.status != http.StatusServiceUnavailable {
				t.Fatalf("create_organization during the fault: %d %s", a.status, a.body)
			}
			a := env.call("fetch_memberships_of_organization", map[string]any{"organization_id": org})
			if a.status != http.StatusOK || !strings.Contains(a.body, inviteeName(1)) || strings.Contains(a.body, inviteeName(2)) {
				t.Fatalf("read during the fault: %d %s", a.status, a.body)
			}

			if err := makeImmutable(false, files...); err != nil {
				t.Fatal(err)
			}
			// The first write after the fault may find SQLite still
			// recovering its WAL; a client retries a 503.
			var after answer
			for try := 0; try < 20; try++ {
				if after = invite(inviteeName(7)); after.status == http.StatusOK {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if after.status != http.StatusOK {
				t.Fatalf("invite after the fault cleared: %d %s", after.status, after.body)
			}
			for line := range strings.Lines(env.srv.stderr.String()) {
				if strings.Contains(line, "storage unavailable") {
					t.Logf("the server logged: %s", strings.TrimSpace(line))
					break
				}
			}
			if a := invite(inviteeName(2)); a.status != http.StatusOK {
				t.Fatalf("invite of one refused during the fault: %d %s", a.status, a.body)
			}
			if err := env.srv.stop(); err != nil {
				t.Fatalf("stop: %v\n%s", err, env.srv.stderr.String())
			}
			checkDatabase(t, env.dbPath, org, []string{inviteeName(1), inviteeName(2), inviteeName(7)})
			raw, err := sql.Open("sqlite", db.DSN(env.dbPath))
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			var orgs int
			if err := raw.QueryRow(`SELECT count(*) FROM organizations WHERE name = 'Never'`).Scan(&orgs); err != nil || orgs != 0 {
				t.Fatalf("organization refused during the fault: %d rows, %v", orgs, err)
			}
			for i := 3; i <= 6; i++ {
				var n int
				raw.QueryRow(`SELECT count(*) FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.username = ?`, inviteeName(i)).Scan(&n)
				if n != 0 {
					t.Fatalf("%s was refused during the fault but is in the database", inviteeName(i))
				}
			}
		})
	}
}
