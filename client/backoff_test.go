package client

import (
	"context"
	"errors"
	"testing"
)

// TestBackoffCancelled checks that a retry's wait ends with the context: a
// cancelled submission returns its context's error instead of sleeping.
func TestBackoffCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// Attempt 1,000,000 would wait about six days if the cancellation were ignored.
	if err := backoff(ctx, 1_000_000); !errors.Is(err, context.Canceled) {
		t.Fatalf("backoff on a cancelled context = %v, want context.Canceled", err)
	}
	if err := backoff(context.Background(), 0); err != nil {
		t.Fatalf("backoff(0) = %v, want nil", err)
	}
}
