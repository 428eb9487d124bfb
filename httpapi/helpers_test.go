package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/envelope"
	"github.com/ronghe/ronghe/evidence"
	"github.com/ronghe/ronghe/exchange/upload"
	"github.com/ronghe/ronghe/pki"
	"github.com/ronghe/ronghe/tlog"
)

// Test institutions.
const (
	instA = "B0001H24401010"
	instB = "B0002H24401010"
)

// fakeInstitutions is an in-memory certificate and institution registry for
// the HTTP-mapping tests.
type fakeInstitutions struct {
	mu    sync.Mutex
	certs map[string]*ronghe.Certificate
	insts map[string]*ronghe.Institution
	err   error // returned by FindCertificate when set
}

func (f *fakeInstitutions) FindInstitution(_ context.Context, code string) (*ronghe.Institution, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i, ok := f.insts[code]; ok {
		return i, nil
	}
	return nil, ronghe.Errorf(ronghe.ENOTFOUND, "no institution %s", code)
}

func (f *fakeInstitutions) FindCertificate(_ context.Context, serial string) (*ronghe.Certificate, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	if c, ok := f.certs[serial]; ok {
		cp := *c
		return &cp, nil
	}
	return nil, ronghe.Errorf(ronghe.ENOTFOUND, "no certificate %s", serial)
}

// fakeExchange keeps submissions and mailboxes in memory, checks files
// against SHA-256 digests read back from the upload store, and issues a fixed
// receipt. It is only as faithful as the HTTP mapping needs.
type fakeExchange struct {
	mu      sync.Mutex
	store   *upload.Store
	subs    map[string]*ronghe.Submission // tenant/messageID
	mailbox map[string]*ronghe.MailboxMessage
	calls   []string
	panicOn string
	// failUploads makes that many FileUploaded calls fail as unavailable,
	// as if the server stopped right after storing the last byte.
	failUploads int
}

func newFakeExchange(store *upload.Store) *fakeExchange {
	return &fakeExchange{store: store, subs: map[string]*ronghe.Submission{}, mailbox: map[string]*ronghe.MailboxMessage{}}
}

func (f *fakeExchange) Submit(_ context.Context, tenant string, manifest, signature []byte) (*ronghe.Submission, error) {
	if f.panicOn == "Submit" {
		panic("boom: secret internal state")
	}
	var m ronghe.Manifest
	if err := json.Unmarshal(manifest, &m); err != nil {
		return nil, ronghe.Errorf(ronghe.EINVALID, "malformed manifest")
	}
	if m.Sender != tenant {
		return nil, ronghe.Errorf(ronghe.EFORBIDDEN, "manifest sender %q is not the authenticated institution %q", m.Sender, tenant)
	}
	if string(signature) != "good signature" {
		return nil, ronghe.Errorf(ronghe.EINTEGRITY, "signature does not verify")
	}
	if m.MessageID == "internal" {
		return nil, errors500
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	digest := sha256.Sum256(manifest)
	if s, ok := f.subs[tenant+"/"+m.MessageID]; ok {
		if !bytes.Equal(s.ManifestDigest, digest[:]) {
			return nil, ronghe.Errorf(ronghe.ECONFLICT, "message %s was already submitted with a different manifest", m.MessageID)
		}
		return clone(s), nil
	}
	s := &ronghe.Submission{Tenant: tenant, MessageID: m.MessageID, Manifest: manifest, ManifestDigest: digest[:], Signature: signature,
		KeyID: m.KeyID, Status: ronghe.SubmissionUploading, CreatedAt: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)}
	for _, file := range m.Files {
		s.Files = append(s.Files, ronghe.SubmissionFile{Name: file.Name, Size: file.Size, Digest: file.Digest})
	}
	f.subs[tenant+"/"+m.MessageID] = s
	return clone(s), nil
}

var errors500 = io.ErrClosedPipe // a foreign error: must surface as a generic 500

func clone(s *ronghe.Submission) *ronghe.Submission {
	c := *s
	c.Files = append([]ronghe.SubmissionFile(nil), s.Files...)
	return &c
}

func (f *fakeExchange) Submission(_ context.Context, tenant, id string) (*ronghe.Submission, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.subs[tenant+"/"+id]; ok {
		return clone(s), nil
	}
	return nil, ronghe.Errorf(ronghe.ENOTFOUND, "no submission %s", id)
}

func (f *fakeExchange) Finalize(ctx context.Context, tenant, id string) (*ronghe.Submission, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.subs[tenant+"/"+id]
	if !ok {
		return nil, ronghe.Errorf(ronghe.ENOTFOUND, "no submission %s", id)
	}
	for _, file := range s.Files {
		if !file.Done {
			return clone(s), nil
		}
	}
	if s.Status != ronghe.SubmissionAccepted {
		at := time.Date(2025, 3, 1, 10, 5, 0, 0, time.UTC)
		idx := uint64(7)
		s.Status, s.AcceptedAt, s.LogIndex = ronghe.SubmissionAccepted, &at, &idx
		payload, _ := json.Marshal(map[string]any{"type": evidence.TypeReceipt, "message_id": id, "sender": tenant})
		s.Receipt = (&evidence.Signed{Payload: payload, Signatures: []evidence.Signature{{KeyID: "k1", Suite: ronghe.SuiteINTL, Sig: []byte("sig")}}}).Marshal()
	}
	return clone(s), nil
}

func (f *fakeExchange) UploadStarted(_ context.Context, tenant, messageID, file, uploadID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "UploadStarted")
	s, ok := f.subs[tenant+"/"+messageID]
	if !ok {
		return ronghe.Errorf(ronghe.ENOTFOUND, "no submission %s", messageID)
	}
	for i := range s.Files {
		if s.Files[i].Name == file {
			s.Files[i].UploadID = uploadID
			return nil
		}
	}
	return ronghe.Errorf(ronghe.ENOTFOUND, "no file %s", file)
}

func (f *fakeExchange) FileUploaded(ctx context.Context, tenant, uploadID string) (*ronghe.Submission, error) {
	f.mu.Lock()
	f.calls = append(f.calls, "FileUploaded")
	if f.failUploads > 0 {
		f.failUploads--
		f.mu.Unlock()
		return nil, ronghe.Errorf(ronghe.EUNAVAILABLE, "metadata store unavailable")
	}
	f.mu.Unlock()
	res, err := f.store.Completed(ctx, uploadID)
	if err != nil {
		return nil, err
	}
	if res.Tenant != tenant {
		return nil, ronghe.Errorf(ronghe.EINTERNAL, "upload of %s completed under %s", res.Tenant, tenant)
	}
	mid, name := res.MetaData[upload.MetaMessage], res.MetaData[upload.MetaFile]
	f.mu.Lock()
	s, ok := f.subs[tenant+"/"+mid]
	if !ok {
		f.mu.Unlock()
		return nil, ronghe.Errorf(ronghe.ENOTFOUND, "no submission %s", mid)
	}
	for i := range s.Files {
		if s.Files[i].Name != name {
			continue
		}
		if s.Files[i].Digest != hex.EncodeToString(res.Digest) || s.Files[i].Size != res.Size {
			f.mu.Unlock()
			_ = f.store.Terminate(ctx, uploadID)
			return nil, ronghe.Errorf(ronghe.EINTEGRITY, "file %s arrived with digest %x; the signed manifest says %s", name, res.Digest, s.Files[i].Digest)
		}
		s.Files[i].Done, s.Files[i].UploadID = true, uploadID
	}
	f.mu.Unlock()
	return f.Finalize(ctx, tenant, mid)
}

func (f *fakeExchange) Evidence(ctx context.Context, tenant, id string) (*evidence.Bundle, error) {
	s, err := f.Submission(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	if s.Status != ronghe.SubmissionAccepted {
		return nil, ronghe.Errorf(ronghe.ENOTFOUND, "message %s has no receipt yet", id)
	}
	receipt, err := evidence.Parse(s.Receipt)
	if err != nil {
		return nil, err
	}
	return &evidence.Bundle{Type: evidence.TypeBundle, Manifest: s.Manifest, ManifestSignature: s.Signature,
		SenderKey: &ronghe.Key{ID: s.KeyID, Owner: tenant, Suite: ronghe.SuiteINTL}, Receipt: receipt, PlatformKeys: []string{"pem"}}, nil
}

func (f *fakeExchange) Mailbox(_ context.Context, tenant string, flt ronghe.MailboxFilter) ([]*ronghe.MailboxMessage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "Mailbox")
	var out []*ronghe.MailboxMessage
	for _, id := range []string{"MB1", "MB2", "MB3"} {
		m, ok := f.mailbox[id]
		if !ok || m.Tenant != tenant || (flt.After != "" && id <= flt.After) || (flt.Unacked && m.AckedAt != nil) {
			continue
		}
		if len(out) == flt.Limit {
			break
		}
		out = append(out, m)
	}
	return out, nil
}

func (f *fakeExchange) MailboxMessage(_ context.Context, tenant, id string) (*ronghe.MailboxMessage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if m, ok := f.mailbox[id]; ok && m.Tenant == tenant {
		return m, nil
	}
	return nil, ronghe.Errorf(ronghe.ENOTFOUND, "no mailbox message %s", id)
}

func (f *fakeExchange) Acknowledge(ctx context.Context, tenant, id string, ack []byte) (*ronghe.MailboxMessage, error) {
	m, err := f.MailboxMessage(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	at := time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC)
	m.AckedAt, m.AckKeyID, m.AckSignature = &at, "k-ack", ack
	return m, nil
}

// env is a running API over TLS with a real CA and client certificates.
type env struct {
	t      *testing.T
	srv    *Server
	ts     *httptest.Server
	ex     *fakeExchange
	insts  *fakeInstitutions
	ca     *pki.CA
	logBuf *syncBuffer
	// clients by name: "A", "B" (valid), "revoked", "unregistered", "none"
	clients map[string]*http.Client
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	ca, err := pki.LoadOrCreateCA(filepath.Join(dir, "ca"), "Ronghe Test CA")
	if err != nil {
		t.Fatal(err)
	}
	serverCert, err := ca.IssueServer([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	insts := &fakeInstitutions{certs: map[string]*ronghe.Certificate{}, insts: map[string]*ronghe.Institution{
		instA: {Code: instA, Suite: ronghe.SuiteINTL, Status: ronghe.StatusActive},
		instB: {Code: instB, Suite: ronghe.SuiteGM, Status: ronghe.StatusActive},
	}}
	issue := func(code string, register, revoke bool) *pki.Issued {
		iss, err := ca.IssueClient(code, "Test Bank "+code, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if register {
			c := iss.Certificate
			if revoke {
				at := time.Now().Add(-time.Minute)
				c.RevokedAt = &at
			}
			insts.certs[c.Serial] = &c
		}
		return iss
	}
	certs := map[string]*pki.Issued{
		"A":            issue(instA, true, false),
		"B":            issue(instB, true, false),
		"revoked":      issue(instA, true, true),
		"unregistered": issue(instA, false, false),
		"none":         nil,
	}
	kek, err := envelope.NewLocalKEK("test-kek", bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	store, err := upload.New(upload.Config{Dir: filepath.Join(dir, "uploads"), KEK: kek, ChunkSize: testChunk, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ex := newFakeExchange(store)
	logDir := filepath.Join(dir, "log")
	if err := os.MkdirAll(filepath.Join(logDir, "tile", "0"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(logDir, "checkpoint"), []byte("ronghe.test/log\n1\nAAAA\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tiles, err := tlog.NewHandler(logDir)
	if err != nil {
		t.Fatal(err)
	}
	logBuf := &syncBuffer{}
	srv, err := NewServer(Config{
		Exchange: ex, Institutions: insts, Uploads: store, LogHandler: tiles,
		PlatformKeys:   PlatformKeys{SigningKeys: []string{"-----BEGIN PUBLIC KEY-----\n"}, LogOrigin: "ronghe.test/log", CAPEM: string(ca.CertPEM())},
		MaxUploadBytes: 1 << 20,
		Logger:         slog.New(slog.NewJSONHandler(logBuf, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(srv.Handler())
	ts.TLS, err = ca.ServerTLS(serverCert.CertPEM, serverCert.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ts.StartTLS()
	t.Cleanup(ts.Close)
	e := &env{t: t, srv: srv, ts: ts, ex: ex, insts: insts, ca: ca, logBuf: logBuf, clients: map[string]*http.Client{}}
	for name, iss := range certs {
		var cfg *tls.Config
		if iss == nil {
			cfg, err = pki.ClientTLS(ca.CertPEM(), nil, nil)
		} else {
			cfg, err = pki.ClientTLS(ca.CertPEM(), iss.CertPEM, iss.KeyPEM)
		}
		if err != nil {
			t.Fatal(err)
		}
		tr := &http.Transport{TLSClientConfig: cfg}
		t.Cleanup(tr.CloseIdleConnections)
		e.clients[name] = &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return e
}

// do sends a request as the named client and returns the status, headers and
// body.
func (e *env) do(client, method, path string, body []byte, hdr map[string]string) (int, http.Header, []byte) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.clients[client].Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// problem decodes a problem response and checks its envelope.
func (e *env) problem(status int, h http.Header, b []byte, wantStatus int, wantCode string) Problem {
	e.t.Helper()
	if status != wantStatus {
		e.t.Fatalf("status %d, want %d; body %s", status, wantStatus, b)
	}
	if ct := h.Get("Content-Type"); ct != ProblemContentType {
		e.t.Fatalf("Content-Type %q, want %q; body %s", ct, ProblemContentType, b)
	}
	var p Problem
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		e.t.Fatalf("problem body %s: %v", b, err)
	}
	if p.Status != wantStatus || p.Code != wantCode || p.Type != ProblemTypeBase+wantCode || p.Title == "" {
		e.t.Fatalf("problem %+v, want status %d code %s", p, wantStatus, wantCode)
	}
	if p.RequestID == "" || p.RequestID != h.Get(RequestIDHeader) {
		e.t.Fatalf("problem request_id %q, header %q", p.RequestID, h.Get(RequestIDHeader))
	}
	return p
}

// manifest returns manifest bytes for tenant with the given files' contents.
func manifest(tenant, messageID string, files map[string][]byte) []byte {
	m := ronghe.Manifest{Version: ronghe.ManifestVersion, MessageID: messageID, Kind: ronghe.MessageBatch, Sender: tenant,
		Standard: "RRS-1", StandardVersion: "1.0", BusinessDate: "2025-03-01", BatchSeq: 1, Encoding: "UTF-8",
		Suite: ronghe.SuiteINTL, KeyID: "k1", CreatedAt: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)}
	for _, name := range []string{"ACCT.csv", "TXN.csv", "CTL.csv"} {
		if c, ok := files[name]; ok {
			sum := sha256.Sum256(c)
			m.Files = append(m.Files, ronghe.ManifestFile{Name: name, Size: int64(len(c)), Digest: hex.EncodeToString(sum[:])})
		}
	}
	b, _ := json.Marshal(m)
	return b
}

func submitBody(manifest []byte, sig string) []byte {
	b, _ := json.Marshal(SubmitRequest{Manifest: manifest, Signature: []byte(sig)})
	return b
}

var jsonHeader = map[string]string{"Content-Type": "application/json"}

// plainStore offers only the core of a store: no termination, no locker.
type plainStore struct{ handler.DataStore }

// testChunk is the upload store's chunk size in tests: every PATCH but the
// last carries a multiple of it.
const testChunk = 256
