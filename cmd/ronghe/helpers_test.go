package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/client"
	"github.com/ronghe/ronghe/httpapi"
	"github.com/ronghe/ronghe/pki"
	"github.com/ronghe/ronghe/tlog"
)

// TestMain keeps the platform's logs out of the test output and removes the
// binary the subprocess tests build.
func TestMain(m *testing.M) {
	quiet := slog.New(slog.DiscardHandler)
	slog.SetDefault(quiet)
	routeKlog(quiet)
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

// binary builds ./cmd/ronghe once per test run, for the tests that run the
// platform as a separate process.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "ronghe-bin-"); buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "ronghe")
		if runtime.GOOS == "windows" {
			binPath += ".exe"
		}
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// testPlatform is the platform running in-process on 127.0.0.1, as the demo
// runs it.
type testPlatform struct {
	dir    string
	server string
	p      *platform
	stop   func()
}

func startPlatform(t *testing.T) *testPlatform {
	t.Helper()
	tp := &testPlatform{dir: t.TempDir()}
	tp.start(t, "127.0.0.1:0")
	t.Cleanup(tp.shutdown)
	return tp
}

func (tp *testPlatform) start(t *testing.T, addr string) {
	t.Helper()
	cfg := platformConfig{logger: slog.New(slog.DiscardHandler)}
	cfg.store = storeFlags{data: tp.dir, origin: "ronghe.test/log"}
	p, err := openPlatform(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		p.close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.serve(ctx, ln) }()
	tp.p, tp.server = p, "https://"+ln.Addr().String()
	tp.stop = func() {
		cancel()
		<-done
		p.close()
	}
}

func (tp *testPlatform) shutdown() {
	if tp.stop != nil {
		tp.stop()
		tp.stop = nil
	}
}

var codeSeq struct {
	sync.Mutex
	n int
}

func newCode() string {
	codeSeq.Lock()
	defer codeSeq.Unlock()
	codeSeq.n++
	return fmt.Sprintf("T%013d", codeSeq.n)
}

// institution is an onboarded bank: its profile and client.
type institution struct {
	code string
	prof *client.Profile
	c    *client.Client
	dir  string // profile directory
}

func (tp *testPlatform) onboard(t *testing.T, s ronghe.Suite) *institution {
	t.Helper()
	code := newCode()
	dir := filepath.Join(t.TempDir(), "profile-"+code)
	prof, err := onboard(context.Background(), tp.p.db, tp.p.keys, onboarding{code: code, name: "测试银行" + code, kind: ronghe.KindBank,
		suite: s, server: tp.server, out: dir, certDays: 30})
	if err != nil {
		t.Fatal(err)
	}
	return &institution{code: code, prof: prof, c: newClient(t, prof), dir: dir}
}

func newClient(t *testing.T, prof *client.Profile) *client.Client {
	t.Helper()
	c, err := client.New(prof)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// runCommand runs a ronghe command line in-process and returns its exit
// code and output.
func runCommand(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	e := &env{stdout: &out, stderr: &errOut, logger: slog.New(slog.DiscardHandler)}
	code := run(context.Background(), e, args)
	return code, out.String(), errOut.String()
}

// batchDir writes a batch directory <code>_20250301_<seq> with the given
// files and returns its path.
func batchDir(t *testing.T, code string, seq int, files map[string][]byte) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), fmt.Sprintf("%s_20250301_%d", code, seq))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// content returns n bytes of CSV-like content that differs per seed.
func content(seed string, n int) []byte {
	line := []byte("TX" + seed + ",2025-03-01,100.00,CNY,融合测试\n")
	out := bytes.Repeat(line, n/len(line)+1)
	return out[:n]
}

// signedManifest hashes a batch directory and signs its manifest, letting
// mod change the manifest before signing.
func signedManifest(t *testing.T, in *institution, dir string, mod func(*ronghe.Manifest)) ([]byte, []byte, *ronghe.Manifest) {
	t.Helper()
	src, err := client.OpenSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	raw, m, err := client.BuildManifest(context.Background(), src, in.code, in.prof.Signer, client.ManifestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if mod != nil {
		mod(m)
		if raw, err = json.Marshal(m); err != nil {
			t.Fatal(err)
		}
	}
	sig, err := in.prof.Signer.Sign(raw)
	if err != nil {
		t.Fatal(err)
	}
	return raw, sig, m
}

// wantProblem checks that err is the platform's RFC 9457 problem with the
// given status and code, and returns it.
func wantProblem(t *testing.T, err error, status int, code string) *client.Problem {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want HTTP %d %s", status, code)
	}
	var p *client.Problem
	if !errors.As(err, &p) {
		t.Fatalf("error %v is not a problem response (want HTTP %d %s)", err, status, code)
	}
	if p.Status != status || p.Code != code || p.Type != httpapi.ProblemTypeBase+code || p.Title == "" {
		t.Fatalf("problem = %+v, want HTTP %d %s", p, status, code)
	}
	if got := ronghe.ErrorCode(err); got != code {
		t.Fatalf("error code = %q, want %q", got, code)
	}
	return p
}

// raw is an institution's plain HTTPS client, for requests the client
// package does not make (hand-written tus, replays).
type raw struct {
	t    *testing.T
	base string
	http *http.Client
}

func (tp *testPlatform) raw(t *testing.T, in *institution) *raw {
	t.Helper()
	cfg, err := pki.ClientTLS(in.prof.CAPEM, in.prof.CertPEM, in.prof.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &raw{t: t, base: tp.server, http: &http.Client{Transport: tr}}
}

// response is a response with its body read.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r *raw) do(method, path string, header map[string]string, body []byte) *response {
	r.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	url := path
	if strings.HasPrefix(path, "/") {
		url = r.base + path
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		r.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := r.http.Do(req)
	if err != nil {
		r.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		r.t.Fatal(err)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: b}
}

// problem decodes the response as an RFC 9457 problem with the given status
// and code.
func (resp *response) problem(t *testing.T, status int, code string) *httpapi.Problem {
	t.Helper()
	if resp.status != status {
		t.Fatalf("HTTP %d (%s), want %d", resp.status, resp.body, status)
	}
	if ct := resp.header.Get("Content-Type"); ct != httpapi.ProblemContentType {
		t.Fatalf("Content-Type %q, want %s", ct, httpapi.ProblemContentType)
	}
	var p httpapi.Problem
	if err := json.Unmarshal(resp.body, &p); err != nil {
		t.Fatalf("problem body %q: %v", resp.body, err)
	}
	if p.Status != status || p.Code != code || p.Type != httpapi.ProblemTypeBase+code {
		t.Fatalf("problem = %+v, want %d %s", p, status, code)
	}
	return &p
}

func tusHeaders(extra map[string]string) map[string]string {
	h := map[string]string{"Tus-Resumable": "1.0.0"}
	for k, v := range extra {
		h[k] = v
	}
	return h
}

// createUpload makes a tus upload for a file of a message and returns the
// response; on 201 the Location names the upload.
func (r *raw) createUpload(messageID, file string, length int64) *response {
	r.t.Helper()
	meta := client.MetaMessageID + " " + base64.StdEncoding.EncodeToString([]byte(messageID)) + "," +
		client.MetaFile + " " + base64.StdEncoding.EncodeToString([]byte(file))
	return r.do(http.MethodPost, httpapi.UploadsPath, tusHeaders(map[string]string{"Upload-Length": strconv.FormatInt(length, 10), "Upload-Metadata": meta}), nil)
}

func (r *raw) mustCreateUpload(messageID, file string, length int64) string {
	r.t.Helper()
	resp := r.createUpload(messageID, file, length)
	if resp.status != http.StatusCreated {
		r.t.Fatalf("create upload: HTTP %d %s", resp.status, resp.body)
	}
	loc := resp.header.Get("Location")
	return loc[strings.LastIndexByte(loc, '/')+1:]
}

func (r *raw) patch(id string, offset int64, body []byte) *response {
	r.t.Helper()
	return r.do(http.MethodPatch, httpapi.UploadsPath+id, tusHeaders(map[string]string{
		"Content-Type": "application/offset+octet-stream", "Upload-Offset": strconv.FormatInt(offset, 10),
	}), body)
}

// head returns the status and Upload-Offset of an upload.
func (r *raw) head(id string) (int, int64) {
	r.t.Helper()
	resp := r.do(http.MethodHead, httpapi.UploadsPath+id, tusHeaders(nil), nil)
	off, _ := strconv.ParseInt(resp.header.Get("Upload-Offset"), 10, 64)
	return resp.status, off
}

func randomUploadID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// mark appends a probe entry to the platform's log and returns its index:
// the number of entries logged before it.
func (tp *testPlatform) mark(t *testing.T) uint64 {
	t.Helper()
	var d [32]byte
	rand.Read(d[:])
	leaf := tlog.Event{Kind: tlog.KindQueryRecorded, Tenant: "probe", MessageID: "probe", Digest: d[:], Time: time.Now()}.Leaf()
	i, err := tp.p.log.Append(context.Background(), leaf)
	if err != nil {
		t.Fatal(err)
	}
	return i
}

// loggedSince returns how many entries other than probes were appended
// since the probe at index m.
func (tp *testPlatform) loggedSince(t *testing.T, m uint64) uint64 {
	t.Helper()
	return tp.mark(t) - m - 1
}

// staged lists the upload store's files (uploads in progress or unchecked).
func (tp *testPlatform) staged(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(tp.p.uploads.Dir())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// blobKeys lists the blobs stored for a tenant's submissions.
func (tp *testPlatform) blobKeys(t *testing.T, tenant string) []string {
	t.Helper()
	root := filepath.Join(tp.p.blobs.Dir(), "submissions", tenant)
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return filepath.SkipAll
		} else if err != nil {
			return err
		}
		if !d.IsDir() && !strings.HasSuffix(p, ".attrs") {
			rel, _ := filepath.Rel(tp.p.blobs.Dir(), p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// blob decrypts a stored blob.
func (tp *testPlatform) blob(t *testing.T, key string) []byte {
	t.Helper()
	rc, err := tp.p.blobs.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("blob %s: %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// nothingStored checks that the platform holds nothing of messageID for
// tenant: no submission, no upload, no blob, and no log entry since mark.
func (tp *testPlatform) nothingStored(t *testing.T, tenant, messageID string, mark uint64) {
	t.Helper()
	if _, err := tp.p.db.FindSubmission(context.Background(), tenant, messageID); ronghe.ErrorCode(err) != ronghe.ENOTFOUND {
		t.Fatalf("submission %s: %v, want not found", messageID, err)
	}
	if s := tp.staged(t); len(s) != 0 {
		t.Fatalf("uploads staged: %v", s)
	}
	if b := tp.blobKeys(t, tenant); len(b) != 0 {
		t.Fatalf("blobs stored: %v", b)
	}
	if n := tp.loggedSince(t, mark); n != 0 {
		t.Fatalf("%d log entries appended", n)
	}
}

func (tp *testPlatform) verifier(t *testing.T) *client.Verifier {
	t.Helper()
	v, err := client.NewVerifier(tp.p.info)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
