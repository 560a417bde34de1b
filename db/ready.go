package db

import (
	"context"
	"errors"
	"fmt"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"

	"guildhall"
)

// Ready reports whether the service can serve requests: the database
// answers a read, and it has every migration this binary embeds. It is
// nil, or an EUNAVAILABLE error that says which in words (never with the
// driver's text, which is logged). A database ahead of the binary (a newer
// one migrated it, during a rolling upgrade) is ready: what this binary
// needs is there. It reads through the reader pool, so a long write does
// not hold it up.
func (db *DB) Ready(ctx context.Context) error {
	have, want, err := db.MigrationVersions(ctx)
	if errors.Is(err, errNotAnswering) {
		db.log.WarnContext(ctx, "readiness: the database did not answer", "err", err)
		return guildhall.Errorf(guildhall.EUNAVAILABLE, "The database is not answering.")
	} else if err != nil {
		return err
	}
	if have < want {
		return guildhall.Errorf(guildhall.EUNAVAILABLE, "The database is at migration %d; this server needs %d.", have, want)
	}
	return nil
}

// errNotAnswering marks a failure to read the database's migration version.
var errNotAnswering = errors.New("the database did not answer")

// MigrationVersions returns the version of the newest migration applied
// to the database (have) and of the newest this binary embeds for its
// backend (want).
func (db *DB) MigrationVersions(ctx context.Context) (have, want int64, err error) {
	if want, err = db.dialect.newestMigration(); err != nil {
		return 0, 0, err
	}
	store, err := database.NewStore(db.dialect.goose, goose.DefaultTablename)
	if err != nil {
		return 0, want, err
	}
	if have, err = store.GetLatestVersion(ctx, db.read); err != nil {
		return 0, want, fmt.Errorf("%w: %w", errNotAnswering, err)
	}
	return have, want, nil
}
