package rules

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"testing"
	"time"
	"unsafe"

	"github.com/ronghe/ronghe/gen"
	"github.com/ronghe/ronghe/rrs"
)

// BenchmarkValidate checks a generated region end to end from its CSV files
// (staging, every rule, findings), as `ronghe validate` does, and reports TXN
// rows per second and CPU nanoseconds per TXN row. The region has
// RULES_BENCH_ENTERPRISES enterprises (default 2,000) at 8 banks over
// RULES_BENCH_DAYS days (default 10); it is generated once into the
// temporary directory and reused. RULES_BENCH_DEBUG=1 logs the engine's
// debug timings (per staged type, view and query). bench/validate.sh runs the 10 M-row
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
	// As ronghe validate runs the engine (cmd/ronghe/validate.go).
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	var txn int64
	var cpu time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c0 := cpuTime()
		opts := Options{OneShot: true}
		if os.Getenv("RULES_BENCH_DEBUG") != "" {
			opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		}
		e, err := New(ctx, opts)
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

// BenchmarkStageRows measures the Go side of staging alone — the rrs reader,
// the built-in field checks, the duplicate index, the key hash, the
// sequence summaries and the vector writes — over the TXN files of the
// BenchmarkValidate region (RULES_BENCH_ENTERPRISES, RULES_BENCH_DAYS),
// one thread, writing into vectors in Go memory instead of DuckDB's. It
// reports the process's CPU nanoseconds per TXN row (the garbage collector
// included), which a busy machine disturbs less than the wall time.
func BenchmarkStageRows(b *testing.B) {
	ents := envInt("RULES_BENCH_ENTERPRISES", 2000)
	days := envInt("RULES_BENCH_DAYS", 10)
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("ronghe-rules-bench-%d-%d", ents, days))
	if _, err := os.Stat(filepath.Join(dir, "region.json")); err != nil {
		b.Skipf("no region in %s: run BenchmarkValidate with the same size first", dir)
	}
	rs, err := Load("")
	if err != nil {
		b.Fatal(err)
	}
	p, err := compile(rs)
	if err != nil {
		b.Fatal(err)
	}
	var st *stagedTable
	for _, t := range p.tables {
		if t.rt.Type == rrs.TXN {
			st = t
		}
	}
	var files []*runBatch
	for i, path := range batchPaths(b, dir) {
		bt, err := rrs.OpenBatch(path, rrs.UTF8)
		if err != nil {
			b.Fatal(err)
		}
		defer bt.Close()
		files = append(files, &runBatch{idx: i, id: bt.ID(), name: bt.ID().String(), batch: bt})
	}
	const capacity = 2048
	raw := make([]rawVector, nMeta+len(st.fields))
	for i := range raw {
		raw[i] = rawVector{data: unsafe.Pointer(&make([]byte, capacity*16)[0]), mask: unsafe.Pointer(&make([]uint64, capacity/64)[0])}
	}
	rows := 0
	b.ResetTimer()
	c0 := cpuTime()
	for i := 0; i < b.N; i++ {
		j := &stageJob{ctx: context.Background(), st: st, rules: p.fieldRules, files: files, raw: true, seqs: p.sequencesOf(rrs.TXN)}
		l := j.NewLocalState().(*stageLocal)
		w := chunkWriter{raw: raw, arena: &l.arena}
		n := 0
		for {
			if l.rd == nil {
				more, err := j.openNext(l)
				if err != nil {
					b.Fatal(err)
				}
				if !more {
					break
				}
				continue
			}
			if err := l.rd.Read(&l.row); err != nil {
				if !errors.Is(err, io.EOF) {
					b.Fatal(err)
				}
				j.closeFile(l, true)
				continue
			}
			if n == capacity {
				n = 0
				l.arena.reset()
			}
			j.stageRow(l, &w, n, &l.row)
			n++
			rows++
		}
		j.release()
	}
	b.ReportMetric(float64((cpuTime()-c0).Nanoseconds())/float64(rows), "cpu-ns/txnrow")
}
