package db_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"guildhall"
	"guildhall/db"
	"guildhall/db/dbtest"
)

// acme is an organization with one active member of each role, a pending
// invitee (pete, as member) and an outsider (otto), in a database of its own.
type acme struct {
	d                                           *db.DB
	clk                                         *clock
	org                                         int64
	owner, admin, member, viewer, pending, otto guildhall.Actor
}

func newAcme(t *testing.T, opts db.Options) *acme {
	t.Helper()
	d, clk, _ := MustOpenDBWith(t, opts)
	w := &acme{d: d, clk: clk, owner: MustCreateUser(t, d, "olivia"), admin: MustCreateUser(t, d, "adam"),
		member: MustCreateUser(t, d, "mia"), viewer: MustCreateUser(t, d, "vic"),
		pending: MustCreateUser(t, d, "pete"), otto: MustCreateUser(t, d, "otto")}
	w.org = MustCreateOrg(t, d, w.owner, "Acme")
	MustJoin(t, d, w.owner, w.org, w.admin, guildhall.RoleAdmin, false)
	MustJoin(t, d, w.owner, w.org, w.member, guildhall.RoleMember, false)
	MustJoin(t, d, w.owner, w.org, w.viewer, guildhall.RoleViewer, false)
	MustJoin(t, d, w.owner, w.org, w.pending, guildhall.RoleMember, true)
	return w
}

// roles returns the organization's rows as "name:role/status", sorted.
func (w *acme) roles(t *testing.T) string {
	t.Helper()
	var out []string
	for name, rs := range memberRoles(t, w.d, w.ownerNow(t), w.org) {
		out = append(out, name+":"+rs)
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// ownerNow is an active owner of the organization as it is now, to read it with.
func (w *acme) ownerNow(t *testing.T) guildhall.Actor {
	t.Helper()
	for _, a := range []guildhall.Actor{w.owner, w.admin, w.member, w.viewer, w.pending} {
		if _, role, err := w.d.Organization(context.Background(), a, w.org); err == nil && role == guildhall.RoleOwner {
			return a
		}
	}
	t.Fatal("the organization has no owner")
	return guildhall.Actor{}
}

// lastEvent is the organization's newest audit event as
// "actor:action:target:role:old_role:old_name".
func (w *acme) lastEvent(t *testing.T) string {
	t.Helper()
	events, err := w.d.AuditLog(context.Background(), w.ownerNow(t), w.org, 1)
	if err != nil || len(events) == 0 {
		t.Fatalf("audit log: %v %v", events, err)
	}
	e := events[0]
	return strings.Join([]string{e.Actor, e.Action, e.Target, string(e.Role), string(e.OldRole), e.OldName}, ":")
}

func TestLeaveOrganization(t *testing.T) {
	ctx := context.Background()
	w := newAcme(t, db.Options{})
	// Outsiders and pending invitees are not members to leave.
	wantCode(t, w.d.LeaveOrganization(ctx, w.otto, w.org), guildhall.EFORBIDDEN)
	wantCode(t, w.d.LeaveOrganization(ctx, w.pending, w.org), guildhall.EFORBIDDEN)
	wantCode(t, w.d.LeaveOrganization(ctx, w.viewer, w.org+100), guildhall.ENOTFOUND)
	// The last owner is told to transfer first, and stays.
	before := w.roles(t)
	err := w.d.LeaveOrganization(ctx, w.owner, w.org)
	wantCode(t, err, guildhall.ECONFLICT)
	if msg := guildhall.ErrorMessage(err); !strings.Contains(msg, "transfer ownership") {
		t.Errorf("the last owner's refusal says %q; it should say to transfer first", msg)
	}
	if after := w.roles(t); after != before {
		t.Fatalf("a refused leave changed the members: %s -> %s", before, after)
	}
	// Anyone else leaves, audited as leaving.
	for _, a := range []guildhall.Actor{w.viewer, w.member, w.admin} {
		if err := w.d.LeaveOrganization(ctx, a, w.org); err != nil {
			t.Fatalf("%s leaving: %v", a.Username, err)
		}
		if got, want := w.lastEvent(t), a.Username+":leave:"+a.Username+":"; !strings.HasPrefix(got, want) {
			t.Errorf("audit after %s left: %s", a.Username, got)
		}
		wantCode(t, w.d.LeaveOrganization(ctx, a, w.org), guildhall.EFORBIDDEN) // not a member any more
	}
	if got := w.roles(t); got != "olivia:owner/active pete:member/pending" {
		t.Fatalf("after leaving: %s", got)
	}
	// With a second owner, an owner may leave.
	MustJoin(t, w.d, w.owner, w.org, w.admin, guildhall.RoleOwner, false)
	if err := w.d.LeaveOrganization(ctx, w.owner, w.org); err != nil {
		t.Fatalf("an owner leaving with another owner left behind: %v", err)
	}
}

func TestTransferOwnership(t *testing.T) {
	ctx := context.Background()
	w := newAcme(t, db.Options{})
	before := w.roles(t)
	for _, c := range []struct {
		who      guildhall.Actor
		to, code string
	}{
		{w.admin, "mia", guildhall.EFORBIDDEN},   // only an owner
		{w.member, "vic", guildhall.EFORBIDDEN},  // only an owner
		{w.pending, "mia", guildhall.EFORBIDDEN}, // a pending invitee acts for nobody
		{w.otto, "mia", guildhall.EFORBIDDEN},    // an outsider neither
		{w.owner, "pete", guildhall.ECONFLICT},   // to a pending invitee
		{w.owner, "otto", guildhall.ENOTFOUND},   // to an outsider
		{w.owner, "nobody", guildhall.ENOTFOUND}, // to no one
		{w.owner, "olivia", guildhall.EINVALID},  // to themself
	} {
		wantCode(t, w.d.TransferOwnership(ctx, c.who, w.org, c.to), c.code)
	}
	wantCode(t, w.d.TransferOwnership(ctx, w.owner, w.org+100, "mia"), guildhall.ENOTFOUND)
	if after := w.roles(t); after != before {
		t.Fatalf("refused transfers changed the members: %s -> %s", before, after)
	}
	// The owner hands over to a member (named in capitals: names fold): the
	// member is owner, the old owner admin, in one audited step.
	if err := w.d.TransferOwnership(ctx, w.owner, w.org, "MIA"); err != nil {
		t.Fatal(err)
	}
	if got := w.roles(t); got != "adam:admin/active mia:owner/active olivia:admin/active pete:member/pending vic:viewer/active" {
		t.Fatalf("after the transfer: %s", got)
	}
	if got := w.lastEvent(t); got != "olivia:transfer_ownership:mia:owner:member:" {
		t.Errorf("audit: %s", got)
	}
	// The old owner is an admin now, and can no longer transfer.
	wantCode(t, w.d.TransferOwnership(ctx, w.owner, w.org, "adam"), guildhall.EFORBIDDEN)
}

func TestUpdateOrganization(t *testing.T) {
	ctx := context.Background()
	w := newAcme(t, db.Options{})
	name := func(s string) *string { return &s }
	for _, a := range []guildhall.Actor{w.member, w.viewer, w.pending, w.otto} {
		_, err := w.d.UpdateOrganization(ctx, a, w.org, name("Mine"), nil)
		wantCode(t, err, guildhall.EFORBIDDEN)
	}
	for _, c := range []struct {
		name, desc *string
		code       string
	}{
		{nil, nil, guildhall.EINVALID},
		{name("  "), nil, guildhall.EINVALID},
		{nil, name(strings.Repeat("d", guildhall.OrganizationDescriptionMaxLen+1)), guildhall.EINVALID},
	} {
		_, err := w.d.UpdateOrganization(ctx, w.admin, w.org, c.name, c.desc)
		wantCode(t, err, c.code)
	}
	_, err := w.d.UpdateOrganization(ctx, w.owner, w.org+100, name("X"), nil)
	wantCode(t, err, guildhall.ENOTFOUND)
	if org, _, _ := w.d.Organization(ctx, w.owner, w.org); org.Name != "Acme" || org.Description != "" {
		t.Fatalf("refused updates changed the organization: %+v", org)
	}

	// An admin renames; the trail keeps the old name.
	org, err := w.d.UpdateOrganization(ctx, w.admin, w.org, name(" Acme Works "), nil)
	if err != nil || org.Name != "Acme Works" {
		t.Fatalf("rename: %+v %v", org, err)
	}
	if got := w.lastEvent(t); got != "adam:rename_organization:Acme Works:::Acme" {
		t.Errorf("audit after the rename: %s", got)
	}
	// The owner describes it; the name given unchanged is no event.
	if _, err := w.d.UpdateOrganization(ctx, w.owner, w.org, name("Acme Works"), name("We make anvils.")); err != nil {
		t.Fatal(err)
	}
	if got := w.lastEvent(t); got != "olivia:describe_organization:Acme Works:::" {
		t.Errorf("audit after the description: %s", got)
	}
	events, _ := w.d.AuditLog(ctx, w.owner, w.org, 3)
	if events[1].Action != guildhall.ActionRename {
		t.Errorf("an unchanged name was audited: %+v", events[1])
	}
	org, _, _ = w.d.Organization(ctx, w.member, w.org)
	if org.Name != "Acme Works" || org.Description != "We make anvils." {
		t.Fatalf("stored: %+v", org)
	}
}

func TestDeleteOrganization(t *testing.T) {
	ctx := context.Background()
	w := newAcme(t, db.Options{})
	other := MustCreateOrg(t, w.d, w.owner, "Other")
	MustJoin(t, w.d, w.owner, other, w.member, guildhall.RoleMember, false)
	for _, a := range []guildhall.Actor{w.admin, w.member, w.pending, w.otto} {
		wantCode(t, w.d.DeleteOrganization(ctx, a, w.org, "Acme"), guildhall.EFORBIDDEN)
	}
	for _, typed := range []string{"", "acme", "Acme!", "Other"} {
		wantCode(t, w.d.DeleteOrganization(ctx, w.owner, w.org, typed), guildhall.EINVALID)
	}
	if _, _, err := w.d.Organization(ctx, w.owner, w.org); err != nil {
		t.Fatalf("a refused deletion deleted: %v", err)
	}
	if err := w.d.DeleteOrganization(ctx, w.owner, w.org, " Acme "); err != nil {
		t.Fatal(err)
	}
	// Gone, with its memberships and invitations; the other organization stays whole.
	_, _, err := w.d.Organization(ctx, w.owner, w.org)
	wantCode(t, err, guildhall.ENOTFOUND)
	open, err := w.d.FetchMemberships(ctx, w.pending, guildhall.SubsetAll)
	if err != nil || len(open) != 0 {
		t.Fatalf("the invitee still sees %v (%v)", open, err)
	}
	mine, _ := w.d.FetchMemberships(ctx, w.member, guildhall.SubsetAll)
	if len(mine) != 1 || mine[0].OrganizationName != "Other" {
		t.Fatalf("the member's memberships: %+v", mine)
	}
	wantCode(t, w.d.DeleteOrganization(ctx, w.owner, w.org, "Acme"), guildhall.ENOTFOUND)
}

// raceInOrder runs first and then second as two concurrent write
// operations, deterministically in that order: a held write keeps the
// group committer busy while both queue behind it, in order. (SQLite
// only: see raceTogether.)
func raceInOrder(t *testing.T, d *db.DB, first, second func() error) (error, error) {
	t.Helper()
	queued := make(chan struct{}, 3)
	d.OnWriteQueued(func() { queued <- struct{}{} })
	release, held := make(chan struct{}), make(chan struct{})
	holder := make(chan error, 1)
	go func() {
		holder <- d.Update(context.Background(), func(*db.Tx) error { close(held); <-release; return nil })
	}()
	<-queued
	<-held
	results := [2]chan error{make(chan error, 1), make(chan error, 1)}
	for i, op := range []func() error{first, second} {
		go func() { results[i] <- op() }()
		<-queued
	}
	close(release)
	if err := <-holder; err != nil {
		t.Fatal(err)
	}
	return <-results[0], <-results[1]
}

// TestOwnershipRaces runs the races both ways round, each time on
// a fresh organization: two owners handing over to each other at once, and
// a transfer racing the removal (or the leaving) of its target. Whatever
// wins, the organization keeps an owner and the loser gets a clear refusal.
func TestOwnershipRaces(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		// setup adds to a fresh acme; a and b are the racing operations.
		setup func(t *testing.T, w *acme)
		a, b  func(w *acme) error
		// want is the outcome when a runs first, then when b does:
		// the codes of a and b and the members after.
		want [2]string
	}{
		{
			name:  "two owners hand over to each other",
			setup: func(t *testing.T, w *acme) { w.promoteAdam(t) },
			a:     func(w *acme) error { return w.d.TransferOwnership(ctx, w.owner, w.org, "adam") },
			b:     func(w *acme) error { return w.d.TransferOwnership(ctx, w.admin, w.org, "olivia") },
			want: [2]string{
				// Each hand-over is valid on what it finds; the second undoes the
				// first, and there is always exactly one owner.
				"ok ok adam:admin/active mia:member/active olivia:owner/active pete:member/pending vic:viewer/active",
				"ok ok adam:owner/active mia:member/active olivia:admin/active pete:member/pending vic:viewer/active",
			},
		},
		{
			name: "a transfer races the removal of its target",
			a:    func(w *acme) error { return w.d.TransferOwnership(ctx, w.owner, w.org, "mia") },
			b:    func(w *acme) error { return w.d.RemoveMember(ctx, w.admin, w.org, "mia") },
			want: [2]string{
				"ok forbidden adam:admin/active mia:owner/active olivia:admin/active pete:member/pending vic:viewer/active",
				"not_found ok adam:admin/active olivia:owner/active pete:member/pending vic:viewer/active",
			},
		},
		{
			name: "a transfer races its target leaving",
			a:    func(w *acme) error { return w.d.TransferOwnership(ctx, w.owner, w.org, "mia") },
			b:    func(w *acme) error { return w.d.LeaveOrganization(ctx, w.member, w.org) },
			want: [2]string{
				"ok conflict adam:admin/active mia:owner/active olivia:admin/active pete:member/pending vic:viewer/active",
				"not_found ok adam:admin/active olivia:owner/active pete:member/pending vic:viewer/active",
			},
		},
	} {
		for order := range 2 {
			t.Run(fmt.Sprintf("%s/%s first", tc.name, [2]string{"a", "b"}[order]), func(t *testing.T) {
				w := newAcme(t, db.Options{GroupCommit: true})
				if tc.setup != nil {
					tc.setup(t, w)
				}
				a, b := func() error { return tc.a(w) }, func() error { return tc.b(w) }
				var ea, eb error
				code := func(err error) string {
					if err == nil {
						return "ok"
					}
					return guildhall.ErrorCode(err)
				}
				if dbtest.Postgres() {
					// Both decide on one snapshot; whichever the database
					// orders first, the outcome is that order's.
					errs := raceTogether(t, w.d, a, b)
					if got := code(errs[0]) + " " + code(errs[1]) + " " + w.roles(t); got != tc.want[0] && got != tc.want[1] {
						t.Fatalf("got  %s\nwant %s\n  or %s\n(%v / %v)", got, tc.want[0], tc.want[1], errs[0], errs[1])
					}
					return
				}
				if order == 0 {
					ea, eb = raceInOrder(t, w.d, a, b)
				} else {
					eb, ea = raceInOrder(t, w.d, b, a)
				}
				if got := code(ea) + " " + code(eb) + " " + w.roles(t); got != tc.want[order] {
					t.Fatalf("got  %s\nwant %s\n(%v / %v)", got, tc.want[order], ea, eb)
				}
			})
		}
	}
}

// promoteAdam makes adam, the admin, a second owner.
func (w *acme) promoteAdam(t *testing.T) {
	t.Helper()
	if err := w.d.ChangeMemberRole(context.Background(), w.owner, w.org, "adam", guildhall.RoleOwner); err != nil {
		t.Fatal(err)
	}
}

// TestChangeRoleAuditsTheOldRole: the trail says what a role change replaced.
func TestChangeRoleAuditsTheOldRole(t *testing.T) {
	w := newAcme(t, db.Options{})
	if err := w.d.ChangeMemberRole(context.Background(), w.admin, w.org, "Mia", guildhall.RoleViewer); err != nil {
		t.Fatal(err)
	}
	if got := w.lastEvent(t); got != "adam:change_role:mia:viewer:member:" {
		t.Fatalf("audit: %s", got)
	}
}

// syncBuffer is a log destination several goroutines may write to.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestDeletionIsLoggedOnceCommitted: the log line, all that is left of a
// deleted organization, is written for a deletion that committed, once,
// and not for one inside an idempotent write that then rolled back.
func TestDeletionIsLoggedOnceCommitted(t *testing.T) {
	ctx := context.Background()
	var logs syncBuffer
	w := newAcme(t, db.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	other := MustCreateOrg(t, w.d, w.owner, "Other")

	// Deleted inside an idempotent write whose answer then fails: the
	// whole write rolls back, the organization stays, nothing is logged.
	call := guildhall.IdempotentCall{UserID: w.owner.UserID, Key: "delete-acme", Fingerprint: []byte("delete Acme")}
	_, _, err := w.d.Idempotent(ctx, call, time.Minute, func(ctx context.Context) (guildhall.Answer, error) {
		if err := w.d.DeleteOrganization(ctx, w.owner, w.org, "Acme"); err != nil {
			t.Errorf("the deletion inside the write: %v", err)
		}
		return guildhall.Answer{}, errors.New("the answer could not be made")
	})
	if err == nil {
		t.Fatal("the idempotent write succeeded")
	}
	if _, _, err := w.d.Organization(ctx, w.owner, w.org); err != nil {
		t.Fatalf("a rolled-back deletion deleted: %v", err)
	}
	if strings.Contains(logs.String(), "organization deleted") {
		t.Fatalf("a rolled-back deletion was logged:\n%s", logs.String())
	}

	// Deleted for good: one line, naming it.
	if err := w.d.DeleteOrganization(ctx, w.owner, other, "Other"); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(logs.String(), "organization deleted"); n != 1 || !strings.Contains(logs.String(), "name=Other") {
		t.Fatalf("%d deletion lines:\n%s", n, logs.String())
	}
}
