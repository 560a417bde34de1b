package db_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/pressly/goose/v3"

	"guildhall"
	"guildhall/db"
	"guildhall/db/dbtest"
	"guildhall/db/migrations"
)

// releasedMigrations is the schema of the release before the audit trail
// kept old values: migrations 1 to 3.
const releasedMigrations = 3

// TestMigrateFromReleasedSchema builds a database as the previous release
// left it, with an organization, members and audit events, then opens it
// with this release: the migration keeps every row, old events read with
// no old role, and new events record theirs.
func TestMigrateFromReleasedSchema(t *testing.T) {
	dbtest.SQLiteOnly(t, "the released schema was SQLite's; PostgreSQL came later")
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "released.db")
	raw, err := sql.Open("sqlite", db.DSN(path))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var released []int
	for v := 1; v <= releasedMigrations; v++ {
		released = append(released, v)
	}
	applySQLiteMigrations(t, raw, released...)
	for _, stmt := range []string{
		`INSERT INTO users (id, username, password_hash, created) VALUES (1, 'olivia', '!', 1), (2, 'bob', '!', 1)`,
		`INSERT INTO organizations (id, name, created) VALUES (1, 'Acme', 1)`,
		`INSERT INTO memberships (organization_id, user_id, role, status, created, accepted) VALUES (1, 1, 'owner', 'active', 1, 1), (1, 2, 'member', 'active', 2, 2)`,
		`INSERT INTO audit_events (organization_id, time, actor, action, target, role) VALUES (1, 1, 'olivia', 'create_organization', 'olivia', 'owner'), (1, 2, 'olivia', 'change_role', 'bob', 'member')`,
	} {
		if _, err := raw.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	raw.Close()

	d := MustOpenDBFile(t, path, db.Options{})
	olivia := guildhall.Actor{UserID: 1, Username: "olivia"}
	if err := d.ChangeMemberRole(ctx, olivia, 1, "bob", guildhall.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	events, err := d.AuditLog(ctx, olivia, 1, 0)
	if err != nil || len(events) != 3 {
		t.Fatalf("events after migrating: %+v %v", events, err)
	}
	if e := events[0]; e.Role != guildhall.RoleAdmin || e.OldRole != guildhall.RoleMember {
		t.Errorf("the new event: %+v", e)
	}
	if e := events[1]; e.Action != guildhall.ActionRole || e.Role != guildhall.RoleMember || e.OldRole != "" || e.OldName != "" {
		t.Errorf("the released event: %+v", e)
	}
	ms, err := d.FetchOrganizationMembers(ctx, olivia, 1)
	if err != nil || len(ms) != 2 || ms[0].Username != "olivia" || ms[1].Username != "bob" {
		t.Fatalf("members after migrating: %+v %v", ms, err)
	}
}

// memberListsMigration is the migration that made the lists keyset-read
// (00007_member_lists.sql); the schema before it is today's release.
const memberListsMigration = 7

// buildSchemaBefore applies the run's backend's embedded migrations
// numbered below version to a new database at source (a file path or an
// empty PostgreSQL database), as the release before it left it, and
// returns the database, raw.
func buildSchemaBefore(t *testing.T, source string, version int64) *db.Raw {
	t.Helper()
	raw, err := db.OpenRaw(source)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	fsys, dialect := migrations.SQLite, goose.DialectSQLite3
	if raw.Postgres() {
		fsys, dialect = migrations.Postgres, goose.DialectPostgres
	}
	old := fstest.MapFS{}
	files, _ := fs.Glob(fsys, "*.sql")
	for _, name := range files {
		var v int64
		fmt.Sscanf(name, "%05d_", &v)
		if v < version {
			body, _ := fs.ReadFile(fsys, name)
			old[name] = &fstest.MapFile{Data: body}
		}
	}
	provider, err := goose.NewProvider(dialect, raw.DB, old)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provider.Up(context.Background()); err != nil {
		t.Fatal(err)
	}
	return raw
}

// applySQLiteMigrations applies the SQLite migrations numbered versions,
// and only those, to pool: the schema a release left.
func applySQLiteMigrations(t *testing.T, pool *sql.DB, versions ...int) {
	t.Helper()
	released := fstest.MapFS{}
	for _, v := range versions {
		matches, _ := fs.Glob(migrations.SQLite, fmt.Sprintf("%05d_*.sql", v))
		if len(matches) != 1 {
			t.Fatalf("migration %d: %v", v, matches)
		}
		body, _ := fs.ReadFile(migrations.SQLite, matches[0])
		released[matches[0]] = &fstest.MapFile{Data: body}
	}
	provider, err := goose.NewProvider(goose.DialectSQLite3, pool, released)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provider.Up(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestMigrateFromReleaseWithout6 opens a database as the release that
// shipped migration 7 (the member lists) before 6 existed left it: at
// version 7, with 6 missing. This release applies 6 after 7 and serves:
// the member list reads in its order, and sign-in tokens, which 6 keeps,
// are minted and accepted.
func TestMigrateFromReleaseWithout6(t *testing.T) {
	dbtest.SQLiteOnly(t, "that release was SQLite's; PostgreSQL came with migration 6")
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "released.db")
	raw, err := sql.Open("sqlite", db.DSN(path))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	applySQLiteMigrations(t, raw, 1, 2, 3, 4, 5, 7)
	for _, stmt := range []string{
		`INSERT INTO users (id, username, password_hash, created) VALUES (1, 'olivia', '!', 1), (2, 'bob', '!', 1)`,
		`INSERT INTO organizations (id, name, created) VALUES (1, 'Acme', 1)`,
		// As that release wrote them: with the usernames 7 keeps on the row.
		`INSERT INTO memberships (organization_id, user_id, username, role, status, sender_id, sender_name, created, accepted) VALUES (1, 1, 'olivia', 'owner', 'active', NULL, '', 1, 1), (1, 2, 'bob', 'member', 'active', 1, 'olivia', 2, 2)`,
	} {
		if _, err := raw.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	raw.Close()

	d := MustOpenDBFile(t, path, db.Options{})
	olivia := guildhall.Actor{UserID: 1, Username: "olivia", Auth: guildhall.AuthPassword}
	page, err := d.ListMembersPage(ctx, olivia, 1, guildhall.MembersQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, m := range page.Members {
		order = append(order, m.Username+" "+string(m.Role))
	}
	if got := strings.Join(order, ", "); got != "olivia owner, bob member" || page.Total != 2 {
		t.Errorf("the member list after migrating: %s (total %d)", got, page.Total)
	}
	token, _, err := d.CreateToken(ctx, olivia)
	if err != nil {
		t.Fatalf("a sign-in token after migrating: %v", err)
	}
	if a, err := d.Authenticate(ctx, guildhall.Credentials{Token: token}); err != nil || a.Username != "olivia" {
		t.Errorf("the token signs in %+v, %v", a, err)
	}
}

// TestMigrateToMemberLists opens a database made by the release before
// the keyset lists (every migration before 7), holding every kind of row
// a member list shows, with this release: every row is kept, and every
// list reads in the order the rules give, with the right counts; a search
// finds the names made before; new writes keep the counts; and what
// migration 6 stored (a sign-in token, an idempotent write's answer)
// still works. It runs on the run's backend: each has its migration 7.
func TestMigrateToMemberLists(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "released.db")
	if dbtest.Postgres() {
		path = dbtest.NewPostgres(t, "")
	}
	raw := buildSchemaBefore(t, path, memberListsMigration)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	day := int64(24 * 3600)
	t0 := now.Unix() - 30*day
	names := []string{"olivia", "zed", "bob", "amy", "kai", "lee", "mo", "nia", "pat", "quin", "ray", "sam"}
	for i, n := range names {
		if _, err := raw.Exec(`INSERT INTO users (id, username, password_hash, created) VALUES (?, ?, '!', ?)`, i+1, n, t0); err != nil {
			t.Fatal(err)
		}
	}
	for _, stmt := range []string{
		`INSERT INTO organizations (id, name, created) VALUES (1, 'Acme', 1), (2, 'Beta', 1)`,
	} {
		if _, err := raw.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	// organization, user, role, status, joined (days after t0); pending rows expire 7 days after.
	for _, m := range []struct {
		org, user int
		role      string
		pending   bool
		day       int64
	}{
		{1, 1, "owner", false, 0}, {1, 2, "owner", false, 3}, {1, 3, "admin", false, 1}, {1, 4, "member", false, 2},
		{1, 5, "member", false, 2}, {1, 6, "viewer", false, 5}, {1, 7, "member", true, 27}, {1, 8, "viewer", true, 28},
		{1, 9, "admin", true, 10}, {1, 10, "member", true, 11}, // expired
		{2, 1, "owner", false, 0}, {2, 7, "member", false, 4}, {2, 11, "admin", true, 29},
	} {
		joined := t0 + m.day*day
		if m.pending {
			_, err := raw.Exec(`INSERT INTO memberships (organization_id, user_id, role, status, sender_id, created, expires) VALUES (?, ?, ?, 'pending', 1, ?, ?)`,
				m.org, m.user, m.role, joined, joined+7*day)
			if err != nil {
				t.Fatal(err)
			}
		} else if _, err := raw.Exec(`INSERT INTO memberships (organization_id, user_id, role, status, sender_id, created, accepted) VALUES (?, ?, ?, 'active', 1, ?, ?)`,
			m.org, m.user, m.role, joined-day, joined); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 7 {
		if _, err := raw.Exec(`INSERT INTO audit_events (organization_id, time, actor, action, target, role) VALUES (1, ?, 'olivia', 'invite', ?, 'member')`, t0+int64(i), names[i]); err != nil {
			t.Fatal(err)
		}
	}
	// What migration 6 keeps, which 7 leaves alone: olivia's sign-in
	// token, and a write's answer stored for its Idempotency-Key.
	token := guildhall.TokenPrefix + strings.Repeat("t", 48)
	tokenHash := sha256.Sum256([]byte(token))
	if _, err := raw.Exec(`INSERT INTO auth_tokens (id_hash, user_id, created, expires) VALUES (?, 1, ?, ?)`, tokenHash[:], now.Unix()-day, now.Unix()+day); err != nil {
		t.Fatal(err)
	}
	stored := guildhall.IdempotentCall{UserID: 1, Key: "found-beta", Fingerprint: []byte("create_organization Beta")}
	if _, err := raw.Exec(`INSERT INTO idempotency_keys (user_id, key, fingerprint, claim, lease_until, status, body, created, expires) VALUES (1, ?, ?, ?, ?, 200, ?, ?, ?)`,
		stored.Key, stored.Fingerprint, []byte("claim"), now.Unix()-day, []byte(`{"success":true}`), now.Unix()-day, now.Unix()+day); err != nil {
		t.Fatal(err)
	}
	if raw.Postgres() { // the rows above chose their ids: the next ones follow them
		for _, table := range []string{"users", "organizations"} {
			if _, err := raw.Exec(`SELECT setval(pg_get_serial_sequence('` + table + `', 'id'), (SELECT max(id) FROM ` + table + `))`); err != nil {
				t.Fatal(err)
			}
		}
	}
	raw.Close()

	d := MustOpenDBFile(t, path, db.Options{Now: func() time.Time { return now }, InviteTTL: 7 * 24 * time.Hour})
	olivia := guildhall.Actor{UserID: 1, Username: "olivia"}
	if a, err := d.Authenticate(ctx, guildhall.Credentials{Token: token}); err != nil || a.UserID != 1 || a.Auth != guildhall.AuthToken {
		t.Errorf("the sign-in token made before: %+v %v", a, err)
	}
	ans, replayed, err := d.Idempotent(ctx, stored, time.Minute, func(context.Context) (guildhall.Answer, error) {
		t.Error("a write answered before the migration ran again")
		return guildhall.Answer{}, nil
	})
	if err != nil || !replayed || ans.Status != 200 || string(ans.Body) != `{"success":true}` {
		t.Errorf("the answer stored before: %+v %v %v", ans, replayed, err)
	}
	all := func() []guildhall.Membership {
		p, err := d.ListMembersPage(ctx, olivia, 1, guildhall.MembersQuery{Status: guildhall.MembersAll, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		return p.Members
	}()
	if got := strings.Join(usernames(all), ","); got != "pat,mo,quin,nia,olivia,zed,bob,amy,kai,lee" {
		t.Fatalf("the migrated list, sorted by role: %s", got)
	}
	for _, m := range all {
		if m.Username == "mo" && (m.Sender != "olivia" || m.Expires.Unix() != t0+34*day) {
			t.Errorf("mo's invitation: %+v", m)
		}
	}
	for _, sortBy := range []guildhall.MemberSort{guildhall.SortByRole, guildhall.SortByName, guildhall.SortByJoined} {
		for _, status := range []guildhall.MemberFilter{guildhall.MembersCurrent, guildhall.MembersActive, guildhall.MembersInvited, guildhall.MembersExpired, guildhall.MembersAll} {
			for _, role := range []guildhall.Role{"", guildhall.RoleMember} {
				q := guildhall.MembersQuery{Sort: sortBy, Status: status, Role: role, Limit: 3}
				want := expectedList(all, q, now)
				var got []string
				for {
					p, err := d.ListMembersPage(ctx, olivia, 1, q)
					if err != nil || p.Total != len(want) {
						t.Fatalf("%+v: %v, total %d, want %d", q, err, p.Total, len(want))
					}
					got = append(got, usernames(p.Members)...)
					if q.Cursor = p.NextCursor; q.Cursor == "" {
						break
					}
				}
				if strings.Join(got, ",") != strings.Join(want, ",") {
					t.Errorf("sort %q status %q role %q: %v, want %v", sortBy, status, role, got, want)
				}
			}
		}
	}
	page, _ := d.ListMembersPage(ctx, olivia, 1, guildhall.MembersQuery{Status: guildhall.MembersAll})
	if got := fmt.Sprint(page.StandingCounts, page.RoleCounts); got != "map[active:6 expired:2 invited:2] map[admin:2 member:4 owner:2 viewer:2]" {
		t.Errorf("counts after migrating: %s", got)
	}
	if p, err := d.ListMembersPage(ctx, olivia, 1, guildhall.MembersQuery{Search: "quin"}); err != nil || strings.Join(usernames(p.Members), ",") != "" {
		t.Errorf("an expired invitation is not in the current list: %v %v", usernames(p.Members), err)
	}
	if p, err := d.ListMembersPage(ctx, olivia, 1, guildhall.MembersQuery{Search: "liv", Status: guildhall.MembersAll}); err != nil || strings.Join(usernames(p.Members), ",") != "olivia" {
		t.Errorf("a search of the names made before: %v %v", usernames(p.Members), err)
	}

	// Each user's memberships, in the order they were made; the audit trail newest first.
	mo := guildhall.Actor{UserID: 7, Username: "mo"}
	if ms, err := d.FetchMemberships(ctx, mo, guildhall.SubsetAll); err != nil || fmt.Sprintf("%d %s %v %s", len(ms), ms[0].OrganizationName, ms[0].Open(), ms[1].OrganizationName) != "2 Acme true Beta" {
		t.Errorf("mo's memberships: %+v %v", ms, err)
	}
	audit, err := d.ListAuditLog(ctx, olivia, 1, guildhall.AuditQuery{Limit: 4})
	if err != nil || len(audit.Events) != 4 || audit.Events[0].Target != "mo" || audit.NextCursor == "" {
		t.Fatalf("audit after migrating: %+v %v", audit, err)
	}
	older, err := d.ListAuditLog(ctx, olivia, 1, guildhall.AuditQuery{Limit: 4, Cursor: audit.NextCursor})
	if err != nil || len(older.Events) != 3 || older.Events[2].Target != "olivia" || older.NextCursor != "" {
		t.Fatalf("older audit events: %+v %v", older, err)
	}

	// New writes keep the counts and the lists: an invitation, an
	// acceptance, a role change, a removal.
	MustCreateUser(t, d, "tess")
	if _, err := d.InviteUser(ctx, olivia, 1, "tess", guildhall.RoleViewer); err != nil {
		t.Fatal(err)
	}
	if err := d.ResolveInvitation(ctx, mo, 1, true); err != nil {
		t.Fatal(err)
	}
	if err := d.ChangeMemberRole(ctx, olivia, 1, "amy", guildhall.RoleViewer); err != nil {
		t.Fatal(err)
	}
	if err := d.RemoveMember(ctx, olivia, 1, "lee"); err != nil {
		t.Fatal(err)
	}
	page, _ = d.ListMembersPage(ctx, olivia, 1, guildhall.MembersQuery{Status: guildhall.MembersAll})
	if got := fmt.Sprint(page.StandingCounts, page.RoleCounts); got != "map[active:6 expired:2 invited:2] map[admin:2 member:3 owner:2 viewer:3]" {
		t.Errorf("counts after new writes: %s", got)
	}
	if got := strings.Join(usernames(page.Members), ","); got != "pat,quin,nia,tess,olivia,zed,bob,kai,mo,amy" {
		t.Errorf("the list after new writes: %s", got)
	}
	if p, err := d.ListMembersPage(ctx, olivia, 1, guildhall.MembersQuery{Search: "tes"}); err != nil || strings.Join(usernames(p.Members), ",") != "tess" {
		t.Errorf("a new name is found: %v %v", usernames(p.Members), err)
	}
}

// TestMigrationsMatch: every migration exists for both backends under the
// same number and name, so that "migration N" means one schema on either,
// and none lies outside a backend's directory, where it would never run.
func TestMigrationsMatch(t *testing.T) {
	names := func(fsys fs.FS) []string {
		t.Helper()
		found, err := fs.Glob(fsys, "*.sql")
		if err != nil || len(found) == 0 {
			t.Fatalf("migrations %v %v", found, err)
		}
		return found
	}
	sqlite, postgres := names(migrations.SQLite), names(migrations.Postgres)
	if fmt.Sprint(sqlite) != fmt.Sprint(postgres) {
		t.Errorf("the backends' migrations differ:\nsqlite/   %v\npostgres/ %v", sqlite, postgres)
	}
	stray, err := filepath.Glob(filepath.Join("migrations", "*.sql"))
	if err != nil || len(stray) > 0 {
		t.Errorf("%v %v: a migration goes in migrations/sqlite/ and, written for PostgreSQL, in migrations/postgres/", stray, err)
	}
}
