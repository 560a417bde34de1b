package db

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"guildhall"
)

// TestListQueryPlans shows, with SQLite's EXPLAIN QUERY PLAN, that every
// query that reads a page of a list seeks into an index that holds the
// list's order: no table or index is scanned from its start, and nothing
// is sorted in a temporary B-tree. Such a page costs the same however long
// the list; that is what the benchmark measures at 1,000 to 1,000,000
// members (docs/PERFORMANCE.md). The plans are those of a fresh database,
// without ANALYZE, as a server runs.
//
// The plans are SQLite's: on a PostgreSQL run (GUILDHALL_TEST_BACKEND)
// the test is skipped, as PostgreSQL has no EXPLAIN QUERY PLAN and plans
// by its statistics; its queries and indexes are shown by running the
// same service tests on it.
func TestListQueryPlans(t *testing.T) {
	if os.Getenv("GUILDHALL_TEST_BACKEND") == "postgres" {
		t.Skip("SQLite only: EXPLAIN QUERY PLAN shows SQLite's plans")
	}
	t.Parallel()
	d, err := Open(context.Background(), filepath.Join(t.TempDir(), "plans.db"), Options{Argon2: CheapArgon2})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	numbered, bare := regexp.MustCompile(`\?(\d+)`), regexp.MustCompile(`\?(?:[^\d]|$)`)
	plan := func(t *testing.T, query string) string {
		t.Helper()
		// Every parameter bound (the plan does not depend on the values).
		n := len(bare.FindAllString(query, -1))
		for _, m := range numbered.FindAllStringSubmatch(query, -1) {
			var i int
			fmt.Sscan(m[1], &i)
			n = max(n, i)
		}
		args := make([]any, n)
		for i := range args {
			args[i] = 0
		}
		rows, err := d.read.Query("EXPLAIN QUERY PLAN "+query, args...)
		if err != nil {
			t.Fatalf("%v\n%s", err, query)
		}
		defer rows.Close()
		var lines []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, detail)
		}
		return strings.Join(lines, "\n")
	}
	// A full scan reads a table or index from its start: any SCAN but of
	// the FTS index (which answers MATCH through its own index) and of the
	// names it matched (at most MemberSearchMaxMatches+1).
	fullScan := func(p string) bool {
		for _, line := range strings.Split(p, "\n") {
			if strings.HasPrefix(line, "SCAN ") && !strings.HasPrefix(line, "SCAN users_fts VIRTUAL TABLE INDEX") && line != "SCAN matched" {
				return true
			}
		}
		return false
	}
	check := func(t *testing.T, query string, want ...string) string {
		t.Helper()
		p := plan(t, query)
		if fullScan(p) {
			t.Errorf("a full scan:\n%s\n\nin the plan of%s", p, query)
		}
		if strings.Contains(p, "TEMP B-TREE") {
			t.Errorf("a sort in a temporary B-tree:\n%s\n\nin the plan of%s", p, query)
		}
		for _, w := range want {
			if !strings.Contains(p, w) {
				t.Errorf("the plan does not %q:\n%s\n\nfor%s", w, p, query)
			}
		}
		return p
	}

	t.Run("the check itself", func(t *testing.T) {
		// A list read without its index, as before migration 7: the check
		// must see the scan and the sort.
		p := plan(t, `SELECT m.username FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.organization_id = ?1 ORDER BY u.username LIMIT 50`)
		if !strings.Contains(p, "TEMP B-TREE") || !fullScan(`SCAN m`) || fullScan("SEARCH m USING INDEX memberships_list (organization_id=?)") {
			t.Errorf("the check cannot tell a sorted scan from a seek:\n%s", p)
		}
	})
	// The sorts by role and name read their rows from memberships_list
	// alone (it holds every column a page shows); the sort by date seeks
	// memberships_recent, then each row it keeps.
	t.Run("sort by role, a segment at a time", func(t *testing.T) {
		for q, sql := range sqliteDialect.lists.segments {
			cmp := ">"
			if q.backward {
				cmp = "<"
			}
			check(t, sql, "SEARCH m USING COVERING INDEX memberships_list (organization_id=? AND status=? AND role=? AND username"+cmp+"?)")
		}
	})
	t.Run("sorts by name and date, the segments merged", func(t *testing.T) {
		org := guildhall.Organization{ID: 1}
		for _, status := range []guildhall.MemberFilter{guildhall.MembersCurrent, guildhall.MembersActive, guildhall.MembersInvited, guildhall.MembersExpired, guildhall.MembersAll} {
			for _, role := range []guildhall.Role{"", guildhall.RoleAdmin} { // a role filter keeps one segment of each status, whichever role
				l := newMemberList(org, guildhall.MembersQuery{Status: status, Role: role}, 0)
				for _, back := range []bool{false, true} {
					cmp := ">"
					if back {
						cmp = "<"
					}
					name, date := sqliteDialect.lists.mergeSQL(l.arms, false, back), sqliteDialect.lists.mergeSQL(l.arms, true, back)
					p := check(t, name, "SEARCH m USING COVERING INDEX memberships_list (organization_id=? AND status=? AND role=? AND username"+cmp+"?)")
					check(t, date, "SEARCH m USING INDEX memberships_recent (organization_id=? AND status=? AND role=? AND (recency,username)"+cmp+"(?,?))")
					if len(l.arms) > 1 && !strings.Contains(p, "MERGE (UNION ALL)") {
						t.Errorf("%s %s: the segments are not merged:\n%s", status, role, p)
					}
				}
			}
		}
	})
	t.Run("a user's memberships", func(t *testing.T) {
		for subset, q := range sqliteDialect.lists.userMemberships {
			p := check(t, q, "SEARCH m USING INDEX memberships_user_status (user_id=? AND status=? AND rowid>?)")
			if subset == guildhall.SubsetAll && !strings.Contains(p, "MERGE (UNION ALL)") {
				t.Errorf("all memberships: the statuses are not merged:\n%s", p)
			}
		}
		check(t, openInvitationSQL, "SEARCH m USING INDEX sqlite_autoindex_memberships_1 (organization_id=? AND user_id=?)")
	})
	t.Run("the audit trail", func(t *testing.T) {
		check(t, sqliteDialect.lists.auditPage, "SEARCH audit_events USING PRIMARY KEY (organization_id=? AND id<?)")
		check(t, auditEventSQL, "SEARCH audit_events USING PRIMARY KEY (organization_id=?)")
	})
	t.Run("a search", func(t *testing.T) {
		check(t, sqliteDialect.lists.usernameSearchSQL(guildhall.MemberSearchMaxMatches+1), "SCAN users_fts VIRTUAL TABLE INDEX", "SEARCH m USING INDEX sqlite_autoindex_memberships_1 (organization_id=? AND user_id=?)")
	})
	t.Run("an invitation", func(t *testing.T) {
		// The per-user cap is counted over the invitee's open invitations
		// alone; the invitee is found by name.
		check(t, inviteSQL, "SEARCH u USING COVERING INDEX sqlite_autoindex_users_1 (username=?)",
			"SEARCH p USING COVERING INDEX memberships_user_pending (user_id=? AND expires>?)")
	})
	t.Run("counts", func(t *testing.T) {
		for _, q := range []string{membershipCountsSQL, organizationRowsSQL, pendingCountSQL} {
			check(t, q, "SEARCH membership_counts USING PRIMARY KEY (organization_id=?")
		}
		// Which open invitations are still open is counted from the index
		// of open invitations alone, over those not yet expired.
		check(t, livePendingByRoleSQL, "SEARCH memberships USING COVERING INDEX memberships_pending (organization_id=? AND expires>?)")
	})
}

// TestMemberSegmentsFollowRoles: the member list's segments are the
// statuses, invitations first, each through guildhall.Roles in its order:
// the ranking written once in the root package is the list's order.
func TestMemberSegmentsFollowRoles(t *testing.T) {
	var got []string
	for _, s := range memberSegments {
		got = append(got, fmt.Sprintf("%s/%s", s.status, s.role))
	}
	var want []string
	for _, st := range []guildhall.Status{guildhall.StatusPending, guildhall.StatusActive} {
		for _, r := range guildhall.Roles {
			want = append(want, fmt.Sprintf("%s/%s", st, r))
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("segments %v, want %v", got, want)
	}
	// usernameAfterAll bounds a backward read of a whole segment: it must
	// sort after every character a username may hold.
	for c := byte(0); c < 128; c++ {
		if guildhall.ValidateUsername("a"+string(c)) == nil && string(c) >= usernameAfterAll {
			t.Errorf("%q may be in a username but does not sort before %q", c, usernameAfterAll)
		}
	}
}
