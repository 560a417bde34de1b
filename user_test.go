package guildhall_test

import (
	"slices"
	"strings"
	"testing"

	"guildhall"
)

func TestValidateUsername(t *testing.T) {
	for _, ok := range []string{"a", "bob", "new_user", "a.b-c_9", "abcdefghijklmnopqrstuvwxyz012345"} {
		if err := guildhall.ValidateUsername(ok); err != nil {
			t.Errorf("ValidateUsername(%q) = %v, want ok", ok, err)
		}
	}
	for _, bad := range []string{"", "Bob", "bob smith", "bob@x", "abcdefghijklmnopqrstuvwxyz0123456", "bö", "a/b", "<script>", ".", "..", "_", "-.-"} {
		err := guildhall.ValidateUsername(bad)
		if guildhall.ErrorCode(err) != guildhall.EINVALID {
			t.Errorf("ValidateUsername(%q) = %v, want an invalid_request error", bad, err)
		}
	}
}

func TestValidatePassword(t *testing.T) {
	for _, ok := range []string{"12345678", "correct horse battery staple", "пароль-пароль", string(repeat('x', 256))} {
		if err := guildhall.ValidatePassword(ok); err != nil {
			t.Errorf("ValidatePassword(len %d) = %v, want ok", len(ok), err)
		}
	}
	for _, bad := range []string{"", "1234567", string(repeat('x', 257)), "abcdefg\xff"} {
		if guildhall.ErrorCode(guildhall.ValidatePassword(bad)) != guildhall.EINVALID {
			t.Errorf("ValidatePassword(len %d) accepted", len(bad))
		}
	}
}

func repeat(r rune, n int) []rune {
	out := make([]rune, n)
	for i := range out {
		out[i] = r
	}
	return out
}

// TestRequirePassword: a password may do every password operation; an API
// key none, in words that name it; a sign-in token those TokenMay allows,
// and not those that need the password itself.
func TestRequirePassword(t *testing.T) {
	allowed := map[guildhall.AuthMethod][]guildhall.PasswordOperation{
		guildhall.AuthNone:     {}, // an actor built without saying how it authenticated
		guildhall.AuthPassword: {guildhall.OpLogIn, guildhall.OpCreateAPIKey, guildhall.OpListAPIKeys, guildhall.OpDeleteAPIKey, guildhall.OpChangePassword, guildhall.OpManageSessions},
		guildhall.AuthAPIKey:   {},
		guildhall.AuthToken:    {guildhall.OpListAPIKeys, guildhall.OpDeleteAPIKey, guildhall.OpManageSessions},
		guildhall.AuthSession:  {guildhall.OpListAPIKeys, guildhall.OpDeleteAPIKey, guildhall.OpManageSessions},
	}
	refusal := map[guildhall.AuthMethod]string{guildhall.AuthAPIKey: "An API key", guildhall.AuthToken: "A sign-in token"}
	for method, ops := range allowed {
		a := guildhall.Actor{UserID: 1, Username: "alice", Auth: method}
		for _, op := range []guildhall.PasswordOperation{guildhall.OpLogIn, guildhall.OpCreateAPIKey, guildhall.OpListAPIKeys, guildhall.OpDeleteAPIKey, guildhall.OpChangePassword, guildhall.OpManageSessions} {
			err := guildhall.RequirePassword(a, op)
			if slices.Contains(ops, op) {
				if err != nil {
					t.Errorf("RequirePassword(%d, %q) = %v, want allowed", method, op, err)
				}
				continue
			}
			want := refusal[method] + " cannot " + string(op) + "; authenticate with your username and password."
			switch method {
			case guildhall.AuthSession:
				want = "To " + string(op) + ", type your current password."
			case guildhall.AuthNone:
				want = "To " + string(op) + ", authenticate with your username and password."
			}
			if guildhall.ErrorCode(err) != guildhall.EFORBIDDEN || guildhall.ErrorMessage(err) != want {
				t.Errorf("RequirePassword(%d, %q) = %v, want %q", method, op, err, want)
			}
		}
	}
}

// TestRequireToken: only a token can log out, as only a token names
// something to end.
func TestRequireToken(t *testing.T) {
	for _, method := range []guildhall.AuthMethod{guildhall.AuthNone, guildhall.AuthPassword, guildhall.AuthAPIKey, guildhall.AuthToken, guildhall.AuthSession} {
		err := guildhall.RequireToken(guildhall.Actor{UserID: 1, Auth: method})
		if (err == nil) != (method == guildhall.AuthToken) || err != nil && guildhall.ErrorCode(err) != guildhall.EFORBIDDEN {
			t.Errorf("RequireToken(%d) = %v", method, err)
		}
	}
}

// TestCredentialsFromSecret: a secret given bare is told apart by shape.
func TestCredentialsFromSecret(t *testing.T) {
	if c := guildhall.CredentialsFromSecret("sk-abc"); c != (guildhall.Credentials{APIKey: "sk-abc"}) {
		t.Errorf("an API key read as %+v", c)
	}
	for _, s := range []string{"tk-abc", "anything-else", ""} {
		if c := guildhall.CredentialsFromSecret(s); c != (guildhall.Credentials{Token: s}) {
			t.Errorf("%q read as %+v", s, c)
		}
	}
}

func TestNormalizeAPIKeyTitle(t *testing.T) {
	if got, err := guildhall.NormalizeAPIKeyTitle("  laptop "); err != nil || got != "laptop" {
		t.Errorf("NormalizeAPIKeyTitle = %q, %v", got, err)
	}
	if got, err := guildhall.NormalizeAPIKeyTitle(strings.Repeat("x", guildhall.APIKeyTitleMaxLen)); err != nil || len(got) != guildhall.APIKeyTitleMaxLen {
		t.Errorf("a title at the limit: %v", err)
	}
	if _, err := guildhall.NormalizeAPIKeyTitle(strings.Repeat("x", guildhall.APIKeyTitleMaxLen+1)); guildhall.ErrorCode(err) != guildhall.EINVALID {
		t.Errorf("a title over the limit: %v", err)
	}
}

func TestFoldUsername(t *testing.T) {
	for in, want := range map[string]string{
		"carol": "carol", "Carol": "carol", " CAROL\t": "carol", "Ann_Lee-2.X": "ann_lee-2.x",
		"\u212Aarl": "\u212Aarl", // the Kelvin sign is not a "k": only ASCII folds
		"":          "",
	} {
		if got := guildhall.FoldUsername(in); got != want {
			t.Errorf("FoldUsername(%q) = %q, want %q", in, got, want)
		}
	}
}
