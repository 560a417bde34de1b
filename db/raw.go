package db

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
)

// Raw is a plain connection pool to a database, beside any service on it:
// for tools and tests that seed or read rows directly. Its Exec and Query
// methods take queries as the service writes them (SQLite's ? and ?N
// placeholders) and rewrite them for the backend, as the service's
// transactions do; the embedded *sql.DB's other methods run SQL as given.
type Raw struct {
	*sql.DB
	dialect *dialect
}

// OpenRaw opens the database source names (see Open) without migrating it
// or checking it, with the pragmas the service uses on SQLite.
func OpenRaw(source string) (*Raw, error) {
	d := dialectFor(source)
	if d != postgresDialect {
		pool, err := sql.Open("sqlite", DSN(source))
		return &Raw{DB: pool, dialect: d}, err
	}
	cfg, err := pgx.ParseConfig(source)
	if err != nil {
		return nil, fmt.Errorf("the PostgreSQL URL: %w", err)
	}
	return &Raw{DB: stdlib.OpenDB(*cfg), dialect: d}, nil
}

// Postgres reports whether the database is PostgreSQL, for the SQL a tool
// must write per backend (seeding many rows, say).
func (r *Raw) Postgres() bool { return r.dialect == postgresDialect }

// MigrationProvider returns a goose provider of the backend's migrations
// on this database, for tools and tests that move its schema by hand.
func (r *Raw) MigrationProvider() (*goose.Provider, error) {
	return migrationProvider(r.DB, r.dialect)
}

// ExecContext runs a statement written as the service writes them.
func (r *Raw) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	query, args = r.dialect.sql(query, args)
	return r.DB.ExecContext(ctx, query, args...)
}

// Exec runs a statement written as the service writes them.
func (r *Raw) Exec(query string, args ...any) (sql.Result, error) {
	return r.ExecContext(context.Background(), query, args...)
}

// QueryContext runs a query written as the service writes them.
func (r *Raw) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	query, args = r.dialect.sql(query, args)
	return r.DB.QueryContext(ctx, query, args...)
}

// Query runs a query written as the service writes them.
func (r *Raw) Query(query string, args ...any) (*sql.Rows, error) {
	return r.QueryContext(context.Background(), query, args...)
}

// QueryRowContext runs a one-row query written as the service writes them.
func (r *Raw) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	query, args = r.dialect.sql(query, args)
	return r.DB.QueryRowContext(ctx, query, args...)
}

// QueryRow runs a one-row query written as the service writes them.
func (r *Raw) QueryRow(query string, args ...any) *sql.Row {
	return r.QueryRowContext(context.Background(), query, args...)
}
