package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"guildhall/db"
)

// backup copies the SQLite database to FILE while servers keep using it
// (db.Backup: a consistent snapshot, never a half-written FILE). A
// PostgreSQL database is backed up with its own tool, pg_dump.
func backup(ctx context.Context, argv []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbPath := fs.String("db", envOr("GUILDHALL_DB", defaultDB), "SQLite database `file` to copy (env GUILDHALL_DB)")
	force := fs.Bool("force", false, "replace FILE if it exists")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: guildhall backup FILE [--db FILE] [--force]\n\n"+
			"Copies the SQLite database to FILE, consistently, while servers use it.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	args, err := parseInterleaved(fs, argv)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	if len(args) != 1 {
		fs.Usage()
		return errors.New("usage: guildhall backup FILE [--db FILE] [--force]")
	}
	if db.IsPostgresURL(*dbPath) {
		// The URL is not repeated: it may hold a password.
		return errors.New("guildhall backup copies a SQLite database; back up PostgreSQL with pg_dump (see docs/DEPLOY.md)")
	}
	file := args[0]
	if err := db.Backup(ctx, *dbPath, file, *force); errors.Is(err, db.ErrBackupExists) {
		return fmt.Errorf("%s already exists; pass --force to replace it", file)
	} else if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	fmt.Fprintf(stdout, "backed up %s to %s\n", *dbPath, file)
	return nil
}

// parseInterleaved parses flags given before, between or after the
// positional arguments, and returns those arguments.
func parseInterleaved(fs *flag.FlagSet, argv []string) ([]string, error) {
	var args []string
	for {
		if err := fs.Parse(argv); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return args, nil
		}
		args = append(args, fs.Arg(0))
		argv = fs.Args()[1:]
	}
}
