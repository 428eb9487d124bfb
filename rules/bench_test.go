package rules

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/ronghe/ronghe/gen"
	"github.com/ronghe/ronghe/rrs"
)

// BenchmarkValidate checks a generated region end to end from its CSV files
// (staging, every rule, findings), as `ronghe validate` does, and reports TXN
// rows per second and CPU nanoseconds per TXN row. The region has
// RULES_BENCH_ENTERPRISES enterprises (default 2,000) at 8 banks over
// RULES_BENCH_DAYS days (default 10); it is generated once into the
// temporary directory and reused. bench/validate.sh runs the 10 M-row
// comparison with the per-rule SQL peer.
func BenchmarkValidate(b *testing.B) {
	ents := envInt("RULES_BENCH_ENTERPRISES", 2000)
	days := envInt("RULES_BENCH_DAYS", 10)
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("ronghe-rules-bench-%d-%d", ents, days))
	if _, err := os.Stat(filepath.Join(dir, "region.json")); err != nil {
		os.RemoveAll(dir)
		cfg := gen.Config{Seed: 1, Institutions: 8, Enterprises: ents, People: ents * 3,
			Start: rrs.Date{Y: 2025, M: 3, D: 1}, Days: days, Encoding: rrs.UTF8, OutDir: dir}
		if _, err := gen.Generate(context.Background(), cfg); err != nil {
			b.Fatal(err)
		}
	}
	paths := batchPaths(b, dir)
	ctx := context.Background()
	var txn int64
	var cpu time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c0 := cpuTime()
		e, err := New(ctx, Options{OneShot: true})
		if err != nil {
			b.Fatal(err)
		}
		sum, err := e.Run(ctx, paths, func(Finding) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
		e.Close()
		cpu += cpuTime() - c0
		txn += sum.Rows["TXN"]
	}
	b.ReportMetric(float64(txn)/b.Elapsed().Seconds(), "txnrows/s")
	if txn > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(txn), "cpu-ns/txnrow")
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
