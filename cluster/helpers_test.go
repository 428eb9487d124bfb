package cluster

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	tclient "github.com/transparency-dev/tessera/client"
	"k8s.io/klog/v2"

	"github.com/ronghe/ronghe/pki"
	"github.com/ronghe/ronghe/sqlstore"
	"github.com/ronghe/ronghe/sqlstore/sqltest"
	"github.com/ronghe/ronghe/tlog"
	"github.com/ronghe/ronghe/tlog/client"
)

// TestMain silences Tessera's klog output (CLUSTER_KLOG=1 shows it).
func TestMain(m *testing.M) {
	flag.Parse()
	if os.Getenv("CLUSTER_KLOG") == "" {
		klog.LogToStderr(false)
		klog.SetOutput(io.Discard)
	}
	if !testing.Verbose() {
		// sqlstore reports its migrations on the default logger.
		slog.SetDefault(slog.New(slog.DiscardHandler))
	}
	os.Exit(m.Run())
}

const testOrigin = "ronghe.test/log"

// harness is one cluster under test: a fresh PostgreSQL schema, a platform
// CA, log keys and a shared log directory.
type harness struct {
	t        *testing.T
	dsn      string
	ca       *pki.CA
	ed       ed25519.PrivateKey
	sm       *sm2.PrivateKey
	dir      string
	verifier *client.LogVerifier
	logger   *slog.Logger
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	w := &testLogWriter{t: t}
	// Registered first, so it runs last: nothing logs into a finished test.
	t.Cleanup(w.stop)
	h := &harness{t: t, dsn: sqltest.Postgres(t), dir: t.TempDir()}
	var err error
	if h.ca, err = pki.LoadOrCreateCA(t.TempDir(), "Ronghe test CA"); err != nil {
		t.Fatal(err)
	}
	if _, h.ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
		t.Fatal(err)
	}
	if h.sm, err = sm2.GenerateKey(rand.Reader); err != nil {
		t.Fatal(err)
	}
	if h.verifier, err = client.NewLogVerifierFromKeys(testOrigin, h.ed.Public().(ed25519.PublicKey), &h.sm.PublicKey); err != nil {
		t.Fatal(err)
	}
	level := slog.LevelWarn
	if testing.Verbose() {
		level = slog.LevelInfo
	}
	h.logger = slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
	return h
}

// testLogWriter sends log lines to t.Log until the test ends.
type testLogWriter struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func (w *testLogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(string(bytes.TrimRight(p, "\n")))
	}
	return len(p), nil
}

func (w *testLogWriter) stop() {
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
}

func (h *harness) openDB() *sqlstore.DB {
	h.t.Helper()
	db, err := sqlstore.Open(context.Background(), h.dsn)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { db.Close() })
	return db
}

func (h *harness) config(id, dir string) Config {
	return Config{
		DB: h.openDB(), CA: h.ca, NodeID: id, Listen: "127.0.0.1:0",
		Log:              tlog.Config{Dir: dir, Origin: testOrigin, Ed25519: h.ed, SM2: h.sm},
		CampaignInterval: 20 * time.Millisecond,
		CheckInterval:    50 * time.Millisecond,
		LeaderWait:       20 * time.Second,
		Logger:           h.logger.With("test_node", id),
	}
}

// start starts a node on the shared log directory, or on dir if given.
func (h *harness) start(id string, mod ...func(*Config)) *Node {
	h.t.Helper()
	cfg := h.config(id, h.dir)
	for _, m := range mod {
		m(&cfg)
	}
	n, err := Start(context.Background(), cfg)
	if err != nil {
		h.t.Fatalf("Start(%s): %v", id, err)
	}
	h.t.Cleanup(func() {
		if err := n.Close(); err != nil {
			h.t.Errorf("Close(%s): %v", id, err)
		}
	})
	return n
}

// waitFor polls cond until it holds, failing the test after a generous
// bound (a hung election, not a slow machine, is what it catches).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// row reads the registry.
func (h *harness) row() leaderRow {
	h.t.Helper()
	db, err := sql.Open("pgx", h.dsn)
	if err != nil {
		h.t.Fatal(err)
	}
	defer db.Close()
	r, _, err := (&registry{db: db}).leader(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

// exec runs one statement in the test schema.
func (h *harness) exec(query string, args ...any) {
	h.t.Helper()
	db, err := sql.Open("pgx", h.dsn)
	if err != nil {
		h.t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(context.Background(), query, args...); err != nil {
		h.t.Fatalf("%s: %v", query, err)
	}
}

// lockHolder returns the backend pid of the PostgreSQL session holding the
// log writer's advisory lock in the test schema, if any.
func (h *harness) lockHolder() (pid int, held bool) {
	h.t.Helper()
	db, err := sql.Open("pgx", h.dsn)
	if err != nil {
		h.t.Fatal(err)
	}
	defer db.Close()
	err = db.QueryRowContext(context.Background(), `SELECT l.pid FROM pg_locks l
		WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
		AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND l.classid::bigint = (hashtext(coalesce(current_schema(), ''))::bigint & 4294967295)
		AND l.objid::bigint = (hashtext($1)::bigint & 4294967295)`, LockName).Scan(&pid)
	if err == sql.ErrNoRows {
		return 0, false
	} else if err != nil {
		h.t.Fatal(err)
	}
	return pid, true
}

// killLockSession terminates the PostgreSQL session that holds the log
// writer's advisory lock, as a network failure or a database restart would,
// while the process that holds it lives on. It returns the session's pid, or
// 0 if no session held the lock.
func (h *harness) killLockSession() int {
	h.t.Helper()
	pid, held := h.lockHolder()
	if !held {
		return 0
	}
	h.exec(`SELECT pg_terminate_backend($1)`, pid)
	return pid
}

// rec is one recorded event as the exchange would put it in a receipt.
type rec struct {
	leaf       []byte
	index      uint64
	checkpoint []byte
	size       uint64
	proof      [][]byte
}

func testLeaf(i int) []byte {
	var seed [8]byte
	binary.BigEndian.PutUint64(seed[:], uint64(i))
	d := sha256.Sum256(seed[:])
	return tlog.Event{
		Kind: tlog.KindSubmissionAccepted, Tenant: "B0001H13501001", MessageID: fmt.Sprintf("msg-%06d", i),
		Digest: d[:], Time: time.Date(2025, 3, 1, 2, 3, 4, i, time.UTC),
	}.Leaf()
}

// record does what the exchange's Finalize does with its Log.
func record(ctx context.Context, n *Node, leaf []byte) (rec, error) {
	idx, err := n.Append(ctx, leaf)
	if err != nil {
		return rec{}, err
	}
	cp, size, err := n.AwaitCheckpoint(ctx, idx)
	if err != nil {
		return rec{}, err
	}
	proof, err := n.InclusionProof(ctx, idx, size)
	if err != nil {
		return rec{}, err
	}
	return rec{leaf: leaf, index: idx, checkpoint: cp, size: size, proof: proof}, nil
}

// checkRecords verifies every record as a receipt holder would, checks that
// no two share an index, that each index holds its leaf in the log on disk,
// and that every record's checkpoint is consistent with the log's final
// published checkpoint.
func (h *harness) checkRecords(recs []rec) {
	h.t.Helper()
	ctx := context.Background()
	seen := map[uint64]bool{}
	var largest uint64
	for _, r := range recs {
		cp, err := h.verifier.VerifyCheckpoint(r.checkpoint)
		if err != nil {
			h.t.Fatalf("record %d: checkpoint: %v", r.index, err)
		}
		if cp.Size != r.size {
			h.t.Fatalf("record %d: size %d, checkpoint says %d", r.index, r.size, cp.Size)
		}
		if err := client.VerifyInclusion(r.leaf, r.index, r.proof, cp); err != nil {
			h.t.Fatalf("record %d: inclusion: %v", r.index, err)
		}
		if seen[r.index] {
			h.t.Fatalf("two records share index %d", r.index)
		}
		seen[r.index] = true
		largest = max(largest, r.size)
	}
	f := tclient.FileFetcher{Root: h.dir}
	var final client.Checkpoint
	waitFor(h.t, "a published checkpoint covering every record", func() bool {
		raw, err := f.ReadCheckpoint(ctx)
		if err != nil {
			return false
		}
		if final, err = h.verifier.VerifyCheckpoint(raw); err != nil {
			h.t.Fatalf("published checkpoint: %v", err)
		}
		return final.Size >= largest
	})
	pb, err := tclient.NewProofBuilder(ctx, final.Size, f.ReadTile)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, r := range recs {
		cp, _ := h.verifier.VerifyCheckpoint(r.checkpoint)
		p, err := pb.ConsistencyProof(ctx, cp.Size, final.Size)
		if err != nil {
			h.t.Fatal(err)
		}
		if err := client.VerifyConsistency(cp, final, p); err != nil {
			h.t.Fatalf("record %d: checkpoint of size %d is not consistent with the final one of size %d: %v", r.index, cp.Size, final.Size, err)
		}
		b, err := tclient.GetEntryBundle(ctx, f.ReadEntryBundle, r.index/256, final.Size)
		if err != nil {
			h.t.Fatal(err)
		}
		if got := b.Entries[r.index%256]; !bytes.Equal(got, r.leaf) {
			h.t.Fatalf("log entry %d is %q, the record says %q", r.index, got, r.leaf)
		}
	}
}
