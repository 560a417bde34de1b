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
// Callers beyond the bound wait their turn (or give up with their
// context). The slots come in two shares: checks of a password at login
// (Verify), and hashes of a new password (Hash: sign-up, `user add`).
// Neither waits for the other, so a flood of sign-ups, which anyone can
// send, fills only its own share, and a correct login still finds a slot.
type hasher struct {
	params Argon2Params
	// verifySlots holds one slot per CPU, newSlots half as many (at least
	// one): at most 1.5 × CPUs hashes run at once.
	verifySlots, newSlots chan struct{}
	// dummy is a valid hash of a random password, verified against when a
	// username is unknown so that the answer takes as long as a wrong password.
	dummy string
}

func newHasher(p Argon2Params) *hasher {
	cpus := runtime.GOMAXPROCS(0)
	h := &hasher{params: p, verifySlots: make(chan struct{}, max(1, cpus)), newSlots: make(chan struct{}, max(1, cpus/2))}
	h.dummy = h.encode(rand.Text())
	return h
}

// errHasherBusy answers a caller who gave up waiting for a hashing slot.
var errHasherBusy = guildhall.Errorf(guildhall.EUNAVAILABLE, "The server is busy; try again.")

// acquire waits for one of slots. A caller already gone gets none, even
// if one is free: nobody is waiting for that hash.
func acquire(ctx context.Context, slots chan struct{}) error {
	if ctx.Err() != nil {
		return errHasherBusy
	}
	select {
	case slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return errHasherBusy
	}
}

// Hash returns the PHC string of a new password under h's parameters,
// hashed in the share for new passwords.
func (h *hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := acquire(ctx, h.newSlots); err != nil {
		return "", err
	}
	defer func() { <-h.newSlots }()
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
// parameters recorded in it, comparing in constant time. It hashes in the
// share for logins.
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
	if err := acquire(ctx, h.verifySlots); err != nil {
		return false, err
	}
	defer func() { <-h.verifySlots }()
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
