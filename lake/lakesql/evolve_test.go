package lakesql

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ronghe/ronghe/lake"
	"github.com/ronghe/ronghe/lake/laketest"
	"github.com/ronghe/ronghe/rrs"
)

// olderSpec is RRS-1 1.0 without TXN.remark, standing for an earlier minor
// version that lacked an optional field.
func olderSpec() *rrs.Spec {
	cur := rrs.Current()
	s := &rrs.Spec{Standard: cur.Standard, Version: cur.Version}
	for _, rt := range cur.Types {
		c := *rt
		if rt.Type == rrs.TXN {
			c.Fields = slices.DeleteFunc(slices.Clone(rt.Fields), func(f rrs.Field) bool { return f.Name == "remark" })
		}
		s.Types = append(s.Types, &c)
	}
	return s
}

// TestSchemaEvolution: a lake whose TXN table was created without an
// optional field gains the column when opened with the newer version (before
// the lineage columns); rows written before read NULL there — DuckDB reads
// by Iceberg field ID — and a batch of the newer version cannot land in the
// older table.
func TestSchemaEvolution(t *testing.T) {
	_, dirs := laketest.Region(t, 2)
	old := olderSpec()
	dir := t.TempDir()
	cfg := lake.Config{CatalogURI: "sqlite:" + filepath.Join(dir, "catalog.db"), Warehouse: filepath.Join(dir, "wh"), Spec: old, Logger: laketest.Quiet()}
	l, err := lake.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Day 1 written by a bank on the older version: TXN.csv without remark.
	day1 := filepath.Join(t.TempDir(), filepath.Base(dirs[0]))
	if err := os.CopyFS(day1, os.DirFS(dirs[0])); err != nil {
		t.Fatal(err)
	}
	txnOld := old.Record(rrs.TXN)
	rows := laketest.Rows(t, dirs[0], rrs.TXN)
	f, err := os.Create(filepath.Join(day1, "TXN.csv"))
	if err != nil {
		t.Fatal(err)
	}
	w, _ := rrs.NewWriter(f, txnOld, rrs.UTF8)
	cur := rrs.Current().Record(rrs.TXN)
	for _, r := range rows {
		v := make([]string, 0, len(txnOld.Fields))
		for _, fd := range txnOld.Fields {
			v = append(v, r[cur.Index(fd.Name)])
		}
		if err := w.Write(v); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	f.Close()
	b, err := rrs.OpenBatchWith(day1, rrs.UTF8, rrs.BatchOptions{Spec: old})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Ingest(context.Background(), b, lake.Lineage{}); err != nil {
		t.Fatal(err)
	}
	b.Close()
	// A current-version batch does not fit the older table.
	nb, _ := rrs.OpenBatch(dirs[1], rrs.UTF8)
	if _, err := l.Ingest(context.Background(), nb, lake.Lineage{}); err == nil {
		t.Fatal("a batch with a field the table lacks was ingested")
	}
	nb.Close()
	l.Close()

	// Reopened with the current version: the column appears.
	cfg.Spec = nil
	l = laketest.Open(t, cfg)
	tbl, err := l.Table(context.Background(), rrs.TXN)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, fld := range tbl.Schema().Fields() {
		names = append(names, fld.Name)
	}
	if i, j := slices.Index(names, "remark"), slices.Index(names, lake.ColBatch); i < 0 || i != j-1 || tbl.Properties()[lake.PropLevelPrefix+"remark"] != "3" {
		t.Fatalf("columns after evolution: %v", names)
	}
	laketest.Ingest(t, l, dirs[1], lake.Lineage{})
	eng, err := New(context.Background(), l, Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	id0, _ := rrs.ParseBatchID(filepath.Base(dirs[0]))
	res, err := eng.Query(context.Background(), Request{User: "u", Role: "admin",
		SQL: "SELECT count(*) FILTER (WHERE _batch = '" + id0.String() + "'), count(remark) FILTER (WHERE _batch = '" + id0.String() + "'), count(remark) FROM txn"})
	if err != nil {
		t.Fatal(err)
	}
	var wantRemarks int64
	for _, r := range laketest.Rows(t, dirs[1], rrs.TXN) {
		if r[cur.Index("remark")] != "" {
			wantRemarks++
		}
	}
	if got := res.Rows[0]; got[0] != int64(len(rows)) || got[1] != int64(0) || got[2] != wantRemarks {
		t.Fatalf("old rows %v with %v remarks, %v remarks in all; want %d, 0, %d", got[0], got[1], got[2], len(rows), wantRemarks)
	}
}
