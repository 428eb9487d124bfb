package lake

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

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

// maxCommitAttempts bounds how often an ingest reloads the table and tries
// again after another writer committed first.
const maxCommitAttempts = 5

// Source is a batch to ingest: a batch directory or zip (*rrs.Batch), or an
// accepted submission read from the encrypted blob store (the pipeline's
// batch). Open returns a reader whose record type is that of the batch's
// RRS-1 version.
type Source interface {
	ID() rrs.BatchID
	Has(t rrs.Type) bool
	Open(t rrs.Type) (*rrs.Reader, error)
}

var _ Source = (*rrs.Batch)(nil)

// Ingest lands batch b in the lake, one Iceberg transaction per record type,
// exactly once: a record type whose table already holds this batch (its
// marker is in the current snapshot lineage) is skipped; a batch whose
// institution and date already has rows replaces them in one snapshot
// (corrections); a batch older than what the table holds for its
// institution and date changes nothing. Record types the batch has no file
// for are treated as empty, so a correction without FXP.csv removes the
// FXP rows of the version it corrects. Ingest may be repeated after any
// failure; each table converges to the latest version.
func (l *Lake) Ingest(ctx context.Context, b Source, lin Lineage) (*IngestResult, error) {
	id := b.ID()
	if err := id.Valid(); err != nil {
		return nil, err
	}
	lv, err := lineageValuesOf(id, lin)
	if err != nil {
		return nil, err
	}
	// Versions of one institution and date are ingested one at a time in
	// this process; see the package documentation for several processes.
	unlock := l.lockKey(id.InstCode + id.Date.Compact())
	defer unlock()
	// The version the lake holds is the highest _seq of the institution and
	// date in any table: a correction without FXP rows still leaves its CTL,
	// ACCT and other rows, so an older version arriving late is recognised
	// even where the correction left a table empty.
	pre := make(map[rrs.Type]existing, len(l.Types()))
	top := 0
	for _, t := range l.Types() {
		tbl, err := l.Table(ctx, t)
		if err != nil {
			return nil, err
		}
		ex, err := existingRows(ctx, tbl, id)
		if err != nil {
			return nil, err
		}
		pre[t], top = ex, max(top, ex.maxSeq)
	}
	res := &IngestResult{Batch: id.String()}
	for _, t := range l.Types() {
		ex := pre[t]
		tr, err := l.ingestTable(ctx, b, t, lin, lv, &ex, top)
		if err != nil {
			return res, fmt.Errorf("lake: ingest %s into %s: %w", id, TableName(t), err)
		}
		res.Tables = append(res.Tables, tr)
	}
	l.log.Debug("lake: ingested", "batch", res.Batch, "rows", res.Rows(), "changed", res.Changed())
	return res, nil
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

// ingestTable lands record type t of batch b, retrying when a concurrent
// writer moved the table between our check and our commit.
func (l *Lake) ingestTable(ctx context.Context, b Source, t rrs.Type, lin Lineage, lv lineageValues, ex *existing, top int) (TableResult, error) {
	mu := l.tableLock(t)
	mu.Lock()
	defer mu.Unlock()
	var lastErr error
	for attempt := 0; attempt < maxCommitAttempts; attempt++ {
		tr, err := l.ingestTableOnce(ctx, b, t, lin, lv, ex, top)
		ex = nil // a retry looks again
		var ce *commitError
		if err == nil || !errors.As(err, &ce) {
			return tr, err
		}
		// Did another writer move the table? Then check again from the
		// start (the marker may now be there); otherwise the failure is
		// the catalog's, and the caller retries the whole ingest later.
		tbl, lerr := l.Table(ctx, t)
		if lerr != nil {
			return tr, errors.Join(err, lerr)
		}
		if headID(tbl) == ce.base {
			return tr, ce.err
		}
		lastErr = ce.err
		l.log.Warn("lake: concurrent commit, retrying", "table", TableName(t), "batch", lv.batch, "attempt", attempt+1)
		select {
		case <-ctx.Done():
			return tr, ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 20 * time.Millisecond):
		}
	}
	return TableResult{Type: t}, ronghe.WrapError(ronghe.EUNAVAILABLE, lastErr, "lake: table "+TableName(t)+" keeps changing underneath the ingest")
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
// held for the institution and date when Ingest began (used if the table
// has not moved since); top is the highest version in any table then.
func (l *Lake) ingestTableOnce(ctx context.Context, b Source, t rrs.Type, lin Lineage, lv lineageValues, ex *existing, top int) (TableResult, error) {
	tr := TableResult{Type: t}
	id := b.ID()
	digest := hex.EncodeToString(lin.ManifestDigest)
	tbl, err := l.Table(ctx, t)
	if err != nil {
		return tr, err
	}
	if snap := findMarker(tbl.Metadata(), lv.batch, digest); snap != nil {
		tr.Outcome, tr.SnapshotID = OutcomeAlready, snap.SnapshotID
		tr.Rows, _ = strconv.ParseInt(snap.Summary.Properties[PropSumRows], 10, 64)
		return tr, nil
	}
	if ex == nil || ex.base != headID(tbl) {
		fresh, err := existingRows(ctx, tbl, id)
		if err != nil {
			return tr, err
		}
		ex = &fresh
	}
	existing, maxSeq := ex.n, ex.maxSeq
	if max(maxSeq, top) > id.Seq {
		tr.Outcome = OutcomeSuperseded
		return tr, nil
	}
	if existing > 0 && maxSeq == id.Seq {
		l.log.Warn("lake: batch rows present without their marker (expired, or another manifest of the same batch); replacing them",
			"table", TableName(t), "batch", lv.batch)
	}

	var rs rowSource
	batchRT, err := recordType(l.cfg.Spec, t)
	if err != nil {
		return tr, err
	}
	if b.Has(t) {
		src, err := b.Open(t)
		if err != nil {
			return tr, err
		}
		defer src.Close()
		rs, batchRT = src, src.Type()
	}
	conv, err := newRowConverter(rs, batchRT, tbl.Schema(), lv, l.batchRows)
	if err != nil {
		return tr, err
	}
	defer conv.Release()
	hasRows := conv.peek()
	if err := conv.Err(); err != nil {
		return tr, err
	}
	if !hasRows && existing == 0 {
		tr.Outcome, tr.Skipped, tr.SkippedLines = OutcomeEmpty, conv.skipped, conv.skippedLines
		return tr, nil
	}

	props := iceberg.Properties{
		PropSumOperation: "ingest",
		PropSumBatch:     lv.batch,
		PropSumDigest:    digest,
	}
	if lin.MessageID != "" {
		props[PropSumMessageID] = lin.MessageID
	}
	if lv.hasLog {
		props[PropSumLogIndex] = strconv.FormatInt(lv.logIndex, 10)
	}
	txn := tbl.NewTransaction()
	// The summary is only complete once the rows are counted, but a
	// transaction takes its summary when the data is staged; the counts
	// are therefore written by a wrapper that finishes reading first.
	counted := &countingReader{rowConverter: conv}
	if existing == 0 {
		tr.Outcome = OutcomeAppended
		err = txn.Append(ctx, counted, counted.props(props))
	} else {
		tr.Outcome, tr.Replaced = OutcomeReplaced, existing
		props[PropSumReplaced] = strconv.FormatInt(existing, 10)
		err = txn.Overwrite(ctx, counted, counted.props(props), table.WithOverwriteFilter(batchFilter(id)))
	}
	if err == nil {
		err = conv.Err()
	}
	if err != nil {
		return tr, fmt.Errorf("stage %s: %w", tr.Outcome, err)
	}
	committed, err := txn.Commit(ctx)
	if err != nil {
		// A concurrent writer, or a catalog failure after which the commit
		// may or may not have landed: either way a new attempt finds out
		// through the marker.
		return tr, &commitError{base: headID(tbl), err: ronghe.WrapError(ronghe.EUNAVAILABLE, err, "lake: commit to "+TableName(t))}
	}
	tr.Rows, tr.Skipped, tr.SkippedLines = conv.loaded, conv.skipped, conv.skippedLines
	if s := committed.CurrentSnapshot(); s != nil {
		tr.SnapshotID = s.SnapshotID
	}
	return tr, nil
}

// countingReader fills the row counts into the snapshot summary properties
// as the rows are read: iceberg-go reads the summary map when it builds the
// snapshot, after the writer drained the reader.
type countingReader struct {
	*rowConverter
	summary iceberg.Properties
}

// props returns p, to be updated with the counts when reading ends.
func (c *countingReader) props(p iceberg.Properties) iceberg.Properties {
	c.summary = p
	p[PropSumRows] = "0"
	return p
}

// Next advances and, at the end, records the counts.
func (c *countingReader) Next() bool {
	ok := c.rowConverter.Next()
	if !ok && c.summary != nil {
		c.summary[PropSumRows] = strconv.FormatInt(c.loaded, 10)
		if c.skipped > 0 {
			c.summary[PropSumSkipped] = strconv.FormatInt(c.skipped, 10)
		}
	}
	return ok
}

var _ array.RecordReader = (*countingReader)(nil)

// findMarker returns the snapshot in the current snapshot's lineage that
// ingested batch with digest, or nil.
func findMarker(meta table.Metadata, batch, digest string) *table.Snapshot {
	cur := meta.CurrentSnapshot()
	if cur == nil {
		return nil
	}
	for _, s := range table.AncestorsOf(cur.SnapshotID, meta.SnapshotByID) {
		if s.Summary == nil {
			continue
		}
		p := s.Summary.Properties
		if p[PropSumBatch] == batch && p[PropSumDigest] == digest {
			return &s
		}
	}
	return nil
}

// existing is what a table holds for one institution and date.
type existing struct {
	n      int64 // rows
	maxSeq int   // highest _seq among them (0 when none)
	base   int64 // the snapshot this was read from
}

// existingRows counts the current rows of id's institution and business
// date and finds the highest batch sequence among them.
func existingRows(ctx context.Context, tbl *table.Table, id rrs.BatchID) (existing, error) {
	ex := existing{base: headID(tbl)}
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
