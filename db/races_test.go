package db_test

import (
	"context"
	"testing"
	"time"

	"guildhall"
	"guildhall/db"
	"guildhall/db/dbtest"
)

// raceTogether runs ops as concurrent write operations and returns their
// errors. On PostgreSQL, which runs many write transactions at once, each
// op's transaction takes its snapshot (a first read) and then waits until
// every op's has: all of them decide on the same state, and the database
// must order them (a serialization failure, then a retry on the new
// state). A retry does not wait. On SQLite, whose writes take turns, the
// ops simply run at once. Each op must write once.
func raceTogether(t *testing.T, d *db.DB, ops ...func() error) []error {
	t.Helper()
	if dbtest.Postgres() {
		arrived, all := make(chan struct{}, len(ops)), make(chan struct{})
		go func() {
			for range ops {
				<-arrived
			}
			close(all)
		}()
		d.OnWriteBegun(func(ctx context.Context, tx *db.Tx, attempt int) error {
			if attempt > 1 {
				return nil
			}
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
				return err
			}
			arrived <- struct{}{}
			select {
			case <-all:
				return nil
			case <-time.After(10 * time.Second):
				t.Errorf("the racing transactions never all began: an op that does not write?")
				return nil
			}
		})
		defer d.OnWriteBegun(nil)
	}
	results := make([]chan error, len(ops))
	for i, op := range ops {
		results[i] = make(chan error, 1)
		go func() { results[i] <- op() }()
	}
	errs := make([]error, len(ops))
	for i := range ops {
		errs[i] = <-results[i]
	}
	return errs
}

// TestRacesOnAnInvitation races what two people can do to one invitation
// or membership at once. Whichever the database orders first, the outcome
// is what running them one after the other gives: one of two, each listed
// as "code code members after".
func TestRacesOnAnInvitation(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, w *acme)
		a, b  func(w *acme) error
		want  [2]string // a first, b first
	}{
		{
			name: "the invitee accepts twice",
			a:    func(w *acme) error { return w.d.ResolveInvitation(ctx, w.pending, w.org, true) },
			b:    func(w *acme) error { return w.d.ResolveInvitation(ctx, w.pending, w.org, true) },
			want: [2]string{
				"ok conflict adam:admin/active mia:member/active olivia:owner/active pete:member/active vic:viewer/active",
				"conflict ok adam:admin/active mia:member/active olivia:owner/active pete:member/active vic:viewer/active",
			},
		},
		{
			name: "an accept races the revocation",
			a:    func(w *acme) error { return w.d.ResolveInvitation(ctx, w.pending, w.org, true) },
			b:    func(w *acme) error { return w.d.RevokeInvitation(ctx, w.owner, w.org, "pete") },
			want: [2]string{
				"ok conflict adam:admin/active mia:member/active olivia:owner/active pete:member/active vic:viewer/active",
				"not_found ok adam:admin/active mia:member/active olivia:owner/active vic:viewer/active",
			},
		},
		{
			name: "an accept races a decline",
			a:    func(w *acme) error { return w.d.ResolveInvitation(ctx, w.pending, w.org, true) },
			b:    func(w *acme) error { return w.d.ResolveInvitation(ctx, w.pending, w.org, false) },
			want: [2]string{
				"ok conflict adam:admin/active mia:member/active olivia:owner/active pete:member/active vic:viewer/active",
				"not_found ok adam:admin/active mia:member/active olivia:owner/active vic:viewer/active",
			},
		},
		{
			name:  "two owners leave at once",
			setup: func(t *testing.T, w *acme) { w.promoteAdam(t) },
			a:     func(w *acme) error { return w.d.LeaveOrganization(ctx, w.owner, w.org) },
			b:     func(w *acme) error { return w.d.LeaveOrganization(ctx, w.admin, w.org) },
			want: [2]string{
				"ok conflict adam:owner/active mia:member/active pete:member/pending vic:viewer/active",
				"conflict ok mia:member/active olivia:owner/active pete:member/pending vic:viewer/active",
			},
		},
		{
			name: "a role change races the removal",
			a:    func(w *acme) error { return w.d.ChangeMemberRole(ctx, w.owner, w.org, "mia", guildhall.RoleViewer) },
			b:    func(w *acme) error { return w.d.RemoveMember(ctx, w.admin, w.org, "mia") },
			want: [2]string{
				"ok ok adam:admin/active olivia:owner/active pete:member/pending vic:viewer/active",
				"not_found ok adam:admin/active olivia:owner/active pete:member/pending vic:viewer/active",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newAcme(t, db.Options{})
			if tc.setup != nil {
				tc.setup(t, w)
			}
			errs := raceTogether(t, w.d, func() error { return tc.a(w) }, func() error { return tc.b(w) })
			code := func(err error) string {
				if err == nil {
					return "ok"
				}
				return guildhall.ErrorCode(err)
			}
			if got := code(errs[0]) + " " + code(errs[1]) + " " + w.roles(t); got != tc.want[0] && got != tc.want[1] {
				t.Fatalf("got  %s\nwant %s\n  or %s\n(%v / %v)", got, tc.want[0], tc.want[1], errs[0], errs[1])
			}
		})
	}
}
