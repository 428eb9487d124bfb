package governance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/exchange"
	"github.com/ronghe/ronghe/pipeline"
	"github.com/ronghe/ronghe/rrs"
	"github.com/ronghe/ronghe/rules"
)

// Submissions finds accepted submissions (*sqlstore.DB).
type Submissions interface {
	FindSubmission(ctx context.Context, tenant, messageID string) (*ronghe.Submission, error)
}

// Keys finds institutions' registered keys (*sqlstore.DB).
type Keys interface {
	FindKey(ctx context.Context, owner, id string) (*ronghe.Key, error)
}

// Mailbox delivers platform-signed, logged messages to institutions
// (*exchange.Service).
type Mailbox interface {
	Deliver(ctx context.Context, tenant, kind, subject, refersTo, contentType string, body []byte) (*ronghe.MailboxMessage, error)
}

// Config wires a Service.
type Config struct {
	Store       ronghe.GovernanceStore
	Submissions Submissions
	Blobs       Blobs
	Keys        Keys
	Mailbox     Mailbox
	// HistoryPath is the rule engine's DuckDB history file, kept
	// persistently per deployment (<data>/quality/history.duckdb).
	HistoryPath string
	// WorkDir receives the private, short-lived plaintext copies of the
	// batches being checked (<data>/quality/work, 0700).
	WorkDir string
	// Lock, when set, serialises checks across the processes sharing the
	// store and the history file (a PostgreSQL advisory lock); it waits and
	// returns the release function.
	Lock func(ctx context.Context) (release func(), err error)
	// KeepEngineOpen keeps the rule engine (and its history file) open
	// between checks: right when this is the only process (SQLite).
	KeepEngineOpen bool
	// SampleKey is the platform's secret for seeding P01 samples (32 bytes).
	SampleKey []byte
	// Calendar decides business days; DefaultCalendar() when nil.
	Calendar *Calendar
	// DeadlineDays is the business days a ticket or sample has (default 5).
	DeadlineDays int
	// Confidence and TolerableRate are the P01 parameters (default: the
	// rule set's, 0.95 and 0.03).
	Confidence, TolerableRate float64
	// OrderPoll is how long a batch's check waits before looking again
	// whether the earlier batches of its institution are checked (default
	// 1 second); MaxOrderWait bounds that wait (default 6 hours), see
	// Service.turn.
	OrderPoll, MaxOrderWait time.Duration
	// SweepInterval is how often Start's loop looks for passed deadlines
	// and undelivered messages (default 1 minute).
	SweepInterval time.Duration
	// Now is the clock; time.Now when nil.
	Now    func() time.Time
	Logger *slog.Logger
}

// Service is the governance loop.
type Service struct {
	cfg   Config
	store ronghe.GovernanceStore
	chk   *checker
	rs    *rules.RuleSet // for P01: its parameters and rules.CompareSample
	log   *slog.Logger
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.Store == nil || cfg.Submissions == nil || cfg.Blobs == nil || cfg.Keys == nil || cfg.Mailbox == nil:
		return nil, errors.New("governance: Config needs Store, Submissions, Blobs, Keys and Mailbox")
	case cfg.WorkDir == "":
		return nil, errors.New("governance: Config.WorkDir is empty")
	case len(cfg.SampleKey) < 16:
		return nil, errors.New("governance: Config.SampleKey must have at least 16 bytes")
	}
	if cfg.Calendar == nil {
		cfg.Calendar = DefaultCalendar()
	}
	if cfg.DeadlineDays <= 0 {
		cfg.DeadlineDays = 5
	}
	rs, err := rules.Load("")
	if err != nil {
		return nil, err
	}
	_, conf, tol, ok := rs.SampleParams()
	if !ok {
		conf, tol = DefaultConfidence, DefaultTolerableRate
	}
	if cfg.Confidence <= 0 || cfg.Confidence >= 1 {
		cfg.Confidence = conf
	}
	if cfg.TolerableRate <= 0 || cfg.TolerableRate >= 1 {
		cfg.TolerableRate = tol
	}
	if cfg.OrderPoll <= 0 {
		cfg.OrderPoll = time.Second
	}
	if cfg.MaxOrderWait <= 0 {
		cfg.MaxOrderWait = DefaultMaxOrderWait
	}
	if cfg.SweepInterval <= 0 {
		cfg.SweepInterval = time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Service{cfg: cfg, store: cfg.Store, rs: rs, log: cfg.Logger, chk: &checker{
		historyPath: cfg.HistoryPath, lock: cfg.Lock, keepOpen: cfg.KeepEngineOpen, log: cfg.Logger, sem: make(chan struct{}, 1),
	}}, nil
}

// Close releases the rule engine if it is kept open.
func (s *Service) Close() error { return s.chk.Close() }

func (s *Service) now() time.Time { return s.cfg.Now() }

// Stage is the pipeline stage that checks every accepted submission; it
// goes first, so a rejected batch never reaches the later stages.
func (s *Service) Stage() pipeline.Stage { return pipeline.Stage{Name: "quality", Run: s.Process} }

// Process checks one accepted submission: a batch gets its outcome,
// findings, tickets, sample and messages; a sample answer is compared with
// the sampled rows. It returns an error wrapping pipeline.ErrSkipRest for a
// rejected or superseded batch and for every sample answer, which must not
// reach the aggregates or the lake. It is idempotent: a batch checked
// before is not checked again, only its undelivered messages are sent.
func (s *Service) Process(ctx context.Context, tenant, messageID string) error {
	sub, err := s.cfg.Submissions.FindSubmission(ctx, tenant, messageID)
	if err != nil {
		return err
	}
	if sub.Status != ronghe.SubmissionAccepted || sub.AcceptedAt == nil {
		return ronghe.Errorf(ronghe.EUNAVAILABLE, "submission %s is not accepted yet", messageID)
	}
	m, err := exchange.ParseManifest(sub.Manifest)
	if err != nil {
		return err
	}
	switch m.Kind {
	case ronghe.MessageBatch:
		return s.processBatch(ctx, sub, m)
	case ronghe.MessageSampleAnswer:
		if err := s.processAnswer(ctx, sub, m); err != nil {
			return err
		}
		return fmt.Errorf("%w: %s is a sample answer", pipeline.ErrSkipRest, messageID)
	}
	return ronghe.Errorf(ronghe.EINVALID, "submission %s is a %s", messageID, m.Kind)
}

func (s *Service) processBatch(ctx context.Context, sub *ronghe.Submission, m *ronghe.Manifest) error {
	id, err := rrs.ParseBatchID(m.MessageID)
	if err != nil {
		return err
	}
	if err := s.turn(ctx, sub.Tenant, id); err != nil {
		return err
	}
	started := s.now()
	q, err := s.store.BeginQuality(ctx, &ronghe.BatchQuality{Tenant: sub.Tenant, Batch: id.String(), BusinessDate: id.Date.String(),
		Seq: id.Seq, ContentDigest: ContentDigest(m.Files), ReceivedAt: *sub.AcceptedAt, StartedAt: &started})
	if err != nil {
		return err
	}
	var ids []int64
	if q.Status != ronghe.QualityDone {
		ids, err = s.validate(ctx, q, sub, m, id)
		if err != nil {
			status := ronghe.QualityRetrying
			if code := ronghe.ErrorCode(err); code == ronghe.EINVALID || code == ronghe.EINTEGRITY || code == ronghe.ENOTFOUND {
				status = ronghe.QualityFailed
			}
			if ferr := s.store.FailQuality(context.WithoutCancel(ctx), q.Tenant, q.Batch, status, ronghe.ErrorMessage(err)); ferr != nil {
				s.log.WarnContext(ctx, "governance: recording a failed check", "batch", q.Batch, "err", ferr)
			}
			return err
		}
		if q, err = s.store.FindQuality(ctx, q.Tenant, q.Batch); err != nil {
			return err
		}
	}
	// A batch checked before (a retried job) may still owe messages.
	s.deliver(ctx, ids)
	switch q.Outcome {
	case ronghe.OutcomeRejected, ronghe.OutcomeSuperseded:
		return fmt.Errorf("%w: batch %s is %s", pipeline.ErrSkipRest, q.Batch, q.Outcome)
	}
	return nil
}

// DefaultMaxOrderWait bounds how long a batch's check waits for an earlier
// batch of its institution (Config.MaxOrderWait).
const DefaultMaxOrderWait = 6 * time.Hour

// turn decides whether batch id of tenant may be checked now. The history
// rules (C01, C05, C06, L08 across batches) compare a batch with the
// institution's batches before it in business-date order (RRS-1 §3), so an
// institution's batches are checked in (business date, seq) order, whatever
// order the pipeline's workers — in this process or another — pick their
// jobs up: while an accepted batch of the institution with a smaller
// (business date, seq) has no done or failed check, turn returns
// pipeline.Wait (the job is put aside for Config.OrderPoll, its worker free
// for other institutions' batches). Other institutions are never held back.
// A batch that was never received is not waited for: the check compares
// with the latest earlier batch there is, and C05 reports the gap. Nor is
// one dated before the institution's latest checked date before this
// batch's: a later date has overtaken it already (it is a late batch), and
// looking no further back keeps the lookup to the last dates.
//
// The wait is bounded. Once the job has waited Config.MaxOrderWait, the
// earliest unchecked batch (the one the others wait behind: its job lost or
// its check failing again and again) and any whose check has failed and
// waits for a retry no longer hold it back — the check then goes ahead as if
// they had not been received, as for a gap — but it still waits for the
// others, so that the institution's remaining batches keep their order.
// After twice that it waits for nothing. A batch checked again (a retried
// job whose check is done) never waits.
func (s *Service) turn(ctx context.Context, tenant string, id rrs.BatchID) error {
	ids, err := s.store.UncheckedSubmissions(ctx, tenant, id.Date.String())
	if err != nil {
		return err
	}
	own := id.String()
	var earlier []rrs.BatchID
	mine := false
	for _, m := range ids {
		if m == own {
			mine = true
			continue
		}
		b, err := rrs.ParseBatchID(m)
		if err != nil || b.InstCode != tenant || !before(b, id) {
			continue
		}
		earlier = append(earlier, b)
	}
	if !mine || len(earlier) == 0 {
		return nil
	}
	slices.SortFunc(earlier, func(a, b rrs.BatchID) int {
		if before(a, b) {
			return -1
		}
		if before(b, a) {
			return 1
		}
		return 0
	})
	// A sample answer may bear a batch's name: only batches count. Before
	// MaxOrderWait the earliest pending batch decides, so the manifests are
	// read only up to it: when many batches wait (a backlog of one date's
	// versions), reading them all made each look cost as many lookups.
	waited := pipeline.Waited(ctx)
	var pending []rrs.BatchID
	for _, b := range earlier {
		sub, err := s.cfg.Submissions.FindSubmission(ctx, tenant, b.String())
		if err != nil {
			return err
		}
		if m, err := exchange.ParseManifest(sub.Manifest); err == nil && m.Kind == ronghe.MessageBatch {
			pending = append(pending, b)
			if waited < s.cfg.MaxOrderWait {
				break
			}
		}
	}
	if len(pending) == 0 {
		return nil
	}
	if waited >= s.cfg.MaxOrderWait {
		var still []rrs.BatchID
		if waited < 2*s.cfg.MaxOrderWait {
			for _, b := range pending[1:] {
				q, err := s.store.FindQuality(ctx, tenant, b.String())
				if ronghe.ErrorCode(err) == ronghe.ENOTFOUND || (err == nil && q.Status == ronghe.QualityRunning) {
					still = append(still, b)
				} else if err != nil {
					return err
				}
			}
		}
		if len(still) == 0 {
			s.log.WarnContext(ctx, "governance: checking a batch although earlier batches of its institution are not checked; they count as not received",
				"batch", own, "earlier", pending[0].String(), "unchecked", len(pending), "waited", waited.Round(time.Second))
			return nil
		}
		pending = still
	}
	return pipeline.Wait(s.cfg.OrderPoll, "the earlier batch "+pending[0].String()+" of the institution is not checked yet")
}

// before reports whether a comes before b in an institution's history:
// by business date, then seq.
func before(a, b rrs.BatchID) bool {
	if c := a.Date.Compare(b.Date); c != 0 {
		return c < 0
	}
	return a.Seq < b.Seq
}

// progress returns a throttled recorder of a running job's progress.
func (s *Service) progress(ctx context.Context, tenant, batch string) func(phase string, done, total int) {
	var last time.Time
	var lastPhase string
	return func(phase string, done, total int) {
		if phase == lastPhase && done != total && time.Since(last) < 500*time.Millisecond {
			return
		}
		last, lastPhase = time.Now(), phase
		if err := s.store.SetQualityProgress(ctx, tenant, batch, phase, done, total); err != nil {
			s.log.DebugContext(ctx, "governance: recording progress", "batch", batch, "err", err)
		}
	}
}

// validate checks a batch and applies the result; it returns the outbox
// messages to deliver.
func (s *Service) validate(ctx context.Context, q *ronghe.BatchQuality, sub *ronghe.Submission, m *ronghe.Manifest, id rrs.BatchID) ([]int64, error) {
	prog := s.progress(ctx, q.Tenant, q.Batch)
	prog("queued", 0, 0)
	sess, err := s.chk.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer sess.Release()
	// A later version checked first replaces this one: it is not checked,
	// so that the history never goes back to an older version.
	versions, err := s.store.ListQuality(ctx, ronghe.QualityFilter{Tenant: q.Tenant, From: q.BusinessDate, To: q.BusinessDate})
	if err != nil {
		return nil, err
	}
	for _, v := range versions {
		if v.Seq > id.Seq && v.Status == ronghe.QualityDone && v.Outcome != ronghe.OutcomeSuperseded {
			now := s.now()
			done := *q
			done.Status, done.Outcome, done.FinishedAt, done.Phase, done.Done, done.Total = ronghe.QualityDone, ronghe.OutcomeSuperseded, &now, "", 0, 0
			return nil, s.store.ApplyQuality(ctx, &ronghe.QualityChange{Quality: &done})
		}
	}
	spec, err := rrs.Lookup(m.StandardVersion)
	if err != nil {
		return nil, err
	}
	enc, err := rrs.ParseEncoding(m.Encoding)
	if err != nil {
		return nil, err
	}
	dir, err := materialize(ctx, s.cfg.Blobs, s.cfg.WorkDir, sub, id.String(), func(d, t int) { prog("decrypt", d, t) })
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(filepath.Dir(dir))
	open := func() (*rrs.Batch, error) { return rrs.OpenBatchWith(dir, enc, rrs.BatchOptions{Spec: spec}) }
	b, err := open()
	if err != nil {
		return nil, err
	}
	found, err := sess.Check(ctx, b, func(p rules.Progress) { prog(p.Phase, p.Done, p.Total) })
	b.Close()
	if err != nil {
		return nil, err
	}
	var own, other []rules.Finding
	for _, f := range found {
		if f.Batch == q.Batch {
			own = append(own, f)
		} else {
			other = append(other, f)
		}
	}
	// The sample is drawn from rows with a sound, unique txn_id and amount.
	exclude := map[string]bool{}
	for _, f := range own {
		if f.Type == string(rrs.TXN) && (f.Rule == "L01" || f.Rule == "L02" || f.Rule == "L08") {
			exclude[f.Key] = true
		}
	}
	// Rows asked for by open P01 tickets of the date, to see whether this
	// version still differs from the source copy.
	act, err := s.store.ActiveTickets(ctx, q.Tenant, q.BusinessDate)
	if err != nil {
		return nil, err
	}
	collect := map[string]bool{}
	for _, t := range act {
		if t.Rule == "P01" {
			collect[t.Key] = true
		}
	}
	dr := &drawer{}
	if b, err = open(); err != nil {
		return nil, err
	}
	fx, err := scanBatch(b, scanOptions{drawer: dr, exclude: exclude, collect: collect})
	b.Close()
	if err != nil {
		return nil, err
	}
	units, _, picks, err := dr.draw(SampleSeed(s.cfg.SampleKey, q.ContentDigest), s.cfg.Confidence, s.cfg.TolerableRate)
	if err != nil {
		return nil, err
	}
	if b, err = open(); err != nil {
		return nil, err
	}
	drawn, err := txnIDsAt(b, picks)
	b.Close()
	if err != nil {
		return nil, err
	}
	smp := &drawnSample{population: dr.eligible, units: units, rows: drawn}
	prog("apply", 0, 1)
	for attempt := 1; ; attempt++ {
		ch, err := s.batchChange(ctx, q, id, fx, own, other, smp)
		if err == nil {
			err = s.store.ApplyQuality(ctx, ch)
		}
		if err == nil {
			ids := make([]int64, 0, len(ch.Outbox))
			for _, o := range ch.Outbox {
				ids = append(ids, o.ID)
			}
			return ids, nil
		}
		// A ticket changed meanwhile (the sweeper, an answer): read again.
		if ronghe.ErrorCode(err) != ronghe.ECONFLICT || attempt == 3 {
			return nil, err
		}
	}
}

// record turns an engine finding into a stored one.
func record(tenant string, f rules.Finding, source string, now time.Time) *ronghe.QualityFinding {
	return &ronghe.QualityFinding{Tenant: tenant, Batch: f.Batch, Rule: f.Rule, Severity: string(f.Severity), Type: f.Type,
		Key: f.Key, Field: f.Field, Message: f.Message, Source: source, FoundAt: now}
}

// drawnSample is a batch's P01 draw.
type drawnSample struct {
	population int64
	units      int
	rows       []ronghe.SampleRow
}

// batchChange builds everything a checked batch changes.
func (s *Service) batchChange(ctx context.Context, q *ronghe.BatchQuality, id rrs.BatchID, fx *facts, own, other []rules.Finding, drawn *drawnSample) (*ronghe.QualityChange, error) {
	now := s.now()
	tenant, batch, date := q.Tenant, q.Batch, q.BusinessDate
	problems := structural(fx, own)
	outcome := Outcome(problems, len(own))
	done := *q
	done.Status, done.Outcome, done.Problems, done.FinishedAt = ronghe.QualityDone, outcome, problems, &now
	done.Phase, done.Done, done.Total, done.LastError = "", 0, 0, ""
	done.Errors, done.Warnings = 0, 0
	for _, f := range own {
		if f.Severity == rules.Error {
			done.Errors++
		} else {
			done.Warnings++
		}
	}
	done.Stats = ronghe.QualityStats{Records: fx.records, ExpectedBAL: fx.expectedBAL, Checks: fx.checks}
	findingStats(own, &done.Stats)
	ch := &ronghe.QualityChange{Quality: &done}
	book := newTicketBook(s, ch, now)
	var ownRecs []*ronghe.QualityFinding
	for _, f := range own {
		r := record(tenant, f, batch, now)
		if err := book.record(ctx, tenant, id, r); err != nil {
			return nil, err
		}
		ownRecs = append(ownRecs, r)
	}
	usable := outcome != ronghe.OutcomeRejected
	// Tickets of the date this version no longer shows close; a rejected
	// version closes nothing (its rows may not even have been read).
	act, err := book.active(ctx, tenant, date)
	if err != nil {
		return nil, err
	}
	answers := map[string]map[string][][]string{} // sampled batch → txn_id → source rows
	for _, t := range act {
		if !usable || book.touched[t.ID] || batchSeq(t.LastBatch) >= id.Seq {
			continue
		}
		if t.Rule != "P01" {
			book.close(t, batch)
			continue
		}
		src, ok := answers[t.FirstBatch]
		if !ok {
			if src, err = s.sourceRows(ctx, tenant, t.FirstBatch, collectKeys(act, t.FirstBatch)); err != nil {
				return nil, err
			}
			answers[t.FirstBatch] = src
		}
		r := &ronghe.QualityFinding{Tenant: tenant, Batch: batch, Rule: t.Rule, Severity: ronghe.SeverityError, Type: string(rrs.TXN),
			Key: t.Key, Message: "the sampled row is missing from this version", Source: batch, FoundAt: now}
		if row, have := fx.rows[t.Key]; have {
			var answer [][]string
			if src[t.Key] != nil {
				answer = src[t.Key][:1]
			}
			diff, err := rules.CompareSample(s.rs, id, [][]string{row}, answer)
			if err != nil {
				return nil, err
			}
			if len(diff) == 0 {
				book.close(t, batch)
				continue
			}
			r.Field, r.Message = diff[0].Field, diff[0].Message
		}
		if err := book.record(ctx, tenant, id, r); err != nil {
			return nil, err
		}
		ownRecs = append(ownRecs, r)
	}
	// Findings on other institutions' batches (T03) open or join their
	// tickets and are sent to them.
	notices := map[string][]*ronghe.QualityFinding{}
	var noticeOrder []string
	for _, f := range other {
		oid, err := rrs.ParseBatchID(f.Batch)
		if err != nil {
			return nil, err
		}
		if _, err := s.store.FindQuality(ctx, oid.InstCode, f.Batch); err != nil {
			if ronghe.ErrorCode(err) == ronghe.ENOTFOUND {
				s.log.WarnContext(ctx, "governance: finding on a batch the platform has not checked", "batch", f.Batch, "rule", f.Rule)
				continue
			}
			return nil, err
		}
		r := record(oid.InstCode, f, batch, now)
		if err := book.record(ctx, oid.InstCode, oid, r); err != nil {
			return nil, err
		}
		key := oid.InstCode + "\x00" + f.Batch
		if notices[key] == nil {
			noticeOrder = append(noticeOrder, key)
		}
		notices[key] = append(notices[key], r)
	}
	// The other side of a T03 pair: this version no longer mismatches.
	if usable {
		day, err := s.store.ListQuality(ctx, ronghe.QualityFilter{From: date, To: date})
		if err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		for _, v := range day {
			if v.Tenant == tenant || seen[v.Tenant] || v.Status != ronghe.QualityDone {
				continue
			}
			seen[v.Tenant] = true
			ts, err := book.active(ctx, v.Tenant, date)
			if err != nil {
				return nil, err
			}
			for _, t := range ts {
				if t.Rule == "T03" && t.Key == tenant && !book.touched[t.ID] {
					book.close(t, batch)
				}
			}
		}
	}
	// P01: draw the sample of a usable batch; an earlier version's pending
	// sample is superseded.
	var smp *ronghe.Sample
	if usable {
		due, dueAt := s.cfg.Calendar.Deadline(now, s.cfg.DeadlineDays)
		smp = &ronghe.Sample{Tenant: tenant, Batch: batch, Seed: SampleSeed(s.cfg.SampleKey, q.ContentDigest),
			Confidence: s.cfg.Confidence, TolerableRate: s.cfg.TolerableRate, Population: drawn.population, Units: drawn.units, Rows: drawn.rows,
			Status: ronghe.SampleRequested, RequestedAt: now, DueDate: due.String(), DueAt: dueAt, Version: 1}
		if len(smp.Rows) == 0 {
			smp.Status, smp.DecidedAt, smp.Reason = ronghe.SampleNotRequired, &now, "the batch has no TXN row to sample"
		}
		if _, err := s.store.FindSample(ctx, tenant, batch); err == nil {
			smp = nil // drawn by an earlier attempt whose change was applied
		} else if ronghe.ErrorCode(err) != ronghe.ENOTFOUND {
			return nil, err
		} else {
			ch.NewSamples = append(ch.NewSamples, smp)
		}
		versions, err := s.store.ListQuality(ctx, ronghe.QualityFilter{Tenant: tenant, From: date, To: date})
		if err != nil {
			return nil, err
		}
		for _, v := range versions {
			if v.Seq >= id.Seq {
				continue
			}
			old, err := s.store.FindSample(ctx, tenant, v.Batch)
			if ronghe.ErrorCode(err) == ronghe.ENOTFOUND {
				continue
			} else if err != nil {
				return nil, err
			}
			if old.Status == ronghe.SampleRequested {
				o := *old
				o.Status, o.Reason, o.DecidedAt, o.Version = ronghe.SampleSuperseded, "replaced by "+batch+" before an answer", &now, old.Version+1
				ch.Samples = append(ch.Samples, &o)
			}
		}
	}
	book.finish()
	// Messages.
	slices.SortFunc(ownRecs, compareRecords)
	rep := &Report{Type: TypeReport, Batch: batch, BusinessDate: date, Seq: id.Seq, Outcome: outcome, Problems: problems,
		Errors: done.Errors, Warnings: done.Warnings, ByRule: byRule(ownRecs), Stats: done.Stats,
		TicketsOpened: sortedIDs(book.opened[tenant]), TicketsJoined: sortedIDs(book.joined[tenant]),
		TicketsClosed: sortedIDs(book.closed[tenant]), CheckedAt: now}
	if len(ownRecs) > 0 {
		body, n := problemsCSV(ownRecs)
		rep.ProblemsListed = n
		ch.Outbox = append(ch.Outbox, &ronghe.OutboxMessage{Tenant: tenant, Kind: KindProblems, RefersTo: batch,
			Subject: fmt.Sprintf("问题清单 problem list of %s: %d findings", batch, len(ownRecs)), ContentType: "text/csv; charset=utf-8",
			Body: body, CreatedAt: now})
	}
	if smp != nil {
		rep.Sample = &SampleSummary{Status: smp.Status, Size: len(smp.Rows), DueDate: smp.DueDate}
	}
	subject := fmt.Sprintf("质量报告 quality report of %s: %s", batch, outcome)
	ch.Outbox = append([]*ronghe.OutboxMessage{jsonMessage(tenant, KindReport, subject, batch, rep, now)}, ch.Outbox...)
	if smp != nil && smp.Status == ronghe.SampleRequested {
		ch.Outbox = append(ch.Outbox, jsonMessage(tenant, KindSampleRequest,
			fmt.Sprintf("抽样核对 P01 sample of %s: %d rows, answer by %s", batch, len(smp.Rows), smp.DueDate), batch,
			&SampleRequest{Type: TypeSampleRequest, Batch: batch, Seed: smp.Seed, Confidence: smp.Confidence,
				TolerableRate: smp.TolerableRate, Population: smp.Population, Units: smp.Units, Size: len(smp.Rows), DueDate: smp.DueDate, Rows: smp.Rows,
				How: answerHow(batch)}, now))
	}
	for _, key := range noticeOrder {
		fs := notices[key]
		other, ob, _ := strings.Cut(key, "\x00")
		ch.Outbox = append(ch.Outbox, jsonMessage(other, KindNotice, fmt.Sprintf("核对提示 %d findings on %s", len(fs), ob), ob,
			&Notice{Type: TypeNotice, Batch: ob, Findings: fs,
				Message: "found when another reporting institution's batch of the same day was checked"}, now))
	}
	return ch, nil
}

func compareRecords(a, b *ronghe.QualityFinding) int {
	if c := strings.Compare(a.Rule, b.Rule); c != 0 {
		return c
	}
	if c := strings.Compare(a.Type, b.Type); c != 0 {
		return c
	}
	return strings.Compare(a.Key, b.Key)
}

// sortedIDs returns ids sorted, never nil.
func sortedIDs(ids []string) []string {
	out := append([]string{}, ids...)
	slices.Sort(out)
	return out
}

// batchSeq is the seq of a batch name, 0 if it is not one.
func batchSeq(name string) int {
	id, err := rrs.ParseBatchID(name)
	if err != nil {
		return 0
	}
	return id.Seq
}

func collectKeys(ts []*ronghe.Ticket, firstBatch string) map[string]bool {
	out := map[string]bool{}
	for _, t := range ts {
		if t.Rule == "P01" && t.FirstBatch == firstBatch {
			out[t.Key] = true
		}
	}
	return out
}

// sourceRows reads, from the answer to the sample of batch, the source
// copies of the rows with the given txn_ids.
func (s *Service) sourceRows(ctx context.Context, tenant, batch string, ids map[string]bool) (map[string][][]string, error) {
	smp, err := s.store.FindSample(ctx, tenant, batch)
	if err != nil {
		return nil, err
	}
	if smp.Answer == "" {
		return map[string][][]string{}, nil
	}
	sub, err := s.cfg.Submissions.FindSubmission(ctx, tenant, smp.Answer)
	if err != nil {
		return nil, err
	}
	m, err := exchange.ParseManifest(sub.Manifest)
	if err != nil {
		return nil, err
	}
	return s.readAnswer(ctx, sub, m, ids)
}

// readAnswer reads the rows with the given txn_ids from a sample answer's
// TXN-shaped file (TXN.csv, or its only file), every copy of each in file
// order. A file that is not TXN-shaped is an EINVALID error.
func (s *Service) readAnswer(ctx context.Context, sub *ronghe.Submission, m *ronghe.Manifest, ids map[string]bool) (map[string][][]string, error) {
	var file *ronghe.SubmissionFile
	for i := range sub.Files {
		if strings.EqualFold(sub.Files[i].Name, "TXN.csv") {
			file = &sub.Files[i]
		}
	}
	if file == nil && len(sub.Files) == 1 {
		file = &sub.Files[0]
	}
	if file == nil {
		return nil, ronghe.Errorf(ronghe.EINVALID, "the answer has no TXN.csv")
	}
	spec, err := rrs.Lookup(m.StandardVersion)
	if err != nil {
		return nil, err
	}
	enc, err := rrs.ParseEncoding(m.Encoding)
	if err != nil {
		return nil, err
	}
	rc, err := s.cfg.Blobs.Get(ctx, file.BlobKey)
	if err != nil {
		return nil, err
	}
	rd, err := rrs.NewReadCloser(rc, spec.Record(rrs.TXN), enc, file.Name)
	if err != nil {
		rc.Close()
		return nil, answerError(err)
	}
	defer rd.Close()
	iID := rd.Type().Index("txn_id")
	out := map[string][][]string{}
	for {
		row, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, answerError(err)
		}
		if id := row.Values[iID]; ids[id] {
			out[id] = append(out[id], row.Values)
		}
	}
}

// answerError makes a fault of the answer's content EINVALID.
func answerError(err error) error {
	var pe *rrs.ParseError
	if errors.As(err, &pe) && contentError(pe) {
		return ronghe.WrapError(ronghe.EINVALID, err, "the answer cannot be read: "+pe.Error())
	}
	return err
}

// deliver sends outbox messages to the mailboxes: those with the given
// IDs, or when none are given any that are due. Failures are logged and
// left for the next sweep.
func (s *Service) deliver(ctx context.Context, ids []int64) {
	for {
		now := s.now()
		batch, err := s.store.ClaimOutbox(ctx, ids, now, now.Add(2*time.Minute), 100)
		if err != nil {
			s.log.WarnContext(ctx, "governance: claiming outbox messages", "err", err)
			return
		}
		for _, m := range batch {
			msg, err := s.cfg.Mailbox.Deliver(ctx, m.Tenant, m.Kind, m.Subject, m.RefersTo, m.ContentType, m.Body)
			if err != nil {
				s.log.WarnContext(ctx, "governance: delivering a message", "tenant", m.Tenant, "kind", m.Kind, "err", err)
				continue
			}
			if err := s.store.OutboxDelivered(ctx, m.ID, msg.ID, msg.CreatedAt); err != nil {
				s.log.WarnContext(ctx, "governance: recording a delivery", "id", m.ID, "err", err)
			}
		}
		if len(ids) > 0 || len(batch) < 100 {
			return
		}
	}
}
