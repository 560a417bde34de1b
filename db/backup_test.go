package db_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"guildhall/db"
	"guildhall/db/dbtest"
)

// TestBackup copies a database that is open, refuses to overwrite a file
// unless told, and never leaves a partial file behind. Copying while a
// server writes is cmd/guildhall's TestBackupWhileServing.
func TestBackup(t *testing.T) {
	dbtest.SQLiteOnly(t, "backup of a SQLite file (PostgreSQL has pg_dump)")
	ctx := context.Background()
	d, _, path := MustOpenDBWith(t, db.Options{})
	owner := MustCreateUser(t, d, "olivia")
	MustCreateOrg(t, d, owner, "Acme")
	dir := t.TempDir()
	dest := filepath.Join(dir, "copy.db")
	if err := db.Backup(ctx, path, dest, false); err != nil {
		t.Fatal(err)
	}
	var name string
	if err := queryRow(t, dest, `SELECT name FROM organizations`, &name); err != nil || name != "Acme" {
		t.Fatalf("the copy holds %q (%v)", name, err)
	}

	MustCreateOrg(t, d, owner, "Later")
	before, err := os.ReadFile(dest)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Backup(ctx, path, dest, false); !errors.Is(err, db.ErrBackupExists) {
		t.Fatalf("a second backup to the same file: %v, want ErrBackupExists", err)
	}
	if after, _ := os.ReadFile(dest); string(after) != string(before) {
		t.Fatal("a refused backup changed the file")
	}
	if err := db.Backup(ctx, path, dest, true); err != nil {
		t.Fatalf("replacing: %v", err)
	}
	var orgs int
	if err := queryRow(t, dest, `SELECT count(*) FROM organizations`, &orgs); err != nil || orgs != 2 {
		t.Fatalf("the replaced copy holds %d organizations (%v), want 2", orgs, err)
	}

	// A copy (in rollback-journal mode, not WAL) copies in turn.
	if err := db.Backup(ctx, dest, filepath.Join(t.TempDir(), "copy-of-copy.db"), false); err != nil {
		t.Fatalf("copying the copy: %v", err)
	}

	// A database no server has open (its -wal and -shm files gone) copies too.
	d.Close()
	if m, _ := filepath.Glob(path + "-*"); len(m) > 0 {
		t.Fatalf("closed, yet %v remain", m)
	}
	if err := db.Backup(ctx, path, dest, true); err != nil {
		t.Fatalf("copying a closed database: %v", err)
	}
	if m, _ := filepath.Glob(path + "-*"); len(m) > 0 {
		t.Fatalf("the backup of a closed database left %v beside it", m)
	}

	missing := filepath.Join(dir, "missing.db")
	if err := db.Backup(ctx, filepath.Join(dir, "nothing-here.db"), missing, false); err == nil {
		t.Fatal("a backup of no database succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, "nothing-here.db")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the backup created the database it was to copy")
	}
	notDB := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notDB, []byte("not a database, but long enough to have a header of sorts: "+strings.Repeat("x", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := db.Backup(ctx, notDB, missing, false); err == nil {
		t.Fatal("a backup of a text file succeeded")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".partial") || strings.HasPrefix(e.Name(), "missing.db") {
			t.Errorf("the backups left %s behind", e.Name())
		}
	}
}
