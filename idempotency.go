package guildhall

import "time"

// Limits on idempotent writes: a write sent with an Idempotency-Key runs
// once, and a retry with the same key gets the first answer again.
const (
	// IdempotencyKeyMaxLen bounds a key, in characters (printable ASCII).
	IdempotencyKeyMaxLen = 255
	// IdempotencyTTL is how long a stored answer is kept for retries.
	IdempotencyTTL = 24 * time.Hour
)

// ValidateIdempotencyKey checks a key: 1 to 255 printable ASCII characters.
func ValidateIdempotencyKey(key string) error {
	if len(key) < 1 || len(key) > IdempotencyKeyMaxLen {
		return Errorf(EINVALID, "Idempotency-Key must be 1 to %d characters long.", IdempotencyKeyMaxLen)
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return Errorf(EINVALID, "Idempotency-Key must be printable ASCII characters.")
		}
	}
	return nil
}

// IdempotentCall names one write for the idempotency store: whose it is,
// the key the caller chose, and a fingerprint of what was asked, so that
// the same key sent with other arguments is told apart.
type IdempotentCall struct {
	UserID      int64
	Key         string
	Fingerprint []byte
}

// Answer is a write's answer as the idempotency store keeps it, to give a
// retry exactly what the first request got.
type Answer struct {
	Status int
	Body   []byte
}

// AnswerIsFinal reports whether a refusal with code settles the request,
// so that a retry with the same key must get it again. A rate limit, an
// unavailable database or an internal fault are not final: nothing ran,
// and a retry should run.
func AnswerIsFinal(code string) bool {
	switch code {
	case ERATELIMITED, EUNAVAILABLE, EINTERNAL, EUNAUTHORIZED:
		return false
	}
	return true
}
