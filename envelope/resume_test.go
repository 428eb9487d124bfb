package envelope

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/ronghe/ronghe"
)

func testKEK(t testing.TB, id string) *LocalKEK {
	t.Helper()
	key := make([]byte, LocalKEKSize)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	k, err := NewLocalKEK(id, key)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// sealAll lays out plaintext with c the way the upload store does: full
// chunks, then a last chunk holding the rest (a full one if the length is a
// multiple of the chunk size, an empty one only for an empty plaintext).
func sealAll(t *testing.T, c *ChunkCipher, plaintext []byte) []byte {
	t.Helper()
	out := append([]byte(nil), c.Header()...)
	cs := c.ChunkSize()
	var seq uint64
	for {
		n := min(cs, len(plaintext))
		last := n == len(plaintext)
		var err error
		out, err = c.Seal(out, plaintext[:n], seq, last)
		if err != nil {
			t.Fatal(err)
		}
		plaintext = plaintext[n:]
		seq++
		if last {
			return out
		}
	}
}

func TestChunkCipherRoundTripWithReader(t *testing.T) {
	ctx := context.Background()
	kek := testKEK(t, "test-kek")
	for _, s := range []ronghe.Suite{ronghe.SuiteGM, ronghe.SuiteINTL} {
		for _, size := range []int{0, 1, MinChunkSize - 1, MinChunkSize, MinChunkSize + 1, 5*MinChunkSize + 3} {
			t.Run(fmt.Sprintf("%s/%d", s, size), func(t *testing.T) {
				c, err := NewChunkCipher(ctx, kek, s, WithChunkSize(MinChunkSize))
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				if c.Suite() != s || c.ChunkSize() != MinChunkSize {
					t.Fatalf("suite %s chunk %d", c.Suite(), c.ChunkSize())
				}
				plain := make([]byte, size)
				rand.Read(plain)
				blob := sealAll(t, c, plain)
				if got, want := int64(len(blob)), c.SealedSize(int64(size)); got != want {
					t.Fatalf("SealedSize = %d, blob is %d bytes", want, got)
				}
				got, err := Open(ctx, kek, blob)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, plain) {
					t.Fatal("plaintext differs after NewReader")
				}
			})
		}
	}
}

func TestOpenChunkCipherResumes(t *testing.T) {
	ctx := context.Background()
	kek := testKEK(t, "test-kek")
	plain := make([]byte, 3*MinChunkSize+17)
	rand.Read(plain)

	c1, err := NewChunkCipher(ctx, kek, ronghe.SuiteGM, WithChunkSize(MinChunkSize))
	if err != nil {
		t.Fatal(err)
	}
	blob := append([]byte(nil), c1.Header()...)
	blob, _ = c1.Seal(blob, plain[:MinChunkSize], 0, false)
	c1.Close()

	// A "restart": only the header survives in memory.
	c2, err := OpenChunkCipher(ctx, kek, blob[:len(c1.Header())])
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	first := blob[len(c2.Header()):]
	pt, err := c2.Open(nil, first, 0, false)
	if err != nil || !bytes.Equal(pt, plain[:MinChunkSize]) {
		t.Fatalf("reopened cipher cannot open chunk 0: %v", err)
	}
	blob, _ = c2.Seal(blob, plain[MinChunkSize:2*MinChunkSize], 1, false)
	blob, _ = c2.Seal(blob, plain[2*MinChunkSize:3*MinChunkSize], 2, false)
	blob, _ = c2.Seal(blob, plain[3*MinChunkSize:], 3, true)
	got, err := Open(ctx, kek, blob)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("resumed envelope does not read back: %v", err)
	}
}

func TestChunkCipherMatchesWriter(t *testing.T) {
	// NewWriter's Write path lays chunks out as the upload store does, so
	// the same plaintext gives blobs of the same length.
	ctx := context.Background()
	kek := testKEK(t, "test-kek")
	for _, size := range []int{0, 1, DefaultChunkSize, 3*DefaultChunkSize + 5} {
		blob, err := Seal(ctx, kek, ronghe.SuiteINTL, make([]byte, size))
		if err != nil {
			t.Fatal(err)
		}
		_, n, err := ParseHeader(blob)
		if err != nil {
			t.Fatal(err)
		}
		c, err := OpenChunkCipher(ctx, kek, blob[:n])
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if got := c.SealedSize(int64(size)); got != int64(len(blob)) {
			t.Errorf("size %d: SealedSize %d, writer produced %d", size, got, len(blob))
		}
		c.Close()
	}
}

func TestChunkCipherRejects(t *testing.T) {
	ctx := context.Background()
	kek := testKEK(t, "test-kek")
	c, err := NewChunkCipher(ctx, kek, ronghe.SuiteINTL, WithChunkSize(MinChunkSize))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	full := make([]byte, MinChunkSize)
	sealed, err := c.Seal(nil, full, 4, false)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		run  func() error
		code string
	}{
		{"short non-last chunk", func() error { _, err := c.Seal(nil, full[:10], 0, false); return err }, ronghe.EINVALID},
		{"oversized last chunk", func() error { _, err := c.Seal(nil, make([]byte, MinChunkSize+1), 0, true); return err }, ronghe.EINVALID},
		{"index beyond the counter", func() error { _, err := c.Seal(nil, full, maxChunks, false); return err }, ronghe.ETOOLARGE},
		{"wrong index", func() error { _, err := c.Open(nil, sealed, 5, false); return err }, ronghe.EINTEGRITY},
		{"wrong last flag", func() error { _, err := c.Open(nil, sealed, 4, true); return err }, ronghe.EINTEGRITY},
		{"truncated chunk", func() error { _, err := c.Open(nil, sealed[:len(sealed)-1], 4, false); return err }, ronghe.EINTEGRITY},
		{"shorter than a tag", func() error { _, err := c.Open(nil, sealed[:3], 4, true); return err }, ronghe.EINTEGRITY},
		{"flipped bit", func() error {
			bad := append([]byte(nil), sealed...)
			bad[7] ^= 1
			_, err := c.Open(nil, bad, 4, false)
			return err
		}, ronghe.EINTEGRITY},
		{"other KEK", func() error {
			_, err := OpenChunkCipher(ctx, testKEK(t, "other"), c.Header())
			return err
		}, ronghe.EINTEGRITY},
		{"same ID, other key", func() error {
			_, err := OpenChunkCipher(ctx, testKEK(t, "test-kek"), c.Header())
			return err
		}, ronghe.EINTEGRITY},
		{"header with trailing bytes", func() error {
			_, err := OpenChunkCipher(ctx, kek, append(append([]byte(nil), c.Header()...), 0))
			return err
		}, ronghe.EINTEGRITY},
		{"not a header", func() error { _, err := OpenChunkCipher(ctx, kek, []byte("plain text, not an envelope")); return err }, ronghe.EINTEGRITY},
		{"nil KEK", func() error { _, err := NewChunkCipher(ctx, nil, ronghe.SuiteGM); return err }, ronghe.EINVALID},
		{"bad suite", func() error { _, err := NewChunkCipher(ctx, kek, "ROT13"); return err }, ronghe.EUNSUPPORTED},
		{"bad chunk size", func() error { _, err := NewChunkCipher(ctx, kek, ronghe.SuiteGM, WithChunkSize(1000)); return err }, ronghe.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			if err == nil {
				t.Fatal("no error")
			}
			if got := ronghe.ErrorCode(err); got != tt.code {
				t.Fatalf("code %q, want %q (%v)", got, tt.code, err)
			}
		})
	}
}

func TestChunkCipherConcurrentSeal(t *testing.T) {
	// Seal may run on several goroutines at once; the result must equal
	// sequential sealing.
	ctx := context.Background()
	kek := testKEK(t, "test-kek")
	c, err := NewChunkCipher(ctx, kek, ronghe.SuiteGM, WithChunkSize(MinChunkSize))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const n = 64
	plain := make([]byte, n*MinChunkSize)
	rand.Read(plain)
	out := make([][]byte, n)
	errs := make(chan error, n)
	for i := range n {
		go func() {
			var err error
			out[i], err = c.Seal(nil, plain[i*MinChunkSize:(i+1)*MinChunkSize], uint64(i), i == n-1)
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	blob := append([]byte(nil), c.Header()...)
	for _, b := range out {
		blob = append(blob, b...)
	}
	got, err := Open(ctx, kek, blob)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("concurrently sealed envelope does not read back: %v", err)
	}
}
