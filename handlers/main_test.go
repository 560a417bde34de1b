package handlers_test

import (
	"context"
	"log/slog"
	"os"
	"testing"

	"guildhall/db"
	"guildhall/db/dbtest"
)

func TestMain(m *testing.M) {
	// Servers built without a Logger log every request to slog's default;
	// the tests that read a log give their own.
	slog.SetDefault(slog.New(slog.DiscardHandler))
	code := m.Run()
	dbtest.Cleanup()
	os.Exit(code)
}

// openStore opens a database of tb's own, migrated (a copy of a template
// migrated once: applying the migrations costs tens of milliseconds under
// the race detector, for every one of the package's dozens of databases,
// and proves nothing here; db's own tests open fresh files), on the test
// run's backend (see dbtest), and closes it when tb ends. It returns the
// database's source (a file path or a URL) too, for tests that look at the
// rows.
func openStore(tb testing.TB, opts db.Options) (*db.DB, string) {
	tb.Helper()
	source := dbtest.NewMigrated(tb)
	store, err := db.Open(context.Background(), source, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	return store, source
}
