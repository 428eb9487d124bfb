package upload

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/ronghe/ronghe"
)

// benchSize is the upload written per iteration of the benchmarks.
const benchSize = 64 << 20

// BenchmarkStoreWrite measures the store path alone: NewUpload and one
// WriteChunk of benchSize bytes (hash, seal, write, fsync, commit).
func BenchmarkStoreWrite(b *testing.B) {
	for _, st := range []ronghe.Suite{ronghe.SuiteGM, ronghe.SuiteINTL} {
		b.Run(string(st), func(b *testing.B) { benchStoreWrite(b, st, benchSize) })
	}
}

// BenchmarkStoreWriteLarge is BenchmarkStoreWrite with a PATCH of 512 MiB:
// one checkpoint (fsync and state commit) in the middle and a final fsync,
// where the disk's write rate shows; bench/large-file.sh is the whole
// picture.
func BenchmarkStoreWriteLarge(b *testing.B) {
	for _, st := range []ronghe.Suite{ronghe.SuiteGM, ronghe.SuiteINTL} {
		b.Run(string(st), func(b *testing.B) { benchStoreWrite(b, st, 512<<20) })
	}
}

func benchStoreWrite(b *testing.B, st ronghe.Suite, size int64) {
	store := newStore(b, newKEK(b), nil)
	ctx := tenantCtx(tenantGM)
	data := randBytes(b, int(size))
	b.SetBytes(size)
	for b.Loop() {
		u, err := store.NewUpload(ctx, fileInfo(size, st))
		if err != nil {
			b.Fatal(err)
		}
		n, err := u.WriteChunk(ctx, 0, bytes.NewReader(data))
		if err != nil || n != size {
			b.Fatalf("WriteChunk = %d, %v", n, err)
		}
		info, _ := u.GetInfo(ctx)
		b.StopTimer()
		if err := store.remove(info.ID); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// BenchmarkTusPatch measures the whole path a bank sees: one tus PATCH of
// benchSize bytes through tusd's handler over loopback HTTP.
func BenchmarkTusPatch(b *testing.B) {
	for _, tenant := range []string{tenantGM, tenantINTL} {
		b.Run(string(tenantSuites[tenant]), func(b *testing.B) {
			ts := newTestServer(b, nil)
			c := ts.client(b, tenant)
			data := randBytes(b, benchSize)
			b.SetBytes(benchSize)
			for b.Loop() {
				url := c.mustCreate(benchSize, nil)
				if status, off := c.patch(url, 0, data); status != http.StatusNoContent || off != benchSize {
					b.Fatalf("PATCH: %d %d", status, off)
				}
				b.StopTimer()
				if err := ts.store.remove(idOf(url)); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}
