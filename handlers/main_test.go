package handlers_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"guildhall/db"
)

// migratedDB is a database file with every migration applied, made once
// for the test binary. Each test opens a copy of it: applying the
// migrations costs tens of milliseconds under the race detector, for every
// one of the package's dozens of databases, and proves nothing here
// (db's own tests open fresh files).
var migratedDB string

func TestMain(m *testing.M) {
	// Servers built without a Logger log every request to slog's default;
	// the tests that read a log give their own.
	slog.SetDefault(slog.New(slog.DiscardHandler))
	dir, err := os.MkdirTemp("", "guildhall-handlers-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	migratedDB = filepath.Join(dir, "migrated.db")
	store, err := db.Open(context.Background(), migratedDB, db.DefaultOptions())
	if err == nil {
		err = store.Close()
	}
	if err != nil {
		os.RemoveAll(dir)
		fmt.Fprintln(os.Stderr, "migrate the template database:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// openStore opens a fresh copy of the migrated database in a temporary
// directory of tb's, and closes it when tb ends. It returns the file's path
// too, for tests that look at the rows.
func openStore(tb testing.TB, opts db.Options) (*db.DB, string) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "guildhall.db")
	if err := copyFile(path, migratedDB); err != nil {
		tb.Fatal(err)
	}
	store, err := db.Open(context.Background(), path, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	return store, path
}

// copyFile copies the file at src to dst.
func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
