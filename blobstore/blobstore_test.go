package blobstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/envelope"
)

func newKEK(t testing.TB) envelope.KEK {
	t.Helper()
	key := make([]byte, envelope.LocalKEKSize)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	k, err := envelope.NewLocalKEK("blobstore-test", key)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// backend opens a fresh, empty store of one kind.
type backend struct {
	name string
	open func(t testing.TB, opts ...Option) *Store
}

// fileBackend opens a store on a new temporary directory via a file:// URL.
func fileBackend(t testing.TB, opts ...Option) *Store {
	t.Helper()
	s, err := Open(context.Background(), "file://"+filepath.ToSlash(t.TempDir()), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// s3Backend starts an in-process S3 server (gofakes3 with its memory
// backend) and opens a store on a new bucket in it through s3blob with
// path-style addressing, exactly as a deployment would reach MinIO or Ceph.
func s3Backend(t testing.TB, opts ...Option) *Store {
	t.Helper()
	mem := s3mem.New()
	srv := httptest.NewServer(gofakes3.New(mem).Server())
	t.Cleanup(srv.Close)
	if err := mem.CreateBucket("ronghe"); err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("s3://ronghe?endpoint=%s&region=us-east-1&use_path_style=true&anonymous=true&response_checksum_validation=when_required", srv.URL)
	s, err := Open(context.Background(), url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var backends = []backend{{"file", fileBackend}, {"s3", s3Backend}}

func randBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
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

func readAll(t *testing.T, s *Store, key string) []byte {
	t.Helper()
	rc, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestStore runs the same table against both backends.
func TestStore(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, s *Store, kek envelope.KEK)
	}{
		{"round trip", testRoundTrip},
		{"stored bytes are ciphertext", testCiphertextAtRest},
		{"write once", testWriteOnce},
		{"large object", testLarge},
		{"missing", testMissing},
		{"delete", testDelete},
		{"failed put leaves nothing", testFailedPut},
		{"tampered blob", testTampered},
		{"raw", testRaw},
		{"copy and move from file", testFromFile},
		{"invalid keys", testInvalidKeys},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					kek := newKEK(t)
					tt.run(t, b.open(t, WithKEK(kek)), kek)
				})
			}
		})
	}
}

func testRoundTrip(t *testing.T, s *Store, _ envelope.KEK) {
	ctx := context.Background()
	for _, st := range []ronghe.Suite{ronghe.SuiteGM, ronghe.SuiteINTL} {
		for _, size := range []int{0, 1, envelope.DefaultChunkSize, envelope.DefaultChunkSize + 1, 1<<20 + 3} {
			key := fmt.Sprintf("batches/%s/blob-%d.bin", st, size)
			plain := randBytes(t, size)
			n, err := s.Put(ctx, key, bytes.NewReader(plain), st)
			if err != nil {
				t.Fatalf("%s: %v", key, err)
			}
			if n != int64(size) {
				t.Fatalf("%s: Put returned %d, want %d", key, n, size)
			}
			if got := readAll(t, s, key); !bytes.Equal(got, plain) {
				t.Fatalf("%s: read back %d bytes that differ", key, len(got))
			}
			ok, err := s.Exists(ctx, key)
			if err != nil || !ok {
				t.Fatalf("%s: Exists = %v, %v", key, ok, err)
			}
			sz, err := s.Size(ctx, key)
			if err != nil || sz <= int64(size) {
				t.Fatalf("%s: stored size %d for %d plaintext bytes (%v)", key, sz, size, err)
			}
		}
	}
}

func testCiphertextAtRest(t *testing.T, s *Store, _ envelope.KEK) {
	ctx := context.Background()
	plain := bytes.Repeat([]byte("ACCOUNT 6222020200112233 BALANCE 1000000.00\n"), 3000)
	for _, st := range []ronghe.Suite{ronghe.SuiteGM, ronghe.SuiteINTL} {
		key := "plain/" + string(st)
		if _, err := s.Put(ctx, key, bytes.NewReader(plain), st); err != nil {
			t.Fatal(err)
		}
		raw, err := s.OpenRaw(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		stored, err := io.ReadAll(raw)
		raw.Close()
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(stored, []byte("6222020200112233")) {
			t.Fatal("plaintext is visible in the stored object")
		}
		h, _, err := envelope.ParseHeader(stored)
		if err != nil {
			t.Fatal(err)
		}
		if h.Suite != st || h.KEKID != "blobstore-test" {
			t.Fatalf("header suite %s KEK %q", h.Suite, h.KEKID)
		}
	}
}

func testWriteOnce(t *testing.T, s *Store, _ envelope.KEK) {
	ctx := context.Background()
	if _, err := s.Put(ctx, "once", strings.NewReader("first"), ronghe.SuiteINTL); err != nil {
		t.Fatal(err)
	}
	_, err := s.Put(ctx, "once", strings.NewReader("second"), ronghe.SuiteINTL)
	wantCode(t, err, ronghe.ECONFLICT)
	if got := readAll(t, s, "once"); string(got) != "first" {
		t.Fatalf("blob was replaced: %q", got)
	}
}

func testLarge(t *testing.T, s *Store, _ envelope.KEK) {
	// Large enough for a multipart upload on S3 (parts of 8 MiB).
	ctx := context.Background()
	plain := randBytes(t, 17<<20+5)
	if _, err := s.Put(ctx, "large", bytes.NewReader(plain), ronghe.SuiteINTL); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, s, "large"); !bytes.Equal(got, plain) {
		t.Fatal("large object differs")
	}
	_, err := s.Put(ctx, "large", bytes.NewReader(plain[:100]), ronghe.SuiteINTL)
	wantCode(t, err, ronghe.ECONFLICT)
}

func testMissing(t *testing.T, s *Store, _ envelope.KEK) {
	ctx := context.Background()
	_, err := s.Get(ctx, "no/such/blob")
	wantCode(t, err, ronghe.ENOTFOUND)
	_, err = s.OpenRaw(ctx, "no/such/blob")
	wantCode(t, err, ronghe.ENOTFOUND)
	_, err = s.Size(ctx, "no/such/blob")
	wantCode(t, err, ronghe.ENOTFOUND)
	wantCode(t, s.Delete(ctx, "no/such/blob"), ronghe.ENOTFOUND)
	ok, err := s.Exists(ctx, "no/such/blob")
	if err != nil || ok {
		t.Fatalf("Exists = %v, %v", ok, err)
	}
}

func testDelete(t *testing.T, s *Store, _ envelope.KEK) {
	ctx := context.Background()
	if _, err := s.Put(ctx, "a/b", strings.NewReader("x"), ronghe.SuiteGM); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "a/b"); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Exists(ctx, "a/b"); err != nil || ok {
		t.Fatalf("Exists after Delete = %v, %v", ok, err)
	}
	// The key is free again.
	if _, err := s.Put(ctx, "a/b", strings.NewReader("y"), ronghe.SuiteGM); err != nil {
		t.Fatal(err)
	}
}

func testFailedPut(t *testing.T, s *Store, _ envelope.KEK) {
	ctx := context.Background()
	boom := errors.New("client went away")
	r := io.MultiReader(bytes.NewReader(randBytes(t, 300_000)), iotest.ErrReader(boom))
	_, err := s.Put(ctx, "failed", r, ronghe.SuiteINTL)
	if !errors.Is(err, boom) {
		t.Fatalf("Put error %v, want %v", err, boom)
	}
	if ok, err := s.Exists(ctx, "failed"); err != nil || ok {
		t.Fatalf("a failed Put left an object: %v, %v", ok, err)
	}
}

func testTampered(t *testing.T, s *Store, _ envelope.KEK) {
	ctx := context.Background()
	plain := randBytes(t, 200_000)
	if _, err := s.Put(ctx, "good", bytes.NewReader(plain), ronghe.SuiteGM); err != nil {
		t.Fatal(err)
	}
	raw, err := s.Bucket().ReadAll(ctx, "good")
	if err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string][]byte{
		"flipped": func() []byte { b := bytes.Clone(raw); b[len(b)/2] ^= 0x40; return b }(),
		"cut":     raw[:len(raw)-1000],
	} {
		if err := s.Bucket().WriteAll(ctx, "bad-"+name, bad, nil); err != nil {
			t.Fatal(err)
		}
		rc, err := s.Get(ctx, "bad-"+name)
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.ReadAll(rc)
		rc.Close()
		wantCode(t, err, ronghe.EINTEGRITY)
	}
}

func testRaw(t *testing.T, s *Store, kek envelope.KEK) {
	ctx := context.Background()
	plain := randBytes(t, 100_000)
	env, err := envelope.Seal(ctx, kek, ronghe.SuiteINTL, plain)
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.PutRaw(ctx, "raw/env", bytes.NewReader(env))
	if err != nil || n != int64(len(env)) {
		t.Fatalf("PutRaw = %d, %v", n, err)
	}
	if got := readAll(t, s, "raw/env"); !bytes.Equal(got, plain) {
		t.Fatal("raw envelope does not decrypt to its plaintext")
	}
	_, err = s.PutRaw(ctx, "raw/plain", bytes.NewReader(plain))
	wantCode(t, err, ronghe.EINVALID)
	if ok, _ := s.Exists(ctx, "raw/plain"); ok {
		t.Fatal("plaintext was stored by PutRaw")
	}
	_, err = s.PutRaw(ctx, "raw/env", bytes.NewReader(env))
	wantCode(t, err, ronghe.ECONFLICT)
}

func testFromFile(t *testing.T, s *Store, kek envelope.KEK) {
	ctx := context.Background()
	plain := randBytes(t, 150_000)
	env, err := envelope.Seal(ctx, kek, ronghe.SuiteGM, plain)
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "upload.bin")
	if err := os.WriteFile(src, env, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CopyFromFile(ctx, "copied", src); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(src); err != nil {
		t.Fatal("CopyFromFile removed its source")
	}
	if err := s.MoveFromFile(ctx, "moved", src); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(src); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("MoveFromFile left its source: %v", err)
	}
	for _, key := range []string{"copied", "moved"} {
		if got := readAll(t, s, key); !bytes.Equal(got, plain) {
			t.Fatalf("%s: contents differ", key)
		}
	}
	// Moving onto an existing key fails and keeps the source.
	if err := os.WriteFile(src, env, 0o600); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.MoveFromFile(ctx, "moved", src), ronghe.ECONFLICT)
	if _, err := os.Stat(src); err != nil {
		t.Fatalf("a refused move removed its source: %v", err)
	}
	// A file that is not an envelope is refused.
	plainFile := filepath.Join(t.TempDir(), "plain.csv")
	if err := os.WriteFile(plainFile, plain, 0o600); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.MoveFromFile(ctx, "plain", plainFile), ronghe.EINVALID)
	_, err = s.CopyFromFile(ctx, "plain", plainFile)
	wantCode(t, err, ronghe.EINVALID)
}

func testInvalidKeys(t *testing.T, s *Store, _ envelope.KEK) {
	ctx := context.Background()
	for _, key := range []string{"", "/abs", "../escape", "a/../b", "a//b", "trailing/", ".hidden", "sp ace", "x.attrs"} {
		_, err := s.Put(ctx, key, strings.NewReader("x"), ronghe.SuiteGM)
		wantCode(t, err, ronghe.EINVALID)
		_, err = s.Get(ctx, key)
		wantCode(t, err, ronghe.EINVALID)
		wantCode(t, s.Delete(ctx, key), ronghe.EINVALID)
	}
}

func TestFileMoveIsLink(t *testing.T) {
	// On a file:// store on the same file system, MoveFromFile keeps the
	// inode: it is a rename, not a copy.
	ctx := context.Background()
	kek := newKEK(t)
	dir := t.TempDir()
	s, err := Open(ctx, dir, WithKEK(kek))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Dir() != dir {
		t.Fatalf("Dir = %q, want %q", s.Dir(), dir)
	}
	env, err := envelope.Seal(ctx, kek, ronghe.SuiteINTL, []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, ".staging", "u.bin")
	if err := os.MkdirAll(filepath.Dir(src), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(src, env, 0o600); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.MoveFromFile(ctx, "tenant/42/batch.bin", src); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(filepath.Join(dir, "tenant", "42", "batch.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Fatal("MoveFromFile copied instead of renaming")
	}
}

func TestWithoutKEK(t *testing.T) {
	s := fileBackend(t)
	_, err := s.Put(context.Background(), "k", strings.NewReader("x"), ronghe.SuiteGM)
	wantCode(t, err, ronghe.EINTERNAL)
	_, err = s.Get(context.Background(), "k")
	wantCode(t, err, ronghe.EINTERNAL)
}

func TestPutRejectsBadSuite(t *testing.T) {
	s := fileBackend(t, WithKEK(newKEK(t)))
	_, err := s.Put(context.Background(), "k", strings.NewReader("x"), "ROT13")
	wantCode(t, err, ronghe.EUNSUPPORTED)
}

func TestOpenURLs(t *testing.T) {
	ctx := context.Background()
	rel := filepath.Join(t.TempDir(), "rel")
	tests := []struct {
		url  string
		code string // "" for success
	}{
		{"file://" + t.TempDir(), ""},
		{"file://localhost" + t.TempDir(), ""},
		{rel, ""},
		{"file://" + filepath.Join(t.TempDir(), "created", "on", "open"), ""},
		{"", ronghe.EINVALID},
		{"file://remote.example/data", ronghe.EINVALID},
		{"file:///tmp/x?create_dir=1", ronghe.EINVALID},
		{"gs://bucket", ronghe.EUNSUPPORTED},
		{"s3://bucket?no_such_param=1", ronghe.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			s, err := Open(ctx, tt.url)
			if tt.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				if !filepath.IsAbs(s.Dir()) {
					t.Fatalf("Dir %q is not absolute", s.Dir())
				}
				if st, err := os.Stat(s.Dir()); err != nil || !st.IsDir() {
					t.Fatalf("directory not created: %v", err)
				}
				return
			}
			wantCode(t, err, tt.code)
		})
	}
}

func BenchmarkPut(b *testing.B) {
	for _, st := range []ronghe.Suite{ronghe.SuiteGM, ronghe.SuiteINTL} {
		b.Run(string(st), func(b *testing.B) {
			s := fileBackend(b, WithKEK(newKEK(b)))
			data := randBytes(b, 32<<20)
			b.SetBytes(int64(len(data)))
			ctx := context.Background()
			i := 0
			for b.Loop() {
				if _, err := s.Put(ctx, fmt.Sprintf("bench/%d", i), bytes.NewReader(data), st); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
