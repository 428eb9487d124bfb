package lake

import (
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/rrs"
)

// maxSkippedLines bounds how many skipped line numbers a result lists.
const maxSkippedLines = 20

// defaultBatchRows is the number of rows per Arrow record batch.
const defaultBatchRows = 64 << 10

// rowSource yields a file's rows; *rrs.Reader implements it.
type rowSource interface {
	Next() (*rrs.Row, error)
	File() string
}

// lineageValues are the per-row constants of one batch.
type lineageValues struct {
	batch      string
	inst       string
	date       arrow.Date32
	seq        int32
	messageID  string // "" = null
	logIndex   int64
	hasLog     bool
	ingestedAt arrow.Timestamp // microseconds since the epoch, UTC
}

// columnSource says where a table column's values come from.
type columnSource struct {
	field   int           // index in the record type's fields, or -1
	kind    rrs.Kind      // kind of that field
	lineage string        // lineage column name, or ""
	builder array.Builder // set per batch
}

// rowConverter turns rrs rows into Arrow record batches in a lake table's
// schema: the record type's typed values (decimal(18,2) exact, dates, times
// in microseconds), nulls for table columns the batch's RRS-1 version lacks,
// and the lineage constants. Rows that fail the structural checks (L01, L02)
// or are malformed CSV records are counted and skipped; any other read error
// stops the converter. It implements array.RecordReader.
type rowConverter struct {
	refs    atomic.Int64
	src     rowSource
	rt      *rrs.RecordType
	schema  *arrow.Schema
	cols    []columnSource
	lin     lineageValues
	mem     memory.Allocator
	rows    int
	b       *array.RecordBuilder
	cur     arrow.RecordBatch
	pending arrow.RecordBatch // a batch read ahead by peek
	peeked  bool
	done    bool
	err     error

	loaded       int64
	skipped      int64
	skippedLines []int
	parsed       []any
}

// newRowConverter returns a converter of src's rows (record type rt) into
// the schema sc of a lake table. src may be nil for a batch without the
// file: the converter then yields nothing.
func newRowConverter(src rowSource, rt *rrs.RecordType, sc *iceberg.Schema, lin lineageValues, batchRows int) (*rowConverter, error) {
	asc, err := table.SchemaToArrowSchema(sc, nil, true, false)
	if err != nil {
		return nil, fmt.Errorf("lake: arrow schema: %w", err)
	}
	if batchRows <= 0 {
		batchRows = defaultBatchRows
	}
	c := &rowConverter{src: src, rt: rt, schema: asc, lin: lin, mem: memory.DefaultAllocator, rows: batchRows,
		parsed: make([]any, len(rt.Fields))}
	c.cols = make([]columnSource, len(asc.Fields()))
	for i, f := range asc.Fields() {
		cs := columnSource{field: -1}
		switch {
		case IsLineage(f.Name):
			cs.lineage = f.Name
		default:
			if j := rt.Index(f.Name); j >= 0 {
				cs.field, cs.kind = j, rt.Fields[j].Kind
				if want := icebergType(cs.kind); !sc.Field(i).Type.Equals(want) {
					return nil, ronghe.Errorf(ronghe.EUNSUPPORTED, "lake: column %s is %s in the table but %s in RRS-1 %s",
						f.Name, sc.Field(i).Type, want, rt.Type)
				}
			} else if sc.Field(i).Required {
				return nil, ronghe.Errorf(ronghe.EUNSUPPORTED, "lake: required column %s of the table is not a field of %s in this batch's RRS-1 version", f.Name, rt.Type)
			}
		}
		c.cols[i] = cs
	}
	for j := range rt.Fields {
		if asc.FieldIndices(rt.Fields[j].Name) == nil {
			return nil, ronghe.Errorf(ronghe.EUNSUPPORTED, "lake: field %s.%s of the batch's RRS-1 version has no column; open the lake with that version",
				rt.Type, rt.Fields[j].Name)
		}
	}
	c.b = array.NewRecordBuilder(c.mem, asc)
	for i := range c.cols {
		c.cols[i].builder = c.b.Field(i)
	}
	c.refs.Store(1)
	if src == nil {
		c.done = true
	}
	return c, nil
}

// Schema returns the Arrow schema of the batches.
func (c *rowConverter) Schema() *arrow.Schema { return c.schema }

// peek reads the first batch ahead, so the caller can tell an empty file
// from one with rows before starting a transaction. It reports whether
// there is at least one row; Err tells why there is none.
func (c *rowConverter) peek() bool {
	if !c.peeked {
		c.peeked = true
		if c.next() {
			c.pending = c.cur
			c.cur = nil
		}
	}
	return c.pending != nil
}

// Next makes the next batch current and reports whether there is one.
func (c *rowConverter) Next() bool {
	if c.cur != nil {
		c.cur.Release()
		c.cur = nil
	}
	if !c.peeked {
		c.peeked = true
	}
	if c.pending != nil {
		c.cur, c.pending = c.pending, nil
		return true
	}
	return c.next()
}

func (c *rowConverter) next() bool {
	if c.done {
		return false
	}
	n := 0
	for n < c.rows {
		row, err := c.src.Next()
		if err == io.EOF {
			c.done = true
			break
		}
		if err != nil {
			var pe *rrs.ParseError
			if errors.As(err, &pe) && pe.Recoverable() {
				c.skip(pe.Line)
				continue
			}
			c.err, c.done = err, true
			break
		}
		if !c.parse(row) {
			c.skip(row.Line)
			continue
		}
		c.append()
		n++
	}
	if c.err != nil || n == 0 {
		rec := c.b.NewRecordBatch() // discard a partial batch
		rec.Release()
		return false
	}
	c.loaded += int64(n)
	c.cur = c.b.NewRecordBatch()
	return true
}

func (c *rowConverter) skip(line int) {
	c.skipped++
	if len(c.skippedLines) < maxSkippedLines {
		c.skippedLines = append(c.skippedLines, line)
	}
}

// parse types every value of row into c.parsed; false when one fails the
// structural checks.
func (c *rowConverter) parse(row *rrs.Row) bool {
	if len(row.Values) != len(c.rt.Fields) {
		return false
	}
	for i := range c.rt.Fields {
		v, err := c.rt.Fields[i].Parse(row.Values[i])
		if err != nil {
			return false
		}
		c.parsed[i] = v
	}
	return true
}

// append adds the parsed row and the lineage constants to the builders.
func (c *rowConverter) append() {
	l := &c.lin
	for i := range c.cols {
		cs := &c.cols[i]
		if cs.lineage != "" {
			switch cs.lineage {
			case ColBatch:
				cs.builder.(*array.StringBuilder).Append(l.batch)
			case ColInst:
				cs.builder.(*array.StringBuilder).Append(l.inst)
			case ColBusinessDate:
				cs.builder.(*array.Date32Builder).Append(l.date)
			case ColSeq:
				cs.builder.(*array.Int32Builder).Append(l.seq)
			case ColMessageID:
				if l.messageID == "" {
					cs.builder.AppendNull()
				} else {
					cs.builder.(*array.StringBuilder).Append(l.messageID)
				}
			case ColLogIndex:
				if l.hasLog {
					cs.builder.(*array.Int64Builder).Append(l.logIndex)
				} else {
					cs.builder.AppendNull()
				}
			case ColIngestedAt:
				cs.builder.(*array.TimestampBuilder).Append(l.ingestedAt)
			}
			continue
		}
		if cs.field < 0 {
			cs.builder.AppendNull()
			continue
		}
		v := c.parsed[cs.field]
		if v == nil {
			cs.builder.AppendNull()
			continue
		}
		switch x := v.(type) {
		case rrs.Amount:
			cs.builder.(*array.Decimal128Builder).Append(decimal128.FromI64(int64(x)))
		case rrs.Date:
			cs.builder.(*array.Date32Builder).Append(arrow.Date32(x.EpochDays()))
		case rrs.Clock:
			cs.builder.(*array.Time64Builder).Append(arrow.Time64(int64(x) * int64(time.Second/time.Microsecond)))
		case int64:
			cs.builder.(*array.Int64Builder).Append(x)
		case rrs.Period:
			cs.builder.(*array.StringBuilder).Append(x.String())
		case string:
			cs.builder.(*array.StringBuilder).Append(x)
		default:
			panic(fmt.Sprintf("lake: unexpected value type %T for %s", v, c.rt.Fields[cs.field].Name))
		}
	}
}

// RecordBatch returns the current batch, valid until the next call to Next.
func (c *rowConverter) RecordBatch() arrow.RecordBatch { return c.cur }

// Record returns the current batch.
//
// Deprecated: use RecordBatch (kept for array.RecordReader).
func (c *rowConverter) Record() arrow.RecordBatch { return c.cur }

// Err returns the error that stopped the converter, or nil.
func (c *rowConverter) Err() error { return c.err }

// Retain increments the reference count.
func (c *rowConverter) Retain() { c.refs.Add(1) }

// Release decrements the reference count and frees the builders and any
// batch held when it reaches zero.
func (c *rowConverter) Release() {
	if c.refs.Add(-1) == 0 {
		if c.cur != nil {
			c.cur.Release()
			c.cur = nil
		}
		if c.pending != nil {
			c.pending.Release()
			c.pending = nil
		}
		c.b.Release()
	}
}

var _ array.RecordReader = (*rowConverter)(nil)
