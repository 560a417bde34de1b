package main

// Fault tests: the server, under concurrent invitations, is killed,
// stopped, or loses the ability to write its database, in both commit
// modes. Everything acknowledged must survive, and nothing else may be
// half written.

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"guildhall/cmd/internal/fixture"
	"guildhall/cmd/internal/serverproc"
	"guildhall/db"
)

// The fault tests' load: faultClients clients inviting one seeded invitee
// each request. A fault strikes once loadAnswers answers have come back;
// faultInvitees is well beyond what the clients reach by the time it has.
const (
	faultClients  = 16
	loadAnswers   = 300
	faultInvitees = 1_000
)

// commitModes runs a test against both ways of committing.
var commitModes = []struct {
	name  string
	flags []string
}{
	{"one commit each", []string{"--group-commit=false"}},
	{"group commit", []string{"--group-commit"}},
}

// faultEnv is a server on a seeded database, with the fixtures made.
type faultEnv struct {
	t      *testing.T
	dbPath string
	flags  []string
	srv    *serverproc.Process
	fx     fixture.Fixtures
	client *http.Client
}

// startFaultEnv seeds a database and starts the server on it, with the
// abuse limits off (the load is one user inviting as fast as it can) and
// the extra flags.
func startFaultEnv(t *testing.T, flags ...string) *faultEnv {
	t.Helper()
	env := &faultEnv{
		t:      t,
		dbPath: filepath.Join(t.TempDir(), "guildhall.db"),
		flags:  append([]string{"--max-pending-invites", "0", "--invite-rate", "0"}, flags...),
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: faultClients}, Timeout: time.Minute},
	}
	if _, err := fixture.Seed(context.Background(), env.dbPath, faultInvitees, nil); err != nil {
		t.Fatal(err)
	}
	env.start()
	fx, err := fixture.Setup(context.Background(), env.client, env.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	env.fx = fx
	return env
}

// start (re)starts the server on the environment's database.
func (env *faultEnv) start() {
	env.t.Helper()
	env.srv = startServer(env.t, env.dbPath, env.flags...)
}

// call calls the API function fn as the owner, by API key.
func (env *faultEnv) call(fn string, args map[string]any) fixture.Answer {
	env.t.Helper()
	args["auth"] = map[string]string{"api_key": env.fx.APIKey}
	a, err := fixture.Call(context.Background(), env.client, env.srv.URL, fn, args)
	if err != nil {
		env.t.Fatalf("%s: %v", fn, err)
	}
	return a
}

// invite invites the invitee to the fixtures' organization.
func (env *faultEnv) invite(invitee string) fixture.Answer {
	return env.call("invite_user_to_organization", map[string]any{"username_to_invite": invitee, "organization_id": env.fx.InviteOrg})
}

// load is faultClients clients inviting distinct invitees, from the first
// seeded one on, until the server stops answering.
type load struct {
	next     atomic.Int64 // the last invitee taken
	mu       sync.Mutex
	acked    []string         // invitees whose invitation was answered with a 200
	bad      []fixture.Answer // answers that were neither a 200 nor a lost connection
	answered int
	reached  chan struct{} // closed at loadAnswers answers
	ended    chan struct{} // closed once every client has stopped
}

// startLoad starts the clients. Each stops when its connection fails
// (the server is gone or going) or when the invitees run out: the test
// waits for the load to end instead of stopping it.
func (env *faultEnv) startLoad() *load {
	l := &load{reached: make(chan struct{}), ended: make(chan struct{})}
	baseURL, apiKey, org := env.srv.URL, env.fx.APIKey, env.fx.InviteOrg
	var clients sync.WaitGroup
	for range faultClients {
		clients.Go(func() {
			for {
				n := int(l.next.Add(1))
				if n >= faultInvitees { // the last is held back for heldInvite
					return
				}
				name := fixture.InviteeName(n)
				req, _ := fixture.NewRequest(context.Background(), baseURL, "invite_user_to_organization", fixture.InviteBody(apiKey, name, org))
				a, err := fixture.Do(env.client, req)
				if a.Status == 0 {
					return
				}
				l.record(name, a, err)
			}
		})
	}
	go func() {
		clients.Wait()
		close(l.ended)
	}()
	return l
}

// record counts one answer.
func (l *load) record(invitee string, a fixture.Answer, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err == nil && a.Status == http.StatusOK {
		l.acked = append(l.acked, invitee)
	} else {
		l.bad = append(l.bad, a)
	}
	if l.answered++; l.answered == loadAnswers {
		close(l.reached)
	}
}

// startUnderLoad starts a server with the flags and a load against it,
// and returns once the load has had loadAnswers answers.
func startUnderLoad(t *testing.T, flags ...string) (*faultEnv, *load) {
	t.Helper()
	env := startFaultEnv(t, flags...)
	l := env.startLoad()
	select {
	case <-l.reached:
	case <-l.ended:
		t.Fatalf("the load ended after %d answers", l.answered)
	}
	return env, l
}

// heldInvitee is the seeded invitee the load leaves for heldInvite.
var heldInvitee = fixture.InviteeName(faultInvitees)

// heldInvite starts an invitation whose body is held back, and returns
// once the server has begun reading it (it asked for the body with a
// "100 Continue"): from then on the request is in flight inside the
// server. The returned function sends the body and returns the answer.
func (env *faultEnv) heldInvite() (finish func() (fixture.Answer, error)) {
	env.t.Helper()
	body := fixture.InviteBody(env.fx.APIKey, heldInvitee, env.fx.InviteOrg)
	bodyReader, bodyWriter := io.Pipe()
	reading := make(chan struct{})
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{Got100Continue: func() { close(reading) }})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, env.srv.URL+"/api/invite_user_to_organization", bodyReader)
	if err != nil {
		env.t.Fatal(err)
	}
	req.ContentLength = int64(len(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Expect", "100-continue")
	// Its own connection, which waits for the 100 before sending the body.
	client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: time.Minute}, Timeout: time.Minute}
	type outcome struct {
		a   fixture.Answer
		err error
	}
	answered := make(chan outcome, 1)
	go func() {
		a, err := fixture.Do(client, req)
		answered <- outcome{a, err}
	}()
	select {
	case <-reading:
	case o := <-answered:
		env.t.Fatalf("answered before its body was sent: %d %s %v", o.a.Status, o.a.Body, o.err)
	}
	return func() (fixture.Answer, error) {
		bodyWriter.Write(body)
		bodyWriter.Close()
		o := <-answered
		return o.a, o.err
	}
}

// checkDatabase opens the file directly: the integrity check must pass,
// every acknowledged invitation must be there, and every invitation there
// must have its audit event (no write half applied).
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

// TestKill9DuringInviteLoad: SIGKILL under concurrent invitations loses no
// acknowledged invitation, and the database checks out and reopens.
func TestKill9DuringInviteLoad(t *testing.T) {
	for _, mode := range commitModes {
		t.Run(mode.name, func(t *testing.T) {
			env, l := startUnderLoad(t, mode.flags...)
			env.srv.Kill() // mid-load, with requests in flight
			<-l.ended
			for _, a := range l.bad {
				t.Errorf("answer before the kill: %d %s", a.Status, a.Body)
			}
			t.Logf("%d invitations acknowledged before kill -9", len(l.acked))
			checkDatabase(t, env.dbPath, env.fx.InviteOrg, l.acked)

			// The server starts again on the same file and serves what was acknowledged.
			env.start()
			last := l.acked[len(l.acked)-1]
			a := env.call("fetch_memberships_of_organization", map[string]any{"organization_id": env.fx.InviteOrg, "search": last, "limit": 1})
			if a.Status != http.StatusOK || !strings.Contains(a.Body, last) {
				t.Fatalf("after restart: %d %s", a.Status, a.Body)
			}
		})
	}
}

// TestSIGTERMDuringInviteLoad: a request in flight when SIGTERM arrives is
// answered, nothing is answered with an error, everything acknowledged is
// stored, and the process exits 0.
func TestSIGTERMDuringInviteLoad(t *testing.T) {
	for _, mode := range commitModes {
		t.Run(mode.name, func(t *testing.T) {
			env, l := startUnderLoad(t, mode.flags...)
			finishHeld := env.heldInvite()
			shuttingDown := env.srv.Logged("shutting down")
			if err := env.srv.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			select {
			case <-shuttingDown:
			case <-env.srv.Exited():
				t.Fatalf("exited without shutting down: %v\n%s", env.srv.Wait(), env.srv.Log())
			}
			held, err := finishHeld()
			if err != nil || held.Status != http.StatusOK {
				t.Fatalf("the request in flight at SIGTERM: %d %s %v", held.Status, held.Body, err)
			}
			select {
			case <-env.srv.Exited():
			case <-time.After(30 * time.Second):
				t.Fatalf("no exit 30 s after SIGTERM; log:\n%s", env.srv.Log())
			}
			if err := env.srv.Wait(); err != nil {
				t.Fatalf("exit after SIGTERM: %v\n%s", err, env.srv.Log())
			}
			<-l.ended
			if !strings.Contains(env.srv.Log(), "stopped") {
				t.Fatalf("no clean stop in the log:\n%s", env.srv.Log())
			}
			for _, a := range l.bad {
				t.Errorf("answer during shutdown: %d %s", a.Status, a.Body)
			}
			t.Logf("%d acknowledged under load, and the one held in flight", len(l.acked))
			checkDatabase(t, env.dbPath, env.fx.InviteOrg, append(l.acked, heldInvitee))
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
			org := env.fx.InviteOrg
			if a := env.invite(fixture.InviteeName(1)); a.Status != http.StatusOK {
				t.Fatalf("before the fault: %d %s", a.Status, a.Body)
			}
			files := []string{env.dbPath, env.dbPath + "-wal"}
			if err := makeImmutable(true, files...); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { makeImmutable(false, files...) })

			for i := 2; i <= 6; i++ {
				if a := env.invite(fixture.InviteeName(i)); a.Status != http.StatusServiceUnavailable || a.Code != "unavailable" {
					t.Fatalf("invite during the fault: %d %s", a.Status, a.Body)
				}
			}
			if a := env.call("create_organization", map[string]any{"organization_name": "Never"}); a.Status != http.StatusServiceUnavailable {
				t.Fatalf("create_organization during the fault: %d %s", a.Status, a.Body)
			}
			a := env.call("fetch_memberships_of_organization", map[string]any{"organization_id": org})
			if a.Status != http.StatusOK || !strings.Contains(a.Body, fixture.InviteeName(1)) || strings.Contains(a.Body, fixture.InviteeName(2)) {
				t.Fatalf("read during the fault: %d %s", a.Status, a.Body)
			}

			if err := makeImmutable(false, files...); err != nil {
				t.Fatal(err)
			}
			if a := env.invite(fixture.InviteeName(7)); a.Status != http.StatusOK {
				t.Fatalf("invite after the fault cleared: %d %s", a.Status, a.Body)
			}
			for line := range strings.Lines(env.srv.Log()) {
				if strings.Contains(line, "storage unavailable") {
					t.Logf("the server logged: %s", strings.TrimSpace(line))
					break
				}
			}
			if a := env.invite(fixture.InviteeName(2)); a.Status != http.StatusOK {
				t.Fatalf("invite of one refused during the fault: %d %s", a.Status, a.Body)
			}
			if err := env.srv.Stop(); err != nil {
				t.Fatalf("stop: %v\n%s", err, env.srv.Log())
			}
			checkDatabase(t, env.dbPath, org, []string{fixture.InviteeName(1), fixture.InviteeName(2), fixture.InviteeName(7)})
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
				raw.QueryRow(`SELECT count(*) FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.username = ?`, fixture.InviteeName(i)).Scan(&n)
				if n != 0 {
					t.Fatalf("%s was refused during the fault but is in the database", fixture.InviteeName(i))
				}
			}
		})
	}
}
