package periodic

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestStart(t *testing.T) {
	runs := make(chan struct{}, 16)
	var after atomic.Bool
	var stopped atomic.Bool
	stop := Start(context.Background(), time.Millisecond, func(ctx context.Context) {
		if stopped.Load() {
			after.Store(true)
		}
		select {
		case runs <- struct{}{}:
		default:
		}
	})
	for range 3 { // the first run at once, then again and again
		<-runs
	}
	stop()
	stopped.Store(true)
	time.Sleep(5 * time.Millisecond) // a run after stop would show now
	if after.Load() {
		t.Fatal("the task ran after stop returned")
	}
}

func TestStartEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	stop := Start(ctx, time.Hour, func(ctx context.Context) {
		<-ctx.Done() // a long task sees the cancellation
		close(done)
	})
	cancel()
	<-done
	stop() // returns: the loop has ended
}
