package handlers_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestHealthAndReadiness: /healthz answers while the process runs;
// /readyz only while the database answers and is migrated. Neither reads
// the session cookie nor sets a cookie, nor needs a CSRF token.
func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	env := newPageEnv(t)
	probe := func(method, path string, want int, wantBody string) {
		t.Helper()
		req, _ := http.NewRequest(method, env.srv.URL+path, nil)
		req.Header.Set("Cookie", "guildhall_session=not-a-valid-session; guildhall_presession=nor-this")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if method == http.MethodHead {
			wantBody = ""
		}
		if resp.StatusCode != want || !strings.Contains(string(body), wantBody) || (wantBody == "") != (len(body) == 0) {
			t.Errorf("%s %s: %d %q, want %d %q", method, path, resp.StatusCode, body, want, wantBody)
		}
		if c := resp.Header.Values("Set-Cookie"); len(c) > 0 {
			t.Errorf("%s %s set cookies: %q", method, path, c)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s %s: Cache-Control %q", method, path, cc)
		}
	}
	both := func(path string, want int, wantBody string) {
		t.Helper()
		probe(http.MethodGet, path, want, wantBody)
		probe(http.MethodHead, path, want, wantBody)
	}
	both("/healthz", http.StatusOK, "ok\n")
	both("/readyz", http.StatusOK, "ok\n")

	// A database behind the binary's migrations (an old copy restored
	// under a running server, say) is not ready; the process is still alive.
	raw := openRaw(t, env.path)
	provider, err := raw.MigrationProvider()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provider.Down(context.Background()); err != nil {
		t.Fatal(err)
	}
	both("/readyz", http.StatusServiceUnavailable, "; this server needs ")
	both("/healthz", http.StatusOK, "ok\n")
	if _, err := provider.Up(context.Background()); err != nil {
		t.Fatal(err)
	}
	both("/readyz", http.StatusOK, "ok\n")

	// A database that does not answer.
	env.store.Close()
	both("/readyz", http.StatusServiceUnavailable, "The database is not answering.\n")
	both("/healthz", http.StatusOK, "ok\n")
}
