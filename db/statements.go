package db

import (
	"context"
	"database/sql"
	"sync"
)

// maxCachedStatements bounds the prepared statements kept per pool. The
// service's queries are constant strings, a few dozen in all; the bound
// only guards against a future caller building SQL from data.
const maxCachedStatements = 256

// stmtCache keeps prepared statements for one pool. modernc.org/sqlite
// parses every ad-hoc query anew, and parsing was a sixth of the server's
// CPU under the benchmark's invite load. A query is first run ad hoc and
// noted; it is prepared after its transaction ends (preparing inside one
// would wait for a second connection, which the one-connection writer
// never has), and later transactions bind the prepared statement to their
// connection with Tx.StmtContext.
type stmtCache struct {
	pool    *sql.DB
	mu      sync.RWMutex
	stmts   map[string]*sql.Stmt
	missed  map[string]bool
	closing bool
}

func newStmtCache(pool *sql.DB) *stmtCache {
	return &stmtCache{pool: pool, stmts: map[string]*sql.Stmt{}, missed: map[string]bool{}}
}

// get returns the prepared statement for query, or nil (noting the miss).
func (c *stmtCache) get(query string) *sql.Stmt {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	st, known := c.stmts[query]
	missedBefore := c.missed[query]
	c.mu.RUnlock()
	if known || missedBefore {
		return st // nil when missed and not prepared yet
	}
	c.mu.Lock()
	if _, known := c.stmts[query]; !known && len(c.stmts)+len(c.missed) < maxCachedStatements {
		c.missed[query] = true
	}
	c.mu.Unlock()
	return nil
}

// prepareMissed prepares the queries noted since the last call. It runs
// outside any transaction, when a connection is free to prepare on, and
// without the lock, which transactions need meanwhile.
func (c *stmtCache) prepareMissed(ctx context.Context) {
	if c == nil {
		return
	}
	c.mu.Lock()
	queries := make([]string, 0, len(c.missed))
	for query := range c.missed {
		queries = append(queries, query)
	}
	clear(c.missed)
	c.mu.Unlock()
	for _, query := range queries {
		st, err := c.pool.PrepareContext(ctx, query)
		if err != nil {
			continue // it stays ad hoc, and is noted again at its next use
		}
		c.mu.Lock()
		if _, known := c.stmts[query]; known || c.closing {
			st.Close()
		} else {
			c.stmts[query] = st
		}
		c.mu.Unlock()
	}
}

// close closes every prepared statement; the pool is closed after.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closing = true
	for _, st := range c.stmts {
		if st != nil {
			st.Close()
		}
	}
	c.stmts = map[string]*sql.Stmt{}
}

// statementContext is the context a statement of this transaction runs
// under: the operation's own, except in a group commit, where one
// caller's cancellation must not interrupt the shared transaction (SQLite
// may roll all of it back on an interrupt); there each operation's
// context is checked before it starts instead.
func (tx *Tx) statementContext(ctx context.Context) context.Context {
	if tx.shared {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// stmt returns the pool's prepared statement for query bound to this
// transaction, or nil if it is not prepared yet. A statement is bound once
// per transaction: binding allocates, and a group commit's transaction runs
// the same few statements for every operation of its batch.
func (tx *Tx) stmt(ctx context.Context, query string) *sql.Stmt {
	st := tx.stmts.get(query)
	if st == nil {
		return nil
	}
	if bound, ok := tx.bound[st]; ok {
		return bound
	}
	bound := tx.Tx.StmtContext(ctx, st)
	if tx.bound == nil {
		tx.bound = map[*sql.Stmt]*sql.Stmt{}
	}
	tx.bound[st] = bound
	return bound
}

// ExecContext runs a statement in the transaction, rewritten for the
// backend and prepared once per pool.
func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx = tx.statementContext(ctx)
	query, args = tx.dialect.sql(query, args)
	if st := tx.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return tx.Tx.ExecContext(ctx, query, args...)
}

// QueryContext runs a query in the transaction, rewritten for the backend
// and prepared once per pool. Two queries of the same text must not be
// open at once: they share one prepared statement.
func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx = tx.statementContext(ctx)
	query, args = tx.dialect.sql(query, args)
	if st := tx.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return tx.Tx.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a one-row query in the transaction, rewritten for
// the backend and prepared once per pool.
func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	ctx = tx.statementContext(ctx)
	query, args = tx.dialect.sql(query, args)
	if st := tx.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return tx.Tx.QueryRowContext(ctx, query, args...)
}
