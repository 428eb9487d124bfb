package pipeline

import (
	"context"
	"testing"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/sqlstore"
	"github.com/ronghe/ronghe/sqlstore/sqltest"
)

// TestEnqueueTx: a job enqueued in a transaction exists only if the
// transaction commits; PostgreSQL refuses (River has its own pool there).
func TestEnqueueTx(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	db, err := sqlstore.Open(ctx, sqltest.SQLite(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	done := make(chan string, 4)
	stage := Stage{Name: "record", Run: func(ctx context.Context, tenant, id string) error {
		done <- id
		return nil
	}}
	p, err := Open(ctx, Config{DB: db.SQL(), Dialect: db.Dialect(), Stages: []Stage{stage}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id     string
		commit bool
	}{{"rolled-back", false}, {"committed", true}} {
		tx, err := db.SQL().BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.EnqueueTx(ctx, tx, "B1000000000001", tc.id); err != nil {
			t.Fatal(err)
		}
		if tc.commit {
			err = tx.Commit()
		} else {
			err = tx.Rollback()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer p.Stop(context.Background())
	select {
	case id := <-done:
		if id != "committed" {
			t.Fatalf("worked %q", id)
		}
	case <-ctx.Done():
		t.Fatal("the committed job was not worked")
	}
	select {
	case id := <-done:
		t.Fatalf("also worked %q", id)
	case <-time.After(time.Second):
	}

}

func TestEnqueueTxPostgres(t *testing.T) {
	ctx := context.Background()
	dsn := sqltest.Postgres(t)
	pg, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	p, err := Open(ctx, Config{DB: pg.SQL(), Dialect: pg.Dialect(), DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.EnqueueTx(ctx, nil, "B1000000000001", "x"); ronghe.ErrorCode(err) != ronghe.EUNSUPPORTED {
		t.Fatalf("EnqueueTx on PostgreSQL: %v", err)
	}
}

// TestEnqueueManyTx: jobs enqueued together in a transaction exist only if
// it commits, and a submission enqueued again while its job waits gets no
// second job.
func TestEnqueueManyTx(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	db, err := sqlstore.Open(ctx, sqltest.SQLite(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	done := make(chan string, 16)
	stage := Stage{Name: "record", Run: func(ctx context.Context, tenant, id string) error {
		done <- tenant + "/" + id
		return nil
	}}
	p, err := Open(ctx, Config{DB: db.SQL(), Dialect: db.Dialect(), Stages: []Stage{stage}})
	if err != nil {
		t.Fatal(err)
	}
	const a, b = "B1000000000001", "B1000000000002"
	for _, tc := range []struct {
		tenants, ids []string
		commit       bool
	}{
		{[]string{a, b}, []string{"r1", "r2"}, false},
		{[]string{a, b, a}, []string{"c1", "c1", "c2"}, true},
		{[]string{a}, []string{"c1"}, true}, // again: no second job
		{nil, nil, true},
	} {
		tx, err := db.SQL().BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.EnqueueManyTx(ctx, tx, tc.tenants, tc.ids); err != nil {
			t.Fatal(err)
		}
		if tc.commit {
			err = tx.Commit()
		} else {
			err = tx.Rollback()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := p.EnqueueManyTx(ctx, nil, []string{a}, nil); ronghe.ErrorCode(err) != ronghe.EINTERNAL {
		t.Fatalf("mismatched lists: %v", err)
	}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer p.Stop(context.Background())
	got := map[string]int{}
	for range 3 {
		select {
		case id := <-done:
			got[id]++
		case <-ctx.Done():
			t.Fatalf("only %v worked", got)
		}
	}
	select {
	case id := <-done:
		got[id]++
	case <-time.After(time.Second):
	}
	want := map[string]int{a + "/c1": 1, b + "/c1": 1, a + "/c2": 1}
	if len(got) != len(want) {
		t.Fatalf("worked %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Fatalf("worked %v, want %v", got, want)
		}
	}
}
