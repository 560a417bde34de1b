package db

import (
	"database/sql"
	"errors"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"guildhall/db/migrations"
)

// sqliteDialect is the default backend: a SQLite file through
// modernc.org/sqlite, one writer connection beside a pool of readers
// (db.go's Open), queries run as written. Its limits and login throttle
// live in this process's memory (limits.go, throttle.go): one node is
// the only one counting.
var sqliteDialect = &dialect{
	goose:           goose.DialectSQLite3,
	migrations:      migrations.SQLite,
	newestMigration: newestMigrationIn(migrations.SQLite),
	// Writes are BEGIN IMMEDIATE on the one writer connection (_txlock in
	// its DSN): they take turns, so they never conflict.
	writeTx:         nil,
	readTx:          &sql.TxOptions{ReadOnly: true},
	uniqueViolation: sqliteUniqueViolation,
	retryable:       func(error) bool { return false },
	unavailable:     sqliteUnavailable,
	lists:           newMemberListSQL(sqliteSkipRows, sqliteUsernameSearch, ftsPhrase),
}

// sqliteUniqueViolation reports whether err is SQLite's UNIQUE (or PRIMARY
// KEY) constraint failure, by its extended result code.
func sqliteUniqueViolation(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// sqliteUnavailable reports a database that cannot be written (read-only
// file, full disk, I/O error) or was locked for longer than busy_timeout.
func sqliteUnavailable(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff { // primary result code
	case sqlite3.SQLITE_READONLY, sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR,
		sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return true
	}
	return false
}
