package db

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/crypto/argon2"

	"guildhall"
)

// Argon2Params is the cost of one argon2id password hash.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	KeyLen  uint32 // bytes of output
	SaltLen uint32 // bytes of salt
}

// DefaultArgon2 is OWASP's minimum recommendation for argon2id:
// m=19 MiB, t=2, p=1.
var DefaultArgon2 = Argon2Params{Memory: 19 * 1024, Time: 2, Threads: 1, KeyLen: 32, SaltLen: 16}

// hasher computes argon2id hashes, at most a fixed number at once: each
// takes Memory KiB, so an unbounded burst of logins could exhaust memory.
// Callers beyond the bound wait their turn (or give up with their context).
type hasher struct {
	params Argon2Params
	slots  chan struct{}
	// dummy is a valid hash of a random password, verified against when a
	// username is unknown so that the answer takes as long as a wrong password.
	dummy string
}

func newHasher(p Argon2Params) *hasher {
	h := &hasher{params: p, slots: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))}
	h.dummy = h.encode(rand.Text())
	return h
}

// acquire waits for a hashing slot.
func (h *hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return guildhall.Errorf(guildhall.EUNAVAILABLE, "The server is busy; try again.")
	}
}

func (h *hasher) release() { <-h.slots }

// Hash returns the PHC string of password under h's parameters.
func (h *hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return h.encode(password), nil
}

// encode hashes password with a fresh salt and formats it as a PHC string:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>. golang.org/x/crypto gives
// only the key derivation; this format is the de-facto standard, small
// enough to write here rather than take a dependency for it.
func (h *hasher) encode(password string) string {
	p := h.params
	salt := make([]byte, p.SaltLen)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// Verify reports whether password matches the PHC string encoded, with the
// parameters recorded in it, comparing in constant time.
func (h *hasher) Verify(ctx context.Context, encoded, password string) (bool, error) {
	var p Argon2Params
	var version int
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, fmt.Errorf("password hash is not an argon2id PHC string")
	}
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, fmt.Errorf("password hash has unsupported version %q", parts[2])
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return false, fmt.Errorf("password hash parameters %q: %w", parts[3], err)
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, fmt.Errorf("password hash salt: %w", err)
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil {
		return false, fmt.Errorf("password hash key: %w", err)
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
