package upload

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"testing"

	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/envelope"
	"github.com/ronghe/ronghe/suite"
)

// readBack opens the staged .bin of a complete upload as an envelope and
// checks plaintext and digest.
func readBack(t *testing.T, store *Store, ctx context.Context, kek envelope.KEK, id string, st ronghe.Suite, plain []byte) {
	t.Helper()
	res, err := store.Completed(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(res.Digest, suite.Digest(st, plain)) {
		t.Fatal("digest does not match the data")
	}
	f, err := os.Open(store.binPath(id))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := envelope.NewReader(context.Background(), f, kek)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("envelope read back: %v, equal=%v", err, bytes.Equal(got, plain))
	}
}

// rawWrite is WriteChunk without the conversion of errors for tusd, so
// that tests see the pipeline's own error.
func rawWrite(t *testing.T, store *Store, u handler.Upload, offset int64, src io.Reader) (int64, error) {
	t.Helper()
	up := u.(*upload)
	unlock := store.mu.lock(up.st.Info.ID)
	defer unlock()
	return store.writeChunk(context.Background(), up.st, offset, src)
}

// setHook installs testHook for the test.
func setHook(t *testing.T, h func(stage string, seq uint64) error) {
	testHook = h
	t.Cleanup(func() { testHook = nil })
}

// Many sealers finishing in any order, checkpoints committed by the flusher
// while the writer goes on and writeback started every writebackBytes: the
// envelope holds the chunks in order and the digest is that of the data.
func TestPipelineKeepsOrder(t *testing.T) {
	for _, st := range []ronghe.Suite{ronghe.SuiteGM, ronghe.SuiteINTL} {
		t.Run(string(st), func(t *testing.T) {
			kek := newKEK(t)
			store := newStore(t, kek, func(c *Config) {
				c.Workers = 8
				c.ChunkSize = envelope.MinChunkSize
				c.CheckpointBytes = 301 * envelope.MinChunkSize
			})
			ctx := tenantCtx(tenantGM)
			plain := randBytes(t, writebackBytes*2+12345)
			id := writeUpload(t, store, ctx, st, plain)
			readBack(t, store, ctx, kek, id, st, plain)
		})
	}
}

// A failing sealer stops the PATCH with its error; what was written before
// the failure is committed and the upload resumes from there.
func TestPipelineSealErrorPropagates(t *testing.T) {
	kek := newKEK(t)
	store := newStore(t, kek, func(c *Config) { c.Workers = 3 })
	ctx := tenantCtx(tenantGM)
	plain := randBytes(t, 40*chunk+77)
	u, err := store.NewUpload(ctx, fileInfo(int64(len(plain)), ronghe.SuiteGM))
	if err != nil {
		t.Fatal(err)
	}
	info, _ := u.GetInfo(ctx)
	boom := errors.New("sealer failed")
	setHook(t, func(stage string, seq uint64) error {
		if stage == "seal" && seq == 17 {
			return boom
		}
		return nil
	})
	n, err := rawWrite(t, store, u, 0, bytes.NewReader(plain))
	if !errors.Is(err, boom) {
		t.Fatalf("WriteChunk error %v, want %v", err, boom)
	}
	if n%chunk != 0 || n > 17*chunk {
		t.Fatalf("WriteChunk kept %d bytes after a failure at chunk 17", n)
	}
	testHook = nil
	u, err = store.GetUpload(ctx, info.ID)
	if err != nil {
		t.Fatal(err)
	}
	if info, _ = u.GetInfo(ctx); info.Offset != n {
		t.Fatalf("offset %d after the failure, WriteChunk said %d", info.Offset, n)
	}
	m, err := u.WriteChunk(ctx, n, bytes.NewReader(plain[n:]))
	if err != nil || n+m != int64(len(plain)) {
		t.Fatalf("resume: %d, %v", m, err)
	}
	readBack(t, store, ctx, kek, info.ID, ronghe.SuiteGM, plain)
}

// A checkpoint that fails in the flusher fails the PATCH too, and the
// upload goes on from what was committed.
func TestPipelineCheckpointErrorPropagates(t *testing.T) {
	kek := newKEK(t)
	store := newStore(t, kek, func(c *Config) { c.CheckpointBytes = 4 * chunk })
	ctx := tenantCtx(tenantINTL)
	plain := randBytes(t, 20*chunk)
	u, err := store.NewUpload(ctx, fileInfo(int64(len(plain)), ronghe.SuiteINTL))
	if err != nil {
		t.Fatal(err)
	}
	info, _ := u.GetInfo(ctx)
	boom := errors.New("checkpoint failed")
	setHook(t, func(stage string, seq uint64) error {
		if stage == "checkpoint" && seq >= 7 {
			return boom
		}
		return nil
	})
	n, err := rawWrite(t, store, u, 0, bytes.NewReader(plain))
	if !errors.Is(err, boom) {
		t.Fatalf("WriteChunk error %v, want %v", err, boom)
	}
	testHook = nil
	u, err = store.GetUpload(ctx, info.ID)
	if err != nil {
		t.Fatal(err)
	}
	// The writer does not wait for checkpoints, so it may have written
	// everything by the time the failure is known; what it wrote is synced
	// and committed all the same, and the PATCH still reports the failure.
	info, _ = u.GetInfo(ctx)
	if info.Offset != n || (n%chunk != 0 && n != int64(len(plain))) {
		t.Fatalf("offset %d, WriteChunk said %d", info.Offset, n)
	}
	if n < int64(len(plain)) {
		if _, err := u.WriteChunk(ctx, n, bytes.NewReader(plain[n:])); err != nil {
			t.Fatal(err)
		}
	}
	readBack(t, store, ctx, kek, info.ID, ronghe.SuiteINTL, plain)
}

// failAfter delivers n bytes of r and then fails, like a client that goes
// away in the middle of a PATCH.
type failAfter struct {
	r io.Reader
	n int
}

var errGone = errors.New("client gone")

func (f *failAfter) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errGone
	}
	p = p[:min(len(p), f.n)]
	n, err := f.r.Read(p)
	f.n -= n
	return n, err
}

// A PATCH cut at any offset — inside a chunk, on a boundary, around a
// checkpoint — keeps the whole chunks before the cut; a restarted store
// (recovery from the files alone) takes the rest and the envelope is right.
func TestPipelineResumeAtAnyOffset(t *testing.T) {
	const size = 12*chunk + 321
	plain := randBytes(t, size)
	kek := newKEK(t)
	dir := t.TempDir()
	cfg := Config{Dir: dir, KEK: kek, Logger: quietLogger(), CheckpointBytes: 3 * chunk}
	store, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := tenantCtx(tenantGM)
	for _, cut := range []int{0, 1, chunk - 1, chunk, chunk + 1, 3*chunk - 1, 3 * chunk, 3*chunk + 1, 7*chunk + 5000, 12 * chunk, size - 1} {
		t.Run(fmt.Sprint(cut), func(t *testing.T) {
			u, err := store.NewUpload(ctx, fileInfo(size, ronghe.SuiteGM))
			if err != nil {
				t.Fatal(err)
			}
			info, _ := u.GetInfo(ctx)
			n, err := rawWrite(t, store, u, 0, &failAfter{r: bytes.NewReader(plain), n: cut})
			if want := int64(cut / chunk * chunk); n != want {
				t.Fatalf("cut at %d: kept %d, want %d (%v)", cut, n, want, err)
			}
			if n > 0 && !errors.Is(err, errGone) {
				t.Fatalf("error %v, want %v", err, errGone)
			}
			// A new store on the same directory, as after a restart.
			again, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			u, err = again.GetUpload(ctx, info.ID)
			if err != nil {
				t.Fatal(err)
			}
			if info, _ := u.GetInfo(ctx); info.Offset != n {
				t.Fatalf("recovered offset %d, want %d", info.Offset, n)
			}
			if m, err := u.WriteChunk(ctx, n, bytes.NewReader(plain[n:])); err != nil || n+m != size {
				t.Fatalf("resume: %d, %v", m, err)
			}
			readBack(t, again, ctx, kek, info.ID, ronghe.SuiteGM, plain)
		})
	}
}

// Memory is bounded by the chunks in flight: a 64 MiB PATCH allocates a
// small, fixed amount, not anything proportional to its size.
func TestPipelineMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 64 MiB")
	}
	store := newStore(t, newKEK(t), func(c *Config) { c.Workers = 2 })
	ctx := tenantCtx(tenantGM)
	const size = 64 << 20
	plain := randBytes(t, size)
	u, err := store.NewUpload(ctx, fileInfo(size, ronghe.SuiteGM))
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	n, err := u.WriteChunk(ctx, 0, bytes.NewReader(plain))
	runtime.ReadMemStats(&after)
	if err != nil || n != size {
		t.Fatalf("WriteChunk = %d, %v", n, err)
	}
	// (2 × Workers + 4) buffers of plaintext and ciphertext are 1 MiB; the
	// saved hash state of each chunk is ~100 bytes.
	const limit = 4 << 20
	if got := after.TotalAlloc - before.TotalAlloc; got > limit {
		t.Fatalf("a %d MiB PATCH allocated %d bytes, more than %d", size>>20, got, limit)
	}
}
