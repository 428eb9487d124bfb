package upload

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/blobstore"
	"github.com/ronghe/ronghe/envelope"
	"github.com/ronghe/ronghe/suite"
)

const chunk = envelope.DefaultChunkSize

// checkComplete verifies everything a finished upload promises: HEAD says
// complete, GET and Reader return the plaintext, Completed has the right
// digest and metadata, and the .bin file is an envelope NewReader opens.
func checkComplete(t *testing.T, ts *testServer, c *tusClient, url string, plain []byte) Result {
	t.Helper()
	status, off, length := c.head(url)
	if status != http.StatusOK || off != int64(len(plain)) || length != int64(len(plain)) {
		t.Fatalf("HEAD: status %d offset %d length %d, want 200 %d %d", status, off, length, len(plain), len(plain))
	}
	wantGet := http.StatusOK
	if len(plain) == 0 {
		wantGet = http.StatusNoContent // tusd's answer for empty content
	}
	if status, body := c.get(url); status != wantGet || !bytes.Equal(body, plain) {
		t.Fatalf("GET: status %d, %d bytes, equal=%v", status, len(body), bytes.Equal(body, plain))
	}
	ctx := tenantCtx(c.tenant)
	res, err := ts.store.Completed(ctx, idOf(url))
	if err != nil {
		t.Fatal(err)
	}
	st := tenantSuites[c.tenant]
	if res.Tenant != c.tenant || res.Suite != st || res.Size != int64(len(plain)) {
		t.Fatalf("Completed = %+v", res)
	}
	if want := suite.Digest(st, plain); !bytes.Equal(res.Digest, want) {
		t.Fatalf("digest %x, want %x", res.Digest, want)
	}
	rc, err := ts.store.Reader(ctx, idOf(url))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Reader: %v, equal=%v", err, bytes.Equal(got, plain))
	}
	// One on-disk format: the staged file is a plain envelope.
	f, err := os.Open(ts.store.binPath(idOf(url)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	er, err := envelope.NewReader(context.Background(), f, ts.kek)
	if err != nil {
		t.Fatal(err)
	}
	got, err = io.ReadAll(er)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("envelope.NewReader: %v, equal=%v", err, bytes.Equal(got, plain))
	}
	return res
}

func TestSinglePatchAllSizes(t *testing.T) {
	ts := newTestServer(t, nil)
	sizes := []int{0, 1, chunk - 1, chunk, chunk + 1, 2 * chunk, 5_000_000}
	for _, tenant := range []string{tenantGM, tenantINTL} {
		for _, size := range sizes {
			t.Run(tenant+"/"+sizeName(size), func(t *testing.T) {
				c := ts.client(t, tenant)
				plain := randBytes(t, size)
				url := c.mustCreate(int64(size), map[string]string{MetaMessage: "msg-1", MetaFile: "accounts.csv"})
				if size > 0 {
					status, off := c.patch(url, 0, plain)
					if status != http.StatusNoContent || off != int64(size) {
						t.Fatalf("PATCH: status %d offset %d", status, off)
					}
				}
				res := checkComplete(t, ts, c, url, plain)
				if res.MetaData[MetaMessage] != "msg-1" || res.MetaData[MetaFile] != "accounts.csv" {
					t.Fatalf("metadata %v", res.MetaData)
				}
				// A complete upload takes no more data: tusd answers without
				// calling the store, and nothing changes.
				if status, off := c.patch(url, int64(size), []byte("x")); status != http.StatusNoContent || off != int64(size) {
					t.Fatalf("PATCH after completion: status %d offset %d", status, off)
				}
				checkComplete(t, ts, c, url, plain)
			})
		}
	}
}

func TestOddPatchesDropTheTail(t *testing.T) {
	ts := newTestServer(t, nil)
	for _, tenant := range []string{tenantGM, tenantINTL} {
		t.Run(tenant, func(t *testing.T) {
			c := ts.client(t, tenant)
			plain := randBytes(t, 3*chunk*5+4321)
			url := c.mustCreate(int64(len(plain)), nil)

			// 100 KiB: one chunk is sealed, the other 36 KiB are dropped.
			status, off := c.patch(url, 0, plain[:100<<10])
			if status != http.StatusNoContent || off != chunk {
				t.Fatalf("100 KiB PATCH: status %d offset %d, want 204 %d", status, off, chunk)
			}
			// 1000 bytes cannot fill a chunk: refused, nothing stored.
			status, _ = c.patch(url, chunk, plain[chunk:chunk+1000])
			if status != http.StatusBadRequest {
				t.Fatalf("1000-byte PATCH: status %d, want 400", status)
			}
			if _, off, _ = c.head(url); off != chunk {
				t.Fatalf("offset after refused PATCH %d, want %d", off, chunk)
			}
			// Odd sizes from there on, always resuming where the server says.
			c.uploadAll(url, plain, chunk, 100<<10, chunk+1000, 3*chunk-7, 2*chunk+1, 77777)
			checkComplete(t, ts, c, url, plain)
		})
	}
}

func TestFinalPatchSmallerThanAChunk(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.client(t, tenantINTL)
	plain := randBytes(t, 2*chunk+1000)
	url := c.mustCreate(int64(len(plain)), nil)
	c.uploadAll(url, plain, 0, 2*chunk)
	checkComplete(t, ts, c, url, plain)
}

func TestInterruptedPatchResumes(t *testing.T) {
	ts := newTestServer(t, nil)
	for _, tenant := range []string{tenantGM, tenantINTL} {
		t.Run(tenant, func(t *testing.T) {
			c := ts.client(t, tenant)
			plain := randBytes(t, 10*chunk+333)
			url := c.mustCreate(int64(len(plain)), nil)

			// Send 4.5 chunks of a PATCH that announces everything, then
			// break the connection.
			sent := 4*chunk + chunk/2
			pr, pw := io.Pipe()
			req, _ := http.NewRequest(http.MethodPatch, url, pr)
			req.ContentLength = int64(len(plain))
			req.Header.Set("Content-Type", "application/offset+octet-stream")
			req.Header.Set("Upload-Offset", "0")
			req.Header.Set("Tus-Resumable", "1.0.0")
			req.Header.Set(tenantHeader, tenant)
			done := make(chan error, 1)
			go func() {
				resp, err := ts.srv.Client().Do(req)
				if err == nil {
					resp.Body.Close()
				}
				done <- err
			}()
			if _, err := pw.Write(plain[:sent]); err != nil {
				t.Fatal(err)
			}
			// Wait until the server has sealed and written the four whole
			// chunks it has received, then break the connection.
			bin := ts.store.binPath(idOf(url))
			st, err := ts.store.readState(idOf(url))
			if err != nil {
				t.Fatal(err)
			}
			want := sealedLen(st) + 4*(chunk+suite.TagSize)
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(2 * time.Millisecond) {
				if fi, err := os.Stat(bin); err == nil && fi.Size() >= int64(want) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("server did not receive the data")
				}
			}
			pw.CloseWithError(errors.New("network cable pulled"))
			if err := <-done; err == nil {
				t.Fatal("interrupted PATCH reported success")
			}
			ts.waitIdle()

			// The four whole chunks are kept, the half chunk is dropped.
			status, off, _ := c.head(url)
			if status != http.StatusOK || off != 4*chunk {
				t.Fatalf("HEAD: status %d offset %d, want 200 %d", status, off, 4*chunk)
			}
			c.uploadAll(url, plain, off, 3*chunk)
			checkComplete(t, ts, c, url, plain)
		})
	}
}

func TestTenantIsolation(t *testing.T) {
	ts := newTestServer(t, nil)
	a := ts.client(t, tenantGM)
	b := ts.client(t, tenantINTL)
	anon := ts.client(t, "")
	plain := randBytes(t, 2*chunk)
	url := a.mustCreate(int64(len(plain)), nil)
	if status, _ := a.patch(url, 0, plain[:chunk]); status != http.StatusNoContent {
		t.Fatalf("owner PATCH: %d", status)
	}
	for name, c := range map[string]*tusClient{"other tenant": b, "no tenant": anon} {
		t.Run(name, func(t *testing.T) {
			if status, _, _ := c.head(url); status != http.StatusNotFound {
				t.Errorf("HEAD: %d, want 404", status)
			}
			if status, _ := c.patch(url, chunk, plain[chunk:]); status != http.StatusNotFound {
				t.Errorf("PATCH: %d, want 404", status)
			}
			if status, _ := c.get(url); status != http.StatusNotFound {
				t.Errorf("GET: %d, want 404", status)
			}
			if status := c.delete(url); status != http.StatusNotFound {
				t.Errorf("DELETE: %d, want 404", status)
			}
			ctx := context.Background()
			if c.tenant != "" {
				ctx = tenantCtx(c.tenant)
			}
			id := idOf(url)
			_, err := ts.store.Completed(ctx, id)
			wantCode(t, err, ronghe.ENOTFOUND)
			_, err = ts.store.Reader(ctx, id)
			wantCode(t, err, ronghe.ENOTFOUND)
			wantCode(t, ts.store.Terminate(ctx, id), ronghe.ENOTFOUND)
			bs, err := blobstore.Open(ctx, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer bs.Close()
			wantCode(t, ts.store.Promote(ctx, id, bs, "stolen"), ronghe.ENOTFOUND)
		})
	}
	// The same answers as for an ID that does not exist at all.
	missing := ts.url + strings.Repeat("0", 32)
	if status, _, _ := b.head(missing); status != http.StatusNotFound {
		t.Errorf("HEAD of missing: %d", status)
	}
	if status, _, _ := b.head(ts.url + "../../etc/passwd"); status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
		t.Errorf("HEAD of path: %d", status)
	}
	// The owner is unaffected and finishes.
	a.uploadAll(url, plain, chunk, chunk)
	checkComplete(t, ts, a, url, plain)
}

func TestCreateRules(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.MaxSize = 10 << 20 })
	c := ts.client(t, tenantGM)
	if _, status := c.create(10<<20+1, nil); status != http.StatusRequestEntityTooLarge {
		t.Errorf("over MaxSize: %d, want 413", status)
	}
	if _, status := c.create(1000, map[string]string{MetaTenant: tenantINTL}); status != http.StatusForbidden {
		t.Errorf("metadata names another tenant: %d, want 403", status)
	}
	if _, status := ts.client(t, "").create(1000, nil); status != http.StatusForbidden && status != http.StatusUnauthorized {
		t.Errorf("no tenant: %d", status)
	}
	// Deferred length is not offered.
	req, _ := http.NewRequest(http.MethodPost, ts.url, nil)
	req.Header.Set("Upload-Defer-Length", "1")
	resp := c.do(req)
	resp.Body.Close()
	if resp.StatusCode == http.StatusCreated {
		t.Error("deferred length accepted")
	}
	// Nor concatenation (tusd does not parse Upload-Concat for a store
	// without a Concater; the store refuses such uploads all the same).
	tctx := tenantCtx(tenantGM)
	for _, info := range []handler.FileInfo{
		{Size: 10, IsPartial: true, Storage: map[string]string{MetaSuite: "GM"}},
		{Size: 10, IsFinal: true, Storage: map[string]string{MetaSuite: "GM"}},
		{Size: 10, SizeIsDeferred: true, Storage: map[string]string{MetaSuite: "GM"}},
		{Size: -1, Storage: map[string]string{MetaSuite: "GM"}},
		{Size: 10, Storage: map[string]string{MetaSuite: "ROT13"}},
		{Size: 10},
		{Size: 10, ID: "../../x", Storage: map[string]string{MetaSuite: "GM"}},
	} {
		if _, err := ts.store.NewUpload(tctx, info); err == nil {
			t.Errorf("NewUpload(%+v) accepted", info)
		}
	}
	// A hook-chosen ID of the right form is kept; reusing it fails.
	id := strings.Repeat("5a", 16)
	info := handler.FileInfo{ID: id, Size: 10, Storage: map[string]string{MetaSuite: "INTL"}}
	if u, err := ts.store.NewUpload(tenantCtx(tenantINTL), info); err != nil {
		t.Fatal(err)
	} else if got, _ := u.GetInfo(tctx); got.ID != id {
		t.Errorf("ID %q, want %q", got.ID, id)
	}
	if _, err := ts.store.NewUpload(tenantCtx(tenantINTL), info); err == nil {
		t.Error("reused ID accepted")
	}
	// Generated IDs are 128-bit hex.
	url := c.mustCreate(5, nil)
	if !validID(idOf(url)) {
		t.Errorf("ID %q", idOf(url))
	}
}

func TestOverSizePatchRefused(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.client(t, tenantINTL)
	plain := randBytes(t, 3*chunk+10)
	url := c.mustCreate(int64(len(plain)), nil)

	// Content-Length beyond the declared size: refused before any byte.
	status, _ := c.patch(url, 0, append(bytes.Clone(plain), 1, 2, 3))
	if status != http.StatusRequestEntityTooLarge {
		t.Fatalf("over-size PATCH: %d, want 413", status)
	}
	if _, off, _ := c.head(url); off != 0 {
		t.Fatalf("offset %d after refused PATCH", off)
	}
	// Without Content-Length (chunked transfer) the body is cut at the
	// declared size; no more than Size bytes are ever stored.
	extra := append(bytes.Clone(plain), bytes.Repeat([]byte{0xEE}, 5*chunk)...)
	req, _ := http.NewRequest(http.MethodPatch, url, io.MultiReader(bytes.NewReader(extra)))
	req.ContentLength = -1
	status, _ = c.sendPatch(req, 0)
	if status != http.StatusRequestEntityTooLarge && status != http.StatusNoContent {
		t.Fatalf("chunked over-size PATCH: %d", status)
	}
	_, off, _ := c.head(url)
	if off > int64(len(plain)) {
		t.Fatalf("offset %d beyond size %d", off, len(plain))
	}
	c.uploadAll(url, plain, off, len(plain))
	checkComplete(t, ts, c, url, plain)
}

func TestTerminate(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.client(t, tenantGM)
	url := c.mustCreate(3*chunk, nil)
	c.patch(url, 0, randBytes(t, chunk))
	if status := c.delete(url); status != http.StatusNoContent {
		t.Fatalf("DELETE: %d", status)
	}
	if status, _, _ := c.head(url); status != http.StatusNotFound {
		t.Fatalf("HEAD after DELETE: %d", status)
	}
	entries, _ := os.ReadDir(ts.store.Dir())
	if len(entries) != 0 {
		t.Fatalf("staging directory not empty: %v", entries)
	}

	url = c.mustCreate(10, nil)
	if err := ts.store.Terminate(tenantCtx(tenantGM), idOf(url)); err != nil {
		t.Fatal(err)
	}
	if status, _, _ := c.head(url); status != http.StatusNotFound {
		t.Fatalf("HEAD after Terminate: %d", status)
	}
}

func TestCompletedRefusesIncomplete(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.client(t, tenantGM)
	url := c.mustCreate(2*chunk, nil)
	c.patch(url, 0, randBytes(t, chunk))
	_, err := ts.store.Completed(tenantCtx(tenantGM), idOf(url))
	wantCode(t, err, ronghe.ECONFLICT)
	if status, _ := c.get(url); status != http.StatusConflict {
		t.Fatalf("GET of incomplete upload: %d, want 409", status)
	}
	bs, err := blobstore.Open(context.Background(), t.TempDir(), blobstore.WithKEK(ts.kek))
	if err != nil {
		t.Fatal(err)
	}
	defer bs.Close()
	wantCode(t, ts.store.Promote(tenantCtx(tenantGM), idOf(url), bs, "early"), ronghe.ECONFLICT)
}

func TestPromote(t *testing.T) {
	ctx := context.Background()
	for _, backend := range []string{"file-same-fs", "file-elsewhere", "s3"} {
		t.Run(backend, func(t *testing.T) {
			kek := newKEK(t)
			var bs *blobstore.Store
			var err error
			var mod func(*Config)
			switch backend {
			case "file-same-fs":
				bs, err = blobstore.Open(ctx, t.TempDir(), blobstore.WithKEK(kek))
				mod = func(c *Config) { c.Dir = StagingDir(bs) }
			case "file-elsewhere":
				bs, err = blobstore.Open(ctx, t.TempDir(), blobstore.WithKEK(kek))
			case "s3":
				bs = openS3(t, kek)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer bs.Close()
			store := newStore(t, kek, mod)
			tctx := tenantCtx(tenantGM)
			plain := randBytes(t, 3*chunk+99)
			id := writeUpload(t, store, tctx, ronghe.SuiteGM, plain)

			var before os.FileInfo
			if backend == "file-same-fs" {
				if before, err = os.Stat(store.binPath(id)); err != nil {
					t.Fatal(err)
				}
			}
			if err := store.Promote(tctx, id, bs, "tenants/bank-gm/msg-1/accounts.csv"); err != nil {
				t.Fatal(err)
			}
			rc, err := bs.Get(ctx, "tenants/bank-gm/msg-1/accounts.csv")
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("promoted blob: %v, equal=%v", err, bytes.Equal(got, plain))
			}
			if backend == "file-same-fs" {
				after, err := os.Stat(filepath.Join(bs.Dir(), "tenants", "bank-gm", "msg-1", "accounts.csv"))
				if err != nil {
					t.Fatal(err)
				}
				if !os.SameFile(before, after) {
					t.Fatal("promotion on one file system copied instead of renaming")
				}
			}
			for _, p := range []string{store.binPath(id), store.infoPath(id)} {
				if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("%s left behind: %v", p, err)
				}
			}
			_, err = store.Completed(tctx, id)
			wantCode(t, err, ronghe.ENOTFOUND)
		})
	}
}

func TestPromoteIsIdempotentAfterCrash(t *testing.T) {
	ctx := context.Background()
	kek := newKEK(t)
	bs, err := blobstore.Open(ctx, t.TempDir(), blobstore.WithKEK(kek))
	if err != nil {
		t.Fatal(err)
	}
	defer bs.Close()
	store := newStore(t, kek, func(c *Config) { c.Dir = StagingDir(bs) })
	tctx := tenantCtx(tenantINTL)
	plain := randBytes(t, chunk+5)
	id := writeUpload(t, store, tctx, ronghe.SuiteINTL, plain)
	// The crash: the data was moved, the state was not removed.
	if err := bs.MoveFromFile(ctx, "k", store.binPath(id)); err != nil {
		t.Fatal(err)
	}
	if _, err := store.getUpload(tctx, id); ronghe.ErrorCode(err) != ronghe.ENOTFOUND {
		t.Fatalf("GetUpload of a half-promoted upload: %v", err)
	}
	if err := store.Promote(tctx, id, bs, "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(store.infoPath(id)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("state left behind")
	}
	// To another key the data is gone: that is an error, not a success.
	id2 := writeUpload(t, store, tctx, ronghe.SuiteINTL, plain)
	if err := os.Remove(store.binPath(id2)); err != nil {
		t.Fatal(err)
	}
	wantCode(t, store.Promote(tctx, id2, bs, "elsewhere"), ronghe.EINTERNAL)
}

func TestSweep(t *testing.T) {
	store := newStore(t, newKEK(t), nil)
	tctx := tenantCtx(tenantGM)
	done := writeUpload(t, store, tctx, ronghe.SuiteGM, randBytes(t, 100))
	stale, err := store.newUpload(tctx, fileInfo(10*chunk, ronghe.SuiteGM))
	if err != nil {
		t.Fatal(err)
	}
	orphan := strings.Repeat("ab", 16)
	if err := os.WriteFile(store.binPath(orphan), []byte("left by a crash"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Nothing is old yet.
	if n, err := store.Sweep(context.Background(), time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("Sweep removed %d (%v), want 0", n, err)
	}
	old := time.Now().Add(-48 * time.Hour)
	os.Chtimes(store.binPath(orphan), old, old)
	n, err := store.Sweep(context.Background(), time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("Sweep removed %d, want 2 (stale upload and orphan)", n)
	}
	if _, err := store.Completed(tctx, done); err != nil {
		t.Fatalf("complete upload swept: %v", err)
	}
	if _, err := store.visible(tctx, stale.st.Info.ID); ronghe.ErrorCode(err) != ronghe.ENOTFOUND {
		t.Fatalf("stale upload kept: %v", err)
	}
	if _, err := os.Stat(store.binPath(orphan)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("orphan kept")
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	kek := newKEK(t)
	for name, cfg := range map[string]Config{
		"no dir":     {KEK: kek},
		"no KEK":     {Dir: t.TempDir()},
		"chunk size": {Dir: t.TempDir(), KEK: kek, ChunkSize: 1000},
	} {
		if _, err := New(cfg); ronghe.ErrorCode(err) != ronghe.EINVALID {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestValidID(t *testing.T) {
	for id, ok := range map[string]bool{
		strings.Repeat("0", 32):            true,
		"0123456789abcdef0123456789abcdef": true,
		"0123456789ABCDEF0123456789ABCDEF": false,
		strings.Repeat("0", 31):            false,
		strings.Repeat("0", 33):            false,
		"../../../../etc/passwd/aaaaaaaaa": false,
		"":                                 false,
	} {
		if validID(id) != ok {
			t.Errorf("validID(%q) = %v", id, !ok)
		}
	}
	id, err := newID()
	if err != nil || !validID(id) {
		t.Fatalf("newID = %q, %v", id, err)
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", code)
	}
	if got := ronghe.ErrorCode(err); got != code {
		t.Fatalf("error code %q, want %q: %v", got, code, err)
	}
}

func TestConcurrentUploads(t *testing.T) {
	ts := newTestServer(t, nil)
	const n = 8
	errs := make(chan error, n)
	for i := range n {
		tenant := []string{tenantGM, tenantINTL}[i%2]
		go func() {
			defer func() {
				if r := recover(); r != nil {
					errs <- fmt.Errorf("upload %d: %v", i, r)
				}
			}()
			plain := make([]byte, 3*chunk+i*1000)
			for j := range plain {
				plain[j] = byte(i + j)
			}
			rt := &recorder{}
			c := ts.client(rt, tenant)
			url := c.mustCreate(int64(len(plain)), nil)
			c.uploadAll(url, plain, 0, chunk+7*i+1)
			res, err := ts.store.Completed(tenantCtx(tenant), idOf(url))
			switch {
			case rt.failed != "":
				errs <- fmt.Errorf("upload %d: %s", i, rt.failed)
			case err != nil:
				errs <- err
			case !bytes.Equal(res.Digest, suite.Digest(tenantSuites[tenant], plain)):
				errs <- fmt.Errorf("upload %d: wrong digest", i)
			default:
				errs <- nil
			}
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// recorder is a testing.TB for goroutines other than the test's: it records
// the first failure and stops the goroutine.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper()             {}
func (r *recorder) Logf(string, ...any) {}
func (r *recorder) Fatal(args ...any) {
	r.failed = fmt.Sprint(args...)
	panic(r.failed)
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	panic(r.failed)
}
