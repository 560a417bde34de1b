package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pressly/goose/v3"

	"guildhall"
	"guildhall/db"
	"guildhall/db/migrations"
)

// TestBackupWhileServing copies the database of a running server while
// clients invite as fast as they can, then restores the copy: it passes
// SQLite's integrity check, has every migration, holds every invitation
// acknowledged before the copy began (each with its audit event: no write
// half copied), and the service reads it.
func TestBackupWhileServing(t *testing.T) {
	env, l := startUnderLoad(t)
	l.mu.Lock()
	ackedBefore := append([]string(nil), l.acked...)
	l.mu.Unlock()
	select {
	case <-l.ended:
		t.Fatal("the load ended before the backup began")
	default:
	}
	dest := filepath.Join(t.TempDir(), "backup.db")
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"backup", dest, "--db", env.dbPath}, nil, &stdout, &stderr); err != nil {
		t.Fatalf("backup: %v\n%s", err, stderr.String())
	}
	l.mu.Lock()
	t.Logf("%d invitations acknowledged before the backup, %d when it had ended", len(ackedBefore), len(l.acked))
	l.mu.Unlock()
	env.srv.Kill() // the copy is made: the load need not run on to its last invitee
	<-l.ended
	if !strings.Contains(stdout.String(), "backed up "+env.dbPath+" to "+dest) {
		t.Errorf("backup said %q", stdout.String())
	}

	raw, err := sql.Open("sqlite", "file:"+dest+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	provider, err := goose.NewProvider(goose.DialectSQLite3, raw, migrations.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	if current, target, err := provider.GetVersions(context.Background()); err != nil || current != target {
		t.Fatalf("the copy is at migration %d of %d (%v)", current, target, err)
	}
	raw.Close()
	checkDatabase(t, dest, env.fx.InviteOrg, ackedBefore)

	restored, err := db.Open(context.Background(), dest, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close()
	owner, err := restored.Authenticate(context.Background(), guildhall.Credentials{APIKey: env.fx.APIKey})
	if err != nil {
		t.Fatalf("the owner's API key in the copy: %v", err)
	}
	members, err := restored.FetchOrganizationMembers(context.Background(), owner, env.fx.InviteOrg)
	if err != nil || len(members) < len(ackedBefore)+1 {
		t.Fatalf("the copy's organization has %d members and invitations (%v), want at least %d", len(members), err, len(ackedBefore)+1)
	}
}

// TestBackupCommand: what `guildhall backup` says when it cannot or must not copy.
func TestBackupCommand(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "guildhall.db")
	store, err := db.Open(context.Background(), path, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	store.Close()
	dest := filepath.Join(dir, "copy.db")
	backup := func(args ...string) (string, error) {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), append([]string{"backup"}, args...), nil, &stdout, &stderr)
		return stdout.String() + stderr.String(), err
	}
	if _, err := backup("--db", path, dest); err != nil {
		t.Fatal(err)
	}
	if _, err := backup(dest, "--db", path); err == nil || err.Error() != dest+" already exists; pass --force to replace it" {
		t.Fatalf("a second backup to %s: %v", dest, err)
	}
	if _, err := backup(dest, "--force", "--db", path); err != nil {
		t.Fatalf("--force: %v", err)
	}
	if out, err := backup("--db", path); err == nil || !strings.Contains(out, "Usage: guildhall backup FILE") {
		t.Fatalf("no FILE: %v %q", err, out)
	}
	for _, url := range []string{"postgres://guildhall:s3cret@db.internal/guildhall", "postgresql://guildhall:s3cret@db.internal/guildhall"} {
		t.Setenv("GUILDHALL_DB", url)
		_, err := backup(filepath.Join(dir, "pg.db"))
		if err == nil || !strings.Contains(err.Error(), "pg_dump") || strings.Contains(err.Error(), "s3cret") {
			t.Fatalf("backup of %s: %v", url, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "pg.db")); !os.IsNotExist(err) {
		t.Fatal("a refused backup wrote a file")
	}
}

// TestMetricsAddrAndJSONLog runs `guildhall serve --metrics-addr
// --pprof-addr --log-format json`: /metrics moves to its own listener,
// which serves nothing else, the profiler is on a listener of its own and
// nowhere else, and every request is one JSON log line.
func TestMetricsAddrAndJSONLog(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, stdout := io.Pipe()
	var stderr bytes.Buffer // read once serve has returned
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--pprof-addr", "127.0.0.1:0", "--log-format", "json",
			"--db", filepath.Join(t.TempDir(), "guildhall.db")}, nil, stdout, &stderr)
		stdout.Close()
	}()
	var main, metrics, profiler string
	lines := bufio.NewScanner(out)
	for (main == "" || metrics == "" || profiler == "") && lines.Scan() {
		if _, rest, ok := strings.Cut(lines.Text(), "listening on "); ok {
			main = strings.Fields(rest)[0]
		}
		if _, rest, ok := strings.Cut(lines.Text(), "metrics on "); ok {
			metrics = strings.Fields(rest)[0]
		}
		if _, rest, ok := strings.Cut(lines.Text(), "profiler on "); ok {
			profiler = strings.Fields(rest)[0]
		}
	}
	go io.Copy(io.Discard, out)
	if main == "" || metrics == "" || profiler == "" || !strings.HasSuffix(metrics, "/metrics") {
		cancel()
		t.Fatalf("serve printed no addresses (%v): %s", <-done, stderr.String())
	}
	get := func(url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if status, _ := get(main + "/api/ping"); status != http.StatusOK {
		t.Fatalf("ping: %d", status)
	}
	if status, _ := get(main + "/metrics"); status != http.StatusNotFound {
		t.Errorf("/metrics on --addr: %d, want 404", status)
	}
	if status, _ := get(strings.TrimSuffix(metrics, "/metrics") + "/healthz"); status != http.StatusNotFound {
		t.Errorf("/healthz on --metrics-addr: %d, want 404", status)
	}
	if status, body := get(profiler + "goroutine?debug=1"); status != http.StatusOK || !strings.Contains(body, "goroutine profile") {
		t.Errorf("the profiler: %d %.80s", status, body)
	}
	if status, _ := get(main + "/debug/pprof/"); status != http.StatusNotFound {
		t.Errorf("/debug/pprof/ on --addr: %d, want 404", status)
	}
	status, body := get(metrics)
	if status != http.StatusOK || !strings.Contains(body, `guildhall_http_requests_total{method="GET",route="/api/ping",status="200"} 1`) {
		t.Fatalf("metrics: %d %s", status, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}

	requests := 0
	sc := bufio.NewScanner(&stderr)
	for sc.Scan() {
		var line struct {
			Msg    string `json:"msg"`
			Route  string `json:"route"`
			Status int    `json:"status"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("not a JSON line: %q", sc.Text())
		}
		if line.Msg == "request" {
			requests++
		}
	}
	if requests != 3 { // /api/ping, the refused /metrics and /debug/pprof/; the other listeners log nothing
		t.Errorf("%d request lines, want 3:\n%s", requests, stderr.String())
	}
}

// TestOperateFlags: --log-format takes text or json; --metrics-addr and
// --pprof-addr are off by default.
func TestOperateFlags(t *testing.T) {
	cfg, err := parseServe(nil, io.Discard)
	if err != nil || cfg.logFormat != "text" || cfg.metricsAddr != "" || cfg.pprofAddr != "" {
		t.Fatalf("defaults: %+v %v", cfg, err)
	}
	cfg, err = parseServe([]string{"--log-format", "json", "--metrics-addr", "127.0.0.1:9090"}, io.Discard)
	if err != nil || cfg.logFormat != "json" || cfg.metricsAddr != "127.0.0.1:9090" {
		t.Fatalf("from flags: %+v %v", cfg, err)
	}
	if _, err := parseServe([]string{"--log-format", "xml"}, io.Discard); err == nil || !strings.Contains(err.Error(), "text or json") {
		t.Fatalf("--log-format xml: %v", err)
	}
}
