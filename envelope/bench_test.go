package envelope

import (
	"fmt"
	"io"
	"runtime"
	"testing"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/suite"
)

const benchBlob = 32 << 20

// BenchmarkWriter measures sealing a 32 MiB blob written in 1 MiB pieces, at
// one worker and at the default (GOMAXPROCS, at most 8).
func BenchmarkWriter(b *testing.B) {
	kek := newKEK(b, "bench")
	src := pseudo(1<<20, 1)
	for _, s := range suites {
		for _, workers := range []int{1, min(runtime.GOMAXPROCS(0), maxDefaultWorkers)} {
			b.Run(fmt.Sprintf("%s/workers=%d", s, workers), func(b *testing.B) {
				b.SetBytes(benchBlob)
				b.ReportAllocs()
				for b.Loop() {
					w, err := NewWriter(b.Context(), io.Discard, kek, s, WithConcurrency(workers))
					if err != nil {
						b.Fatal(err)
					}
					for range benchBlob / len(src) {
						if _, err := w.Write(src); err != nil {
							b.Fatal(err)
						}
					}
					if err := w.Close(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkWriterWithHash is the upload path: the caller hashes each piece
// with the suite's digest on its own goroutine and writes it to the envelope,
// whose workers encrypt on the other cores.
func BenchmarkWriterWithHash(b *testing.B) {
	kek := newKEK(b, "bench")
	src := pseudo(1<<20, 1)
	for _, s := range suites {
		b.Run(string(s), func(b *testing.B) {
			b.SetBytes(benchBlob)
			for b.Loop() {
				h := suite.NewHash(s)
				w, err := NewWriter(b.Context(), io.Discard, kek, s)
				if err != nil {
					b.Fatal(err)
				}
				for range benchBlob / len(src) {
					h.Write(src)
					if _, err := w.Write(src); err != nil {
						b.Fatal(err)
					}
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
				h.Sum(nil)
			}
		})
	}
}

func BenchmarkReader(b *testing.B) {
	kek := newKEK(b, "bench")
	for _, s := range []ronghe.Suite{ronghe.SuiteGM, ronghe.SuiteINTL} {
		ct, err := Seal(b.Context(), kek, s, pseudo(benchBlob, 2))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(string(s), func(b *testing.B) {
			b.SetBytes(benchBlob)
			b.ReportAllocs()
			buf := make([]byte, 1<<20)
			for b.Loop() {
				r, err := NewReader(b.Context(), bytesReader(ct), kek)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{r}, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRawSeal is the yardstick for BenchmarkWriter: the suite's AEAD
// sealing one DefaultChunkSize chunk in place on one core, no envelope.
func BenchmarkRawSeal(b *testing.B) {
	for _, s := range []ronghe.Suite{ronghe.SuiteGM, ronghe.SuiteINTL} {
		b.Run(string(s), func(b *testing.B) {
			aead, err := suite.NewAEAD(s, pseudo(suite.KeySize(s), 3))
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, DefaultChunkSize, DefaultChunkSize+suite.TagSize)
			nonce := make([]byte, suite.NonceSize)
			ad := make([]byte, 64)
			b.SetBytes(DefaultChunkSize)
			for b.Loop() {
				aead.Seal(buf[:0], nonce, buf, ad)
			}
		})
	}
}
