package main

// Crash tests: the platform runs as its own process (`ronghe serve`), is
// killed with SIGKILL in the middle of a large submission and restarted on
// the same data directory and port. The client must resume, not restart, and
// end with one receipt that verifies, in a log that stayed consistent.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/transparency-dev/tessera/api"
	"github.com/transparency-dev/tessera/api/layout"
	tessera "github.com/transparency-dev/tessera/client"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/client"
	"github.com/ronghe/ronghe/evidence"
	"github.com/ronghe/ronghe/exchange/upload"
	"github.com/ronghe/ronghe/pki"
	"github.com/ronghe/ronghe/tlog"
	tlogclient "github.com/ronghe/ronghe/tlog/client"
)

const crashOrigin = "ronghe.crash-test/log"

// crashFileSize is the size of the big file; large enough that a kill lands
// in the middle of its upload.
const crashFileSize = 64 << 20

// serveProc is one `ronghe serve` process.
type serveProc struct {
	cmd    *exec.Cmd
	stderr *bytes.Buffer
	done   chan struct{}
}

// serveAt starts `ronghe serve` on data and addr and returns once it
// listens (it prints its address after the listener is open).
func serveAt(t *testing.T, bin, data, addr string) *serveProc {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--data", data, "--listen", addr, "--origin", crashOrigin)
	cmd.Env = append(os.Environ(), "RONGHE_DATABASE=", "RONGHE_BLOB=", "RONGHE_KEK_FILE=")
	p := &serveProc{cmd: cmd, stderr: &bytes.Buffer{}, done: make(chan struct{})}
	cmd.Stderr = &lockedWriter{w: p.stderr}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(p.kill)
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "ronghe listening on") {
			go io.Copy(io.Discard, out)
			return p
		}
	}
	p.kill()
	t.Fatalf("ronghe serve exited before listening:\n%s", p.stderr)
	return nil
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *serveProc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// crashSetup runs a server, onboards a bank with the admin command and
// returns what a test needs.
type crashSetup struct {
	bin, data, addr string
	srv             *serveProc
	code            string
	prof            *client.Profile
	c               *client.Client
	v               *client.Verifier
}

func newCrashSetup(t *testing.T) *crashSetup {
	t.Helper()
	s := &crashSetup{bin: binary(t), data: filepath.Join(t.TempDir(), "data"), addr: freeAddr(t), code: newCode()}
	s.srv = serveAt(t, s.bin, s.data, s.addr)
	profDir := filepath.Join(t.TempDir(), "profile")
	out, err := exec.Command(s.bin, "admin", "institution", "add", "--data", s.data, "--origin", crashOrigin,
		"--code", s.code, "--name", "崩溃测试银行", "--suite", "INTL", "--server", "https://"+s.addr, "--out", profDir, "--cert-days", "2").CombinedOutput()
	if err != nil {
		t.Fatalf("admin institution add: %v\n%s", err, out)
	}
	if s.prof, err = client.LoadProfile(profDir); err != nil {
		t.Fatal(err)
	}
	s.c = newClient(t, s.prof)
	if s.v, err = client.NewVerifier(s.prof.Pinned); err != nil {
		t.Fatal(err)
	}
	// Something in the log before the crash.
	small := batchDir(t, s.code, 1, map[string][]byte{"TXN.csv": content("before", 1000)})
	if res, err := s.c.Submit(bg, small, client.SubmitOptions{}); err != nil || !res.Verified {
		t.Fatalf("submit before the crash: %v", err)
	}
	return s
}

func (s *crashSetup) checkpoint(t *testing.T) tlogclient.Checkpoint {
	t.Helper()
	cp, _, err := s.c.Checkpoint(bg, s.v)
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

// receiptCheckpoint verifies a receipt and returns it with its checkpoint.
func (s *crashSetup) receiptCheckpoint(t *testing.T, doc *evidence.Signed) (*evidence.Receipt, tlogclient.Checkpoint) {
	t.Helper()
	r, err := s.v.Receipt(doc)
	if err != nil {
		t.Fatalf("receipt: %v", err)
	}
	lv, err := tlogclient.NewLogVerifier(s.prof.Pinned.LogOrigin, s.prof.Pinned.LogVerifiers[0], s.prof.Pinned.LogVerifiers[1])
	if err != nil {
		t.Fatal(err)
	}
	cp, err := lv.VerifyCheckpoint(r.Checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	return r, cp
}

// acceptances counts the submission.accepted events for messageID among the
// first size entries of the log, read over HTTPS as any auditor reads them.
func (s *crashSetup) acceptances(t *testing.T, messageID string, size uint64) int {
	t.Helper()
	cfg, err := pki.ClientTLS(s.prof.CAPEM, s.prof.CertPEM, s.prof.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse("https://" + s.addr + client.LogPath)
	f, err := tessera.NewHTTPFetcher(u, &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for ri := range layout.Range(0, size, size) {
		raw, err := f.ReadEntryBundle(bg, ri.Index, ri.Partial)
		if err != nil {
			t.Fatalf("entry bundle %d: %v", ri.Index, err)
		}
		var b api.EntryBundle
		if err := b.UnmarshalText(raw); err != nil {
			t.Fatal(err)
		}
		for _, leaf := range b.Entries[ri.First : ri.First+ri.N] {
			ev, err := tlog.ParseLeaf(leaf)
			if err != nil {
				t.Fatalf("leaf %q: %v", leaf, err)
			}
			if ev.Kind == tlog.KindSubmissionAccepted && ev.MessageID == messageID {
				n++
			}
		}
	}
	return n
}

// TestCrashDuringUpload kills the server with SIGKILL once a third of a
// large file is uploaded and restarts it; the client's own retry resumes
// from the offset the restarted server reports.
func TestCrashDuringUpload(t *testing.T) {
	s := newCrashSetup(t)
	big := batchDir(t, s.code, 2, map[string][]byte{"TXN.csv": content("crash", crashFileSize), "CTL.csv": content("ctl", 200)})
	total := int64(crashFileSize + 200)

	var (
		mu       sync.Mutex
		pos      int64 // upload progress as reported
		killed   bool
		low      int64 = -1 // lowest position reported after the kill
		rewinds  int
		once     sync.Once
		third    = make(chan struct{})
		killDone = make(chan struct{})
	)
	progress := func(phase string, n, tot int64) {
		if phase != "upload" {
			return
		}
		mu.Lock()
		pos += n
		cur := pos
		if killed {
			if low < 0 || cur < low {
				low = cur
			}
			if n < 0 {
				rewinds++
			}
		}
		mu.Unlock()
		if cur > tot/3 {
			// Hold the upload here until the server is dead, so the kill
			// lands with a third sent, not at the end.
			once.Do(func() { close(third); <-killDone })
		}
	}
	var res *client.SubmitResult
	var subErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		res, subErr = s.c.Submit(bg, big, client.SubmitOptions{Progress: progress})
	}()
	select {
	case <-third:
	case <-done:
		t.Fatalf("the submission ended before a third was uploaded: %v", subErr)
	}
	before := s.checkpoint(t)
	s.srv.kill()
	mu.Lock()
	killed = true
	mu.Unlock()
	close(killDone)
	s.srv = serveAt(t, s.bin, s.data, s.addr)
	after := s.checkpoint(t)
	<-done

	if subErr != nil {
		t.Fatalf("Submit across the restart: %v\nserver log:\n%s", subErr, s.srv.stderr)
	}
	if !res.Verified {
		t.Fatal("receipt not verified")
	}
	mu.Lock()
	defer mu.Unlock()
	if low <= 0 {
		t.Fatalf("after the restart the upload went back to %d: it restarted instead of resuming", low)
	}
	if pos != total {
		t.Fatalf("upload progress ends at %d, want %d", pos, total)
	}
	t.Logf("killed with a third sent; resumed from byte %d of %d (%d rewinds)", low, total, rewinds)

	// The log before the crash is a prefix of the log after it.
	if err := s.c.VerifyConsistency(bg, before, after); err != nil {
		t.Fatalf("consistency %d → %d across the crash: %v", before.Size, after.Size, err)
	}
	r, rcp := s.receiptCheckpoint(t, res.Receipt)
	if err := s.c.VerifyConsistency(bg, before, rcp); err != nil {
		t.Fatalf("consistency %d → receipt's %d: %v", before.Size, rcp.Size, err)
	}
	if n := s.acceptances(t, r.MessageID, rcp.Size); n != 1 {
		t.Fatalf("%d acceptances of %s in the log, want 1", n, r.MessageID)
	}
	again, err := s.c.Submit(bg, big, client.SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Receipt.Marshal(), res.Receipt.Marshal()) {
		t.Fatal("a second submit of the batch returned another receipt")
	}
}

// TestCrashAfterLastByte kills the server as soon as the big file is
// complete on its disk, before the submission is completed, and restarts
// it: POST /complete alone must check and store the file and issue the one
// receipt, whatever the server had done of that when it died.
func TestCrashAfterLastByte(t *testing.T) {
	s := newCrashSetup(t)
	data := content("last", crashFileSize)
	big := batchDir(t, s.code, 2, map[string][]byte{"TXN.csv": data})
	id := s.code + "_20250301_2"
	before := s.checkpoint(t)

	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	var subErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, subErr = s.c.Submit(ctx, big, client.SubmitOptions{})
	}()
	// Watch the staging directory for the upload's state to say complete.
	staging := filepath.Join(s.data, "blobs", filepath.FromSlash(upload.StagingSubdir))
	sawComplete := false
	for !sawComplete && !isDone(done) {
		entries, _ := os.ReadDir(staging)
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".info") {
				if b, err := os.ReadFile(filepath.Join(staging, e.Name())); err == nil && bytes.Contains(b, []byte(`"complete":true`)) {
					sawComplete = true
				}
			}
		}
	}
	s.srv.kill()
	cancel()
	<-done
	state := "the server had finished before the kill"
	if sawComplete {
		state = "killed with the upload complete on disk"
	}
	s.srv = serveAt(t, s.bin, s.data, s.addr)
	after := s.checkpoint(t)

	view, err := s.c.Submission(bg, id)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s; first submit: %v; after the restart the submission is %s, file done %v", state, subErr, view.Status, view.Files[0].Done)

	// Only /complete: no byte is sent again.
	v, err := s.c.Complete(bg, id)
	if err != nil {
		t.Fatalf("complete after the restart: %v\nserver log:\n%s", err, s.srv.stderr)
	}
	if v.Status != ronghe.SubmissionAccepted || !v.Files[0].Done || len(v.Receipt) == 0 {
		t.Fatalf("complete after the restart: %s, files %+v", v.Status, v.Files)
	}
	doc, err := s.c.Receipt(bg, id)
	if err != nil {
		t.Fatal(err)
	}
	r, rcp := s.receiptCheckpoint(t, doc)
	if err := s.c.VerifyConsistency(bg, before, after); err != nil {
		t.Fatalf("consistency across the crash: %v", err)
	}
	if err := s.c.VerifyConsistency(bg, before, rcp); err != nil {
		t.Fatalf("consistency to the receipt's checkpoint: %v", err)
	}
	if n := s.acceptances(t, id, rcp.Size); n < 1 {
		t.Fatalf("no acceptance of %s in the log", id)
	} else {
		t.Logf("%d acceptance event(s) of %s in the log; the receipt names index %d", n, id, r.LogIndex)
	}
	// The one receipt, however it is asked for.
	res, err := s.c.Submit(bg, big, client.SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.c.Complete(bg, id)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(res.Receipt.Marshal(), doc.Marshal()) || !bytes.Equal(again.Receipt, doc.Marshal()) {
		t.Fatal("another receipt after the first")
	}
	if subErr != nil && !errors.Is(subErr, context.Canceled) && ronghe.ErrorCode(subErr) != ronghe.EUNAVAILABLE {
		t.Fatalf("the interrupted submit failed with %v", subErr)
	}
}

func isDone(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
