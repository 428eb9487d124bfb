package upload

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tus/tusd/v2/pkg/handler"
	expslog "golang.org/x/exp/slog"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/envelope"
)

// Tenants of the test platform and their suites.
const (
	tenantGM   = "bank-gm"
	tenantINTL = "bank-intl"
)

var tenantSuites = map[string]ronghe.Suite{tenantGM: ronghe.SuiteGM, tenantINTL: ronghe.SuiteINTL}

// tenantHeader stands in for mutual TLS in these tests: the middleware
// trusts it to say who is calling.
const tenantHeader = "X-Test-Tenant"

// testServer is a tusd handler over a Store, behind a middleware that puts
// the caller's tenant in the request context, as the platform does.
type testServer struct {
	t     testing.TB
	store *Store
	kek   envelope.KEK
	srv   *httptest.Server
	url   string // base URL of the uploads collection
	// active counts requests inside the handler, so a test can wait until
	// the server has finished with a request its client abandoned.
	active atomic.Int64
}

// waitIdle waits until no request is being handled.
func (ts *testServer) waitIdle() {
	ts.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for ts.active.Load() != 0 {
		if time.Now().After(deadline) {
			ts.t.Fatal("server still busy")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func newKEK(t testing.TB) envelope.KEK {
	t.Helper()
	key := make([]byte, envelope.LocalKEKSize)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	k, err := envelope.NewLocalKEK("upload-test", key)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newStore(t testing.TB, kek envelope.KEK, mod func(*Config)) *Store {
	t.Helper()
	cfg := Config{Dir: t.TempDir(), KEK: kek, Logger: quietLogger()}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newTestServer(t testing.TB, mod func(*Config)) *testServer {
	t.Helper()
	kek := newKEK(t)
	store := newStore(t, kek, mod)
	composer := handler.NewStoreComposer()
	store.UseIn(composer)
	h, err := handler.NewHandler(handler.Config{
		BasePath:      "/files/",
		StoreComposer: composer,
		Logger:        expslog.New(expslog.NewTextHandler(io.Discard, nil)),
		// The platform's pre-create hook: it fixes the suite from the
		// tenant's registration and keeps the client's message and file.
		PreUploadCreateCallback: func(ev handler.HookEvent) (handler.HTTPResponse, handler.FileInfoChanges, error) {
			tenant, _ := TenantFrom(ev.Context)
			st, ok := tenantSuites[tenant]
			if !ok {
				return handler.HTTPResponse{}, handler.FileInfoChanges{}, handler.NewError("ERR_UNKNOWN_TENANT", "unknown tenant", http.StatusForbidden)
			}
			meta := handler.MetaData{}
			for _, k := range []string{MetaMessage, MetaFile, MetaTenant} {
				if v, ok := ev.Upload.MetaData[k]; ok {
					meta[k] = v
				}
			}
			return handler.HTTPResponse{}, handler.FileInfoChanges{
				MetaData: meta,
				Storage:  map[string]string{MetaTenant: tenant, MetaSuite: string(st)},
			}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/files/", http.StripPrefix("/files/", h))
	ts := &testServer{t: t, store: store, kek: kek}
	withTenant := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.active.Add(1)
		defer ts.active.Add(-1)
		if code := r.Header.Get(tenantHeader); code != "" {
			r = r.WithContext(WithTenant(r.Context(), code))
		}
		mux.ServeHTTP(w, r)
	})
	ts.srv = httptest.NewServer(withTenant)
	t.Cleanup(ts.srv.Close)
	ts.url = ts.srv.URL + "/files/"
	return ts
}

// tusClient is a minimal tus 1.0 client (core protocol and creation), enough
// to drive the server the way any client library would.
type tusClient struct {
	t      testing.TB
	ts     *testServer
	tenant string
}

func (ts *testServer) client(t testing.TB, tenant string) *tusClient {
	return &tusClient{t: t, ts: ts, tenant: tenant}
}

func (c *tusClient) do(req *http.Request) *http.Response {
	c.t.Helper()
	req.Header.Set("Tus-Resumable", "1.0.0")
	if c.tenant != "" {
		req.Header.Set(tenantHeader, c.tenant)
	}
	resp, err := c.ts.srv.Client().Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	return resp
}

// encodeMetadata builds an Upload-Metadata header.
func encodeMetadata(meta map[string]string) string {
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+" "+base64.StdEncoding.EncodeToString([]byte(meta[k])))
	}
	return strings.Join(parts, ",")
}

// create POSTs a new upload and returns its URL, or "" and the status.
func (c *tusClient) create(size int64, meta map[string]string) (string, int) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.ts.url, nil)
	req.Header.Set("Upload-Length", strconv.FormatInt(size, 10))
	if meta != nil {
		req.Header.Set("Upload-Metadata", encodeMetadata(meta))
	}
	resp := c.do(req)
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return "", resp.StatusCode
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		c.t.Fatal("201 without Location")
	}
	return loc, resp.StatusCode
}

func (c *tusClient) mustCreate(size int64, meta map[string]string) string {
	c.t.Helper()
	url, status := c.create(size, meta)
	if status != http.StatusCreated {
		c.t.Fatalf("create: status %d", status)
	}
	return url
}

// patch sends body at offset and returns the status and the new offset
// (-1 if the response has none).
func (c *tusClient) patch(url string, offset int64, body []byte) (int, int64) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPatch, url, bytes.NewReader(body))
	return c.sendPatch(req, offset)
}

func (c *tusClient) sendPatch(req *http.Request, offset int64) (int, int64) {
	c.t.Helper()
	req.Header.Set("Content-Type", "application/offset+octet-stream")
	req.Header.Set("Upload-Offset", strconv.FormatInt(offset, 10))
	resp := c.do(req)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 {
		c.t.Logf("PATCH at %d: %d %s", offset, resp.StatusCode, bytes.TrimSpace(body))
	}
	return resp.StatusCode, headerOffset(resp)
}

func headerOffset(resp *http.Response) int64 {
	v := resp.Header.Get("Upload-Offset")
	if v == "" {
		return -1
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// head returns the status and the upload's offset and length.
func (c *tusClient) head(url string) (status int, offset, length int64) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodHead, url, nil)
	resp := c.do(req)
	resp.Body.Close()
	length = -1
	if v := resp.Header.Get("Upload-Length"); v != "" {
		length, _ = strconv.ParseInt(v, 10, 64)
	}
	return resp.StatusCode, headerOffset(resp), length
}

func (c *tusClient) get(url string) (int, []byte) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	resp := c.do(req)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, b
}

func (c *tusClient) delete(url string) int {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, url, nil)
	resp := c.do(req)
	resp.Body.Close()
	return resp.StatusCode
}

// uploadAll sends data from offset in PATCHes whose sizes cycle through
// sizes, always resuming from the offset the server reports, until the
// upload is complete. It fails the test on an unexpected status.
func (c *tusClient) uploadAll(url string, data []byte, offset int64, sizes ...int) {
	c.t.Helper()
	c.upload(url, data, offset, false, sizes...)
}

func (c *tusClient) upload(url string, data []byte, offset int64, resilient bool, sizes ...int) {
	c.t.Helper()
	retries := 0
	for i := 0; offset < int64(len(data)); i++ {
		n := int64(sizes[i%len(sizes)])
		end := min(offset+n, int64(len(data)))
		status, next := c.patch(url, offset, data[offset:end])
		if resilient && retries < 10 && (status == http.StatusConflict || status == http.StatusLocked || status == http.StatusBadRequest) {
			retries++
			var hs int
			hs, offset, _ = c.head(url)
			if hs != http.StatusOK {
				c.t.Fatalf("HEAD after status %d: %d", status, hs)
			}
			continue
		}
		if status != http.StatusNoContent {
			c.t.Fatalf("PATCH %d bytes at %d: status %d", end-offset, offset, status)
		}
		if next < offset || next > end {
			c.t.Fatalf("PATCH [%d,%d): server offset %d", offset, end, next)
		}
		if i > 10*len(data)/max(1, sizes[0])+100 {
			c.t.Fatal("upload makes no progress")
		}
		offset = next
	}
}

func idOf(url string) string { return url[strings.LastIndexByte(url, '/')+1:] }

func tenantCtx(tenant string) context.Context { return WithTenant(context.Background(), tenant) }

func randBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func sizeName(n int) string { return fmt.Sprintf("%dB", n) }
