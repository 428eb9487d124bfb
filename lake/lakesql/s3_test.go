package lakesql

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/ronghe/ronghe/lake"
	"github.com/ronghe/ronghe/lake/laketest"
	"github.com/ronghe/ronghe/rrs"
)

// TestS3Warehouse runs the lake on an S3 warehouse (an in-process S3
// server, path-style as MinIO is reached): ingest, the data catalog, and
// governed SQL, which reads the data files through a local cache.
func TestS3Warehouse(t *testing.T) {
	mem := s3mem.New()
	srv := httptest.NewServer(gofakes3.New(mem).Server())
	t.Cleanup(srv.Close)
	if err := mem.CreateBucket("lake"); err != nil {
		t.Fatal(err)
	}
	_, dirs := laketest.Region(t, 2)
	l := laketest.Open(t, lake.Config{
		CatalogURI: "sqlite:" + filepath.Join(t.TempDir(), "catalog.db"),
		Warehouse:  "s3://lake/warehouse",
		Props: map[string]string{
			"s3.endpoint": srv.URL, "s3.region": "us-east-1",
			"s3.access-key-id": "test", "s3.secret-access-key": "test",
		},
	})
	var want int64
	for _, d := range dirs {
		laketest.Ingest(t, l, d, lake.Lineage{})
		want += int64(len(laketest.Rows(t, d, rrs.TXN)))
	}
	infos, err := l.Catalog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, ti := range infos {
		if rrs.Type(ti.Type) == rrs.TXN && (ti.Rows != want || !strings.HasPrefix(ti.Location, "s3://lake/warehouse/")) {
			t.Fatalf("catalog: %+v", ti)
		}
	}
	cache := t.TempDir()
	eng, err := New(context.Background(), l, Options{CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second run reads the cached copies
		res, err := eng.Query(context.Background(), Request{User: "u", Role: "supervisor", SQL: "SELECT count(*), sum(amount) FROM txn"})
		if err != nil {
			t.Fatal(err)
		}
		if res.Rows[0][0] != want {
			t.Fatalf("count %v, want %d", res.Rows[0][0], want)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(cache, "files", "*.parquet")); len(m) == 0 {
		t.Fatal("no data file cached")
	}
}
