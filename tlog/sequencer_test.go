package tlog

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/transparency-dev/tessera"
)

// TestSequencerGroups: leaves that arrive while a group is being sequenced
// go to Tessera together as the next group; each caller gets its own index;
// a caller that gave up before its leaf was handed over is answered with its
// error and its leaf is not logged.
func TestSequencerGroups(t *testing.T) {
	var mu sync.Mutex
	var next uint64
	release := make(chan struct{})
	var pending int
	add := func(_ context.Context, e *tessera.Entry) tessera.IndexFuture {
		mu.Lock()
		defer mu.Unlock()
		idx := next
		next++
		pending++
		return func() (tessera.Index, error) {
			<-release
			return tessera.Index{Index: idx}, nil
		}
	}
	var advanced atomic.Uint64
	var answered atomic.Int64
	s := newSequencer(add, 1024, func(n uint64) { advanced.Store(n) }, func() { answered.Add(1) })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.run(ctx)

	send := func(c context.Context) chan seqResult {
		r := &seqRequest{ctx: c, entry: tessera.NewEntry([]byte("x")), res: make(chan seqResult, 1)}
		s.enqueue(r)
		return r.res
	}
	first := send(ctx)
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return pending == 1 })
	// The first group is being sequenced: the next ten wait, together.
	var rest []chan seqResult
	for range 10 {
		rest = append(rest, send(ctx))
	}
	gone, giveUp := context.WithCancel(ctx)
	giveUp()
	cancelled := send(gone)
	time.Sleep(10 * time.Millisecond)
	mu.Lock()
	if pending != 1 {
		t.Fatalf("%d leaves handed to Tessera while the first group was sequenced, want 1", pending)
	}
	mu.Unlock()
	close(release) // every future resolves from now on
	if r := <-first; r.err != nil || r.idx != 0 {
		t.Fatalf("first: %+v", r)
	}
	seen := map[uint64]bool{0: true}
	for _, c := range rest {
		r := <-c
		if r.err != nil || seen[r.idx] {
			t.Fatalf("result %+v (seen %v)", r, seen)
		}
		seen[r.idx] = true
	}
	if r := <-cancelled; r.err == nil {
		t.Fatalf("a cancelled caller's leaf was logged at %d", r.idx)
	}
	if next != 11 {
		t.Fatalf("%d leaves handed to Tessera, want 11", next)
	}
	if advanced.Load() != 11 || answered.Load() != 12 {
		t.Fatalf("advanced to %d, %d answered", advanced.Load(), answered.Load())
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(time.Millisecond)
	}
}
