package guildhall_test

import (
	"testing"

	"guildhall"
)

func TestErrorCodeAndMessage(t *testing.T) {
	err := guildhall.Errorf(guildhall.ECONFLICT, "bob is already a member of %s.", "Acme")
	if guildhall.ErrorCode(err) != guildhall.ECONFLICT || guildhall.ErrorMessage(err) != "bob is already a member of Acme." {
		t.Errorf("coded error: code %q message %q", guildhall.ErrorCode(err), guildhall.ErrorMessage(err))
	}
	plain := errTest("near \"SELEC\": syntax error")
	if guildhall.ErrorCode(plain) != guildhall.EINTERNAL || guildhall.ErrorMessage(plain) != "Internal error." {
		t.Errorf("an uncoded error must read as internal, got %q / %q", guildhall.ErrorCode(plain), guildhall.ErrorMessage(plain))
	}
}

type errTest string

func (e errTest) Error() string { return string(e) }
