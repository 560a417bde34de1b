package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"

	"guildhall/db"
)

// dbFlagUsage describes --db, which every command that opens the database takes.
const dbFlagUsage = "SQLite database `file` (created if missing), or a PostgreSQL URL postgres://user:pass@host:5432/name (env GUILDHALL_DB)"

// migrateCommand applies the database's pending migrations and exits, for
// deployments that migrate once, before starting (or upgrading) their
// servers. Servers migrate at start too; on PostgreSQL, under an advisory
// lock, so several starting at once migrate once.
func migrateCommand(ctx context.Context, argv []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbPath := fs.String("db", envOr("GUILDHALL_DB", defaultDB), dbFlagUsage)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: guildhall migrate [--db FILE|URL]\n\n"+
			"Applies the database's pending migrations and serves nothing.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(argv); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	store, err := db.Open(ctx, *dbPath, db.Options{Logger: slog.New(slog.NewTextHandler(stderr, nil))})
	if err != nil {
		return err
	}
	defer store.Close()
	have, _, err := store.MigrationVersions(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "database %s is at migration %d\n", sourceName(*dbPath), have)
	return nil
}

// sourceName is a --db value as it may be printed or logged: a
// PostgreSQL URL without its password.
func sourceName(source string) string {
	if !db.IsPostgresURL(source) {
		return source
	}
	u, err := url.Parse(source)
	if err != nil {
		return "(a PostgreSQL URL that does not parse)"
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}
