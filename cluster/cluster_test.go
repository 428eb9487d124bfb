package cluster

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/pki"
	"github.com/ronghe/ronghe/sqlstore"
	"github.com/ronghe/ronghe/tlog"
)

// The node is what the exchange and tlog.Record use as their log.
var (
	_ interface {
		Append(context.Context, []byte) (uint64, error)
		AwaitCheckpoint(context.Context, uint64) ([]byte, uint64, error)
		InclusionProof(context.Context, uint64, uint64) ([][]byte, error)
	} = (*Node)(nil)
	_ tlog.Appender = (*Node)(nil)
)

// TestOneWriterManyCallers: two nodes on one database and one log
// directory; one leads, the other forwards; many concurrent appends through
// both get distinct indices and verifiable receipts, consistent with the log.
func TestOneWriterManyCallers(t *testing.T) {
	h := newHarness(t)
	a := h.start("node-a")
	waitFor(t, "node-a to lead", a.Leading)
	b := h.start("node-b")
	row := h.row()
	if row.Node != "node-a" || row.Addr != a.Addr() || row.Term != 1 {
		t.Fatalf("registry = %+v, want node-a at %s in term 1", row, a.Addr())
	}

	const callers, each = 16, 10
	recs := make([]rec, callers*each)
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for c := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := a
			if c%2 == 1 {
				n = b
			}
			for i := range each {
				k := c*each + i
				r, err := record(context.Background(), n, testLeaf(k))
				if err != nil {
					errs <- err
					return
				}
				recs[k] = r
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if b.Leading() {
		t.Fatal("node-b leads while node-a is alive")
	}
	if r := h.row(); r.Term != 1 || r.Node != "node-a" {
		t.Fatalf("leadership changed without a failure: %+v", r)
	}
	h.checkRecords(recs)
	// The follower answered AwaitCheckpoint and InclusionProof from the
	// leader's verified record answer and kept nothing afterwards.
	if len(b.cache.m) != 0 {
		t.Errorf("follower cache holds %d records after use", len(b.cache.m))
	}
}

// TestFailoverWhenTheLockSessionDies: the leader's database session dies
// while its process lives (network, database restart). The follower wins the
// lock and claims a new term, but cannot open the log until the old leader,
// seeing the newer term, steps down and closes it; then it leads, the old
// leader forwards to it, and the log stays one consistent history. At no
// moment do both lead.
func TestFailoverWhenTheLockSessionDies(t *testing.T) {
	h := newHarness(t)
	a := h.start("node-a", func(c *Config) { c.CheckInterval = 200 * time.Millisecond })
	waitFor(t, "node-a to lead", a.Leading)
	b := h.start("node-b")

	var recs []rec
	add := func(n *Node, k int) {
		t.Helper()
		r, err := record(context.Background(), n, testLeaf(k))
		if err != nil {
			t.Fatalf("record %d via %s: %v", k, n.ID(), err)
		}
		recs = append(recs, r)
	}
	for k := range 6 {
		add([]*Node{a, b}[k%2], k)
	}

	var both atomic.Bool
	stop := make(chan struct{})
	monitored := make(chan struct{})
	go func() {
		defer close(monitored)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if a.Leading() && b.Leading() {
				both.Store(true)
			}
		}
	}()
	// Each kill gives node-b the free lock; node-a may also re-take it first
	// (it is the same process, still able to lead), so kill until node-b wins.
	waitFor(t, "node-b to take over", func() bool {
		if b.Leading() {
			return true
		}
		if h.row().Node == "node-a" {
			h.killLockSession()
			time.Sleep(100 * time.Millisecond)
		}
		return false
	})
	close(stop)
	<-monitored
	if both.Load() {
		t.Fatal("both nodes led at the same moment")
	}
	if a.Leading() {
		t.Fatal("node-a still leads")
	}
	row := h.row()
	if row.Node != "node-b" || row.Addr != b.Addr() || row.Term < 2 {
		t.Fatalf("registry = %+v, want node-b at %s in a later term", row, b.Addr())
	}
	for k := 6; k < 12; k++ {
		add([]*Node{a, b}[k%2], k)
	}
	h.checkRecords(recs)
}

// TestLockSessionLostWithoutRival: a leader whose lock session dies while no
// other node runs takes the lock again under a new session and keeps its
// term; nothing is interrupted.
func TestLockSessionLostWithoutRival(t *testing.T) {
	h := newHarness(t)
	a := h.start("node-a")
	waitFor(t, "node-a to lead", a.Leading)
	r0, err := record(context.Background(), a, testLeaf(0))
	if err != nil {
		t.Fatal(err)
	}
	killed := h.killLockSession()
	if killed == 0 {
		t.Fatal("no session holds the lock")
	}
	waitFor(t, "node-a to hold the lock under a new session", func() bool {
		pid, held := h.lockHolder()
		return held && pid != killed
	})
	if !a.Leading() || h.row().Term != 1 {
		t.Fatalf("leading=%v registry=%+v; want node-a still leading term 1", a.Leading(), h.row())
	}
	r1, err := record(context.Background(), a, testLeaf(1))
	if err != nil {
		t.Fatal(err)
	}
	h.checkRecords([]rec{r0, r1})
}

// TestGracefulHandoverAndReResolve: three nodes; the leader shuts down. One
// follower takes over; the other, whose cached leader is gone, re-reads the
// registry and forwards to the new one.
func TestGracefulHandoverAndReResolve(t *testing.T) {
	h := newHarness(t)
	a := h.start("node-a")
	waitFor(t, "node-a to lead", a.Leading)
	b := h.start("node-b")
	c := h.start("node-c")
	var recs []rec
	for k, n := range []*Node{b, c, a} {
		r, err := record(context.Background(), n, testLeaf(k))
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	// Both followers still have node-a cached; the calls below find it gone
	// (connection refused), re-resolve and wait for the new leader.
	for k := 3; k < 9; k++ {
		r, err := record(context.Background(), []*Node{b, c}[k%2], testLeaf(k))
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	if b.Leading() == c.Leading() {
		t.Fatalf("node-b leading=%v, node-c leading=%v; want exactly one", b.Leading(), c.Leading())
	}
	if r := h.row(); r.Term != 2 || r.Node == "node-a" {
		t.Fatalf("registry = %+v, want term 2 led by node-b or node-c", r)
	}
	h.checkRecords(recs)
}

// TestForeignLogDirectoryRefused: a node whose log directory is not the
// shared one wins the election after the leader leaves, but its log does not
// extend the history the cluster recorded, so it refuses to lead (it signs
// nothing) and callers get EUNAVAILABLE; a node with the shared directory
// then takes over and the refused node forwards to it.
func TestForeignLogDirectoryRefused(t *testing.T) {
	h := newHarness(t)
	a := h.start("node-a")
	waitFor(t, "node-a to lead", a.Leading)
	var recs []rec
	for k := range 3 {
		r, err := record(context.Background(), a, testLeaf(k))
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	waitFor(t, "the leader to record its checkpoint", func() bool {
		cp := h.row().Checkpoint
		if cp == nil {
			return false
		}
		c, err := h.verifier.VerifyCheckpoint(cp)
		return err == nil && c.Size == 3
	})
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	foreign := t.TempDir()
	x := h.start("node-x", func(c *Config) {
		c.Log.Dir = foreign
		c.LeaderWait = 300 * time.Millisecond
	})
	waitFor(t, "node-x to try and refuse", func() bool { r := h.row(); return r.Node == "node-x" && r.Term >= 2 && r.Addr == "" })
	if x.Leading() {
		t.Fatal("node-x leads a log that is not the cluster's")
	}
	if _, err := x.Append(context.Background(), testLeaf(99)); ronghe.ErrorCode(err) != ronghe.EUNAVAILABLE {
		t.Fatalf("Append without a leader = %v, want EUNAVAILABLE", err)
	}
	y := h.start("node-y")
	waitFor(t, "node-y to lead", y.Leading)
	if x.Leading() {
		t.Fatal("node-x leads")
	}
	r, err := record(context.Background(), x, testLeaf(3))
	if err != nil {
		t.Fatal(err)
	}
	recs = append(recs, r)
	h.checkRecords(recs)
}

// TestInternalEndpointNeedsANodeCertificate: only a client presenting a
// node certificate of the platform CA reaches the internal endpoint; an
// institution's certificate, none, or a node certificate of another CA fail
// the TLS handshake. A node call for a term the callee does not lead is
// answered "not the leader" and changes nothing.
func TestInternalEndpointNeedsANodeCertificate(t *testing.T) {
	h := newHarness(t)
	a := h.start("node-a")
	waitFor(t, "node-a to lead", a.Leading)
	other, err := pki.LoadOrCreateCA(t.TempDir(), "Another CA")
	if err != nil {
		t.Fatal(err)
	}
	issue := func(is *pki.Issued, err error) []tls.Certificate {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		pair, err := tls.X509KeyPair(is.CertPEM, is.KeyPEM)
		if err != nil {
			t.Fatal(err)
		}
		return []tls.Certificate{pair}
	}
	post := func(certs []tls.Certificate, term int64, body string) (*http.Response, error) {
		cfg := &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: h.ca.Pool(), ServerName: "ignored", Certificates: certs,
			// The server's certificate names a node, not a host.
			InsecureSkipVerify: true}
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
		defer c.CloseIdleConnections()
		req, _ := http.NewRequest(http.MethodPost, "https://"+a.Addr()+pathRecord, strings.NewReader(body))
		req.Header.Set(TermHeader, strconv.FormatInt(term, 10))
		resp, err := c.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			resp.Body = io.NopCloser(strings.NewReader(string(b)))
		}
		return resp, err
	}
	body, _ := json.Marshal(recordRequest{Leaf: string(testLeaf(1))})
	for name, certs := range map[string][]tls.Certificate{
		"institution certificate":        issue(h.ca.IssueClient("B0001H13501001", "Bank", time.Hour)),
		"public server certificate":      issue(h.ca.IssueServer([]string{"127.0.0.1"}, time.Hour)),
		"node certificate of another CA": issue(other.IssueNode("node-z", time.Hour)),
		"no certificate":                 nil,
	} {
		if resp, err := post(certs, 1, string(body)); err == nil {
			t.Errorf("%s: reached the internal endpoint (HTTP %d)", name, resp.StatusCode)
		}
	}
	node := issue(h.ca.IssueNode("node-z", time.Hour))
	resp, err := post(node, 7, string(body))
	if err != nil {
		t.Fatal(err)
	}
	var e errorResponse
	if resp.StatusCode != http.StatusServiceUnavailable || json.NewDecoder(resp.Body).Decode(&e) != nil || !e.NotLeader {
		t.Fatalf("call for term 7: HTTP %d %+v, want 503 not_leader", resp.StatusCode, e)
	}
	resp, err = post(node, 1, `{"leaf":"not a leaf"}`)
	if err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("malformed leaf: %v %v, want HTTP 400", resp, err)
	}
	resp, err = post(node, 1, string(body))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("node call: %v %v", resp, err)
	}
	var rr recordResponse
	if err := json.NewDecoder(resp.Body).Decode(&rr); err != nil {
		t.Fatal(err)
	}
	// Only the one good call was logged.
	h.checkRecords([]rec{{leaf: testLeaf(1), index: rr.Index, checkpoint: rr.Checkpoint, size: rr.Size, proof: rr.Proof}})
	if rr.Index != 0 {
		t.Fatalf("the good call got index %d; refused calls were logged", rr.Index)
	}
}

// fakeLeader stands in for a leader at the address the registry names, so
// that a follower's handling of each kind of answer can be observed.
type fakeLeader struct {
	srv   *httptest.Server
	calls atomic.Int32
}

func (h *harness) fakeLeader(id string, answer func(w http.ResponseWriter, r *http.Request)) *fakeLeader {
	h.t.Helper()
	f := &fakeLeader{}
	is, err := h.ca.IssueNode(id, time.Hour)
	if err != nil {
		h.t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(is.CertPEM, is.KeyPEM)
	if err != nil {
		h.t.Fatal(err)
	}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		answer(w, r)
	}))
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	f.srv.TLS = &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{pair}, ClientAuth: tls.RequireAnyClientCert}
	f.srv.StartTLS()
	h.t.Cleanup(f.srv.Close)
	return f
}

// TestFollowerRetriesOnlyWhatIsSafe: with the lock held elsewhere and the
// registry naming a fake leader, a forwarded append that was sent but not
// answered fails with EUNAVAILABLE and is not sent again (it may have been
// logged); an answer "not the leader" is retried until LeaderWait; an
// idempotent call is retried after a broken connection; and an answer that
// does not verify is refused with EINTEGRITY.
func TestFollowerRetriesOnlyWhatIsSafe(t *testing.T) {
	h := newHarness(t)
	holder := h.openDB()
	release, ok, err := holder.TryLeader(context.Background(), LockName)
	if err != nil || !ok {
		t.Fatalf("TryLeader: %v %v", ok, err)
	}
	defer release()
	b := h.start("node-b", func(c *Config) { c.LeaderWait = 300 * time.Millisecond })

	point := func(f *fakeLeader, term int) {
		h.exec(`INSERT INTO cluster_leaders (role, term, node, addr, updated_at) VALUES ('tlog', $1, 'fake', $2, now())
			ON CONFLICT (role) DO UPDATE SET term = EXCLUDED.term, node = EXCLUDED.node, addr = EXCLUDED.addr`,
			term, f.srv.Listener.Addr().String())
	}
	hangUp := func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}

	f := h.fakeLeader("fake", hangUp)
	point(f, 1)
	_, err = b.Append(context.Background(), testLeaf(1))
	if ronghe.ErrorCode(err) != ronghe.EUNAVAILABLE || f.calls.Load() != 1 {
		t.Fatalf("append to a leader that hangs up: %v after %d calls; want EUNAVAILABLE after exactly 1", err, f.calls.Load())
	}
	_, _, err = b.AwaitCheckpoint(context.Background(), 0)
	if ronghe.ErrorCode(err) != ronghe.EUNAVAILABLE || f.calls.Load() < 3 {
		t.Fatalf("await on a leader that hangs up: %v after %d calls; want EUNAVAILABLE after retries", err, f.calls.Load())
	}

	// Each fake replaces the previous one, which goes away as a dead leader does.
	f.srv.Close()
	f = h.fakeLeader("fake", func(w http.ResponseWriter, r *http.Request) { writeNotLeader(w, "not me") })
	point(f, 2)
	_, err = b.Append(context.Background(), testLeaf(2))
	if ronghe.ErrorCode(err) != ronghe.EUNAVAILABLE || f.calls.Load() < 2 || !errors.Is(err, errNotLeader) {
		t.Fatalf("append to a node that is not the leader: %v after %d calls; want EUNAVAILABLE after retries", err, f.calls.Load())
	}

	f.srv.Close()
	f = h.fakeLeader("fake", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(TermHeader) != "3" {
			t.Errorf("term header %q, want 3", r.Header.Get(TermHeader))
		}
		writeJSON(w, http.StatusOK, recordResponse{Index: 0, Checkpoint: []byte("ronghe.test/log\n1\nAAAA\n\n— forged\n"), Size: 1})
	})
	point(f, 3)
	if _, err = b.Append(context.Background(), testLeaf(3)); ronghe.ErrorCode(err) != ronghe.EINTEGRITY || f.calls.Load() != 1 {
		t.Fatalf("append answered with a forged checkpoint: %v after %d calls; want EINTEGRITY after 1", err, f.calls.Load())
	}

	// A server that is not the node the registry names fails the handshake:
	// nothing is sent, so even an append is retried (until LeaderWait).
	f.srv.Close()
	f = h.fakeLeader("impostor", func(w http.ResponseWriter, r *http.Request) { t.Error("the impostor was called") })
	point(f, 4)
	if _, err = b.Append(context.Background(), testLeaf(4)); ronghe.ErrorCode(err) != ronghe.EUNAVAILABLE {
		t.Fatalf("append to an impostor: %v, want EUNAVAILABLE", err)
	}
	var nd *notDelivered
	if !errors.As(err, &nd) {
		t.Fatalf("append to an impostor: %v, want a call that was not delivered", err)
	}
}

// TestNeedsPostgreSQL: with the embedded SQLite store there is no cluster.
func TestNeedsPostgreSQL(t *testing.T) {
	db, err := sqlstore.Open(context.Background(), "sqlite:"+t.TempDir()+"/meta.db")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = Start(context.Background(), Config{DB: db, NodeID: "a", Listen: "127.0.0.1:0"})
	if ronghe.ErrorCode(err) != ronghe.EUNSUPPORTED {
		t.Fatalf("Start on SQLite = %v, want EUNSUPPORTED", err)
	}
}

func TestRecordCacheIsBounded(t *testing.T) {
	c := recordCache{max: 4}
	for i := range uint64(100) {
		c.put(i, cachedRecord{size: i + 1})
		if i%3 == 1 {
			c.remove(i)
		}
	}
	if len(c.m) > 4 || len(c.order) > 8 {
		t.Fatalf("cache holds %d records and %d order entries", len(c.m), len(c.order))
	}
	if r, ok := c.get(99); !ok || r.size != 100 {
		t.Fatalf("latest record lost: %+v %v", r, ok)
	}
	if _, ok := c.get(0); ok {
		t.Fatal("oldest record kept")
	}
}

// TestNodeCertificateRenewal: the node's certificate is reissued in memory
// once two thirds of its validity have passed, so a node that runs for
// longer than the validity never presents an expired certificate.
func TestNodeCertificateRenewal(t *testing.T) {
	ca, err := pki.LoadOrCreateCA(t.TempDir(), "Ronghe test CA")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s := &certSource{ca: ca, id: "node-a", validity: 3 * time.Hour, now: func() time.Time { return now }}
	first, err := s.get()
	if err != nil {
		t.Fatal(err)
	}
	if id, err := pki.NodeOf(first.Leaf); err != nil || id != "node-a" {
		t.Fatalf("certificate names %q, %v", id, err)
	}
	now = now.Add(119 * time.Minute)
	if again, _ := s.get(); again != first {
		t.Fatal("certificate reissued before two thirds of its validity")
	}
	now = now.Add(2 * time.Minute)
	renewed, err := s.get()
	if err != nil {
		t.Fatal(err)
	}
	if renewed == first || renewed.Leaf.SerialNumber.Cmp(first.Leaf.SerialNumber) == 0 {
		t.Fatal("certificate not reissued after two thirds of its validity")
	}
}
