package db

import (
	"context"
	"database/sql"
	"errors"

	"guildhall"
)

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
		return guildhall.Actor{}, guildhall.Errorf(guildhall.EINVALID, "Give either an API key or a username and password, not both.")
	case c.APIKey != "":
		return db.authenticateKey(ctx, c.APIKey)
	case c.Username != "" || c.Password != "":
		// Usernames are lower-case: "Alice" signs in alice, and counts
		// towards alice's throttle, so case cannot buy more guesses.
		c.Username = guildhall.FoldUsername(c.Username)
		// Throttled here, so the page login and the API's password auth
		// share one counter.
		if err := db.throttle.begin(c.Username, c.ClientAddr, db.now()); err != nil {
			return guildhall.Actor{}, err
		}
		a, err := db.authenticatePassword(ctx, c.Username, c.Password)
		db.throttle.finish(c.Username, c.ClientAddr, err)
		return a, err
	}
	return guildhall.Actor{}, guildhall.Errorf(guildhall.EUNAUTHORIZED, "Authentication required: give an API key, or a username and password.")
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

// ChangePassword sets the actor's password, which only a password may
// authorize, and ends every browser session of theirs in the same
// transaction; API keys stay. A page that changes the password signs its
// own browser in again with a new session.
func (db *DB) ChangePassword(ctx context.Context, a guildhall.Actor, newPassword string) error {
	if err := guildhall.RequirePassword(a, guildhall.OpChangePassword); err != nil {
		return err
	}
	if err := guildhall.ValidatePassword(newPassword); err != nil {
		return err
	}
	hash, err := db.hasher.Hash(ctx, newPassword)
	if err != nil {
		return err
	}
	return db.update(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, hash, a.UserID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return guildhall.Errorf(guildhall.ENOTFOUND, "Your account no longer exists.")
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, a.UserID)
		return err
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

// LoginMemberships returns all of the actor's memberships, as a password
// login answers with them. An API key cannot log in.
func (db *DB) LoginMemberships(ctx context.Context, a guildhall.Actor) ([]guildhall.Membership, error) {
	if err := guildhall.RequirePassword(a, guildhall.OpLogIn); err != nil {
		return nil, err
	}
	return db.FetchMemberships(ctx, a, guildhall.SubsetAll)
}
