package sqlstore_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ronghe/ronghe/sqlstore"
	"github.com/ronghe/ronghe/sqlstore/sqltest"
)

// TestLockExcludesAcrossHandles shows two handles on one PostgreSQL schema
// never hold the same lock at once, and a waiter gets it after release.
func TestLockExcludesAcrossHandles(t *testing.T) {
	dsn := sqltest.Postgres(t)
	ctx := context.Background()
	var dbs [2]*sqlstore.DB
	for i := range dbs {
		db, err := sqlstore.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		dbs[i] = db
	}
	var inside, maxInside atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(db *sqlstore.DB) {
			defer wg.Done()
			release, err := db.Lock(ctx, "finalize/B1/m1")
			if err != nil {
				t.Error(err)
				return
			}
			n := inside.Add(1)
			for {
				m := maxInside.Load()
				if n <= m || maxInside.CompareAndSwap(m, n) {
					break
				}
			}
			time.Sleep(5 * time.Millisecond)
			inside.Add(-1)
			release()
			release() // twice is harmless
		}(dbs[i%2])
	}
	wg.Wait()
	if maxInside.Load() != 1 {
		t.Fatalf("%d holders at once", maxInside.Load())
	}
	// A waiter gives up when its context ends.
	release, err := dbs[0].Lock(ctx, "held")
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := dbs[1].Lock(cctx, "held"); err == nil {
		t.Fatal("lock taken while held by another handle")
	}
}
