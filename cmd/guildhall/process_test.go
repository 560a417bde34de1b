package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"guildhall/cmd/internal/fixture"
	"guildhall/cmd/internal/serverproc"
	"guildhall/db"
)

// asCommandEnv makes the test binary run as the guildhall command instead
// of running tests: the process tests start it as their server, so the
// server is the code under test built with the test's own flags (the race
// detector included) and nothing is compiled twice.
const asCommandEnv = "GUILDHALL_TEST_AS_COMMAND"

func TestMain(m *testing.M) {
	if os.Getenv(asCommandEnv) != "" {
		serveHandler = holdMarkedAnswers
		main() // exits with 1 on an error
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startServer runs `guildhall serve` on a free port with the database at
// path and the extra flags, and returns once it listens. The test's end
// kills it if it is still running.
func startServer(t *testing.T, path string, flags ...string) *serverproc.Process {
	t.Helper()
	self, args, env := serveCommand(t, path, flags...)
	p, err := serverproc.Start(context.Background(), self, args, env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	return p
}

// serveCommand is the command line and the environment (beyond this
// process's) of `guildhall serve` on a free port with the database at path
// and the extra flags: this test binary, run as the command.
func serveCommand(t *testing.T, path string, flags ...string) (self string, args, env []string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args = append([]string{"serve", "--addr", "127.0.0.1:0", "--db", path}, flags...)
	// Under -race, a process sleeps a second as it exits, for late race
	// reports from goroutines still running; a server exits only after
	// its shutdown has ended them, and the tests stop a server six times.
	race := "GORACE=" + strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0")
	return self, args, []string{asCommandEnv + "=1", race}
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
	a, err := fixture.Call(context.Background(), http.DefaultClient, p.URL, "login", map[string]any{"auth": map[string]any{"username": "dave", "password": "a good password"}})
	var user struct {
		Username string `json:"username"`
	}
	if err != nil || !a.Success || json.Unmarshal(a.Result, &user) != nil || user.Username != "dave" {
		t.Fatalf("login: %d %s %v", a.Status, a.Body, err)
	}
}

// TestSignupClosed: --signup=false refuses add_user with a clear 403.
func TestSignupClosed(t *testing.T) {
	p := startServer(t, filepath.Join(t.TempDir(), "guildhall.db"), "--signup=false")
	a, err := fixture.Call(context.Background(), http.DefaultClient, p.URL, "add_user", map[string]any{"username": "eve", "password": "password-eve"})
	if err != nil || a.Status != 403 || a.Code != "forbidden" || !strings.Contains(a.Error, "Sign-up is closed") {
		t.Fatalf("add_user with sign-up closed: %d %s %v", a.Status, a.Body, err)
	}
}

// TestServeFlags: environment variables and flags, flags winning.
func TestServeFlags(t *testing.T) {
	t.Setenv("GUILDHALL_ADDR", "127.0.0.1:9999")
	t.Setenv("GUILDHALL_DB", "/tmp/from-env.db")
	cfg, err := parseServe(nil, io.Discard)
	if err != nil || cfg.addr != "127.0.0.1:9999" || cfg.dbPath != "/tmp/from-env.db" || !cfg.signup || cfg.inviteTTL != 7*24*time.Hour || cfg.tokenTTL != 7*24*time.Hour || !cfg.groupCommit {
		t.Fatalf("from env: %+v %v", cfg, err)
	}
	cfg, err = parseServe([]string{"--addr", ":1", "--db", "x.db", "--signup=false", "--invite-ttl", "1h", "--token-ttl", "2h"}, io.Discard)
	if err != nil || cfg.addr != ":1" || cfg.dbPath != "x.db" || cfg.signup || cfg.inviteTTL != time.Hour || cfg.tokenTTL != 2*time.Hour {
		t.Fatalf("from flags: %+v %v", cfg, err)
	}
	for _, flag := range []string{"--invite-ttl", "--token-ttl"} {
		if _, err := parseServe([]string{flag, "-1h"}, io.Discard); err == nil {
			t.Fatalf("a negative %s was accepted", flag)
		}
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
