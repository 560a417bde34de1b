package db

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
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

// authenticateKey finds the user an API key belongs to (Authenticate's
// half for keys), comparing its hash in constant time, and notes its use.
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

// CreateAPIKey makes a new key for the actor and returns it with its secret,
// which is shown this once and never stored.
func (db *DB) CreateAPIKey(ctx context.Context, a guildhall.Actor, title string) (guildhall.APIKey, string, error) {
	if err := guildhall.RequirePassword(a, guildhall.OpCreateAPIKey); err != nil {
		return guildhall.APIKey{}, "", err
	}
	title, err := guildhall.NormalizeAPIKeyTitle(title)
	if err != nil {
		return guildhall.APIKey{}, "", err
	}
	secret := newAPIKey()
	k := guildhall.APIKey{Title: title, Preview: apiKeyPreview(secret)}
	err = db.update(ctx, func(tx *Tx) error {
		k.Created = tx.now
		return tx.QueryRowContext(ctx, `INSERT INTO api_keys (user_id, title, key_hash, preview, created) VALUES (?, ?, ?, ?, ?) RETURNING id`,
			a.UserID, title, hashAPIKey(secret), k.Preview, unix(tx.now)).Scan(&k.ID)
	})
	if err != nil {
		return guildhall.APIKey{}, "", err
	}
	return k, secret, nil
}

// ListAPIKeys returns the actor's keys, newest first, without their secrets.
func (db *DB) ListAPIKeys(ctx context.Context, a guildhall.Actor) ([]guildhall.APIKey, error) {
	if err := guildhall.RequirePassword(a, guildhall.OpListAPIKeys); err != nil {
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
	if err := guildhall.RequirePassword(a, guildhall.OpDeleteAPIKey); err != nil {
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

// API keys are "sk-" and 48 characters of base62: about 285 bits from
// crypto/rand, so a fast hash (SHA-256) is enough to store them: there is
// nothing to brute-force that a slow hash would protect.
const (
	apiKeyPrefix = "sk-"
	apiKeyLen    = 48
	base62       = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

// newAPIKey returns a fresh random key. Bytes are drawn by rejection
// sampling so every base62 character is equally likely.
func newAPIKey() string {
	var b strings.Builder
	b.WriteString(apiKeyPrefix)
	buf := make([]byte, 64)
	for b.Len() < len(apiKeyPrefix)+apiKeyLen {
		rand.Read(buf)
		for _, c := range buf {
			if c >= 248 { // 248 = 4 × 62: keep the distribution uniform
				continue
			}
			if b.Len() == len(apiKeyPrefix)+apiKeyLen {
				break
			}
			b.WriteByte(base62[c%62])
		}
	}
	return b.String()
}

// hashAPIKey is the stored form of a key.
func hashAPIKey(key string) []byte {
	sum := sha256.Sum256([]byte(key))
	return sum[:]
}

// validAPIKeyShape reports whether key looks like one of ours, so garbage
// is refused without a database lookup.
func validAPIKeyShape(key string) bool {
	if len(key) != len(apiKeyPrefix)+apiKeyLen || !strings.HasPrefix(key, apiKeyPrefix) {
		return false
	}
	for i := len(apiKeyPrefix); i < len(key); i++ {
		if !strings.ContainsRune(base62, rune(key[i])) {
			return false
		}
	}
	return true
}

// apiKeyPreview is what lists show of a key: "sk-..." and its last four.
func apiKeyPreview(key string) string { return apiKeyPrefix + "..." + key[len(key)-4:] }
