package envelope

import (
	"bytes"
	"io"
	"testing"

	"github.com/ronghe/ronghe"
)

// fuzzKEK is a fixed KEK so that seeds made with it stay valid across runs.
func fuzzKEK(t testing.TB) *LocalKEK {
	k, err := NewLocalKEK("fuzz", bytes.Repeat([]byte{7}, LocalKEKSize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func FuzzParseHeader(f *testing.F) {
	kek := fuzzKEK(f)
	for _, s := range suites {
		ct, err := Seal(f.Context(), kek, s, []byte("seed"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(ct)
	}
	f.Add([]byte(Magic))
	f.Add([]byte("RONGHE-ENV\x02"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := ParseHeader(b)
		hr, rerr := ReadHeader(bytes.NewReader(b))
		if (err == nil) != (rerr == nil) {
			t.Fatalf("ParseHeader %v but ReadHeader %v", err, rerr)
		}
		if err != nil {
			if c := ronghe.ErrorCode(err); c != ronghe.EINTEGRITY && c != ronghe.EUNSUPPORTED {
				t.Fatalf("error code %q: %v", c, err)
			}
			return
		}
		if n > len(b) {
			t.Fatalf("consumed %d of %d bytes", n, len(b))
		}
		enc, err := h.MarshalBinary()
		if err != nil {
			t.Fatalf("parsed header does not marshal: %v", err)
		}
		if !bytes.Equal(enc, b[:n]) {
			t.Fatalf("header does not round-trip:\n%x\n%x", enc, b[:n])
		}
		if hr.KEKID != h.KEKID || !bytes.Equal(hr.WrappedDEK, h.WrappedDEK) || hr.ChunkSize != h.ChunkSize {
			t.Fatal("ReadHeader and ParseHeader disagree")
		}
	})
}

// FuzzReader feeds arbitrary envelopes to the reader with the right KEK: it
// must never panic, and anything but a genuine envelope fails cleanly.
func FuzzReader(f *testing.F) {
	kek := fuzzKEK(f)
	for _, s := range suites {
		for _, n := range []int{0, 1, MinChunkSize, 2*MinChunkSize + 3} {
			ct := seal(f, kek, s, pseudo(n, 1), "one", WithChunkSize(MinChunkSize))
			f.Add(ct)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewReader(t.Context(), bytes.NewReader(b), kek)
		if err != nil {
			return
		}
		_, err = io.Copy(io.Discard, r)
		if err != nil {
			if c := ronghe.ErrorCode(err); c != ronghe.EINTEGRITY {
				t.Fatalf("error code %q: %v", c, err)
			}
		}
	})
}

// FuzzRoundTrip checks that every plaintext, written in pieces of any size,
// comes back unchanged.
func FuzzRoundTrip(f *testing.F) {
	kek := fuzzKEK(f)
	f.Add([]byte("hello"), uint16(3), true, uint8(1))
	f.Add(bytes.Repeat([]byte{1}, 3*MinChunkSize), uint16(MinChunkSize), false, uint8(3))
	f.Fuzz(func(t *testing.T, pt []byte, step uint16, gm bool, workers uint8) {
		s := ronghe.SuiteINTL
		if gm {
			s = ronghe.SuiteGM
		}
		var out bytes.Buffer
		w, err := NewWriter(t.Context(), &out, kek, s, WithChunkSize(MinChunkSize), WithConcurrency(int(workers%4)+1))
		if err != nil {
			t.Fatal(err)
		}
		for rest := pt; len(rest) > 0; {
			k := min(int(step)+1, len(rest))
			if _, err := w.Write(rest[:k]); err != nil {
				t.Fatal(err)
			}
			rest = rest[k:]
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		got, err := Open(t.Context(), kek, out.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, pt) {
			t.Fatal("round trip changed the plaintext")
		}
	})
}
