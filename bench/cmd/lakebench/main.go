// Command lakebench measures the lakehouse on a generated region, each
// figure beside its peer from the same run:
//
//   - ingest: every batch into Iceberg (lake.IngestAll, one snapshot per
//     table and business date, SQLite catalog, local warehouse) against
//     DuckDB reading the same CSV files with the same types and COPY … TO
//     Parquet (zstd), one file per record type;
//
//   - query: monthly inflow per enterprise (credits to its accounts from
//     anyone but itself, per month and currency, across institutions) over
//     the lake — DuckDB over the Parquet files of the current snapshots, as
//     `ronghe sql` runs it — against DuckDB over the raw CSV batches; both
//     answers are checked equal (group count, Σ inflow to the cent).
//
//     go run ./bench/cmd/lakebench -work /tmp/lakebench -enterprises 25600 -days 365   # ~100M TXN rows
//     go run ./bench/cmd/lakebench -work /tmp/lakebench -enterprises 2000 -days 31     # quick
//
// The region is generated once into -work and reused by later runs with the
// same flags (gen is deterministic). Times are wall-clock; query times are
// the median of -runs runs.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/ronghe/ronghe/gen"
	"github.com/ronghe/ronghe/lake"
	"github.com/ronghe/ronghe/lake/lakesql"
	"github.com/ronghe/ronghe/rrs"
)

// inflowSQL is the query, the same text over the lake's views and over the
// CSV views.
const inflowSQL = `WITH owner AS (SELECT DISTINCT inst_code, acct_no, uscc FROM acct)
SELECT o.uscc, date_trunc('month', t.txn_date) AS month, t.currency, sum(t.amount) AS inflow, count(*) AS n
FROM txn t JOIN owner o ON o.inst_code = t.inst_code AND o.acct_no = t.acct_no
WHERE t.dc_flag = 'C' AND (t.cp_uscc IS NULL OR t.cp_uscc <> o.uscc)
GROUP BY ALL`

// checkSQL reduces the query's answer to a checksum: groups, Σ inflow, Σ n.
const checkSQL = `SELECT count(*), CAST(sum(inflow) AS VARCHAR), sum(n) FROM (` + inflowSQL + `)`

type figures struct {
	TXNRows        int64   `json:"txn_rows"`
	AllRows        int64   `json:"all_rows"`
	Batches        int     `json:"batches"`
	GenSeconds     float64 `json:"gen_seconds,omitempty"`
	IngestSeconds  float64 `json:"ingest_seconds"`
	IngestCPU      float64 `json:"ingest_cpu_seconds"`
	CopyCPU        float64 `json:"duckdb_copy_cpu_seconds"`
	LakeQueryCPU   float64 `json:"lake_query_cpu_seconds"`
	CSVQueryCPU    float64 `json:"csv_query_cpu_seconds"`
	IngestRowsPerS float64 `json:"ingest_rows_per_s"`
	CopySeconds    float64 `json:"duckdb_copy_seconds"`
	CopyRowsPerS   float64 `json:"duckdb_copy_rows_per_s"`
	CompactSeconds float64 `json:"compact_seconds"`
	FilesBefore    int     `json:"txn_files_before_compaction"`
	FilesAfter     int     `json:"txn_files_after_compaction"`
	LakeQueryS     float64 `json:"lake_query_seconds"`
	LakeQueryRawS  float64 `json:"lake_query_uncompacted_seconds"`
	CSVQueryS      float64 `json:"csv_query_seconds"`
	Groups         int64   `json:"groups"`
	InflowTotal    string  `json:"inflow_total"`
	LakeBytes      int64   `json:"lake_bytes"`
	CSVBytes       int64   `json:"csv_bytes"`
}

func main() {
	work := flag.String("work", filepath.Join(os.TempDir(), "ronghe-lakebench"), "working directory (region, lake, peer output)")
	ent := flag.Int("enterprises", 2000, "enterprises (about 10.7 TXN rows per enterprise and day)")
	inst := flag.Int("institutions", 20, "institutions")
	days := flag.Int("days", 31, "days from 2024-01-01")
	runs := flag.Int("runs", 3, "query runs; the median is printed")
	skipCopy := flag.Bool("skip-copy", false, "skip the DuckDB COPY peer")
	asJSON := flag.Bool("json", false, "print JSON")
	region := flag.String("region", "", "region directory to reuse (default WORK/region-I-E-D; generated there when missing)")
	cpuProfile := flag.String("cpuprofile", "", "write a Go CPU profile of the ingest phase to this file")
	ingestOnly := flag.Bool("ingest-only", false, "stop after the ingest (and the COPY peer unless -skip-copy)")
	flag.Parse()
	opts := options{region: *region, cpuProfile: *cpuProfile, ingestOnly: *ingestOnly}
	if err := run(*work, *ent, *inst, *days, *runs, *skipCopy, *asJSON, opts); err != nil {
		fmt.Fprintln(os.Stderr, "lakebench:", err)
		os.Exit(1)
	}
}

func say(format string, args ...any) { fmt.Fprintf(os.Stderr, ">> "+format+"\n", args...) }

// options are lakebench's further flags.
type options struct {
	region     string // region directory, "" = under work
	cpuProfile string // CPU profile of the ingest phase
	ingestOnly bool
}

func run(work string, ent, inst, days, runs int, skipCopy, asJSON bool, o options) error {
	ctx := context.Background()
	var f figures
	regionDir := filepath.Join(work, fmt.Sprintf("region-%d-%d-%d", inst, ent, days))
	if o.region != "" {
		regionDir = o.region
	}
	sumFile := filepath.Join(regionDir, "summary.json")
	var sum gen.Summary
	if b, err := os.ReadFile(sumFile); err == nil && json.Unmarshal(b, &sum) == nil {
		say("reusing region %s", regionDir)
	} else {
		say("generating %d institutions, %d enterprises, %d days into %s", inst, ent, days, regionDir)
		os.RemoveAll(regionDir)
		began := time.Now()
		s, err := gen.Generate(ctx, gen.Config{Seed: 2024, Institutions: inst, Enterprises: ent, People: ent / 2,
			Start: rrs.Date{Y: 2024, M: 1, D: 1}, Days: days, Encoding: rrs.UTF8, OutDir: regionDir})
		if err != nil {
			return err
		}
		f.GenSeconds = time.Since(began).Seconds()
		sum = *s
		b, _ := json.Marshal(sum)
		if err := os.WriteFile(sumFile, b, 0o644); err != nil {
			return err
		}
	}
	dirs, err := batchDirs(regionDir)
	if err != nil {
		return err
	}
	f.Batches, f.TXNRows, f.CSVBytes = len(dirs), sum.Rows[rrs.TXN], sum.Bytes

	// Ingest, grouped by business date.
	lakeDir := filepath.Join(work, "lake")
	os.RemoveAll(lakeDir)
	l, err := lake.Open(ctx, lake.Config{CatalogURI: filepath.Join(lakeDir, "catalog.db"), Warehouse: filepath.Join(lakeDir, "warehouse"),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	defer l.Close()
	groups := groupByDate(dirs)
	say("ingesting %d batches in %d groups (load %s)", len(dirs), len(groups), loadavg())
	if o.cpuProfile != "" {
		pf, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
		defer pf.Close()
	}
	began, cpu := time.Now(), cpuSeconds()
	lastAt, lastCPU, lastRows := began, cpu, int64(0)
	for gi, grp := range groups {
		items := make([]lake.Item, 0, len(grp))
		var opened []*rrs.Batch
		for _, d := range grp {
			b, err := rrs.OpenBatch(d, rrs.UTF8)
			if err != nil {
				return err
			}
			opened = append(opened, b)
			items = append(items, lake.Item{Batch: b})
		}
		res, err := l.IngestAll(ctx, items)
		for _, b := range opened {
			b.Close()
		}
		if err != nil {
			return err
		}
		for _, r := range res {
			f.AllRows += r.Rows()
		}
		if (gi+1)%30 == 0 {
			now, c := time.Now(), cpuSeconds()
			say("  %d/%d days, %.0f rows/s, %.0f rows per CPU-second; last 30 days %.0f rows/s, %.0f rows per CPU-second (load %s)",
				gi+1, len(groups), float64(f.AllRows)/now.Sub(began).Seconds(), float64(f.AllRows)/(c-cpu),
				float64(f.AllRows-lastRows)/now.Sub(lastAt).Seconds(), float64(f.AllRows-lastRows)/(c-lastCPU), loadavg())
			lastAt, lastCPU, lastRows = now, c, f.AllRows
		}
	}
	f.IngestSeconds, f.IngestCPU = time.Since(began).Seconds(), cpuSeconds()-cpu
	if o.cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	f.IngestRowsPerS = float64(f.AllRows) / f.IngestSeconds
	f.LakeBytes = dirSize(filepath.Join(lakeDir, "warehouse"))

	// Peer: DuckDB COPY … TO parquet of the same rows.
	if !skipCopy {
		say("peer: DuckDB read_csv … COPY TO parquet (zstd)")
		out := filepath.Join(work, "duckdb-copy")
		os.RemoveAll(out)
		os.MkdirAll(out, 0o755)
		began, cpu = time.Now(), cpuSeconds()
		n, err := duckCopy(ctx, regionDir, out)
		if err != nil {
			return err
		}
		f.CopySeconds, f.CopyCPU = time.Since(began).Seconds(), cpuSeconds()-cpu
		f.CopyRowsPerS = float64(n) / f.CopySeconds
		if n != f.AllRows {
			return fmt.Errorf("DuckDB copied %d rows, the lake ingested %d", n, f.AllRows)
		}
		os.RemoveAll(out)
	}
	if o.ingestOnly {
		fmt.Printf("region: %d batches, %d rows in all; lake %.0f MiB; load %s\n", f.Batches, f.AllRows, float64(f.LakeBytes)/(1<<20), loadavg())
		fmt.Printf("ingest: %.1f s, %.1f CPU-s, %.0f rows/s, %.0f rows per CPU-second\n", f.IngestSeconds, f.IngestCPU, f.IngestRowsPerS, float64(f.AllRows)/f.IngestCPU)
		if !skipCopy {
			fmt.Printf("peer DuckDB COPY: %.1f s, %.1f CPU-s, %.0f rows/s, %.0f rows per CPU-second\n", f.CopySeconds, f.CopyCPU, f.CopyRowsPerS, float64(f.AllRows)/f.CopyCPU)
		}
		return nil
	}

	eng, err := lakesql.New(ctx, l, lakesql.Options{CacheDir: filepath.Join(work, "cache")})
	if err != nil {
		return err
	}
	lakeQuery := func() (float64, float64, [3]string, int, error) {
		st, err := l.Current(ctx)
		if err != nil {
			return 0, 0, [3]string{}, 0, err
		}
		files, err := st.Table(rrs.TXN).DataFiles(ctx, nil)
		if err != nil {
			return 0, 0, [3]string{}, 0, err
		}
		var times, cpus []float64
		var check [3]string
		for r := 0; r < runs; r++ {
			began, cpu := time.Now(), cpuSeconds()
			sess, err := eng.Open(ctx, st, lakesql.Views{})
			if err != nil {
				return 0, 0, check, 0, err
			}
			check, err = checksum(ctx, sess.DB)
			sess.Close()
			if err != nil {
				return 0, 0, check, 0, err
			}
			times, cpus = append(times, time.Since(began).Seconds()), append(cpus, cpuSeconds()-cpu)
		}
		return median(times), median(cpus), check, len(files), nil
	}
	say("query over the lake (%d runs)", runs)
	var lakeCheck [3]string
	if f.LakeQueryRawS, _, lakeCheck, f.FilesBefore, err = lakeQuery(); err != nil {
		return err
	}
	say("compacting")
	began = time.Now()
	if _, err := l.Compact(ctx, lake.CompactOptions{MinInputFiles: 2}); err != nil {
		return err
	}
	f.CompactSeconds = time.Since(began).Seconds()
	var compCheck [3]string
	if f.LakeQueryS, f.LakeQueryCPU, compCheck, f.FilesAfter, err = lakeQuery(); err != nil {
		return err
	}

	say("peer: query over the raw CSV batches (%d runs)", runs)
	var times, cpus []float64
	var csvCheck [3]string
	for r := 0; r < runs; r++ {
		began, cpu := time.Now(), cpuSeconds()
		db, err := sql.Open("duckdb", "")
		if err != nil {
			return err
		}
		if err := csvViews(ctx, db, regionDir); err != nil {
			db.Close()
			return err
		}
		csvCheck, err = checksum(ctx, db)
		db.Close()
		if err != nil {
			return err
		}
		times, cpus = append(times, time.Since(began).Seconds()), append(cpus, cpuSeconds()-cpu)
	}
	f.CSVQueryS, f.CSVQueryCPU = median(times), median(cpus)
	if lakeCheck != csvCheck || compCheck != csvCheck {
		return fmt.Errorf("answers differ: lake %v, compacted %v, CSV %v", lakeCheck, compCheck, csvCheck)
	}
	fmt.Sscan(csvCheck[0], &f.Groups)
	f.InflowTotal = csvCheck[1]

	if asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(f)
	}
	fmt.Printf("region: %d batches, %d TXN rows, %d rows in all, %.1f GiB of CSV; lake %.1f GiB of Parquet (zstd); %d cores; load %s\n",
		f.Batches, f.TXNRows, f.AllRows, float64(f.CSVBytes)/(1<<30), float64(f.LakeBytes)/(1<<30), runtime.NumCPU(), loadavg())
	fmt.Printf("%-44s %12s %12s %8s\n", "", "ronghe", "peer", "ratio")
	if !skipCopy {
		fmt.Printf("%-44s %12.0f %12.0f %8.2f   (peer: DuckDB COPY TO parquet)\n", "ingest rows/s", f.IngestRowsPerS, f.CopyRowsPerS, f.IngestRowsPerS/f.CopyRowsPerS)
		fmt.Printf("%-44s %12.0f %12.0f %8.2f\n", "ingest rows per CPU-second", float64(f.AllRows)/f.IngestCPU, float64(f.AllRows)/f.CopyCPU, f.CopyCPU/f.IngestCPU)
	} else {
		fmt.Printf("%-44s %12.0f\n", "ingest rows/s", f.IngestRowsPerS)
	}
	fmt.Printf("%-44s %12.2f %12.2f %8.2f   (peer: DuckDB over the CSV)\n", "monthly inflow per enterprise, s (compacted)", f.LakeQueryS, f.CSVQueryS, f.CSVQueryS/f.LakeQueryS)
	fmt.Printf("%-44s %12.2f %12.2f %8.2f\n", "  same, CPU-seconds", f.LakeQueryCPU, f.CSVQueryCPU, f.CSVQueryCPU/f.LakeQueryCPU)
	fmt.Printf("%-44s %12.2f %12.2f %8.2f\n", "  same, before compaction, s", f.LakeQueryRawS, f.CSVQueryS, f.CSVQueryS/f.LakeQueryRawS)
	fmt.Printf("compaction: %.1f s, TXN files %d → %d; answer: %d groups, Σ inflow %s (equal on both sides)\n",
		f.CompactSeconds, f.FilesBefore, f.FilesAfter, f.Groups, f.InflowTotal)
	return nil
}

// checksum runs the query reduced to its checksum.
func checksum(ctx context.Context, db *sql.DB) ([3]string, error) {
	var c [3]string
	var groups, n sql.NullInt64
	var total sql.NullString
	if err := db.QueryRowContext(ctx, checkSQL).Scan(&groups, &total, &n); err != nil {
		return c, err
	}
	return [3]string{fmt.Sprint(groups.Int64), total.String, fmt.Sprint(n.Int64)}, nil
}

// csvColumns is the read_csv columns struct of rt with the lake's types.
func csvColumns(rt *rrs.RecordType) string {
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

func readCSV(regionDir string, t rrs.Type) string {
	return fmt.Sprintf(`read_csv('%s', header = true, columns = %s, nullstr = '', quote = '"', escape = '"')`,
		filepath.Join(regionDir, "*", t.FileName()), csvColumns(rrs.Current().Record(t)))
}

// csvViews defines txn and acct over the raw CSV batches.
func csvViews(ctx context.Context, db *sql.DB, regionDir string) error {
	for _, t := range []rrs.Type{rrs.TXN, rrs.ACCT} {
		q := fmt.Sprintf("CREATE VIEW %s AS SELECT * FROM %s", strings.ToLower(string(t)), readCSV(regionDir, t))
		if _, err := db.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// duckCopy copies every record type's CSV rows to one Parquet file each.
func duckCopy(ctx context.Context, regionDir, out string) (int64, error) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int64
	for _, rt := range rrs.Current().Types {
		if m, _ := filepath.Glob(filepath.Join(regionDir, "*", rt.Type.FileName())); len(m) == 0 {
			continue
		}
		res, err := db.ExecContext(ctx, fmt.Sprintf("COPY (SELECT * FROM %s) TO '%s' (FORMAT parquet, COMPRESSION zstd)",
			readCSV(regionDir, rt.Type), filepath.Join(out, string(rt.Type)+".parquet")))
		if err != nil {
			return 0, err
		}
		c, _ := res.RowsAffected()
		n += c
	}
	return n, nil
}

func batchDirs(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if _, err := rrs.ParseBatchID(e.Name()); e.IsDir() && err == nil {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(out)
	return out, nil
}

// groupByDate groups batch directories by business date, in date order.
func groupByDate(dirs []string) [][]string {
	by := map[string][]string{}
	for _, d := range dirs {
		id, _ := rrs.ParseBatchID(filepath.Base(d))
		k := id.Date.Compact()
		by[k] = append(by[k], d)
	}
	keys := make([]string, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([][]string, len(keys))
	for i, k := range keys {
		out[i] = by[k]
	}
	return out
}

func dirSize(dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			n += info.Size()
		}
		return nil
	})
	return n
}

// cpuSeconds is the process's user+system CPU time so far (DuckDB's
// threads included): on a shared machine it moves less than wall time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// loadavg is the first three fields of /proc/loadavg ("" elsewhere).
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
