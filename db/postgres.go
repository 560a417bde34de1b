package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"guildhall/db/migrations"
)

// postgresDialect is the backend for more than one node: PostgreSQL 15 or
// newer through pgx (database/sql), named by a postgres:// URL. Every node
// runs many write transactions at once, each SERIALIZABLE, so every race
// the rules care about resolves as if the transactions had run one after
// another; one that loses is run again from its start (DB.update). The
// state every node must share lives in the database: sessions and their
// signing keys (as on SQLite), and also the rate limits and the login
// throttle (pg_limits.go), so N nodes enforce one limit, not N.
var postgresDialect = &dialect{
	goose:           goose.DialectPostgres,
	migrations:      migrations.Postgres,
	newestMigration: newestMigrationIn(migrations.Postgres),
	writeTx:         &sql.TxOptions{Isolation: sql.LevelSerializable},
	// A read is one consistent snapshot, as on SQLite; it decides nothing
	// that is written, so it need not be serializable.
	readTx:          &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true},
	rebind:          rebindPostgres,
	enqueue:         enqueuePostgres,
	uniqueViolation: func(err error) bool { return pgCode(err) == "23505" }, // unique_violation
	retryable:       postgresRetryable,
	unavailable:     postgresUnavailable,
	lists:           newMemberListSQL(postgresSkipRows, postgresUsernameSearch, likeContaining),
	sharedState:     true,
}

// minPostgresVersion is the oldest server Guildhall runs on, as
// server_version_num gives it.
const minPostgresVersion = 150000

// migrationLockWait bounds the wait for the migration lock that another
// node holds while it migrates.
const migrationLockWait = 5 * time.Minute

// openPostgres opens the writer and reader pools on the database at url,
// checks the server's version and applies pending migrations under an
// advisory lock, so that nodes starting together migrate once.
func (db *DB) openPostgres(ctx context.Context, url string, opts Options) error {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("the PostgreSQL URL: %w", err) // pgx leaves the password out
	}
	if _, ok := cfg.RuntimeParams["application_name"]; !ok {
		cfg.RuntimeParams["application_name"] = "guildhall"
	}
	// Two pools, as on SQLite, so PoolStats means the same on both: each
	// of ReadConns connections. Transactions run concurrently in both.
	db.write, db.read = stdlib.OpenDB(*cfg), stdlib.OpenDB(*cfg)
	for _, pool := range []*sql.DB{db.write, db.read} {
		pool.SetMaxOpenConns(opts.ReadConns)
		pool.SetMaxIdleConns(opts.ReadConns)
	}
	// A third, smaller pool for the shared limits (DB.shared): each of
	// their statements is one short autocommitted write.
	db.shared = stdlib.OpenDB(*cfg)
	db.shared.SetMaxOpenConns(max(2, opts.ReadConns/2))
	db.shared.SetMaxIdleConns(max(2, opts.ReadConns/2))
	fail := func(err error) error {
		db.write.Close()
		db.read.Close()
		db.shared.Close()
		return err
	}
	var version string
	if err := db.write.QueryRowContext(ctx, `SHOW server_version_num`).Scan(&version); err != nil {
		return fail(fmt.Errorf("connect to PostgreSQL: %w", err))
	}
	if n, err := strconv.Atoi(version); err != nil || n < minPostgresVersion {
		return fail(fmt.Errorf("PostgreSQL %s is too old: Guildhall needs 15 or newer", version))
	}
	unlock, err := lockMigrations(ctx, *cfg)
	if err != nil {
		return fail(err)
	}
	defer unlock()
	if err := migrate(ctx, db.write, postgresDialect); err != nil {
		return fail(err)
	}
	return nil
}

// lockMigrations takes the session-level advisory lock that goose's own
// PostgreSQL locker takes (lock.DefaultLockID), so that goose's command
// line and every node exclude each other while migrating, and returns its
// release. It holds the lock on a connection of its own, around all of
// goose's work: goose's locker leaves out its first look at the version
// table, so nodes starting together on an empty database would race to
// create it. It waits in pg_advisory_lock rather than polling: a node
// that finds another migrating goes on the moment that one is done, and
// finds nothing left to apply. Closing the connection releases the lock
// in any case.
func lockMigrations(ctx context.Context, cfg pgx.ConnConfig) (unlock func(), err error) {
	conn := stdlib.OpenDB(cfg)
	conn.SetMaxOpenConns(1)
	wait, cancel := context.WithTimeout(ctx, migrationLockWait)
	defer cancel()
	if _, err := conn.ExecContext(wait, `SELECT pg_advisory_lock($1)`, lock.DefaultLockID); err != nil {
		conn.Close()
		return nil, fmt.Errorf("wait for the migration lock: %w", err)
	}
	return func() {
		conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, lock.DefaultLockID)
		conn.Close()
	}, nil
}

// enqueuePostgres takes queue's advisory lock, at session level, on a
// connection of pool before any transaction begins on it: the
// transaction's snapshot is then taken after the turn before it has
// committed, so it sees that turn's writes and does not collide with
// them. The lock is released after the transaction; a connection whose
// release failed is closed rather than returned to the pool (closing it
// releases the lock), so no connection in the pool ever holds one.
func enqueuePostgres(ctx context.Context, pool *sql.DB, queue writeQueue) (*sql.Conn, func(), error) {
	conn, err := pool.Conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1, $2)`, queue.class, queue.key); err != nil {
		conn.Close()
		return nil, nil, err
	}
	return conn, func() {
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1, $2)`, queue.class, queue.key); err != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		conn.Close()
	}, nil
}

// pgCode returns the SQLSTATE of a PostgreSQL error, or "".
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// postgresRetryable: serialization_failure, which SERIALIZABLE raises in
// the transaction that would break the serial order, deadlock_detected,
// and a unique_violation of the audit trail's key: two transactions that
// number an event of one organization at once (auditEventSQL) both take
// the next id, and the one that commits second has lost a race, not met a
// conflict of the request's making. PostgreSQL reports it as a
// serialization failure when it can tell, but not always.
func postgresRetryable(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code {
	case "40001", "40P01":
		return true
	case "23505":
		return pe.ConstraintName == "audit_events_pkey"
	}
	return false
}

// postgresUnavailable reports a server that cannot be reached or cannot
// take the request now: no connection, connection lost, too many
// connections, shutting down, a read-only standby, out of disk or memory,
// a lock or statement timeout, and a serialization failure that outlasted
// its retries.
func postgresUnavailable(err error) bool {
	if code := pgCode(err); code != "" {
		switch code[:2] {
		case "08", // connection_exception
			"53", // insufficient_resources: disk full, out of memory, too many connections
			"57", // operator_intervention: admin shutdown, cannot connect now, query canceled
			"58": // system_error: I/O error
			return true
		}
		switch code {
		case "25006", // read_only_sql_transaction: a standby, or a read-only database
			"55P03",          // lock_not_available
			"40001", "40P01": // retries spent
			return true
		}
		return false
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) || errors.As(err, &netErr) || pgconn.Timeout(err) ||
		pgconn.SafeToRetry(err) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone)
}

// maxRebound bounds the queries whose PostgreSQL form is kept. The
// service's queries are constants and a few combinations of constants; the
// bound only guards against a caller building SQL from data.
const maxRebound = 1024

// rebound caches rebindPostgres's results: most queries run many times.
var rebound = struct {
	sync.RWMutex
	m map[string]boundQuery
}{m: map[string]boundQuery{}}

// rebindPostgres rewrites a query of the service for PostgreSQL (cached).
func rebindPostgres(query string) boundQuery {
	rebound.RLock()
	q, ok := rebound.m[query]
	rebound.RUnlock()
	if ok {
		return q
	}
	q = rebindPlaceholders(query)
	rebound.Lock()
	if len(rebound.m) < maxRebound {
		rebound.m[query] = q
	}
	rebound.Unlock()
	return q
}

// rebindPlaceholders rewrites SQLite's placeholders as PostgreSQL's: ?N is
// parameter N, a bare ? the one after the largest so far, as SQLite
// numbers them, and the parameters the query uses are numbered $1, $2, ...
// in order: PostgreSQL cannot type a parameter that nothing uses, where
// SQLite ignores it (a member list's filter may leave out the time, say).
// It also drops SQLite's index hints (INDEXED BY name), which PostgreSQL
// has no syntax for: its planner picks the index itself. Quoted strings,
// quoted names and comments are copied as they are.
func rebindPlaceholders(query string) boundQuery {
	used := map[int]bool{}
	scanSQL(query, func(n int) string { used[n] = true; return "" })
	q := boundQuery{params: slices.Sorted(maps.Keys(used))}
	dense := make(map[int]int, len(used))
	for i, n := range q.params {
		dense[n] = i + 1
	}
	q.text = scanSQL(query, func(n int) string { return "$" + strconv.Itoa(dense[n]) })
	return q
}

// scanSQL copies query, replacing each placeholder by what placeholder
// returns for its SQLite number and dropping index hints.
func scanSQL(query string, placeholder func(n int) string) string {
	var b strings.Builder
	b.Grow(len(query) + 8)
	largest := 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'' || c == '"':
			end := strings.IndexByte(query[i+1:], c)
			if end < 0 {
				b.WriteString(query[i:])
				return b.String()
			}
			b.WriteString(query[i : i+end+2])
			i += end + 1
		case c == '-' && strings.HasPrefix(query[i:], "--"):
			end := strings.IndexByte(query[i:], '\n')
			if end < 0 {
				end = len(query) - i
			}
			b.WriteString(query[i : i+end])
			i += end - 1
		case c == '/' && strings.HasPrefix(query[i:], "/*"):
			end := strings.Index(query[i+2:], "*/")
			if end < 0 {
				b.WriteString(query[i:])
				return b.String()
			}
			b.WriteString(query[i : i+end+4])
			i += end + 3
		case c == '?':
			j := i + 1
			for j < len(query) && query[j] >= '0' && query[j] <= '9' {
				j++
			}
			n := largest + 1
			if j > i+1 {
				n, _ = strconv.Atoi(query[i+1 : j])
			}
			largest = max(largest, n)
			b.WriteString(placeholder(n))
			i = j - 1
		case (c == 'I' || c == 'i') && (i == 0 || !isNameByte(query[i-1])):
			if n := indexHintLen(query[i:]); n > 0 {
				i += n - 1
				continue
			}
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// indexHintLen returns the length of the SQLite index hint ("INDEXED BY
// name", any case and spacing) that s starts with, or 0.
func indexHintLen(s string) int {
	i := 0
	for _, word := range []string{"indexed", "by"} {
		if len(s) < i+len(word) || !strings.EqualFold(s[i:i+len(word)], word) {
			return 0
		}
		i += len(word)
		spaces := i
		for i < len(s) && unicode.IsSpace(rune(s[i])) {
			i++
		}
		if i == spaces {
			return 0
		}
	}
	name := i
	for i < len(s) && isNameByte(s[i]) {
		i++
	}
	if i == name {
		return 0
	}
	return i
}

// isNameByte reports whether c may be part of an unquoted SQL name.
func isNameByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
