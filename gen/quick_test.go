package gen

import (
	"context"
	"testing"
	"time"
)

func TestQuickDemo(t *testing.T) {
	cfg := DefaultConfig()
	cfg.OutDir = t.TempDir()
	t0 := time.Now()
	s, err := Generate(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v in %v", s, time.Since(t0))
}
