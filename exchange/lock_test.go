package exchange

import (
	"context"
	"sync"
	"testing"
)

// TestLockMessage: one message's callers are serialised, and its lock entry
// goes when the last of them leaves (none kept per message for the
// process's life).
func TestLockMessage(t *testing.T) {
	s := New(Config{})
	ctx := context.Background()
	var wg sync.WaitGroup
	inside, most := 0, 0
	var mu sync.Mutex
	for range 16 {
		wg.Go(func() {
			unlock, err := s.lockMessage(ctx, "B1000000000001", "m1")
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			inside++
			most = max(most, inside)
			mu.Unlock()
			mu.Lock()
			inside--
			mu.Unlock()
			unlock()
		})
	}
	wg.Wait()
	if most != 1 {
		t.Fatalf("%d callers inside at once", most)
	}
	if n := len(s.finalizing); n != 0 {
		t.Fatalf("%d lock entries left", n)
	}
}
