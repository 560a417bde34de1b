package guildhall

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on credentials, each documented once here.
const (
	UsernameMinLen = 1   // characters
	UsernameMaxLen = 32  // characters, from [a-z0-9_.-]
	PasswordMinLen = 8   // characters (runes), per NIST SP 800-63B
	PasswordMaxLen = 256 // characters; bounds the work a login can demand
	// PasswordMaxBytes is what PasswordMaxLen characters take at most in
	// UTF-8 (4 bytes each): no password that can match is longer.
	PasswordMaxBytes = 4 * PasswordMaxLen // 1,024 bytes
	// APIKeyTitleMaxLen bounds the name a key is recognised by.
	APIKeyTitleMaxLen = 100 // characters
)

// User is an account that can log in and belong to organizations.
type User struct {
	ID       int64
	Username string
	// Admin marks a server administrator, as QueryLake's login reports it.
	// Guildhall's membership rules give it no extra power.
	Admin   bool
	Created time.Time
}

// Actor is the authenticated user on whose behalf an operation runs.
type Actor struct {
	UserID   int64
	Username string
	Admin    bool
	// Auth is how the caller authenticated; some operations demand a
	// password (see RequirePassword).
	Auth AuthMethod
	// PasswordStamp identifies the password hash that the service checked
	// this actor's password against (set by Authenticate and
	// ConfirmPassword; empty for any other actor). Creating a session or a
	// sign-in token, or changing the password, for an actor with a stamp
	// refuses it if the password has changed since (a concurrent
	// change_password): a credential checked against the old password must
	// not outlive the change.
	PasswordStamp string
}

// AuthMethod is how an actor proved who they are.
type AuthMethod int

// The ways to authenticate. The zero value, AuthNone, says nothing was
// proved: an actor built without saying how it authenticated has none of
// a password's powers (RequirePassword refuses it), so that forgetting to
// set Auth can never hand out what only a checked password may do.
const (
	AuthNone     AuthMethod = iota // no credential was checked for this actor
	AuthPassword                   // a username and password, checked in this request
	AuthAPIKey                     // an API key from create_api_key
	AuthToken                      // a sign-in token from login or add_user
	// AuthSession is a browser session, begun with a password sign-in. It
	// has a password's powers but those that need the password itself
	// (SessionMay): for those the page asks for the current password again
	// and the service checks it (ConfirmPassword), so that a browser left
	// signed in cannot be used to mint a key or take the account over.
	AuthSession
)

// Credentials are what a caller presents: an API key, a sign-in token, or
// a username and password. Exactly one form must be filled in.
type Credentials struct {
	APIKey   string
	Token    string
	Username string
	Password string
	// ClientAddr is the caller's network address, for login throttling.
	ClientAddr string
}

// APIKey describes a stored key. The secret itself is shown once, at
// creation, and never stored.
type APIKey struct {
	ID       int64
	Title    string
	Created  time.Time
	LastUsed time.Time // zero when never used
	Preview  string    // "sk-..." plus the last four characters
}

// PasswordOperation is something an API key may never authorize: a key
// that leaks must not be able to mint, list or revoke keys, nor stand in
// for the password at login. Most of them need the password itself; a
// sign-in token, which a password login hands out, may do the rest (see
// TokenMay).
type PasswordOperation string

// The password operations, each worded as RequirePassword's refusal says it.
const (
	OpLogIn        PasswordOperation = "log in"
	OpCreateAPIKey PasswordOperation = "create API keys"
	OpListAPIKeys  PasswordOperation = "list API keys"
	OpDeleteAPIKey PasswordOperation = "delete API keys"
	// OpChangePassword: the new password must be set by whoever knows the old one.
	OpChangePassword PasswordOperation = "change the password"
	// OpManageSessions: a key must not be able to see or end browser sessions.
	OpManageSessions PasswordOperation = "list or end sign-in sessions"
)

// needsPasswordItself reports whether op needs the password itself, not
// just a credential a password login handed out: logging in (a token
// minting tokens would never expire), creating API keys (a key outlives
// the token or session that made it) and changing the password (a new
// password locks the owner out). TokenMay and SessionMay both turn on it.
func needsPasswordItself(op PasswordOperation) bool {
	switch op {
	case OpLogIn, OpCreateAPIKey, OpChangePassword:
		return true
	}
	return false
}

// TokenMay reports whether a sign-in token may perform op. A token has a
// password login's powers except those that need the password itself
// (needsPasswordItself).
func TokenMay(op PasswordOperation) bool { return !needsPasswordItself(op) }

// SessionMay reports whether a browser session may perform op without
// the current password being typed again: everything but what needs the
// password itself (needsPasswordItself): minting a sign-in token
// (OpLogIn), creating API keys and changing the password.
func SessionMay(op PasswordOperation) bool { return !needsPasswordItself(op) }

// RequirePassword refuses op to an actor whose authentication is not
// known (AuthNone), to one who authenticated with an API key, to a token
// unless TokenMay(op), and to a browser session unless SessionMay(op).
func RequirePassword(a Actor, op PasswordOperation) error {
	switch {
	case a.Auth == AuthNone:
		return Errorf(EFORBIDDEN, "To %s, authenticate with your username and password.", op)
	case a.Auth == AuthAPIKey:
		return Errorf(EFORBIDDEN, "An API key cannot %s; authenticate with your username and password.", op)
	case a.Auth == AuthToken && !TokenMay(op):
		return Errorf(EFORBIDDEN, "A sign-in token cannot %s; authenticate with your username and password.", op)
	case a.Auth == AuthSession && !SessionMay(op):
		return Errorf(EFORBIDDEN, "To %s, type your current password.", op)
	}
	return nil
}

// RequireToken refuses an actor who did not authenticate with a sign-in
// token: logging out ends the token the call was made with, and a password
// or an API key names none.
func RequireToken(a Actor) error {
	if a.Auth != AuthToken {
		return Errorf(EFORBIDDEN, "Log out with the sign-in token from login or add_user; a password or an API key has none to end.")
	}
	return nil
}

// APIKeyTitleText is the rule for an API key's title (see TextField).
var APIKeyTitleText = TextField{Label: "An API key's title", MaxLen: APIKeyTitleMaxLen}

// NormalizeAPIKeyTitle trims a key's title and checks it: up to 100
// characters of text, possibly none.
func NormalizeAPIKeyTitle(title string) (string, error) {
	return APIKeyTitleText.Normalize(title)
}

// FoldUsername returns a username as typed in the form it is stored in:
// without surrounding spaces, with ASCII capitals lower-cased. Usernames
// are lower-case, so a lookup of "Carol" means carol. Only ASCII is folded:
// Unicode case mapping would turn the Kelvin sign into "k", and no stored
// name holds anything but ASCII.
func FoldUsername(name string) string {
	name = strings.TrimSpace(name)
	for i := 0; i < len(name); i++ {
		if c := name[i]; 'A' <= c && c <= 'Z' {
			b := []byte(name)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return name
}

// UsernamePattern is ValidateUsername's rule on characters as a regular
// expression, for documents that state it (the OpenAPI schema); the length
// is UsernameMinLen to UsernameMaxLen. FuzzValidateUsername holds the two
// to each other.
const UsernamePattern = "^[a-z0-9_.-]*[a-z0-9][a-z0-9_.-]*$"

// ValidateUsername checks a username: 1 to 32 characters from [a-z0-9_.-],
// at least one of them a letter or digit.
func ValidateUsername(name string) error {
	if len(name) < UsernameMinLen || len(name) > UsernameMaxLen {
		return Errorf(EINVALID, "Username must be %d to %d characters long.", UsernameMinLen, UsernameMaxLen)
	}
	alnum := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return Errorf(EINVALID, "Username may contain only lowercase letters, digits, '_', '.' and '-'.")
		}
		alnum = alnum || 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
	}
	if !alnum {
		// Also keeps "." and "..", which URLs would read as path steps, out of page links.
		return Errorf(EINVALID, "Username must contain at least one letter or digit.")
	}
	return nil
}

// ValidatePassword checks a password's length: 8 to 256 characters of valid
// UTF-8 (so at most 1,024 bytes).
func ValidatePassword(password string) error {
	if !utf8.ValidString(password) {
		return Errorf(EINVALID, "Password must be valid UTF-8 text.")
	}
	if n := utf8.RuneCountInString(password); n < PasswordMinLen || n > PasswordMaxLen {
		return Errorf(EINVALID, "Password must be %d to %d characters long.", PasswordMinLen, PasswordMaxLen)
	}
	return nil
}

// PasswordMayMatch reports whether password could be anyone's: valid UTF-8
// of at most PasswordMaxLen characters (so at most PasswordMaxBytes).
// Every stored password passed ValidatePassword, so one outside these
// limits matches nobody; a login refuses it without hashing it, and never
// hashes a prefix of it in its place.
func PasswordMayMatch(password string) bool {
	return len(password) <= PasswordMaxBytes && utf8.ValidString(password) && utf8.RuneCountInString(password) <= PasswordMaxLen
}
