package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ronghe/ronghe"
)

// Query-record commits leave the WAL to the background checkpoint: after
// many records the WAL has been copied and started over all the same, and
// every pooled connection is back to SQLite's automatic checkpoints.
func TestQueryRecordsCheckpointWAL(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	const n = 4000
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 32 {
				errs <- db.PutQueryRecord(ctx, &ronghe.QueryRecord{ID: fmt.Sprintf("QR%06d", i), Enterprise: fmt.Sprintf("9135010000000%05d", i%500),
					Institution: "B1", At: at.Add(time.Duration(i) * time.Millisecond), LogIndex: uint64(i)})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); db.queryRecords.wal.running.Load(); {
		if time.Now().After(deadline) {
			t.Fatal("the background checkpoint did not end")
		}
		time.Sleep(time.Millisecond)
	}
	// Frames in the WAL now: without checkpoints every page the records
	// wrote (well over 4000 here); with them, those since the last restart.
	var busy, frames, copied int
	if err := db.sql.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied); err != nil {
		t.Fatal(err)
	}
	if frames > 1500 {
		t.Errorf("the WAL holds %d pages after %d records: not checkpointed", frames, n)
	}
	t.Logf("WAL pages after %d records: %d", n, frames)
	// Every connection of the pool (8) checkpoints automatically again.
	conns := make([]*sql.Conn, 8)
	for i := range conns {
		c, err := db.sql.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
		var auto int
		if err := c.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&auto); err != nil {
			t.Fatal(err)
		}
		if auto != 1000 {
			t.Errorf("connection %d: wal_autocheckpoint %d, want 1000", i, auto)
		}
	}
}
