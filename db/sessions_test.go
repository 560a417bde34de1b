package db_test

import (
	"context"
	"crypto/sha256"
	"strings"
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

	s, err := d.CreateSession(ctx, "id-one", alice, []byte("flash"), idle, absolute)
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
	if _, err := d.CreateSession(ctx, "id-three", alice, nil, idle, absolute); err != nil {
		t.Fatal(err)
	}
	clk.Advance(idle)
	if _, err := d.Session(ctx, "id-three", idle); guildhall.ErrorCode(err) != guildhall.EUNAUTHORIZED {
		t.Fatalf("after the idle timeout: %v", err)
	}
	// Delete.
	if _, err := d.CreateSession(ctx, "id-four", alice, nil, idle, absolute); err != nil {
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
	if _, err := d.CreateSession(ctx, "id-five", guildhall.Actor{UserID: 999}, nil, idle, absolute); guildhall.ErrorCode(err) != guildhall.ENOTFOUND {
		t.Fatalf("session for a missing user: %v", err)
	}
}

func TestSessionIDsAreStoredHashed(t *testing.T) {
	d, _, path := MustOpenDBWith(t, db.Options{})
	alice := MustCreateUser(t, d, "alice")
	if _, err := d.CreateSession(context.Background(), "the-secret-id", alice, nil, time.Hour, time.Hour); err != nil {
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

// TestListAndEndSessions: a user sees their own live sessions by handle
// (never the cookie's id) and ends one; nobody else's.
func TestListAndEndSessions(t *testing.T) {
	d, clk := MustOpenDB(t)
	ctx := context.Background()
	alice, bob := MustCreateUser(t, d, "alice"), MustCreateUser(t, d, "bob")
	const idle, absolute = time.Hour, 24 * time.Hour
	for _, s := range []struct {
		id   string
		user int64
	}{{"alice-laptop", alice.UserID}, {"alice-phone", alice.UserID}, {"bob-laptop", bob.UserID}} {
		if _, err := d.CreateSession(ctx, s.id, guildhall.Actor{UserID: s.user}, nil, idle, absolute); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Minute)
	}
	current, err := d.Session(ctx, "alice-laptop", idle) // used last: listed first
	if err != nil {
		t.Fatal(err)
	}
	list, err := d.ListSessions(ctx, alice, idle)
	if err != nil || len(list) != 2 || list[0].Handle != current.Handle {
		t.Fatalf("alice's sessions: %+v %v; want 2, the current first", list, err)
	}
	for _, s := range list {
		if len(s.Handle) != 64 || strings.Contains(s.Handle, "alice") {
			t.Errorf("handle %q is not the hex of a hash", s.Handle)
		}
	}
	// Bob cannot end alice's session; an API key cannot list or end any.
	wantCode(t, d.EndSession(ctx, bob, list[1].Handle), guildhall.ENOTFOUND)
	wantCode(t, d.EndSession(ctx, alice, "not-hex"), guildhall.ENOTFOUND)
	_, err = d.ListSessions(ctx, guildhall.Actor{UserID: alice.UserID, Auth: guildhall.AuthAPIKey}, idle)
	wantCode(t, err, guildhall.EFORBIDDEN)
	wantCode(t, d.EndSession(ctx, guildhall.Actor{UserID: alice.UserID, Auth: guildhall.AuthAPIKey}, list[1].Handle), guildhall.EFORBIDDEN)
	if err := d.EndSession(ctx, alice, list[1].Handle); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Session(ctx, "alice-phone", idle); guildhall.ErrorCode(err) != guildhall.EUNAUTHORIZED {
		t.Fatalf("the ended session still works: %v", err)
	}
	if _, err := d.Session(ctx, "bob-laptop", idle); err != nil {
		t.Fatalf("bob's session ended too: %v", err)
	}
	// Idle sessions are not listed.
	clk.Advance(idle)
	if list, err := d.ListSessions(ctx, alice, idle); err != nil || len(list) != 0 {
		t.Fatalf("after the idle timeout: %+v %v", list, err)
	}
}

// TestChangePassword: the new password works, the old one not; every
// browser session and sign-in token of the user ends, API keys and others'
// sessions stay; neither a key nor a token may change it.
func TestChangePassword(t *testing.T) {
	d, _ := MustOpenDB(t)
	ctx := context.Background()
	alice, bob := MustCreateUser(t, d, "alice"), MustCreateUser(t, d, "bob")
	const idle, absolute = time.Hour, 24 * time.Hour
	for id, user := range map[string]int64{"a1": alice.UserID, "a2": alice.UserID, "b1": bob.UserID} {
		if _, err := d.CreateSession(ctx, id, guildhall.Actor{UserID: user}, nil, idle, absolute); err != nil {
			t.Fatal(err)
		}
	}
	_, key, err := d.CreateAPIKey(ctx, alice, "script")
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := d.CreateToken(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	viaKey, viaToken := alice, alice
	viaKey.Auth, viaToken.Auth = guildhall.AuthAPIKey, guildhall.AuthToken
	wantCode(t, d.ChangePassword(ctx, viaKey, "a brand new password"), guildhall.EFORBIDDEN)
	wantCode(t, d.ChangePassword(ctx, viaToken, "a brand new password"), guildhall.EFORBIDDEN)
	wantCode(t, d.ChangePassword(ctx, alice, "short"), guildhall.EINVALID)
	if _, err := d.Session(ctx, "a1", idle); err != nil {
		t.Fatalf("a refused change ended a session: %v", err)
	}
	if _, err := d.Authenticate(ctx, guildhall.Credentials{Token: token}); err != nil {
		t.Fatalf("a refused change ended a sign-in token: %v", err)
	}
	if err := d.ChangePassword(ctx, alice, "a brand new password"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a1", "a2"} {
		if _, err := d.Session(ctx, id, idle); guildhall.ErrorCode(err) != guildhall.EUNAUTHORIZED {
			t.Errorf("session %s survived the change: %v", id, err)
		}
	}
	if _, err := d.Session(ctx, "b1", idle); err != nil {
		t.Errorf("bob's session ended: %v", err)
	}
	if _, err := d.Authenticate(ctx, guildhall.Credentials{Token: token}); guildhall.ErrorCode(err) != guildhall.EUNAUTHORIZED {
		t.Errorf("alice's sign-in token survived the change: %v", err)
	}
	if _, err := d.Authenticate(ctx, guildhall.Credentials{APIKey: key}); err != nil {
		t.Errorf("the API key stopped working: %v", err)
	}
	_, err = d.Authenticate(ctx, guildhall.Credentials{Username: "alice", Password: "password-alice"})
	wantCode(t, err, guildhall.EUNAUTHORIZED)
	if _, err := d.Authenticate(ctx, guildhall.Credentials{Username: "alice", Password: "a brand new password"}); err != nil {
		t.Fatalf("the new password: %v", err)
	}
}

// TestCredentialsOutliveNoPasswordChange: a password checked before a
// change_password committed (the change is made here between the check
// and the transaction that hands out the credential, which is what a
// concurrent change does) gets no session, sign-in token or API key, and
// cannot change the password again: each is the bad-credential 401. A
// browser session may create a key or change the password only with the
// current password, which the service checks (ConfirmPassword).
func TestCredentialsOutliveNoPasswordChange(t *testing.T) {
	d, _ := MustOpenDB(t)
	ctx := context.Background()
	alice := MustCreateUser(t, d, "alice")
	const idle, absolute = time.Hour, 24 * time.Hour
	login := func(password string) guildhall.Actor {
		t.Helper()
		a, err := d.Authenticate(ctx, guildhall.Credentials{Username: "alice", Password: password})
		if err != nil || a.PasswordStamp == "" {
			t.Fatalf("log in with %q: %+v %v", password, a, err)
		}
		return a
	}
	checked := login("password-alice")
	browser := guildhall.Actor{UserID: alice.UserID, Username: "alice", Auth: guildhall.AuthSession}
	_, _, err := d.CreateAPIKey(ctx, browser, "from a browser")
	wantCode(t, err, guildhall.EFORBIDDEN)
	wantCode(t, d.ChangePassword(ctx, browser, "a brand new password"), guildhall.EFORBIDDEN)
	_, err = d.ConfirmPassword(ctx, browser, "not the password", "")
	wantCode(t, err, guildhall.EUNAUTHORIZED)
	confirmed, err := d.ConfirmPassword(ctx, browser, "password-alice", "")
	if err != nil || confirmed.Auth != guildhall.AuthPassword || confirmed.PasswordStamp != checked.PasswordStamp {
		t.Fatalf("confirm the password: %+v %v", confirmed, err)
	}

	// The password changes after both checks.
	if err := d.ChangePassword(ctx, alice, "a brand new password"); err != nil {
		t.Fatal(err)
	}
	_, err = d.CreateSession(ctx, "late-session", checked, nil, idle, absolute)
	wantCode(t, err, guildhall.EUNAUTHORIZED)
	if _, err := d.Session(ctx, "late-session", idle); guildhall.ErrorCode(err) != guildhall.EUNAUTHORIZED {
		t.Fatalf("the refused session exists: %v", err)
	}
	_, _, err = d.CreateToken(ctx, checked)
	wantCode(t, err, guildhall.EUNAUTHORIZED)
	_, _, err = d.CreateAPIKey(ctx, confirmed, "late key")
	wantCode(t, err, guildhall.EUNAUTHORIZED)
	wantCode(t, d.ChangePassword(ctx, confirmed, "the attacker's password"), guildhall.EUNAUTHORIZED)
	if keys, err := d.ListAPIKeys(ctx, alice); err != nil || len(keys) != 0 {
		t.Fatalf("keys: %v %v", keys, err)
	}
	if sessions, err := d.ListSessions(ctx, alice, idle); err != nil || len(sessions) != 0 {
		t.Fatalf("sessions: %v %v", sessions, err)
	}

	// Checked against the new password, each is handed out.
	fresh := login("a brand new password")
	if _, err := d.CreateSession(ctx, "fresh-session", fresh, nil, idle, absolute); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.CreateToken(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.CreateAPIKey(ctx, fresh, "fresh key"); err != nil {
		t.Fatal(err)
	}
}

// doneWatcher is a context that reports when a caller waits on its Done
// channel, and is cancelled by the test (close(done)).
type doneWatcher struct {
	context.Context
	waiting chan struct{}
	done    chan struct{}
}

func (c *doneWatcher) Done() <-chan struct{} {
	select {
	case c.waiting <- struct{}{}:
	default:
	}
	return c.done
}

func (c *doneWatcher) Err() error {
	select {
	case <-c.done:
		return context.Canceled
	default:
		return nil
	}
}

// TestChangePasswordHashesInTheNewPasswordsShare: changing the password
// hashes the new one in the hasher's share for new passwords, as sign-up
// does, not in the logins' share: with the new-password share full and
// the logins' free, it waits (until its caller gives up) and changes
// nothing.
func TestChangePasswordHashesInTheNewPasswordsShare(t *testing.T) {
	d, _ := MustOpenDB(t)
	alice := MustCreateUser(t, d, "alice")
	release := d.HoldNewPasswordHashing()
	defer release()
	ctx := &doneWatcher{Context: context.Background(), waiting: make(chan struct{}, 1), done: make(chan struct{})}
	result := make(chan error, 1)
	go func() { result <- d.ChangePassword(ctx, alice, "a brand new password") }()
	select {
	case <-ctx.waiting:
		close(ctx.done) // it waits for a slot: give up
	case err := <-result:
		t.Fatalf("ChangePassword did not wait for the new-password share: %v", err)
	}
	wantCode(t, <-result, guildhall.EUNAVAILABLE)
	if _, err := d.Authenticate(context.Background(), guildhall.Credentials{Username: "alice", Password: "password-alice"}); err != nil {
		t.Fatalf("the password changed: %v", err)
	}
}
