package db

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"strings"
	"sync"

	"github.com/pressly/goose/v3"
)

// A dialect is what one backend supplies to the service, which is written
// once for both: how its errors read, how its transactions begin, its
// migrations, and its SQL where it differs from SQLite's. The service's
// queries are written once, with SQLite's ? and ?N placeholders; the Tx
// wrapper (statements.go) hands each to the dialect's rebind before it
// runs. The rules (who may do what, the limits, the audit) never see a
// dialect: they live in the root package and in the service code above
// the SQL. The backends are sqlite.go (the default) and postgres.go.
type dialect struct {
	// goose and migrations are the backend's goose dialect and its
	// migrations (db/migrations/sqlite or db/migrations/postgres).
	goose      goose.Dialect
	migrations fs.FS
	// newestMigration is the version of the newest of migrations, read once.
	newestMigration func() (int64, error)
	// writeTx and readTx begin the service's write and read transactions.
	writeTx, readTx *sql.TxOptions
	// rebind rewrites a query for the backend; nil runs queries as written.
	rebind func(query string) boundQuery
	// uniqueViolation reports a UNIQUE or PRIMARY KEY conflict, by the
	// driver's error code, never by its text.
	uniqueViolation func(error) bool
	// retryable reports a failure that the same transaction, run again
	// from its start, may not meet: a serialization failure or a deadlock
	// between concurrent transactions (see DB.update).
	retryable func(error) bool
	// unavailable reports a failure of the database rather than of the
	// request (unreachable, full, read-only, shutting down, locked too
	// long): the client may try again later.
	unavailable func(error) bool
	// enqueue, if set, waits for the lock of queue on a connection of
	// pool, and returns the connection and the lock's release (see
	// DB.updateQueued).
	enqueue func(ctx context.Context, pool *sql.DB, queue writeQueue) (*sql.Conn, func(), error)
	// lists is the backend's SQL for the lists read a page at a time
	// (member_list_sql.go).
	lists *memberListSQL
	// sharedState says several nodes share the database: the rate limits
	// and the login throttle must then live in it (pg_limits.go), not in
	// each process's memory (limits.go, throttle.go).
	sharedState bool
}

// writeQueue names the write transactions that take turns on PostgreSQL
// rather than collide (DB.updateQueued).
type writeQueue struct{ class, key int32 }

// The classes of write queues.
const (
	// queueInvitations: the invitations to one organization (key: its id).
	queueInvitations int32 = 1 + iota
)

// invitationsTo is the queue of the invitations to the organization orgID.
// An id past 32 bits shares its queue with another: harmless, as a queue
// decides nothing.
func invitationsTo(orgID int64) *writeQueue {
	return &writeQueue{class: queueInvitations, key: int32(orgID)}
}

// txBeginner begins transactions: a pool, or one of its connections.
type txBeginner interface {
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

// IsPostgresURL reports whether source, a --db value, names a PostgreSQL
// database (postgres:// or postgresql://) rather than a SQLite file.
func IsPostgresURL(source string) bool {
	return strings.HasPrefix(source, "postgres://") || strings.HasPrefix(source, "postgresql://")
}

// dialectFor returns the backend source names.
func dialectFor(source string) *dialect {
	if IsPostgresURL(source) {
		return postgresDialect
	}
	return sqliteDialect
}

// boundQuery is a query rewritten for a backend.
type boundQuery struct {
	text string
	// params holds, for each of text's parameters in turn, the number of
	// the argument it takes (from 1), as the query was written.
	params []int
}

// sql returns query and its arguments as the backend runs them.
func (d *dialect) sql(query string, args []any) (string, []any) {
	if d == nil || d.rebind == nil {
		return query, args
	}
	q := d.rebind(query)
	if len(q.params) == len(args) && (len(args) == 0 || q.params[len(args)-1] == len(args)) {
		return q.text, args // each argument used, in order: the params are 1...n
	}
	picked := make([]any, len(q.params))
	for i, n := range q.params {
		if n < 1 || n > len(args) {
			return q.text, args // too few arguments: the driver says so
		}
		picked[i] = args[n-1]
	}
	return q.text, picked
}

// text returns query as the backend runs it, for a statement prepared
// outside a transaction; query's parameters must each be used once, in
// order (? or ?1...?n), as its arguments are passed as they are.
func (d *dialect) text(query string) string {
	if d.rebind == nil {
		return query
	}
	return d.rebind(query).text
}

// newestMigrationIn returns a function that reads, once, the version of the
// newest migration in fsys: it is fixed when the binary is built.
func newestMigrationIn(fsys fs.FS) func() (int64, error) {
	return sync.OnceValues(func() (int64, error) {
		names, err := fs.Glob(fsys, "*.sql")
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
}
