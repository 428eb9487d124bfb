package lake

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/ronghe/ronghe/rrs"
)

// TestCommitRaceLandsOnce: another process commits the same batch between
// an ingest's checks and its commit. The commit's compare-and-swap fails;
// the ingest must look at the markers again (and find the batch there), not
// replay its append on top of the other commit — the rows land once.
func TestCommitRaceLandsOnce(t *testing.T) {
	_, dirs := region(t, 1)
	dir := t.TempDir()
	cfg := Config{CatalogURI: "sqlite:" + filepath.Join(dir, "catalog.db"), Warehouse: filepath.Join(dir, "warehouse")}
	a, b := openLake(t, cfg), openLake(t, cfg)
	d := dirs[0]
	var once sync.Once
	fired := false
	testHookBeforeCommit = func(l *Lake, typ rrs.Type) {
		if l != a || typ != rrs.TXN {
			return
		}
		once.Do(func() {
			if r := ingestDir(t, b, d, Lineage{}); !r.Changed() {
				t.Errorf("the other process's ingest changed nothing")
			}
			fired = true
		})
	}
	t.Cleanup(func() { testHookBeforeCommit = nil })
	res := ingestDir(t, a, d, Lineage{})
	if !fired {
		t.Fatal("no commit raced")
	}
	for _, tr := range res.Tables {
		if tr.Type == rrs.TXN && tr.Outcome != OutcomeAlready {
			t.Errorf("TXN outcome %s after the race, want %s", tr.Outcome, OutcomeAlready)
		}
	}
	st := current(t, a)
	want := csvRows(t, d, rrs.TXN)
	if got := lakeRowsOf(t, st, rrs.TXN); len(got) != len(want) {
		t.Fatalf("%d TXN rows after the race, want %d", len(got), len(want))
	}
}
