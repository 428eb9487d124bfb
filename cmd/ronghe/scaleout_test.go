package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	tclient "github.com/transparency-dev/tessera/client"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/blobstore"
	"github.com/ronghe/ronghe/client"
	"github.com/ronghe/ronghe/envelope"
	"github.com/ronghe/ronghe/evidence"
	"github.com/ronghe/ronghe/exchange"
	"github.com/ronghe/ronghe/pki"
	"github.com/ronghe/ronghe/sqlstore/sqltest"
	"github.com/ronghe/ronghe/tlog"
	tlogclient "github.com/ronghe/ronghe/tlog/client"
)

// TestScaleOut runs the production topology: two `ronghe serve` processes on
// one PostgreSQL database (a fresh schema), one S3 object store (gofakes3,
// in process) and one log directory (standing for a shared volume), with the
// same keys, CA and key-encryption key, each with its own upload staging
// directory. Three banks submit 60 real RRS-1 batches concurrently,
// alternating servers, some to both servers at once. Then the log writer is
// killed with SIGKILL while the banks keep submitting through the survivor.
//
// It shows: every batch has exactly one receipt, the same from either
// server, and it verifies; receipts' log indices are distinct; the log's
// submission.accepted leaves cover every batch and only them; every receipt's
// checkpoint is consistent with the final checkpoint; the survivor takes the
// log over and receipts continue on the same history; every file is in S3,
// encrypted, and decrypts to what the bank sent.
func TestScaleOut(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs two servers")
	}
	dsn := sqltest.Postgres(t)
	bin := soBuild(t)
	ctx := context.Background()

	// The object store: S3 API in process, credentials from the environment
	// as in production (gofakes3 does not check them).
	mem := s3mem.New()
	s3srv := httptest.NewServer(gofakes3.New(mem).Server())
	t.Cleanup(s3srv.Close)
	if err := mem.CreateBucket("ronghe"); err != nil {
		t.Fatal(err)
	}
	blobURL := "s3://ronghe?endpoint=" + s3srv.URL + "&region=us-east-1&use_path_style=true"
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "ronghe-test", "AWS_SECRET_ACCESS_KEY": "ronghe-test-secret",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
	} {
		t.Setenv(k, v)
	}

	work := t.TempDir()
	data := filepath.Join(work, "platform") // keys, CA, KEK: shared by both servers
	logDir := filepath.Join(work, "shared-log")
	region := filepath.Join(work, "region")
	soRun(t, bin, "gen", "--out", region, "--institutions", "3", "--enterprises", "40", "--people", "20", "--days", "25", "--json")
	batches, err := batchDirs(region)
	if err != nil {
		t.Fatal(err)
	}
	var regionInfo struct {
		Institutions []struct{ Code, Name string } `json:"institutions"`
	}
	if b, err := os.ReadFile(filepath.Join(region, "region.json")); err != nil {
		t.Fatal(err)
	} else if err := json.Unmarshal(b, &regionInfo); err != nil {
		t.Fatal(err)
	}
	if len(regionInfo.Institutions) != 3 {
		t.Fatalf("region has %d institutions", len(regionInfo.Institutions))
	}

	// Onboard the banks once, against the shared database and data directory.
	var banks []string
	profiles := map[string]*client.Profile{}
	for i, inst := range regionInfo.Institutions {
		suiteName := "GM"
		if i == 2 {
			suiteName = "INTL"
		}
		out := filepath.Join(work, "profiles", inst.Code)
		soRun(t, bin, "admin", "institution", "add", "--data", data, "--database", dsn, "--code", inst.Code, "--name", inst.Name,
			"--suite", suiteName, "--server", "https://placeholder.invalid", "--out", out, "--json")
		prof, err := client.LoadProfile(out)
		if err != nil {
			t.Fatal(err)
		}
		banks = append(banks, inst.Code)
		profiles[inst.Code] = prof
		if len(batches[inst.Code]) != 25 {
			t.Fatalf("bank %s has %d batches, want 25", inst.Code, len(batches[inst.Code]))
		}
	}

	servers := map[string]*soServer{}
	for _, name := range []string{"node-a", "node-b"} {
		servers[name] = soStartServer(t, bin, name, "serve", "--data", data, "--database", dsn, "--blob", blobURL,
			"--uploads", filepath.Join(work, "uploads-"+name), "--log-dir", logDir, "--listen", "127.0.0.1:0",
			"--node-id", name, "--cluster-listen", "127.0.0.1:0")
	}
	clients := map[string]map[string]*client.Client{} // server → bank → client
	for name, s := range servers {
		clients[name] = map[string]*client.Client{}
		for _, bank := range banks {
			p := *profiles[bank]
			p.Server = s.url
			c, err := client.New(&p)
			if err != nil {
				t.Fatal(err)
			}
			clients[name][bank] = c
		}
	}
	leader, term0 := soLeader(t, dsn)
	if servers[leader] == nil || term0 < 1 {
		t.Fatalf("registry names leader %q in term %d", leader, term0)
	}
	t.Logf("log writer: %s (term %d)", leader, term0)

	// Phase 1: 60 batches (days 1-20 of three banks), 12 at a time; batch i
	// goes to node-a or node-b in turn, and every tenth to both at once.
	type job struct {
		bank, dir string
		to        []string
	}
	var jobs []job
	for day := range 20 {
		for _, bank := range banks {
			i := len(jobs)
			to := []string{[]string{"node-a", "node-b"}[i%2]}
			if i%10 == 9 {
				to = []string{"node-a", "node-b"}
			}
			jobs = append(jobs, job{bank: bank, dir: batches[bank][day], to: to})
		}
	}
	results := &soResults{byMsg: map[string]*soResult{}}
	var wg sync.WaitGroup
	queue := make(chan job)
	var mu sync.Mutex
	var failures []string
	fail := func(format string, args ...any) {
		mu.Lock()
		failures = append(failures, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range queue {
				var jwg sync.WaitGroup
				docs := make([]*evidence.Signed, len(j.to))
				for k, server := range j.to {
					jwg.Add(1)
					go func() {
						defer jwg.Done()
						res, retries, err := soSubmit(ctx, clients[server][j.bank], j.dir)
						if err != nil {
							fail("%s via %s: %v", filepath.Base(j.dir), server, err)
							return
						}
						if len(retries) > 0 && len(j.to) == 1 {
							// With both servers healthy a batch sent to one of
							// them must go through at the first attempt.
							fail("%s via %s needed %d retries: %v", filepath.Base(j.dir), server, len(retries), retries)
						}
						docs[k] = res.Receipt
						results.add(t, j.bank, j.dir, res, server)
					}()
				}
				jwg.Wait()
				if len(docs) == 2 && docs[0] != nil && docs[1] != nil && !bytes.Equal(docs[0].Marshal(), docs[1].Marshal()) {
					fail("%s submitted to both servers got two different receipts", filepath.Base(j.dir))
				}
			}
		}()
	}
	for _, j := range jobs {
		queue <- j
	}
	close(queue)
	wg.Wait()
	for _, f := range failures {
		t.Error(f)
	}
	if t.Failed() {
		t.FailNow()
	}
	if l, term := soLeader(t, dsn); l != leader || term != term0 {
		t.Fatalf("leadership moved without a failure: %s term %d, was %s term %d", l, term, leader, term0)
	}
	soCheck(t, results, profiles, servers, logDir, blobURL, data)

	// Phase 2: the banks keep submitting (days 21-25) through the process
	// that does not write the log; once a few are in, the writer is killed.
	survivor := "node-a"
	if leader == "node-a" {
		survivor = "node-b"
	}
	done := make(chan struct{}, 100)
	var swg sync.WaitGroup
	for _, bank := range banks {
		for day := 20; day < 25; day++ {
			swg.Add(1)
			go func() {
				defer swg.Done()
				dir := batches[bank][day]
				res, retries, err := soSubmit(ctx, clients[survivor][bank], dir)
				if err != nil {
					fail("%s via %s across the failover: %v", filepath.Base(dir), survivor, err)
					return
				}
				for _, e := range retries {
					t.Logf("%s: retried across the failover after: %s", filepath.Base(dir), describe(e))
				}
				results.add(t, bank, dir, res, survivor)
				done <- struct{}{}
			}()
		}
	}
	streamed := make(chan struct{})
	go func() { swg.Wait(); close(streamed) }()
	for n := 0; n < 3; n++ {
		select {
		case <-done:
		case <-streamed:
			n = 3
		}
	}
	servers[leader].kill(t)
	t.Logf("killed the log writer %s with SIGKILL", leader)
	<-streamed
	for _, f := range failures {
		t.Error(f)
	}
	if t.Failed() {
		t.FailNow()
	}
	// The submissions may all have been receipted before the kill; then
	// nothing forced a takeover yet, and the survivor wins the lock at its
	// next campaign. Wait for that rather than read the registry at once.
	newLeader, term1 := soLeader(t, dsn)
	for deadline := time.Now().Add(30 * time.Second); (newLeader != survivor || term1 <= term0) && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		newLeader, term1 = soLeader(t, dsn)
	}
	if newLeader != survivor || term1 <= term0 {
		t.Fatalf("after the failover the registry names %s in term %d; want %s in a term after %d", newLeader, term1, survivor, term0)
	}
	t.Logf("log writer after the failover: %s (term %d)", newLeader, term1)
	if testing.Verbose() {
		servers[survivor].logLines(t, "cluster:", "unavailable")
	}
	if n := len(results.byMsg); n != 75 {
		t.Fatalf("%d batches have receipts, want 75", n)
	}
	delete(servers, leader)
	soCheck(t, results, profiles, servers, logDir, blobURL, data)
}

// soResult is one batch's outcome as its bank saw it.
type soResult struct {
	bank, dir string
	receipt   *evidence.Signed // as Submit returned and verified it
	via       []string
}

type soResults struct {
	mu    sync.Mutex
	byMsg map[string]*soResult
}

// add records a receipt Submit verified; a second one for the same message
// (a batch sent to both servers) must be the same document.
func (r *soResults) add(t *testing.T, bank, dir string, res *client.SubmitResult, via string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	msg := res.Manifest.MessageID
	if prev, ok := r.byMsg[msg]; ok {
		if !bytes.Equal(prev.receipt.Marshal(), res.Receipt.Marshal()) {
			t.Errorf("%s: a second, different receipt via %s", msg, via)
		}
		prev.via = append(prev.via, via)
		return
	}
	r.byMsg[msg] = &soResult{bank: bank, dir: dir, receipt: res.Receipt, via: []string{via}}
}

// soSubmit submits a batch as a bank's operator would, running `submit`
// again while the platform answers "retry later" (EUNAVAILABLE, e.g. during a
// log failover) or reports that another upload carries a file (ECONFLICT,
// when the same batch is being sent to the other server at the same time).
// It returns the errors it retried after.
func soSubmit(ctx context.Context, c *client.Client, dir string) (*client.SubmitResult, []error, error) {
	var retried []error
	for attempt := 0; ; attempt++ {
		res, err := c.Submit(ctx, dir, client.SubmitOptions{})
		if err == nil {
			if !res.Verified {
				return nil, retried, fmt.Errorf("receipt of %s not verified", dir)
			}
			return res, retried, nil
		}
		if code := ronghe.ErrorCode(err); attempt >= 40 || code != ronghe.EUNAVAILABLE && code != ronghe.ECONFLICT {
			return nil, retried, err
		}
		retried = append(retried, err)
		time.Sleep(time.Duration(min(attempt+1, 10)) * 100 * time.Millisecond)
	}
}

// soCheck checks everything the servers still running say, and the shared
// log and object store, against the receipts the banks hold.
func soCheck(t *testing.T, results *soResults, profiles map[string]*client.Profile, servers map[string]*soServer, logDir, blobURL, data string) {
	t.Helper()
	ctx := context.Background()
	var info *ronghe.PlatformInfo
	for _, p := range profiles {
		info = p.Pinned // the same platform identity, pinned by every bank
	}
	lv, err := tlogclient.NewLogVerifier(info.LogOrigin, info.LogVerifiers[0], info.LogVerifiers[1])
	if err != nil {
		t.Fatal(err)
	}

	// One receipt per batch, the same from every server, verifying, with
	// distinct log indices.
	receipts := map[string]*evidence.Receipt{}
	byIndex := map[uint64]string{}
	var largest uint64
	for msg, r := range results.byMsg {
		var first []byte
		for name, s := range servers {
			raw := soGet(t, profiles[r.bank], s.url+"/v1/submissions/"+msg+"/receipt")
			if first == nil {
				first = raw
			} else if !bytes.Equal(raw, first) {
				t.Fatalf("%s: the servers return different receipt bytes (%s differs)", msg, name)
			}
		}
		doc, err := evidence.Parse(first)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(doc.Marshal(), r.receipt.Marshal()) {
			t.Fatalf("%s: the stored receipt is not the one the bank received", msg)
		}
		rc, err := client.VerifyReceipt(doc, profiles[r.bank].Pinned)
		if err != nil {
			t.Fatalf("%s: %v", msg, err)
		}
		if other, dup := byIndex[rc.LogIndex]; dup {
			t.Fatalf("%s and %s have the same log index %d", msg, other, rc.LogIndex)
		}
		byIndex[rc.LogIndex] = msg
		receipts[msg] = rc
		cp, err := lv.VerifyCheckpoint(rc.Checkpoint)
		if err != nil {
			t.Fatal(err)
		}
		largest = max(largest, cp.Size)
	}

	// The final checkpoint, as a bank fetches it, and every receipt's
	// checkpoint consistent with it: one history, no fork.
	// Through every running server — the writer and the others, which serve
	// the tiles from the shared directory — the log's checkpoint verifies and
	// every receipt's checkpoint is consistent with it.
	var banks []string
	for bank := range profiles {
		banks = append(banks, bank)
	}
	sort.Strings(banks)
	v, err := client.NewVerifier(info)
	if err != nil {
		t.Fatal(err)
	}
	var final tlogclient.Checkpoint
	for name, s := range servers {
		q := *profiles[banks[0]]
		q.Server = s.url
		c, err := client.New(&q)
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(time.Minute)
		for {
			if final, _, err = c.Checkpoint(ctx, v); err != nil {
				t.Fatalf("checkpoint from %s: %v", name, err)
			}
			if final.Size >= largest {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the checkpoint %s publishes stays at %d, receipts name %d", name, final.Size, largest)
			}
			time.Sleep(20 * time.Millisecond)
		}
		for msg, rc := range receipts {
			cp, _ := lv.VerifyCheckpoint(rc.Checkpoint)
			if err := c.VerifyConsistency(ctx, cp, final); err != nil {
				t.Fatalf("%s: receipt checkpoint (size %d) vs %s's checkpoint (size %d): %v", msg, cp.Size, name, final.Size, err)
			}
		}
	}

	// The leaves: every batch's acceptance is logged, at the index of its
	// receipt; nothing else is logged as accepted. A batch finalised by both
	// servers at once, or whose append was answered by a writer that died
	// before the answer arrived, may have a second acceptance leaf: the
	// same event again, harmless, and never a second receipt.
	f := tclient.FileFetcher{Root: logDir}
	accepted := map[string][]uint64{}
	leafAt := map[uint64][]byte{}
	for b := uint64(0); b*256 < final.Size; b++ {
		bundle, err := tclient.GetEntryBundle(ctx, f.ReadEntryBundle, b, final.Size)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range bundle.Entries {
			idx := b*256 + uint64(i)
			ev, err := tlog.ParseLeaf(e)
			if err != nil {
				t.Fatalf("log entry %d: %v", idx, err)
			}
			leafAt[idx] = e
			if ev.Kind == tlog.KindSubmissionAccepted {
				accepted[ev.Tenant+"/"+ev.MessageID] = append(accepted[ev.Tenant+"/"+ev.MessageID], idx)
			}
		}
	}
	extra := 0
	for msg, rc := range receipts {
		if !bytes.Equal(leafAt[rc.LogIndex], rc.Leaf) {
			t.Fatalf("%s: log entry %d is %q, the receipt says %q", msg, rc.LogIndex, leafAt[rc.LogIndex], rc.Leaf)
		}
		extra += len(accepted[rc.Sender+"/"+msg]) - 1
	}
	for key := range accepted {
		if _, ok := receipts[strings.SplitN(key, "/", 2)[1]]; !ok {
			t.Fatalf("the log accepts %s, which has no receipt", key)
		}
	}
	t.Logf("%d receipts, %d log entries, %d second acceptance leaves (a batch finalised by both servers at once, or an append whose answer was lost with the writer)", len(receipts), final.Size, extra)

	// Every file is in S3, encrypted, and decrypts to what the bank sent.
	kek, err := envelope.LoadOrCreateLocalKEK(filepath.Join(data, "keys", "kek.key"))
	if err != nil {
		t.Fatal(err)
	}
	bs, err := blobstore.Open(ctx, blobURL, blobstore.WithKEK(kek))
	if err != nil {
		t.Fatal(err)
	}
	defer bs.Close()
	for msg, r := range results.byMsg {
		src, err := client.OpenSource(r.dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, sf := range src.Files {
			want, err := os.ReadFile(filepath.Join(r.dir, sf.Name))
			if err != nil {
				t.Fatal(err)
			}
			key := exchange.BlobKey(r.bank, msg, sf.Name)
			rd, err := bs.Get(ctx, key)
			if err != nil {
				t.Fatalf("%s: %v", key, err)
			}
			got, err := io.ReadAll(rd)
			rd.Close()
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("%s: decrypted %d bytes (%v), want the %d bytes sent", key, len(got), err, len(want))
			}
			raw, err := bs.OpenRaw(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			ct, _ := io.ReadAll(raw)
			raw.Close()
			if bytes.Contains(ct, want[:min(len(want), 64)]) {
				t.Fatalf("%s is stored in the clear", key)
			}
		}
		src.Close()
	}
}

// soGet fetches a tenant resource with the bank's client certificate and
// returns the exact bytes served.
func soGet(t *testing.T, p *client.Profile, url string) []byte {
	t.Helper()
	cfg, err := pki.ClientTLS(p.CAPEM, p.CertPEM, p.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: time.Minute}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d %s %v", url, resp.StatusCode, b, err)
	}
	return b
}

// soLeader returns the log writer named in the registry once one serves.
func soLeader(t *testing.T, dsn string) (string, int64) {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(time.Minute)
	for {
		var node string
		var term int64
		err := db.QueryRowContext(context.Background(), `SELECT node, term FROM cluster_leaders WHERE role = 'tlog' AND addr <> ''`).Scan(&node, &term)
		if err == nil {
			return node, term
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log writer registered: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// soBuild builds the binary under test.
func soBuild(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ronghe")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// soRun runs a command to completion and fails the test if it fails.
func soRun(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ronghe %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return out
}

// soServer is one `ronghe serve` process.
type soServer struct {
	name, url string
	cmd       *exec.Cmd
	logPath   string
	exited    chan struct{}
	waitErr   error
	killed    bool
}

// lineWriter hands the lines a process writes to a channel.
type lineWriter struct {
	mu    sync.Mutex
	buf   []byte
	lines chan<- string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		select {
		case w.lines <- string(w.buf[:i]):
		default:
		}
		w.buf = w.buf[i+1:]
	}
}

func soStartServer(t *testing.T, bin, name string, args ...string) *soServer {
	t.Helper()
	s := &soServer{name: name, logPath: filepath.Join(t.TempDir(), name+".log"), exited: make(chan struct{})}
	logf, err := os.Create(s.logPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 16)
	s.cmd = exec.Command(bin, args...)
	s.cmd.Stdout = &lineWriter{lines: lines}
	s.cmd.Stderr = logf
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		logf.Close()
		close(s.exited)
	}()
	t.Cleanup(func() {
		if !s.killed {
			_ = s.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.exited:
				if s.waitErr != nil {
					t.Errorf("%s did not shut down cleanly: %v", name, s.waitErr)
				}
			case <-time.After(time.Minute):
				_ = s.cmd.Process.Kill()
				<-s.exited
				t.Errorf("%s did not stop on SIGTERM", name)
			}
		}
		if t.Failed() {
			s.logTail(t)
		}
	})
	timeout := time.After(2 * time.Minute)
	for s.url == "" {
		select {
		case l := <-lines:
			if _, rest, ok := strings.Cut(l, "listening on "); ok {
				s.url = strings.Fields(rest)[0]
			}
		case <-s.exited:
			s.logTail(t)
			t.Fatalf("%s exited: %v", name, s.waitErr)
		case <-timeout:
			s.logTail(t)
			t.Fatalf("%s did not start", name)
		}
	}
	return s
}

// kill ends the process with SIGKILL: no shutdown, no final checkpoint, its
// database session and file locks dropped by the kernel.
func (s *soServer) kill(t *testing.T) {
	t.Helper()
	s.killed = true
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-s.exited
}

// logLines logs the lines of the server's log that contain any of words.
func (s *soServer) logLines(t *testing.T, words ...string) {
	b, _ := os.ReadFile(s.logPath)
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		for _, w := range words {
			if strings.Contains(l, w) {
				out = append(out, l)
				break
			}
		}
	}
	t.Logf("%s's log:\n%s", s.name, strings.Join(out, "\n"))
}

func (s *soServer) logTail(t *testing.T) {
	b, _ := os.ReadFile(s.logPath)
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) > 60 {
		lines = lines[len(lines)-60:]
	}
	t.Logf("last lines of %s's log:\n%s", s.name, strings.Join(lines, "\n"))
}
