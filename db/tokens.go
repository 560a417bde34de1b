package db

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"time"

	"guildhall"
)

// Sign-in tokens: what login and add_user hand out for QueryLake's
// clients to send back as auth. A token is guildhall.TokenPrefix and 48
// random base62 characters (like an API key, about 285 bits), so its
// SHA-256 is all that is stored, as for API keys and sessions.

// errBadToken is the one answer for an unknown or ended token.
var errBadToken = guildhall.Errorf(guildhall.EUNAUTHORIZED, "Invalid sign-in token; log in again.")

// CreateToken hands the actor a new sign-in token, valid for the
// configured token TTL, and returns it with its expiry. Only a password
// sign-in mints tokens (guildhall.OpLogIn): a token that could mint
// tokens would never expire. A password changed since it was checked
// refuses the token (checkPasswordStamp). Tokens already expired are swept
// in the same transaction.
func (db *DB) CreateToken(ctx context.Context, a guildhall.Actor) (string, time.Time, error) {
	if err := guildhall.RequirePassword(a, guildhall.OpLogIn); err != nil {
		return "", time.Time{}, err
	}
	token := newSecret(guildhall.TokenPrefix)
	var expires time.Time
	err := db.update(ctx, func(tx *Tx) error {
		if err := tx.checkPasswordStamp(ctx, a); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM auth_tokens WHERE expires <= ?`, unix(tx.now)); err != nil {
			return err
		}
		expires = tx.now.Add(db.tokenTTL)
		_, err := tx.ExecContext(ctx, `INSERT INTO auth_tokens (id_hash, user_id, created, expires) VALUES (?, ?, ?, ?)`,
			hashAPIKey(token), a.UserID, unix(tx.now), unix(expires))
		return err
	})
	if err != nil {
		return "", time.Time{}, err
	}
	return token, expires, nil
}

// authenticateToken finds the user a live sign-in token belongs to
// (Authenticate's half for tokens), comparing its hash in constant time.
func (db *DB) authenticateToken(ctx context.Context, token string) (guildhall.Actor, error) {
	if !validSecretShape(token, guildhall.TokenPrefix) {
		return guildhall.Actor{}, errBadToken
	}
	sum := hashAPIKey(token)
	var a guildhall.Actor
	var stored []byte
	var expires int64
	var now time.Time
	err := db.view(ctx, func(tx *Tx) error {
		now = tx.now
		return tx.QueryRowContext(ctx, `
			SELECT t.id_hash, t.expires, u.id, u.username, u.admin
			FROM auth_tokens t JOIN users u ON u.id = t.user_id
			WHERE t.id_hash = ?`, sum).
			Scan(&stored, &expires, &a.UserID, &a.Username, &a.Admin)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return guildhall.Actor{}, errBadToken
	} else if err != nil {
		return guildhall.Actor{}, err
	}
	if subtle.ConstantTimeCompare(stored, sum) != 1 {
		return guildhall.Actor{}, errBadToken
	}
	if !now.Before(time.Unix(expires, 0)) {
		return guildhall.Actor{}, guildhall.Errorf(guildhall.EUNAUTHORIZED, "Your sign-in token has expired; log in again.")
	}
	a.Auth = guildhall.AuthToken
	return a, nil
}

// EndToken ends the sign-in token the actor authenticated with (logout).
// Ending it twice is not an error: the second call cannot authenticate.
func (db *DB) EndToken(ctx context.Context, a guildhall.Actor, token string) error {
	if err := guildhall.RequireToken(a); err != nil {
		return err
	}
	return db.update(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM auth_tokens WHERE id_hash = ? AND user_id = ?`, hashAPIKey(token), a.UserID)
		return err
	})
}

// endTokens deletes every sign-in token of the user, as changing the
// password must (a token is a password login's stand-in), in the caller's
// transaction.
func (tx *Tx) endTokens(ctx context.Context, userID int64) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM auth_tokens WHERE user_id = ?`, userID)
	return err
}
