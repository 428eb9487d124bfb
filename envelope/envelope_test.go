package envelope

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"runtime"
	"testing"
	"testing/iotest"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/suite"
)

var suites = []ronghe.Suite{ronghe.SuiteGM, ronghe.SuiteINTL}

func newKEK(t testing.TB, id string) *LocalKEK {
	t.Helper()
	key := make([]byte, LocalKEKSize)
	rand.Read(key)
	k, err := NewLocalKEK(id, key)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func wantCode(t *testing.T, err error, codes ...string) {
	t.Helper()
	got := ronghe.ErrorCode(err)
	for _, c := range codes {
		if got == c {
			return
		}
	}
	t.Fatalf("error code %q (%v), want one of %q", got, err, codes)
}

// pseudo returns n reproducible bytes that are not all alike.
func pseudo(n int, seed uint64) []byte {
	r := mrand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16)})
	b := make([]byte, n)
	r.Read(b)
	return b
}

// seal encrypts pt with the given write pattern and options.
func seal(t testing.TB, kek KEK, s ronghe.Suite, pt []byte, pattern string, opts ...Option) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := NewWriter(t.Context(), &out, kek, s, opts...)
	if err != nil {
		t.Fatal(err)
	}
	switch pattern {
	case "one":
		if n, err := w.Write(pt); err != nil || n != len(pt) {
			t.Fatalf("Write = %d, %v", n, err)
		}
	case "small":
		// Odd-sized writes that straddle chunk boundaries.
		for rest, step := pt, 1; len(rest) > 0; step = step*3%7919 + 1 {
			k := min(step, len(rest))
			if n, err := w.Write(rest[:k]); err != nil || n != k {
				t.Fatalf("Write = %d, %v", n, err)
			}
			rest = rest[k:]
		}
	case "copy":
		// io.Copy through ReadFrom, from a reader returning short reads.
		if n, err := io.Copy(w, iotest.HalfReader(bytes.NewReader(pt))); err != nil || n != int64(len(pt)) {
			t.Fatalf("io.Copy = %d, %v", n, err)
		}
	default:
		t.Fatalf("unknown pattern %q", pattern)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	return out.Bytes()
}

func open(t testing.TB, kek KEK, ct []byte, pattern string, opts ...Option) ([]byte, error) {
	t.Helper()
	r, err := NewReader(t.Context(), bytes.NewReader(ct), kek, opts...)
	if err != nil {
		return nil, err
	}
	switch pattern {
	case "readall":
		return io.ReadAll(r)
	case "small":
		return io.ReadAll(iotest.OneByteReader(r))
	case "writeto":
		var b bytes.Buffer
		_, err := r.(io.WriterTo).WriteTo(&b)
		return b.Bytes(), err
	}
	t.Fatalf("unknown pattern %q", pattern)
	return nil, nil
}

// sealedSize is the envelope length the format prescribes.
func sealedSize(headerLen, chunk, n int) int {
	chunks := max(1, (n+chunk-1)/chunk)
	return headerLen + n + chunks*suite.TagSize
}

func TestRoundTrip(t *testing.T) {
	const c = DefaultChunkSize
	sizes := []int{0, 1, c - 1, c, c + 1, 2 * c, 5<<20 + 13}
	for _, s := range suites {
		kek := newKEK(t, "test-kek")
		for _, n := range sizes {
			pt := pseudo(n, uint64(n))
			for _, workers := range []int{1, 3} {
				patterns := []string{"one", "small", "copy"}
				if n > 2*c {
					patterns = []string{"one", "copy"}
				}
				for _, wp := range patterns {
					name := fmt.Sprintf("%s/%d/w%d/%s", s, n, workers, wp)
					t.Run(name, func(t *testing.T) {
						ct := seal(t, kek, s, pt, wp, WithConcurrency(workers))
						h, err := ReadHeader(bytes.NewReader(ct))
						if err != nil {
							t.Fatal(err)
						}
						hb, _ := h.MarshalBinary()
						if h.Suite != s || h.ChunkSize != c || h.KEKID != kek.ID() {
							t.Fatalf("header %+v", h)
						}
						if want := sealedSize(len(hb), c, n); len(ct) != want {
							t.Fatalf("envelope is %d bytes, want %d", len(ct), want)
						}
						if n >= 64 && bytes.Contains(ct, pt[:64]) {
							t.Fatal("plaintext visible in envelope")
						}
						for _, rp := range []string{"readall", "small", "writeto"} {
							if rp == "small" && n > 2*c {
								continue
							}
							for _, rw := range []int{1, 3} {
								got, err := open(t, kek, ct, rp, WithConcurrency(rw))
								if err != nil {
									t.Fatalf("%s/r%d: %v", rp, rw, err)
								}
								if !bytes.Equal(got, pt) {
									t.Fatalf("%s/r%d: plaintext differs (%d vs %d bytes)", rp, rw, len(got), len(pt))
								}
							}
						}
					})
				}
			}
		}
	}
}

func TestChunkSizes(t *testing.T) {
	kek := newKEK(t, "k")
	for _, c := range []int{MinChunkSize, 4096, MaxChunkSize} {
		for _, n := range []int{0, c - 1, c, 3*c + 1} {
			pt := pseudo(n, 7)
			ct := seal(t, kek, ronghe.SuiteGM, pt, "one", WithChunkSize(c), WithConcurrency(2))
			got, err := Open(t.Context(), kek, ct)
			if err != nil || !bytes.Equal(got, pt) {
				t.Fatalf("chunk %d size %d: %v", c, n, err)
			}
		}
	}
	for _, c := range []int{0, MinChunkSize - 1, MinChunkSize / 2, 3000, 2 * MaxChunkSize} {
		_, err := NewWriter(t.Context(), io.Discard, kek, ronghe.SuiteGM, WithChunkSize(c))
		wantCode(t, err, ronghe.EINVALID)
	}
	_, err := NewWriter(t.Context(), io.Discard, kek, ronghe.SuiteGM, WithConcurrency(0))
	wantCode(t, err, ronghe.EINVALID)
}

func TestSealOpen(t *testing.T) {
	kek := newKEK(t, "k")
	for _, s := range suites {
		pt := []byte("evidence record")
		ct, err := Seal(t.Context(), kek, s, pt)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Open(t.Context(), kek, ct)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("Open = %q, %v", got, err)
		}
		ct2, _ := Seal(t.Context(), kek, s, pt)
		if bytes.Equal(ct, ct2) {
			t.Fatal("two seals of the same plaintext are identical: data key or nonce reused")
		}
	}
	_, err := Seal(t.Context(), kek, "ROT13", nil)
	wantCode(t, err, ronghe.EUNSUPPORTED)
	_, err = Seal(t.Context(), nil, ronghe.SuiteGM, nil)
	wantCode(t, err, ronghe.EINVALID)
}

// tamperFixture is a three-chunk envelope small enough to alter every byte of.
func tamperFixture(t *testing.T, kek KEK, s ronghe.Suite) (pt, ct []byte, headerLen int) {
	t.Helper()
	pt = pseudo(2*MinChunkSize+40, 99)
	ct = seal(t, kek, s, pt, "one", WithChunkSize(MinChunkSize))
	_, headerLen, err := ParseHeader(ct)
	if err != nil {
		t.Fatal(err)
	}
	return pt, ct, headerLen
}

// mustFail decrypts ct and requires an integrity (or, for the version byte,
// unsupported) error and that no plaintext beyond authenticated chunks
// escapes.
func mustFail(t *testing.T, kek KEK, ct []byte, codes ...string) {
	t.Helper()
	if len(codes) == 0 {
		codes = []string{ronghe.EINTEGRITY}
	}
	got, err := Open(t.Context(), kek, ct)
	if err == nil {
		t.Fatalf("tampered envelope opened (%d bytes)", len(got))
	}
	wantCode(t, err, codes...)
	// The streaming reader must fail too, never end in a clean io.EOF, and
	// whatever it returned before failing must be a prefix of the plaintext
	// of authenticated chunks, at any concurrency.
	for _, workers := range []int{1, 2, 5} {
		r, err := NewReader(t.Context(), bytes.NewReader(ct), kek, WithConcurrency(workers))
		if err == nil {
			_, err = io.ReadAll(r)
		}
		if err == nil {
			t.Fatalf("tampered envelope streamed to a clean EOF (concurrency %d)", workers)
		}
		wantCode(t, err, codes...)
	}
}

func TestTamperEveryByte(t *testing.T) {
	for _, s := range suites {
		t.Run(string(s), func(t *testing.T) {
			kek := newKEK(t, "k")
			_, ct, _ := tamperFixture(t, kek, s)
			for i := range ct {
				for _, bit := range []byte{0x01, 0x80} {
					bad := bytes.Clone(ct)
					bad[i] ^= bit
					if i == len(Magic)-1 {
						mustFail(t, kek, bad, ronghe.EUNSUPPORTED) // version byte
					} else {
						mustFail(t, kek, bad)
					}
				}
			}
		})
	}
}

func TestTruncateAndExtend(t *testing.T) {
	for _, s := range suites {
		t.Run(string(s), func(t *testing.T) {
			kek := newKEK(t, "k")
			_, ct, _ := tamperFixture(t, kek, s)
			for n := range len(ct) {
				mustFail(t, kek, ct[:n])
			}
			for _, tail := range [][]byte{{0}, make([]byte, suite.TagSize), ct[len(ct)-suite.TagSize-40:]} {
				mustFail(t, kek, append(bytes.Clone(ct), tail...))
			}
		})
	}
}

// TestTruncateAtChunkBoundary drops whole trailing chunks of a stream whose
// chunks are all full, the case a length-only check would miss.
func TestTruncateAtChunkBoundary(t *testing.T) {
	kek := newKEK(t, "k")
	pt := pseudo(4*MinChunkSize, 1)
	ct := seal(t, kek, ronghe.SuiteGM, pt, "one", WithChunkSize(MinChunkSize))
	_, hl, _ := ParseHeader(ct)
	full := MinChunkSize + suite.TagSize
	for k := range 4 {
		mustFail(t, kek, ct[:hl+k*full])
	}
}

func TestReorderAndSplice(t *testing.T) {
	kek := newKEK(t, "k")
	full := MinChunkSize + suite.TagSize
	for _, s := range suites {
		t.Run(string(s), func(t *testing.T) {
			_, ct, hl := tamperFixture(t, kek, s)
			_, other, ohl := tamperFixture(t, kek, s) // same KEK, same sizes
			chunks := func(b []byte, hl int) [][]byte {
				return [][]byte{b[hl : hl+full], b[hl+full : hl+2*full], b[hl+2*full:]}
			}
			c, o := chunks(ct, hl), chunks(other, ohl)
			join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
			h := ct[:hl]
			cases := map[string][]byte{
				"swap 0 1":              join(h, c[1], c[0], c[2]),
				"duplicate 0":           join(h, c[0], c[0], c[2]),
				"drop middle":           join(h, c[0], c[2]),
				"chunk from other blob": join(h, c[0], o[1], c[2]),
				"other header":          join(other[:ohl], c[0], c[1], c[2]),
				"last chunk moved":      join(h, c[0], c[2], c[1]),
			}
			for name, bad := range cases {
				t.Run(name, func(t *testing.T) { mustFail(t, kek, bad) })
			}
		})
	}
}

// TestHeaderFieldTampering rewrites header fields consistently (so the header
// still parses) and requires every chunk to fail: the header is bound to the
// chunks as associated data.
func TestHeaderFieldTampering(t *testing.T) {
	kek := newKEK(t, "k")
	pt := pseudo(1000, 5)
	ct := seal(t, kek, ronghe.SuiteGM, pt, "one", WithChunkSize(MinChunkSize))
	h, hl, err := ParseHeader(ct)
	if err != nil {
		t.Fatal(err)
	}
	body := ct[hl:]
	for name, edit := range map[string]func(h *Header){
		"nonce prefix": func(h *Header) { h.NoncePrefix[3] ^= 1 },
		"chunk size":   func(h *Header) { h.ChunkSize *= 2 },
		"suite":        func(h *Header) { h.Suite = ronghe.SuiteINTL },
	} {
		t.Run(name, func(t *testing.T) {
			h2 := *h
			edit(&h2)
			hb, err := h2.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			mustFail(t, kek, append(hb, body...))
		})
	}
	// A different wrapped key under a different KEK ID and the same master key
	// would need the KEK to cooperate; re-wrapping the same DEK under the same
	// KEK (fresh wrap nonce) changes the header bytes and so must fail too.
	dek, err := kek.Unwrap(t.Context(), h.WrappedDEK)
	if err != nil {
		t.Fatal(err)
	}
	h2 := *h
	if h2.WrappedDEK, err = kek.Wrap(t.Context(), dek); err != nil {
		t.Fatal(err)
	}
	hb, _ := h2.MarshalBinary()
	mustFail(t, kek, append(hb, body...))
}

func TestWrongKEK(t *testing.T) {
	kek := newKEK(t, "kek-a")
	for _, s := range suites {
		ct, err := Seal(t.Context(), kek, s, []byte("secret"))
		if err != nil {
			t.Fatal(err)
		}
		for name, other := range map[string]KEK{
			"same id, other key": newKEK(t, "kek-a"),
			"other id":           newKEK(t, "kek-b"),
		} {
			t.Run(string(s)+"/"+name, func(t *testing.T) {
				_, err := NewReader(t.Context(), bytes.NewReader(ct), other)
				wantCode(t, err, ronghe.EINTEGRITY)
			})
		}
	}
	_, err := NewReader(t.Context(), bytes.NewReader(nil), nil)
	wantCode(t, err, ronghe.EINVALID)
}

func TestNotAnEnvelope(t *testing.T) {
	kek := newKEK(t, "k")
	for _, in := range [][]byte{nil, []byte("RONGHE"), []byte("PK\x03\x04 a zip file, not an envelope at all......")} {
		_, err := NewReader(t.Context(), bytes.NewReader(in), kek)
		wantCode(t, err, ronghe.EINTEGRITY)
	}
	v2 := []byte("RONGHE-ENV\x02" + string(make([]byte, 64)))
	_, err := NewReader(t.Context(), bytes.NewReader(v2), kek)
	wantCode(t, err, ronghe.EUNSUPPORTED)
}

// errWriter fails once more than limit bytes have been written.
type errWriter struct {
	limit, n int
}

var errDisk = errors.New("disk full")

func (w *errWriter) Write(p []byte) (int, error) {
	if w.n+len(p) > w.limit {
		k := w.limit - w.n
		w.n = w.limit
		return k, errDisk
	}
	w.n += len(p)
	return len(p), nil
}

func TestWriterDestinationError(t *testing.T) {
	kek := newKEK(t, "k")
	pt := pseudo(1<<20, 3)
	for _, workers := range []int{1, 4} {
		for _, limit := range []int{0, 10, 100, 200_000} {
			t.Run(fmt.Sprintf("w%d/limit%d", workers, limit), func(t *testing.T) {
				dst := &errWriter{limit: limit}
				w, err := NewWriter(t.Context(), dst, kek, ronghe.SuiteGM, WithConcurrency(workers))
				if err != nil {
					if !errors.Is(err, errDisk) {
						t.Fatalf("NewWriter: %v", err)
					}
					return
				}
				_, werr := w.Write(pt)
				cerr := w.Close()
				if !errors.Is(cerr, errDisk) {
					t.Fatalf("Close = %v (Write %v), want the destination's error", cerr, werr)
				}
				if werr != nil && !errors.Is(werr, errDisk) {
					t.Fatalf("Write = %v", werr)
				}
				if _, err := w.Write([]byte("x")); err == nil {
					t.Fatal("Write after a failed Close succeeded")
				}
			})
		}
	}
}

func TestWriterContextCancelled(t *testing.T) {
	kek := newKEK(t, "k")
	for _, workers := range []int{1, 4} {
		ctx, cancel := context.WithCancel(t.Context())
		var out bytes.Buffer
		w, err := NewWriter(ctx, &out, kek, ronghe.SuiteINTL, WithConcurrency(workers))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(pseudo(3*DefaultChunkSize, 1)); err != nil {
			t.Fatal(err)
		}
		cancel()
		_, err = w.Write(pseudo(3*DefaultChunkSize, 2))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Write after cancel = %v", err)
		}
		if err := w.Close(); !errors.Is(err, context.Canceled) {
			t.Fatalf("Close after cancel = %v", err)
		}
		// Whatever reached dst is an incomplete envelope.
		mustFail(t, kek, out.Bytes())
	}
}

func TestWriteAfterClose(t *testing.T) {
	kek := newKEK(t, "k")
	w, err := NewWriter(t.Context(), io.Discard, kek, ronghe.SuiteGM)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = w.Write([]byte("late"))
	wantCode(t, err, ronghe.EINVALID)
	_, err = w.(io.ReaderFrom).ReadFrom(bytes.NewReader([]byte("late")))
	wantCode(t, err, ronghe.EINVALID)
}

func TestTooManyChunks(t *testing.T) {
	kek := newKEK(t, "k")
	w, err := newWriter(t.Context(), io.Discard, kek, ronghe.SuiteGM, WithChunkSize(MinChunkSize), WithConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	w.seq = maxChunks - 1 // as if 2^32-1 chunks had been written
	if _, err := w.Write(make([]byte, MinChunkSize)); err != nil {
		t.Fatal(err) // fills the last possible chunk
	}
	_, err = w.Write([]byte{1}) // would need chunk number 2^32
	wantCode(t, err, ronghe.ETOOLARGE)
}

// errReader fails after returning some data.
type errReader struct{ r io.Reader }

var errNetwork = errors.New("connection reset")

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		return n, errNetwork
	}
	return n, err
}

func TestReaderSourceError(t *testing.T) {
	kek := newKEK(t, "k")
	ct := seal(t, kek, ronghe.SuiteGM, pseudo(300_000, 1), "one")
	r, err := NewReader(t.Context(), &errReader{bytes.NewReader(ct)}, kek)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(r); !errors.Is(err, errNetwork) {
		t.Fatalf("ReadAll = %v, want the source's error", err)
	}
}

// TestMemoryStaysFlat streams 64 MiB through a writer and a reader and
// requires the bytes allocated to stay at a few chunks, not the blob size.
func TestMemoryStaysFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 64 MiB")
	}
	const total = 64 << 20
	kek := newKEK(t, "k")
	src := pseudo(1<<20, 1)
	pr, pw := io.Pipe()
	var wErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		w, err := NewWriter(t.Context(), pw, kek, ronghe.SuiteINTL, WithConcurrency(2))
		if err != nil {
			wErr = err
			pw.CloseWithError(err)
			return
		}
		for range total / len(src) {
			if _, err := w.Write(src); err != nil {
				wErr = err
				break
			}
		}
		if err := w.Close(); err != nil && wErr == nil {
			wErr = err
		}
		pw.CloseWithError(wErr)
	}()
	before := totalAlloc()
	r, err := NewReader(t.Context(), pr, kek)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{r}, make([]byte, 32<<10))
	<-done
	if err != nil || wErr != nil || n != total {
		t.Fatalf("copied %d, read %v, write %v", n, err, wErr)
	}
	if grew := totalAlloc() - before; grew > 8<<20 {
		t.Fatalf("streaming %d MiB allocated %d MiB", total>>20, grew>>20)
	}
}

// TestPartialOutputIsAuthenticatedPrefix corrupts the final chunk: the
// reader returns exactly the chunks before it, then the error.
func TestPartialOutputIsAuthenticatedPrefix(t *testing.T) {
	kek := newKEK(t, "k")
	pt := pseudo(5*MinChunkSize+9, 8)
	ct := seal(t, kek, ronghe.SuiteINTL, pt, "one", WithChunkSize(MinChunkSize))
	ct[len(ct)-1] ^= 1
	for _, workers := range []int{1, 2, 4} {
		r, err := NewReader(t.Context(), bytes.NewReader(ct), kek, WithConcurrency(workers))
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		_, err = io.Copy(&got, iotest.HalfReader(r))
		wantCode(t, err, ronghe.EINTEGRITY)
		if !bytes.Equal(got.Bytes(), pt[:5*MinChunkSize]) {
			t.Fatalf("concurrency %d: returned %d bytes before the error, want the %d of the good chunks", workers, got.Len(), 5*MinChunkSize)
		}
		// The error is sticky.
		if _, err := r.Read(make([]byte, 10)); ronghe.ErrorCode(err) != ronghe.EINTEGRITY {
			t.Fatalf("Read after failure = %v", err)
		}
	}
}

func TestReaderContextCancelled(t *testing.T) {
	kek := newKEK(t, "k")
	ct := seal(t, kek, ronghe.SuiteGM, pseudo(10*MinChunkSize, 1), "one", WithChunkSize(MinChunkSize))
	ctx, cancel := context.WithCancel(t.Context())
	r, err := NewReader(ctx, bytes.NewReader(ct), kek)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(r, make([]byte, MinChunkSize)); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := io.ReadAll(r); !errors.Is(err, context.Canceled) {
		t.Fatalf("ReadAll after cancel = %v", err)
	}
}

// TestAbandonedWriterReleasesGoroutines drops a Writer with a running
// pipeline without Close; once collected, its goroutines must exit.
func TestAbandonedWriterReleasesGoroutines(t *testing.T) {
	kek := newKEK(t, "k")
	var p *pipeline // the pipeline holds no reference to its Writer
	func() {
		w, err := newWriter(t.Context(), io.Discard, kek, ronghe.SuiteINTL, WithConcurrency(4), WithChunkSize(MinChunkSize))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(make([]byte, 10*MinChunkSize)); err != nil {
			t.Fatal(err)
		}
		if p = w.pipe; p == nil {
			t.Fatal("pipeline not running")
		}
	}()
	// Collect garbage until the cleanup has stopped the pipeline; counting
	// cycles, not time.
	for i := 0; ; i++ {
		select {
		case <-p.finished:
			p.workers.Wait()
			return
		default:
		}
		if i == 10_000 {
			t.Fatal("pipeline goroutines still running after the Writer was collected")
		}
		runtime.GC()
		runtime.Gosched()
	}
}
