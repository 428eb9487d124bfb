package rules

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/rrs"
)

// Options configure an Engine.
type Options struct {
	// RuleSet is the rule book to check with; nil loads the embedded rule
	// set of the current RRS-1 version.
	RuleSet *RuleSet
	// HistoryPath is the DuckDB database file that keeps the history later
	// batches are checked against; "" keeps it in memory for the Engine's
	// lifetime.
	HistoryPath string
	// Encoding is the encoding of batches given by path; "" means UTF-8
	// (RRS-1 §1: checked offline, a batch is UTF-8 unless the checker is
	// told otherwise).
	Encoding rrs.Encoding
	// Threads is the number of DuckDB worker threads; 0 means GOMAXPROCS.
	Threads int
	// WindowBytes bounds how much CSV one window of a Run stages at once
	// (whole business dates; a date larger than the bound is one window);
	// 0 means DefaultWindowBytes.
	WindowBytes int64
	// OneShot says nobody reads the history after Run returns: the last
	// window's batches are not recorded. validate without --history uses it.
	OneShot bool
	// Logger receives debug timings; nil means slog.Default().
	Logger *slog.Logger
	// Progress, when set, is called as the run advances; calls are
	// serialised.
	Progress func(Progress)
}

// DefaultWindowBytes is the default staging window: about 10 million TXN
// rows with their other files.
const DefaultWindowBytes = 3 << 30

// Progress reports how far a Run is.
type Progress struct {
	// Phase is "stage" (reading files), "check" (running the checks) or
	// "record" (recording the history).
	Phase string
	// Window and Windows count the run's windows (1-based).
	Window, Windows int
	// Done and Total count files staged in the stage phase and statements
	// run in the check phase.
	Done, Total int
}

// Summary describes a finished Run.
type Summary struct {
	Batches  int              `json:"batches"`
	Windows  int              `json:"windows"`
	Rows     map[string]int64 `json:"rows"`
	Findings map[string]int   `json:"findings"`
	Stage    time.Duration    `json:"stage_ns"`
	Check    time.Duration    `json:"check_ns"`
	Record   time.Duration    `json:"record_ns"`
}

// Engine checks RRS-1 batches against a rule set, offline and on the
// server alike: batches are checked in processing order (business date, seq,
// institution) against the history of the batches before them, which the
// Engine keeps in its DuckDB database. An Engine is not safe for concurrent
// use.
type Engine struct {
	opts   Options
	plan   *plan
	db     *sql.DB
	conn   *sql.Conn
	log    *slog.Logger
	jobs   sync.Map // int64 → *stageJob
	nextID atomic.Int64
	raw    bool // probeRaw passed: stage by writing vector memory directly
	closed bool

	pending *Checked // a checked batch waiting for Record or Discard
}

// New opens an Engine: the DuckDB database (HistoryPath or in memory), the
// history tables, and the compiled rule set, which it checks by running it
// once on empty data so a broken rule fails here rather than mid-run.
func New(ctx context.Context, opts Options) (*Engine, error) {
	if opts.RuleSet == nil {
		rs, err := Load("")
		if err != nil {
			return nil, err
		}
		opts.RuleSet = rs
	}
	if opts.Encoding == "" {
		opts.Encoding = rrs.UTF8
	}
	if !opts.Encoding.Valid() {
		return nil, ronghe.Errorf(ronghe.EUNSUPPORTED, "encoding %q is not allowed by RRS-1 (UTF-8, GB18030)", opts.Encoding)
	}
	if opts.Threads <= 0 {
		opts.Threads = runtime.GOMAXPROCS(0)
	}
	if opts.WindowBytes <= 0 {
		opts.WindowBytes = DefaultWindowBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	p, err := compile(opts.RuleSet)
	if err != nil {
		return nil, ronghe.WrapError(ronghe.EINVALID, err, err.Error())
	}
	e := &Engine{opts: opts, plan: p, log: opts.Logger}
	if opts.HistoryPath != "" {
		if err := os.MkdirAll(filepath.Dir(opts.HistoryPath), 0o755); err != nil {
			return nil, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "rules: create history directory")
		}
	}
	connector, err := duckdb.NewConnector(opts.HistoryPath, nil)
	if err != nil {
		return nil, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "rules: open DuckDB "+opts.HistoryPath)
	}
	e.db = sql.OpenDB(connector)
	if e.conn, err = e.db.Conn(ctx); err != nil {
		e.db.Close()
		return nil, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "rules: connect to DuckDB")
	}
	if err := e.init(ctx); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

func (e *Engine) init(ctx context.Context) error {
	for _, s := range []string{
		fmt.Sprintf("SET threads = %d", e.opts.Threads),
		"SET preserve_insertion_order = false",
	} {
		if _, err := e.conn.ExecContext(ctx, s); err != nil {
			return ronghe.WrapError(ronghe.EINTERNAL, err, "rules: configure DuckDB")
		}
	}
	bigint, err := duckdb.NewTypeInfo(duckdb.TYPE_BIGINT)
	if err != nil {
		return ronghe.WrapError(ronghe.EINTERNAL, err, "rules: type info")
	}
	tf := duckdb.ParallelChunkTableFunction{
		Config: duckdb.TableFunctionConfig{Arguments: []duckdb.TypeInfo{bigint}},
		BindArguments: func(_ map[string]any, args ...any) (duckdb.ParallelChunkTableSource, error) {
			id, _ := args[0].(int64)
			j, ok := e.jobs.Load(id)
			if !ok {
				return nil, fmt.Errorf("rrs_stage: no staging job %d", id)
			}
			return j.(duckdb.ParallelChunkTableSource), nil
		},
	}
	if err := duckdb.RegisterTableUDF(e.conn, "rrs_stage", tf); err != nil {
		return ronghe.WrapError(ronghe.EINTERNAL, err, "rules: register rrs_stage")
	}
	e.raw = probeRaw(ctx, e.conn)
	if !e.raw {
		e.log.Warn("rules: writing DuckDB vectors directly is not possible with this duckdb-go; staging takes the slower path")
	}
	for _, h := range e.plan.history {
		if _, err := e.conn.ExecContext(ctx, h.create); err != nil {
			return ronghe.WrapError(ronghe.EINTERNAL, err, "rules: create history table hist_"+h.h.Name)
		}
		if err := e.checkHistoryColumns(ctx, h); err != nil {
			return err
		}
	}
	// Run the rule set once on no data: every statement is bound and
	// executed, so SQL errors surface now.
	if _, err := e.runWindow(ctx, nil, 0, 0, false, nil); err != nil {
		return ronghe.WrapError(ronghe.EINVALID, err, "rule set "+e.plan.rs.Version+" does not run")
	}
	return nil
}

// checkHistoryColumns refuses a history database written by a rule set that
// declared other columns.
func (e *Engine) checkHistoryColumns(ctx context.Context, h compiledHistory) error {
	rows, err := e.conn.QueryContext(ctx, "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position", "hist_"+h.h.Name)
	if err != nil {
		return ronghe.WrapError(ronghe.EINTERNAL, err, "rules: read history schema")
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return ronghe.WrapError(ronghe.EINTERNAL, err, "rules: read history schema")
		}
		got = append(got, c)
	}
	want := append([]string{"inst_code", "business_date", "seq", "batch"}, h.cols...)
	if !slices.Equal(got, want) {
		return ronghe.Errorf(ronghe.ECONFLICT, "rules: history table hist_%s has columns %s, the rule set wants %s",
			h.h.Name, strings.Join(got, ","), strings.Join(want, ","))
	}
	return rows.Err()
}

// Close releases the DuckDB database; a persisted history stays on disk.
func (e *Engine) Close() error {
	if e.closed {
		return nil
	}
	e.closed = true
	var errs []error
	if e.conn != nil {
		errs = append(errs, e.conn.Close())
	}
	errs = append(errs, e.db.Close())
	return errors.Join(errs...)
}

// RuleSet returns the rule set the Engine checks with.
func (e *Engine) RuleSet() *RuleSet { return e.plan.rs }

// source is a batch to check: its identity, how to open it, and its size.
type source struct {
	id    rrs.BatchID
	path  string
	open  func() (*rrs.Batch, error)
	bytes int64
	given bool // the caller's batch: not closed by the engine
}

// runBatch is one batch of a window.
type runBatch struct {
	idx    int // _batch: position in processing order
	id     rrs.BatchID
	name   string
	batch  *rrs.Batch
	latest bool
}

// Run checks the batch directories or zips at paths — one or several
// institutions and days, in any order — in processing order with history,
// and calls emit with each finding: per window, sorted by batch date,
// institution, seq, rule, type, key and field. Run fails only on usage and
// I/O errors; what it finds in the data are findings.
func (e *Engine) Run(ctx context.Context, paths []string, emit func(Finding) error) (*Summary, error) {
	if e.pending != nil {
		return nil, ronghe.Errorf(ronghe.ECONFLICT, "rules: a checked batch is waiting for Record or Discard")
	}
	srcs := make([]source, 0, len(paths))
	for _, p := range paths {
		s, err := e.pathSource(p)
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, s)
	}
	return e.run(ctx, srcs, e.opts.OneShot, emit)
}

// CheckBatch checks one opened batch against the history, records it in the
// history (replacing the batch it corrects), and returns its findings, and
// T03 findings on the other institutions' batches it was compared with.
// It is Check followed by Record.
func (e *Engine) CheckBatch(ctx context.Context, b *rrs.Batch) ([]Finding, error) {
	c, err := e.Check(ctx, b)
	if err != nil {
		return nil, err
	}
	if err := c.Record(ctx); err != nil {
		return nil, err
	}
	return c.Findings, nil
}

// Checked is a batch that has been checked but is not yet part of the
// history: Record makes it so (replacing the version it corrects), Discard
// leaves the history as it was — for a batch the platform rejects, whose
// earlier version stays in use. Until one of them is called the Engine
// refuses other work.
type Checked struct {
	// Findings are the batch's findings and the T03 findings it puts on
	// other institutions' batches.
	Findings []Finding
	e        *Engine
}

// Check checks one opened batch against the history without recording it;
// see Checked.
func (e *Engine) Check(ctx context.Context, b *rrs.Batch) (*Checked, error) {
	if e.pending != nil {
		return nil, ronghe.Errorf(ronghe.ECONFLICT, "rules: a checked batch is waiting for Record or Discard")
	}
	if b == nil {
		return nil, ronghe.Errorf(ronghe.EINVALID, "rules: no batch")
	}
	if b.Spec() != e.plan.rs.spec {
		return nil, ronghe.Errorf(ronghe.EUNSUPPORTED, "batch %s is RRS-1 %s, the rule set is for %s", b.ID(), b.Spec().Version, e.plan.rs.spec.Version)
	}
	rb := &runBatch{idx: 0, id: b.ID(), name: b.ID().String(), batch: b, latest: true}
	sum := &Summary{Batches: 1, Windows: 1, Rows: map[string]int64{}, Findings: map[string]int{}}
	fs, err := e.checkWindow(ctx, []*runBatch{rb}, 1, 1, sum)
	if err != nil {
		e.release(ctx)
		return nil, err
	}
	c := &Checked{e: e}
	for _, f := range fs {
		c.Findings = append(c.Findings, f.Finding)
	}
	e.pending = c
	return c, nil
}

// Record adds the checked batch to the history, replacing the version of
// the same institution and date recorded before.
func (c *Checked) Record(ctx context.Context) error {
	e := c.e
	if e == nil || e.pending != c {
		return ronghe.Errorf(ronghe.ECONFLICT, "rules: the checked batch was already recorded or discarded")
	}
	defer func() { e.pending = nil; e.release(ctx) }()
	e.progress(Progress{Phase: "record", Window: 1, Windows: 1})
	return e.record(ctx)
}

// Discard forgets the checked batch; the history is unchanged.
func (c *Checked) Discard(ctx context.Context) {
	if e := c.e; e != nil && e.pending == c {
		e.pending = nil
		e.release(ctx)
	}
}

// pathSource describes the batch directory or zip at p.
func (e *Engine) pathSource(p string) (source, error) {
	id, err := rrs.ParseBatchID(filepath.Base(filepath.Clean(p)))
	if err != nil {
		return source{}, err
	}
	st, err := os.Stat(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return source{}, ronghe.WrapError(ronghe.ENOTFOUND, err, "batch "+p+" not found")
		}
		return source{}, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "stat "+p)
	}
	size := st.Size()
	if st.IsDir() {
		size = 0
		ents, err := os.ReadDir(p)
		if err != nil {
			return source{}, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "read "+p)
		}
		for _, en := range ents {
			if info, err := en.Info(); err == nil && info.Mode().IsRegular() {
				size += info.Size()
			}
		}
	} else {
		size *= 8 // CSV compresses about 8:1
	}
	spec, enc := e.plan.rs.spec, e.opts.Encoding
	return source{id: id, path: p, bytes: size, open: func() (*rrs.Batch, error) {
		return rrs.OpenBatchWith(p, enc, rrs.BatchOptions{Spec: spec})
	}}, nil
}

// processOrder orders batches as the platform processes them: business
// date, then seq (a correction after what it corrects), then institution.
func processOrder(a, b rrs.BatchID) int {
	if c := a.Date.Compare(b.Date); c != 0 {
		return c
	}
	if a.Seq != b.Seq {
		return a.Seq - b.Seq
	}
	return strings.Compare(a.InstCode, b.InstCode)
}

// run checks the sources window by window; oneShot leaves the last window
// out of the history.
func (e *Engine) run(ctx context.Context, srcs []source, oneShot bool, emit func(Finding) error) (*Summary, error) {
	slices.SortFunc(srcs, func(a, b source) int { return processOrder(a.id, b.id) })
	for i := 1; i < len(srcs); i++ {
		if srcs[i].id == srcs[i-1].id {
			return nil, ronghe.Errorf(ronghe.EINVALID, "batch %s is given twice (%s and %s)", srcs[i].id, srcs[i-1].path, srcs[i].path)
		}
	}
	// Windows of whole business dates.
	var windows [][]source
	var size int64
	for i, s := range srcs {
		newDate := i == 0 || s.id.Date != srcs[i-1].id.Date
		if i == 0 || newDate && size+s.bytes > e.opts.WindowBytes {
			windows = append(windows, nil)
			size = 0
		}
		windows[len(windows)-1] = append(windows[len(windows)-1], s)
		size += s.bytes
	}
	sum := &Summary{Batches: len(srcs), Windows: len(windows), Rows: map[string]int64{}, Findings: map[string]int{}}
	for w, win := range windows {
		record := !oneShot || w < len(windows)-1
		if err := e.window(ctx, win, w+1, len(windows), record, sum, emit); err != nil {
			return sum, err
		}
	}
	return sum, nil
}

// window opens the batches of one window, checks them, and emits the
// findings; w and nw number the windows for progress.
func (e *Engine) window(ctx context.Context, win []source, w, nw int, record bool, sum *Summary, emit func(Finding) error) error {
	batches := make([]*runBatch, 0, len(win))
	defer func() {
		for i, b := range batches {
			if !win[i].given {
				b.batch.Close()
			}
		}
	}()
	for i, s := range win {
		b, err := s.open()
		if err != nil {
			return err
		}
		batches = append(batches, &runBatch{idx: i, id: s.id, name: s.id.String(), batch: b})
	}
	for i, b := range batches {
		// processOrder puts seq before institution, so a later version of
		// b is further on among the batches of its date.
		b.latest = true
		for _, o := range batches[i+1:] {
			if o.id.Date != b.id.Date {
				break
			}
			if o.id.InstCode == b.id.InstCode {
				b.latest = false
				break
			}
		}
	}
	fs, err := e.runWindow(ctx, batches, w, nw, record, sum)
	if err != nil {
		return err
	}
	for _, f := range fs {
		if err := emit(f.Finding); err != nil {
			return err
		}
		sum.Findings[f.Rule]++
	}
	return nil
}

// progress reports p unless it belongs to the start-up run (window 0).
func (e *Engine) progress(p Progress) {
	if e.opts.Progress != nil && p.Window > 0 {
		e.opts.Progress(p)
	}
}

// runWindow stages the batches, runs the checks, records the history when
// record is set, and returns the window's findings sorted and merged.
func (e *Engine) runWindow(ctx context.Context, batches []*runBatch, w, nw int, record bool, sum *Summary) ([]*finding, error) {
	if sum == nil {
		sum = &Summary{Rows: map[string]int64{}, Findings: map[string]int{}}
	}
	defer e.release(ctx)
	findings, err := e.checkWindow(ctx, batches, w, nw, sum)
	if err != nil {
		return nil, err
	}
	if record && len(batches) > 0 {
		t := time.Now()
		e.progress(Progress{Phase: "record", Window: w, Windows: nw})
		if err := e.record(ctx); err != nil {
			return nil, err
		}
		sum.Record += time.Since(t)
	}
	return findings, nil
}

// checkWindow stages the batches and runs the checks; the staged data stays
// until release.
func (e *Engine) checkWindow(ctx context.Context, batches []*runBatch, w, nw int, sum *Summary) ([]*finding, error) {
	t0 := time.Now()
	findings, err := e.stage(ctx, batches, w, nw, sum)
	if err != nil {
		return nil, err
	}
	t1 := time.Now()
	fs, err := e.check(ctx, w, nw)
	if err != nil {
		return nil, err
	}
	findings = append(findings, fs...)
	t2 := time.Now()
	sum.Stage += t1.Sub(t0)
	sum.Check += t2.Sub(t1)
	e.log.Debug("rules: window", "window", w, "batches", len(batches), "stage", t1.Sub(t0), "check", t2.Sub(t1))
	return mergeFindings(findings), nil
}

// exec runs one statement, naming it in the error.
func (e *Engine) exec(ctx context.Context, what, q string, args ...any) error {
	if _, err := e.conn.ExecContext(ctx, q, args...); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// stage fills the tables batches, files and s_<type> for the window and
// returns the findings of the built-in field checks.
func (e *Engine) stage(ctx context.Context, batches []*runBatch, w, nw int, sum *Summary) ([]*finding, error) {
	if err := e.exec(ctx, "create batches", `CREATE OR REPLACE TEMP TABLE batches (_batch INTEGER, batch VARCHAR, sender VARCHAR,
		business_date DATE, seq INTEGER, month_end BOOLEAN, business_month VARCHAR, latest BOOLEAN)`); err != nil {
		return nil, err
	}
	if len(batches) > 0 {
		var vals []string
		var args []any
		for _, b := range batches {
			vals = append(vals, "(?, ?, ?, ?, ?, ?, ?, ?)")
			d := b.id.Date
			args = append(args, b.idx, b.name, b.id.InstCode, time.Date(d.Y, d.M, d.D, 0, 0, 0, 0, time.UTC), b.id.Seq,
				d.IsMonthEnd(), d.Period().String(), b.latest)
		}
		if err := e.exec(ctx, "fill batches", "INSERT INTO batches VALUES "+strings.Join(vals, ", "), args...); err != nil {
			return nil, err
		}
	}
	var findings []*finding
	var stats []fileStat
	seqOut := map[string][]seqSummary{} // by sequence
	totalFiles := 0
	for _, st := range e.plan.tables {
		for _, b := range batches {
			if b.batch.Has(st.rt.Type) {
				totalFiles++
			}
		}
	}
	var filesDone atomic.Int64
	var progMu sync.Mutex
	onFile := func() {
		n := filesDone.Add(1)
		progMu.Lock()
		e.progress(Progress{Phase: "stage", Window: w, Windows: nw, Done: int(n), Total: totalFiles})
		progMu.Unlock()
	}
	for _, st := range e.plan.tables {
		if err := e.exec(ctx, "create staged table", st.createSQL()); err != nil {
			return nil, err
		}
		var files []*runBatch
		for _, b := range batches {
			if b.batch.Has(st.rt.Type) {
				files = append(files, b)
			}
		}
		if len(files) > 0 {
			job := &stageJob{ctx: ctx, st: st, rules: e.plan.fieldRules, files: files, onFile: onFile, raw: e.raw,
				seqs: e.plan.sequencesOf(st.rt.Type)}
			id := e.nextID.Add(1)
			e.jobs.Store(id, job)
			ts, cs := time.Now(), cpuTime()
			err := e.exec(ctx, "stage "+string(st.rt.Type), fmt.Sprintf("INSERT INTO s_%s SELECT * FROM rrs_stage(%d)", relName(st.rt.Type), id))
			e.jobs.Delete(id)
			job.release()
			if err != nil {
				return nil, err
			}
			e.log.Debug("rules: staged", "type", st.rt.Type, "files", len(files), "took", time.Since(ts), "cpu", cpuTime()-cs)
			findings = append(findings, job.findings...)
			stats = append(stats, job.stats...)
			for k, q := range job.seqs {
				if k < len(job.seqOut) {
					seqOut[q.Name] = append(seqOut[q.Name], job.seqOut[k]...)
				}
			}
		}
		if err := e.exec(ctx, "create view", st.viewSQL()); err != nil {
			return nil, err
		}
	}
	if err := e.stageSequences(ctx, seqOut); err != nil {
		return nil, err
	}
	if err := e.exec(ctx, "create files", "CREATE OR REPLACE TEMP TABLE files (_batch INTEGER, file VARCHAR, rows BIGINT, readable BOOLEAN)"); err != nil {
		return nil, err
	}
	if len(stats) > 0 {
		slices.SortFunc(stats, func(a, b fileStat) int {
			if a.batch != b.batch {
				return a.batch - b.batch
			}
			return strings.Compare(string(a.typ), string(b.typ))
		})
		var vals []string
		var args []any
		for _, s := range stats {
			vals = append(vals, "(?, ?, ?, ?)")
			args = append(args, s.batch, string(s.typ), s.rows, s.readable)
			sum.Rows[string(s.typ)] += s.rows
		}
		if err := e.exec(ctx, "fill files", "INSERT INTO files VALUES "+strings.Join(vals, ", "), args...); err != nil {
			return nil, err
		}
	}
	return findings, nil
}

// stageSequences fills the sequences' tables with the summaries staging
// computed.
func (e *Engine) stageSequences(ctx context.Context, byName map[string][]seqSummary) error {
	for _, q := range e.plan.sequences {
		if err := e.exec(ctx, "create sequence "+q.Name, q.createSQL()); err != nil {
			return err
		}
		rows := byName[q.Name]
		if len(rows) == 0 {
			continue
		}
		job := &seqJob{plan: q, rows: rows, raw: e.raw}
		id := e.nextID.Add(1)
		e.jobs.Store(id, job)
		err := e.exec(ctx, "fill sequence "+q.Name, fmt.Sprintf("INSERT INTO %s SELECT * FROM rrs_stage(%d)", q.Name, id))
		e.jobs.Delete(id)
		job.release()
		if err != nil {
			return err
		}
	}
	return nil
}

// check creates the views and runs the compiled queries over the staged
// window.
func (e *Engine) check(ctx context.Context, w, nw int) ([]*finding, error) {
	for _, o := range e.plan.objects {
		ts, cs := time.Now(), cpuTime()
		if err := e.exec(ctx, o.name, o.sql); err != nil {
			return nil, err
		}
		e.log.Debug("rules: view", "name", o.name, "took", time.Since(ts), "cpu", cpuTime()-cs)
	}
	var findings []*finding
	for i, q := range e.plan.queries {
		e.progress(Progress{Phase: "check", Window: w, Windows: nw, Done: i, Total: len(e.plan.queries)})
		qs, cs := time.Now(), cpuTime()
		fs, err := e.runQuery(ctx, q)
		if err != nil {
			return nil, err
		}
		e.log.Debug("rules: query", "name", q.name, "findings", len(fs), "took", time.Since(qs), "cpu", cpuTime()-cs)
		findings = append(findings, fs...)
	}
	e.progress(Progress{Phase: "check", Window: w, Windows: nw, Done: len(e.plan.queries), Total: len(e.plan.queries)})
	return findings, nil
}

// release drops the window's data: the materialized views and the staged
// rows.
func (e *Engine) release(ctx context.Context) {
	for _, v := range e.plan.views {
		if v.Materialize {
			_ = e.exec(ctx, "drop "+v.Name, "DROP TABLE IF EXISTS "+v.Name)
		}
	}
	for _, st := range e.plan.tables {
		_ = e.exec(ctx, "truncate", "DELETE FROM s_"+relName(st.rt.Type))
	}
	for _, q := range e.plan.sequences {
		_ = e.exec(ctx, "truncate", "DELETE FROM "+q.Name)
	}
}

// record replaces, in every history table, the stored versions of the
// run's institutions and dates with the run's latest versions.
func (e *Engine) record(ctx context.Context) error {
	tx, err := e.conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record history: %w", err)
	}
	for _, h := range e.plan.history {
		if _, err := tx.ExecContext(ctx, h.remove); err != nil {
			tx.Rollback()
			return fmt.Errorf("record history %s: %w", h.h.Name, err)
		}
		if _, err := tx.ExecContext(ctx, h.insert); err != nil {
			tx.Rollback()
			return fmt.Errorf("record history %s: %w", h.h.Name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record history: %w", err)
	}
	return nil
}

// runQuery runs one compiled query and turns its rows into findings.
func (e *Engine) runQuery(ctx context.Context, q *compiledQuery) ([]*finding, error) {
	rows, err := e.conn.QueryContext(ctx, q.sql)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%s: %w", q.name, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", q.name, err)
	}
	var out []*finding
	if q.row {
		for rows.Next() {
			var batch, key string
			var hits duckdb.Composite[[]int32]
			if err := rows.Scan(&batch, &key, &hits); err != nil {
				return nil, fmt.Errorf("%s: %w", q.name, err)
			}
			id, err := rrs.ParseBatchID(batch)
			if err != nil {
				return nil, fmt.Errorf("%s: batch %q: %w", q.name, batch, err)
			}
			for _, h := range hits.Get() {
				ref := q.refs[h]
				rt := e.plan.rs.spec.Record(ref.typ)
				out = append(out, &finding{id: id, order: rt.Index(ref.field), Finding: Finding{Rule: ref.rule.ID,
					Severity: ref.rule.Severity, Batch: batch, Type: string(ref.typ), Key: key, Field: ref.field, Message: ref.message}})
			}
		}
		return out, rows.Err()
	}
	idx := map[string]int{}
	for i, c := range cols {
		idx[strings.ToLower(c)] = i
	}
	for _, need := range []string{"batch", "type", "key", "field"} {
		if _, ok := idx[need]; !ok {
			return nil, fmt.Errorf("%s: the query returns no column %q (it must return batch, type, key, field [, message])", q.name, need)
		}
	}
	ref := q.refs[0]
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("%s: %w", q.name, err)
		}
		batch := vals[idx["batch"]].String
		id, err := rrs.ParseBatchID(batch)
		if err != nil {
			return nil, fmt.Errorf("%s: batch %q: %w", q.name, batch, err)
		}
		f := &finding{id: id, order: -1, Finding: Finding{Rule: ref.rule.ID, Severity: ref.rule.Severity, Batch: batch,
			Type: vals[idx["type"]].String, Key: vals[idx["key"]].String, Field: vals[idx["field"]].String, Message: ref.message}}
		if i, ok := idx["message"]; ok && vals[i].Valid && vals[i].String != "" {
			f.Message = vals[i].String
		}
		if rt := e.plan.rs.spec.Record(rrs.Type(f.Type)); rt != nil && f.Field != "" {
			f.order = rt.Index(f.Field)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}
