package db_test

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"guildhall"
	"guildhall/db"
)

func TestSessionsLifecycle(t *testing.T) {
	d, clk := MustOpenDB(t)
	ctx := context.Background()
	alice := MustCreateUser(t, d, "alice")
	const idle, absolute = time.Hour, 24 * time.Hour

	s, err := d.CreateSession(ctx, "id-one", alice.UserID, []byte("flash"), idle, absolute)
	if err != nil {
		t.Fatal(err)
	}
	if s.Username != "alice" || !s.Expires.Equal(clk.Now().Add(absolute)) {
		t.Fatalf("created %+v", s)
	}
	got, err := d.Session(ctx, "id-one", idle)
	if err != nil || got.UserID != alice.UserID || string(got.Data) != "flash" || got.Actor().Username != "alice" {
		t.Fatalf("Session: %+v, %v", got, err)
	}
	if _, err := d.Session(ctx, "id-two", idle); guildhall.ErrorCode(err) != guildhall.EUNAUTHORIZED {
		t.Fatalf("unknown id: %v", err)
	}
	if err := d.UpdateSessionData(ctx, "id-one", []byte("other")); err != nil {
		t.Fatal(err)
	}
	// Use within the idle timeout keeps it alive, up to the absolute expiry.
	for range 23 { // 23 × 59 minutes: just under the absolute timeout
		clk.Advance(idle - time.Minute)
		if _, err := d.Session(ctx, "id-one", idle); err != nil {
			t.Fatalf("an active session ended early at %v: %v", clk.Now(), err)
		}
	}
	clk.Advance(absolute)
	if _, err := d.Session(ctx, "id-one", idle); guildhall.ErrorCode(err) != guildhall.EUNAUTHORIZED {
		t.Fatalf("after the absolute expiry: %v", err)
	}
	// Idle.
	if _, err := d.CreateSession(ctx, "id-three", alice.UserID, nil, idle, absolute); err != nil {
		t.Fatal(err)
	}
	clk.Advance(idle)
	if _, err := d.Session(ctx, "id-three", idle); guildhall.ErrorCode(err) != guildhall.EUNAUTHORIZED {
		t.Fatalf("after the idle timeout: %v", err)
	}
	// Delete.
	if _, err := d.CreateSession(ctx, "id-four", alice.UserID, nil, idle, absolute); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteSession(ctx, "id-four"); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteSession(ctx, "id-four"); err != nil {
		t.Fatalf("deleting twice: %v", err)
	}
	if _, err := d.Session(ctx, "id-four", idle); guildhall.ErrorCode(err) != guildhall.EUNAUTHORIZED {
		t.Fatalf("after delete: %v", err)
	}
	if _, err := d.CreateSession(ctx, "id-five", 999, nil, idle, absolute); guildhall.ErrorCode(err) != guildhall.ENOTFOUND {
		t.Fatalf("session for a missing user: %v", err)
	}
}

func TestSessionIDsAreStoredHashed(t *testing.T) {
	d, _, path := MustOpenDBWith(t, db.Options{})
	alice := MustCreateUser(t, d, "alice")
	if _, err := d.CreateSession(context.Background(), "the-secret-id", alice.UserID, nil, time.Hour, time.Hour); err != nil {
		t.Fatal(err)
	}
	var stored []byte
	if err := queryRow(t, path, `SELECT id_hash FROM sessions`, &stored); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("the-secret-id"))
	if string(stored) != string(sum[:]) {
		t.Fatalf("stored %x, want the SHA-256 of the id", stored)
	}
}

func TestSessionKeysAreKept(t *testing.T) {
	ctx := context.Background()
	d, _, path := MustOpenDBWith(t, db.Options{})
	first, err := d.SessionKeys(ctx)
	if err != nil || len(first) != 1 || len(first[0]) < 32 {
		t.Fatalf("SessionKeys: %d keys, %v", len(first), err)
	}
	d.Close()
	d = MustOpenDBFile(t, path, db.Options{})
	again, err := d.SessionKeys(ctx)
	if err != nil || len(again) != 1 || string(again[0]) != string(first[0]) {
		t.Fatal("the generated key did not survive a reopen")
	}
}
