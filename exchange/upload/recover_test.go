package upload

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/envelope"
	"github.com/ronghe/ronghe/suite"
)

const ct = chunk + suite.TagSize // stored size of a full chunk

// crashFixture is an upload of 10 chunks and a bit that has received its
// first chunk (whose state is saved, as a crash could leave it) and then
// four more.
type crashFixture struct {
	ts      *testServer
	c       *tusClient
	url, id string
	plain   []byte
	early   []byte // .info after the first chunk
	hdr     int64  // header length
}

func newCrashFixture(t *testing.T, tenant string) *crashFixture {
	t.Helper()
	ts := newTestServer(t, nil)
	c := ts.client(t, tenant)
	f := &crashFixture{ts: ts, c: c, plain: randBytes(t, 10*chunk+500)}
	f.url = c.mustCreate(int64(len(f.plain)), nil)
	f.id = idOf(f.url)
	if status, off := c.patch(f.url, 0, f.plain[:chunk]); status != http.StatusNoContent || off != chunk {
		t.Fatalf("first PATCH: %d %d", status, off)
	}
	var err error
	if f.early, err = os.ReadFile(ts.store.infoPath(f.id)); err != nil {
		t.Fatal(err)
	}
	if status, off := c.patch(f.url, chunk, f.plain[chunk:5*chunk]); status != http.StatusNoContent || off != 5*chunk {
		t.Fatalf("second PATCH: %d %d", status, off)
	}
	st, err := ts.store.readState(f.id)
	if err != nil {
		t.Fatal(err)
	}
	f.hdr = int64(len(st.Header))
	return f
}

// rollBack restores the .info of after the first chunk.
func (f *crashFixture) rollBack(t *testing.T) {
	t.Helper()
	if err := os.WriteFile(f.ts.store.infoPath(f.id), f.early, 0o600); err != nil {
		t.Fatal(err)
	}
}

func (f *crashFixture) truncate(t *testing.T, size int64) {
	t.Helper()
	if err := os.Truncate(f.ts.store.binPath(f.id), size); err != nil {
		t.Fatal(err)
	}
}

// resume checks the offset HEAD reports, then finishes the upload and
// checks the result.
func (f *crashFixture) resume(t *testing.T, wantOffset int64) {
	t.Helper()
	status, off, _ := f.c.head(f.url)
	if status != http.StatusOK || off != wantOffset {
		t.Fatalf("HEAD after crash: status %d offset %d, want 200 %d", status, off, wantOffset)
	}
	fi, err := os.Stat(f.ts.store.binPath(f.id))
	if err != nil {
		t.Fatal(err)
	}
	if want := f.hdr + wantOffset/chunk*ct; fi.Size() != want {
		t.Fatalf("data file is %d bytes after recovery, want %d", fi.Size(), want)
	}
	f.c.uploadAll(f.url, f.plain, off, 2*chunk+17)
	checkComplete(t, f.ts, f.c, f.url, f.plain)
}

func TestCrashRecovery(t *testing.T) {
	tests := []struct {
		name  string
		crash func(t *testing.T, f *crashFixture)
		want  int64 // offset after recovery
	}{
		{"state older than data, torn chunk", func(t *testing.T, f *crashFixture) {
			f.rollBack(t)
			f.truncate(t, f.hdr+3*ct+ct/2) // in the middle of chunk 3
		}, 3 * chunk},
		{"state older than data, whole chunks", func(t *testing.T, f *crashFixture) {
			f.rollBack(t)
		}, 5 * chunk},
		{"torn tag of the next chunk", func(t *testing.T, f *crashFixture) {
			f.truncate(t, f.hdr+5*ct) // committed state
			fh, err := os.OpenFile(f.ts.store.binPath(f.id), os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			fh.Write(make([]byte, ct-1)) // zeros, as after a power loss
			fh.Close()
		}, 5 * chunk},
		{"data shorter than state", func(t *testing.T, f *crashFixture) {
			f.truncate(t, f.hdr+2*ct+100)
		}, 2 * chunk},
		{"damaged chunk beyond the state", func(t *testing.T, f *crashFixture) {
			f.rollBack(t)
			fh, err := os.OpenFile(f.ts.store.binPath(f.id), os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			fh.WriteAt([]byte{0xFF}, f.hdr+2*ct+1234) // chunk 2
			fh.Close()
		}, 2 * chunk},
		{"data file lost", func(t *testing.T, f *crashFixture) {
			os.Remove(f.ts.store.binPath(f.id))
		}, 0},
		{"data file lost before the first chunk", func(t *testing.T, f *crashFixture) {
			var st state
			f.rollBack(t)
			st2, err := f.ts.store.readState(f.id)
			if err != nil {
				t.Fatal(err)
			}
			st = *st2
			st.Chunks, st.Info.Offset = 0, 0
			st.HashState, _ = marshalHash(suite.NewHash(st.Suite))
			if err := f.ts.store.writeState(&st, false); err != nil {
				t.Fatal(err)
			}
			f.truncate(t, 5) // torn header
		}, 0},
	}
	for _, tenant := range []string{tenantGM, tenantINTL} {
		for _, tt := range tests {
			t.Run(tenant+"/"+tt.name, func(t *testing.T) {
				f := newCrashFixture(t, tenant)
				tt.crash(t, f)
				f.resume(t, tt.want)
			})
		}
	}
}

func TestCrashAfterLastChunk(t *testing.T) {
	// The last chunk was written but the process died before committing:
	// recovery completes the upload with the right digest.
	f := newCrashFixture(t, tenantGM)
	if status, off := f.c.patch(f.url, 5*chunk, f.plain[5*chunk:]); status != http.StatusNoContent || off != int64(len(f.plain)) {
		t.Fatalf("last PATCH: %d %d", status, off)
	}
	f.rollBack(t)
	checkComplete(t, f.ts, f.c, f.url, f.plain)
}

func TestCompleteUploadWithWrongLength(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.client(t, tenantINTL)
	plain := randBytes(t, chunk+1)
	url := c.mustCreate(int64(len(plain)), nil)
	c.patch(url, 0, plain)
	bin := ts.store.binPath(idOf(url))
	fi, _ := os.Stat(bin)
	os.Truncate(bin, fi.Size()-1)
	if status, _, _ := c.head(url); status != http.StatusInternalServerError {
		t.Fatalf("HEAD of damaged complete upload: %d, want 500", status)
	}
	// Reader does not re-check the length, but reading cannot succeed.
	rc, err := ts.store.Reader(tenantCtx(tenantINTL), idOf(url))
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(rc)
	rc.Close()
	wantCode(t, err, ronghe.EINTEGRITY)
}

func TestCheckpointsDuringLongPatch(t *testing.T) {
	ctx := tenantCtx(tenantINTL)
	store := newStore(t, newKEK(t), func(c *Config) { c.CheckpointBytes = 2 * chunk })
	plain := randBytes(t, 10*chunk)
	u, err := store.NewUpload(ctx, fileInfo(int64(len(plain)), ronghe.SuiteINTL))
	if err != nil {
		t.Fatal(err)
	}
	info, _ := u.GetInfo(ctx)
	// A body that delivers five chunks and then stalls, like a slow client.
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		n, err := u.WriteChunk(ctx, 0, pr)
		if err == nil && n != int64(len(plain)) {
			err = fmt.Errorf("wrote %d", n)
		}
		done <- err
	}()
	if _, err := pw.Write(plain[:5*chunk]); err != nil {
		t.Fatal(err)
	}
	// While the PATCH is still running, its progress is already durable.
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := store.readState(info.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st.Chunks >= 4 {
			if st.Info.Offset != int64(st.Chunks)*chunk {
				t.Fatalf("checkpoint offset %d for %d chunks", st.Info.Offset, st.Chunks)
			}
			h, err := restoreHash(st.Suite, st.HashState)
			if err != nil {
				t.Fatal(err)
			}
			want := suite.NewHash(ronghe.SuiteINTL)
			want.Write(plain[:st.Chunks*chunk])
			if !bytes.Equal(h.Sum(nil), want.Sum(nil)) {
				t.Fatal("checkpointed hash state does not match the data")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint; state has %d chunks", st.Chunks)
		}
		time.Sleep(2 * time.Millisecond)
	}
	if _, err := pw.Write(plain[5*chunk:]); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	res, err := store.Completed(ctx, info.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(res.Digest, suite.Digest(ronghe.SuiteINTL, plain)) {
		t.Fatal("digest")
	}
}

// The kill -9 test runs a child process (this test binary) that writes an
// upload and SIGKILLs itself in the middle of a PATCH; the parent then opens
// the same directory, recovers and finishes the upload.
const (
	crashChildEnv = "RONGHE_UPLOAD_CRASH_CHILD"
	crashSize     = 40 * chunk
	crashAt       = 23*chunk + 999 // bytes the child delivers before dying
)

// crashPlain is the upload's content, the same in both processes.
func crashPlain() []byte {
	b := make([]byte, crashSize)
	for i := range b {
		b[i] = byte(i*7 + i/chunk)
	}
	return b
}

// dieAfter delivers n bytes of r, waits until the pipeline has written the
// whole chunks among them to the file at path (wantLen bytes) — as it would
// while the server waits on a slow network — and then kills the process.
type dieAfter struct {
	r       io.Reader
	n       int
	path    string
	wantLen int64
}

func (d *dieAfter) Read(p []byte) (int, error) {
	if d.n <= 0 {
		for {
			if fi, err := os.Stat(d.path); err == nil && fi.Size() >= d.wantLen {
				break
			}
			time.Sleep(time.Millisecond)
		}
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
	p = p[:min(len(p), d.n)]
	n, err := d.r.Read(p)
	d.n -= n
	return n, err
}

func crashKEK(t testing.TB, hexKey string) envelope.KEK {
	key, err := hex.DecodeString(hexKey)
	if err != nil {
		t.Fatal(err)
	}
	k, err := envelope.NewLocalKEK("crash-test", key)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestKillDuringWrite(t *testing.T) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(t, dir)
		return
	}
	dir := t.TempDir()
	keyHex := hex.EncodeToString(randBytes(t, envelope.LocalKEKSize))
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillDuringWrite$", "-test.v")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir, "RONGHE_CRASH_KEY="+keyHex)
	out, err := cmd.CombinedOutput()
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if err == nil || !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die by SIGKILL: %v\n%s", err, out)
	}
	id, err := os.ReadFile(dir + "/id")
	if err != nil {
		t.Fatal(err)
	}
	store, err := New(Config{Dir: dir + "/staging", KEK: crashKEK(t, keyHex), Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := tenantCtx(tenantGM)
	u, err := store.GetUpload(ctx, string(id))
	if err != nil {
		t.Fatal(err)
	}
	info, _ := u.GetInfo(ctx)
	// Everything the child received in whole chunks was written before it
	// died (its commit interval is larger than the upload), so recovery
	// adopts all of it.
	if info.Offset != crashAt/chunk*chunk {
		t.Fatalf("recovered offset %d, want %d", info.Offset, crashAt/chunk*chunk)
	}
	plain := crashPlain()
	n, err := u.WriteChunk(ctx, info.Offset, bytes.NewReader(plain[info.Offset:]))
	if err != nil || info.Offset+n != crashSize {
		t.Fatalf("resume: %d, %v", n, err)
	}
	res, err := store.Completed(ctx, string(id))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(res.Digest, suite.Digest(ronghe.SuiteGM, plain)) {
		t.Fatal("digest after crash and resume is wrong")
	}
	rc, err := store.Reader(ctx, string(id))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("content after crash and resume: %v", err)
	}
}

func crashChild(t *testing.T, dir string) {
	store, err := New(Config{
		Dir: dir + "/staging", KEK: crashKEK(t, os.Getenv("RONGHE_CRASH_KEY")), Logger: quietLogger(),
		CheckpointBytes: 1 << 40,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := tenantCtx(tenantGM)
	u, err := store.NewUpload(ctx, fileInfo(crashSize, ronghe.SuiteGM))
	if err != nil {
		t.Fatal(err)
	}
	info, _ := u.GetInfo(ctx)
	if err := os.WriteFile(dir+"/id", []byte(info.ID), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := store.readState(info.ID)
	if err != nil {
		t.Fatal(err)
	}
	u.WriteChunk(ctx, 0, &dieAfter{
		r: bytes.NewReader(crashPlain()), n: crashAt,
		path: store.binPath(info.ID), wantLen: sealedLen(st) + crashAt/chunk*ct,
	})
	t.Fatal("WriteChunk returned; the process should have been killed: " + strconv.Itoa(crashAt))
}
