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

// part is one batch's file of the record type being converted.
type part struct {
	src     rowSource       // nil when the batch has no such file
	rt      *rrs.RecordType // the record type in the batch's RRS-1 version
	lin     lineageValues
	fieldOf []int // per table column: index in rt.Fields, -1 for lineage or absent

	loaded, skipped int64
	skippedLines    []int
}

// rowConverter turns the rows of one or more batches' files into Arrow
// record batches in a lake table's schema: typed values (decimal(18,2)
// exact, dates, times in microseconds), nulls for table columns a batch's
// RRS-1 version lacks, and each batch's lineage constants. Rows that fail
// the structural checks (L01, L02) or are malformed CSV records are counted
// and skipped; any other read error stops the converter. It implements
// array.RecordReader.
type rowConverter struct {
	refs    atomic.Int64
	parts   []*part
	at      int // current part
	schema  *arrow.Schema
	lineage []string // per column: lineage column name, or ""
	rows    int
	b       *array.RecordBuilder
	fb      []array.Builder
	cur     arrow.RecordBatch
	pending arrow.RecordBatch // a batch read ahead by peek
	peeked  bool
	done    bool
	err     error
	parsed  []any
}

// newRowConverter returns a converter of the parts' rows into the schema sc
// of a lake table.
func newRowConverter(parts []*part, sc *iceberg.Schema, batchRows int) (*rowConverter, error) {
	asc, err := table.SchemaToArrowSchema(sc, nil, true, false)
	if err != nil {
		return nil, fmt.Errorf("lake: arrow schema: %w", err)
	}
	if batchRows <= 0 {
		batchRows = defaultBatchRows
	}
	c := &rowConverter{parts: parts, schema: asc, rows: batchRows, lineage: make([]string, len(asc.Fields()))}
	maxFields := 0
	for i, f := range asc.Fields() {
		if IsLineage(f.Name) {
			c.lineage[i] = f.Name
		}
	}
	for _, p := range parts {
		if err := p.bind(sc, asc); err != nil {
			return nil, err
		}
		maxFields = max(maxFields, len(p.rt.Fields))
	}
	c.parsed = make([]any, maxFields)
	c.b = array.NewRecordBuilder(memory.DefaultAllocator, asc)
	c.fb = make([]array.Builder, len(asc.Fields()))
	for i := range c.fb {
		c.fb[i] = c.b.Field(i)
	}
	c.refs.Store(1)
	return c, nil
}

// bind maps the table's columns to p's fields and checks that the batch's
// RRS-1 version fits the table.
func (p *part) bind(sc *iceberg.Schema, asc *arrow.Schema) error {
	p.fieldOf = make([]int, len(asc.Fields()))
	for i, f := range asc.Fields() {
		p.fieldOf[i] = -1
		if IsLineage(f.Name) {
			continue
		}
		if j := p.rt.Index(f.Name); j >= 0 {
			if want := icebergType(p.rt.Fields[j].Kind); !sc.Field(i).Type.Equals(want) {
				return ronghe.Errorf(ronghe.EUNSUPPORTED, "lake: column %s is %s in the table but %s in RRS-1 %s",
					f.Name, sc.Field(i).Type, want, p.rt.Type)
			}
			p.fieldOf[i] = j
		} else if sc.Field(i).Required {
			return ronghe.Errorf(ronghe.EUNSUPPORTED, "lake: required column %s of the table is not a field of %s in this batch's RRS-1 version", f.Name, p.rt.Type)
		}
	}
	for j := range p.rt.Fields {
		if asc.FieldIndices(p.rt.Fields[j].Name) == nil {
			return ronghe.Errorf(ronghe.EUNSUPPORTED, "lake: field %s.%s of the batch's RRS-1 version has no column; open the lake with that version",
				p.rt.Type, p.rt.Fields[j].Name)
		}
	}
	return nil
}

// Schema returns the Arrow schema of the batches.
func (c *rowConverter) Schema() *arrow.Schema { return c.schema }

// peek reads the first batch ahead, so the caller can tell empty files
// from files with rows before starting a transaction. It reports whether
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
	c.peeked = true
	if c.pending != nil {
		c.cur, c.pending = c.pending, nil
		return true
	}
	return c.next()
}

func (c *rowConverter) next() bool {
	n := 0
	for n < c.rows && !c.done {
		if c.at >= len(c.parts) {
			c.done = true
			break
		}
		p := c.parts[c.at]
		if p.src == nil {
			c.at++
			continue
		}
		row, err := p.src.Next()
		if err == io.EOF {
			c.at++
			continue
		}
		if err != nil {
			var pe *rrs.ParseError
			if errors.As(err, &pe) && pe.Recoverable() {
				p.skip(pe.Line)
				continue
			}
			c.err, c.done = err, true
			break
		}
		if !c.parse(p, row) {
			p.skip(row.Line)
			continue
		}
		c.append(p)
		p.loaded++
		n++
	}
	if c.err != nil || n == 0 {
		rec := c.b.NewRecordBatch() // discard a partial batch
		rec.Release()
		return false
	}
	c.cur = c.b.NewRecordBatch()
	return true
}

func (p *part) skip(line int) {
	p.skipped++
	if len(p.skippedLines) < maxSkippedLines {
		p.skippedLines = append(p.skippedLines, line)
	}
}

// parse types every value of row into c.parsed; false when one fails the
// structural checks.
func (c *rowConverter) parse(p *part, row *rrs.Row) bool {
	if len(row.Values) != len(p.rt.Fields) {
		return false
	}
	for i := range p.rt.Fields {
		v, err := p.rt.Fields[i].Parse(row.Values[i])
		if err != nil {
			return false
		}
		c.parsed[i] = v
	}
	return true
}

// append adds the parsed row and p's lineage constants to the builders.
func (c *rowConverter) append(p *part) {
	l := &p.lin
	for i, fb := range c.fb {
		if name := c.lineage[i]; name != "" {
			switch name {
			case ColBatch:
				fb.(*array.StringBuilder).Append(l.batch)
			case ColInst:
				fb.(*array.StringBuilder).Append(l.inst)
			case ColBusinessDate:
				fb.(*array.Date32Builder).Append(l.date)
			case ColSeq:
				fb.(*array.Int32Builder).Append(l.seq)
			case ColMessageID:
				if l.messageID == "" {
					fb.AppendNull()
				} else {
					fb.(*array.StringBuilder).Append(l.messageID)
				}
			case ColLogIndex:
				if l.hasLog {
					fb.(*array.Int64Builder).Append(l.logIndex)
				} else {
					fb.AppendNull()
				}
			case ColIngestedAt:
				fb.(*array.TimestampBuilder).Append(l.ingestedAt)
			}
			continue
		}
		j := p.fieldOf[i]
		if j < 0 {
			fb.AppendNull()
			continue
		}
		switch x := c.parsed[j].(type) {
		case nil:
			fb.AppendNull()
		case rrs.Amount:
			fb.(*array.Decimal128Builder).Append(decimal128.FromI64(int64(x)))
		case rrs.Date:
			fb.(*array.Date32Builder).Append(arrow.Date32(x.EpochDays()))
		case rrs.Clock:
			fb.(*array.Time64Builder).Append(arrow.Time64(int64(x) * int64(time.Second/time.Microsecond)))
		case int64:
			fb.(*array.Int64Builder).Append(x)
		case rrs.Period:
			fb.(*array.StringBuilder).Append(x.String())
		case string:
			fb.(*array.StringBuilder).Append(x)
		default:
			panic(fmt.Sprintf("lake: unexpected value type %T for %s", x, p.rt.Fields[j].Name))
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
