package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
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

// signInThroughPage signs in with the login form and returns the browser's client.
func signInThroughPage(t *testing.T, base, user, password string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token on the login page: %s", body)
	}
	resp, err = client.PostForm(base+"/login", url.Values{"csrf_token": {string(m[1])}, "username": {user}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	return client
}

// signedInAs fetches the dashboard and reports whose it is ("" if signed out).
func signedInAs(t *testing.T, client *http.Client, base string) string {
	t.Helper()
	resp, err := client.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if m := regexp.MustCompile(`data-testid="nav-user">([^<]+)<`).FindSubmatch(body); m != nil {
		return string(m[1])
	}
	return ""
}

// TestSessionsSurviveRestart: the real binary, restarted on the same
// database, keeps people signed in, with the key it generated and stored
// (GUILDHALL_SESSION_KEYS unset) and with keys from the environment.
func TestSessionsSurviveRestart(t *testing.T) {
	for _, envKeys := range []string{"", strings.Repeat("k", 40) + "," + strings.Repeat("o", 40)} {
		t.Run("keys from env="+map[bool]string{true: "yes", false: "no"}[envKeys != ""], func(t *testing.T) {
			t.Setenv("GUILDHALL_SESSION_KEYS", envKeys)
			path := filepath.Join(t.TempDir(), "guildhall.db")
			p := startServer(t, path)
			p.mustCall(t, "add_user", map[string]any{"username": "dave", "password": "a good password"})
			client := signInThroughPage(t, p.url, "dave", "a good password")
			if got := signedInAs(t, client, p.url); got != "dave" {
				t.Fatalf("signed in as %q", got)
			}
			p.cmd.Process.Signal(syscall.SIGTERM)
			exit := <-p.done
			p.done <- exit // for the cleanup, which waits on it too
			if exit != nil {
				t.Fatalf("the server did not stop cleanly: %v; log: %s", exit, p.logs)
			}
			again := startServer(t, path)
			if got := signedInAs(t, client, again.url); got != "dave" {
				t.Fatalf("after a restart, signed in as %q; server log: %s", got, again.logs)
			}
		})
	}
}
