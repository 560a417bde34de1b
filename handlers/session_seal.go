package handlers

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
)

// A secret that must ride from one page to the next in the session (a new
// API key, shown once after the redirect that created it) is sealed before
// it is stored: the session's row is readable by whoever reads the
// database or its backups, but the key that opens a sealed value is
// derived from the raw session id, which only the visitor's cookie holds
// (the row is named by the id's hash).

// sealInfo binds the derived key to its use, so no other value derived
// from a session id can serve as it.
const sealInfo = "guildhall session-sealed value v1"

// sessionAEAD derives an AES-256-GCM from the raw session id.
func sessionAEAD(sessionID string) (cipher.AEAD, error) {
	if sessionID == "" {
		return nil, errors.New("seal: no session id")
	}
	key, err := hkdf.Key(sha256.New, []byte(sessionID), nil, sealInfo, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// sealForSession encrypts plaintext under the session sessionID, with
// purpose (the session key it is stored under) as additional data.
func sealForSession(sessionID, purpose string, plaintext []byte) ([]byte, error) {
	aead, err := sessionAEAD(sessionID)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	return aead.Seal(nonce, nonce, plaintext, []byte(purpose)), nil
}

// openForSession decrypts what sealForSession sealed for the same session
// and purpose; anything else is an error.
func openForSession(sessionID, purpose string, sealed []byte) ([]byte, error) {
	aead, err := sessionAEAD(sessionID)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize() {
		return nil, errors.New("seal: too short")
	}
	nonce, box := sealed[:aead.NonceSize()], sealed[aead.NonceSize():]
	return aead.Open(nil, nonce, box, []byte(purpose))
}
