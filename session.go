package guildhall

import "time"

// Session is a signed-in browser session as the service keeps it. The
// random id that names it lives only in the visitor's cookie; the service
// stores its SHA-256.
type Session struct {
	// Handle names the session where it is listed (the account page): the
	// hex of its stored hash, never the cookie's id, which it cannot be
	// turned back into.
	Handle   string
	UserID   int64
	Username string
	Admin    bool
	Created  time.Time
	LastSeen time.Time // the idle timeout counts from here
	Expires  time.Time // the absolute timeout, fixed at sign-in
	// Data holds the session's other values (flash messages), encoded by
	// the session store; the service keeps it as opaque bytes.
	Data []byte
}

// Actor returns the user the session signs in, as an actor that
// authenticated with a browser session (AuthSession).
func (s Session) Actor() Actor {
	return Actor{UserID: s.UserID, Username: s.Username, Admin: s.Admin, Auth: AuthSession}
}

// SessionHandleLen is the length of a Handle: the hex of a SHA-256.
const SessionHandleLen = 64

// ValidSessionHandle reports whether h is what Handle holds: exactly 64
// lower-case hex digits. Anything else names no session, and is refused
// before it is looked up or put in a page's link.
func ValidSessionHandle(h string) bool {
	if len(h) != SessionHandleLen {
		return false
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
