package guildhall

import (
	"errors"
	"fmt"
	"time"
)

// Error codes: the machine-readable part of every failure a caller can see.
// Each maps to exactly one HTTP status in handlers.
const (
	EINVALID      = "invalid_request"   // malformed or out-of-range input (400)
	EUNAUTHORIZED = "unauthorized"      // missing or wrong credentials (401)
	EFORBIDDEN    = "forbidden"         // authenticated, but not allowed (403)
	ENOTFOUND     = "not_found"         // the thing named does not exist (404)
	ECONFLICT     = "conflict"          // the state forbids it: duplicate, already resolved (409)
	EGONE         = "gone"              // it existed but has expired (410)
	ETOOLARGE     = "payload_too_large" // request body over the limit (413)
	ERATELIMITED  = "rate_limited"      // too many attempts; see Error.RetryAfter (429)
	EINTERNAL     = "internal"          // a bug or fault; details are logged, never shown (500)
	EUNAVAILABLE  = "unavailable"       // storage cannot take writes right now (503)
)

// EIDEMPOTENCY is the code of an Idempotency-Key reused with other
// arguments (422): the key names one request, and this is another.
const EIDEMPOTENCY = "idempotency_mismatch"

// Error is a failure meant for the caller: Code says what kind, Message says
// it in words a person understands. Anything that is not an *Error is an
// internal error and its text never leaves the server.
type Error struct {
	Code    string
	Message string
	// RetryAfter, when set, tells a rate-limited caller how long to wait.
	RetryAfter time.Duration
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("guildhall error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err if it is (or wraps) an *Error, else EINTERNAL.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the human message of err if it is (or wraps) an
// *Error, else the generic "Internal error.".
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}
