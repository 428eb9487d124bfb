package tlog

import (
	"context"
	"runtime"
	"sync"

	"github.com/transparency-dev/tessera"
)

// sequencer hands leaves to Tessera one group at a time. Tessera's queue
// cuts a batch BatchMaxAge after its first leaf and sequences batches one
// after another, each with about ten synced file writes (entry bundle,
// tiles, tree state and their directories) whatever its size. Once
// sequencing a batch takes longer than BatchMaxAge — whenever the disk is
// busy — batches queue up behind each other, each holding only the leaves
// of one BatchMaxAge, and every leaf waits for all the batches ahead of it:
// the flow report benchmark saw 2.8 leaves a batch and 60 ms appends. The
// sequencer instead gives Tessera, all at once, every leaf that arrived
// while the previous group was being sequenced, and waits for that group
// before handing over the next: a group holds whatever is waiting (up to
// BatchMaxSize), and a leaf waits for at most the group in progress and
// its own.
//
// Nothing about a leaf's fate changes: Append still returns its index only
// once Tessera has sequenced and integrated it.
type sequencer struct {
	add     func(context.Context, *tessera.Entry) tessera.IndexFuture
	max     int
	advance func(size uint64) // raises the integrated-size hint; may be nil
	done    func()            // called once for every request answered

	mu    sync.Mutex
	queue []*seqRequest
	wake  chan struct{}
}

type seqRequest struct {
	ctx   context.Context
	entry *tessera.Entry
	res   chan seqResult // buffered: the caller may have gone
}

type seqResult struct {
	idx uint64
	err error
}

func newSequencer(add func(context.Context, *tessera.Entry) tessera.IndexFuture, max int, advance func(uint64), done func()) *sequencer {
	return &sequencer{add: add, max: max, advance: advance, done: done, wake: make(chan struct{}, 1)}
}

// enqueue queues a leaf for the next group; its result arrives on r.res.
func (s *sequencer) enqueue(r *seqRequest) {
	s.mu.Lock()
	s.queue = append(s.queue, r)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// run sequences the queued leaves until ctx ends.
func (s *sequencer) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			s.fail(ctx.Err())
			return
		case <-s.wake:
		}
		for s.group(ctx) {
			s.gather()
		}
	}
}

// gather lets callers the last group released, and that append again at
// once, reach the queue before the next group is handed over: without it,
// callers that append back to back settle into two groups that take turns,
// each leaf waiting for two batches instead of one. It yields the processor
// while the queue keeps growing, a few times at most.
func (s *sequencer) gather() {
	n := -1
	for range 4 {
		s.mu.Lock()
		m := len(s.queue)
		s.mu.Unlock()
		if m == n || m >= s.max {
			return
		}
		n = m
		runtime.Gosched()
	}
}

// group hands the waiting leaves (at most max) to Tessera and waits for
// their indices. It reports whether there was anything to do.
func (s *sequencer) group(ctx context.Context) bool {
	s.mu.Lock()
	n := min(len(s.queue), s.max)
	group := s.queue[:n:n]
	s.queue = s.queue[n:]
	s.mu.Unlock()
	if n == 0 {
		return false
	}
	futures := make([]tessera.IndexFuture, n)
	for i, r := range group {
		if err := r.ctx.Err(); err != nil {
			// The caller gave up before its leaf reached Tessera: it is not
			// logged, and the caller already returned its error.
			r.res <- seqResult{err: err}
			s.done()
			continue
		}
		futures[i] = s.add(ctx, r.entry)
	}
	results := make([]seqResult, n)
	var size uint64
	for i, f := range futures {
		if f == nil {
			continue
		}
		idx, err := f()
		results[i] = seqResult{idx.Index, err}
		if err == nil {
			size = max(size, idx.Index+1)
		}
	}
	if size > 0 && s.advance != nil {
		// Tessera's POSIX driver resolves an index only after integrating
		// its batch, so the tree now holds at least size leaves.
		s.advance(size)
	}
	for i, f := range futures {
		if f != nil {
			group[i].res <- results[i]
			s.done()
		}
	}
	return true
}

// fail answers every queued leaf with err.
func (s *sequencer) fail(err error) {
	s.mu.Lock()
	q := s.queue
	s.queue = nil
	s.mu.Unlock()
	for _, r := range q {
		r.res <- seqResult{err: err}
		s.done()
	}
}
