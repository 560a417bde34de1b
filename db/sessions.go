package db

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"time"

	"guildhall"
)

// Session bookkeeping limits.
const (
	// sessionTouchInterval bounds how often a session's last_seen is
	// written: page views should not each become a write, and an idle
	// timeout of hours need not be more precise than a minute. A shorter
	// timeout is written more often (see sessionTouchEvery).
	sessionTouchInterval = time.Minute
	// sessionTouchesPerIdle is how many times per idle timeout a session in
	// use has its last_seen written, at least.
	sessionTouchesPerIdle = 10
	// sessionKeyBytes is the size of a generated cookie-signing key
	// (HMAC-SHA256 takes up to 64 bytes of key without hashing it first).
	sessionKeyBytes = 64
)

// sessionTouchEvery is how long after its last write a session used
// again has its last_seen written anew: a minute, or a tenth of the idle
// timeout if that is shorter. So the idle clock restarts at every request
// whatever the setting, give or take a tenth of it: a session used more
// often than every 0.9 × idle never times out.
func sessionTouchEvery(idle time.Duration) time.Duration {
	return min(sessionTouchInterval, idle/sessionTouchesPerIdle)
}

// lastSeenUnix is a session's last-seen time as stored: whole seconds,
// rounded up, so that the one-second resolution can only lengthen the
// idle time a session has left, never cut it short (rounded down, with
// --session-idle 1s, a visitor active every half second would be signed
// out).
func lastSeenUnix(t time.Time) int64 {
	if t.Truncate(time.Second).Equal(t) {
		return t.Unix()
	}
	return t.Unix() + 1
}

// errNoSession is the one answer for an unknown, expired or idle session.
var errNoSession = guildhall.Errorf(guildhall.EUNAUTHORIZED, "Your session has ended; sign in again.")

// hashSessionID is the stored form of a session id: its SHA-256, so the
// table cannot be turned back into working cookies.
func hashSessionID(id string) []byte {
	sum := sha256.Sum256([]byte(id))
	return sum[:]
}

// CreateSession stores a new session named id for the actor a (the
// password sign-in it starts from), idle after idle and expiring for good
// after absolute, and returns it. A password changed since a's was
// checked refuses the session (checkPasswordStamp). Sessions that have
// already timed out are swept in the same transaction.
func (db *DB) CreateSession(ctx context.Context, id string, a guildhall.Actor, data []byte, idle, absolute time.Duration) (guildhall.Session, error) {
	userID := a.UserID
	if id == "" || idle <= 0 || absolute <= 0 {
		return guildhall.Session{}, errors.New("create session: empty id or non-positive timeout")
	}
	if data == nil {
		data = []byte{}
	}
	s := guildhall.Session{UserID: userID, Data: data}
	err := db.update(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires <= ? OR last_seen <= ?`,
			unix(tx.now), unix(tx.now.Add(-idle))); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT username, admin FROM users WHERE id = ?`, userID).
			Scan(&s.Username, &s.Admin); errors.Is(err, sql.ErrNoRows) {
			return guildhall.Errorf(guildhall.ENOTFOUND, "There is no user with id %d.", userID)
		} else if err != nil {
			return err
		}
		if err := tx.checkPasswordStamp(ctx, a); err != nil {
			return err
		}
		s.Created, s.LastSeen, s.Expires = tx.now, tx.now, tx.now.Add(absolute)
		s.Handle = hex.EncodeToString(hashSessionID(id))
		_, err := tx.ExecContext(ctx, `
			INSERT INTO sessions (id_hash, user_id, created, last_seen, expires, data)
			VALUES (?, ?, ?, ?, ?, ?)`, hashSessionID(id), userID, unix(tx.now), lastSeenUnix(tx.now), unix(s.Expires), data)
		return err
	})
	return s, err
}

// Session returns the live session named id. A session unknown, past its
// absolute expiry, or unused for longer than idle is an EUNAUTHORIZED
// error, and a timed-out one is deleted. Using a session moves its
// last_seen forward (at most once per sessionTouchEvery(idle)).
func (db *DB) Session(ctx context.Context, id string, idle time.Duration) (guildhall.Session, error) {
	var s guildhall.Session
	var now time.Time
	var created, lastSeen, expires int64
	sum := hashSessionID(id)
	err := db.view(ctx, func(tx *Tx) error {
		now = tx.now
		return tx.QueryRowContext(ctx, `
			SELECT s.user_id, u.username, u.admin, s.created, s.last_seen, s.expires, s.data
			FROM sessions s JOIN users u ON u.id = s.user_id
			WHERE s.id_hash = ?`, sum).
			Scan(&s.UserID, &s.Username, &s.Admin, &created, &lastSeen, &expires, &s.Data)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return guildhall.Session{}, errNoSession
	} else if err != nil {
		return guildhall.Session{}, err
	}
	s.Created, s.LastSeen, s.Expires = time.Unix(created, 0).UTC(), time.Unix(lastSeen, 0).UTC(), time.Unix(expires, 0).UTC()
	s.Handle = hex.EncodeToString(sum)
	if !now.Before(s.Expires) || now.Sub(s.LastSeen) >= idle {
		if err := db.DeleteSession(ctx, id); err != nil {
			return guildhall.Session{}, err
		}
		return guildhall.Session{}, errNoSession
	}
	if now.Sub(s.LastSeen) >= sessionTouchEvery(idle) {
		err := db.update(ctx, func(tx *Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE sessions SET last_seen = ? WHERE id_hash = ?`, lastSeenUnix(tx.now), sum)
			return err
		})
		if err != nil {
			return guildhall.Session{}, err
		}
		s.LastSeen = now
	}
	return s, nil
}

// UpdateSessionData replaces the stored values of the session named id.
func (db *DB) UpdateSessionData(ctx context.Context, id string, data []byte) error {
	if data == nil {
		data = []byte{}
	}
	return db.update(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE sessions SET data = ? WHERE id_hash = ?`, data, hashSessionID(id))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errNoSession
		}
		return nil
	})
}

// DeleteSession ends the session named id; ending one that does not exist
// is not an error (signing out twice is harmless).
func (db *DB) DeleteSession(ctx context.Context, id string) error {
	return db.update(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = ?`, hashSessionID(id))
		return err
	})
}

// ListSessions returns the actor's live sessions, the most recently used
// first, each named by its Handle.
func (db *DB) ListSessions(ctx context.Context, a guildhall.Actor, idle time.Duration) ([]guildhall.Session, error) {
	if err := guildhall.RequirePassword(a, guildhall.OpManageSessions); err != nil {
		return nil, err
	}
	var out []guildhall.Session
	err := db.view(ctx, func(tx *Tx) error {
		rows, err := tx.QueryContext(ctx, `
			SELECT id_hash, created, last_seen, expires FROM sessions
			WHERE user_id = ? AND expires > ? AND last_seen > ?
			ORDER BY last_seen DESC, created DESC`, a.UserID, unix(tx.now), unix(tx.now.Add(-idle)))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			s := guildhall.Session{UserID: a.UserID, Username: a.Username, Admin: a.Admin}
			var sum []byte
			var created, lastSeen, expires int64
			if err := rows.Scan(&sum, &created, &lastSeen, &expires); err != nil {
				return err
			}
			s.Handle = hex.EncodeToString(sum)
			s.Created, s.LastSeen, s.Expires = time.Unix(created, 0).UTC(), time.Unix(lastSeen, 0).UTC(), time.Unix(expires, 0).UTC()
			out = append(out, s)
		}
		return rows.Err()
	})
	return out, err
}

// EndSession signs out one of the actor's sessions, named by its Handle.
func (db *DB) EndSession(ctx context.Context, a guildhall.Actor, handle string) error {
	if err := guildhall.RequirePassword(a, guildhall.OpManageSessions); err != nil {
		return err
	}
	notFound := guildhall.Errorf(guildhall.ENOTFOUND, "You have no such session; it may have ended already.")
	if !guildhall.ValidSessionHandle(handle) {
		return notFound
	}
	sum, err := hex.DecodeString(handle)
	if err != nil {
		return notFound
	}
	return db.update(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = ? AND user_id = ?`, sum, a.UserID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return notFound
		}
		return nil
	})
}

// SessionKeys returns the keys that sign session cookies when none are
// configured: generated on first use and kept in the database, so that a
// restart keeps people signed in. The first key signs; all of them verify.
func (db *DB) SessionKeys(ctx context.Context) ([][]byte, error) {
	var keys [][]byte
	err := db.update(ctx, func(tx *Tx) error {
		keys = nil // a retried transaction reads them anew
		rows, err := tx.QueryContext(ctx, `SELECT key FROM session_keys ORDER BY id DESC`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k []byte
			if err := rows.Scan(&k); err != nil {
				return err
			}
			keys = append(keys, k)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(keys) > 0 {
			return nil
		}
		k := make([]byte, sessionKeyBytes)
		rand.Read(k)
		if _, err := tx.ExecContext(ctx, `INSERT INTO session_keys (key, created) VALUES (?, ?)`, k, unix(tx.now)); err != nil {
			return err
		}
		keys = [][]byte{k}
		return nil
	})
	return keys, err
}

// CountOpenSessions counts the sessions still in force under the idle
// timeout idle: neither past their absolute expiry nor unused for idle.
// Timed-out rows wait for the next sign-in to be swept, so a count of all
// rows would overstate it.
func (db *DB) CountOpenSessions(ctx context.Context, idle time.Duration) (int, error) {
	var n int
	err := db.view(ctx, func(tx *Tx) error {
		return tx.QueryRowContext(ctx, `SELECT count(*) FROM sessions WHERE expires > ? AND last_seen > ?`,
			unix(tx.now), unix(tx.now.Add(-idle))).Scan(&n)
	})
	return n, err
}
