package envelope

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ronghe/ronghe"
)

func TestLocalKEKWrapUnwrap(t *testing.T) {
	kek := newKEK(t, "kek-1")
	ctx := t.Context()
	for _, n := range []int{16, 32} {
		dek := pseudo(n, uint64(n))
		w1, err := kek.Wrap(ctx, dek)
		if err != nil {
			t.Fatal(err)
		}
		w2, _ := kek.Wrap(ctx, dek)
		if bytes.Equal(w1, w2) {
			t.Fatal("two wraps are identical: nonce reused")
		}
		if bytes.Contains(w1, dek) {
			t.Fatal("data key visible in wrapped form")
		}
		got, err := kek.Unwrap(ctx, w1)
		if err != nil || !bytes.Equal(got, dek) {
			t.Fatalf("Unwrap = %x, %v", got, err)
		}
		for i := range w1 {
			bad := bytes.Clone(w1)
			bad[i] ^= 0x10
			_, err := kek.Unwrap(ctx, bad)
			wantCode(t, err, ronghe.EINTEGRITY)
		}
		for _, bad := range [][]byte{nil, w1[:1], w1[:len(w1)-1], append(bytes.Clone(w1), 0)} {
			_, err := kek.Unwrap(ctx, bad)
			wantCode(t, err, ronghe.EINTEGRITY)
		}
	}
	if _, err := kek.Wrap(ctx, nil); ronghe.ErrorCode(err) != ronghe.EINVALID {
		t.Fatalf("Wrap(nil) = %v", err)
	}
}

// The KEK ID is authenticated: the same master key under another ID cannot
// unwrap, so a header cannot point a blob at a different KEK.
func TestLocalKEKBindsID(t *testing.T) {
	key := pseudo(LocalKEKSize, 1)
	a, _ := NewLocalKEK("a", key)
	b, _ := NewLocalKEK("b", key)
	w, err := a.Wrap(t.Context(), pseudo(16, 2))
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Unwrap(t.Context(), w)
	wantCode(t, err, ronghe.EINTEGRITY)
}

func TestLocalKEKContext(t *testing.T) {
	kek := newKEK(t, "k")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := kek.Wrap(ctx, pseudo(16, 1)); err == nil {
		t.Fatal("Wrap with a cancelled context succeeded")
	}
	if _, err := kek.Unwrap(ctx, make([]byte, 64)); err == nil {
		t.Fatal("Unwrap with a cancelled context succeeded")
	}
}

func TestNewLocalKEKErrors(t *testing.T) {
	good := make([]byte, LocalKEKSize)
	tests := []struct {
		name, id string
		key      []byte
	}{
		{"empty id", "", good},
		{"long id", strings.Repeat("k", 256), good},
		{"control char", "kek\n1", good},
		{"bad utf8", "kek\xff", good},
		{"short key", "k", good[:16]},
		{"long key", "k", make([]byte, 33)},
	}
	for _, tt := range tests {
		_, err := NewLocalKEK(tt.id, tt.key)
		if ronghe.ErrorCode(err) != ronghe.EINVALID {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	if _, err := NewLocalKEK(strings.Repeat("k", 255), good); err != nil {
		t.Errorf("255-byte id: %v", err)
	}
	if _, err := NewLocalKEK("国密-KEK 1", good); err != nil {
		t.Errorf("unicode id: %v", err)
	}
}

func TestLoadOrCreateLocalKEK(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys", "kek.hex")
	k1, err := LoadOrCreateLocalKEK(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", st.Mode().Perm())
	}
	if !strings.HasPrefix(k1.ID(), "local-") || len(k1.ID()) != len("local-")+16 {
		t.Fatalf("KEK ID %q", k1.ID())
	}
	ct, err := Seal(t.Context(), k1, ronghe.SuiteGM, []byte("kept across restarts"))
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadOrCreateLocalKEK(path)
	if err != nil {
		t.Fatal(err)
	}
	if k2.ID() != k1.ID() {
		t.Fatalf("reloaded KEK ID %q != %q", k2.ID(), k1.ID())
	}
	if pt, err := Open(t.Context(), k2, ct); err != nil || string(pt) != "kept across restarts" {
		t.Fatalf("reloaded KEK cannot open: %q %v", pt, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
	other, err := LoadOrCreateLocalKEK(filepath.Join(dir, "other.hex"))
	if err != nil {
		t.Fatal(err)
	}
	if other.ID() == k1.ID() {
		t.Fatal("two new key files have the same ID")
	}
}

func TestLoadOrCreateLocalKEKConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kek.hex")
	const n = 8
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k, err := LoadOrCreateLocalKEK(path)
			errs[i] = err
			if err == nil {
				ids[i] = k.ID()
			}
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("concurrent creators got different keys: %q vs %q", ids[i], ids[0])
		}
	}
}

func TestLoadLocalKEKRejectsBadFiles(t *testing.T) {
	dir := t.TempDir()
	hex64 := strings.Repeat("ab", LocalKEKSize)
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
	}{
		{"group readable", hex64 + "\n", 0o640},
		{"world readable", hex64 + "\n", 0o604},
		{"short", hex64[:60] + "\n", 0o600},
		{"not hex", strings.Repeat("zz", LocalKEKSize), 0o600},
		{"empty", "", 0o600},
		{"trailing junk", hex64 + "\nmore\n", 0o600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_"))
			if err := os.WriteFile(path, []byte(tt.content), tt.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			_, err := LoadOrCreateLocalKEK(path)
			wantCode(t, err, ronghe.EINVALID)
		})
	}
	// A well-formed file with CRLF is fine and its ID follows from the key.
	path := filepath.Join(dir, "crlf")
	os.WriteFile(path, []byte(hex64+"\r\n"), 0o600)
	k, err := LoadOrCreateLocalKEK(path)
	if err != nil {
		t.Fatal(err)
	}
	if k.ID() != localKEKID(bytes.Repeat([]byte{0xab}, LocalKEKSize)) {
		t.Fatalf("ID %q", k.ID())
	}
	// A directory in the way is an error, not a silent new key.
	_, err = LoadOrCreateLocalKEK(dir)
	wantCode(t, err, ronghe.EINVALID)
}
