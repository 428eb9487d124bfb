// Package periodic runs a background task now and then at a fixed interval,
// the way the platform's sweeps (abandoned uploads, overdue tickets) run.
package periodic

import (
	"context"
	"sync"
	"time"
)

// Start runs task at once and then every interval until ctx ends or the
// returned stop is called. stop cancels the task's context and waits for a
// running task to return, so nothing runs after it.
func Start(ctx context.Context, interval time.Duration, task func(context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			task(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() {
		cancel()
		wg.Wait()
	}
}
