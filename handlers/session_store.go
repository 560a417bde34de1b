package handlers

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/gob"
	"errors"
	"net/http"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"guildhall"
)

// Session defaults and limits; the timeouts can be changed with flags.
const (
	// DefaultSessionIdleTimeout signs a visitor out after this long without a request.
	DefaultSessionIdleTimeout = 12 * time.Hour
	// DefaultSessionMaxAge signs a visitor out this long after sign-in, however active.
	DefaultSessionMaxAge = 7 * 24 * time.Hour
	// SessionKeyMinBytes is the shortest signing key accepted from
	// GUILDHALL_SESSION_KEYS: HMAC-SHA256 wants at least 32 bytes.
	SessionKeyMinBytes = 32
	// sessionCookieName names the session cookie.
	sessionCookieName = "guildhall_session"
	// sessionIDBytes of crypto/rand make a session id (256 bits).
	sessionIDBytes = 32
)

// SessionStorage is what the session store needs of the service (db.DB):
// rows named by the session id (stored hashed), with the user, created,
// last seen and absolute expiry.
type SessionStorage interface {
	CreateSession(ctx context.Context, id string, a guildhall.Actor, data []byte, idle, absolute time.Duration) (guildhall.Session, error)
	Session(ctx context.Context, id string, idle time.Duration) (guildhall.Session, error)
	UpdateSessionData(ctx context.Context, id string, data []byte) error
	DeleteSession(ctx context.Context, id string) error
	// CountOpenSessions counts the sessions in force under idle, for the metrics.
	CountOpenSessions(ctx context.Context, idle time.Duration) (int, error)
}

// sessionUserKey holds the signed-in user's id among a session's values.
// The store takes it from the row, never from the stored data.
const sessionUserKey = "user_id"

// sessionRecordKey holds the guildhall.Session row among a session's
// values; it is not stored with the data.
type sessionRecordKey struct{}

// sessionStampKey holds, in a session not stored yet, the PasswordStamp
// of the sign-in it starts from, for CreateSession to check; it is not
// stored with the data.
type sessionStampKey struct{}

// sessionStore is a gorilla/sessions Store backed by the service's
// database. The cookie carries only a securecookie-signed random id; the
// row holds the user, the times and the other values. Only signed-in
// sessions are stored: saving a session without a user stores nothing, so
// an anonymous visitor costs no write.
type sessionStore struct {
	storage  SessionStorage
	codecs   []securecookie.Codec
	options  sessions.Options
	idle     time.Duration
	absolute time.Duration
}

// newSessionStore signs cookies with the first key and accepts any of them,
// so keys can be rotated by putting the new one first.
func newSessionStore(storage SessionStorage, keys [][]byte, secure bool, idle, absolute time.Duration) *sessionStore {
	pairs := make([][]byte, 0, 2*len(keys))
	for _, k := range keys {
		pairs = append(pairs, k, nil) // sign only: the value is a random id, nothing to hide
	}
	codecs := securecookie.CodecsFromPairs(pairs...)
	for _, c := range codecs {
		if sc, ok := c.(*securecookie.SecureCookie); ok {
			sc.MaxAge(int(absolute / time.Second))
			sc.SetSerializer(securecookie.NopEncoder{})
		}
	}
	return &sessionStore{
		storage: storage,
		codecs:  codecs,
		options: sessions.Options{
			Path:     "/",
			HttpOnly: true,
			Secure:   secure,
			SameSite: http.SameSiteLaxMode,
		},
		idle:     idle,
		absolute: absolute,
	}
}

// Get returns the request's session, as New does; the handlers keep the
// session in the request context themselves.
func (st *sessionStore) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(st, name)
}

// New loads the session named by the request's cookie, or returns a new,
// empty one when there is no cookie, its signature is wrong, or its row has
// ended. Only a storage failure is an error.
func (st *sessionStore) New(r *http.Request, name string) (*sessions.Session, error) {
	s := st.anonymous()
	cookie, err := r.Cookie(name)
	if err != nil {
		return s, nil
	}
	var raw []byte
	if err := securecookie.DecodeMulti(name, cookie.Value, &raw, st.codecs...); err != nil {
		return s, nil
	}
	id := string(raw)
	rec, err := st.storage.Session(r.Context(), id, st.idle)
	if guildhall.ErrorCode(err) == guildhall.EUNAUTHORIZED {
		return s, nil
	} else if err != nil {
		return s, err
	}
	if len(rec.Data) > 0 {
		if err := gob.NewDecoder(bytes.NewReader(rec.Data)).Decode(&s.Values); err != nil {
			// Unreadable values (say, from an older release) are dropped;
			// the sign-in itself stays good.
			s.Values = map[any]any{}
		}
	}
	s.Values[sessionUserKey] = rec.UserID
	s.Values[sessionRecordKey{}] = rec
	s.ID, s.IsNew = id, false
	return s, nil
}

// anonymous returns a new, empty session with the store's cookie options:
// a visitor who is not signed in.
func (st *sessionStore) anonymous() *sessions.Session {
	s := sessions.NewSession(st, sessionCookieName)
	opts := st.options
	s.Options, s.IsNew = &opts, true
	return s
}

// signedIn returns a new session that signs a in. It is not stored yet:
// Save gives it a fresh random id and row, if a's password (when it was
// checked) is still a's.
func (st *sessionStore) signedIn(a guildhall.Actor) *sessions.Session {
	s := st.anonymous()
	s.Values[sessionUserKey] = a.UserID
	s.Values[sessionStampKey{}] = a.PasswordStamp
	return s
}

// deleteRow deletes the stored row of s, if it has one, so that its cookie
// signs in nobody any more; the cookie itself is left for the caller to
// replace. A nil or anonymous session has nothing to delete.
func (st *sessionStore) deleteRow(ctx context.Context, s *sessions.Session) error {
	if s == nil || s.ID == "" {
		return nil
	}
	return st.storage.DeleteSession(ctx, s.ID)
}

// end signs s out: its row is deleted and its cookie expired.
func (st *sessionStore) end(r *http.Request, w http.ResponseWriter, s *sessions.Session) error {
	s.Options.MaxAge = -1
	return st.Save(r, w, s)
}

// Save stores the session and sets its cookie. A session with MaxAge < 0
// is deleted and its cookie expired. A new session with a user gets a
// fresh random id and row; an existing one has its values rewritten if
// they changed.
func (st *sessionStore) Save(r *http.Request, w http.ResponseWriter, s *sessions.Session) error {
	ctx := r.Context()
	if s.Options.MaxAge < 0 {
		if err := st.deleteRow(ctx, s); err != nil {
			return err
		}
		http.SetCookie(w, sessions.NewCookie(s.Name(), "", s.Options))
		return nil
	}
	data, err := encodeSessionValues(s.Values)
	if err != nil {
		return err
	}
	if s.ID != "" {
		rec, _ := s.Values[sessionRecordKey{}].(guildhall.Session)
		if bytes.Equal(rec.Data, data) {
			return nil
		}
		if err := st.storage.UpdateSessionData(ctx, s.ID, data); err != nil {
			return err
		}
		rec.Data = data
		s.Values[sessionRecordKey{}] = rec
		return nil
	}
	userID, ok := s.Values[sessionUserKey].(int64)
	if !ok {
		return nil // anonymous: nothing worth a row
	}
	id := newSessionID()
	stamp, _ := s.Values[sessionStampKey{}].(string)
	rec, err := st.storage.CreateSession(ctx, id, guildhall.Actor{UserID: userID, PasswordStamp: stamp}, data, st.idle, st.absolute)
	if err != nil {
		return err
	}
	delete(s.Values, sessionStampKey{})
	encoded, err := securecookie.EncodeMulti(s.Name(), []byte(id), st.codecs...)
	if err != nil {
		return err
	}
	s.ID, s.IsNew = id, false
	s.Values[sessionRecordKey{}] = rec
	// The cookie lives as long as the row can: closing the browser does not
	// sign out, the idle and absolute timeouts (kept in the row) do.
	s.Options.MaxAge = int(st.absolute / time.Second)
	http.SetCookie(w, sessions.NewCookie(s.Name(), encoded, s.Options))
	return nil
}

// encodeSessionValues serializes the values worth storing: everything but
// the user id and the row, which come from the row itself.
func encodeSessionValues(values map[any]any) ([]byte, error) {
	keep := map[any]any{}
	for k, v := range values {
		if k == sessionUserKey {
			continue
		}
		switch k.(type) {
		case sessionRecordKey, sessionStampKey:
			continue
		}
		keep[k] = v
	}
	if len(keep) == 0 {
		return []byte{}, nil
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(keep); err != nil {
		return nil, errors.New("encode session values: " + err.Error())
	}
	return buf.Bytes(), nil
}

// newSessionID returns a fresh random session id.
func newSessionID() string {
	b := make([]byte, sessionIDBytes)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// sessionRecord returns the row behind a loaded session, and whether
// there is one (that is, whether someone is signed in).
func sessionRecord(s *sessions.Session) (guildhall.Session, bool) {
	if s == nil {
		return guildhall.Session{}, false
	}
	rec, ok := s.Values[sessionRecordKey{}].(guildhall.Session)
	return rec, ok
}
