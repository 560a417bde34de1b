package db

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"time"

	"guildhall"
)

// apiKeyTouchInterval bounds how often a key's last_used is written: once
// a minute is precise enough to read and keeps reads from becoming writes.
const apiKeyTouchInterval = time.Minute

// Bounds on the cache of API keys recently checked (keyCache).
const (
	// keyCacheTTL is how long a key checked in the database is believed
	// without checking again. A key revoked by this server stops working
	// at once; revoked elsewhere (another server on the same database), it
	// stops within this time.
	keyCacheTTL = time.Second
	// keyCacheMaxKeys bounds the keys remembered (each about 150 bytes).
	keyCacheMaxKeys = 10_000
)

// keyCache remembers the API keys this server checked in the last
// keyCacheTTL, by their hash: a client sending requests with one key
// costs one database read a second instead of one a request (it was a
// tenth of the CPU of an invitation). Revoking a key here forgets it once
// the revocation is committed (in an idempotent write or a group commit,
// that is the enclosing transaction's commit) and before it is answered.
type keyCache struct {
	mu   sync.Mutex
	keys map[[sha256.Size]byte]cachedKey
	// generation counts revocations: a lookup begun before one may not
	// remember what it read.
	generation uint64
}

// cachedKey is a key as it was read from the database at checked.
type cachedKey struct {
	actor    guildhall.Actor
	keyID    int64
	lastUsed sql.NullInt64
	checked  time.Time
}

func newKeyCache() *keyCache { return &keyCache{keys: map[[sha256.Size]byte]cachedKey{}} }

// get returns the key with hash sum if it was checked within keyCacheTTL
// of now, and the generation to remember a fresh lookup under.
func (c *keyCache) get(sum [sha256.Size]byte, now time.Time) (cachedKey, bool, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := c.keys[sum]
	if ok && (now.Before(k.checked) || now.Sub(k.checked) >= keyCacheTTL) {
		delete(c.keys, sum)
		ok = false
	}
	return k, ok, c.generation
}

// put remembers a key read at generation gen, unless a key was revoked
// since (the read may predate the revocation).
func (c *keyCache) put(sum [sha256.Size]byte, k cachedKey, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.generation {
		return
	}
	if len(c.keys) >= keyCacheMaxKeys {
		clear(c.keys) // a flood of keys only costs the reads it would have cost anyway
	}
	c.keys[sum] = k
}

// forget drops the key with id keyID, once its revocation is committed.
func (c *keyCache) forget(keyID int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.generation++
	for sum, k := range c.keys {
		if k.keyID == keyID {
			delete(c.keys, sum)
		}
	}
}

// keyLookupSQL finds an API key by its hash, with its user.
const keyLookupSQL = `
	SELECT k.id, k.key_hash, k.last_used, u.id, u.username, u.admin
	FROM api_keys k JOIN users u ON u.id = k.user_id
	WHERE k.key_hash = ?`

// authenticateKey finds the user an API key belongs to (Authenticate's
// half for keys), comparing its hash in constant time, and notes its use.
func (db *DB) authenticateKey(ctx context.Context, key string) (guildhall.Actor, error) {
	bad := guildhall.Errorf(guildhall.EUNAUTHORIZED, "Invalid API key.")
	if !validAPIKeyShape(key) {
		return guildhall.Actor{}, bad
	}
	sum := sha256.Sum256([]byte(key))
	now := db.now().UTC()
	k, cached, gen := db.keys.get(sum, now)
	if !cached {
		// One statement, prepared once on the reader pool, with no
		// transaction of its own to begin and commit: a single read,
		// consistent by itself.
		var stored []byte
		err := db.keyLookup.QueryRowContext(ctx, sum[:]).Scan(&k.keyID, &stored, &k.lastUsed, &k.actor.UserID, &k.actor.Username, &k.actor.Admin)
		if errors.Is(err, sql.ErrNoRows) {
			return guildhall.Actor{}, bad
		} else if err != nil {
			return guildhall.Actor{}, db.storageError(ctx, "authenticate key", err)
		}
		if subtle.ConstantTimeCompare(stored, sum[:]) != 1 {
			return guildhall.Actor{}, bad
		}
		k.actor.Auth, k.checked = guildhall.AuthAPIKey, now
	}
	if !k.lastUsed.Valid || now.Sub(fromUnix(k.lastUsed)) >= apiKeyTouchInterval {
		err := db.update(ctx, func(tx *Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE api_keys SET last_used = ? WHERE id = ?`, unix(tx.now), k.keyID)
			return err
		})
		if err != nil {
			// Recording the use is bookkeeping; the caller is authenticated all the same.
			db.log.WarnContext(ctx, "record api key use", "key_id", k.keyID, "err", err)
		} else {
			k.lastUsed = sql.NullInt64{Int64: unix(now), Valid: true}
			cached = false // remember the new time
		}
	}
	if !cached {
		db.keys.put(sum, k, gen)
	}
	return k.actor, nil
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
		if err := tx.checkPasswordStamp(ctx, a); err != nil {
			return err
		}
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
		// Forgotten once the deletion is committed, not before: a lookup
		// in between would read the key still there and remember it. The
		// revocation is answered after.
		tx.afterCommit(func() { db.keys.forget(id) })
		return nil
	})
}

// API keys are "sk-" and 48 characters of base62: about 285 bits from
// crypto/rand, so a fast hash (SHA-256) is enough to store them: there is
// nothing to brute-force that a slow hash would protect.
// Sign-in tokens (tokens.go) have the same shape with guildhall.TokenPrefix.
const (
	apiKeyPrefix = guildhall.APIKeyPrefix
	apiKeyLen    = 48
	base62       = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

// newAPIKey returns a fresh random key.
func newAPIKey() string { return newSecret(apiKeyPrefix) }

// newSecret returns prefix and apiKeyLen random base62 characters. Bytes
// are drawn by rejection sampling so every character is equally likely.
func newSecret(prefix string) string {
	var b strings.Builder
	b.WriteString(prefix)
	buf := make([]byte, 64)
	for b.Len() < len(prefix)+apiKeyLen {
		rand.Read(buf)
		for _, c := range buf {
			if c >= 248 { // 248 = 4 × 62: keep the distribution uniform
				continue
			}
			if b.Len() == len(prefix)+apiKeyLen {
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
func validAPIKeyShape(key string) bool { return validSecretShape(key, apiKeyPrefix) }

// validSecretShape reports whether secret is what newSecret(prefix) makes.
func validSecretShape(secret, prefix string) bool {
	if len(secret) != len(prefix)+apiKeyLen || !strings.HasPrefix(secret, prefix) {
		return false
	}
	for i := len(prefix); i < len(secret); i++ {
		if !strings.ContainsRune(base62, rune(secret[i])) {
			return false
		}
	}
	return true
}

// apiKeyPreview is what lists show of a key: "sk-..." and its last four.
func apiKeyPreview(key string) string { return apiKeyPrefix + "..." + key[len(key)-4:] }
