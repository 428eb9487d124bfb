package sqlstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ronghe/ronghe/sqlstore"
	"github.com/ronghe/ronghe/sqlstore/sqltest"
)

// These tests stand in for several server processes sharing one PostgreSQL:
// each *DB is its own connection pool, exactly as a second process would be.

// TestPostgresConcurrentOpen starts several stores on one fresh schema at
// once; the migration lock lets exactly one apply the schema.
func TestPostgresConcurrentOpen(t *testing.T) {
	dsn := sqltest.Postgres(t)
	const n = 6
	dbs := make([]*sqlstore.DB, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { dbs[i], errs[i] = sqlstore.Open(context.Background(), dsn) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Errorf("Open %d: %v", i, errs[i])
			continue
		}
		t.Cleanup(func() { dbs[i].Close() })
	}
	if t.Failed() {
		return
	}
	var count int
	if err := dbs[0].SQL().QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&count); err != nil {
		t.Fatal(err)
	}
	if want := sqlstore.MigrationCount(); count != want {
		t.Errorf("schema_migrations has %d rows, want %d", count, want)
	}
}

// twoStores opens two independent stores on one fresh schema.
func twoStores(t *testing.T) []*sqlstore.DB {
	dsn := sqltest.Postgres(t)
	return []*sqlstore.DB{openDSN(t, dsn), openDSN(t, dsn)}
}

func TestPostgresConcurrentCreateTwoHandles(t *testing.T) {
	raceCreate(t, twoStores(t), 32)
}

func TestPostgresConcurrentMailboxTwoHandles(t *testing.T) {
	raceMailbox(t, twoStores(t), 32)
}

// TestPostgresLeader checks that two stores cannot both lead under one name,
// that releasing hands leadership over, and that closing a leader's pool
// frees the lock as a dying process would.
func TestPostgresLeader(t *testing.T) {
	ctx := context.Background()
	dbs := twoStores(t)
	a, b := dbs[0], dbs[1]

	releaseA, ok, err := a.TryLeader(ctx, "scheduler")
	if err != nil || !ok {
		t.Fatalf("A TryLeader = %v, %v", ok, err)
	}
	if _, ok, err := b.TryLeader(ctx, "scheduler"); err != nil || ok {
		t.Fatalf("B TryLeader while A leads = %v, %v; want refused", ok, err)
	}
	releaseB2, ok, err := b.TryLeader(ctx, "compactor")
	if err != nil || !ok {
		t.Fatalf("B TryLeader of another name = %v, %v", ok, err)
	}
	releaseB2()

	releaseA()
	releaseB, ok, err := b.TryLeader(ctx, "scheduler")
	if err != nil || !ok {
		t.Fatalf("B TryLeader after A released = %v, %v", ok, err)
	}
	if _, ok, err := a.TryLeader(ctx, "scheduler"); err != nil || ok {
		t.Fatalf("A TryLeader while B leads = %v, %v; want refused", ok, err)
	}
	releaseB()

	// A third store leads, then its session dies as with a crashed process:
	// the server drops the lock and another store can take it.
	dsn := sqltest.Postgres(t)
	c, d := openDSN(t, dsn), openDSN(t, dsn)
	releaseC, ok, err := c.TryLeader(ctx, "scheduler")
	if err != nil || !ok {
		t.Fatalf("C TryLeader = %v, %v", ok, err)
	}
	if _, ok, _ := d.TryLeader(ctx, "scheduler"); ok {
		t.Fatal("D led while C did")
	}
	// Find C's session by the lock it holds (this schema is unique to the
	// test, so no other session matches) and terminate it.
	var killed int
	err = d.SQL().QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND objsubid = 2
		AND classid = hashtext(current_schema())::oid AND objid = hashtext($1)::oid`, "scheduler").Scan(&killed)
	if err != nil || killed != 1 {
		t.Fatalf("terminating the leader's session: %d, %v", killed, err)
	}
	deadline, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for {
		releaseD, ok, err := d.TryLeader(ctx, "scheduler")
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			releaseD()
			break
		}
		select {
		case <-deadline.Done():
			t.Fatal("the lock of a terminated session was never freed")
		case <-time.After(20 * time.Millisecond):
		}
	}
	// Releasing a lease whose session died must not panic or hang, and must
	// not hand a broken connection back to the pool.
	releaseC()
	if err := c.SQL().PingContext(ctx); err != nil {
		t.Errorf("C's pool after releasing a dead lease: %v", err)
	}
}

// TestPostgresSchemasIsolated checks that stores in two schemas of one
// database neither see each other's rows nor share leader names.
func TestPostgresSchemasIsolated(t *testing.T) {
	ctx := context.Background()
	one := openDSN(t, sqltest.Postgres(t))
	two := openDSN(t, sqltest.Postgres(t))
	if err := one.PutMailbox(ctx, newMessage("B1000000000001", "m1", base)); err != nil {
		t.Fatal(err)
	}
	if err := two.PutMailbox(ctx, newMessage("B1000000000001", "m1", base)); err != nil {
		t.Fatalf("same ID in another schema: %v", err)
	}
	r1, ok1, err1 := one.TryLeader(ctx, "scheduler")
	r2, ok2, err2 := two.TryLeader(ctx, "scheduler")
	if err1 != nil || err2 != nil || !ok1 || !ok2 {
		t.Fatalf("leaders in two schemas = %v/%v, %v/%v; want both", ok1, err1, ok2, err2)
	}
	r1()
	r2()
}
