package guildhall_test

import (
	"fmt"
	"testing"
	"time"

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

func TestCheckDeletionConfirmation(t *testing.T) {
	for typed, ok := range map[string]bool{"Acme Guild": true, "  Acme Guild ": true, "acme guild": false, "Acme": false, "": false} {
		err := guildhall.CheckDeletionConfirmation("Acme Guild", typed)
		if (err == nil) != ok || err != nil && guildhall.ErrorCode(err) != guildhall.EINVALID {
			t.Errorf("confirming %q: %v", typed, err)
		}
	}
}

// TestMemberFilters: which standings each filter lets through, and the
// values pages and calls may name.
func TestMemberFilters(t *testing.T) {
	want := map[guildhall.MemberFilter]string{
		guildhall.MembersCurrent: "[active invited]",
		guildhall.MembersActive:  "[active]",
		guildhall.MembersInvited: "[invited]",
		guildhall.MembersExpired: "[expired]",
		guildhall.MembersAll:     "[active invited expired]",
	}
	for f, w := range want {
		var in []guildhall.MemberFilter
		for _, s := range guildhall.Standings {
			if f.Includes(s) {
				in = append(in, s)
			}
		}
		if fmt.Sprint(in) != w {
			t.Errorf("%q lets through %v, want %s", f, in, w)
		}
		if got, err := guildhall.ParseMemberFilter(string(f)); err != nil || got != f {
			t.Errorf("ParseMemberFilter(%q) = %q, %v", f, got, err)
		}
	}
	if _, err := guildhall.ParseMemberFilter("pending"); guildhall.ErrorCode(err) != guildhall.EINVALID {
		t.Errorf("an unknown filter: %v", err)
	}
	for _, s := range []string{"", "name", "joined"} {
		if _, err := guildhall.ParseMemberSort(s); err != nil {
			t.Errorf("sort %q: %v", s, err)
		}
	}
	if _, err := guildhall.ParseMemberSort("age"); guildhall.ErrorCode(err) != guildhall.EINVALID {
		t.Errorf("an unknown sort: %v", err)
	}
}

func TestMembersPageWindow(t *testing.T) {
	row := []guildhall.Membership{{Username: "ann"}}
	for _, tt := range []struct {
		offset, limit, total int
		cursor               string
		members              []guildhall.Membership
		out                  bool
	}{
		{0, 50, 0, "", nil, false}, {0, 50, 50, "", row, false}, {50, 50, 51, "", row, false}, {300, 50, 300, "", nil, true}, {0, 0, 10, "", row, false},
		// A cursor whose rows are gone; one that still finds some.
		{0, 50, 10, "c", nil, true}, {0, 50, 10, "c", row, false},
		// Uncounted (a broad search): past the end is an empty page after the start.
		{100, 50, -1, "", nil, true}, {0, 50, -1, "", nil, false}, {100, 50, -1, "", row, false},
	} {
		p := guildhall.MembersPage{MembersQuery: guildhall.MembersQuery{Offset: tt.offset, Limit: tt.limit, Cursor: tt.cursor}, Total: tt.total, Members: tt.members}
		if p.OutOfRange() != tt.out {
			t.Errorf("%+v: out of range %v; want %v", tt, p.OutOfRange(), tt.out)
		}
	}
	if err := guildhall.CheckListLimit(guildhall.ListMaxLimit); err != nil {
		t.Error(err)
	}
	for _, n := range []int{0, -1, guildhall.ListMaxLimit + 1} {
		if guildhall.ErrorCode(guildhall.CheckListLimit(n)) != guildhall.EINVALID {
			t.Errorf("limit %d accepted", n)
		}
	}
}

// TestMembershipStanding: a member is active whatever its dates; an
// invitation is open until the second it expires, and expired from then.
func TestMembershipStanding(t *testing.T) {
	now := time.Unix(1_700_000_000, 0).UTC()
	for _, c := range []struct {
		m    guildhall.Membership
		want guildhall.MemberFilter
	}{
		{guildhall.Membership{Status: guildhall.StatusActive}, guildhall.MembersActive},
		{guildhall.Membership{Status: guildhall.StatusPending, Expires: now.Add(time.Second)}, guildhall.MembersInvited},
		{guildhall.Membership{Status: guildhall.StatusPending, Expires: now}, guildhall.MembersExpired},
		{guildhall.Membership{Status: guildhall.StatusPending, Expires: now.Add(-time.Hour)}, guildhall.MembersExpired},
	} {
		if got := c.m.Standing(now); got != c.want {
			t.Errorf("%s invitation expiring %v: standing %q at %v, want %q", c.m.Status, c.m.Expires, got, now, c.want)
		}
	}
}
