package sqlstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/sqlstore"
	"github.com/ronghe/ronghe/sqlstore/sqltest"
)

func TestQueryRecordGroupCommitSQLite(t *testing.T) {
	testQueryRecordGroupCommit(t, openDSN(t, sqltest.SQLite(t)))
}

func TestQueryRecordGroupCommitPostgres(t *testing.T) {
	testQueryRecordGroupCommit(t, openDSN(t, sqltest.Postgres(t)))
}

// testQueryRecordGroupCommit stores records from many goroutines at once:
// every one is stored, and a bad record (an ID used twice) fails only its
// own caller, not the others sharing its transaction.
func testQueryRecordGroupCommit(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	const ent = "91350100M000100Y43"
	const n = 600
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	if err := db.PutQueryRecord(ctx, &ronghe.QueryRecord{ID: "QRdup", Enterprise: ent, Institution: "B1", At: at}); err != nil {
		t.Fatal(err)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("QR%05d", i)
			if i%100 == 50 {
				id = "QRdup" // conflicts with the stored record
			}
			ctx, cancel := context.WithCancel(ctx)
			if i%7 == 0 {
				cancel() // a caller that gave up still gets its record stored
			}
			defer cancel()
			errs[i] = db.PutQueryRecord(ctx, &ronghe.QueryRecord{ID: id, Enterprise: ent, Institution: "B1", Purpose: ronghe.PurposeLoanApplication,
				Scope: ronghe.ScopeFlowReport, Granted: i%2 == 0, At: at.Add(time.Duration(i) * time.Millisecond), LogIndex: uint64(i)})
		}()
	}
	wg.Wait()
	failed := 0
	for i, err := range errs {
		switch {
		case i%100 == 50:
			if ronghe.ErrorCode(err) != ronghe.ECONFLICT {
				t.Errorf("record %d reuses an ID: %v", i, err)
			}
			failed++
		case err != nil:
			t.Errorf("record %d: %v", i, err)
		}
	}
	recs, err := db.ListQueryRecords(ctx, ent, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if want := n - failed + 1; len(recs) != want {
		t.Fatalf("%d records stored, want %d", len(recs), want)
	}
	seen := map[string]bool{}
	for _, r := range recs {
		seen[r.ID] = true
	}
	for i := range n {
		if i%100 != 50 && !seen[fmt.Sprintf("QR%05d", i)] {
			t.Errorf("record %d is missing", i)
		}
	}
}
