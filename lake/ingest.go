package lake

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"golang.org/x/sync/errgroup"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/rrs"
)

// Lineage is where a batch came from: the exchange submission that carried
// it and the transparency-log entry of its acceptance. The zero Lineage is
// allowed (an offline load of a batch directory): rows then carry null
// message ID and log index, and idempotency rests on the batch name alone.
type Lineage struct {
	// MessageID is the submission's message ID.
	MessageID string
	// ManifestDigest is the digest of the signed manifest; with the batch
	// name it is the batch's idempotency key.
	ManifestDigest []byte
	// LogIndex is the transparency-log index of the acceptance event.
	LogIndex *uint64
	// IngestedAt is the time recorded in _ingested_at; zero means now.
	IngestedAt time.Time
}

// LineageOf returns the lineage of an accepted submission.
func LineageOf(s *ronghe.Submission) Lineage {
	return Lineage{MessageID: s.MessageID, ManifestDigest: s.ManifestDigest, LogIndex: s.LogIndex}
}

// Outcomes of ingesting one record type of a batch.
const (
	// OutcomeAppended: the rows were added; the institution and date had none.
	OutcomeAppended = "appended"
	// OutcomeReplaced: the rows replaced those of the same institution and
	// date (a correction, or a repeat whose marker had expired), in one
	// snapshot.
	OutcomeReplaced = "replaced"
	// OutcomeAlready: the table's snapshot lineage already holds this
	// batch's marker; nothing changed.
	OutcomeAlready = "already"
	// OutcomeSuperseded: the table holds a later version (higher seq) of the
	// same institution and date; nothing changed.
	OutcomeSuperseded = "superseded"
	// OutcomeEmpty: no rows to add and none to replace; nothing changed.
	OutcomeEmpty = "empty"
)

// TableResult is what ingesting one record type did.
type TableResult struct {
	// Type is the record type.
	Type rrs.Type `json:"type"`
	// Outcome is one of the Outcome* constants.
	Outcome string `json:"outcome"`
	// Rows is the number of rows loaded.
	Rows int64 `json:"rows"`
	// Replaced is the number of earlier rows of the institution and date
	// that the new rows replaced.
	Replaced int64 `json:"replaced,omitempty"`
	// Skipped is the number of rows not loaded because they fail the
	// structural checks (L01, L02) or are malformed CSV records; their
	// findings belong to the rule engine. SkippedLines lists the first few.
	Skipped      int64 `json:"skipped,omitempty"`
	SkippedLines []int `json:"skipped_lines,omitempty"`
	// SnapshotID is the snapshot the ingest committed (0 when none).
	SnapshotID int64 `json:"snapshot_id,omitempty"`
}

// IngestResult is what Ingest did with a batch, per record type.
type IngestResult struct {
	// Batch is the batch name.
	Batch string `json:"batch"`
	// Tables lists a result per lake table, in spec order.
	Tables []TableResult `json:"tables"`
}

// Rows returns the total rows loaded.
func (r *IngestResult) Rows() int64 {
	var n int64
	for _, t := range r.Tables {
		n += t.Rows
	}
	return n
}

// Changed reports whether any table changed.
func (r *IngestResult) Changed() bool {
	for _, t := range r.Tables {
		if t.Outcome == OutcomeAppended || t.Outcome == OutcomeReplaced {
			return true
		}
	}
	return false
}

// testHookBeforeCommit, when set by a test, runs before each ingest commit.
var testHookBeforeCommit func(l *Lake, t rrs.Type)

// maxCommitAttempts bounds how often an ingest reloads the table and tries
// again after another writer committed first.
const maxCommitAttempts = 5

// Source is a batch to ingest: a batch directory or zip (*rrs.Batch), or an
// accepted submission read from the encrypted blob store (the pipeline's
// batch). Open returns a reader whose record type is that of the batch's
// RRS-1 version.
//
// Open is called concurrently for different record types.
type Source interface {
	ID() rrs.BatchID
	Has(t rrs.Type) bool
	Open(t rrs.Type) (*rrs.Reader, error)
}

var _ Source = (*rrs.Batch)(nil)

// Item is one batch of a group ingest and its lineage.
type Item struct {
	Batch   Source
	Lineage Lineage
}

// Ingest lands batch b in the lake, one Iceberg transaction per record type,
// exactly once: a record type whose table already holds this batch (its
// marker is in the current snapshot lineage) is skipped; a batch whose
// institution and date already has rows replaces them in one snapshot
// (corrections); a batch older than the version the lake holds for its
// institution and date changes nothing. Record types the batch has no file
// for are treated as empty, so a correction without FXP.csv removes the
// FXP rows of the version it corrects. Ingest may be repeated after any
// failure; each table converges to the latest version.
func (l *Lake) Ingest(ctx context.Context, b Source, lin Lineage) (*IngestResult, error) {
	res, err := l.IngestAll(ctx, []Item{{Batch: b, Lineage: lin}})
	if len(res) == 1 {
		return res[0], err
	}
	return nil, err
}

// IngestAll lands a group of batches with one Iceberg transaction — one
// snapshot — per record type for the whole group, with Ingest's guarantees
// for each batch (its own marker, replacement of its institution and date,
// refusal of older versions). Of several versions of one institution and
// date in the group only the highest is ingested. Loading a backlog in
// groups (a month of batches, say) costs one commit per table instead of
// one per batch. The result has one entry per item, in order.
func (l *Lake) IngestAll(ctx context.Context, items []Item) ([]*IngestResult, error) {
	if len(items) == 0 {
		return nil, nil
	}
	g := &group{items: make([]*groupItem, len(items))}
	byKey := map[string]*groupItem{}
	for i, it := range items {
		id := it.Batch.ID()
		if err := id.Valid(); err != nil {
			return nil, err
		}
		lv, err := lineageValuesOf(id, it.Lineage)
		if err != nil {
			return nil, err
		}
		gi := &groupItem{src: it.Batch, id: id, lin: it.Lineage, lv: lv, digest: hex.EncodeToString(it.Lineage.ManifestDigest)}
		g.items[i] = gi
		key := id.InstCode + id.Date.Compact()
		if prev := byKey[key]; prev == nil || id.Seq >= prev.id.Seq {
			if prev != nil {
				prev.shadowedBy = gi
			}
			byKey[key] = gi
		} else {
			gi.shadowedBy = prev
		}
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	// Versions of one institution and date are ingested one at a time in
	// this process; see the package documentation for several processes.
	unlock := l.lockKeys(keys)
	defer unlock()

	types := l.Types()
	results := make([]*IngestResult, len(items))
	for i, gi := range g.items {
		results[i] = &IngestResult{Batch: gi.id.String(), Tables: make([]TableResult, len(types))}
	}
	// What every table holds for the group's institutions and dates: the
	// version the lake holds is the highest _seq in any table, so a
	// correction that left FXP empty still shows in CTL, ACCT and the rest.
	pre := make([][]existing, len(types))
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(runtime.GOMAXPROCS(0))
	for ti, t := range types {
		eg.Go(func() error {
			tbl, err := l.Table(ectx, t)
			if err != nil {
				return err
			}
			pre[ti], err = l.existing(ectx, g, t, tbl)
			return err
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	for i, gi := range g.items {
		for ti := range types {
			gi.top = max(gi.top, pre[ti][i].maxSeq)
		}
	}
	// The tables are independent: land them in parallel.
	eg, ectx = errgroup.WithContext(ctx)
	eg.SetLimit(runtime.GOMAXPROCS(0))
	for ti, t := range types {
		eg.Go(func() error {
			trs, err := l.ingestTable(ectx, g, t, pre[ti])
			for i := range results {
				results[i].Tables[ti] = trs[i]
			}
			if err != nil {
				return fmt.Errorf("lake: ingest into %s: %w", TableName(t), err)
			}
			return nil
		})
	}
	err := eg.Wait()
	for _, r := range results {
		l.log.Debug("lake: ingested", "batch", r.Batch, "rows", r.Rows(), "changed", r.Changed())
	}
	return results, err
}

// group is the batches of one IngestAll.
type group struct {
	items []*groupItem
}

// groupItem is one batch of a group.
type groupItem struct {
	src        Source
	id         rrs.BatchID
	lin        Lineage
	lv         lineageValues
	digest     string     // hex manifest digest
	shadowedBy *groupItem // a higher (or the same) version in the group, ingested instead
	top        int        // the highest version of its institution and date in any table
}

// existing finds what tbl, record type t's table, holds for each item's
// institution and date: from the table's marker index when the summaries
// tell, else by scanning.
func (l *Lake) existing(ctx context.Context, g *group, t rrs.Type, tbl *table.Table) ([]existing, error) {
	out := make([]existing, len(g.items))
	known := make([]bool, len(g.items))
	base := headID(tbl)
	l.withMarkers(t, tbl.Metadata(), func(x *markerIndex) {
		for i, gi := range g.items {
			out[i], known[i] = x.known(gi.id)
		}
	})
	for i, gi := range g.items {
		if known[i] {
			out[i].base, out[i].tbl = base, tbl
			continue
		}
		ex, err := scanRows(ctx, tbl, gi.id)
		if err != nil {
			return nil, err
		}
		out[i] = ex
	}
	return out, nil
}

func lineageValuesOf(id rrs.BatchID, lin Lineage) (lineageValues, error) {
	at := lin.IngestedAt
	if at.IsZero() {
		at = time.Now()
	}
	lv := lineageValues{
		batch:      id.String(),
		inst:       id.InstCode,
		date:       arrow.Date32(id.Date.EpochDays()),
		seq:        int32(id.Seq),
		messageID:  lin.MessageID,
		ingestedAt: arrow.Timestamp(at.UTC().UnixMicro()),
	}
	if lin.LogIndex != nil {
		if *lin.LogIndex > math.MaxInt64 {
			return lv, ronghe.Errorf(ronghe.EINVALID, "lake: log index %d does not fit a long", *lin.LogIndex)
		}
		lv.logIndex, lv.hasLog = int64(*lin.LogIndex), true
	}
	return lv, nil
}

// batchFilter selects every row of one institution and business date.
func batchFilter(id rrs.BatchID) iceberg.BooleanExpression {
	return iceberg.NewAnd(
		iceberg.EqualTo(iceberg.Reference(ColInst), id.InstCode),
		iceberg.EqualTo(iceberg.Reference(ColBusinessDate), iceberg.Date(id.Date.EpochDays())),
	)
}

// ingestTable lands record type t of the group, retrying when a concurrent
// writer moved the table between the checks and the commit. ex holds what
// the table held for each item when IngestAll began.
func (l *Lake) ingestTable(ctx context.Context, g *group, t rrs.Type, ex []existing) ([]TableResult, error) {
	mu := l.tableLock(t)
	mu.Lock()
	defer mu.Unlock()
	var lastErr error
	for attempt := 0; attempt < maxCommitAttempts; attempt++ {
		trs, err := l.ingestTableOnce(ctx, g, t, ex)
		ex = nil // a retry looks again
		var ce *commitError
		if err == nil || !errors.As(err, &ce) {
			return trs, err
		}
		// Did another writer move the table? Then check again from the
		// start (the markers may now be there); otherwise the failure is
		// the catalog's, and the caller retries the whole ingest later.
		tbl, lerr := l.Table(ctx, t)
		if lerr != nil {
			return trs, errors.Join(err, lerr)
		}
		if headID(tbl) == ce.base {
			return trs, ce.err
		}
		lastErr = ce.err
		l.log.Warn("lake: concurrent commit, retrying", "table", TableName(t), "attempt", attempt+1)
		select {
		case <-ctx.Done():
			return trs, ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 20 * time.Millisecond):
		}
	}
	return g.results(t), ronghe.WrapError(ronghe.EUNAVAILABLE, lastErr, "lake: table "+TableName(t)+" keeps changing underneath the ingest")
}

// results returns empty results of record type t for every item.
func (g *group) results(t rrs.Type) []TableResult {
	out := make([]TableResult, len(g.items))
	for i := range out {
		out[i].Type = t
	}
	return out
}

// commitError is a failed catalog commit on top of snapshot base (0 for an
// empty table).
type commitError struct {
	base int64
	err  error
}

func (e *commitError) Error() string { return e.err.Error() }
func (e *commitError) Unwrap() error { return e.err }

// headID returns the current snapshot ID of tbl, 0 when it has none.
func headID(tbl *table.Table) int64 {
	if s := tbl.CurrentSnapshot(); s != nil {
		return s.SnapshotID
	}
	return 0
}

// ingestTableOnce makes one attempt. ex, when not nil, is what the table
// held for each item when IngestAll began (valid while the table has not
// moved; if it has, the commit fails and the retry looks again).
func (l *Lake) ingestTableOnce(ctx context.Context, g *group, t rrs.Type, ex []existing) ([]TableResult, error) {
	trs := g.results(t)
	var tbl *table.Table
	if len(ex) > 0 && ex[0].tbl != nil {
		tbl = ex[0].tbl
	} else {
		var err error
		if tbl, err = l.Table(ctx, t); err != nil {
			return trs, err
		}
		if ex, err = l.existing(ctx, g, t, tbl); err != nil {
			return trs, err
		}
	}
	marked := make([]struct {
		snapshotID int64
		m          marker
		ok         bool
	}, len(g.items))
	l.withMarkers(t, tbl.Metadata(), func(x *markerIndex) {
		for i, gi := range g.items {
			mk := &marked[i]
			mk.snapshotID, mk.m, mk.ok = x.find(gi.lv.batch, gi.digest)
		}
	})
	var included []int
	for i, gi := range g.items {
		switch {
		case gi.shadowedBy != nil && gi.shadowedBy.lv.batch == gi.lv.batch:
			trs[i].Outcome = OutcomeAlready // the same batch twice in the group
		case gi.shadowedBy != nil:
			trs[i].Outcome = OutcomeSuperseded
		default:
			if mk := marked[i]; mk.ok {
				trs[i].Outcome, trs[i].SnapshotID, trs[i].Rows = OutcomeAlready, mk.snapshotID, mk.m.rows
			} else if max(ex[i].maxSeq, gi.top) > gi.id.Seq {
				trs[i].Outcome = OutcomeSuperseded
			} else {
				if ex[i].n > 0 && ex[i].maxSeq == gi.id.Seq {
					l.log.Warn("lake: batch rows present without their marker (expired, or another manifest of the same batch); replacing them",
						"table", TableName(t), "batch", gi.lv.batch)
				}
				included = append(included, i)
			}
		}
	}
	if len(included) == 0 {
		return trs, nil
	}

	parts := make([]*part, len(included))
	for k, i := range included {
		gi := g.items[i]
		rt, err := recordType(l.cfg.Spec, t)
		if err != nil {
			return trs, err
		}
		p := &part{rt: rt, lin: gi.lv}
		if gi.src.Has(t) {
			src, err := gi.src.Open(t)
			if err != nil {
				return trs, err
			}
			defer src.Close()
			p.src, p.rt = src, src.Type()
		}
		parts[k] = p
	}
	conv, err := newRowConverter(parts, tbl.Schema(), l.batchRows)
	if err != nil {
		return trs, err
	}
	defer conv.Release()
	hasRows := conv.peek()
	if err := conv.Err(); err != nil {
		return trs, err
	}
	var replace []iceberg.BooleanExpression
	for _, i := range included {
		if ex[i].n > 0 {
			replace = append(replace, batchFilter(g.items[i].id))
		}
	}
	if !hasRows && len(replace) == 0 {
		for k, i := range included {
			trs[i].Outcome, trs[i].Skipped, trs[i].SkippedLines = OutcomeEmpty, parts[k].skipped, parts[k].skippedLines
		}
		return trs, nil
	}

	counted := &countingReader{rowConverter: conv, summary: summaryOf(g, included, ex)}
	txn := tbl.NewTransaction()
	if len(replace) == 0 {
		err = txn.Append(ctx, counted, counted.summary)
	} else {
		filter := replace[0]
		if len(replace) > 1 {
			filter = iceberg.NewOr(replace[0], replace[1], replace[2:]...)
		}
		err = txn.Overwrite(ctx, counted, counted.summary, table.WithOverwriteFilter(filter))
	}
	if err == nil {
		err = conv.Err()
	}
	if err != nil {
		return trs, fmt.Errorf("stage: %w", err)
	}
	if testHookBeforeCommit != nil {
		testHookBeforeCommit(l, t)
	}
	committed, err := txn.Commit(ctx)
	if err != nil {
		// A concurrent writer, or a catalog failure after which the commit
		// may or may not have landed: either way a new attempt finds out
		// through the markers.
		return trs, &commitError{base: headID(tbl), err: ronghe.WrapError(ronghe.EUNAVAILABLE, err, "lake: commit to "+TableName(t))}
	}
	var snapID int64
	if s := committed.CurrentSnapshot(); s != nil {
		snapID = s.SnapshotID
	}
	for k, i := range included {
		p := parts[k]
		tr := &trs[i]
		tr.Rows, tr.Skipped, tr.SkippedLines, tr.SnapshotID = p.loaded, p.skipped, p.skippedLines, snapID
		switch {
		case ex[i].n > 0:
			tr.Outcome, tr.Replaced = OutcomeReplaced, ex[i].n
		case p.loaded > 0:
			tr.Outcome = OutcomeAppended
		default:
			tr.Outcome = OutcomeEmpty // recorded in the snapshot's markers, nothing changed
		}
	}
	return trs, nil
}

// Snapshot summaries list the batches a snapshot ingested: each of
// PropSumBatch, PropSumDigest, PropSumRows, PropSumReplaced,
// PropSumSkipped, PropSumMessageID and PropSumLogIndex holds one entry per
// batch, separated by commas (batch names, hex digests, integers and
// message IDs hold no comma; an entry may be empty).
const listSep = ","

// summaryOf returns the snapshot summary properties of an ingest of the
// included items; the row counts are filled in as reading ends.
func summaryOf(g *group, included []int, ex []existing) iceberg.Properties {
	var batches, digests, msgs, logs, replaced []string
	hasMsg, hasLog := false, false
	for _, i := range included {
		gi := g.items[i]
		batches = append(batches, gi.lv.batch)
		digests = append(digests, gi.digest)
		msgs = append(msgs, strings.ReplaceAll(gi.lin.MessageID, listSep, ""))
		hasMsg = hasMsg || gi.lin.MessageID != ""
		li := ""
		if gi.lv.hasLog {
			li, hasLog = strconv.FormatInt(gi.lv.logIndex, 10), true
		}
		logs = append(logs, li)
		replaced = append(replaced, strconv.FormatInt(ex[i].n, 10))
	}
	p := iceberg.Properties{
		PropSumOperation: "ingest",
		PropSumBatch:     strings.Join(batches, listSep),
		PropSumDigest:    strings.Join(digests, listSep),
		PropSumReplaced:  strings.Join(replaced, listSep),
	}
	if hasMsg {
		p[PropSumMessageID] = strings.Join(msgs, listSep)
	}
	if hasLog {
		p[PropSumLogIndex] = strings.Join(logs, listSep)
	}
	return p
}

// countingReader fills the per-batch row counts into the snapshot summary
// when reading ends: iceberg-go reads the summary map when it builds the
// snapshot, after the writer drained the reader.
type countingReader struct {
	*rowConverter
	summary iceberg.Properties
}

// Next advances and, at the end, records the counts.
func (c *countingReader) Next() bool {
	ok := c.rowConverter.Next()
	if !ok {
		rows := make([]string, len(c.parts))
		skipped := make([]string, len(c.parts))
		anySkipped := false
		for k, p := range c.parts {
			rows[k] = strconv.FormatInt(p.loaded, 10)
			skipped[k] = strconv.FormatInt(p.skipped, 10)
			anySkipped = anySkipped || p.skipped > 0
		}
		c.summary[PropSumRows] = strings.Join(rows, listSep)
		if anySkipped {
			c.summary[PropSumSkipped] = strings.Join(skipped, listSep)
		}
	}
	return ok
}

var _ array.RecordReader = (*countingReader)(nil)

// marker is one batch recorded in an ingest snapshot's summary.
type marker struct {
	batch, digest string
	rows          int64
}

// markersOf returns the batches an ingest snapshot recorded (nil for other
// snapshots) and false when the summary is malformed.
func markersOf(p iceberg.Properties) ([]marker, bool) {
	if p[PropSumOperation] != "ingest" {
		return nil, true
	}
	batches := strings.Split(p[PropSumBatch], listSep)
	digests := strings.Split(p[PropSumDigest], listSep)
	rows := strings.Split(p[PropSumRows], listSep)
	if len(digests) != len(batches) || len(rows) != len(batches) {
		return nil, false
	}
	out := make([]marker, len(batches))
	for i := range batches {
		n, err := strconv.ParseInt(rows[i], 10, 64)
		if err != nil {
			return nil, false
		}
		out[i] = marker{batch: batches[i], digest: digests[i], rows: n}
	}
	return out, true
}

// findMarker returns the snapshot in the current snapshot's lineage that
// ingested batch with digest, and its marker.
func findMarker(meta table.Metadata, batch, digest string) (*table.Snapshot, marker) {
	cur := meta.CurrentSnapshot()
	if cur == nil {
		return nil, marker{}
	}
	for _, s := range table.AncestorsOf(cur.SnapshotID, meta.SnapshotByID) {
		if s.Summary == nil {
			continue
		}
		ms, _ := markersOf(s.Summary.Properties)
		for _, m := range ms {
			if m.batch == batch && m.digest == digest {
				return &s, m
			}
		}
	}
	return nil, marker{}
}

// existing is what a table holds for one institution and date.
type existing struct {
	n      int64        // rows
	maxSeq int          // version: the highest _seq (0 when none)
	base   int64        // the snapshot this was read from
	tbl    *table.Table // the table as loaded then
}

// knownRows derives what the table holds for id's institution and date
// from its snapshot summaries, without reading a manifest: the newest
// ingest snapshot that recorded a batch of that institution and date in the
// current lineage replaced all its rows with that batch's rows, and
// compactions change no rows. The answer is known only when every snapshot
// walked was the lake's own (ingest or compaction) and, when no such batch
// is found, the lineage reaches back to the table's first snapshot; after
// expiry or a write by another engine, ok is false.
func knownRows(meta table.Metadata, id rrs.BatchID) (ex existing, ok bool) {
	cur := meta.CurrentSnapshot()
	if cur == nil {
		return existing{}, true
	}
	lineage, complete := table.AncestorsOfChecked(cur.SnapshotID, meta.SnapshotByID)
	prefix := id.InstCode + "_" + id.Date.Compact() + "_"
	for _, s := range lineage {
		if s.Summary == nil {
			return existing{}, false
		}
		p := s.Summary.Properties
		switch p[PropSumOperation] {
		case "compact":
		case "ingest":
			ms, valid := markersOf(p)
			if !valid {
				return existing{}, false
			}
			for _, m := range ms {
				if !strings.HasPrefix(m.batch, prefix) {
					continue
				}
				bid, err := rrs.ParseBatchID(m.batch)
				if err != nil {
					return existing{}, false
				}
				return existing{n: m.rows, maxSeq: bid.Seq}, true
			}
		default:
			return existing{}, false
		}
	}
	return existing{}, complete
}

// scanRows counts the current rows of id's institution and date and finds
// the highest _seq among them by reading that column.
func scanRows(ctx context.Context, tbl *table.Table, id rrs.BatchID) (existing, error) {
	ex := existing{base: headID(tbl), tbl: tbl}
	if tbl.CurrentSnapshot() == nil {
		return ex, nil
	}
	scan := tbl.Scan(table.WithRowFilter(batchFilter(id)), table.WithSelectedFields(ColSeq))
	_, it, err := scan.ToArrowRecords(ctx)
	if err != nil {
		return ex, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "lake: scan existing rows")
	}
	for rec, err := range it {
		if err != nil {
			return ex, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "lake: scan existing rows")
		}
		col, ok := rec.Column(int(rec.Schema().FieldIndices(ColSeq)[0])).(*array.Int32)
		if !ok {
			rec.Release()
			return ex, ronghe.Errorf(ronghe.EINTERNAL, "lake: %s is not an int column", ColSeq)
		}
		for i := 0; i < col.Len(); i++ {
			ex.maxSeq = max(ex.maxSeq, int(col.Value(i)))
		}
		ex.n += int64(rec.NumRows())
		rec.Release()
	}
	return ex, nil
}
