// Package pipeline carries every accepted submission through the platform's
// internal stages — validation, the flow aggregates, the lake — as durable
// jobs on River, in the same database as the metadata (SQLite embedded,
// PostgreSQL in production). A job that fails or whose process dies is
// retried; every stage is idempotent, so a retried job never applies a batch
// twice.
package pipeline

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
	"github.com/ronghe/ronghe"
)

// Stage is one step of processing an accepted submission. Run must be
// idempotent: it may run again after a crash or a failure of a later stage.
type Stage struct {
	// Name identifies the stage in logs and job errors.
	Name string
	// Run processes the submission tenant/messageID.
	Run func(ctx context.Context, tenant, messageID string) error
}

// ErrSkipRest, returned (possibly wrapped) by a stage, completes the job
// without running the later stages: validation returns it for a rejected
// batch, which must not reach the aggregates or the lake.
var ErrSkipRest = errors.New("pipeline: skip the remaining stages")

// Wait, returned by a stage, puts the job aside for d without counting a
// failed attempt (River's JobSnooze), freeing its worker for other jobs; it
// then runs again from its first stage (every stage is idempotent). The
// governance stage waits so while an earlier batch of the same institution
// is still to be checked. reason is logged.
func Wait(d time.Duration, reason string) error {
	if d < 0 {
		d = 0
	}
	return &waitError{d: d, reason: reason}
}

type waitError struct {
	d      time.Duration
	reason string
}

func (e *waitError) Error() string { return "pipeline: wait " + e.d.String() + ": " + e.reason }

// IsWait reports whether err is (or wraps) a Wait.
func IsWait(err error) bool {
	var w *waitError
	return errors.As(err, &w)
}

// Waited returns how long the job being worked has been waiting: the time
// since one of its stages first returned Wait, 0 when none has (or outside
// a job).
func Waited(ctx context.Context) time.Duration {
	since, ok := ctx.Value(waitingKey{}).(time.Time)
	if !ok || since.IsZero() {
		return 0
	}
	return time.Since(since)
}

type waitingKey struct{}

// metaWaitingSince is the job metadata key holding when the job first
// waited (RFC 3339), kept across its snoozes.
const metaWaitingSince = "ronghe_waiting_since"

// ProcessArgs is the job of processing one accepted submission.
type ProcessArgs struct {
	Tenant    string `json:"tenant"`
	MessageID string `json:"message_id"`
}

// Kind implements river.JobArgs.
func (ProcessArgs) Kind() string { return "ronghe.process" }

type processWorker struct {
	river.WorkerDefaults[ProcessArgs]
	stages []Stage
	log    *slog.Logger
}

func (w *processWorker) Work(ctx context.Context, job *river.Job[ProcessArgs]) error {
	var since time.Time
	if job.JobRow != nil && len(job.Metadata) > 0 {
		var meta map[string]any
		if json.Unmarshal(job.Metadata, &meta) == nil {
			if v, ok := meta[metaWaitingSince].(string); ok {
				since, _ = time.Parse(time.RFC3339Nano, v)
			}
		}
	}
	ctx = context.WithValue(ctx, waitingKey{}, since)
	for _, st := range w.stages {
		began := time.Now()
		err := st.Run(ctx, job.Args.Tenant, job.Args.MessageID)
		var wait *waitError
		if errors.As(err, &wait) {
			if since.IsZero() {
				if merr := river.MetadataSet(ctx, metaWaitingSince, time.Now().UTC().Format(time.RFC3339Nano)); merr != nil {
					w.log.WarnContext(ctx, "pipeline: recording when a job began to wait", "err", merr)
				}
			}
			w.log.DebugContext(ctx, "pipeline job waits", "stage", st.Name, "tenant", job.Args.Tenant, "message_id", job.Args.MessageID,
				"for", wait.d, "reason", wait.reason)
			return river.JobSnooze(wait.d)
		}
		if errors.Is(err, ErrSkipRest) {
			w.log.InfoContext(ctx, "pipeline stops after stage", "stage", st.Name, "tenant", job.Args.Tenant, "message_id", job.Args.MessageID, "reason", err)
			return nil
		}
		if err != nil {
			// Invalid input will not get better by retrying.
			if code := ronghe.ErrorCode(err); code == ronghe.EINVALID || code == ronghe.EINTEGRITY || code == ronghe.ENOTFOUND {
				w.log.ErrorContext(ctx, "pipeline stage failed for good", "stage", st.Name, "tenant", job.Args.Tenant, "message_id", job.Args.MessageID, "err", err)
				return river.JobCancel(fmt.Errorf("%s: %w", st.Name, err))
			}
			return fmt.Errorf("%s: %w", st.Name, err)
		}
		w.log.InfoContext(ctx, "pipeline stage done", "stage", st.Name, "tenant", job.Args.Tenant, "message_id", job.Args.MessageID, "ms", time.Since(began).Milliseconds())
	}
	return nil
}

// Config wires a Pipeline.
type Config struct {
	// DB is the metadata database's pool and Dialect "sqlite" or
	// "postgres"; DSN is its DSN (PostgreSQL needs its own pgx pool).
	DB      *sql.DB
	Dialect string
	DSN     string
	Stages  []Stage
	// Workers is how many submissions are processed at once; 0 means 2.
	Workers int
	Logger  *slog.Logger
}

// client is what the pipeline needs of a River client, whichever driver.
type client interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// Pipeline is the durable job queue of accepted submissions.
type Pipeline struct {
	c     client
	close func()
	// insertManyTx inserts several jobs in one statement in the caller's
	// transaction (SQLite only).
	insertManyTx func(ctx context.Context, tx *sql.Tx, params []river.InsertManyParams) error
}

// Open migrates River's tables and builds the client; Start runs workers.
func Open(ctx context.Context, cfg Config) (*Pipeline, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 2
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &processWorker{stages: cfg.Stages, log: cfg.Logger})
	rc := &river.Config{
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Workers}},
		Workers:           workers,
		Logger:            cfg.Logger,
		MaxAttempts:       25,
		JobTimeout:        time.Hour,
		FetchPollInterval: 200 * time.Millisecond,
	}
	switch cfg.Dialect {
	case "sqlite":
		drv := riversqlite.New(cfg.DB)
		if err := migrate(ctx, drv, cfg.Logger); err != nil {
			return nil, err
		}
		c, err := river.NewClient(drv, rc)
		if err != nil {
			return nil, fmt.Errorf("pipeline: %w", err)
		}
		insertManyTx := func(ctx context.Context, tx *sql.Tx, params []river.InsertManyParams) error {
			_, err := c.InsertManyTx(ctx, tx, params)
			return err
		}
		return &Pipeline{c: c, close: func() {}, insertManyTx: insertManyTx}, nil
	case "postgres":
		pool, err := pgxpool.New(ctx, cfg.DSN)
		if err != nil {
			return nil, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "pipeline: cannot connect to PostgreSQL")
		}
		drv := riverpgxv5.New(pool)
		if err := migrate(ctx, drv, cfg.Logger); err != nil {
			pool.Close()
			return nil, err
		}
		c, err := river.NewClient(drv, rc)
		if err != nil {
			pool.Close()
			return nil, fmt.Errorf("pipeline: %w", err)
		}
		return &Pipeline{c: c, close: pool.Close}, nil
	}
	return nil, ronghe.Errorf(ronghe.EINVALID, "pipeline: unknown dialect %q", cfg.Dialect)
}

// migrate brings River's tables up to date; River serialises concurrent
// migrators itself.
func migrate[TTx any](ctx context.Context, drv riverdriver.Driver[TTx], log *slog.Logger) error {
	m, err := rivermigrate.New(drv, &rivermigrate.Config{Logger: log})
	if err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return ronghe.WrapError(ronghe.EUNAVAILABLE, err, "pipeline: cannot migrate the job tables")
	}
	return nil
}

// Start runs the workers until Stop.
func (p *Pipeline) Start(ctx context.Context) error { return p.c.Start(ctx) }

// Stop waits for running jobs to finish (or ctx to end) and releases the
// pipeline's connections.
func (p *Pipeline) Stop(ctx context.Context) error {
	err := p.c.Stop(ctx)
	p.close()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// Enqueue schedules processing of an accepted submission. Enqueueing the
// same submission again while its job exists is a no-op, so callers may
// enqueue on every acceptance and again on start-up.
func (p *Pipeline) Enqueue(ctx context.Context, tenant, messageID string) error {
	_, err := p.c.Insert(ctx, ProcessArgs{Tenant: tenant, MessageID: messageID}, enqueueOpts)
	if err != nil {
		return ronghe.WrapError(ronghe.EUNAVAILABLE, err, "pipeline: cannot enqueue "+messageID)
	}
	return nil
}

var enqueueOpts = &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}

// EnqueueTx is Enqueue inside the caller's transaction on the pipeline's
// SQLite database, so that the job exists exactly when the transaction
// commits (sqlstore.DB.OnAccept). On PostgreSQL, where River has its own
// connection pool, it is EUNSUPPORTED: use Enqueue before the acceptance.
func (p *Pipeline) EnqueueTx(ctx context.Context, tx *sql.Tx, tenant, messageID string) error {
	return p.EnqueueManyTx(ctx, tx, []string{tenant}, []string{messageID})
}

// EnqueueManyTx is EnqueueTx for several accepted submissions at once
// (tenants[i], messageIDs[i]), in one insert: the hook of
// sqlstore.DB.OnAcceptMany, where concurrent acceptances share a
// transaction.
func (p *Pipeline) EnqueueManyTx(ctx context.Context, tx *sql.Tx, tenants, messageIDs []string) error {
	if p.insertManyTx == nil {
		return ronghe.Errorf(ronghe.EUNSUPPORTED, "pipeline: enqueueing in a caller's transaction needs SQLite")
	}
	if len(tenants) != len(messageIDs) {
		return ronghe.Errorf(ronghe.EINTERNAL, "pipeline: %d tenants for %d submissions", len(tenants), len(messageIDs))
	}
	if len(tenants) == 0 {
		return nil
	}
	params := make([]river.InsertManyParams, len(tenants))
	for i := range tenants {
		params[i] = river.InsertManyParams{Args: ProcessArgs{Tenant: tenants[i], MessageID: messageIDs[i]}, InsertOpts: enqueueOpts}
	}
	if err := p.insertManyTx(ctx, tx, params); err != nil {
		what := fmt.Sprintf("%d submissions", len(tenants))
		if len(tenants) == 1 {
			what = messageIDs[0]
		}
		return ronghe.WrapError(ronghe.EUNAVAILABLE, err, "pipeline: cannot enqueue "+what)
	}
	return nil
}
