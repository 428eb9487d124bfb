package lake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/rrs"
	"github.com/ronghe/ronghe/sqlstore/sqltest"
)

// backends are the two catalog databases every behavioural test runs on.
var backends = []struct {
	name string
	open func(t testing.TB) *Lake
}{
	{"sqlite", openSQLiteLake},
	{"postgres", func(t testing.TB) *Lake {
		return openLake(t, Config{CatalogURI: sqltest.Postgres(t), Warehouse: filepath.Join(t.TempDir(), "warehouse")})
	}},
}

// csvRows returns the data rows of record type t in batch directory dir,
// in canonical field order, each with the batch's lineage appended.
func csvRows(t testing.TB, dir string, typ rrs.Type) [][]string {
	t.Helper()
	b := openBatch(t, dir)
	if !b.Has(typ) {
		return nil
	}
	r, err := b.Open(typ)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out [][]string
	for {
		row, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, row.Values)
	}
}

// lakeRows reads every row of record type t's table at state st through an
// iceberg-go scan and renders each value the way RRS-1 CSV writes it, so
// the result compares exactly with csvRows; lineage columns are returned
// separately, by name.
func lakeRows(t testing.TB, ts *TableState) (rows [][]string, lineage []map[string]string) {
	t.Helper()
	rt := rrs.Current().Record(ts.Type)
	if ts.Snapshot == nil {
		return nil, nil
	}
	_, it, err := ts.Scan().ToArrowRecords(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for rec, err := range it {
		if err != nil {
			t.Fatal(err)
		}
		sc := rec.Schema()
		for i := 0; i < int(rec.NumRows()); i++ {
			vals := make([]string, len(rt.Fields))
			lin := map[string]string{}
			for c := 0; c < int(rec.NumCols()); c++ {
				name := sc.Field(c).Name
				v := render(t, rec.Column(c), i)
				if IsLineage(name) {
					lin[name] = v
				} else {
					vals[rt.Index(name)] = v
				}
			}
			rows = append(rows, vals)
			lineage = append(lineage, lin)
		}
		rec.Release()
	}
	return rows, lineage
}

// render prints one Arrow value in RRS-1's text form ("" for null).
func render(t testing.TB, col arrow.Array, i int) string {
	if col.IsNull(i) {
		return ""
	}
	switch c := col.(type) {
	case *array.String:
		return c.Value(i)
	case *array.Decimal128:
		n := c.Value(i)
		if typ := c.DataType().(*arrow.Decimal128Type); typ.Scale != 2 || typ.Precision != 18 {
			t.Fatalf("decimal column is %s, want decimal(18,2)", typ)
		}
		if (n.HighBits() != 0 || int64(n.LowBits()) < 0) && (n.HighBits() != -1 || int64(n.LowBits()) >= 0) {
			t.Fatalf("decimal out of int64 range")
		}
		return rrs.Amount(int64(n.LowBits())).String()
	case *array.Date32:
		return rrs.DateFromEpochDays(int(c.Value(i))).String()
	case *array.Time64:
		return rrs.Clock(int64(c.Value(i)) / 1e6).String()
	case *array.Int64:
		return strconv.FormatInt(c.Value(i), 10)
	case *array.Int32:
		return strconv.FormatInt(int64(c.Value(i)), 10)
	case *array.Timestamp:
		return time.UnixMicro(int64(c.Value(i))).UTC().Format(time.RFC3339Nano)
	}
	t.Fatalf("unexpected column type %s", col.DataType())
	return ""
}

// sortedKeys turns rows into sorted comparable strings.
func sortedKeys(rows [][]string) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = strings.Join(r, "\x1f")
	}
	slices.Sort(out)
	return out
}

func current(t testing.TB, l *Lake) *State {
	t.Helper()
	st, err := l.Current(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestIngestRegion lands a generated region and checks, per table, that the
// rows equal the CSV rows exactly (decimals to the cent, dates, times,
// nulls) and carry their lineage; then that ingesting everything again
// changes nothing.
func TestIngestRegion(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			_, dirs := region(t, 3)
			l := be.open(t)
			logIndex := uint64(0)
			lineageOf := func(dir string) Lineage {
				logIndex++
				li := logIndex
				name := filepath.Base(dir)
				return Lineage{MessageID: name, ManifestDigest: []byte("digest-" + name), LogIndex: &li}
			}
			wantLog := map[string]string{}
			for _, d := range dirs {
				lin := lineageOf(d)
				wantLog[filepath.Base(d)] = strconv.FormatUint(*lin.LogIndex, 10)
				res := ingestDir(t, l, d, lin)
				if !res.Changed() {
					t.Fatalf("first ingest of %s changed nothing", res.Batch)
				}
			}
			st := current(t, l)
			for _, typ := range l.Types() {
				var want [][]string
				for _, d := range dirs {
					want = append(want, csvRows(t, d, typ)...)
				}
				ts := st.Table(typ)
				got, lin := lakeRows(t, ts)
				if ts.Rows() != int64(len(want)) {
					t.Errorf("%s: snapshot says %d rows, CSV has %d", typ, ts.Rows(), len(want))
				}
				if !slices.Equal(sortedKeys(got), sortedKeys(want)) {
					t.Errorf("%s: lake rows differ from CSV rows (%d vs %d)", typ, len(got), len(want))
				}
				for _, m := range lin {
					id, err := rrs.ParseBatchID(m[ColBatch])
					if err != nil {
						t.Fatalf("%s: bad _batch %q", typ, m[ColBatch])
					}
					if m[ColInst] != id.InstCode || m[ColBusinessDate] != id.Date.String() || m[ColSeq] != "1" ||
						m[ColMessageID] != m[ColBatch] || m[ColLogIndex] != wantLog[m[ColBatch]] || m[ColIngestedAt] == "" {
						t.Fatalf("%s: lineage %v does not lead back to its batch", typ, m)
					}
				}
			}
			if n := len(lakeRowsOf(t, st, rrs.TXN)); n == 0 {
				t.Fatal("region has no TXN rows")
			}

			// Everything again: exactly once.
			logIndex = 0
			before := snapshotIDs(st)
			for _, d := range dirs {
				res := ingestDir(t, l, d, lineageOf(d))
				for _, tr := range res.Tables {
					if tr.Outcome != OutcomeAlready && tr.Outcome != OutcomeEmpty {
						t.Fatalf("re-ingest of %s: %s was %s", res.Batch, tr.Type, tr.Outcome)
					}
				}
			}
			if after := snapshotIDs(current(t, l)); !slices.Equal(before, after) {
				t.Fatalf("re-ingest moved snapshots: %v -> %v", before, after)
			}
		})
	}
}

func lakeRowsOf(t testing.TB, st *State, typ rrs.Type) [][]string {
	rows, _ := lakeRows(t, st.Table(typ))
	return rows
}

func snapshotIDs(st *State) []int64 {
	var out []int64
	for _, ts := range st.Tables {
		if ts.Snapshot != nil {
			out = append(out, ts.Snapshot.SnapshotID)
		} else {
			out = append(out, 0)
		}
	}
	return out
}

// correctionOf writes a correction (seq 2) of batch directory dir: TXN keeps
// every other row with its amount raised by 1.00, FXP.csv is dropped, and
// CTL lists what remains. It returns the new directory and its TXN rows.
func correctionOf(t testing.TB, dir string) (string, [][]string) {
	t.Helper()
	id, err := rrs.ParseBatchID(filepath.Base(dir))
	if err != nil {
		t.Fatal(err)
	}
	id.Seq = 2
	out := filepath.Join(t.TempDir(), id.String())
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	spec := rrs.Current()
	write := func(typ rrs.Type, rows [][]string) {
		f, err := os.Create(filepath.Join(out, typ.FileName()))
		if err != nil {
			t.Fatal(err)
		}
		w, err := rrs.NewWriter(f, spec.Record(typ), rrs.UTF8)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if err := w.Write(r); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	txn := spec.Record(rrs.TXN)
	var kept [][]string
	for i, r := range csvRows(t, dir, rrs.TXN) {
		if i%2 == 1 {
			continue
		}
		a, _ := txn.Amount(r, "amount")
		r = slices.Clone(r)
		r[txn.Index("amount")] = (a + 100).String()
		kept = append(kept, r)
	}
	for _, typ := range []rrs.Type{rrs.ACCT, rrs.BAL, rrs.GL, rrs.STAT, rrs.CTL} {
		if rows := csvRows(t, dir, typ); rows != nil || typ != rrs.STAT {
			if typ != rrs.STAT || openBatch(t, dir).Has(rrs.STAT) {
				write(typ, rows)
			}
		}
	}
	write(rrs.TXN, kept)
	return out, kept
}

// instDateRows filters rows (canonical order) of typ by institution and date
// through their lineage.
func instDateRows(rows [][]string, lin []map[string]string, inst string, d rrs.Date, in bool) [][]string {
	var out [][]string
	for i, r := range rows {
		match := lin[i][ColInst] == inst && lin[i][ColBusinessDate] == d.String()
		if match == in {
			out = append(out, r)
		}
	}
	return out
}

// TestCorrectionReplacesAtomically ingests a region, then a correction of
// the batch that has FXP rows: in one snapshot per table, exactly that
// institution's and date's rows are replaced (FXP rows removed since the
// correction has no FXP file), every other row is untouched, "as of" the
// moment before shows the old rows, the old version arriving late changes
// nothing, and the correction ingested twice is a no-op.
func TestCorrectionReplacesAtomically(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			_, dirs := region(t, 3)
			l := be.open(t)
			var target string
			for _, d := range dirs {
				ingestDir(t, l, d, Lineage{ManifestDigest: []byte(filepath.Base(d))})
				if openBatch(t, d).Has(rrs.FXP) && target == "" {
					target = d
				}
			}
			if target == "" {
				t.Fatal("region has no batch with FXP rows")
			}
			id, _ := rrs.ParseBatchID(filepath.Base(target))
			before := current(t, l)
			oldTXN, oldTXNLin := lakeRows(t, before.Table(rrs.TXN))
			oldFXP, _ := lakeRows(t, before.Table(rrs.FXP))
			beforeMs := latestCommitMs(before)
			waitPastMs(beforeMs)

			corr, kept := correctionOf(t, target)
			res := ingestDir(t, l, corr, Lineage{ManifestDigest: []byte("corr")})
			outcome := map[rrs.Type]TableResult{}
			for _, tr := range res.Tables {
				outcome[tr.Type] = tr
			}
			if o := outcome[rrs.TXN]; o.Outcome != OutcomeReplaced || o.Rows != int64(len(kept)) ||
				o.Replaced != int64(len(instDateRows(oldTXN, oldTXNLin, id.InstCode, id.Date, true))) {
				t.Fatalf("TXN: %+v", o)
			}
			if o := outcome[rrs.FXP]; o.Outcome != OutcomeReplaced || o.Rows != 0 {
				t.Fatalf("FXP: %+v", o)
			}

			after := current(t, l)
			newTXN, newLin := lakeRows(t, after.Table(rrs.TXN))
			if got := instDateRows(newTXN, newLin, id.InstCode, id.Date, true); !slices.Equal(sortedKeys(got), sortedKeys(kept)) {
				t.Fatalf("corrected TXN rows differ: %d rows, want %d", len(got), len(kept))
			}
			corrID := id
			corrID.Seq = 2
			for i, m := range newLin {
				if m[ColInst] == id.InstCode && m[ColBusinessDate] == id.Date.String() && (m[ColSeq] != "2" || m[ColBatch] != corrID.String()) {
					t.Fatalf("corrected row %d has lineage %v", i, m)
				}
			}
			if !slices.Equal(sortedKeys(instDateRows(newTXN, newLin, id.InstCode, id.Date, false)),
				sortedKeys(instDateRows(oldTXN, oldTXNLin, id.InstCode, id.Date, false))) {
				t.Fatal("rows of other institutions or dates changed")
			}
			fxpNow, fxpLin := lakeRows(t, after.Table(rrs.FXP))
			if n := len(instDateRows(fxpNow, fxpLin, id.InstCode, id.Date, true)); n != 0 {
				t.Fatalf("%d FXP rows of the corrected batch survive", n)
			}
			// One snapshot per table for the correction.
			if ts := after.Table(rrs.TXN); *ts.Snapshot.ParentSnapshotID != before.Table(rrs.TXN).Snapshot.SnapshotID {
				t.Fatal("correction took more than one TXN snapshot")
			}

			// As of the moment before the correction: the old rows.
			asOf, err := l.AsOf(context.Background(), time.UnixMilli(beforeMs))
			if err != nil {
				t.Fatal(err)
			}
			if got := lakeRowsOf(t, asOf, rrs.TXN); !slices.Equal(sortedKeys(got), sortedKeys(oldTXN)) {
				t.Fatal("as-of TXN rows differ from the rows before the correction")
			}
			if got := lakeRowsOf(t, asOf, rrs.FXP); !slices.Equal(sortedKeys(got), sortedKeys(oldFXP)) {
				t.Fatal("as-of FXP rows differ from the rows before the correction")
			}
			// Before anything was ingested: empty tables.
			early, err := l.AsOf(context.Background(), time.UnixMilli(firstCommitMs(before)-1))
			if err != nil {
				t.Fatal(err)
			}
			for _, ts := range early.Tables {
				if ts.Snapshot != nil || ts.Rows() != 0 {
					t.Fatalf("%s had rows before the first ingest", ts.Name)
				}
			}

			// The corrected version arriving again, or the old one late.
			again := ingestDir(t, l, corr, Lineage{ManifestDigest: []byte("corr")})
			late := ingestDir(t, l, target, Lineage{ManifestDigest: []byte("other manifest of seq 1")})
			for _, tr := range again.Tables {
				if tr.Outcome != OutcomeAlready && tr.Outcome != OutcomeEmpty {
					t.Fatalf("correction again: %s %s", tr.Type, tr.Outcome)
				}
			}
			for _, tr := range late.Tables {
				if tr.Outcome != OutcomeSuperseded && tr.Outcome != OutcomeEmpty {
					t.Fatalf("late seq 1: %s %s", tr.Type, tr.Outcome)
				}
			}
			if !slices.Equal(snapshotIDs(after), snapshotIDs(current(t, l))) {
				t.Fatal("repeat or stale ingest changed the lake")
			}
		})
	}
}

func latestCommitMs(st *State) int64 {
	var ms int64
	for _, ts := range st.Tables {
		if ts.Snapshot != nil {
			ms = max(ms, ts.Snapshot.TimestampMs)
		}
	}
	return ms
}

func firstCommitMs(st *State) int64 {
	ms := int64(-1)
	for _, ts := range st.Tables {
		for _, s := range ts.Iceberg().Metadata().Snapshots() {
			if ms < 0 || s.TimestampMs < ms {
				ms = s.TimestampMs
			}
		}
	}
	return ms
}

// waitPastMs returns once the clock is past ms, so that the next commit is
// ordered strictly after it (snapshot times have millisecond resolution).
func waitPastMs(ms int64) {
	for time.Now().UnixMilli() <= ms {
		time.Sleep(time.Millisecond)
	}
}

// TestFailedIngestLeavesNoTrace breaks a TXN file after some rows have been
// streamed to the writer: the ingest fails and the table does not move.
// Files a crashed ingest would leave behind (whatever the failed one left,
// plus a copy of a data file standing for a process killed after writing)
// are orphans: RemoveOrphans deletes them once older than MinOrphanAge and
// touches nothing referenced. A repaired batch then lands completely.
func TestFailedIngestLeavesNoTrace(t *testing.T) {
	_, dirs := region(t, 2)
	l := openSQLiteLake(t)
	l.batchRows = 4 // rows stream to the writer in small batches before the error
	ingestDir(t, l, dirs[0], Lineage{})
	good := dirs[1]
	bad := filepath.Join(t.TempDir(), filepath.Base(good))
	if err := os.CopyFS(bad, os.DirFS(good)); err != nil {
		t.Fatal(err)
	}
	txnPath := filepath.Join(bad, "TXN.csv")
	data, err := os.ReadFile(txnPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	if len(lines) < 12 {
		t.Fatalf("TXN too short: %d lines", len(lines))
	}
	// Invalid UTF-8 is a final read error (not a skippable row).
	broken := strings.Join(lines[:10], "") + "\xff\xfe" + strings.Join(lines[10:], "")
	if err := os.WriteFile(txnPath, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	before := current(t, l)
	referenced := dataFilesOf(t, before.Table(rrs.TXN))
	_, err = l.Ingest(context.Background(), openBatch(t, bad), Lineage{})
	if err == nil {
		t.Fatal("ingest of a broken file succeeded")
	}
	if code := ronghe.ErrorCode(err); code != ronghe.EINVALID {
		t.Fatalf("error code %s, want %s: %v", code, ronghe.EINVALID, err)
	}
	after := current(t, l)
	if after.Table(rrs.TXN).Snapshot.SnapshotID != before.Table(rrs.TXN).Snapshot.SnapshotID {
		t.Fatal("failed TXN ingest committed a snapshot")
	}
	if got := sortedKeys(lakeRowsOf(t, after, rrs.TXN)); !slices.Equal(got, sortedKeys(lakeRowsOf(t, before, rrs.TXN))) {
		t.Fatal("failed TXN ingest changed the rows")
	}

	// A crash after writing leaves unreferenced files.
	live := map[string]bool{}
	for _, f := range referenced {
		live[strings.TrimPrefix(f.Path, "file://")] = true
	}
	crashed := filepath.Join(filepath.Dir(strings.TrimPrefix(referenced[0].Path, "file://")), "00000-0-crashed.parquet")
	src, _ := os.ReadFile(strings.TrimPrefix(referenced[0].Path, "file://"))
	if err := os.WriteFile(crashed, src, 0o644); err != nil {
		t.Fatal(err)
	}
	var orphansOnDisk []string
	for _, p := range dataFilesOnDisk(t, l, rrs.TXN) {
		if !live[p] {
			orphansOnDisk = append(orphansOnDisk, p)
		}
	}
	if !slices.Contains(orphansOnDisk, crashed) {
		t.Fatalf("test setup: %s not on disk", crashed)
	}
	// Young files are protected: an ingest in progress writes them.
	if _, err := l.RemoveOrphans(context.Background(), time.Minute, true); err == nil {
		t.Fatal("RemoveOrphans accepted an age below MinOrphanAge")
	}
	young, err := l.RemoveOrphans(context.Background(), MinOrphanAge, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range young {
		if len(o.Files) != 0 {
			t.Fatalf("young files listed as orphans: %v", o.Files)
		}
	}
	old := time.Now().Add(-2 * MinOrphanAge)
	for _, p := range orphansOnDisk {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	orphans, err := l.RemoveOrphans(context.Background(), MinOrphanAge, false)
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, o := range orphans {
		if o.Table == "txn" {
			for _, f := range o.Files {
				found = append(found, strings.TrimPrefix(f, "file://"))
			}
		}
	}
	slices.Sort(found)
	slices.Sort(orphansOnDisk)
	if !slices.Equal(found, orphansOnDisk) {
		t.Fatalf("orphans %v, want %v", found, orphansOnDisk)
	}
	for _, p := range dataFilesOnDisk(t, l, rrs.TXN) {
		if !live[p] {
			t.Fatalf("orphan %s not deleted", p)
		}
	}
	if got := sortedKeys(lakeRowsOf(t, current(t, l), rrs.TXN)); !slices.Equal(got, sortedKeys(lakeRowsOf(t, before, rrs.TXN))) {
		t.Fatal("orphan removal changed the rows")
	}

	res := ingestDir(t, l, good, Lineage{})
	var txn TableResult
	for _, tr := range res.Tables {
		if tr.Type == rrs.TXN {
			txn = tr
		}
	}
	if txn.Outcome != OutcomeAppended || txn.Rows != int64(len(csvRows(t, good, rrs.TXN))) {
		t.Fatalf("repaired ingest: %+v", txn)
	}
}

// dataFilesOnDisk lists the Parquet files under a table's data directory.
func dataFilesOnDisk(t testing.TB, l *Lake, typ rrs.Type) []string {
	t.Helper()
	tbl, err := l.Table(context.Background(), typ)
	if err != nil {
		t.Fatal(err)
	}
	root := strings.TrimPrefix(tbl.Location(), "file://") + "/data"
	var out []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".parquet") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// TestSkippedRows: a row failing L02 is not loaded, counted and located;
// the other rows land.
func TestSkippedRows(t *testing.T) {
	_, dirs := region(t, 1)
	l := openSQLiteLake(t)
	src := dirs[0]
	dir := filepath.Join(t.TempDir(), filepath.Base(src))
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "TXN.csv")
	data, _ := os.ReadFile(p)
	lines := strings.SplitAfter(string(data), "\n")
	amount := rrs.Current().Record(rrs.TXN).Index("amount")
	f := strings.Split(strings.TrimSuffix(lines[2], "\n"), ",")
	f[amount] = "12.345" // three fraction digits: L02
	lines[2] = strings.Join(f, ",") + "\n"
	os.WriteFile(p, []byte(strings.Join(lines, "")), 0o644)
	res := ingestDir(t, l, dir, Lineage{})
	for _, tr := range res.Tables {
		if tr.Type != rrs.TXN {
			continue
		}
		want := int64(len(csvRows(t, src, rrs.TXN)) - 1)
		if tr.Rows != want || tr.Skipped != 1 || !slices.Equal(tr.SkippedLines, []int{3}) {
			t.Fatalf("TXN result %+v, want %d rows and line 3 skipped", tr, want)
		}
		ts := current(t, l).Table(rrs.TXN)
		if ts.Rows() != want || ts.Snapshot.Summary.Properties[PropSumSkipped] != "1" || ts.Snapshot.Summary.Properties[PropSumRows] != strconv.FormatInt(want, 10) {
			t.Fatalf("snapshot summary %v", ts.Snapshot.Summary.Properties)
		}
		return
	}
	t.Fatal("no TXN result")
}

// TestCatalogLevels checks the data catalog against the rrs definitions:
// every field's level, PI category and nullability, the lineage columns,
// row counts and freshness per institution.
func TestCatalogLevels(t *testing.T) {
	_, dirs := region(t, 3)
	l := openSQLiteLake(t)
	for _, d := range dirs {
		ingestDir(t, l, d, Lineage{})
	}
	infos, err := l.Catalog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != len(rrs.Current().Types) {
		t.Fatalf("%d tables, want %d", len(infos), len(rrs.Current().Types))
	}
	for _, info := range infos {
		rt := rrs.Current().Record(rrs.Type(info.Type))
		if info.Name != "rrs."+strings.ToLower(string(rt.Type)) || info.Standard != "RRS-1" || info.Version != rrs.Current().Version {
			t.Fatalf("table %s: %+v", rt.Type, info)
		}
		if len(info.Columns) != len(rt.Fields)+len(lineageColumns) {
			t.Fatalf("%s: %d columns", info.Name, len(info.Columns))
		}
		maxLevel := 0
		for i, f := range rt.Fields {
			c := info.Columns[i]
			maxLevel = max(maxLevel, f.Level)
			if c.Name != f.Name || c.Level != f.Level || c.PI != f.PI || c.Required == f.Nullable || c.Kind != f.Kind.String() || c.Lineage {
				t.Errorf("%s.%s: catalog %+v, rrs level %d PI %q nullable %v", info.Name, f.Name, c, f.Level, f.PI, f.Nullable)
			}
			if !strings.Contains(c.Doc, fmt.Sprintf("level %d", f.Level)) {
				t.Errorf("%s.%s: doc %q lacks the level", info.Name, f.Name, c.Doc)
			}
		}
		for i, lc := range lineageColumns {
			c := info.Columns[len(rt.Fields)+i]
			if c.Name != lc.name || !c.Lineage || c.Level != lineageLevel {
				t.Errorf("%s: lineage column %+v", info.Name, c)
			}
		}
		if info.MaxLevel != max(maxLevel, lineageLevel) {
			t.Errorf("%s: max level %d", info.Name, info.MaxLevel)
		}
		if (rt.Type == rrs.FXP) != slices.Equal(info.PI, []string{"C2"}) {
			t.Errorf("%s: PI %v", info.Name, info.PI)
		}
		if !slices.Equal(info.Partitioning, []string{"month(_business_date)", "identity(_inst)"}) {
			t.Errorf("%s: partitioning %v", info.Name, info.Partitioning)
		}
		// Rows and freshness from the CSV files.
		var want int64
		latest := map[string]string{}
		rowsBy := map[string]int64{}
		for _, d := range dirs {
			n := int64(len(csvRows(t, d, rt.Type)))
			want += n
			if n > 0 {
				id, _ := rrs.ParseBatchID(filepath.Base(d))
				rowsBy[id.InstCode] += n
				if id.Date.String() > latest[id.InstCode] {
					latest[id.InstCode] = id.Date.String()
				}
			}
		}
		if info.Rows != want {
			t.Errorf("%s: %d rows, CSV has %d", info.Name, info.Rows, want)
		}
		for _, ii := range info.Institutions {
			if ii.Rows != rowsBy[ii.Inst] || ii.LatestBusinessDate != latest[ii.Inst] {
				t.Errorf("%s: institution %+v, want %d rows up to %s", info.Name, ii, rowsBy[ii.Inst], latest[ii.Inst])
			}
		}
		if len(info.Institutions) != len(rowsBy) {
			t.Errorf("%s: %d institutions, want %d", info.Name, len(info.Institutions), len(rowsBy))
		}
		if want > 0 && (info.LastUpdated.IsZero() || info.LastBatch == "" || info.DataFiles == 0 || info.Bytes == 0) {
			t.Errorf("%s: freshness/size missing: %+v", info.Name, info)
		}
	}
}

// TestCompactAndExpire compacts the daily files into one per partition,
// checks that scans read exactly the same rows, that a correction after
// compaction (which must rewrite part of a compacted file) still replaces
// exactly its rows, and that expiry keeps the current data readable while
// "as of" queries before the retained history fail.
func TestCompactAndExpire(t *testing.T) {
	_, dirs := region(t, 4)
	l := openSQLiteLake(t)
	for _, d := range dirs {
		ingestDir(t, l, d, Lineage{})
	}
	ctx := context.Background()
	before := current(t, l)
	rowsBefore := map[rrs.Type][]string{}
	for _, typ := range l.Types() {
		rowsBefore[typ] = sortedKeys(lakeRowsOf(t, before, typ))
	}
	filesBefore := len(dataFilesOf(t, before.Table(rrs.TXN)))

	plan, err := l.Compact(ctx, CompactOptions{MinInputFiles: 2, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(snapshotIDs(before), snapshotIDs(current(t, l))) {
		t.Fatal("dry run changed the lake")
	}
	res, err := l.Compact(ctx, CompactOptions{MinInputFiles: 2})
	if err != nil {
		t.Fatal(err)
	}
	var txnRes CompactResult
	for _, r := range res {
		if r.Table == "txn" {
			txnRes = r
		}
	}
	if txnRes.Groups == 0 || txnRes.FilesAfter >= txnRes.FilesBefore || plan[slices.IndexFunc(plan, func(r CompactResult) bool { return r.Table == "txn" })].Groups != txnRes.Groups {
		t.Fatalf("TXN compaction %+v (plan %+v)", txnRes, plan)
	}
	compacted := current(t, l)
	if n := len(dataFilesOf(t, compacted.Table(rrs.TXN))); n >= filesBefore {
		t.Fatalf("TXN has %d files after compaction, %d before", n, filesBefore)
	}
	for _, typ := range l.Types() {
		if got := sortedKeys(lakeRowsOf(t, compacted, typ)); !slices.Equal(got, rowsBefore[typ]) {
			t.Fatalf("%s rows changed by compaction", typ)
		}
	}

	// A correction of a middle day now hits a compacted multi-day file.
	target := dirs[1]
	id, _ := rrs.ParseBatchID(filepath.Base(target))
	corr, kept := correctionOf(t, target)
	ingestDir(t, l, corr, Lineage{})
	rows, lin := lakeRows(t, current(t, l).Table(rrs.TXN))
	if got := instDateRows(rows, lin, id.InstCode, id.Date, true); !slices.Equal(sortedKeys(got), sortedKeys(kept)) {
		t.Fatalf("correction after compaction: %d rows, want %d", len(got), len(kept))
	}
	oldRows, oldLin := lakeRows(t, compacted.Table(rrs.TXN))
	if !slices.Equal(sortedKeys(instDateRows(rows, lin, id.InstCode, id.Date, false)), sortedKeys(instDateRows(oldRows, oldLin, id.InstCode, id.Date, false))) {
		t.Fatal("correction after compaction changed other rows")
	}

	// Expire everything but the current snapshot.
	beforeExpiry := current(t, l)
	wantNow := map[rrs.Type][]string{}
	for _, typ := range l.Types() {
		wantNow[typ] = sortedKeys(lakeRowsOf(t, beforeExpiry, typ))
	}
	waitPastMs(latestCommitMs(beforeExpiry))
	if _, err := l.Expire(ctx, ExpireOptions{}); err == nil {
		t.Fatal("expire without an age succeeded")
	}
	exp, err := l.Expire(ctx, ExpireOptions{OlderThan: time.Millisecond, RetainLast: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range exp {
		if r.Retained > 1 {
			t.Fatalf("%s retained %d snapshots", r.Table, r.Retained)
		}
	}
	after := current(t, l)
	for _, typ := range l.Types() {
		if got := sortedKeys(lakeRowsOf(t, after, typ)); !slices.Equal(got, wantNow[typ]) {
			t.Fatalf("%s rows changed by expiry", typ)
		}
	}
	// Replaced files are gone from disk; what remains is referenced.
	live := map[string]bool{}
	for _, f := range dataFilesOf(t, after.Table(rrs.TXN)) {
		live[strings.TrimPrefix(f.Path, "file://")] = true
	}
	for _, p := range dataFilesOnDisk(t, l, rrs.TXN) {
		if !live[p] {
			t.Fatalf("expired data file %s still on disk", p)
		}
	}
	_, err = l.AsOf(ctx, time.UnixMilli(firstCommitMs(before)+1))
	if !errors.Is(err, err) || ronghe.ErrorCode(err) != ronghe.ENOTFOUND {
		t.Fatalf("as-of before the retained history: %v", err)
	}
	// The markers of expired snapshots are gone, yet repeating an ingest
	// cannot duplicate rows: it replaces its own institution and date.
	ingestDir(t, l, dirs[0], Lineage{})
	if got := sortedKeys(lakeRowsOf(t, current(t, l), rrs.TXN)); len(got) != len(wantNow[rrs.TXN]) {
		t.Fatalf("repeat after expiry: %d TXN rows, want %d", len(got), len(wantNow[rrs.TXN]))
	}
}

func dataFilesOf(t testing.TB, ts *TableState) []DataFile {
	t.Helper()
	files, err := ts.DataFiles(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestConcurrentIngest runs two lakes (two processes' worth of catalog
// connections) ingesting the same batches at once: optimistic commits and
// the marker check leave every row exactly once.
func TestConcurrentIngest(t *testing.T) {
	_, dirs := region(t, 2)
	dir := t.TempDir()
	cfg := Config{CatalogURI: "sqlite:" + filepath.Join(dir, "catalog.db"), Warehouse: filepath.Join(dir, "warehouse")}
	a, b := openLake(t, cfg), openLake(t, cfg)
	errc := make(chan error, 2)
	for _, l := range []*Lake{a, b} {
		go func() {
			for _, d := range dirs {
				bt, err := rrs.OpenBatch(d, rrs.UTF8)
				if err != nil {
					errc <- err
					return
				}
				_, err = l.Ingest(context.Background(), bt, Lineage{ManifestDigest: []byte(filepath.Base(d))})
				bt.Close()
				if err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}()
	}
	for range 2 {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	st := current(t, a)
	for _, typ := range a.Types() {
		var want [][]string
		for _, d := range dirs {
			want = append(want, csvRows(t, d, typ)...)
		}
		if got := lakeRowsOf(t, st, typ); !slices.Equal(sortedKeys(got), sortedKeys(want)) {
			t.Fatalf("%s: %d rows after concurrent ingest, want %d", typ, len(got), len(want))
		}
	}
}

// TestKnownRowsAgreeWithScan: what the lake derives from snapshot summaries
// about an institution and date equals what scanning the data finds, after
// appends, a correction and a compaction.
func TestKnownRowsAgreeWithScan(t *testing.T) {
	_, dirs := region(t, 3)
	l := openSQLiteLake(t)
	for _, d := range dirs {
		ingestDir(t, l, d, Lineage{})
	}
	corr, _ := correctionOf(t, dirs[1])
	ingestDir(t, l, corr, Lineage{})
	if _, err := l.Compact(context.Background(), CompactOptions{MinInputFiles: 2}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, typ := range l.Types() {
		tbl, err := l.Table(ctx, typ)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range append(dirs, corr) {
			id, _ := rrs.ParseBatchID(filepath.Base(d))
			known, ok := knownRows(tbl.Metadata(), id)
			if !ok {
				t.Fatalf("%s %s: lineage not conclusive", typ, id)
			}
			scanned, err := scanRows(ctx, tbl, id)
			if err != nil {
				t.Fatal(err)
			}
			if known.n != scanned.n || (scanned.n > 0 && known.maxSeq != scanned.maxSeq) {
				t.Fatalf("%s %s: summaries say %d rows of seq %d, data %d rows of seq %d", typ, id, known.n, known.maxSeq, scanned.n, scanned.maxSeq)
			}
		}
	}
}

// TestIngestAll lands a region as one group: one snapshot per table, the
// same rows as batch-by-batch ingest, exactly once on repeat; then a group
// holding a correction, its original and new batches replaces, appends and
// refuses as it should — still in one snapshot per table.
func TestIngestAll(t *testing.T) {
	_, dirs := region(t, 3)
	l := openSQLiteLake(t)
	ctx := context.Background()
	var items []Item
	for _, d := range dirs[:4] {
		items = append(items, Item{Batch: openBatch(t, d), Lineage: Lineage{MessageID: filepath.Base(d)}})
	}
	res, err := l.IngestAll(ctx, items)
	if err != nil {
		t.Fatal(err)
	}
	st := current(t, l)
	for _, ts := range st.Tables {
		if n := len(ts.Iceberg().Metadata().Snapshots()); ts.Rows() > 0 && n != 1 {
			t.Fatalf("%s: %d snapshots for one group", ts.Name, n)
		}
	}
	for i, r := range res {
		if r.Batch != filepath.Base(dirs[i]) || !r.Changed() {
			t.Fatalf("result %d: %+v", i, r)
		}
		for _, tr := range r.Tables {
			if want := int64(len(csvRows(t, dirs[i], tr.Type))); tr.Rows != want {
				t.Fatalf("%s %s: %d rows, CSV %d", r.Batch, tr.Type, tr.Rows, want)
			}
		}
	}
	again, err := l.IngestAll(ctx, items)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range again {
		for _, tr := range r.Tables {
			if tr.Outcome != OutcomeAlready && tr.Outcome != OutcomeEmpty {
				t.Fatalf("repeat: %s %s %s", r.Batch, tr.Type, tr.Outcome)
			}
		}
	}
	// A single batch of the group again: found in the group's snapshot.
	if r := ingestDir(t, l, dirs[1], Lineage{MessageID: filepath.Base(dirs[1])}); r.Changed() {
		t.Fatalf("single repeat of a grouped batch changed the lake: %+v", r)
	}

	// Second group: a correction of dirs[0], dirs[0] itself (older: refused),
	// and the batches not yet ingested (appended).
	corr, kept := correctionOf(t, dirs[0])
	second := []Item{{Batch: openBatch(t, corr)}, {Batch: openBatch(t, dirs[0]), Lineage: Lineage{ManifestDigest: []byte("other")}}}
	for _, d := range dirs[4:] {
		second = append(second, Item{Batch: openBatch(t, d)})
	}
	before := current(t, l)
	res2, err := l.IngestAll(ctx, second)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range res2[0].Tables {
		if tr.Type == rrs.TXN && (tr.Outcome != OutcomeReplaced || tr.Rows != int64(len(kept))) {
			t.Fatalf("correction in group: %+v", tr)
		}
	}
	for _, tr := range res2[1].Tables {
		if tr.Outcome != OutcomeSuperseded {
			t.Fatalf("older version in group: %+v", tr)
		}
	}
	after := current(t, l)
	for i, ts := range after.Tables {
		b := before.Tables[i].Snapshot
		if ts.Snapshot != nil && b != nil && ts.Snapshot.SnapshotID != b.SnapshotID && *ts.Snapshot.ParentSnapshotID != b.SnapshotID {
			t.Fatalf("%s: the second group took more than one snapshot", ts.Name)
		}
	}
	id0, _ := rrs.ParseBatchID(filepath.Base(dirs[0]))
	for _, typ := range l.Types() {
		var want [][]string
		for _, d := range dirs[1:] {
			want = append(want, csvRows(t, d, typ)...)
		}
		if typ == rrs.TXN {
			want = append(want, kept...)
		} else if typ != rrs.FXP {
			want = append(want, csvRows(t, corr, typ)...)
		}
		rows, lin := lakeRows(t, after.Table(typ))
		if !slices.Equal(sortedKeys(rows), sortedKeys(want)) {
			t.Fatalf("%s after the second group: %d rows, want %d", typ, len(rows), len(want))
		}
		for _, m := range lin {
			if m[ColInst] == id0.InstCode && m[ColBusinessDate] == id0.Date.String() && m[ColSeq] != "2" {
				t.Fatalf("%s: a row of %s has lineage %v", typ, id0, m)
			}
		}
	}
}
