// Package db is Guildhall's service: it opens the database (a SQLite file
// with checked pragmas, or PostgreSQL for more than one node), applies the
// embedded migrations, and implements every operation of the API as one
// transaction with its authorization inside. The operations are written
// once for both backends; each backend supplies only its SQL (dialect.go).
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/pressly/goose/v3"

	"guildhall"
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
	// ReadConns bounds the reader pool (on PostgreSQL, the writer pool too).
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
	// throttle remembers in memory (see throttle.go). On PostgreSQL the
	// throttle is a table, with room for every key.
	LoginThrottleMaxKeys int
	// GroupCommit commits concurrent write operations together, one
	// savepoint each (see groupcommit.go). SQLite only: PostgreSQL runs
	// many write transactions at once, and ignores it.
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
	dialect *dialect // the backend's SQL (dialect.go)
	// On SQLite, write is one connection (SQLite has one writer; BEGIN
	// IMMEDIATE via _txlock) and read a pool of read-only connections
	// beside it (WAL lets them run during a write). On PostgreSQL both are
	// pools of concurrent connections.
	write *sql.DB
	read  *sql.DB
	// shared, on PostgreSQL only, is the pool of the state every node
	// shares (pg_limits.go): a rate limit is asked inside a write
	// transaction that holds a connection of write, and may be one of as
	// many such transactions as write has connections (waiting for their
	// turn, see updateQueued), so it must never wait for write.
	shared *sql.DB
	ttl    time.Duration
	now    func() time.Time
	log    *slog.Logger
	hasher *hasher
	// throttle counts failed password logins (see throttle.go; on
	// PostgreSQL, pg_limits.go).
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

	writeStmts, readStmts *stmtCache      // prepared statements of each pool (SQLite; pgx keeps its own)
	keyLookup             *sql.Stmt       // keyLookupSQL on the readers (apikeys.go)
	keys                  *keyCache       // API keys recently checked (apikeys.go)
	committer             *groupCommitter // nil unless Options.GroupCommit
	observer              Observer        // never nil: noObserver without Options.Observer
	// begun, if set, is called as each write transaction begins (and as
	// each retry of one does): a test hook (export_test.go) that lets
	// transactions on PostgreSQL overlap as a test chooses.
	begun func(ctx context.Context, tx *Tx, attempt int) error
}

// Open opens the database source names and applies pending migrations.
// A source starting with postgres:// or postgresql:// is a PostgreSQL
// database (see IsPostgresURL); anything else is the path of a SQLite
// file, created if needed, whose pragmas are checked.
func Open(ctx context.Context, source string, opts Options) (*DB, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	db := &DB{dialect: dialectFor(source), ttl: opts.InviteTTL, tokenTTL: opts.TokenTTL, now: opts.Now, log: opts.Logger,
		hasher: newHasher(opts.Argon2), signupClosed: opts.SignupClosed, search: defaultSearchLimits, keys: newKeyCache()}
	db.maxPendingInvites, db.maxPendingInvitesPerUser = opts.MaxPendingInvites, opts.MaxPendingInvitesPerUser
	if db.dialect.sharedState {
		err = db.openPostgres(ctx, source, opts)
	} else {
		err = db.openSQLite(ctx, source, opts)
	}
	if err != nil {
		return nil, err
	}
	if db.keyLookup, err = db.read.PrepareContext(ctx, db.dialect.text(keyLookupSQL)); err != nil {
		db.Close()
		return nil, fmt.Errorf("prepare the key lookup: %w", err)
	}
	db.throttle = db.newLoginLimiterFor(opts.LoginThrottleMaxKeys)
	db.inviteRatePerMinute, db.inviteRate = opts.InviteRate, db.newRateLimiterFor(limitInvite, opts.InviteRate, time.Minute)
	db.orgRatePerHour, db.orgRate = opts.OrganizationRate, db.newRateLimiterFor(limitOrganization, opts.OrganizationRate, time.Hour)
	db.signupRatePerHour, db.signupRate = opts.SignupRate, db.newRateLimiterFor(limitSignup, opts.SignupRate, time.Hour)
	db.observer = noObserver{}
	if opts.Observer != nil {
		db.observer = opts.Observer
		db.observeLimits(opts.Observer)
	}
	return db, nil
}

// openSQLite opens the one writer connection and the reader pool on the
// SQLite file at path, checks their pragmas and applies pending migrations.
func (db *DB) openSQLite(ctx context.Context, path string, opts Options) error {
	var err error
	if db.write, err = sql.Open("sqlite", DSN(path, "_txlock=immediate")); err != nil {
		return fmt.Errorf("open writer: %w", err)
	}
	db.write.SetMaxOpenConns(1)
	db.write.SetMaxIdleConns(1)
	db.write.SetConnMaxLifetime(0)
	db.write.SetConnMaxIdleTime(0)

	// The writer goes first: it creates the file and switches it to WAL,
	// which the read-only connections then find in place.
	if err := checkPragmas(ctx, db.write); err != nil {
		db.write.Close()
		return err
	}
	if err := migrate(ctx, db.write, sqliteDialect); err != nil {
		db.write.Close()
		return err
	}

	if db.read, err = sql.Open("sqlite", DSN(path, "_pragma=query_only(1)")); err != nil {
		db.write.Close()
		return fmt.Errorf("open readers: %w", err)
	}
	db.read.SetMaxOpenConns(opts.ReadConns)
	db.read.SetMaxIdleConns(opts.ReadConns)
	db.read.SetConnMaxIdleTime(0)
	if err := checkPragmas(ctx, db.read); err != nil {
		db.Close()
		return err
	}
	db.writeStmts, db.readStmts = newStmtCache(db.write), newStmtCache(db.read)
	if opts.GroupCommit {
		db.committer = newGroupCommitter(db)
	}
	return nil
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

// migrate applies the backend's embedded migrations that have not run yet.
func migrate(ctx context.Context, pool *sql.DB, d *dialect) error {
	provider, err := migrationProvider(pool, d)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := provider.Up(ctx); err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	return nil
}

// migrationProvider is a goose provider of the backend's migrations on
// pool. It applies a missing migration older than the database's newest
// (out of order): the release before migration 6 shipped 7 (the member
// lists) without it, so its databases stand at 7 with 6 missing. 6 only
// creates tables of its own (sign-in tokens, idempotency keys) that 7
// does not touch, so it applies after 7 as well as before
// (TestMigrateFromReleaseWithout6).
func migrationProvider(pool *sql.DB, d *dialect) (*goose.Provider, error) {
	return goose.NewProvider(d.goose, pool, d.migrations, goose.WithAllowOutofOrder(true))
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
	var shared error
	if db.shared != nil {
		shared = db.shared.Close()
	}
	return errors.Join(db.read.Close(), db.write.Close(), shared)
}

// Ping checks that a read works.
func (db *DB) Ping(ctx context.Context) error {
	return db.read.PingContext(ctx)
}

// Tx is a transaction with the one timestamp its operation uses throughout.
type Tx struct {
	*sql.Tx
	dialect *dialect // rewrites each query for the backend (statements.go)
	now     time.Time
	stmts   *stmtCache // the pool's prepared statements (statements.go)
	// bound holds those statements bound to this transaction, by the pool's.
	bound  map[*sql.Stmt]*sql.Stmt
	shared bool // one of several operations in a group commit
	// observer is told of refusals by the limits checked inside a
	// transaction (limits.go).
	observer Observer
	// committed is what must happen once the writes are committed (see
	// afterCommit).
	committed []func()
	// run is the write operation this transaction is one attempt of, when
	// update may run it again (see writeRun); nil in a read or a group
	// commit, which are never run again.
	run *writeRun
	// asked counts the decisions this attempt has asked for (once).
	asked int
	// refusals are the limits that refused something in this attempt, for
	// the observer once the attempt is known to be the last (refused).
	refusals []string
	// lost is a failure met in a savepoint of this transaction for which
	// the whole transaction must run again (see nested).
	lost error
}

// writeRun is one write operation across the attempts of its transaction.
// On PostgreSQL, update runs a transaction that lost a race to a
// concurrent one again from its start; fn, and, in an idempotent write,
// the handler's call, run again. Whatever an attempt did outside the
// database must then neither be done twice nor be kept from an attempt
// that did not stand: a rate limit counts the operation's events once, and
// the observer hears only of the last attempt's refusals.
type writeRun struct {
	// decided holds the answers of the decisions made outside the
	// transaction (Tx.once), in the order the operation asked for them.
	decided []error
}

// once returns the answer of decide, a decision taken outside the
// transaction that counts what it decides (a rate limit), asked once per
// operation: an attempt run again gets, for its nth question, the answer
// the first attempt to ask it got. Every attempt asks its questions in the
// same order, as each runs the same code from the start. A nil tx (no
// transaction, or one that never runs again) asks decide every time.
func (tx *Tx) once(decide func() error) error {
	if tx == nil || tx.run == nil {
		return decide()
	}
	i := tx.asked
	tx.asked++
	if i < len(tx.run.decided) {
		return tx.run.decided[i]
	}
	err := decide()
	tx.run.decided = append(tx.run.decided, err)
	return err
}

// refused tells the observer that the limit named limit refused something
// in this transaction: at once, or, in an attempt that may be run again,
// once it is known to be the last (see DB.updateQueued).
func (tx *Tx) refused(limit string) {
	if tx.run == nil {
		tx.observer.LimitRefused(limit)
		return
	}
	tx.refusals = append(tx.refusals, limit)
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

// Bounds on running a write transaction again after it lost a race to a
// concurrent one (PostgreSQL's serialization failures and deadlocks; on
// SQLite writes take turns and never lose): up to maxWriteAttempts runs,
// with a random pause between them that grows up to maxRetryPause, so
// that transactions that collided do not collide again.
const (
	maxWriteAttempts = 30
	firstRetryPause  = time.Millisecond
	maxRetryPause    = 32 * time.Millisecond
)

// update runs fn in a write transaction and commits if fn returns nil: on
// SQLite BEGIN IMMEDIATE on the single writer connection, on PostgreSQL a
// SERIALIZABLE transaction, run again from the start (fn included) if it
// lost to a concurrent one, so fn must only set its results, never add to
// them, and take decisions that count outside the database through
// Tx.once. Storage faults become EUNAVAILABLE; everything that is not a
// *guildhall.Error is logged here and returned as it is, for the caller
// to show as "internal error".
//
// Inside Idempotent's run, the transaction is already open: fn then runs
// in a savepoint of it (see nested), so that the operation's writes and
// the answer stored for retries commit together. A race lost there is
// returned untouched, for the enclosing transaction to run again whole.
func (db *DB) update(ctx context.Context, fn func(tx *Tx) error) error {
	return db.updateQueued(ctx, nil, fn)
}

// updateQueued is update for an operation that writes what many others
// may write at the same moment: all invitations to one organization
// update its count of open invitations. On PostgreSQL such transactions
// would all run at once and all but one fail and run again, over and
// over; instead each waits its turn for queue's lock (dialect.enqueue),
// across every node, before it begins. The lock decides nothing: the
// transaction is as SERIALIZABLE with it as without it. On SQLite writes
// take turns anyway, and queue is ignored; so is it inside an enclosing
// transaction (Idempotent's), whose snapshot is already taken.
func (db *DB) updateQueued(ctx context.Context, queue *writeQueue, fn func(tx *Tx) error) error {
	if tx := db.ambient(ctx); tx != nil {
		err := tx.nested(ctx, fn)
		if err == nil || tx.lost != nil {
			return err
		}
		return db.storageError(ctx, "update", err)
	}
	if db.committer != nil {
		return db.committer.do(ctx, fn)
	}
	var begin txBeginner = db.write
	if queue != nil && db.dialect.enqueue != nil {
		conn, release, err := db.dialect.enqueue(ctx, db.write, *queue)
		if err != nil {
			return db.storageError(ctx, "wait for the queue", err)
		}
		defer release()
		begin = conn
	}
	run := &writeRun{}
	var last *Tx
	defer func() {
		if last == nil {
			return // no attempt began (the context ended first, say)
		}
		for _, limit := range last.refusals {
			db.observer.LimitRefused(limit)
		}
	}()
	return db.retrying(ctx, func(attempt int) (string, error) {
		tx, err := begin.BeginTx(ctx, db.dialect.writeTx)
		if err != nil {
			return "begin", err
		}
		defer tx.Rollback()
		t := &Tx{Tx: tx, dialect: db.dialect, now: db.now().UTC(), stmts: db.writeStmts, observer: db.observer, run: run}
		last = t
		if db.begun != nil {
			if err := db.begun(ctx, t, attempt); err != nil {
				return "begin", err
			}
		}
		err = fn(t)
		if t.lost != nil {
			return "update", t.lost // whatever fn made of it: the attempt is void
		} else if err != nil {
			return "update", err
		}
		if err := tx.Commit(); err != nil {
			return "commit", err
		}
		t.runCommitted()
		db.writeStmts.prepareMissed(ctx)
		return "", nil
	})
}

// retrying runs attempt, a transaction, until it succeeds, fails in a way
// another run would not mend, or has run maxWriteAttempts times, and
// classifies its last failure (storageError) by the step that failed.
func (db *DB) retrying(ctx context.Context, attempt func(n int) (step string, err error)) error {
	pause := firstRetryPause
	for n := 1; ; n++ {
		step, err := attempt(n)
		if err == nil {
			return nil
		}
		if n == maxWriteAttempts || !db.dialect.retryable(err) {
			return db.storageError(ctx, step, err)
		}
		timer := time.NewTimer(rand.N(pause) + 1)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return db.storageError(ctx, step, ctx.Err())
		}
		pause = min(2*pause, maxRetryPause)
	}
}

// view runs fn in a read transaction on the reader pool: one consistent
// snapshot, even while the writer commits.
func (db *DB) view(ctx context.Context, fn func(tx *Tx) error) error {
	tx, err := db.read.BeginTx(ctx, db.dialect.readTx)
	if err != nil {
		return db.storageError(ctx, "begin read", err)
	}
	defer tx.Rollback()
	if err := fn(&Tx{Tx: tx, dialect: db.dialect, now: db.now().UTC(), stmts: db.readStmts, observer: db.observer}); err != nil {
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
// lock held too long; a server out of reach) or a request out of time is
// EUNAVAILABLE, which a client may retry; anything else is a bug, logged
// in full.
func (db *DB) storageError(ctx context.Context, op string, err error) error {
	var ge *guildhall.Error
	if errors.As(err, &ge) {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return guildhall.Errorf(guildhall.EUNAVAILABLE, "The request ran out of time; try again.")
	}
	if db.dialect.unavailable(err) {
		db.log.ErrorContext(ctx, "storage unavailable", "op", op, "err", err)
		return guildhall.Errorf(guildhall.EUNAVAILABLE, "The database cannot take this request right now; try again shortly.")
	}
	return fmt.Errorf("%s: %w", op, err)
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
