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
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"guildhall/db"
)

// binary is the guildhall command built once for the process tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "guildhall-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "guildhall")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building guildhall:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// serverProcess is a running `guildhall serve`.
type serverProcess struct {
	cmd  *exec.Cmd
	url  string
	logs *bytes.Buffer
	done chan error
}

// startServer runs the real binary on a free port with the database at
// path, and waits until it listens.
func startServer(t *testing.T, path string, args ...string) *serverProcess {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"serve", "--addr", "127.0.0.1:0", "--db", path}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &serverProcess{cmd: cmd, logs: &bytes.Buffer{}, done: make(chan error, 1)}
	cmd.Stderr = p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); <-p.done })
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() {
		cmd.Process.Kill()
		t.Fatalf("server printed no address; stderr: %s", p.logs)
	}
	first := lines.Text()
	go func() {
		io.Copy(io.Discard, stdout)
		p.done <- cmd.Wait()
	}()
	const prefix = "guildhall listening on "
	if !strings.HasPrefix(first, prefix) {
		t.Fatalf("unexpected first line %q", first)
	}
	p.url = strings.Fields(strings.TrimPrefix(first, prefix))[0]
	return p
}

// call posts a JSON body to /api/fn and returns the status and decoded envelope.
func (p *serverProcess) call(client *http.Client, fn string, body map[string]any) (int, map[string]any, error) {
	b, _ := json.Marshal(body)
	resp, err := client.Post(p.url+"/api/"+fn, "application/json", bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return resp.StatusCode, nil, err
	}
	return resp.StatusCode, out, nil
}

func (p *serverProcess) mustCall(t *testing.T, fn string, body map[string]any) map[string]any {
	t.Helper()
	status, out, err := p.call(http.DefaultClient, fn, body)
	if err != nil || status != 200 {
		t.Fatalf("%s: %d %v %v; server log: %s", fn, status, out, err, p.logs)
	}
	return out
}

// TestKill9KeepsAcknowledgedInvites kills the server with SIGKILL while
// invitations are in flight; after a restart every invitation that was
// acknowledged with a 200 is there, and the database passes its integrity check.
func TestKill9KeepsAcknowledgedInvites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "guildhall.db")
	const invitees = 120
	// The owner is created from the shell, as an operator would; the
	// invitees sign up through the API.
	cmd := exec.Command(binary, "user", "add", "alice", "--db", path)
	cmd.Stdin = strings.NewReader("password-alice\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("user add alice: %v: %s", err, out)
	}
	p := startServer(t, path, "--signup-rate", "0") // 120 sign-ups from one address
	for i := 1; i <= invitees; i++ {
		p.mustCall(t, "add_user", map[string]any{"username": fmt.Sprintf("user%d", i), "password": "password-user"})
	}
	key := p.mustCall(t, "create_api_key", map[string]any{"auth": map[string]any{"username": "alice", "password": "password-alice"}})["result"].(map[string]any)["api_key"].(string)
	org := p.mustCall(t, "create_organization", map[string]any{"auth": map[string]any{"api_key": key}, "organization_name": "Acme"})["result"].(map[string]any)["organization_id"]

	var mu sync.Mutex
	var acked []string
	next := make(chan int, invitees)
	for i := 1; i <= invitees; i++ {
		next <- i
	}
	close(next)
	client := &http.Client{Timeout: 5 * time.Second}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range next {
				name := fmt.Sprintf("user%d", i)
				status, _, err := p.call(client, "invite_user_to_organization",
					map[string]any{"auth": map[string]any{"api_key": key}, "organization_id": org, "username_to_invite": name})
				if err == nil && status == 200 {
					mu.Lock()
					acked = append(acked, name)
					n := len(acked)
					mu.Unlock()
					if n == invitees/2 {
						p.cmd.Process.Signal(syscall.SIGKILL) // mid-load, with requests in flight
					}
				}
			}
		})
	}
	wg.Wait()
	<-p.done
	p.done <- nil // for the cleanup's wait
	if len(acked) < invitees/2 {
		t.Fatalf("only %d invitations acknowledged before the kill", len(acked))
	}

	raw, err := sql.Open("sqlite", db.DSN(path))
	if err != nil {
		t.Fatal(err)
	}
	var integrity string
	if err := raw.QueryRow(`PRAGMA integrity_check`).Scan(&integrity); err != nil || integrity != "ok" {
		t.Fatalf("integrity_check: %q %v", integrity, err)
	}
	raw.Close()

	p2 := startServer(t, path)
	out := p2.mustCall(t, "fetch_memberships_of_organization", map[string]any{"auth": map[string]any{"api_key": key}, "organization_id": org})
	present := map[string]bool{}
	for _, m := range out["result"].(map[string]any)["memberships"].([]any) {
		present[m.(map[string]any)["username"].(string)] = true
	}
	for _, name := range acked {
		if !present[name] {
			t.Errorf("acknowledged invitation of %s lost after kill -9", name)
		}
	}
	t.Logf("%d invitations acknowledged before SIGKILL, all present after restart (%d rows)", len(acked), len(present))
}

// TestUserAdd creates a user from the shell and checks they can log in.
func TestUserAdd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "guildhall.db")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"user", "add", "dave", "--db", path}, strings.NewReader("a good password\n"), &stdout, &stderr)
	if err != nil || !strings.Contains(stdout.String(), "created user dave") {
		t.Fatalf("user add: %v %s %s", err, stdout.String(), stderr.String())
	}
	err = run(context.Background(), []string{"user", "add", "dave", "--db", path}, strings.NewReader("a good password\n"), &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), `The username "dave" is taken.`) {
		t.Fatalf("adding dave twice: %v", err)
	}
	err = run(context.Background(), []string{"user", "add", "erin", "--db", path}, strings.NewReader("short\n"), &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "Password must be 8 to 256 characters") {
		t.Fatalf("short password: %v", err)
	}
	p := startServer(t, path)
	out := p.mustCall(t, "login", map[string]any{"auth": map[string]any{"username": "dave", "password": "a good password"}})
	if out["result"].(map[string]any)["username"] != "dave" {
		t.Fatalf("login: %v", out)
	}
}

// TestSignupClosed: --signup=false refuses add_user with a clear 403.
func TestSignupClosed(t *testing.T) {
	p := startServer(t, filepath.Join(t.TempDir(), "guildhall.db"), "--signup=false")
	status, out, err := p.call(http.DefaultClient, "add_user", map[string]any{"username": "eve", "password": "password-eve"})
	if err != nil || status != 403 || out["code"] != "forbidden" || !strings.Contains(out["error"].(string), "Sign-up is closed") {
		t.Fatalf("add_user with sign-up closed: %d %v %v", status, out, err)
	}
}

// TestServeFlags: environment variables and flags, flags winning.
func TestServeFlags(t *testing.T) {
	t.Setenv("GUILDHALL_ADDR", "127.0.0.1:9999")
	t.Setenv("GUILDHALL_DB", "/tmp/from-env.db")
	cfg, err := parseServe(nil, io.Discard)
	if err != nil || cfg.addr != "127.0.0.1:9999" || cfg.dbPath != "/tmp/from-env.db" || !cfg.signup || cfg.inviteTTL != 7*24*time.Hour || !cfg.groupCommit {
		t.Fatalf("from env: %+v %v", cfg, err)
	}
	cfg, err = parseServe([]string{"--addr", ":1", "--db", "x.db", "--signup=false", "--invite-ttl", "1h"}, io.Discard)
	if err != nil || cfg.addr != ":1" || cfg.dbPath != "x.db" || cfg.signup || cfg.inviteTTL != time.Hour {
		t.Fatalf("from flags: %+v %v", cfg, err)
	}
	if _, err := parseServe([]string{"--invite-ttl", "-1h"}, io.Discard); err == nil {
		t.Fatal("a negative --invite-ttl was accepted")
	}
	cfg, err = parseServe(nil, io.Discard)
	if err != nil || cfg.maxPendingInvitesPerUser != db.DefaultMaxPendingInvitesPerUser || cfg.orgRate != db.DefaultOrganizationRate || cfg.signupRate != db.DefaultSignupRate {
		t.Fatalf("abuse limits by default: %+v %v", cfg, err)
	}
	cfg, err = parseServe([]string{"--max-pending-invites-per-user", "5", "--org-rate", "0", "--signup-rate", "3"}, io.Discard)
	if err != nil || cfg.maxPendingInvitesPerUser != 5 || cfg.orgRate != 0 || cfg.signupRate != 3 {
		t.Fatalf("abuse limits from flags: %+v %v", cfg, err)
	}
	for _, name := range []string{"--max-pending-invites-per-user", "--org-rate", "--signup-rate"} {
		if _, err := parseServe([]string{name, "-1"}, io.Discard); err == nil {
			t.Errorf("a negative %s was accepted", name)
		}
	}
	var usage strings.Builder
	if _, err := parseServe([]string{"-h"}, &usage); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	for _, want := range []string{"-signup-rate", "-org-rate", "-max-pending-invites-per-user", "256 characters (at most 1024 bytes)", "1 to 64 of [A-Za-z0-9._-]", "100000 usernames and addresses"} {
		if !strings.Contains(usage.String(), want) {
			t.Errorf("serve -h does not say %q", want)
		}
	}
}
