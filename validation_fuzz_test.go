package guildhall_test

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"guildhall"
)

// wantInvalid fails unless err is nil or an invalid_request error with a message.
func wantInvalid(t *testing.T, err error) {
	t.Helper()
	if err != nil && (guildhall.ErrorCode(err) != guildhall.EINVALID || guildhall.ErrorMessage(err) == "") {
		t.Fatalf("error %v is not an invalid_request with a message", err)
	}
}

// FuzzValidateUsername: a username is accepted exactly when it is 1 to 32
// bytes of [a-z0-9_.-] with at least one letter or digit; anything else is
// an invalid_request, never a panic.
func FuzzValidateUsername(f *testing.F) {
	for _, s := range []string{"alice", "new_user", "a", strings.Repeat("a", 32), strings.Repeat("a", 33), "", "Alice", "al ice", "al\x00ice", "ålice", "a.b-c_d9", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		err := guildhall.ValidateUsername(name)
		wantInvalid(t, err)
		valid := len(name) >= guildhall.UsernameMinLen && len(name) <= guildhall.UsernameMaxLen &&
			strings.ContainsAny(name, "abcdefghijklmnopqrstuvwxyz0123456789")
		for _, r := range name {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
				valid = false
			}
		}
		if (err == nil) != valid {
			t.Fatalf("ValidateUsername(%q) = %v, want valid=%v", name, err, valid)
		}
		inLength := len(name) >= guildhall.UsernameMinLen && len(name) <= guildhall.UsernameMaxLen
		if matches := usernamePattern.MatchString(name); (matches && inLength) != valid {
			t.Fatalf("UsernamePattern matches %q: %v, want %v", name, matches, valid)
		}
	})
}

// usernamePattern is guildhall.UsernamePattern, compiled once.
var usernamePattern = regexp.MustCompile(guildhall.UsernamePattern)

// FuzzValidatePassword: a password is accepted exactly when it is valid
// UTF-8 of 8 to 256 characters, and then it may match at login.
func FuzzValidatePassword(f *testing.F) {
	for _, s := range []string{"correct horse", "1234567", "12345678", strings.Repeat("é", 256), strings.Repeat("é", 257), strings.Repeat("🔑", 256), strings.Repeat("🔑", 256) + "x", "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8", "pass\x00word", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, password string) {
		err := guildhall.ValidatePassword(password)
		wantInvalid(t, err)
		n := utf8.RuneCountInString(password)
		valid := utf8.ValidString(password) && n >= guildhall.PasswordMinLen && n <= guildhall.PasswordMaxLen
		if (err == nil) != valid {
			t.Fatalf("ValidatePassword(%q) = %v, want valid=%v", password, err, valid)
		}
		// A login refuses, unhashed, what PasswordMayMatch rules out: it
		// must rule out no password that sign-up accepts, and nothing over
		// the limit may get through.
		if may := guildhall.PasswordMayMatch(password); valid && !may || may && (len(password) > guildhall.PasswordMaxBytes || n > guildhall.PasswordMaxLen) {
			t.Fatalf("PasswordMayMatch(%q) = %v for a password valid=%v of %d characters", password, may, valid, n)
		}
	})
}

// FuzzNormalizeOrganizationName: an accepted name comes back trimmed, of
// allowed characters only, within the limit in characters, and
// normalizing it again changes nothing.
func FuzzNormalizeOrganizationName(f *testing.F) {
	for _, s := range []string{"Acme", "  Acme  ", "", "   ", "Ac\tme", "Ac\u200bme", strings.Repeat("x", 100), strings.Repeat("x", 101), "\xff", "Ünïcødé 組織", "Ac\u202eme", strings.Repeat("組", 100), strings.Repeat("組", 101)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got, err := guildhall.NormalizeOrganizationName(name)
		wantInvalid(t, err)
		if err != nil {
			return
		}
		if got == "" || got != strings.TrimSpace(got) || !utf8.ValidString(got) ||
			utf8.RuneCountInString(got) > guildhall.OrganizationNameMaxLen {
			t.Fatalf("NormalizeOrganizationName(%q) accepted %q", name, got)
		}
		for _, r := range got {
			if !guildhall.AllowedTextRune(r) || r == '\u202e' || r < ' ' {
				t.Fatalf("NormalizeOrganizationName(%q) accepted %q with %U", name, got, r)
			}
		}
		if again, err := guildhall.NormalizeOrganizationName(got); err != nil || again != got {
			t.Fatalf("normalizing %q again gives %q, %v", got, again, err)
		}
	})
}
