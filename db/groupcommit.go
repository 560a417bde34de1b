package db

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"

	"guildhall"
)

// maxGroupCommitOps bounds how many write operations share one commit.
const maxGroupCommitOps = 256

// groupCommitter runs write operations in shared transactions: it takes
// every operation waiting when the writer comes free, runs each in its own
// SAVEPOINT inside one BEGIN IMMEDIATE transaction (a failing operation
// rolls back to its savepoint, leaving the others intact), commits once,
// and only then answers each caller. With synchronous=FULL the commit has
// synced the WAL before any caller hears "done", so an acknowledged write
// is as durable as with one commit per operation; the saving is the
// fsync and the commit's page writes, paid once per batch.
//
// No operation waits for others to arrive: a batch is whatever queued up
// while the previous one was committing, so a lone request is committed
// at once.
type groupCommitter struct {
	db   *DB
	mu   sync.RWMutex // held for reading while queueing; for writing to close
	ops  chan *writeOp
	shut bool
	done chan struct{}
}

// writeOp is one caller's write operation waiting for a commit.
type writeOp struct {
	ctx    context.Context
	fn     func(tx *Tx) error
	answer chan error
}

func newGroupCommitter(db *DB) *groupCommitter {
	c := &groupCommitter{db: db, ops: make(chan *writeOp, maxGroupCommitOps), done: make(chan struct{})}
	go c.run()
	return c
}

// do queues fn and waits for the commit that holds it (or its failure).
// Once queued, the caller waits for the answer even if ctx ends: the
// operation may already be in a commit, and its outcome must be reported
// truthfully. A cancelled operation is skipped if it has not started.
func (c *groupCommitter) do(ctx context.Context, fn func(tx *Tx) error) error {
	op := &writeOp{ctx: ctx, fn: fn, answer: make(chan error, 1)}
	c.mu.RLock()
	if c.shut {
		c.mu.RUnlock()
		return guildhall.Errorf(guildhall.EUNAVAILABLE, "The server is shutting down; try again shortly.")
	}
	select {
	case c.ops <- op:
	case <-ctx.Done():
		c.mu.RUnlock()
		return c.db.storageError(ctx, "queue write", ctx.Err())
	}
	c.mu.RUnlock()
	return <-op.answer
}

// close stops taking operations, commits those already queued and waits.
func (c *groupCommitter) close() {
	c.mu.Lock()
	if !c.shut {
		c.shut = true
		close(c.ops)
	}
	c.mu.Unlock()
	<-c.done
}

func (c *groupCommitter) run() {
	defer close(c.done)
	batch := make([]*writeOp, 0, maxGroupCommitOps)
	for op := range c.ops {
		batch = append(batch[:0], op)
	gather:
		for len(batch) < maxGroupCommitOps {
			select {
			case op, ok := <-c.ops:
				if !ok {
					break gather
				}
				batch = append(batch, op)
			default:
				break gather
			}
		}
		c.commit(batch)
	}
}

// commit runs one batch in one transaction and answers every caller.
func (c *groupCommitter) commit(batch []*writeOp) {
	db := c.db
	ctx := context.Background() // no one caller's context may end the shared transaction
	results := make([]error, len(batch))
	answer := func() {
		for i, op := range batch {
			op.answer <- results[i]
		}
	}
	defer answer()
	fail := func(from int, err error) {
		for i := from; i < len(batch); i++ {
			if results[i] == nil {
				results[i] = err
			}
		}
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		fail(0, db.storageError(ctx, "begin", err))
		return
	}
	defer tx.Rollback()
	shared := &Tx{Tx: tx, stmts: db.writeStmts, shared: true}
	for i, op := range batch {
		if err := op.ctx.Err(); err != nil {
			results[i] = db.storageError(op.ctx, "update", err)
			continue
		}
		if _, err := shared.ExecContext(ctx, "SAVEPOINT operation"); err != nil {
			fail(i, db.storageError(ctx, "savepoint", err))
			return
		}
		shared.now = db.now().UTC()
		if err := runOperation(op.fn, shared); err != nil {
			results[i] = db.storageError(op.ctx, "update", err)
			if _, err := shared.ExecContext(ctx, "ROLLBACK TO operation"); err != nil {
				// The transaction is broken: nothing in it will commit,
				// earlier successes included.
				fail(0, db.storageError(ctx, "rollback to savepoint", err))
				return
			}
		}
		if _, err := shared.ExecContext(ctx, "RELEASE operation"); err != nil {
			fail(0, db.storageError(ctx, "release savepoint", err))
			return
		}
	}
	if err := tx.Commit(); err != nil {
		fail(0, db.storageError(ctx, "commit", err))
		return
	}
	db.writeStmts.prepareMissed(ctx)
}

// runOperation runs one operation of a batch, turning a panic into an
// error: the committer goroutine must survive a bug in one operation, as a
// request goroutine does through the router's recover middleware.
func runOperation(fn func(tx *Tx) error, tx *Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic in write operation: %v\n%s", p, debug.Stack())
		}
	}()
	return fn(tx)
}
