package governance_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/blobstore"
	"github.com/ronghe/ronghe/envelope"
	"github.com/ronghe/ronghe/exchange"
	"github.com/ronghe/ronghe/gen"
	"github.com/ronghe/ronghe/governance"
	"github.com/ronghe/ronghe/pipeline"
	"github.com/ronghe/ronghe/rrs"
	"github.com/ronghe/ronghe/sqlstore"
	"github.com/ronghe/ronghe/sqlstore/sqltest"
	"github.com/ronghe/ronghe/suite"
	"github.com/ronghe/ronghe/tlog"
)

// backends are the two metadata stores every governance test runs on.
var backends = []struct {
	name string
	dsn  func(testing.TB) string
}{
	{"sqlite", sqltest.SQLite},
	{"postgres", sqltest.Postgres},
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// clock is the injected time of the exchange and the governance loop.
type clock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration // added after every reading, when set
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.t
	c.t = c.t.Add(c.step)
	return t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// fixture is the platform's internal side as cmd/ronghe wires it: the SQL
// store, encrypted blobs, the transparency log and the exchange (for the
// mailbox), the governance service as the first stage of the real River
// pipeline, and a second stage that records which submissions reached it
// (the flow aggregates and the lake in production).
type fixture struct {
	ctx       context.Context
	db        *sqlstore.DB
	blobs     *blobstore.Store
	exch      *exchange.Service
	gov       *governance.Service
	pipe      *pipeline.Pipeline
	clock     *clock
	sampleKey []byte

	mu      sync.Mutex
	reached map[string]bool // tenant/message IDs the stage after governance saw
	checks  []int           // quality stages run to the end (not waiting), per replica
	signers map[string]suite.Signer
}

// options change a fixture: the pipeline's workers (default 2), the
// governance Config's OrderPoll and MaxOrderWait, and a clock that moves on
// by step at every reading.
type options struct {
	workers                 int
	orderPoll, maxOrderWait time.Duration
	step                    time.Duration
	// replicas > 1 runs that many governance services, each with its own
	// pipeline, on the one PostgreSQL store and history directory, as
	// scaled-out serve processes do (SQLite: one).
	replicas int
}

func newFixture(t *testing.T, dsn string) *fixture { return newFixtureWith(t, dsn, options{}) }

func newFixtureWith(t *testing.T, dsn string, o options) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	kek, err := envelope.LoadOrCreateLocalKEK(filepath.Join(dir, "kek.key"))
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := blobstore.Open(ctx, "file://"+filepath.Join(dir, "blobs"), blobstore.WithKEK(kek), blobstore.WithLogger(quiet()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blobs.Close() })
	ed, err := suite.GenerateKey(ronghe.SuiteINTL)
	if err != nil {
		t.Fatal(err)
	}
	sm, err := suite.GenerateKey(ronghe.SuiteGM)
	if err != nil {
		t.Fatal(err)
	}
	lg, err := tlog.Open(ctx, tlog.Config{Dir: filepath.Join(dir, "log"), Origin: "ronghe.test/log",
		Ed25519: ed.CryptoSigner().(ed25519.PrivateKey), SM2: sm.CryptoSigner().(*sm2.PrivateKey), Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lg.Close() })
	f := &fixture{ctx: ctx, db: db, blobs: blobs, clock: &clock{t: time.Date(2025, 1, 6, 9, 0, 0, 0, rrs.Shanghai), step: o.step},
		sampleKey: []byte("test sampling key, 32 bytes long"), reached: map[string]bool{}, signers: map[string]suite.Signer{}}
	f.exch = exchange.New(exchange.Config{Institutions: db, Store: db, Log: lg, LogOrigin: "ronghe.test/log",
		Signers: []suite.Signer{ed, sm}, Platform: &ronghe.PlatformInfo{}, Now: f.clock.Now, Logger: quiet()})
	cfg := governance.Config{Store: db, Submissions: db, Blobs: blobs, Keys: db, Mailbox: f.exch,
		HistoryPath: filepath.Join(dir, "quality", "history.duckdb"), WorkDir: filepath.Join(dir, "quality", "work"),
		SampleKey: f.sampleKey, Now: f.clock.Now, Logger: quiet(), OrderPoll: o.orderPoll, MaxOrderWait: o.maxOrderWait}
	if db.Dialect() == sqlstore.DialectPostgres {
		// As in a scaled-out deployment: the engine is opened per check
		// under the cluster-wide lock.
		cfg.Lock = governance.PollLock(db.TryLeader, "ronghe.quality.engine", 20*time.Millisecond)
	} else {
		cfg.KeepEngineOpen = true
	}
	if f.gov, err = governance.New(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.gov.Close() })
	next := pipeline.Stage{Name: "flows", Run: func(ctx context.Context, tenant, messageID string) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.reached[tenant+"/"+messageID] = true
		return nil
	}}
	start := func(gov *governance.Service) *pipeline.Pipeline {
		replica := len(f.checks)
		f.checks = append(f.checks, 0)
		quality := gov.Stage()
		run := quality.Run
		quality.Run = func(ctx context.Context, tenant, messageID string) error {
			err := run(ctx, tenant, messageID)
			if !pipeline.IsWait(err) {
				f.mu.Lock()
				f.checks[replica]++
				f.mu.Unlock()
			}
			return err
		}
		pipe, err := pipeline.Open(ctx, pipeline.Config{DB: db.SQL(), Dialect: db.Dialect(), DSN: dsn,
			Stages: []pipeline.Stage{quality, next}, Workers: o.workers, Logger: quiet()})
		if err != nil {
			t.Fatal(err)
		}
		pctx, cancel := context.WithCancel(ctx)
		if err := pipe.Start(pctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			sctx, c := context.WithTimeout(context.Background(), 30*time.Second)
			defer c()
			pipe.Stop(sctx)
			cancel()
		})
		return pipe
	}
	f.pipe = start(f.gov)
	for i := 1; i < o.replicas && db.Dialect() == sqlstore.DialectPostgres; i++ {
		gov, err := governance.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { gov.Close() })
		start(gov)
	}
	return f
}

// bank onboards an institution with a registered signing key.
func (f *fixture) bank(t *testing.T, code string) {
	t.Helper()
	if _, ok := f.signers[code]; ok {
		return
	}
	if err := f.db.CreateInstitution(f.ctx, &ronghe.Institution{Code: code, Name: "测试银行 " + code, Kind: ronghe.KindBank,
		Suite: ronghe.SuiteINTL, Status: ronghe.StatusActive}); err != nil {
		t.Fatal(err)
	}
	k, err := suite.GenerateKey(ronghe.SuiteINTL)
	if err != nil {
		t.Fatal(err)
	}
	p, err := k.PublicKey().MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.db.RegisterKey(f.ctx, &ronghe.Key{ID: k.PublicKey().Fingerprint(), Owner: code, Suite: ronghe.SuiteINTL,
		PublicKeyPEM: string(p), ValidFrom: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	f.signers[code] = k
}

// accept stores the files of dir as an accepted submission, as the exchange
// does on the last byte (encrypted blobs, receipt time received), and
// enqueues it into the pipeline. kind is a batch unless refersTo is set.
func (f *fixture) accept(t *testing.T, tenant, messageID, refersTo, dir string, received time.Time) {
	t.Helper()
	f.store(t, tenant, messageID, refersTo, dir, received, true)
}

// store is accept, enqueueing only when enqueue is set.
func (f *fixture) store(t *testing.T, tenant, messageID, refersTo, dir string, received time.Time, enqueue bool) {
	t.Helper()
	f.bank(t, tenant)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	kind, day, seq := ronghe.MessageBatch, "2025-01-06", 0
	if refersTo != "" {
		kind = ronghe.MessageSampleAnswer
	} else {
		id, err := rrs.ParseBatchID(messageID)
		if err != nil {
			t.Fatal(err)
		}
		day, seq = id.Date.String(), id.Seq
	}
	m := &ronghe.Manifest{Version: ronghe.ManifestVersion, MessageID: messageID, Kind: kind, Sender: tenant, Standard: "RRS-1",
		StandardVersion: rrs.Current().Version, BusinessDate: day, BatchSeq: seq, RefersTo: refersTo, Encoding: "UTF-8",
		Suite: ronghe.SuiteINTL, KeyID: f.signers[tenant].PublicKey().Fingerprint(), CreatedAt: received.UTC()}
	content := map[string][]byte{}
	var names []string
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		m.Files = append(m.Files, ronghe.ManifestFile{Name: e.Name(), Size: int64(len(b)), Digest: hex.EncodeToString(sum[:])})
		content[e.Name()] = b
		names = append(names, e.Name())
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exchange.ParseManifest(raw); err != nil {
		t.Fatalf("test manifest: %v", err)
	}
	sig, err := f.signers[tenant].Sign(raw)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256(raw)
	sub := &ronghe.Submission{Tenant: tenant, MessageID: messageID, Manifest: raw, ManifestDigest: digest[:], Signature: sig,
		KeyID: m.KeyID, CreatedAt: received}
	for _, mf := range m.Files {
		sub.Files = append(sub.Files, ronghe.SubmissionFile{Name: mf.Name, Size: mf.Size, Digest: mf.Digest})
	}
	if _, _, err := f.db.CreateSubmission(f.ctx, sub); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		key := exchange.BlobKey(tenant, messageID, n)
		if _, err := f.blobs.Put(f.ctx, key, bytes.NewReader(content[n]), ronghe.SuiteINTL); err != nil {
			t.Fatal(err)
		}
		if err := f.db.CompleteFile(f.ctx, tenant, messageID, n, key); err != nil {
			t.Fatal(err)
		}
	}
	if enqueue {
		if err := f.pipe.Enqueue(f.ctx, tenant, messageID); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.db.AcceptSubmission(f.ctx, tenant, messageID, received, 1, []byte("receipt")); err != nil {
		t.Fatal(err)
	}
}

// waitBatch waits until the batch is checked and its messages delivered.
func (f *fixture) waitBatch(t *testing.T, tenant, batch string) *ronghe.BatchQuality {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		q, err := f.db.FindQuality(f.ctx, tenant, batch)
		if err == nil && q.Status == ronghe.QualityFailed {
			t.Fatalf("%s failed: %s", batch, q.LastError)
		}
		if err == nil && q.Status == ronghe.QualityDone && f.delivered(t, tenant, batch) {
			return q
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not checked in time: %+v %v", batch, q, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// delivered reports whether every message queued about ref is in the
// mailbox.
func (f *fixture) delivered(t *testing.T, tenant, ref string) bool {
	t.Helper()
	ms, err := f.db.ListOutbox(f.ctx, tenant, ref)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.DeliveredAt == nil {
			return false
		}
	}
	return true
}

// waitSample waits until a sample is decided and its result delivered.
func (f *fixture) waitSample(t *testing.T, tenant, batch string) *ronghe.Sample {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		s, err := f.db.FindSample(f.ctx, tenant, batch)
		if err != nil {
			t.Fatal(err)
		}
		if s.Status != ronghe.SampleRequested && f.delivered(t, tenant, batch) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("sample of %s not decided in time: %+v", batch, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (f *fixture) reachedNext(tenant, messageID string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reached[tenant+"/"+messageID]
}

// waitReached waits until the stage after governance saw a submission.
func (f *fixture) waitReached(t *testing.T, tenant, messageID string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !f.reachedNext(tenant, messageID) {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not reach the next stage", messageID)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// mailbox returns the kinds of the messages in tenant's mailbox, with the
// messages.
func (f *fixture) mailbox(t *testing.T, tenant string) []*ronghe.MailboxMessage {
	t.Helper()
	ms, err := f.db.ListMailbox(f.ctx, tenant, ronghe.MailboxFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func countKind(ms []*ronghe.MailboxMessage, kind, refersTo string) int {
	n := 0
	for _, m := range ms {
		if m.Kind == kind && (refersTo == "" || m.RefersTo == refersTo) {
			n++
		}
	}
	return n
}

// region generates a synthetic region and returns its batch directories in
// processing order (date, institution).
func region(t *testing.T, cfg gen.Config) (string, []string) {
	t.Helper()
	cfg.OutDir = filepath.Join(t.TempDir(), "region")
	if _, err := gen.Generate(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	dirs, err := filepath.Glob(filepath.Join(cfg.OutDir, "*_*_*"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(dirs, func(i, j int) bool {
		a, _ := rrs.ParseBatchID(filepath.Base(dirs[i]))
		b, _ := rrs.ParseBatchID(filepath.Base(dirs[j]))
		if c := a.Date.Compare(b.Date); c != 0 {
			return c < 0
		}
		return a.InstCode < b.InstCode
	})
	return cfg.OutDir, dirs
}

// truth reads gen's truth/defects.jsonl as identities "tenant date rule type key".
func truth(t *testing.T, out string) map[string]gen.Finding {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(out, "truth", "defects.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]gen.Finding{}
	dec := json.NewDecoder(bytes.NewReader(raw))
	for dec.More() {
		var g gen.Finding
		if err := dec.Decode(&g); err != nil {
			t.Fatal(err)
		}
		id, err := rrs.ParseBatchID(g.Batch)
		if err != nil {
			t.Fatal(err)
		}
		m[identity(id.InstCode, id.Date.String(), g.Rule, g.Type, g.Key)] = g
	}
	return m
}

func identity(tenant, date, rule, typ, key string) string {
	return strings.Join([]string{tenant, date, rule, typ, key}, " ")
}

// receivedOnTime is 08:00 on the day after the business date.
func receivedOnTime(batch string) time.Time {
	id, _ := rrs.ParseBatchID(batch)
	return id.Date.AddDays(1).Time().Add(8 * time.Hour)
}

func batchName(dir string) (string, string) {
	id, _ := rrs.ParseBatchID(filepath.Base(dir))
	return id.InstCode, id.String()
}

// copyBatch copies a batch directory under a new batch name.
func copyBatch(t *testing.T, from, name string) string {
	t.Helper()
	to := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return to
}

func fmtIDs(m map[string]bool) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	if len(out) > 10 {
		out = append(out[:10], fmt.Sprintf("… %d more", len(out)-10))
	}
	return strings.Join(out, "\n")
}
