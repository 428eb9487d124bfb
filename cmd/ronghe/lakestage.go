package main

import (
	"context"
	"os"
	"path/filepath"

	"github.com/ronghe/ronghe/lake"
	"github.com/ronghe/ronghe/lake/lakeapi"
	"github.com/ronghe/ronghe/lake/lakesql"
	"github.com/ronghe/ronghe/pipeline"
)

// openLakeStage opens the lakehouse the platform lands accepted batches in —
// by default an SQLite catalog and a local warehouse under <data>/lake, the
// same locations `ronghe catalog`, `ronghe sql` and `ronghe lake` use;
// RONGHE_LAKE_CATALOG and RONGHE_WAREHOUSE choose production ones — and
// returns the pipeline stage that ingests each accepted batch, exactly once,
// with its lineage. The returned closer closes the lake. It also builds the
// lake API the operator's staff query (p.lakeAPI): catalog, governed SQL
// and query log over the same lake.
func (p *platform) openLakeStage(ctx context.Context, cfg platformConfig) (pipeline.Stage, func() error, error) {
	lc := lake.Config{CatalogURI: os.Getenv("RONGHE_LAKE_CATALOG"), Warehouse: os.Getenv("RONGHE_WAREHOUSE"), Logger: cfg.logger}
	if lc.CatalogURI == "" {
		lc.CatalogURI = "sqlite:" + filepath.Join(cfg.store.data, "lake", "catalog.db")
	}
	if lc.Warehouse == "" {
		abs, err := filepath.Abs(filepath.Join(cfg.store.data, "lake", "warehouse"))
		if err != nil {
			return pipeline.Stage{}, nil, err
		}
		lc.Warehouse = abs
	}
	if err := os.MkdirAll(filepath.Join(cfg.store.data, "lake"), 0o700); err != nil {
		return pipeline.Stage{}, nil, err
	}
	lk, err := lake.Open(ctx, lc)
	if err != nil {
		return pipeline.Stage{}, nil, err
	}
	eng, err := lakesql.New(ctx, lk, lakesql.Options{CacheDir: filepath.Join(cfg.store.data, "lake", "cache")})
	if err != nil {
		lk.Close()
		return pipeline.Stage{}, nil, err
	}
	p.lakeAPI = lakeRoutes(lakeapi.Handler(lk, eng, staffAuth, cfg.logger))
	stage := pipeline.Stage{Name: "lake", Run: func(ctx context.Context, tenant, messageID string) error {
		b, err := pipeline.OpenBatch(ctx, p.db, p.blobs, tenant, messageID)
		if err != nil {
			return err
		}
		_, err = lk.Ingest(ctx, b, lake.LineageOf(b.Submission()))
		return err
	}}
	return stage, lk.Close, nil
}
