// Package dbtest gives each test a database of its own, on the backend the
// test run is for: a SQLite file in the test's temporary directory by
// default, or, when GUILDHALL_TEST_BACKEND=postgres, a database of its own
// on the PostgreSQL server at GUILDHALL_TEST_POSTGRES. The tests of db and
// handlers open their databases through it, so one suite runs on both
// backends; `make test` runs those packages a second time on PostgreSQL
// when GUILDHALL_TEST_POSTGRES is set.
//
// Creating a PostgreSQL database costs a tenth of a second or more (it
// copies a template's files), several times what most tests take; so a
// test's database is emptied when the test ends and handed to the next
// test of the binary, and Cleanup drops them at its end. TestMain must
// call Cleanup.
package dbtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver

	"guildhall/db"
	"guildhall/db/migrations"
)

// The environment a test run reads.
const (
	// BackendEnv selects the backend: "postgres" runs the tests on
	// PostgreSQL; unset (or "sqlite"), on SQLite files.
	BackendEnv = "GUILDHALL_TEST_BACKEND"
	// PostgresEnv is the URL of a PostgreSQL server on which the tests may
	// create and drop databases: a superuser of a throwaway cluster, such
	// as `.ci/postgres start` makes.
	PostgresEnv = "GUILDHALL_TEST_POSTGRES"
)

// cheapArgon2 hashes the templates' dummy password cheaply.
var cheapArgon2 = db.Argon2Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

// Postgres reports whether this test run is on PostgreSQL.
func Postgres() bool { return os.Getenv(BackendEnv) == "postgres" }

// SQLiteOnly skips, on a PostgreSQL run, a test of SQLite itself (its
// pragmas, WAL, group commit, files); why says what it tests.
func SQLiteOnly(tb testing.TB, why string) {
	tb.Helper()
	if Postgres() {
		tb.Skip("SQLite only: " + why)
	}
}

// PostgresOnly skips, on a SQLite run, a test of what only PostgreSQL has
// (several nodes on one database); why says what it tests.
func PostgresOnly(tb testing.TB, why string) {
	tb.Helper()
	if !Postgres() {
		tb.Skip("PostgreSQL only (" + BackendEnv + "=postgres): " + why)
	}
}

// PostgresServer returns the URL of the test PostgreSQL server. Without
// one, tb is skipped, or fails under CI (CI=true), where a missing server
// is a broken set-up rather than a choice.
func PostgresServer(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv(PostgresEnv)
	if u != "" {
		return u
	}
	if os.Getenv("CI") == "true" {
		tb.Fatalf("%s is not set: CI runs the PostgreSQL tests (see .ci/run)", PostgresEnv)
	}
	tb.Skipf("%s is not set (a PostgreSQL server URL; .ci/postgres starts one)", PostgresEnv)
	return ""
}

// NewSource returns a database of tb's own, as db.Open takes it: a new
// file path under tb.TempDir(), or the URL of a PostgreSQL database with
// every migration applied and no rows (db.Open finds nothing to migrate:
// the migrations themselves are tested when the template is made, and by
// the tests that ask NewPostgres for an empty database).
func NewSource(tb testing.TB) string {
	tb.Helper()
	if !Postgres() {
		return filepath.Join(tb.TempDir(), "guildhall.db")
	}
	return NewMigrated(tb)
}

// NewMigrated returns a new database for tb with every migration applied,
// copied from a template migrated once per test binary (a file copy, or
// CREATE DATABASE ... TEMPLATE): migrating costs tens of milliseconds per
// database and proves nothing outside db's own tests.
func NewMigrated(tb testing.TB) string {
	tb.Helper()
	if !Postgres() {
		template, err := sqliteTemplate()
		if err != nil {
			tb.Fatal(err)
		}
		path := filepath.Join(tb.TempDir(), "guildhall.db")
		if err := copyFile(path, template); err != nil {
			tb.Fatal(err)
		}
		return path
	}
	server := PostgresServer(tb)
	name, err := recycled.take(server)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := recycled.give(server, name); err != nil {
			tb.Errorf("give back the test database: %v", err)
		}
	})
	return databaseURL(server, name)
}

// NewPostgres returns the URL of a new PostgreSQL database on the test
// server, a copy of the database named template ("": empty), whatever the
// run's backend, and drops it when tb ends (servers still connected to it
// included). A test of several server processes on one database uses it.
func NewPostgres(tb testing.TB, template string) string {
	tb.Helper()
	server := PostgresServer(tb)
	name, err := createDatabase(server, "guildhall_test_", template)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := dropDatabase(server, name); err != nil {
			tb.Errorf("drop the test database: %v", err)
		}
	})
	return databaseURL(server, name)
}

// Cleanup removes what the test binary made for its tests beside their
// own databases: the SQLite template, and the PostgreSQL databases kept
// for reuse. TestMain calls it after m.Run. The PostgreSQL template stays,
// to be reused by the next run, named after its migrations.
func Cleanup() {
	if sqliteTemplateDir != "" {
		os.RemoveAll(sqliteTemplateDir)
	}
	recycled.dropAll()
}

// recycled keeps, per server, the migrated databases whose tests have
// ended, emptied, for the next tests.
var recycled = &databasePool{free: map[string][]string{}}

// databasePool is a set of migrated test databases, per server.
type databasePool struct {
	mu   sync.Mutex
	free map[string][]string
}

// take returns the name of a migrated, empty database on server: one kept
// for reuse, or a new copy of the template.
func (p *databasePool) take(server string) (string, error) {
	p.mu.Lock()
	if free := p.free[server]; len(free) > 0 {
		name := free[len(free)-1]
		p.free[server] = free[:len(free)-1]
		p.mu.Unlock()
		return name, nil
	}
	p.mu.Unlock()
	template, err := postgresTemplate(server)
	if err != nil {
		return "", err
	}
	return createDatabase(server, "guildhall_test_", template)
}

// give empties a database whose test has ended and keeps it for reuse;
// one whose schema is no longer the migrated one (a test moved it), or
// that cannot be emptied, is dropped instead.
func (p *databasePool) give(server, name string) error {
	if err := emptyDatabase(databaseURL(server, name)); err != nil {
		return dropDatabase(server, name)
	}
	p.mu.Lock()
	p.free[server] = append(p.free[server], name)
	p.mu.Unlock()
	return nil
}

// dropAll drops the databases kept for reuse.
func (p *databasePool) dropAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for server, names := range p.free {
		for _, name := range names {
			dropDatabase(server, name)
		}
	}
	clear(p.free)
}

// emptyTablesSQL deletes every row but the migrations' record, with the
// foreign keys and triggers off (session_replication_role), and restarts
// the id sequences, so the database is as the template left it.
const emptyTablesSQL = `
DO $$
DECLARE r record;
BEGIN
	PERFORM set_config('session_replication_role', 'replica', true);
	FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'goose_db_version' LOOP
		EXECUTE format('DELETE FROM %I', r.tablename);
	END LOOP;
	FOR r IN SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' AND sequencename NOT LIKE 'goose%' LOOP
		EXECUTE format('ALTER SEQUENCE %I RESTART', r.sequencename);
	END LOOP;
END
$$`

// emptyDatabase empties the database at url, if its migrations are this
// binary's.
func emptyDatabase(url string) error {
	raw, err := db.OpenRaw(url)
	if err != nil {
		return err
	}
	defer raw.Close()
	provider, err := raw.MigrationProvider()
	if err != nil {
		return err
	}
	have, want, err := provider.GetVersions(context.Background())
	if err != nil {
		return err
	}
	if have != want {
		return fmt.Errorf("at migration %d, not %d", have, want)
	}
	_, err = raw.DB.Exec(`SET lock_timeout = '2s'; ` + emptyTablesSQL)
	return err
}

// sqliteTemplateDir holds the SQLite template, once made.
var sqliteTemplateDir string

// sqliteTemplate returns the path of a migrated SQLite file, made once.
var sqliteTemplate = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "guildhall-test-template")
	if err != nil {
		return "", err
	}
	sqliteTemplateDir = dir
	path := filepath.Join(dir, "migrated.db")
	return path, migrateOnce(path)
})

// migrateOnce opens the database at source with the service, which
// applies the migrations, and closes it.
func migrateOnce(source string) error {
	store, err := db.Open(context.Background(), source, db.Options{Argon2: cheapArgon2, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return fmt.Errorf("migrate the template database: %w", err)
	}
	return store.Close()
}

// admins holds, per server URL, a pool on the server's own database for
// creating and dropping databases.
var admins sync.Map

// adminPool returns the admin pool of server, opened once.
func adminPool(server string) (*sql.DB, error) {
	if p, ok := admins.Load(server); ok {
		return p.(*sql.DB), nil
	}
	pool, err := sql.Open("pgx", server)
	if err != nil {
		return nil, err
	}
	pool.SetMaxOpenConns(4)
	if p, loaded := admins.LoadOrStore(server, pool); loaded {
		pool.Close()
		return p.(*sql.DB), nil
	}
	return pool, nil
}

// createDatabase creates a database named prefix and random digits, a
// copy of template ("": PostgreSQL's default), and returns its name.
func createDatabase(server, prefix, template string) (string, error) {
	pool, err := adminPool(server)
	if err != nil {
		return "", err
	}
	name := prefix + strings.ToLower(rand.Text()[:16]) // unquoted names are lower-case
	stmt := "CREATE DATABASE " + name
	if template != "" {
		stmt += " TEMPLATE " + template
	}
	if _, err := pool.Exec(stmt); err != nil {
		return "", fmt.Errorf("%s: %w", stmt, err)
	}
	return name, nil
}

// dropDatabase drops a test database, ending any session still on it.
func dropDatabase(server, name string) error {
	pool, err := adminPool(server)
	if err != nil {
		return err
	}
	_, err = pool.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	return err
}

// postgresTemplate returns the name of a database migrated to this
// binary's PostgreSQL migrations, made once if the server does not have
// it: it is named after the migrations' contents, so runs of the same
// migrations share it and a changed migration gets a new one. It is
// migrated under a temporary name and renamed when complete, so a run
// beside this one never copies a half-migrated template.
var postgresTemplate = func() func(server string) (string, error) {
	var mu sync.Mutex
	made := map[string]string{}
	return func(server string) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if name, ok := made[server]; ok {
			return name, nil
		}
		name, err := makePostgresTemplate(server)
		if err == nil {
			made[server] = name
		}
		return name, err
	}
}()

func makePostgresTemplate(server string) (string, error) {
	sum, err := migrationsSum(migrations.Postgres)
	if err != nil {
		return "", err
	}
	name := "guildhall_template_" + sum
	pool, err := adminPool(server)
	if err != nil {
		return "", err
	}
	var exists bool
	if err := pool.QueryRow(`SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil || exists {
		return name, err
	}
	tmp, err := createDatabase(server, "guildhall_template_partial_", "")
	if err != nil {
		return "", err
	}
	if err := migrateOnce(databaseURL(server, tmp)); err != nil {
		dropDatabase(server, tmp)
		return "", err
	}
	_, err = pool.Exec("ALTER DATABASE " + tmp + " RENAME TO " + name)
	var pe *pgconn.PgError
	// A run beside this one made it first: duplicate_database, or, when
	// both renames race, the catalog's own unique index (unique_violation).
	if errors.As(err, &pe) && (pe.Code == "42P04" || pe.Code == "23505") {
		return name, dropDatabase(server, tmp)
	} else if err != nil {
		dropDatabase(server, tmp)
		return "", err
	}
	return name, nil
}

// migrationsSum is a short digest of the migration files' names and contents.
func migrationsSum(fsys fs.FS) (string, error) {
	h := sha256.New()
	err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, path)
		fmt.Fprintf(h, "%s %d\n", path, len(b))
		h.Write(b)
		return err
	})
	return hex.EncodeToString(h.Sum(nil))[:16], err
}

// databaseURL is the server's URL with the database name in its path.
func databaseURL(server, name string) string {
	u, err := url.Parse(server)
	if err != nil {
		panic(fmt.Sprintf("%s is not a URL: %v", PostgresEnv, err)) // the admin pool opened it already
	}
	u.Path = "/" + name
	return u.String()
}

// copyFile copies the file at src to dst.
func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
