// Package migrations holds Guildhall's numbered SQL migrations, embedded
// into the binary and applied in order at start-up by goose: one directory
// per backend, sqlite/ and postgres/, numbered alike, so that migration N
// brings either database to the same schema.
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed sqlite/*.sql postgres/*.sql
var files embed.FS

// SQLite holds the SQLite migrations (*.sql).
var SQLite = sub("sqlite")

// Postgres holds the PostgreSQL migrations (*.sql).
var Postgres = sub("postgres")

func sub(dir string) fs.FS {
	f, err := fs.Sub(files, dir)
	if err != nil {
		panic(err) // the directory is embedded above: it is there
	}
	return f
}
