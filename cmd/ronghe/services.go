package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ronghe/ronghe/pipeline"
	"github.com/ronghe/ronghe/policy"
	"github.com/ronghe/ronghe/report"
)

// loadOrCreateSecret reads a 32-byte secret file or creates it (0600).
func loadOrCreateSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) != 32 {
			return nil, fmt.Errorf("%s: want 32 bytes, found %d", path, len(b))
		}
		return b, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	b = make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return loadOrCreateSecret(path) // another process created it first
	} else if err != nil {
		return nil, err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, err
	}
	return b, f.Close()
}

// openServices builds the internal side: authorization first, the flow
// reports and the pipeline that maintains their aggregates as submissions
// are accepted. It runs before the exchange is built, which enqueues into the
// pipeline.
func (p *platform) openServices(ctx context.Context, cfg platformConfig) error {
	secret, err := loadOrCreateSecret(filepath.Join(cfg.store.data, "keys", "pseudonym.key"))
	if err != nil {
		return fmt.Errorf("pseudonymisation key: %w", err)
	}
	keyer, err := report.NewKeyer(secret)
	if err != nil {
		return err
	}
	p.policy = policy.New(policy.Config{Store: p.db, Keys: p.db, Institutions: p.db, Log: p.log, Logger: cfg.logger})
	p.reports = report.New(report.Config{Policy: p.policy, Store: p.db, Signers: p.keys.signers(), Logger: cfg.logger})
	flows := pipeline.Stage{Name: "flows", Run: func(ctx context.Context, tenant, messageID string) error {
		b, err := pipeline.OpenBatch(ctx, p.db, p.blobs, tenant, messageID)
		if err != nil {
			return err
		}
		sub := b.Submission()
		var index uint64
		if sub.LogIndex != nil {
			index = *sub.LogIndex
		}
		day, err := report.Aggregate(ctx, b, report.Lineage{MessageID: messageID, LogIndex: index}, keyer, time.Now())
		if err != nil {
			return err
		}
		_, err = p.db.ReplaceFlowDay(ctx, day)
		return err
	}}
	p.pipe, err = pipeline.Open(ctx, pipeline.Config{DB: p.db.SQL(), Dialect: p.db.Dialect(), DSN: cfg.store.dsn(),
		Stages: []pipeline.Stage{flows}, Logger: cfg.logger})
	return err
}
