package guildhall_test

import (
	"testing"

	"guildhall"
)

func TestParseMembershipSubset(t *testing.T) {
	for _, s := range []guildhall.MembershipSubset{guildhall.SubsetAccepted, guildhall.SubsetOpenInvitations, guildhall.SubsetAll} {
		if got, err := guildhall.ParseMembershipSubset(string(s)); err != nil || got != s {
			t.Errorf("ParseMembershipSubset(%q) = %q, %v", s, got, err)
		}
	}
	if _, err := guildhall.ParseMembershipSubset("some"); guildhall.ErrorCode(err) != guildhall.EINVALID {
		t.Errorf("ParseMembershipSubset(some) = %v", err)
	}
}
