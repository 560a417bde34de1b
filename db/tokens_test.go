package db_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"guildhall"
	"guildhall/db"
)

// TestTokensLifecycle: a password sign-in mints a token that stands in for
// it until it expires, is logged out, or the user's password changes; it
// is stored hashed, and an API key or a token mints none.
func TestTokensLifecycle(t *testing.T) {
	ctx := context.Background()
	d, clk, path := MustOpenDBWith(t, db.Options{TokenTTL: time.Hour})
	alice := MustCreateUser(t, d, "alice")

	token, expires, err := d.CreateToken(ctx, alice)
	if err != nil || !strings.HasPrefix(token, guildhall.TokenPrefix) || len(token) != len(guildhall.TokenPrefix)+48 || !expires.Equal(clk.Now().Add(time.Hour)) {
		t.Fatalf("CreateToken: %q %v %v", token, expires, err)
	}
	a, err := d.Authenticate(ctx, guildhall.Credentials{Token: token})
	if err != nil || a.UserID != alice.UserID || a.Auth != guildhall.AuthToken {
		t.Fatalf("token login: %+v %v", a, err)
	}
	// Only its SHA-256 is kept.
	var stored []byte
	if sum := sha256.Sum256([]byte(token)); queryRow(t, path, `SELECT id_hash FROM auth_tokens`, &stored) != nil || !bytes.Equal(stored, sum[:]) {
		t.Fatalf("stored %x, want the token's SHA-256 alone", stored)
	}

	// A token, or an API key, cannot mint tokens.
	_, _, err = d.CreateToken(ctx, a)
	wantCode(t, err, guildhall.EFORBIDDEN)
	_, key, err := d.CreateAPIKey(ctx, alice, "")
	if err != nil {
		t.Fatal(err)
	}
	viaKey, _ := d.Authenticate(ctx, guildhall.Credentials{APIKey: key})
	_, _, err = d.CreateToken(ctx, viaKey)
	wantCode(t, err, guildhall.EFORBIDDEN)
	// Nor give more than one kind of credential.
	_, err = d.Authenticate(ctx, guildhall.Credentials{Token: token, APIKey: key})
	wantCode(t, err, guildhall.EINVALID)

	// Garbage, an unknown token and an expired one are refused.
	for _, bad := range []string{"tk-short", key, guildhall.TokenPrefix + strings.Repeat("A", 48)} {
		_, err := d.Authenticate(ctx, guildhall.Credentials{Token: bad})
		wantCode(t, err, guildhall.EUNAUTHORIZED)
	}
	clk.Advance(time.Hour)
	_, err = d.Authenticate(ctx, guildhall.Credentials{Token: token})
	wantCode(t, err, guildhall.EUNAUTHORIZED)
	if !strings.Contains(guildhall.ErrorMessage(err), "expired") {
		t.Fatalf("expired token: %v", err)
	}

	// Logging out ends the token; only a token logs out.
	token, _, _ = d.CreateToken(ctx, alice)
	a, _ = d.Authenticate(ctx, guildhall.Credentials{Token: token})
	wantCode(t, d.EndToken(ctx, viaKey, token), guildhall.EFORBIDDEN)
	if err := d.EndToken(ctx, a, token); err != nil {
		t.Fatal(err)
	}
	_, err = d.Authenticate(ctx, guildhall.Credentials{Token: token})
	wantCode(t, err, guildhall.EUNAUTHORIZED)

	// Changing the password ends every token of the user, and no one else's.
	bob := MustCreateUser(t, d, "bob")
	bobs, _, _ := d.CreateToken(ctx, bob)
	first, _, _ := d.CreateToken(ctx, alice)
	second, _, _ := d.CreateToken(ctx, alice)
	if err := d.ChangePassword(ctx, alice, "a brand new password"); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{first, second} {
		_, err := d.Authenticate(ctx, guildhall.Credentials{Token: tok})
		wantCode(t, err, guildhall.EUNAUTHORIZED)
	}
	var left int
	if err := queryRow(t, path, `SELECT count(*) FROM auth_tokens`, &left); err != nil || left != 1 {
		t.Fatalf("%d tokens stored after alice's change, want bob's alone: %v", left, err)
	}
	if _, err := d.Authenticate(ctx, guildhall.Credentials{Token: bobs}); err != nil {
		t.Fatalf("bob's token ended with alice's: %v", err)
	}
}

// TestTokenPowers: a token does what a password login does, except what
// needs the password itself.
func TestTokenPowers(t *testing.T) {
	ctx := context.Background()
	d, _ := MustOpenDB(t)
	alice := MustCreateUser(t, d, "alice")
	token, _, _ := d.CreateToken(ctx, alice)
	a, err := d.Authenticate(ctx, guildhall.Credentials{Token: token})
	if err != nil {
		t.Fatal(err)
	}
	org, err := d.CreateOrganization(ctx, a, "Acme", "")
	if err != nil {
		t.Fatalf("a token founds an organization: %v", err)
	}
	MustCreateUser(t, d, "bob")
	if _, err := d.InviteUser(ctx, a, org.ID, "bob", guildhall.RoleAdmin); err != nil {
		t.Fatalf("a token invites: %v", err)
	}
	if _, err := d.ListAPIKeys(ctx, a); err != nil {
		t.Fatalf("a token lists keys: %v", err)
	}
	wantCode(t, d.DeleteAPIKey(ctx, a, 999), guildhall.ENOTFOUND)
	_, _, err = d.CreateAPIKey(ctx, a, "")
	wantCode(t, err, guildhall.EFORBIDDEN)
	_, err = d.LoginMemberships(ctx, a)
	wantCode(t, err, guildhall.EFORBIDDEN)
	wantCode(t, d.ChangePassword(ctx, a, "a brand new password"), guildhall.EFORBIDDEN)
}
