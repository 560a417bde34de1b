package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"guildhall/cmd/internal/fixture"
	"guildhall/db"
)

// holdAnswerHeader marks a request whose answer the test server holds back.
const holdAnswerHeader = "X-Test-Hold-Answer"

// holdMarkedAnswers is the test server's handler wrapper (serveHandler):
// a request marked with holdAnswerHeader is served to the end, its write
// committed and its answer made, then the answer is logged instead of
// sent and the request hangs until the process is killed. Other requests
// pass through.
func holdMarkedAnswers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(holdAnswerHeader) == "" {
			h.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		fmt.Fprintf(os.Stderr, "answer held back: %d %s", rec.Code, rec.Body)
		<-r.Context().Done() // until the kill ends the connection with the process
	})
}

// TestIdempotentRetryAfterKill9: the server commits a keyed write and is
// killed (SIGKILL) before it sends the answer; after a restart, the
// retry with the same key gets that answer, replayed, and the write was
// made once.
func TestIdempotentRetryAfterKill9(t *testing.T) {
	path := filepath.Join(t.TempDir(), "guildhall.db")
	if _, err := fixture.Seed(context.Background(), path, 0, nil); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, path)
	client := &http.Client{Timeout: time.Minute}
	fx, err := fixture.Setup(context.Background(), client, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"auth": map[string]string{"api_key": fx.APIKey}, "organization_name": "Kill9"})
	send := func(baseURL string, hold bool) (*http.Response, []byte, error) {
		req, _ := fixture.NewRequest(context.Background(), baseURL, "create_organization", body)
		req.Header.Set("Idempotency-Key", "kill-9-retry")
		if hold {
			req.Header.Set(holdAnswerHeader, "1")
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp, b, err
	}

	held := srv.Logged("answer held back: 200 ")
	lost := make(chan error, 1)
	go func() {
		_, _, err := send(srv.URL, true)
		lost <- err
	}()
	select {
	case <-held:
	case <-srv.Exited():
		t.Fatalf("the server exited: %v\n%s", srv.Wait(), srv.Log())
	}
	srv.Kill()
	if err := <-lost; err == nil {
		t.Fatal("the held answer reached the client")
	}
	var heldAnswer []byte
	if _, after, ok := bytes.Cut([]byte(srv.Log()), []byte("answer held back: 200 ")); ok {
		heldAnswer, _, _ = bytes.Cut(after, []byte("\n"))
	}

	srv = startServer(t, path)
	resp, answer, err := send(srv.URL, false)
	if err != nil || resp.StatusCode != http.StatusOK || resp.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("the retry after restart: %v %v %s", err, resp, answer)
	}
	if !bytes.Equal(bytes.TrimSpace(answer), bytes.TrimSpace(heldAnswer)) {
		t.Fatalf("the retry got %s, the held answer was %s", answer, heldAnswer)
	}
	raw, err := sql.Open("sqlite", db.DSN(path))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var n int
	if err := raw.QueryRow(`SELECT count(*) FROM organizations WHERE name = 'Kill9'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d organizations named Kill9, want 1: %v", n, err)
	}
}
