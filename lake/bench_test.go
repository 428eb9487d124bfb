package lake

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/ronghe/ronghe/gen"
	"github.com/ronghe/ronghe/rrs"
)

// The benchmark region: a month of 5 banks and RONGHE_BENCH_ENTERPRISES
// enterprises (default 2000: about 660,000 TXN rows, 880,000 rows in all),
// generated once per test binary run.
var (
	benchOnce sync.Once
	benchDir  string
	benchDirs []string
	benchRows map[rrs.Type]int64
	benchErr  error
)

func benchRegion(b *testing.B) ([]string, map[rrs.Type]int64) {
	b.Helper()
	benchOnce.Do(func() {
		ent := 2000
		if v, err := strconv.Atoi(os.Getenv("RONGHE_BENCH_ENTERPRISES")); err == nil && v > 0 {
			ent = v
		}
		if benchDir, benchErr = os.MkdirTemp("", "ronghe-lake-bench-"); benchErr != nil {
			return
		}
		cfg := gen.Config{Seed: 2025, Institutions: 5, Enterprises: ent, People: ent / 2, Start: rrs.Date{Y: 2025, M: 1, D: 1}, Days: 31,
			Encoding: rrs.UTF8, OutDir: filepath.Join(benchDir, "region")}
		var sum *gen.Summary
		if sum, benchErr = gen.Generate(context.Background(), cfg); benchErr != nil {
			return
		}
		benchRows = sum.Rows
		entries, err := os.ReadDir(cfg.OutDir)
		if err != nil {
			benchErr = err
			return
		}
		for _, e := range entries {
			if _, err := rrs.ParseBatchID(e.Name()); e.IsDir() && err == nil {
				benchDirs = append(benchDirs, filepath.Join(cfg.OutDir, e.Name()))
			}
		}
		sort.Strings(benchDirs)
		// The generator's summary counts data rows; CTL rows come on top.
		for _, d := range benchDirs {
			bt, err := rrs.OpenBatch(d, rrs.UTF8)
			if err != nil {
				benchErr = err
				return
			}
			r, err := bt.Open(rrs.CTL)
			if err != nil {
				bt.Close()
				benchErr = err
				return
			}
			for {
				if _, err := r.Next(); err != nil {
					break
				}
				benchRows[rrs.CTL]++
			}
			r.Close()
			bt.Close()
		}
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchDirs, benchRows
}

// TestMain removes the benchmark region after the run.
func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

func totalRows(rows map[rrs.Type]int64) int64 {
	var n int64
	for _, r := range rows {
		n += r
	}
	return n
}

// BenchmarkIngest lands the benchmark region into a fresh lake per
// iteration (SQLite catalog, local warehouse): per-batch as the platform
// does daily (one Iceberg transaction per record type and batch: parse,
// check L01/L02, type, add lineage, write Parquet zstd into
// month/institution partitions, commit), and grouped by business date as a
// backlog is loaded (IngestAll: one transaction per table and day). rows/s
// counts the rows of every table.
func BenchmarkIngest(b *testing.B) {
	dirs, rows := benchRegion(b)
	byDay := map[string][]string{}
	var days []string
	for _, d := range dirs {
		id, _ := rrs.ParseBatchID(filepath.Base(d))
		k := id.Date.String()
		if byDay[k] == nil {
			days = append(days, k)
		}
		byDay[k] = append(byDay[k], d)
	}
	sort.Strings(days)
	perBatch := make([][]string, len(dirs))
	for i, d := range dirs {
		perBatch[i] = []string{d}
	}
	perDay := make([][]string, len(days))
	for i, k := range days {
		perDay[i] = byDay[k]
	}
	for _, mode := range []struct {
		name   string
		groups [][]string
	}{{"per-batch", perBatch}, {"per-day", perDay}} {
		b.Run(mode.name, func(b *testing.B) {
			ctx := context.Background()
			var cpu float64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				dir := b.TempDir()
				l, err := Open(ctx, Config{CatalogURI: filepath.Join(dir, "catalog.db"), Warehouse: filepath.Join(dir, "wh"), Logger: quietLogger()})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				began := cpuSeconds()
				var loaded int64
				for _, grp := range mode.groups {
					items := make([]Item, len(grp))
					for j, d := range grp {
						bt, err := rrs.OpenBatch(d, rrs.UTF8)
						if err != nil {
							b.Fatal(err)
						}
						defer bt.Close()
						items[j] = Item{Batch: bt}
					}
					res, err := l.IngestAll(ctx, items)
					if err != nil {
						b.Fatal(err)
					}
					for _, r := range res {
						loaded += r.Rows()
					}
				}
				cpu += cpuSeconds() - began
				b.StopTimer()
				if loaded != totalRows(rows) {
					b.Fatalf("loaded %d rows, the region has %d", loaded, totalRows(rows))
				}
				l.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(totalRows(rows))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(totalRows(rows))*float64(b.N)/cpu, "rows/cpu-s")
			b.ReportMetric(float64(len(mode.groups)*len(rrs.Current().Types)), "commits")
		})
	}
}

// duckCSVColumns is the read_csv columns struct of rt: the types the lake
// stores (decimal(18,2), date, time, bigint, varchar).
func duckCSVColumns(rt *rrs.RecordType) string {
	cols := make([]string, len(rt.Fields))
	for i, f := range rt.Fields {
		t := "VARCHAR"
		switch f.Kind {
		case rrs.KindDecimal:
			t = "DECIMAL(18,2)"
		case rrs.KindDate:
			t = "DATE"
		case rrs.KindTime:
			t = "TIME"
		case rrs.KindInt:
			t = "BIGINT"
		}
		cols[i] = fmt.Sprintf("'%s': '%s'", f.Name, t)
	}
	return "{" + strings.Join(cols, ", ") + "}"
}

// BenchmarkDuckDBCopyParquet is the peer of BenchmarkIngest on the same
// rows: DuckDB reads every batch's CSV files with the same column types and
// COPY … TO Parquet (zstd), one file per record type — no catalog, no
// transactions, no lineage, no per-batch commits.
func BenchmarkDuckDBCopyParquet(b *testing.B) {
	dirs, rows := benchRegion(b)
	db, err := sql.Open("duckdb", "")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	b.ResetTimer()
	began := cpuSeconds()
	for i := 0; i < b.N; i++ {
		out := b.TempDir()
		var copied int64
		for _, rt := range rrs.Current().Types {
			var files []string
			for _, d := range dirs {
				if p := filepath.Join(d, rt.Type.FileName()); fileExists(p) {
					files = append(files, "'"+p+"'")
				}
			}
			if len(files) == 0 {
				continue
			}
			q := fmt.Sprintf(`COPY (SELECT * FROM read_csv([%s], header = true, columns = %s, nullstr = '', quote = '"', escape = '"'))
				TO '%s' (FORMAT parquet, COMPRESSION zstd)`, strings.Join(files, ", "), duckCSVColumns(rt), filepath.Join(out, string(rt.Type)+".parquet"))
			res, err := db.Exec(q)
			if err != nil {
				b.Fatal(err)
			}
			n, _ := res.RowsAffected()
			copied += n
		}
		if copied != totalRows(rows) {
			b.Fatalf("copied %d rows, the region has %d", copied, totalRows(rows))
		}
	}
	b.ReportMetric(float64(totalRows(rows))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(totalRows(rows))*float64(b.N)/(cpuSeconds()-began), "rows/cpu-s")
	b.ReportMetric(float64(rows[rrs.TXN]), "txn_rows")
}

// cpuSeconds is the process's user+system CPU time so far (DuckDB's
// threads included): on a shared machine it moves less than wall time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
