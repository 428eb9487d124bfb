package tlog

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tclient "github.com/transparency-dev/tessera/client"

	"github.com/ronghe/ronghe/tlog/client"
)

// publishedLog returns a log with n leaves whose published checkpoint covers
// all of them.
func publishedLog(t *testing.T, n int) (*Log, testKeys, string, map[uint64][]byte) {
	t.Helper()
	k := newTestKeys(t)
	dir := t.TempDir()
	l := openTestLog(t, k, dir)
	leaves := appendRange(t, l, 0, n)
	deadline := time.Now().Add(10 * time.Second)
	for {
		size, err := l.publishedSize(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if size == uint64(n) {
			return l, k, dir, leaves
		}
		if time.Now().After(deadline) {
			t.Fatalf("published size stuck at %d, want %d", size, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestHandlerServesTiles(t *testing.T) {
	l, k, _, leaves := publishedLog(t, 300)
	v := k.verifier(t)
	ctx := context.Background()

	mux := http.NewServeMux()
	mux.Handle("/log/", http.StripPrefix("/log", l.Handler()))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// The checkpoint, with its content type.
	resp, err := http.Get(srv.URL + "/log/checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET checkpoint: %s", resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Fatalf("checkpoint Content-Type %q", ct)
	}
	want, err := l.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(body, want) {
		t.Fatalf("served checkpoint differs from Log.Checkpoint")
	}
	cp, err := v.VerifyCheckpoint(body)
	if err != nil {
		t.Fatal(err)
	}

	// A client that trusts nothing but the keys rebuilds proofs from the
	// served tiles and bundles and checks them.
	u, _ := url.Parse(srv.URL + "/log/")
	f, err := tclient.NewHTTPFetcher(u, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	pb, err := tclient.NewProofBuilder(ctx, cp.Size, f.ReadTile)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []uint64{0, 1, 128, 255, 256, 299} {
		p, err := pb.InclusionProof(ctx, i)
		if err != nil {
			t.Fatalf("proof %d over HTTP: %v", i, err)
		}
		b, err := tclient.GetEntryBundle(ctx, f.ReadEntryBundle, i/256, cp.Size)
		if err != nil {
			t.Fatalf("bundle for %d over HTTP: %v", i, err)
		}
		leaf := b.Entries[i%256]
		if !bytes.Equal(leaf, leaves[i]) {
			t.Fatalf("served leaf %d differs", i)
		}
		if err := client.VerifyInclusion(leaf, i, p, cp); err != nil {
			t.Fatalf("inclusion %d over HTTP: %v", i, err)
		}
	}

	// Tiles are immutable binary resources.
	resp, err = http.Get(srv.URL + "/log/tile/0/000")
	if err != nil {
		t.Fatal(err)
	}
	tile, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(tile) != 256*32 {
		t.Fatalf("GET tile/0/000: %s, %d bytes", resp.Status, len(tile))
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/octet-stream" {
		t.Fatalf("tile Content-Type %q", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Fatalf("tile Cache-Control %q", cc)
	}
}

func TestHandlerRefuses(t *testing.T) {
	_, _, dir, _ := publishedLog(t, 3)
	h, err := NewHandler(dir)
	if err != nil {
		t.Fatal(err)
	}
	// A symbolic link pointing out of the log, one pointing at a directory,
	// and a directory with a canonical tile name.
	outside := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(outside, []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"tile/5", "tile/6", "tile/7/000"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(dir, "tile/5/000")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "tile", "0"), filepath.Join(dir, "tile/6/000")); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		method, target string
		status         int
	}{
		{"GET", "/checkpoint", 200},
		{"HEAD", "/checkpoint", 200},
		{"GET", "/tile/0/000.p/3", 200},
		{"GET", "/tile/entries/000.p/3", 200},
		{"POST", "/checkpoint", 405},
		{"PUT", "/tile/0/000.p/3", 405},
		{"DELETE", "/checkpoint", 405},
		{"GET", "/", 404},
		{"GET", "/../checkpoint", 404},
		{"GET", "/tile/../checkpoint", 404},
		{"GET", "/tile/0/../../checkpoint", 404},
		{"GET", "/tile/0/../../.state/treeState", 404},
		{"GET", "/tile/%2e%2e/%2e%2e/.state/treeState", 404},
		{"GET", "/tile/entries/../../../../etc/passwd", 404},
		{"GET", "/.state/treeState", 404},
		{"GET", "/.state/" + writerLockName, 404},
		{"GET", "/tile/", 404},
		{"GET", "/tile/0", 404},
		{"GET", "/tile/0/", 404},
		{"GET", "/tile/entries/", 404},
		{"GET", "/tile/entries/000.p", 404},
		{"GET", "/tile/00/000.p/3", 404},
		{"GET", "/tile/0/0.p/3", 404},
		{"GET", "/tile/0/x000/000", 404},
		{"GET", "/tile/0/000.p/03", 404},
		{"GET", "/tile/0/000.p/0", 404},
		{"GET", "/tile/0/000.p/256", 404},
		{"GET", "/tile/64/000", 404},
		{"GET", "/tile//0/000.p/3", 404},
		{"GET", "/checkpoint/", 404},
		{"GET", "/checkpoint.tmp", 404},
		{"GET", "/tile/0/001", 404}, // canonical but absent
		{"GET", "/tile/5/000", 404}, // symlink out of the log
		{"GET", "/tile/6/000", 404}, // symlink to a directory
		{"GET", "/tile/7/000", 404}, // a directory
		{"GET", "/tile/entries/001", 404},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.target, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "http://log.example"+tc.target, nil)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d (body %q)", rec.Code, tc.status, rec.Body.String())
			}
			if tc.status == 405 && rec.Header().Get("Allow") != "GET, HEAD" {
				t.Fatalf("405 without Allow header")
			}
			if tc.status != 200 && bytes.Contains(rec.Body.Bytes(), []byte("secret")) {
				t.Fatal("leaked the file outside the log")
			}
			if tc.method == "HEAD" && rec.Body.Len() != 0 {
				t.Fatal("HEAD returned a body")
			}
		})
	}
}

func TestNewHandlerRejectsMissingDir(t *testing.T) {
	if _, err := NewHandler(filepath.Join(t.TempDir(), "absent")); err == nil {
		t.Fatal("NewHandler accepted a missing directory")
	}
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NewHandler(f); err == nil {
		t.Fatal("NewHandler accepted a file")
	}
}

func FuzzResourcePath(f *testing.F) {
	for _, s := range []string{"/checkpoint", "/tile/0/000", "/tile/1/x001/x234/067.p/8", "/tile/entries/000.p/3",
		"/tile/../checkpoint", "/tile/0/000.p/256", "/.state/treeState", "/tile//0/000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		name, ctype, immutable, ok := resourcePath(p)
		if !ok {
			return
		}
		// Whatever is accepted is a clean, relative path inside the log that
		// names a public tlog-tiles resource.
		if name != path.Clean(name) || strings.HasPrefix(name, "/") || strings.Contains(name, "..") ||
			strings.Contains(name, ".state") || strings.ContainsAny(name, "\\\x00") {
			t.Fatalf("resourcePath(%q) accepted unsafe name %q", p, name)
		}
		switch {
		case name == "checkpoint":
			if immutable || ctype != checkpointContentType {
				t.Fatalf("checkpoint served as %q immutable=%v", ctype, immutable)
			}
		case strings.HasPrefix(name, "tile/"):
			if !immutable || ctype != tileContentType {
				t.Fatalf("tile served as %q immutable=%v", ctype, immutable)
			}
		default:
			t.Fatalf("resourcePath(%q) accepted %q", p, name)
		}
	})
}
