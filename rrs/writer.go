package rrs

import (
	"io"
	"unicode/utf8"

	"golang.org/x/text/transform"

	"github.com/ronghe/ronghe"
)

// writerFlushAt is the buffered size at which a Writer hands its bytes on.
const writerFlushAt = 64 << 10

// Writer writes one RRS-1 CSV file: a header row of the record type's field
// names in canonical order, then one line per Write, RFC 4180 quoting (only
// where a value needs it), "\n" line ends, in UTF-8 or GB18030. It buffers
// internally, so w needs no buffering of its own; call Flush at the end.
//
// Writer does not check values against the field definitions (the generator
// uses it to write deliberately faulty rows); it only refuses values that are
// not valid UTF-8 text.
type Writer struct {
	w     io.Writer
	rt    *RecordType
	tr    transform.Transformer // nil for UTF-8
	buf   []byte                // pending UTF-8 text, whole rows only
	out   []byte                // encoder output
	rows  int64
	err   error // sticky write error
	fixed int   // number of fields per row
}

// NewWriter returns a Writer for record type rt in encoding enc and queues the
// header row. It returns an EUNSUPPORTED error for an unknown encoding and
// EINVALID for a record type without fields.
func NewWriter(w io.Writer, rt *RecordType, enc Encoding) (*Writer, error) {
	if err := checkEncoding(enc); err != nil {
		return nil, err
	}
	if rt == nil || len(rt.Fields) == 0 {
		return nil, ronghe.Errorf(ronghe.EINVALID, "rrs writer: record type has no fields")
	}
	wr := &Writer{w: w, rt: rt, buf: make([]byte, 0, writerFlushAt+4096), fixed: len(rt.Fields)}
	if te := enc.textEncoding(); te != nil {
		wr.tr = te.NewEncoder()
	}
	for i := range rt.Fields {
		if i > 0 {
			wr.buf = append(wr.buf, ',')
		}
		wr.buf = appendField(wr.buf, rt.Fields[i].Name)
	}
	wr.buf = append(wr.buf, '\n')
	return wr, nil
}

// Write appends one row. values must hold exactly one value per field, in
// rt.Fields order; "" writes a null. A value that is not valid UTF-8 is
// refused with EINVALID and nothing of the row is written. Write errors of the
// underlying writer are returned and sticky.
func (w *Writer) Write(values []string) error {
	if w.err != nil {
		return w.err
	}
	if len(values) != w.fixed {
		return ronghe.Errorf(ronghe.EINVALID, "rrs writer: %s row has %d values, want %d", w.rt.Type, len(values), w.fixed)
	}
	mark := len(w.buf)
	for i, v := range values {
		if i > 0 {
			w.buf = append(w.buf, ',')
		}
		quote, ascii := scanValue(v)
		if !ascii && !utf8.ValidString(v) {
			w.buf = w.buf[:mark]
			return ronghe.Errorf(ronghe.EINVALID, "rrs writer: %s.%s is not valid UTF-8", w.rt.Type, w.rt.Fields[i].Name)
		}
		if quote {
			w.buf = appendQuoted(w.buf, v)
		} else {
			w.buf = append(w.buf, v...)
		}
	}
	w.buf = append(w.buf, '\n')
	w.rows++
	if len(w.buf) >= writerFlushAt {
		return w.flush()
	}
	return nil
}

// Rows returns the number of data rows written so far.
func (w *Writer) Rows() int64 { return w.rows }

// Flush writes any buffered rows to the underlying writer.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	return w.flush()
}

func (w *Writer) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	data := w.buf
	if w.tr != nil {
		// Only characters of 2 UTF-8 bytes grow in GB18030 (to 4 bytes);
		// 1-, 3- and 4-byte ones keep or shrink, so 2× always suffices.
		if need := 2*len(data) + 16; cap(w.out) < need {
			w.out = make([]byte, need)
		}
		w.tr.Reset()
		nDst, nSrc, err := w.tr.Transform(w.out[:cap(w.out)], data, true)
		if err == nil && nSrc != len(data) {
			err = io.ErrShortWrite
		}
		if err != nil {
			w.err = ronghe.WrapError(ronghe.EINTERNAL, err, "rrs writer: encode GB18030")
			return w.err
		}
		data = w.out[:nDst]
	}
	if _, err := w.w.Write(data); err != nil {
		w.err = ronghe.WrapError(ronghe.EUNAVAILABLE, err, "rrs writer: write "+w.rt.Type.FileName())
		return w.err
	}
	w.buf = w.buf[:0]
	return nil
}

// byteClass flags the bytes scanValue looks for: 1 = forces quoting,
// 2 = not ASCII.
var byteClass = func() (t [256]uint8) {
	t[','], t['"'], t['\n'], t['\r'] = 1, 1, 1, 1
	for c := 0x80; c < 0x100; c++ {
		t[c] = 2
	}
	return t
}()

// scanValue reports whether v must be quoted (it holds a comma, quote, CR or
// LF, or starts or ends with a space that a lenient reader might trim) and
// whether it is pure ASCII. It ORs table lookups without branches, which
// keeps the generator's hot path fast.
func scanValue(v string) (quote, ascii bool) {
	var f uint8
	for i := 0; i < len(v); i++ {
		f |= byteClass[v[i]]
	}
	quote = f&1 != 0 || len(v) > 0 && (v[0] == ' ' || v[len(v)-1] == ' ')
	return quote, f&2 == 0
}

func appendQuoted(dst []byte, v string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(v); i++ {
		if v[i] == '"' {
			dst = append(dst, '"')
		}
		dst = append(dst, v[i])
	}
	return append(dst, '"')
}

func appendField(dst []byte, v string) []byte {
	if q, _ := scanValue(v); q {
		return appendQuoted(dst, v)
	}
	return append(dst, v...)
}
