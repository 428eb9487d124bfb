package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
)

// TestScaledDown is the flow-report benchmark's scaled-down run in CI: a
// small region built through the platform's own aggregates, reports compared
// figure by figure with the DuckDB peer over the raw rows, then both timed
// briefly. It asserts what the run must show — every compared report equal
// to the peer's, reports made on both sides without errors — never how fast.
func TestScaledDown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a region and runs the benchmark; skipped with -short")
	}
	var out bytes.Buffer
	args := []string{"-enterprises", "300", "-txn", "30000", "-institutions", "3", "-months", "24",
		"-authorized", "100", "-concurrency", "8", "-duration", "1s", "-peer-duration", "1s",
		"-check", "20", "-work", t.TempDir(), "-json"}
	if err := run(context.Background(), args, &out); err != nil {
		t.Fatalf("benchmark run: %v", err)
	}
	var res result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("result JSON: %v\n%s", err, out.String())
	}
	if res.Checked != 20 {
		t.Errorf("reports checked against the peer = %d, want 20", res.Checked)
	}
	if res.TXNRows == 0 || res.Batches == 0 {
		t.Errorf("empty region: %d TXN rows in %d batches", res.TXNRows, res.Batches)
	}
	for name, f := range map[string]figures{"ronghe": res.Ronghe, "peer": res.Peer} {
		if f.Reports == 0 || f.Errors != 0 {
			t.Errorf("%s: %d reports, %d errors; want reports and no errors", name, f.Reports, f.Errors)
		}
	}
}
