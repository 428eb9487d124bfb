// Package rrsarrow turns RRS-1 CSV rows into Apache Arrow record batches, for
// the lakehouse and for analytical checks. Column types derive from the rrs
// field definitions: decimal(18,2) amounts become Decimal128(18,2), dates
// date32, times time32[s], integers int64, everything else UTF-8 strings.
// It is a package of its own so that only its users depend on Arrow.
package rrsarrow

import (
	"fmt"
	"io"
	"strconv"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/rrs"
)

// LineColumn is the name of the optional column holding each row's line
// number in its CSV file.
const LineColumn = "_line"

// Decimal is the Arrow type of decimal(18,2) fields.
var Decimal = &arrow.Decimal128Type{Precision: 18, Scale: 2}

// DataType returns the Arrow type a field's values are stored as.
func DataType(f *rrs.Field) arrow.DataType {
	switch f.Kind {
	case rrs.KindDecimal:
		return Decimal
	case rrs.KindDate:
		return arrow.FixedWidthTypes.Date32
	case rrs.KindTime:
		return arrow.FixedWidthTypes.Time32s
	case rrs.KindInt:
		return arrow.PrimitiveTypes.Int64
	}
	return arrow.BinaryTypes.String
}

// Schema returns the Arrow schema of record type rt: one column per field in
// canonical order (nullable as the field is), with the field's kind, level and
// PI category as column metadata ("rrs.kind", "rrs.level", "rrs.pi"), and the
// record type and key as schema metadata. withLine adds a leading int64
// column LineColumn.
func Schema(rt *rrs.RecordType, withLine bool) *arrow.Schema {
	fields := make([]arrow.Field, 0, len(rt.Fields)+1)
	if withLine {
		fields = append(fields, arrow.Field{Name: LineColumn, Type: arrow.PrimitiveTypes.Int64})
	}
	for i := range rt.Fields {
		f := &rt.Fields[i]
		keys := []string{"rrs.kind", "rrs.level"}
		vals := []string{f.Kind.String(), strconv.Itoa(f.Level)}
		if f.PI != "" {
			keys, vals = append(keys, "rrs.pi"), append(vals, f.PI)
		}
		fields = append(fields, arrow.Field{Name: f.Name, Type: DataType(f), Nullable: f.Nullable,
			Metadata: arrow.NewMetadata(keys, vals)})
	}
	key := ""
	for i, k := range rt.Key {
		if i > 0 {
			key += "|"
		}
		key += k
	}
	md := arrow.NewMetadata([]string{"rrs.type", "rrs.key"}, []string{string(rt.Type), key})
	return arrow.NewSchema(fields, &md)
}

// Options configure a Reader.
type Options struct {
	// BatchRows is the number of rows per record batch; 0 means 64Ki.
	BatchRows int
	// Mem allocates the batches' buffers; nil means memory.DefaultAllocator.
	Mem memory.Allocator
	// Line adds the LineColumn column.
	Line bool
}

// Reader reads an rrs.Reader's rows as Arrow record batches. It implements
// array.RecordReader. Values must already be well-formed: the first row that
// the rrs Reader rejects, or whose value does not parse as its field's type
// (rules L01/L02), stops the Reader, and Err returns an *rrs.ParseError giving
// file, line and field. Run the rule engine first when data may be faulty.
type Reader struct {
	refs   atomic.Int64
	src    *rrs.Reader
	rt     *rrs.RecordType
	schema *arrow.Schema
	b      *array.RecordBuilder
	n      int
	line   bool
	cur    arrow.RecordBatch
	err    error
	done   bool
}

var _ array.RecordReader = (*Reader)(nil)

// NewReader returns a Reader over src's remaining rows.
func NewReader(src *rrs.Reader, opts Options) *Reader {
	if opts.BatchRows <= 0 {
		opts.BatchRows = 64 << 10
	}
	if opts.Mem == nil {
		opts.Mem = memory.DefaultAllocator
	}
	rt := src.Type()
	r := &Reader{src: src, rt: rt, schema: Schema(rt, opts.Line), n: opts.BatchRows, line: opts.Line}
	r.b = array.NewRecordBuilder(opts.Mem, r.schema)
	r.refs.Store(1)
	return r
}

// Schema returns the schema of the batches.
func (r *Reader) Schema() *arrow.Schema { return r.schema }

// Next builds the next batch of up to BatchRows rows and reports whether
// there is one. The previous batch is released.
func (r *Reader) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.done {
		return false
	}
	rows := 0
	for rows < r.n {
		row, err := r.src.Next()
		if err == io.EOF {
			r.done = true
			break
		}
		if err != nil {
			r.err, r.done = err, true
			break
		}
		if err := r.append(row); err != nil {
			r.err, r.done = err, true
			break
		}
		rows++
	}
	if r.err != nil || rows == 0 {
		// Discard a partial batch on error so no half-built batch escapes.
		rec := r.b.NewRecordBatch()
		rec.Release()
		return false
	}
	r.cur = r.b.NewRecordBatch()
	return true
}

func (r *Reader) append(row *rrs.Row) error {
	// Check every value first so that a bad row leaves the builders
	// untouched and the columns aligned.
	for i := range r.rt.Fields {
		if err := r.rt.Fields[i].Check(row.Values[i]); err != nil {
			return r.bad(row, i, err)
		}
	}
	col := 0
	if r.line {
		r.b.Field(0).(*array.Int64Builder).Append(int64(row.Line))
		col = 1
	}
	for i := range r.rt.Fields {
		f := &r.rt.Fields[i]
		v := row.Values[i]
		fb := r.b.Field(col + i)
		if v == "" {
			fb.AppendNull()
			continue
		}
		switch f.Kind {
		case rrs.KindDecimal:
			a, err := rrs.ParseAmount(v)
			if err != nil {
				return r.bad(row, i, err)
			}
			fb.(*array.Decimal128Builder).Append(decimal128.FromI64(int64(a)))
		case rrs.KindDate:
			d, err := rrs.ParseDate(v)
			if err != nil {
				return r.bad(row, i, err)
			}
			fb.(*array.Date32Builder).Append(arrow.Date32(d.EpochDays()))
		case rrs.KindTime:
			s, err := rrs.ParseTime(v)
			if err != nil {
				return r.bad(row, i, err)
			}
			fb.(*array.Time32Builder).Append(arrow.Time32(s))
		case rrs.KindInt:
			n, ok := rrs.ParseInt(v)
			if !ok {
				return r.bad(row, i, fmt.Errorf("not an integer"))
			}
			fb.(*array.Int64Builder).Append(n)
		default:
			fb.(*array.StringBuilder).Append(v)
		}
	}
	return nil
}

func (r *Reader) bad(row *rrs.Row, i int, err error) error {
	return &rrs.ParseError{File: r.src.File(), Line: row.Line, Column: i + 1, Err: err, Code: ronghe.EINVALID}
}

// RecordBatch returns the current batch, valid until the next call to Next.
func (r *Reader) RecordBatch() arrow.RecordBatch { return r.cur }

// Record returns the current batch.
//
// Deprecated: use RecordBatch (kept for array.RecordReader).
func (r *Reader) Record() arrow.RecordBatch { return r.cur }

// Err returns the error that stopped the Reader, or nil at a clean end.
func (r *Reader) Err() error { return r.err }

// Retain increments the reference count.
func (r *Reader) Retain() { r.refs.Add(1) }

// Release decrements the reference count and frees the builders and the
// current batch when it reaches zero. It does not close the rrs.Reader.
func (r *Reader) Release() {
	if r.refs.Add(-1) == 0 {
		if r.cur != nil {
			r.cur.Release()
			r.cur = nil
		}
		r.b.Release()
	}
}
