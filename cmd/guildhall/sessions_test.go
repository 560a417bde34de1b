package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"guildhall/cmd/internal/fixture"
)

func TestParseSessionKeys(t *testing.T) {
	long1, long2 := strings.Repeat("a", 32), strings.Repeat("b", 48)
	keys, err := parseSessionKeys(long1 + ", " + long2 + "\n")
	if err != nil || len(keys) != 2 || string(keys[0]) != long1 || string(keys[1]) != long2 {
		t.Fatalf("parseSessionKeys: %q %v", keys, err)
	}
	if _, err := parseSessionKeys(long1 + ",short"); err == nil || !strings.Contains(err.Error(), "at least 32") {
		t.Fatalf("a short key was accepted: %v", err)
	}
}

func TestPageFlags(t *testing.T) {
	cfg, err := parseServe([]string{"--secure-cookies", "--session-idle", "30m", "--session-max-age", "24h",
		"--trusted-proxy", "10.0.0.0/8", "--trusted-proxy", "192.0.2.7,2001:db8::/32"}, io.Discard)
	if err != nil || !cfg.secureCookies || cfg.sessionIdle != 30*time.Minute || cfg.sessionMaxAge != 24*time.Hour {
		t.Fatalf("flags: %+v %v", cfg, err)
	}
	if got := cfg.trustedProxies.String(); got != "10.0.0.0/8,192.0.2.7/32,2001:db8::/32" {
		t.Errorf("--trusted-proxy gave %s", got)
	}
	defaults, err := parseServe(nil, io.Discard)
	if err != nil || defaults.secureCookies || len(defaults.trustedProxies) != 0 {
		t.Fatalf("defaults: %+v %v", defaults, err)
	}
	for _, bad := range [][]string{{"--trusted-proxy", "not-a-cidr"}, {"--session-idle", "0s"}, {"--session-max-age", "-1h"}} {
		if _, err := parseServe(bad, io.Discard); err == nil {
			t.Errorf("%v was accepted", bad)
		}
	}
}

// signedInAs fetches the dashboard and reports whose it is ("" if signed out).
func signedInAs(t *testing.T, client *http.Client, base string) string {
	t.Helper()
	resp, err := client.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	doc, err := goquery.NewDocumentFromReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(doc.Find(`[data-testid="nav-user"]`).Text())
}

// TestSessionsSurviveRestart: the real server, stopped and started again
// on the same database, keeps people signed in: with the key it generated
// and stored (GUILDHALL_SESSION_KEYS unset), and with keys from the
// environment across a rotation (a new key put first, the old one kept to
// verify).
func TestSessionsSurviveRestart(t *testing.T) {
	oldKey, newKey := strings.Repeat("o", 40), strings.Repeat("n", 40)
	for _, c := range []struct{ name, keysBefore, keysAfter string }{
		{"keys kept in the database", "", ""},
		{"keys from the environment, rotated", oldKey, newKey + "," + oldKey},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "guildhall.db")
			if _, err := fixture.Seed(context.Background(), path, 0, nil); err != nil {
				t.Fatal(err)
			}
			t.Setenv(sessionKeysEnv, c.keysBefore)
			p := startServer(t, path)
			client, err := fixture.SignIn(context.Background(), &http.Client{Timeout: time.Minute}, p.URL, fixture.Owner, fixture.OwnerPassword)
			if err != nil {
				t.Fatal(err)
			}
			if got := signedInAs(t, client, p.URL); got != fixture.Owner {
				t.Fatalf("signed in as %q", got)
			}
			if err := p.Stop(); err != nil {
				t.Fatalf("the server did not stop cleanly: %v; log:\n%s", err, p.Log())
			}
			t.Setenv(sessionKeysEnv, c.keysAfter)
			again := startServer(t, path)
			if got := signedInAs(t, client, again.URL); got != fixture.Owner {
				t.Fatalf("after a restart, signed in as %q; server log:\n%s", got, again.Log())
			}
		})
	}
}
