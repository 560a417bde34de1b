package db

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"strings"
	"time"

	"guildhall"
)

// apiKeyTouchInterval bounds how often a key's last_used is written: once
// a minute is precise enough to read and keeps reads from becoming writes.
const apiKeyTouchInterval = time.Minute

// errBadCredentials is the one answer for an unknown user, a wrong password
// and an unknown key alike, so a caller learns nothing about which it was.
var errBadCredentials = guildhall.Errorf(guildhall.EUNAUTHORIZED, "Invalid username or password.")

// CreateUser signs up a user with a username and password.
func (db *DB) CreateUser(ctx context.Context, username, password string, admin bool) (guildhall.User, error) {
	if err := guildhall.ValidateUsername(username); err != nil {
		return guildhall.User{}, err
	}
	if err := guildhall.ValidatePassword(password); err != nil {
		return guildhall.User{}, err
	}
	hash, err := db.hasher.Hash(ctx, password)
	if err != nil {
		return guildhall.User{}, err
	}
	u := guildhall.User{Username: username, Admin: admin}
	err = db.update(ctx, func(tx *Tx) error {
		u.Created = tx.now
		res, err := tx.ExecContext(ctx, `INSERT INTO users (username, password_hash, admin, created) VALUES (?, ?, ?, ?)`,
			username, hash, admin, unix(tx.now))
		if isUniqueViolation(err) {
			return guildhall.Errorf(guildhall.ECONFLICT, "The username %q is taken.", username)
		} else if err != nil {
			return err
		}
		u.ID, err = res.LastInsertId()
		return err
	})
	return u, err
}

// Authenticate checks credentials and returns the actor they name. A wrong
// password and an unknown user give the same error and take about as long.
func (db *DB) Authenticate(ctx context.Context, c guildhall.Credentials) (guildhall.Actor, error) {
	switch {
	case c.APIKey != "" && (c.Username != "" || c.Password != ""):
		return guildhall.Actor{}, guildhall.Errorf(guildhall.EINVALID, "auth must hold either an api_key or a username and password, not both.")
	case c.APIKey != "":
		return db.authenticateKey(ctx, c.APIKey)
	case c.Username != "" || c.Password != "":
		// Throttled here, so the page login and the API's password auth
		// share one counter.
		if err := db.throttle.begin(c.Username, c.ClientAddr, db.now()); err != nil {
			return guildhall.Actor{}, err
		}
		a, err := db.authenticatePassword(ctx, c.Username, c.Password)
		db.throttle.finish(c.Username, c.ClientAddr, err)
		return a, err
	}
	return guildhall.Actor{}, guildhall.Errorf(guildhall.EUNAUTHORIZED, "Authentication required: send auth with an api_key, or a username and password.")
}

func (db *DB) authenticatePassword(ctx context.Context, username, password string) (guildhall.Actor, error) {
	if username == "" || password == "" {
		return guildhall.Actor{}, guildhall.Errorf(guildhall.EUNAUTHORIZED, "Authentication with a password needs both username and password.")
	}
	var a guildhall.Actor
	var hash string
	err := db.view(ctx, func(tx *Tx) error {
		return tx.QueryRowContext(ctx, `SELECT id, username, admin, password_hash FROM users WHERE username = ?`, username).
			Scan(&a.UserID, &a.Username, &a.Admin, &hash)
	})
	known := err == nil
	if errors.Is(err, sql.ErrNoRows) {
		hash = db.hasher.dummy
	} else if err != nil {
		return guildhall.Actor{}, err
	}
	if len(password) > 4*guildhall.PasswordMaxLen {
		// No stored password is this long; hash a bounded prefix so the
		// time taken still does not depend on the input.
		password = password[:4*guildhall.PasswordMaxLen]
	}
	ok, err := db.hasher.Verify(ctx, hash, password)
	if err != nil {
		return guildhall.Actor{}, err
	}
	if !ok || !known {
		return guildhall.Actor{}, errBadCredentials
	}
	return a, nil
}

func (db *DB) authenticateKey(ctx context.Context, key string) (guildhall.Actor, error) {
	bad := guildhall.Errorf(guildhall.EUNAUTHORIZED, "Invalid API key.")
	if !validAPIKeyShape(key) {
		return guildhall.Actor{}, bad
	}
	sum := hashAPIKey(key)
	var a guildhall.Actor
	var stored []byte
	var keyID int64
	var lastUsed sql.NullInt64
	var now time.Time
	err := db.view(ctx, func(tx *Tx) error {
		now = tx.now
		return tx.QueryRowContext(ctx, `
			SELECT k.id, k.key_hash, k.last_used, u.id, u.username, u.admin
			FROM api_keys k JOIN users u ON u.id = k.user_id
			WHERE k.key_hash = ?`, sum).
			Scan(&keyID, &stored, &lastUsed, &a.UserID, &a.Username, &a.Admin)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return guildhall.Actor{}, bad
	} else if err != nil {
		return guildhall.Actor{}, err
	}
	if subtle.ConstantTimeCompare(stored, sum) != 1 {
		return guildhall.Actor{}, bad
	}
	a.ViaAPIKey = true
	if !lastUsed.Valid || now.Sub(fromUnix(lastUsed)) >= apiKeyTouchInterval {
		err := db.update(ctx, func(tx *Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE api_keys SET last_used = ? WHERE id = ?`, unix(tx.now), keyID)
			return err
		})
		if err != nil {
			// Recording the use is bookkeeping; the caller is authenticated all the same.
			db.log.WarnContext(ctx, "record api key use", "key_id", keyID, "err", err)
		}
	}
	return a, nil
}

// requirePassword refuses actors who authenticated with an API key: an API
// key must not be able to mint, list or revoke API keys.
func requirePassword(a guildhall.Actor, what string) error {
	if a.ViaAPIKey {
		return guildhall.Errorf(guildhall.EFORBIDDEN, "An API key cannot %s; authenticate with your username and password.", what)
	}
	return nil
}

// CreateAPIKey makes a new key for the actor and returns it with its secret,
// which is shown this once and never stored.
func (db *DB) CreateAPIKey(ctx context.Context, a guildhall.Actor, title string) (guildhall.APIKey, string, error) {
	if err := requirePassword(a, "create API keys"); err != nil {
		return guildhall.APIKey{}, "", err
	}
	title = strings.TrimSpace(title)
	if len(title) > 100 {
		return guildhall.APIKey{}, "", guildhall.Errorf(guildhall.EINVALID, "title must be at most 100 characters.")
	}
	secret := newAPIKey()
	k := guildhall.APIKey{Title: title, Preview: apiKeyPreview(secret)}
	err := db.update(ctx, func(tx *Tx) error {
		k.Created = tx.now
		res, err := tx.ExecContext(ctx, `INSERT INTO api_keys (user_id, title, key_hash, preview, created) VALUES (?, ?, ?, ?, ?)`,
			a.UserID, title, hashAPIKey(secret), k.Preview, unix(tx.now))
		if err != nil {
			return err
		}
		k.ID, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return guildhall.APIKey{}, "", err
	}
	return k, secret, nil
}

// ListAPIKeys returns the actor's keys, newest first, without their secrets.
func (db *DB) ListAPIKeys(ctx context.Context, a guildhall.Actor) ([]guildhall.APIKey, error) {
	if err := requirePassword(a, "list API keys"); err != nil {
		return nil, err
	}
	var keys []guildhall.APIKey
	err := db.view(ctx, func(tx *Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, title, created, last_used, preview FROM api_keys WHERE user_id = ? ORDER BY id DESC`, a.UserID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k guildhall.APIKey
			var created, lastUsed sql.NullInt64
			if err := rows.Scan(&k.ID, &k.Title, &created, &lastUsed, &k.Preview); err != nil {
				return err
			}
			k.Created, k.LastUsed = fromUnix(created), fromUnix(lastUsed)
			keys = append(keys, k)
		}
		return rows.Err()
	})
	return keys, err
}

// DeleteAPIKey revokes one of the actor's keys.
func (db *DB) DeleteAPIKey(ctx context.Context, a guildhall.Actor, id int64) error {
	if err := requirePassword(a, "delete API keys"); err != nil {
		return err
	}
	return db.update(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM api_keys WHERE id = ? AND user_id = ?`, id, a.UserID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return guildhall.Errorf(guildhall.ENOTFOUND, "You have no API key with id %d.", id)
		}
		return nil
	})
}

// SignUp creates an ordinary user, if this server lets people sign up
// themselves (Options.SignupClosed turns it off; `guildhall user add` still works).
func (db *DB) SignUp(ctx context.Context, username, password string) (guildhall.User, error) {
	if db.signupClosed {
		return guildhall.User{}, guildhall.Errorf(guildhall.EFORBIDDEN, "Sign-up is closed on this server; ask an administrator for an account.")
	}
	return db.CreateUser(ctx, username, password, false)
}

// Login returns all of the actor's memberships, for a password login. An
// API key cannot log in.
func (db *DB) Login(ctx context.Context, a guildhall.Actor) ([]guildhall.Membership, error) {
	if err := requirePassword(a, "log in"); err != nil {
		return nil, err
	}
	return db.FetchMemberships(ctx, a, guildhall.SubsetAll)
}
