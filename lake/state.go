package lake

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/rrs"
)

// State is one snapshot of every lake table: the current ones, or those
// that were current at an instant (AsOf). Readers — iceberg-go scans, DuckDB
// over the data files — take their snapshot from a State, so a query sees
// one version of each table however long it runs.
type State struct {
	// AsOf is the instant the state answers for; zero for the current state.
	AsOf time.Time
	// Tables has one entry per record type, in spec order.
	Tables []*TableState
}

// Table returns the state of record type t's table, or nil.
func (s *State) Table(t rrs.Type) *TableState {
	for _, ts := range s.Tables {
		if ts.Type == t {
			return ts
		}
	}
	return nil
}

// TableState is one table at one snapshot.
type TableState struct {
	// Type is the record type; Name the table name ("txn").
	Type rrs.Type
	Name string
	// Snapshot is the selected snapshot, nil when the table was empty then.
	Snapshot *table.Snapshot
	// Schema is the table's current schema and Columns its description.
	// Files written under an older schema lack the columns added since;
	// readers see nulls there.
	Schema  *iceberg.Schema
	Columns []Column

	tbl *table.Table
}

// Rows returns the number of rows in the selected snapshot.
func (ts *TableState) Rows() int64 {
	if ts.Snapshot == nil || ts.Snapshot.Summary == nil {
		return 0
	}
	n, _ := strconv.ParseInt(ts.Snapshot.Summary.Properties["total-records"], 10, 64)
	return n
}

// Updated returns the commit time of the selected snapshot (zero when
// empty).
func (ts *TableState) Updated() time.Time {
	if ts.Snapshot == nil {
		return time.Time{}
	}
	return time.UnixMilli(ts.Snapshot.TimestampMs)
}

// Iceberg returns the loaded table (its current metadata).
func (ts *TableState) Iceberg() *table.Table { return ts.tbl }

// Scan returns an iceberg-go scan of the selected snapshot; opts add row
// filters, column selections and the like. Scanning an empty state yields
// no rows.
func (ts *TableState) Scan(opts ...table.ScanOption) *table.Scan {
	if ts.Snapshot != nil {
		opts = append([]table.ScanOption{table.WithSnapshotID(ts.Snapshot.SnapshotID)}, opts...)
	}
	return ts.tbl.Scan(opts...)
}

// DataFile is one data file of a snapshot.
type DataFile struct {
	// Path is the file's location, e.g. "file:///…/data/….parquet".
	Path string
	// Rows and Size are the file's record count and size in bytes.
	Rows, Size int64
	// Deletes is true when delete files apply to it (only when another
	// engine wrote merge-on-read deletes; the lake itself never does).
	Deletes bool
}

// DataFiles lists the data files of the selected snapshot whose partition
// and column statistics may hold rows matching filter (nil: all).
func (ts *TableState) DataFiles(ctx context.Context, filter iceberg.BooleanExpression) ([]DataFile, error) {
	if ts.Snapshot == nil {
		return nil, nil
	}
	var opts []table.ScanOption
	if filter != nil {
		opts = append(opts, table.WithRowFilter(filter))
	}
	tasks, err := ts.Scan(opts...).PlanFiles(ctx)
	if err != nil {
		return nil, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "lake: plan files of "+ts.Name)
	}
	seen := make(map[string]int, len(tasks))
	out := make([]DataFile, 0, len(tasks))
	for _, t := range tasks {
		p := t.File.FilePath()
		del := len(t.DeleteFiles) > 0 || len(t.EqualityDeleteFiles) > 0 || len(t.DeletionVectorFiles) > 0
		if i, ok := seen[p]; ok { // a large file may be planned as several splits
			out[i].Deletes = out[i].Deletes || del
			continue
		}
		seen[p] = len(out)
		out = append(out, DataFile{Path: p, Rows: t.File.Count(), Size: t.File.FileSizeBytes(), Deletes: del})
	}
	return out, nil
}

// Current returns the current snapshot of every table.
func (l *Lake) Current(ctx context.Context) (*State, error) {
	return l.state(ctx, time.Time{})
}

// AsOf returns, for every table, the snapshot that was current at instant
// at: what the platform knew then. A table created after at, or with no
// commit before it, is empty in the result. When expiry has removed the
// snapshots that would answer, AsOf fails with ENOTFOUND.
func (l *Lake) AsOf(ctx context.Context, at time.Time) (*State, error) {
	if at.IsZero() {
		return nil, ronghe.Errorf(ronghe.EINVALID, "lake: as-of time is zero")
	}
	return l.state(ctx, at)
}

func (l *Lake) state(ctx context.Context, at time.Time) (*State, error) {
	st := &State{AsOf: at}
	for _, t := range l.Types() {
		tbl, err := l.Table(ctx, t)
		if err != nil {
			return nil, err
		}
		ts := &TableState{Type: t, Name: TableName(t), Schema: tbl.Schema(),
			Columns: columnsOf(tbl.Schema(), tbl.Properties()), tbl: tbl}
		if at.IsZero() {
			ts.Snapshot = tbl.CurrentSnapshot()
		} else if ts.Snapshot, err = snapshotAsOf(tbl, at); err != nil {
			return nil, err
		}
		st.Tables = append(st.Tables, ts)
	}
	return st, nil
}

// snapshotAsOf returns the snapshot of tbl's main branch that was current at
// at, nil when the table had none yet, or ENOTFOUND when the answer was
// expired.
func snapshotAsOf(tbl *table.Table, at time.Time) (*table.Snapshot, error) {
	ms := at.UnixMilli()
	if s := tbl.SnapshotAsOf(ms, true); s != nil {
		return s, nil
	}
	// No retained snapshot answers. That is "empty" only if the oldest
	// retained snapshot is the table's first and was made after at.
	var oldest *table.Snapshot
	for _, s := range tbl.Metadata().Snapshots() {
		if oldest == nil || s.TimestampMs < oldest.TimestampMs {
			s := s
			oldest = &s
		}
	}
	switch {
	case oldest == nil:
		if tbl.CurrentSnapshot() == nil {
			return nil, nil
		}
	case oldest.ParentSnapshotID == nil && oldest.TimestampMs > ms:
		return nil, nil
	}
	return nil, ronghe.Errorf(ronghe.ENOTFOUND, "lake: the history of table %s before %s has been expired",
		TableName(rrsTypeOf(tbl)), fmt.Sprint(time.UnixMilli(firstMs(oldest)).In(rrs.Shanghai).Format(time.RFC3339)))
}

func firstMs(s *table.Snapshot) int64 {
	if s == nil {
		return 0
	}
	return s.TimestampMs
}

// rrsTypeOf returns the record type a lake table holds.
func rrsTypeOf(tbl *table.Table) rrs.Type {
	return rrs.Type(tbl.Properties()[PropRecordType])
}
