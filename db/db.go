// Package db is Guildhall's service over SQLite: it opens the database with
// checked pragmas, applies the embedded migrations, and implements every
// operation of the API as one transaction with its authorization inside.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"guildhall"
	"guildhall/db/migrations"
)

// Pragmas every connection gets through the DSN, so that each pooled
// connection has them (a PRAGMA run with Exec would reach only one).
// busy_timeout comes first so it is in force while the others run.
//
// synchronous=FULL in WAL mode syncs the WAL at every commit: an
// acknowledged write survives both kill -9 and a power loss.
//
// temp_store=MEMORY keeps SQLite's temporary files in memory, the
// sub-journal above all: each operation of a group commit runs in a
// savepoint, and the pages it changes are saved there first, so that a
// failing operation can be rolled back alone. On a file that cost a write
// system call per page, a tenth of the server's CPU under the invite load.
// The sub-journal only ever serves a rollback within a transaction; the
// WAL alone makes commits durable.
var pragmas = []struct{ name, value, want string }{
	{"busy_timeout", "10000", "10000"},
	{"foreign_keys", "1", "1"},
	{"journal_mode", "WAL", "wal"},
	{"synchronous", "FULL", "2"},
	{"temp_store", "MEMORY", "2"},
}

// Options configure a DB. DefaultOptions returns what production runs
// with; start from it and change what you need. The convention, for every
// field:
//
//   - A limit (MaxPendingInvites, MaxPendingInvitesPerUser, InviteRate,
//     OrganizationRate, SignupRate) holds the value in force, and 0 turns
//     it off, as the `guildhall serve` flags of the same names do. A
//     negative limit is refused.
//   - A field without an "off" (InviteTTL, TokenTTL, ReadConns, Argon2,
//     LoginThrottleMaxKeys, Now, Logger) left at its zero value takes
//     DefaultOptions' value.
type Options struct {
	// InviteTTL is how long a pending invitation stays open.
	InviteTTL time.Duration
	// TokenTTL is how long a sign-in token from login or add_user is valid.
	TokenTTL time.Duration
	// Now is the clock; tests replace it to expire invitations.
	Now func() time.Time
	// Logger receives internal errors.
	Logger *slog.Logger
	// ReadConns bounds the reader pool.
	ReadConns int
	// Argon2 sets the password hashing cost.
	Argon2 Argon2Params
	// SignupClosed refuses SignUp (add_user and the sign-up page).
	SignupClosed bool
	// MaxPendingInvites caps an organization's open invitations (0: no cap).
	MaxPendingInvites int
	// MaxPendingInvitesPerUser caps the open invitations one user holds (0: no cap).
	MaxPendingInvitesPerUser int
	// InviteRate is how many invitations one user may send a minute (0: no limit).
	InviteRate int
	// OrganizationRate is how many organizations one user may create an hour (0: no limit).
	OrganizationRate int
	// SignupRate is how many sign-ups one client address may make an hour (0: no limit).
	SignupRate int
	// LoginThrottleMaxKeys bounds the usernames and addresses the login
	// throttle remembers (see throttle.go).
	LoginThrottleMaxKeys int
	// GroupCommit commits concurrent write operations together, one
	// savepoint each (see groupcommit.go).
	GroupCommit bool
	// Observer, if set, is told of group commits and of every refusal by
	// a limit, for the metrics (see observe.go).
	Observer Observer
}

// DefaultOptions returns the options production runs with: invitations
// open for guildhall.DefaultInviteTTL, the Default* abuse limits,
// DefaultArgon2 as the hashing cost, a login throttle of
// DefaultLoginThrottleMaxKeys, 2 × GOMAXPROCS readers (at least 4), the
// system clock and slog.Default. Sign-up is open and group commit off.
func DefaultOptions() Options {
	return Options{
		InviteTTL:                guildhall.DefaultInviteTTL,
		TokenTTL:                 guildhall.DefaultTokenTTL,
		Now:                      time.Now,
		Logger:                   slog.Default(),
		ReadConns:                max(4, 2*runtime.GOMAXPROCS(0)),
		Argon2:                   DefaultArgon2,
		MaxPendingInvites:        DefaultMaxPendingInvites,
		MaxPendingInvitesPerUser: DefaultMaxPendingInvitesPerUser,
		InviteRate:               DefaultInviteRate,
		OrganizationRate:         DefaultOrganizationRate,
		SignupRate:               DefaultSignupRate,
		LoginThrottleMaxKeys:     DefaultLoginThrottleMaxKeys,
	}
}

// withDefaults fills the fields that have no "off" and were left zero, and
// checks the limits.
func (o Options) withDefaults() (Options, error) {
	def := DefaultOptions()
	if o.InviteTTL == 0 {
		o.InviteTTL = def.InviteTTL
	}
	if o.TokenTTL == 0 {
		o.TokenTTL = def.TokenTTL
	}
	if o.Now == nil {
		o.Now = def.Now
	}
	if o.Logger == nil {
		o.Logger = def.Logger
	}
	if o.ReadConns == 0 {
		o.ReadConns = def.ReadConns
	}
	if o.Argon2 == (Argon2Params{}) {
		o.Argon2 = def.Argon2
	}
	if o.LoginThrottleMaxKeys == 0 {
		o.LoginThrottleMaxKeys = def.LoginThrottleMaxKeys
	}
	switch {
	case o.InviteTTL < 0 || o.TokenTTL < 0 || o.ReadConns < 0 || o.LoginThrottleMaxKeys < 0:
		return o, errors.New("options: InviteTTL, TokenTTL, ReadConns and LoginThrottleMaxKeys must not be negative")
	case o.MaxPendingInvites < 0 || o.MaxPendingInvitesPerUser < 0 || o.InviteRate < 0 || o.OrganizationRate < 0 || o.SignupRate < 0:
		return o, errors.New("options: a limit must not be negative; 0 turns it off")
	}
	return o, nil
}

// DB is the service: every exported method is one operation, run in one
// transaction, with authorization checked inside it.
type DB struct {
	path   string
	write  *sql.DB // one connection: SQLite has one writer; BEGIN IMMEDIATE via _txlock
	read   *sql.DB // a pool of read-only connections beside it (WAL lets them run during a write)
	ttl    time.Duration
	now    func() time.Time
	log    *slog.Logger
	hasher *hasher
	// throttle counts failed password logins (see throttle.go).
	throttle loginLimiter

	signupClosed bool
	// tokenTTL is how long a sign-in token lasts (tokens.go).
	tokenTTL time.Duration

	maxPendingInvites        int // 0: no cap
	maxPendingInvitesPerUser int // 0: no cap
	// The rate limits, and their rates for messages (0: no limit).
	inviteRatePerMinute int
	inviteRate          limiter
	orgRatePerHour      int
	orgRate             limiter
	signupRatePerHour   int
	signupRate          limiter

	// search bounds the work of a member search (members_page.go).
	search searchLimits

	writeStmts, readStmts *stmtCache      // prepared statements of each pool
	keyLookup             *sql.Stmt       // keyLookupSQL on the readers (apikeys.go)
	keys                  *keyCache       // API keys recently checked (apikeys.go)
	committer             *groupCommitter // nil unless Options.GroupCommit
	observer              Observer        // never nil: noObserver without Options.Observer
}

// Open opens (creating if needed) the SQLite database at path, checks its
// pragmas and applies pending migrations.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	db := &DB{path: path, ttl: opts.InviteTTL, tokenTTL: opts.TokenTTL, now: opts.Now, log: opts.Logger, hasher: newHasher(opts.Argon2),
		throttle: newLoginThrottle(opts.LoginThrottleMaxKeys), signupClosed: opts.SignupClosed, search: defaultSearchLimits,
		keys: newKeyCache()}
	db.maxPendingInvites, db.maxPendingInvitesPerUser = opts.MaxPendingInvites, opts.MaxPendingInvitesPerUser
	db.inviteRatePerMinute, db.inviteRate = opts.InviteRate, newRateLimiter(opts.InviteRate, time.Minute)
	db.orgRatePerHour, db.orgRate = opts.OrganizationRate, newRateLimiter(opts.OrganizationRate, time.Hour)
	db.signupRatePerHour, db.signupRate = opts.SignupRate, newRateLimiter(opts.SignupRate, time.Hour)
	db.observer = noObserver{}
	if opts.Observer != nil {
		db.observer = opts.Observer
		db.observeLimits(opts.Observer)
	}

	if db.write, err = sql.Open("sqlite", DSN(path, "_txlock=immediate")); err != nil {
		return nil, fmt.Errorf("open writer: %w", err)
	}
	db.write.SetMaxOpenConns(1)
	db.write.SetMaxIdleConns(1)
	db.write.SetConnMaxLifetime(0)
	db.write.SetConnMaxIdleTime(0)

	// The writer goes first: it creates the file and switches it to WAL,
	// which the read-only connections then find in place.
	if err := checkPragmas(ctx, db.write); err != nil {
		db.write.Close()
		return nil, err
	}
	if err := migrate(ctx, db.write); err != nil {
		db.write.Close()
		return nil, err
	}

	if db.read, err = sql.Open("sqlite", DSN(path, "_pragma=query_only(1)")); err != nil {
		db.write.Close()
		return nil, fmt.Errorf("open readers: %w", err)
	}
	db.read.SetMaxOpenConns(opts.ReadConns)
	db.read.SetMaxIdleConns(opts.ReadConns)
	db.read.SetConnMaxIdleTime(0)
	if err := checkPragmas(ctx, db.read); err != nil {
		db.Close()
		return nil, err
	}
	db.writeStmts, db.readStmts = newStmtCache(db.write), newStmtCache(db.read)
	if db.keyLookup, err = db.read.PrepareContext(ctx, keyLookupSQL); err != nil {
		db.Close()
		return nil, fmt.Errorf("prepare the key lookup: %w", err)
	}
	if opts.GroupCommit {
		db.committer = newGroupCommitter(db)
	}
	return db, nil
}

// DSN builds the modernc.org/sqlite data source name for path with
// Guildhall's pragmas, plus any extra query parameters. The benchmark uses
// it too, so its raw-SQLite ceiling runs on the very same settings.
func DSN(path string, extra ...string) string {
	q := make([]string, 0, len(pragmas)+len(extra))
	for _, p := range pragmas {
		q = append(q, "_pragma="+url.QueryEscape(p.name+"("+p.value+")"))
	}
	q = append(q, extra...)
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + strings.Join(q, "&")
}

// checkPragmas reads every pragma back: a DSN typo or an unsupported
// journal mode (a network filesystem, say) must stop start-up, not surface
// later as lost writes.
func checkPragmas(ctx context.Context, pool *sql.DB) error {
	for _, p := range pragmas {
		var got string
		if err := pool.QueryRowContext(ctx, "PRAGMA "+p.name).Scan(&got); err != nil {
			return fmt.Errorf("read pragma %s: %w", p.name, err)
		}
		if !strings.EqualFold(got, p.want) {
			return fmt.Errorf("pragma %s is %q, want %q", p.name, got, p.want)
		}
	}
	return nil
}

// migrate applies the embedded migrations that have not run yet.
func migrate(ctx context.Context, pool *sql.DB) error {
	provider, err := goose.NewProvider(goose.DialectSQLite3, pool, migrations.FS)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := provider.Up(ctx); err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	return nil
}

// Close closes both pools, after committing the writes already queued.
func (db *DB) Close() error {
	if db.committer != nil {
		db.committer.close()
	}
	if db.writeStmts != nil {
		db.writeStmts.close()
		db.readStmts.close()
	}
	if db.keyLookup != nil {
		db.keyLookup.Close()
	}
	return errors.Join(db.read.Close(), db.write.Close())
}

// Ping checks that a read works.
func (db *DB) Ping(ctx context.Context) error {
	return db.read.PingContext(ctx)
}

// Tx is a transaction with the one timestamp its operation uses throughout.
type Tx struct {
	*sql.Tx
	now   time.Time
	stmts *stmtCache // the pool's prepared statements (statements.go)
	// bound holds those statements bound to this transaction, by the pool's.
	bound  map[*sql.Stmt]*sql.Stmt
	shared bool // one of several operations in a group commit
	// observer is told of refusals by the limits checked inside a
	// transaction (limits.go).
	observer Observer
	// committed is what must happen once the writes are committed (see
	// afterCommit).
	committed []func()
}

// afterCommit runs fn once tx's writes are committed, before the operation
// is answered: what this process remembers of the database (the API keys
// it checked) may change only once the database has, or a read between the
// two would remember the old state. Inside a savepoint of an enclosing
// transaction (an idempotent write, a group commit) that is when the
// enclosing transaction commits; if the savepoint is rolled back, or
// nothing commits, fn never runs.
func (tx *Tx) afterCommit(fn func()) { tx.committed = append(tx.committed, fn) }

// runCommitted runs what afterCommit deferred, once the commit is done.
func (tx *Tx) runCommitted() {
	for _, fn := range tx.committed {
		fn()
	}
	tx.committed = nil
}

// update runs fn in a write transaction (BEGIN IMMEDIATE on the single
// writer connection) and commits if fn returns nil. Storage faults become
// EUNAVAILABLE; everything that is not a *guildhall.Error is logged here
// and returned as it is, for the caller to show as "internal error".
//
// Inside Idempotent's run, the transaction is already open: fn then runs
// in a savepoint of it (see nested), so that the operation's writes and
// the answer stored for retries commit together.
func (db *DB) update(ctx context.Context, fn func(tx *Tx) error) error {
	if tx := db.ambient(ctx); tx != nil {
		if err := tx.nested(ctx, fn); err != nil {
			return db.storageError(ctx, "update", err)
		}
		return nil
	}
	if db.committer != nil {
		return db.committer.do(ctx, fn)
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return db.storageError(ctx, "begin", err)
	}
	defer tx.Rollback()
	t := &Tx{Tx: tx, now: db.now().UTC(), stmts: db.writeStmts, observer: db.observer}
	if err := fn(t); err != nil {
		return db.storageError(ctx, "update", err)
	}
	if err := tx.Commit(); err != nil {
		return db.storageError(ctx, "commit", err)
	}
	t.runCommitted()
	db.writeStmts.prepareMissed(ctx)
	return nil
}

// view runs fn in a read transaction on the reader pool: one consistent
// snapshot, even while the writer commits.
func (db *DB) view(ctx context.Context, fn func(tx *Tx) error) error {
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return db.storageError(ctx, "begin read", err)
	}
	defer tx.Rollback()
	if err := fn(&Tx{Tx: tx, now: db.now().UTC(), stmts: db.readStmts, observer: db.observer}); err != nil {
		return db.storageError(ctx, "view", err)
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	db.readStmts.prepareMissed(ctx)
	return nil
}

// storageError passes *guildhall.Error through and classifies the rest:
// a database that cannot be written (read-only file, full disk, I/O error,
// lock held too long) or a request out of time is EUNAVAILABLE, which a
// client may retry; anything else is a bug, logged in full.
func (db *DB) storageError(ctx context.Context, op string, err error) error {
	var ge *guildhall.Error
	if errors.As(err, &ge) {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return guildhall.Errorf(guildhall.EUNAVAILABLE, "The request ran out of time; try again.")
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff { // primary result code
		case sqlite3.SQLITE_READONLY, sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR,
			sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			db.log.ErrorContext(ctx, "storage unavailable", "op", op, "err", err)
			return guildhall.Errorf(guildhall.EUNAVAILABLE, "The database cannot take this request right now; try again shortly.")
		}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// isUniqueViolation reports whether err is SQLite's UNIQUE (or PRIMARY KEY)
// constraint failure, by its extended result code, never by its text.
func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// unix turns a time into the Unix seconds stored in the database.
func unix(t time.Time) int64 { return t.Unix() }

// fromUnix turns stored Unix seconds (NULL as invalid) into a time, zero for NULL.
func fromUnix(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.Unix(v.Int64, 0).UTC()
}
