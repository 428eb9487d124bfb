package gen

import (
	"context"
	"os"
	"testing"

	"github.com/ronghe/ronghe/rrs"
)

// BenchmarkGenerate measures generation throughput in TXN rows per second
// (all batch files written, ACCT/BAL/GL/CTL included) for a mid-sized region.
func BenchmarkGenerate(b *testing.B) {
	cfg := Config{Seed: 1, Institutions: 8, Enterprises: 4000, People: 20000,
		Start: rrs.Date{Y: 2025, M: 3, D: 1}, Days: 10, Encoding: rrs.UTF8}
	var rows, bytes int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir, err := os.MkdirTemp(os.Getenv("GEN_BENCH_DIR"), "genbench")
		if err != nil {
			b.Fatal(err)
		}
		cfg.OutDir = dir
		b.StartTimer()
		s, err := Generate(context.Background(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		rows += s.Rows[rrs.TXN]
		bytes += s.Bytes
		os.RemoveAll(dir)
		b.StartTimer()
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "txnrows/s")
	b.ReportMetric(float64(bytes)/b.Elapsed().Seconds()/1e6, "MB/s")
	b.ReportMetric(float64(rows)/float64(b.N), "txnrows/op")
}
