package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"testing"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/sqlstore"
	"github.com/ronghe/ronghe/sqlstore/sqltest"
)

func TestSubmissionGroupCommitSQLite(t *testing.T) {
	testSubmissionGroupCommit(t, openDSN(t, sqltest.SQLite(t)))
}

func TestSubmissionGroupCommitPostgres(t *testing.T) {
	testSubmissionGroupCommit(t, openDSN(t, sqltest.Postgres(t)))
}

// testSubmissionGroupCommit creates and accepts many submissions from many
// goroutines at once (on SQLite they share transactions): each caller learns
// its own outcome — one acceptance in the crowd is refused (a file missing)
// without failing the others — and OnAcceptMany sees every accepted
// submission exactly once, in the transaction that accepts it.
func testSubmissionGroupCommit(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	const tenant = "B1000000000001"
	const n = 200
	const bad = 7 // accepted without one of its files: ECONFLICT
	var mu sync.Mutex
	hooked := map[string]int{}
	db.OnAcceptMany(func(ctx context.Context, tx *sql.Tx, tenants, ids []string) error {
		if len(tenants) != len(ids) {
			return fmt.Errorf("%d tenants, %d ids", len(tenants), len(ids))
		}
		var one int
		if err := tx.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for i := range ids {
			hooked[tenants[i]+"/"+ids[i]]++
		}
		return nil
	})
	defer db.OnAcceptMany(nil)
	id := func(i int) string { return fmt.Sprintf("%s_20250331_%d", tenant, i+1) }
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			s := newSubmission(tenant, id(i), base)
			if _, created, err := db.CreateSubmission(ctx, s); err != nil || !created {
				errs[i] = fmt.Errorf("create: %v, %v", created, err)
				return
			}
			files := map[string]string{}
			for _, f := range s.Files {
				if i != bad || f.Name != "TXN.csv" {
					files[f.Name] = "blob/" + id(i) + "/" + f.Name
				}
			}
			errs[i] = db.AcceptSubmissionFiles(ctx, tenant, id(i), files, base, uint64(i), []byte("receipt "+id(i)))
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if i == bad {
			wantCode(t, err, ronghe.ECONFLICT)
			continue
		}
		if err != nil {
			t.Fatalf("submission %d: %v", i, err)
		}
	}
	for i := range n {
		s, err := db.FindSubmission(ctx, tenant, id(i))
		if err != nil {
			t.Fatal(err)
		}
		want, hooks := ronghe.SubmissionAccepted, 1
		if i == bad {
			want, hooks = ronghe.SubmissionUploading, 0
		}
		if s.Status != want || hooked[tenant+"/"+id(i)] != hooks {
			t.Fatalf("submission %d: %s, hooked %d times; want %s, %d", i, s.Status, hooked[tenant+"/"+id(i)], want, hooks)
		}
		if i != bad && (string(s.Receipt) != "receipt "+id(i) || *s.LogIndex != uint64(i)) {
			t.Fatalf("submission %d: receipt %q at %d", i, s.Receipt, *s.LogIndex)
		}
		for _, f := range s.Files {
			// A refused acceptance records none of its files.
			if done := i != bad; f.Done != done {
				t.Fatalf("submission %d file %s done = %v", i, f.Name, f.Done)
			}
		}
	}
	if len(hooked) != n-1 {
		t.Fatalf("OnAcceptMany saw %d submissions, want %d", len(hooked), n-1)
	}
}
