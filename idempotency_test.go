package guildhall_test

import (
	"strings"
	"testing"

	"guildhall"
)

func TestValidateIdempotencyKey(t *testing.T) {
	for _, ok := range []string{"a", "retry-7f3e", "with space", strings.Repeat("k", guildhall.IdempotencyKeyMaxLen), "~!@#$%^&*()"} {
		if err := guildhall.ValidateIdempotencyKey(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", strings.Repeat("k", guildhall.IdempotencyKeyMaxLen+1), "tab\there", "nul\x00", "é", "del\x7f"} {
		if err := guildhall.ValidateIdempotencyKey(bad); guildhall.ErrorCode(err) != guildhall.EINVALID {
			t.Errorf("%q accepted: %v", bad, err)
		}
	}
}

// TestAnswerIsFinal: refusals that judged the request are kept for
// retries; those where nothing ran are not.
func TestAnswerIsFinal(t *testing.T) {
	final := map[string]bool{
		guildhall.EINVALID: true, guildhall.EFORBIDDEN: true, guildhall.ENOTFOUND: true, guildhall.ECONFLICT: true, guildhall.EGONE: true,
		guildhall.ERATELIMITED: false, guildhall.EUNAVAILABLE: false, guildhall.EINTERNAL: false, guildhall.EUNAUTHORIZED: false,
	}
	for code, want := range final {
		if got := guildhall.AnswerIsFinal(code); got != want {
			t.Errorf("AnswerIsFinal(%s) = %v, want %v", code, got, want)
		}
	}
}
