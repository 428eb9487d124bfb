package lake

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/ronghe/ronghe/gen"
	"github.com/ronghe/ronghe/rrs"
)

// quietLogger discards the lake's log in tests.
func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// region generates a small synthetic region (month end included, so STAT
// appears) and returns its directory and batch directories in name order.
func region(t testing.TB, days int) (string, []string) {
	t.Helper()
	cfg := gen.Config{
		Seed: 11, Institutions: 2, Enterprises: 12, People: 40,
		Start: rrs.Date{Y: 2025, M: 1, D: 30}, Days: days, Encoding: rrs.UTF8,
		OutDir: filepath.Join(t.TempDir(), "region"),
	}
	if _, err := gen.Generate(context.Background(), cfg); err != nil {
		t.Fatalf("gen: %v", err)
	}
	entries, err := os.ReadDir(cfg.OutDir)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if _, err := rrs.ParseBatchID(e.Name()); e.IsDir() && err == nil {
			dirs = append(dirs, filepath.Join(cfg.OutDir, e.Name()))
		}
	}
	sort.Strings(dirs)
	return cfg.OutDir, dirs
}

// openSQLiteLake opens a lake with an SQLite catalog and a local warehouse
// in the test's temporary directory.
func openSQLiteLake(t testing.TB) *Lake {
	t.Helper()
	dir := t.TempDir()
	return openLake(t, Config{CatalogURI: "sqlite:" + filepath.Join(dir, "catalog.db"), Warehouse: filepath.Join(dir, "warehouse")})
}

func openLake(t testing.TB, cfg Config) *Lake {
	t.Helper()
	cfg.Logger = quietLogger()
	l, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// openBatch opens a batch directory, closed with the test.
func openBatch(t testing.TB, dir string) *rrs.Batch {
	t.Helper()
	b, err := rrs.OpenBatch(dir, rrs.UTF8)
	if err != nil {
		t.Fatalf("open batch %s: %v", dir, err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// ingestDir ingests one batch directory and fails the test on error.
func ingestDir(t testing.TB, l *Lake, dir string, lin Lineage) *IngestResult {
	t.Helper()
	res, err := l.Ingest(context.Background(), openBatch(t, dir), lin)
	if err != nil {
		t.Fatalf("ingest %s: %v", filepath.Base(dir), err)
	}
	return res
}
