package db_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"guildhall/db"
	"guildhall/handlers"
)

// TestLoginAnswersDuringSignupFlood reproduces the sign-up flood through
// the real router: while every hashing slot sign-ups may use is held (a
// flood of sign-ups for new names, all hashing), a correct password login
// still gets a slot and answers 200, and a sign-up for a taken name is
// refused with 409 without needing one. Only a sign-up that must hash waits,
// and it completes once the flood's hashes are done. A request that would
// wait where it must not fails at its deadline instead of hanging the test.
func TestLoginAnswersDuringSignupFlood(t *testing.T) {
	d, _, _ := MustOpenDBWith(t, db.Options{GroupCommit: true})
	MustCreateUser(t, d, "alice")
	h := handlers.New(d, handlers.Config{})
	call := func(ctx context.Context, function, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/api/"+function, strings.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	deadline := func() context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		t.Cleanup(cancel)
		return ctx
	}

	release := d.HoldNewPasswordHashing()
	if rec := call(deadline(), "login", `{"auth": {"username": "alice", "password": "password-alice"}}`); rec.Code != http.StatusOK {
		t.Fatalf("a correct login during the flood: %d %s", rec.Code, rec.Body)
	}
	if rec := call(deadline(), "add_user", `{"username": "alice", "password": "another password"}`); rec.Code != http.StatusConflict {
		t.Fatalf("a sign-up for a taken name during the flood: %d %s", rec.Code, rec.Body)
	}
	signedUp := make(chan *httptest.ResponseRecorder)
	go func() {
		signedUp <- call(context.Background(), "add_user", `{"username": "bob", "password": "password-bob"}`)
	}()
	release()
	if rec := <-signedUp; rec.Code != http.StatusOK {
		t.Fatalf("a new sign-up once the flood's hashes are done: %d %s", rec.Code, rec.Body)
	}
}
