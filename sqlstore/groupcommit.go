package sqlstore

import (
	"context"
	"runtime"
	"sync"
)

// groupCommit writes rows that many goroutines store at once in shared
// transactions: every flow report stores its query record before it is
// answered, and one commit — one fsync on SQLite, one round trip and WAL
// flush on PostgreSQL — per report would cap the reports per second at the
// disk's commits per second. A caller still returns only once its own row
// is committed (or failed), so the guarantee is unchanged.
//
// The first caller to find no commit in flight leads: it takes every row
// waiting (its own included) and commits them in one transaction. When it
// is done, the first caller that arrived meanwhile leads the next commit, so
// no caller works for others longer than its own batch.
type groupCommit[T any] struct {
	write func(ctx context.Context, rows []T) error

	mu     sync.Mutex
	queue  []*groupWaiter[T]
	active bool

	// wal checkpoints SQLite's WAL for writes that commit without
	// (querywal.go); unused otherwise.
	wal walCheckpoint
}

type groupWaiter[T any] struct {
	row  T
	done chan error    // the commit's outcome
	lead chan struct{} // closed when this waiter is to lead the next commit
}

// maxGroup bounds one transaction's rows (parameters stay under both
// databases' limits in writeQueryRecords).
const maxGroup = 256

func newGroupCommit[T any](write func(ctx context.Context, rows []T) error) *groupCommit[T] {
	return &groupCommit[T]{write: write}
}

// put stores row in the next group commit and waits for its outcome. The
// commit runs under a context without the callers' cancellation: other
// callers' rows ride in it.
func (g *groupCommit[T]) put(ctx context.Context, row T) error {
	w := &groupWaiter[T]{row: row, done: make(chan error, 1), lead: make(chan struct{})}
	g.mu.Lock()
	g.queue = append(g.queue, w)
	lead := !g.active
	g.active = true
	g.mu.Unlock()
	if lead {
		g.gather()
		g.commit(ctx)
		return <-w.done
	}
	select {
	case err := <-w.done:
		return err
	case <-w.lead:
		g.commit(ctx)
		return <-w.done
	}
}

// gather lets callers that are already running reach the queue before a
// commit that found nobody ahead of it: callers tend to come in cohorts (a
// transparency-log batch resolves the appends of many reports at once), and
// without this the first of a cohort commits alone and the rest wait for
// that commit to commit in turn — two fsyncs in a row instead of one. It
// yields the processor while the queue keeps growing, a few times at most;
// a lone caller loses two yields (microseconds).
func (g *groupCommit[T]) gather() {
	n := 0
	for range 4 {
		runtime.Gosched()
		g.mu.Lock()
		m := len(g.queue)
		g.mu.Unlock()
		if m == n || m >= maxGroup {
			return
		}
		n = m
	}
}

// commit writes the waiting rows (at most maxGroup) in one transaction,
// tells their callers, and hands the lead to the next waiter, if any.
func (g *groupCommit[T]) commit(ctx context.Context) {
	g.mu.Lock()
	n := min(len(g.queue), maxGroup)
	batch := g.queue[:n:n]
	g.queue = g.queue[n:]
	g.mu.Unlock()
	rows := make([]T, len(batch))
	for i, w := range batch {
		rows[i] = w.row
	}
	wctx := context.WithoutCancel(ctx)
	err := g.write(wctx, rows)
	for i, w := range batch {
		if err != nil && len(batch) > 1 {
			// One bad row must not fail the others: each alone, so every
			// caller learns its own row's outcome.
			w.done <- g.write(wctx, rows[i:i+1])
			continue
		}
		w.done <- err
	}
	g.mu.Lock()
	if len(g.queue) > 0 {
		close(g.queue[0].lead)
	} else {
		g.active = false
	}
	g.mu.Unlock()
}
