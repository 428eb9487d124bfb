// Package laketest gives tests of the lake's users a small synthetic region
// and a lake in a temporary directory.
package laketest

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/ronghe/ronghe/gen"
	"github.com/ronghe/ronghe/lake"
	"github.com/ronghe/ronghe/rrs"
)

// Region generates a small region of two institutions from 30 January 2025
// (so the month end, with STAT and FXP rows, is in it) and returns its
// directory and the batch directories in name order.
func Region(t testing.TB, days int) (string, []string) {
	t.Helper()
	cfg := gen.Config{
		Seed: 11, Institutions: 2, Enterprises: 12, People: 40,
		Start: rrs.Date{Y: 2025, M: 1, D: 30}, Days: days, Encoding: rrs.UTF8,
		OutDir: filepath.Join(t.TempDir(), "region"),
	}
	if _, err := gen.Generate(context.Background(), cfg); err != nil {
		t.Fatalf("gen: %v", err)
	}
	return cfg.OutDir, Batches(t, cfg.OutDir)
}

// Batches lists the batch directories under dir in name order.
func Batches(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if _, err := rrs.ParseBatchID(e.Name()); e.IsDir() && err == nil {
			dirs = append(dirs, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(dirs)
	return dirs
}

// Quiet is a logger that discards everything.
func Quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// Open opens a lake with cfg (quiet) and closes it with the test.
func Open(t testing.TB, cfg lake.Config) *lake.Lake {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = Quiet()
	}
	l, err := lake.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("lake.Open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// OpenSQLite opens a lake with an SQLite catalog and a local warehouse in
// the test's temporary directory.
func OpenSQLite(t testing.TB) *lake.Lake {
	t.Helper()
	dir := t.TempDir()
	return Open(t, lake.Config{CatalogURI: "sqlite:" + filepath.Join(dir, "catalog.db"), Warehouse: filepath.Join(dir, "warehouse")})
}

// Ingest lands one batch directory.
func Ingest(t testing.TB, l *lake.Lake, dir string, lin lake.Lineage) *lake.IngestResult {
	t.Helper()
	b, err := rrs.OpenBatch(dir, rrs.UTF8)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	res, err := l.Ingest(context.Background(), b, lin)
	if err != nil {
		t.Fatalf("ingest %s: %v", filepath.Base(dir), err)
	}
	return res
}

// Rows returns the data rows of record type typ in a batch directory, in
// canonical field order (nil when the batch has no such file).
func Rows(t testing.TB, dir string, typ rrs.Type) [][]string {
	t.Helper()
	b, err := rrs.OpenBatch(dir, rrs.UTF8)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
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
