package handlers_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"guildhall/handlers"
)

// TestRequestIDFromClient: a client's X-Request-Id is kept when it is 1 to
// 64 of [A-Za-z0-9._-], and otherwise replaced by a fresh one; either way
// the answer and the log line of the failure carry the same id, and a
// refused one appears in neither.
func TestRequestIDFromClient(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	var logs bytes.Buffer
	srv := checked(t, handlers.New(failingService{w.env.store}, handlers.Config{Logger: slogTo(&logs)}))
	fresh := regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	for _, c := range []struct {
		name, sent string
		kept       bool
	}{
		{"a proxy's id", "req-2026.11.25_0042", true},
		{"64 characters", strings.Repeat("a", handlers.RequestIDMaxLen), true},
		{"none", "", false},
		{"65 characters", strings.Repeat("a", handlers.RequestIDMaxLen+1), false},
		{"60,000 characters with tabs", strings.Repeat("x\t", 30_000), false},
		{"a forged log line", "abc\nlevel=ERROR msg=\"forged\"", false},
		{"a space", "abc def", false},
		{"a quote", `abc"def`, false},
		{"non-ASCII", "идентификатор", false},
	} {
		logs.Reset()
		req := httptest.NewRequest(http.MethodPost, "/api/fetch_memberships", strings.NewReader(fmt.Sprintf(`{"auth":{"api_key":%q}}`, w.key)))
		if c.sent != "" {
			req.Header["X-Request-Id"] = []string{c.sent}
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		got := rec.Header().Get("X-Request-Id")
		if rec.Code != http.StatusInternalServerError {
			t.Fatalf("%s: status %d", c.name, rec.Code)
		}
		switch {
		case c.kept && got != c.sent:
			t.Errorf("%s: answered id %q, want the client's", c.name, got)
		case !c.kept && (got == c.sent || !fresh.MatchString(got)):
			t.Errorf("%s: answered id %.80q, want a fresh one", c.name, got)
		}
		if !strings.Contains(logs.String(), "request_id="+got+" ") {
			t.Errorf("%s: the log line does not carry the answered id %q: %.300s", c.name, got, logs.String())
		}
		if !c.kept && c.sent != "" && strings.Contains(logs.String(), c.sent) {
			t.Errorf("%s: the refused id reached the log", c.name)
		}
	}
}
