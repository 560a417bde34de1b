package db

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"

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
	// queued, if set, is called each time an operation joins the queue:
	// a test hook (export_test.go), so tests order themselves without sleeping.
	queued func()
}

// writeOp is one caller's write operation waiting for a commit.
type writeOp struct {
	ctx    context.Context
	fn     func(tx *Tx) error
	answer chan error
	// state leaves opQueued exactly once: to opStarted when the committer
	// takes the operation, or to opAbandoned when its caller gives up
	// first. Whichever side makes the move decides the operation's fate.
	state atomic.Int32
}

// The states of a writeOp.
const (
	opQueued int32 = iota
	opStarted
	opAbandoned
)

func newGroupCommitter(db *DB) *groupCommitter {
	c := &groupCommitter{db: db, ops: make(chan *writeOp, maxGroupCommitOps), done: make(chan struct{})}
	go c.run()
	return c
}

// do queues fn and waits for the commit that holds it (or its failure).
// If ctx ends while the operation is still queued, the caller gives up at
// once with EUNAVAILABLE and the committer skips the operation; once the
// committer has started it, the caller waits for the commit, so that the
// outcome it reports is the one the database holds.
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
	if c.queued != nil {
		c.queued()
	}
	select {
	case err := <-op.answer:
		return err
	case <-ctx.Done():
		if op.state.CompareAndSwap(opQueued, opAbandoned) {
			return c.db.storageError(ctx, "queued write", ctx.Err())
		}
		return <-op.answer
	}
}

// start claims op for the committer. It fails if the caller has given up,
// or if the caller's context has ended and it is about to.
func (op *writeOp) start() bool {
	if op.ctx.Err() != nil {
		op.state.CompareAndSwap(opQueued, opAbandoned)
	}
	return op.state.CompareAndSwap(opQueued, opStarted)
}

// close stops taking operations, commits those already queued and waits.
func (c *groupCommitter) close() {
	c.stop()
	<-c.done
}

// stop refuses operations from now on; those already queued still commit.
func (c *groupCommitter) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.shut {
		c.shut = true
		close(c.ops)
	}
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
	shared := &Tx{Tx: tx, dialect: db.dialect, stmts: db.writeStmts, shared: true, observer: db.observer}
	ran := 0
	for i, op := range batch {
		if !op.start() {
			results[i] = db.storageError(op.ctx, "update", op.ctx.Err())
			continue
		}
		ran++
		if _, err := shared.ExecContext(ctx, "SAVEPOINT operation"); err != nil {
			fail(i, db.storageError(ctx, "savepoint", err))
			return
		}
		shared.now = db.now().UTC()
		deferred := len(shared.committed)
		if err := runOperation(op.fn, shared); err != nil {
			results[i] = db.storageError(op.ctx, "update", err)
			shared.committed = shared.committed[:deferred] // rolled back below: nothing of op's will commit
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
	shared.runCommitted() // before any caller is answered (the deferred answer)
	db.observer.GroupCommitted(ran)
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
