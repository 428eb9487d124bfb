package lake

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ronghe/ronghe/rrs"
)

// TestTableCatalogCache: a table's metadata is parsed again only when its
// catalog row moved; a lake whose cache is stale (another process
// committed) loads the new metadata and commits on top of it, and every
// commit leaves the JDBC catalog row as iceberg-go's and Java's catalogs do
// (metadata_location the new file, previous_metadata_location the old one).
func TestTableCatalogCache(t *testing.T) {
	_, dirs := region(t, 3)
	dir := t.TempDir()
	cfg := Config{CatalogURI: "sqlite:" + filepath.Join(dir, "catalog.db"), Warehouse: filepath.Join(dir, "warehouse")}
	a, b := openLake(t, cfg), openLake(t, cfg)
	ctx := context.Background()

	row := func() (loc, prev string) {
		t.Helper()
		var p *string
		err := a.DB().QueryRowContext(ctx, `SELECT metadata_location, previous_metadata_location FROM iceberg_tables
			WHERE catalog_name = ? AND table_namespace = ? AND table_name = ?`, a.Config().CatalogName, a.Config().Namespace, TableName(rrs.TXN)).Scan(&loc, &p)
		if err != nil {
			t.Fatal(err)
		}
		if p != nil {
			prev = *p
		}
		return loc, prev
	}
	t1, err := a.Table(ctx, rrs.TXN)
	if err != nil {
		t.Fatal(err)
	}
	if t2, err := a.Table(ctx, rrs.TXN); err != nil || t2 != t1 {
		t.Fatalf("unchanged table loaded again (%v)", err)
	}
	// The lakes take turns: each time one of them holds stale metadata.
	for i, d := range dirs {
		l := []*Lake{a, b}[i%2]
		before, _ := row()
		res := ingestDir(t, l, d, Lineage{})
		if !res.Changed() {
			t.Fatalf("%s: nothing changed", filepath.Base(d))
		}
		loc, prev := row()
		if prev != before || loc == before {
			t.Fatalf("%s: catalog row (%s, %s), the location before was %s", filepath.Base(d), loc, prev, before)
		}
		for _, m := range []*Lake{a, b} {
			tbl, err := m.Table(ctx, rrs.TXN)
			if err != nil {
				t.Fatal(err)
			}
			if tbl.MetadataLocation() != loc {
				t.Fatalf("a lake loads %s, the catalog says %s", tbl.MetadataLocation(), loc)
			}
		}
	}
	for _, m := range []*Lake{a, b} {
		for _, d := range dirs {
			if r := ingestDir(t, m, d, Lineage{}); r.Changed() {
				t.Fatalf("%s: repeat changed the lake", filepath.Base(d))
			}
		}
	}
	st := current(t, b)
	var want [][]string
	for _, d := range dirs {
		want = append(want, csvRows(t, d, rrs.TXN)...)
	}
	if got := lakeRowsOf(t, st, rrs.TXN); !slices.Equal(sortedKeys(got), sortedKeys(want)) {
		t.Fatalf("%d rows, want %d", len(got), len(want))
	}
}
