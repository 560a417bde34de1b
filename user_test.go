package guildhall_test

import (
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

// TestRequirePassword: every password-only operation is refused to an API
// key, in words that name it, and allowed to a password.
func TestRequirePassword(t *testing.T) {
	viaKey := guildhall.Actor{UserID: 1, Username: "alice", ViaAPIKey: true}
	viaPassword := guildhall.Actor{UserID: 1, Username: "alice"}
	for _, op := range []guildhall.PasswordOperation{guildhall.OpLogIn, guildhall.OpCreateAPIKey, guildhall.OpListAPIKeys, guildhall.OpDeleteAPIKey} {
		err := guildhall.RequirePassword(viaKey, op)
		if guildhall.ErrorCode(err) != guildhall.EFORBIDDEN || guildhall.ErrorMessage(err) != "An API key cannot "+string(op)+"; authenticate with your username and password." {
			t.Errorf("RequirePassword(key, %q) = %v", op, err)
		}
		if err := guildhall.RequirePassword(viaPassword, op); err != nil {
			t.Errorf("RequirePassword(password, %q) = %v", op, err)
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
