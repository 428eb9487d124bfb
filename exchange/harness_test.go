package exchange_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/blobstore"
	"github.com/ronghe/ronghe/client"
	"github.com/ronghe/ronghe/envelope"
	"github.com/ronghe/ronghe/exchange"
	"github.com/ronghe/ronghe/exchange/upload"
	"github.com/ronghe/ronghe/rrs"
	"github.com/ronghe/ronghe/sqlstore"
	"github.com/ronghe/ronghe/sqlstore/sqltest"
	"github.com/ronghe/ronghe/suite"
	"github.com/ronghe/ronghe/tlog"
)

const testOrigin = "ronghe.test/log"

// backends are the two metadata stores every exchange test runs on.
var backends = []struct {
	name string
	dsn  func(testing.TB) string
}{
	{"sqlite", sqltest.SQLite},
	{"postgres", sqltest.Postgres},
}

// forBackends runs fn as a parallel subtest on a fresh fixture per backend.
func forBackends(t *testing.T, fn func(t *testing.T, f *fixture)) {
	t.Helper()
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			fn(t, newFixture(t, b.dsn(t)))
		})
	}
}

// fixture is an exchange wired to real collaborators: the SQL store, a
// Tessera log in a temporary directory, the encrypted upload store and a
// file blob store, as cmd/ronghe wires them.
type fixture struct {
	ctx     context.Context
	db      *sqlstore.DB
	log     *tlog.Log
	uploads *upload.Store
	blobs   *blobstore.Store
	adapter *uploadAdapter
	svc     *exchange.Service
	info    *ronghe.PlatformInfo
	signers []suite.Signer

	mu   sync.Mutex
	skew time.Duration // added to the wall clock the exchange sees
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func newFixture(t *testing.T, dsn string) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ed, err := suite.GenerateKey(ronghe.SuiteINTL)
	if err != nil {
		t.Fatal(err)
	}
	sm, err := suite.GenerateKey(ronghe.SuiteGM)
	if err != nil {
		t.Fatal(err)
	}
	edPriv := ed.CryptoSigner().(ed25519.PrivateKey)
	smPriv := sm.CryptoSigner().(*sm2.PrivateKey)
	dir := t.TempDir()
	lg, err := tlog.Open(ctx, tlog.Config{Dir: filepath.Join(dir, "log"), Origin: testOrigin, Ed25519: edPriv, SM2: smPriv, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lg.Close() })
	kek, err := envelope.LoadOrCreateLocalKEK(filepath.Join(dir, "kek.key"))
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := blobstore.Open(ctx, "file://"+filepath.Join(dir, "blobs"), blobstore.WithKEK(kek), blobstore.WithLogger(quiet()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blobs.Close() })
	ups, err := upload.New(upload.Config{Dir: upload.StagingDir(blobs), KEK: kek, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	edV, smV, err := tlog.VerifierKeys(testOrigin, edPriv.Public().(ed25519.PublicKey), &smPriv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	var pems []string
	for _, s := range []suite.Signer{ed, sm} {
		p, err := s.PublicKey().MarshalPEM()
		if err != nil {
			t.Fatal(err)
		}
		pems = append(pems, string(p))
	}
	f := &fixture{
		ctx: ctx, db: db, log: lg, uploads: ups, blobs: blobs, signers: []suite.Signer{ed, sm},
		info: &ronghe.PlatformInfo{LogOrigin: testOrigin, SigningKeys: pems, LogVerifiers: []string{edV, smV}},
	}
	f.adapter = &uploadAdapter{store: ups, blobs: blobs}
	f.svc = f.newService()
	return f
}

// newService returns another exchange over the same stores, as a second
// replica of the intake would be.
func (f *fixture) newService() *exchange.Service {
	return exchange.New(exchange.Config{
		Institutions: f.db, Store: f.db, Log: f.log, Uploads: f.adapter, Blobs: f.blobs,
		LogOrigin: testOrigin, Signers: f.signers, Platform: f.info, Now: f.now, Logger: quiet(),
		Lock: f.db.Lock,
	})
}

func (f *fixture) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return time.Now().Add(f.skew)
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.skew += d
}

func (f *fixture) verifier(t *testing.T) *client.Verifier {
	t.Helper()
	v, err := client.NewVerifier(f.info)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// mark appends a probe entry to the log and returns its index, which is the
// number of entries logged before it.
func (f *fixture) mark(t *testing.T) uint64 {
	t.Helper()
	var d [32]byte
	rand.Read(d[:])
	leaf := tlog.Event{Kind: tlog.KindQueryRecorded, Tenant: "probe", MessageID: "probe", Digest: d[:], Time: time.Now()}.Leaf()
	i, err := f.log.Append(f.ctx, leaf)
	if err != nil {
		t.Fatal(err)
	}
	return i
}

// loggedSince returns how many entries, other than probes, were appended
// since the probe at index m.
func (f *fixture) loggedSince(t *testing.T, m uint64) uint64 {
	t.Helper()
	return f.mark(t) - m - 1
}

// uploadAdapter is cmd/ronghe's adapter: the upload store and blob store as
// exchange.Uploads, every call scoped to its tenant.
type uploadAdapter struct {
	store *upload.Store
	blobs *blobstore.Store
}

func (a *uploadAdapter) Finished(ctx context.Context, tenant, id string) (*exchange.Upload, error) {
	r, err := a.store.Completed(upload.WithTenant(ctx, tenant), id)
	if err != nil {
		return nil, err
	}
	return &exchange.Upload{Tenant: r.Tenant, MessageID: r.MetaData[upload.MetaMessage], File: r.MetaData[upload.MetaFile], Size: r.Size, Digest: r.Digest}, nil
}

func (a *uploadAdapter) Promote(ctx context.Context, tenant, id, key string) error {
	return a.store.Promote(upload.WithTenant(ctx, tenant), id, a.blobs, key)
}

func (a *uploadAdapter) Discard(ctx context.Context, tenant, id string) error {
	return a.store.Terminate(upload.WithTenant(ctx, tenant), id)
}

func (a *uploadAdapter) Stored(ctx context.Context, key string) (bool, error) {
	return a.blobs.Exists(ctx, key)
}

// bank is an onboarded institution with its signing key.
type bank struct {
	code   string
	suite  ronghe.Suite
	signer suite.Signer
}

var codeSeq struct {
	sync.Mutex
	n int
}

// newBank creates an institution with a registered key; mod may set limits.
func (f *fixture) newBank(t *testing.T, s ronghe.Suite, mod func(*ronghe.Institution)) *bank {
	t.Helper()
	codeSeq.Lock()
	codeSeq.n++
	code := fmt.Sprintf("B%013d", codeSeq.n)
	codeSeq.Unlock()
	inst := &ronghe.Institution{Code: code, Name: "测试银行 " + code, Kind: ronghe.KindBank, Suite: s, Status: ronghe.StatusActive}
	if mod != nil {
		mod(inst)
	}
	if err := f.db.CreateInstitution(f.ctx, inst); err != nil {
		t.Fatal(err)
	}
	b := &bank{code: code, suite: s, signer: f.registerKey(t, code, s, time.Now().Add(-time.Minute))}
	return b
}

func (f *fixture) registerKey(t *testing.T, owner string, s ronghe.Suite, from time.Time) suite.Signer {
	t.Helper()
	k, err := suite.GenerateKey(s)
	if err != nil {
		t.Fatal(err)
	}
	p, err := k.PublicKey().MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.db.RegisterKey(f.ctx, &ronghe.Key{ID: k.PublicKey().Fingerprint(), Owner: owner, Suite: s, PublicKeyPEM: string(p), ValidFrom: from.UTC()}); err != nil {
		t.Fatal(err)
	}
	return k
}

// batchFiles is the content of a batch: file name → bytes.
type batchFiles map[string][]byte

func (b batchFiles) names() []string {
	var out []string
	for n := range b {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func someFiles(seed string) batchFiles {
	return batchFiles{
		"TXN.csv":  bytes.Repeat([]byte("txn,"+seed+"\n"), 20000), // several upload chunks
		"ACCT.csv": []byte("acct," + seed + "\n"),
	}
}

// manifestStruct is the manifest of batch seq of b listing files.
func (b *bank) manifestStruct(seq int, files batchFiles) *ronghe.Manifest {
	date, _ := rrs.ParseDate("2025-03-01")
	m := &ronghe.Manifest{
		Version: ronghe.ManifestVersion, MessageID: rrs.BatchID{InstCode: b.code, Date: date, Seq: seq}.String(),
		Kind: ronghe.MessageBatch, Sender: b.code, Standard: "RRS-1", StandardVersion: rrs.Current().Version,
		BusinessDate: "2025-03-01", BatchSeq: seq, Encoding: "UTF-8", Suite: b.suite,
		KeyID: b.signer.PublicKey().Fingerprint(), CreatedAt: time.Date(2025, 3, 2, 1, 0, 0, 0, time.UTC),
	}
	for _, n := range files.names() {
		m.Files = append(m.Files, ronghe.ManifestFile{Name: n, Size: int64(len(files[n])), Digest: hex.EncodeToString(suite.Digest(b.suite, files[n]))})
	}
	return m
}

func marshal(t testing.TB, v any) []byte {
	t.Helper()
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// signed returns the manifest bytes and b's signature over them.
func (b *bank) signed(t testing.TB, m *ronghe.Manifest) ([]byte, []byte) {
	t.Helper()
	raw := marshal(t, m)
	sig, err := b.signer.Sign(raw)
	if err != nil {
		t.Fatal(err)
	}
	return raw, sig
}

// submit posts a fresh manifest of batch seq and returns it.
func (f *fixture) submit(t *testing.T, b *bank, seq int, files batchFiles) *ronghe.Submission {
	t.Helper()
	raw, sig := b.signed(t, b.manifestStruct(seq, files))
	sub, err := f.svc.Submit(f.ctx, b.code, raw, sig)
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	return sub
}

// startUpload does what the HTTP layer does when a tus upload is created:
// records the upload on the submission, then creates it in the store
// carrying data (which may differ from the manifest's file).
func (f *fixture) startUpload(t *testing.T, b *bank, messageID, file string, data []byte) string {
	t.Helper()
	return f.startUploadSized(t, b, messageID, file, int64(len(data)), data)
}

// startUploadSized is startUpload for an upload declared as size bytes of
// which data is the beginning.
func (f *fixture) startUploadSized(t *testing.T, b *bank, messageID, file string, size int64, data []byte) string {
	t.Helper()
	var raw [16]byte
	rand.Read(raw[:])
	id := hex.EncodeToString(raw[:])
	if err := f.svc.UploadStarted(f.ctx, b.code, messageID, file, id); err != nil {
		t.Fatalf("UploadStarted: %v", err)
	}
	ctx := upload.WithTenant(f.ctx, b.code)
	u, err := f.uploads.NewUpload(ctx, handler.FileInfo{
		ID: id, Size: size,
		MetaData: handler.MetaData{upload.MetaTenant: b.code, upload.MetaSuite: string(b.suite), upload.MetaMessage: messageID, upload.MetaFile: file},
		Storage:  map[string]string{upload.MetaTenant: b.code, upload.MetaSuite: string(b.suite)},
	})
	if err != nil {
		t.Fatalf("NewUpload: %v", err)
	}
	if len(data) > 0 {
		n, err := u.WriteChunk(ctx, 0, bytes.NewReader(data))
		// Only whole chunks are kept of an upload that stays incomplete.
		if err != nil || n == 0 || size == int64(len(data)) && n != size {
			t.Fatalf("WriteChunk = %d, %v", n, err)
		}
	}
	return id
}

// uploadAll uploads every file of a submission and hands each to the
// exchange, returning the last FileUploaded result.
func (f *fixture) uploadAll(t *testing.T, b *bank, messageID string, files batchFiles) *ronghe.Submission {
	t.Helper()
	var sub *ronghe.Submission
	for _, n := range files.names() {
		id := f.startUpload(t, b, messageID, n, files[n])
		var err error
		if sub, err = f.svc.FileUploaded(f.ctx, b.code, id); err != nil {
			t.Fatalf("FileUploaded(%s): %v", n, err)
		}
	}
	return sub
}

// accepted submits and uploads batch seq and returns the accepted submission.
func (f *fixture) accepted(t *testing.T, b *bank, seq int, files batchFiles) *ronghe.Submission {
	t.Helper()
	sub := f.submit(t, b, seq, files)
	sub = f.uploadAll(t, b, sub.MessageID, files)
	if sub.Status != ronghe.SubmissionAccepted {
		t.Fatalf("status after the last file = %s", sub.Status)
	}
	return sub
}

// blobContent decrypts the stored blob of a file.
func (f *fixture) blobContent(t *testing.T, key string) []byte {
	t.Helper()
	rc, err := f.blobs.Get(f.ctx, key)
	if err != nil {
		t.Fatalf("Get(%s): %v", key, err)
	}
	defer rc.Close()
	out, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := ronghe.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}
