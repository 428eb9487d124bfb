package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ronghe/ronghe"
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
	// The exchange, which delivers disputes to the institutions' mailboxes,
	// is built after the services: deliver through it once it exists.
	p.disputes = policy.NewDisputes(policy.DisputeConfig{Policy: p.policy, Store: p.db, Mailbox: lateMailbox(func() policy.Mailbox {
		if p.exch == nil {
			return nil
		}
		return p.exch
	})})
	rate, burst, err := reportRate()
	if err != nil {
		return err
	}
	p.reports = report.New(report.Config{Policy: p.policy, Store: p.db, Signers: p.keys.signers(), Disputes: p.disputes,
		RatePerSecond: rate, Burst: burst, Logger: cfg.logger})
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
		applied, err := p.db.ReplaceFlowDay(ctx, day)
		if err != nil || !applied || day.Seq < 2 || sub.AcceptedAt == nil {
			return err
		}
		// A correction batch resolves the disputes about its date filed
		// before it was accepted.
		_, err = p.disputes.ResolveByCorrection(ctx, day.Inst, day.Date, day.Batch, messageID, *sub.AcceptedAt)
		return err
	}}
	// The quality check goes first: a rejected batch stops there.
	if p.gov, err = p.openGovernance(cfg); err != nil {
		return err
	}
	lakeStage, closeLake, err := p.openLakeStage(ctx, cfg)
	if err != nil {
		return err
	}
	p.closeLake = closeLake
	p.pipe, err = pipeline.Open(ctx, pipeline.Config{DB: p.db.SQL(), Dialect: p.db.Dialect(), DSN: cfg.store.dsn(),
		Stages: []pipeline.Stage{p.gov.Stage(), flows, lakeStage}, Logger: cfg.logger})
	return err
}

// lateMailbox delivers through a mailbox that exists only once the platform
// is fully built.
type lateMailbox func() policy.Mailbox

func (m lateMailbox) Deliver(ctx context.Context, tenant, kind, subject, refersTo, contentType string, body []byte) (*ronghe.MailboxMessage, error) {
	mb := m()
	if mb == nil {
		return nil, ronghe.Errorf(ronghe.EUNAVAILABLE, "the mailbox is not running yet")
	}
	return mb.Deliver(ctx, tenant, kind, subject, refersTo, contentType, body)
}

// reportRate reads the per-institution limit on flow report requests from
// RONGHE_REPORT_RATE (requests per second) and RONGHE_REPORT_BURST; unset,
// the report service's defaults apply.
func reportRate() (float64, int, error) {
	var rate float64
	var burst int
	if v := os.Getenv("RONGHE_REPORT_RATE"); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || r <= 0 {
			return 0, 0, fmt.Errorf("RONGHE_REPORT_RATE=%q: want a positive number of requests per second", v)
		}
		rate, burst = r, max(1, int(r*2))
	}
	if v := os.Getenv("RONGHE_REPORT_BURST"); v != "" {
		b, err := strconv.Atoi(v)
		if err != nil || b < 1 || rate == 0 {
			return 0, 0, fmt.Errorf("RONGHE_REPORT_BURST=%q: want a positive integer, with RONGHE_REPORT_RATE set", v)
		}
		burst = b
	}
	return rate, burst, nil
}
