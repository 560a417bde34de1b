package db_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"guildhall/db"
)

// TestBackup copies a database that is open, refuses to overwrite a file
// unless told, and never leaves a partial file behind. Copying while a
// server writes is cmd/guildhall's TestBackupWhileServing.
func TestBackup(t *testing.T) {
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

	// A database no server has open (its -wal and -shm files gone) copies too.
	d.Close()
	if m, _ := filepath.Glob(path + "-*"); len(m) > 0 {
		t.Fatalf("closed, yet %v remain", m)
	}
	if err := db.Backup(ctx, path, dest, true); err != nil {
		t.Fatalf("copying a closed database: %v", err)
	}

	missing := filepath.Join(dir, "missing.db")
	if err := db.Backup(ctx, filepath.Join(dir, "nothing-here.db"), missing, false); err == nil {
		t.Fatal("a backup of no database succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, "nothing-here.db")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the backup created the database it was to copy")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "copy.db" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("the backup directory holds %v, want only copy.db", names)
	}
}
