package handlers

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"guildhall/db"
)

// TestTemplateFailureIsALogged500: a component that fails after writing
// half a page gives the error page with a 500 and a log line carrying the
// request id; not a 200 with half a page, which handleError could no
// longer replace.
func TestTemplateFailureIsALogged500(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	s := newServerWithPages(t, &logs)
	failing := templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		io.WriteString(w, "<p>half a page")
		return errors.New("the template broke")
	})
	s.echo.Match([]string{http.MethodGet, http.MethodHead}, "/failing",
		func(c echo.Context) error { return render(c, http.StatusOK, failing) }, pageHeaders, s.withSession)

	for _, method := range []string{http.MethodGet, http.MethodHead} {
		logs.Reset()
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(method, "/failing", nil))
		if rec.Code != http.StatusInternalServerError {
			t.Fatalf("%s: status %d, want 500", method, rec.Code)
		}
		if strings.Contains(rec.Body.String(), "half a page") {
			t.Fatalf("%s: the half-rendered page was sent: %s", method, rec.Body)
		}
		id := rec.Header().Get(echo.HeaderXRequestID)
		if id == "" || !strings.Contains(logs.String(), id) || !strings.Contains(logs.String(), "the template broke") {
			t.Fatalf("%s: the log does not carry the failure with request id %q: %s", method, id, logs.String())
		}
		if method == http.MethodGet && (!strings.HasPrefix(rec.Header().Get(echo.HeaderContentType), "text/html") ||
			!strings.Contains(rec.Body.String(), "Internal error.")) {
			t.Fatalf("GET: not the error page: %q %s", rec.Header().Get(echo.HeaderContentType), rec.Body)
		}
	}
}

// newServerWithPages is a Server with its pages and /metrics, over a fresh
// database with cheap password hashes, logging to logs.
func newServerWithPages(t *testing.T, logs io.Writer) *Server {
	t.Helper()
	opts := db.DefaultOptions()
	opts.Argon2 = db.Argon2Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}
	store, err := db.Open(t.Context(), filepath.Join(t.TempDir(), "guildhall.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return New(store, Config{Logger: slog.New(slog.NewTextHandler(logs, nil)), Sessions: store,
		SessionKeys: [][]byte{bytes.Repeat([]byte("k"), SessionKeyMinBytes)}, Metrics: NewMetrics()})
}
