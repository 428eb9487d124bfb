package suite

import (
	"crypto/rand"
	"testing"

	"github.com/ronghe/ronghe"
)

func BenchmarkSign(b *testing.B) {
	for _, s := range suites {
		b.Run(string(s), func(b *testing.B) {
			k := generate(b, s)
			msg := make([]byte, 256)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := k.Sign(msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, s := range suites {
		b.Run(string(s), func(b *testing.B) {
			k := generate(b, s)
			msg := make([]byte, 256)
			sig, err := k.Sign(msg)
			if err != nil {
				b.Fatal(err)
			}
			pub := k.PublicKey()
			b.ReportAllocs()
			for b.Loop() {
				if err := pub.Verify(msg, sig); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

const benchBufSize = 1 << 20

// BenchmarkHash measures SM3 against SHA-256 over 1 MiB buffers.
func BenchmarkHash(b *testing.B) {
	buf := make([]byte, benchBufSize)
	rand.Read(buf)
	for _, s := range suites {
		b.Run(s.HashName(), func(b *testing.B) {
			h := NewHash(s)
			sum := make([]byte, 0, DigestSize)
			b.SetBytes(benchBufSize)
			for b.Loop() {
				h.Reset()
				h.Write(buf)
				sum = h.Sum(sum[:0])
			}
		})
	}
}

// BenchmarkSeal measures SM4-GCM against AES-256-GCM sealing 1 MiB buffers
// in place.
func BenchmarkSeal(b *testing.B) {
	names := map[ronghe.Suite]string{ronghe.SuiteGM: "SM4-GCM", ronghe.SuiteINTL: "AES-256-GCM"}
	for _, s := range suites {
		b.Run(names[s], func(b *testing.B) {
			key := make([]byte, KeySize(s))
			rand.Read(key)
			aead, err := NewAEAD(s, key)
			if err != nil {
				b.Fatal(err)
			}
			nonce := make([]byte, NonceSize)
			buf := make([]byte, benchBufSize, benchBufSize+TagSize)
			b.SetBytes(benchBufSize)
			for b.Loop() {
				aead.Seal(buf[:0], nonce, buf, nil)
			}
		})
	}
}
