package pipeline

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/sqlstore"
	"github.com/ronghe/ronghe/sqlstore/sqltest"
)

// runPipeline opens a pipeline on a fresh store whose one stage records
// calls, failing the first fail calls with a retryable error.
func testPipeline(t *testing.T, dsn string) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	db, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mu sync.Mutex
	runs := map[string]int{}
	done := make(chan string, 16)
	fail := 1
	stage := Stage{Name: "record", Run: func(ctx context.Context, tenant, id string) error {
		mu.Lock()
		defer mu.Unlock()
		runs[id]++
		if id == "m2" && fail > 0 {
			fail--
			return ronghe.Errorf(ronghe.EUNAVAILABLE, "not yet")
		}
		done <- id
		return nil
	}}
	p, err := Open(ctx, Config{DB: db.SQL(), Dialect: db.Dialect(), DSN: dsn, Stages: []Stage{stage}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer p.Stop(context.Background())
	for _, id := range []string{"m1", "m2", "m1"} { // m1 twice: one job
		if err := p.Enqueue(ctx, "B1000000000001", id); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]bool{}
	for len(got) < 2 {
		select {
		case id := <-done:
			got[id] = true
		case <-ctx.Done():
			t.Fatalf("jobs not worked: %v", got)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if runs["m1"] != 1 || runs["m2"] != 2 {
		t.Fatalf("runs %v, want m1 once and m2 twice (one retry)", runs)
	}
	_ = errors.New
}

func TestPipelineSQLite(t *testing.T)   { testPipeline(t, sqltest.SQLite(t)) }
func TestPipelinePostgres(t *testing.T) { testPipeline(t, sqltest.Postgres(t)) }

// testWait: a stage that returns Wait frees the worker — another job runs
// meanwhile on the only worker — and runs again later; Waited counts from
// the first wait, across snoozes, and no attempt is spent on waiting.
func testWait(t *testing.T, dsn string) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	db, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mu sync.Mutex
	var order []string
	var waited []time.Duration
	release := make(chan struct{})
	done := make(chan string, 16)
	stage := Stage{Name: "order", Run: func(ctx context.Context, tenant, id string) error {
		if id == "late" {
			mu.Lock()
			waited = append(waited, Waited(ctx))
			mu.Unlock()
			select {
			case <-release:
			default:
				return Wait(20*time.Millisecond, "waiting for other")
			}
		}
		mu.Lock()
		order = append(order, id)
		mu.Unlock()
		if id == "other" {
			close(release)
		}
		done <- id
		return nil
	}}
	p, err := Open(ctx, Config{DB: db.SQL(), Dialect: db.Dialect(), DSN: dsn, Stages: []Stage{stage}, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Enqueue(ctx, "B1000000000001", "late"); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer p.Stop(context.Background())
	// Let "late" wait a few times before the other job exists (counted, not
	// timed: a loaded machine runs it less often).
	for {
		mu.Lock()
		n := len(waited)
		mu.Unlock()
		if n >= 3 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("late ran %d times", n)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := p.Enqueue(ctx, "B1000000000002", "other"); err != nil {
		t.Fatal(err)
	}
	for n := 0; n < 2; {
		select {
		case <-done:
			n++
		case <-ctx.Done():
			t.Fatalf("jobs not worked: %v", order)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(order) != 2 || order[0] != "other" || order[1] != "late" {
		t.Fatalf("order %v, want other before late", order)
	}
	if len(waited) < 4 || waited[0] != 0 || waited[len(waited)-1] <= 0 {
		t.Fatalf("waited %v: want 0 on the first run, then growing from the first wait", waited)
	}
	for i := 2; i < len(waited); i++ {
		if waited[i] < waited[i-1] {
			t.Fatalf("waited %v does not grow", waited)
		}
	}
}

func TestWaitSQLite(t *testing.T)   { testWait(t, sqltest.SQLite(t)) }
func TestWaitPostgres(t *testing.T) { testWait(t, sqltest.Postgres(t)) }
