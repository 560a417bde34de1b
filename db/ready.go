package db

import (
	"context"
	"fmt"
	"io/fs"
	"sync"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"

	"guildhall"
	"guildhall/db/migrations"
)

// Ready reports whether the service can serve requests: the database
// answers a read, and it has every migration this binary embeds. It is
// nil, or an EUNAVAILABLE error that says which in words (never with the
// driver's text, which is logged). A database ahead of the binary (a newer
// one migrated it, during a rolling upgrade) is ready: what this binary
// needs is there. It reads through the reader pool, so a long write does
// not hold it up.
func (db *DB) Ready(ctx context.Context) error {
	want, err := embeddedMigrationVersion()
	if err != nil {
		return err
	}
	store, err := database.NewStore(goose.DialectSQLite3, goose.DefaultTablename)
	if err != nil {
		return err
	}
	have, err := store.GetLatestVersion(ctx, db.read)
	if err != nil {
		db.log.WarnContext(ctx, "readiness: the database did not answer", "err", err)
		return guildhall.Errorf(guildhall.EUNAVAILABLE, "The database is not answering.")
	}
	if have < want {
		return guildhall.Errorf(guildhall.EUNAVAILABLE, "The database is at migration %d; this server needs %d.", have, want)
	}
	return nil
}

// embeddedMigrationVersion is the version of the newest migration in
// migrations.FS, read once: it is fixed when the binary is built.
var embeddedMigrationVersion = sync.OnceValues(func() (int64, error) {
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		return 0, err
	}
	var newest int64
	for _, name := range names {
		v, err := goose.NumericComponent(name)
		if err != nil {
			return 0, fmt.Errorf("migration %s: %w", name, err)
		}
		newest = max(newest, v)
	}
	return newest, nil
})
