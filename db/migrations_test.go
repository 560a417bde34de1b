package db_test

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path/filepath"
	"testing"
	"testing/fstest"

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
	old := fstest.MapFS{}
	for v := 1; v <= releasedMigrations; v++ {
		matches, _ := fs.Glob(migrations.SQLite, fmt.Sprintf("%05d_*.sql", v))
		if len(matches) != 1 {
			t.Fatalf("migration %d: %v", v, matches)
		}
		body, _ := fs.ReadFile(migrations.SQLite, matches[0])
		old[matches[0]] = &fstest.MapFile{Data: body}
	}
	provider, err := goose.NewProvider(goose.DialectSQLite3, raw, old)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provider.Up(ctx); err != nil {
		t.Fatal(err)
	}
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
