package db

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"

	"guildhall"
)

// errBadCredentials is the one answer for an unknown user, a wrong password
// and an unknown key alike, so a caller learns nothing about which it was.
var errBadCredentials = guildhall.Errorf(guildhall.EUNAUTHORIZED, "Invalid username or password.")

// CreateUser signs up a user with a username and password. A taken name
// is refused before the password is hashed, so a flood of sign-ups for an
// existing name costs a read each, not a hash; the UNIQUE constraint still
// decides between two sign-ups racing for a new name.
func (db *DB) CreateUser(ctx context.Context, username, password string, admin bool) (guildhall.User, error) {
	if err := validNewAccount(username, password); err != nil {
		return guildhall.User{}, err
	}
	var taken bool
	if err := db.view(ctx, func(tx *Tx) error {
		return tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE username = ?)`, username).Scan(&taken)
	}); err != nil {
		return guildhall.User{}, err
	}
	if taken {
		return guildhall.User{}, usernameTaken(username)
	}
	hash, err := db.hasher.Hash(ctx, password)
	if err != nil {
		return guildhall.User{}, err
	}
	u := guildhall.User{Username: username, Admin: admin}
	err = db.update(ctx, func(tx *Tx) error {
		u.Created = tx.now
		err := tx.QueryRowContext(ctx, `INSERT INTO users (username, password_hash, admin, created) VALUES (?, ?, ?, ?) RETURNING id`,
			username, hash, admin, unix(tx.now)).Scan(&u.ID)
		if tx.dialect.uniqueViolation(err) {
			return usernameTaken(username)
		}
		return err
	})
	return u, err
}

// validNewAccount checks the username and password of a new account.
func validNewAccount(username, password string) error {
	if err := guildhall.ValidateUsername(username); err != nil {
		return err
	}
	return guildhall.ValidatePassword(password)
}

// usernameTaken is the refusal of a sign-up for a name someone has.
func usernameTaken(username string) error {
	return guildhall.Errorf(guildhall.ECONFLICT, "The username %q is taken.", username)
}

// Authenticate checks credentials and returns the actor they name. A wrong
// password and an unknown user give the same error and take about as long.
func (db *DB) Authenticate(ctx context.Context, c guildhall.Credentials) (guildhall.Actor, error) {
	forms := 0
	for _, given := range []bool{c.APIKey != "", c.Token != "", c.Username != "" || c.Password != ""} {
		if given {
			forms++
		}
	}
	switch {
	case forms > 1:
		return guildhall.Actor{}, guildhall.Errorf(guildhall.EINVALID, "Give either an API key, a sign-in token, or a username and password, not more than one.")
	case c.APIKey != "":
		return db.authenticateKey(ctx, c.APIKey)
	case c.Token != "":
		return db.authenticateToken(ctx, c.Token)
	case c.Username != "" || c.Password != "":
		// Usernames are lower-case: "Alice" signs in alice, and counts
		// towards alice's throttle, so case cannot buy more guesses.
		c.Username = guildhall.FoldUsername(c.Username)
		if c.Username == "" || c.Password == "" {
			return guildhall.Actor{}, guildhall.Errorf(guildhall.EUNAUTHORIZED, "Authentication with a password needs both username and password.")
		}
		if guildhall.ValidateUsername(c.Username) != nil || !guildhall.PasswordMayMatch(c.Password) {
			// No account has such a name or such a password. Refused before
			// the throttle and the hasher: the answer says nothing about
			// any account, and junk costs neither memory nor a hash.
			return guildhall.Actor{}, errBadCredentials
		}
		// Throttled here, so the page login and the API's password auth
		// share one counter.
		if err := db.throttle.begin(ctx, c.Username, c.ClientAddr, db.now()); err != nil {
			return guildhall.Actor{}, err
		}
		a, err := db.authenticatePassword(ctx, c.Username, c.Password)
		db.throttle.finish(ctx, c.Username, c.ClientAddr, db.now(), err)
		return a, err
	}
	return guildhall.Actor{}, guildhall.Errorf(guildhall.EUNAUTHORIZED, "Authentication required: give an API key, a sign-in token, or a username and password.")
}

func (db *DB) authenticatePassword(ctx context.Context, username, password string) (guildhall.Actor, error) {
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
	ok, err := db.hasher.Verify(ctx, hash, password)
	if err != nil {
		return guildhall.Actor{}, err
	}
	if !ok || !known {
		return guildhall.Actor{}, errBadCredentials
	}
	a.Auth, a.PasswordStamp = guildhall.AuthPassword, passwordStamp(hash)
	return a, nil
}

// passwordStamp is the guildhall.Actor.PasswordStamp of a stored password
// hash: its SHA-256, so an actor carries nothing to guess a password from.
func passwordStamp(hash string) string {
	sum := sha256.Sum256([]byte(hash))
	return hex.EncodeToString(sum[:])
}

// checkPasswordStamp refuses, inside the transaction that is about to
// hand a credential to a (or change its password), an actor whose
// password was checked against a hash that is no longer the user's: a
// change_password committed between the check and this transaction. An
// actor without a stamp was not checked against a password here, and
// passes. The refusal is the bad-credential one: the password given is no
// longer the password.
func (tx *Tx) checkPasswordStamp(ctx context.Context, a guildhall.Actor) error {
	if a.PasswordStamp == "" {
		return nil
	}
	var hash string
	err := tx.QueryRowContext(ctx, `SELECT password_hash FROM users WHERE id = ?`, a.UserID).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return errBadCredentials
	} else if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare([]byte(passwordStamp(hash)), []byte(a.PasswordStamp)) != 1 {
		return errBadCredentials
	}
	return nil
}

// ConfirmPassword checks that password is the current password of the
// signed-in actor a, through Authenticate's password check and its
// throttle (clientAddr counts as at login), and returns a as an actor that
// authenticated with that password (guildhall.AuthPassword, stamped): what
// a browser session must present to create an API key or change the
// password (guildhall.SessionMay). A wrong password is EUNAUTHORIZED.
func (db *DB) ConfirmPassword(ctx context.Context, a guildhall.Actor, password, clientAddr string) (guildhall.Actor, error) {
	confirmed, err := db.Authenticate(ctx, guildhall.Credentials{Username: a.Username, Password: password, ClientAddr: clientAddr})
	if guildhall.ErrorCode(err) == guildhall.EUNAUTHORIZED || err == nil && confirmed.UserID != a.UserID {
		return guildhall.Actor{}, guildhall.Errorf(guildhall.EUNAUTHORIZED, "Your current password is not right.")
	} else if err != nil {
		return guildhall.Actor{}, err
	}
	return confirmed, nil
}

// ChangePassword sets the actor's password, which only a password may
// authorize (not an API key, nor a sign-in token, nor a browser session
// without ConfirmPassword), and ends every browser session and every
// sign-in token of theirs in the same transaction; API keys stay. The new
// password is hashed in the hasher's share for new passwords, as at
// sign-up. An actor whose password has changed since it was checked is
// refused (checkPasswordStamp). A page that changes the password signs
// its own browser in again with a new session.
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
		if err := tx.checkPasswordStamp(ctx, a); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, hash, a.UserID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return guildhall.Errorf(guildhall.ENOTFOUND, "Your account no longer exists.")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, a.UserID); err != nil {
			return err
		}
		return tx.endTokens(ctx, a.UserID)
	})
}

// SignUp creates an ordinary user for a caller who is not signed in, if
// this server lets people sign up themselves (Options.SignupClosed turns
// it off; `guildhall user add` still works). Sign-ups are rate-limited per
// client address (Options.SignupRate), counted before anything is read or
// hashed: every attempt that names a valid username and password counts,
// taken names included.
func (db *DB) SignUp(ctx context.Context, username, password, clientAddr string) (guildhall.User, error) {
	if db.signupClosed {
		return guildhall.User{}, guildhall.Errorf(guildhall.EFORBIDDEN, "Sign-up is closed on this server; ask an administrator for an account.")
	}
	if err := validNewAccount(username, password); err != nil {
		return guildhall.User{}, err
	}
	if err := db.rateLimited(ctx, db.signupRate, addrKey(clientAddr), fmt.Sprintf(
		"Too many sign-ups from your network (at most %d an hour)", db.signupRatePerHour)); err != nil {
		return guildhall.User{}, err
	}
	return db.CreateUser(ctx, username, password, false)
}

// LoginMemberships returns the first page of the actor's memberships (all
// of them, as fetch_memberships with "all" lists them), as a password
// login answers with them; the page's cursor reads on. An API key cannot
// log in.
func (db *DB) LoginMemberships(ctx context.Context, a guildhall.Actor) (guildhall.MembershipsPage, error) {
	if err := guildhall.RequirePassword(a, guildhall.OpLogIn); err != nil {
		return guildhall.MembershipsPage{}, err
	}
	return db.ListMemberships(ctx, a, guildhall.MembershipsQuery{Subset: guildhall.SubsetAll})
}
