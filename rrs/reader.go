package rrs

import (
	"archive/zip"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
	"unsafe"

	"golang.org/x/text/transform"

	"github.com/ronghe/ronghe"
)

// MaxRecordBytes bounds one CSV record (all its physical lines) after
// decoding. RRS-1's widest record is about 2 KiB of characters, so a larger
// one is a broken or hostile file; the bound keeps a Reader's memory flat.
const MaxRecordBytes = 1 << 20

// Sentinel causes of a ParseError, for errors.Is.
var (
	// ErrHeader: the header row is missing, has an unknown, duplicate or
	// empty column, or lacks a field of the record type.
	ErrHeader = errors.New("bad header")
	// ErrFieldCount: a record has a different number of fields than the
	// header. The reader continues with the next record.
	ErrFieldCount = errors.New("wrong number of fields")
	// ErrQuote: a quote in an unquoted field, text after a closing quote, or
	// a quoted field never closed. The reader continues with the next line.
	ErrQuote = errors.New("bad quoting")
	// ErrEncoding: the bytes do not match the declared encoding. Final.
	ErrEncoding = errors.New("wrong encoding")
	// ErrTooLong: a record exceeds MaxRecordBytes. Final.
	ErrTooLong = errors.New("record too long")
	// ErrBareCR: a carriage return that does not end a line, outside quotes.
	// The reader continues with the next line.
	ErrBareCR = errors.New("carriage return inside an unquoted field")
)

// ParseError is a problem in an RRS-1 CSV file at a given line: the header is
// line 1, and a record spanning several lines is reported at its first line.
// It carries a platform error code — EINVALID, ETOOLARGE for an over-long
// record, or the code of an underlying I/O error — that ronghe.ErrorCode and
// ronghe.ErrorMessage find through Unwrap, so a ParseError is at the same time
// a *ronghe.Error (errors.As) and reports its cause to errors.Is.
type ParseError struct {
	File   string // file name as given, e.g. "TXN.csv"
	Line   int    // 1-based line number
	Column int    // 1-based field number in the file, 0 if not about one field
	Err    error  // the cause; wraps one of the Err* sentinels where one applies
	Code   string // platform error code (ronghe.E*)
}

// Error formats the error as "TXN.csv:17: ..." or "TXN.csv:17: field 3: ...".
func (e *ParseError) Error() string {
	if e.Column > 0 {
		return fmt.Sprintf("%s:%d: field %d: %v", e.File, e.Line, e.Column, e.Err)
	}
	return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
}

// Recoverable reports whether the Reader can go on after this error with the
// next record (a wrong field count or bad quoting in one record) rather than
// being stopped by it (header, encoding, size or I/O problems).
func (e *ParseError) Recoverable() bool {
	return errors.Is(e.Err, ErrFieldCount) || errors.Is(e.Err, ErrQuote) || errors.Is(e.Err, ErrBareCR)
}

// Unwrap returns the platform error (code and caller-safe message) and the
// cause.
func (e *ParseError) Unwrap() []error {
	code := e.Code
	if code == "" {
		code = ronghe.EINVALID
	}
	return []error{&ronghe.Error{Code: code, Message: e.Error()}, e.Err}
}

// Row is one data record of a file, in canonical field order.
type Row struct {
	// Line is the line the record starts on (the header is line 1).
	Line int
	// Values holds one value per field of the record type in rt.Fields
	// order; "" is a null. The slice belongs to the caller.
	Values []string
}

// Reader streams the rows of one RRS-1 CSV file. The header may list the
// fields in any order; Row.Values is always in canonical order. Memory use is
// bounded by MaxRecordBytes whatever the file's size.
type Reader struct {
	file   string
	rt     *RecordType
	enc    Encoding
	br     *bufio.Reader
	closer io.Closer

	header []string // file's column names, file order
	colMap []int    // file column → index in rt.Fields

	line     int    // physical lines consumed so far
	rec      []byte // current record's unquoted field bytes
	ends     []int  // end offset of each field in rec
	lineBuf  []byte // a physical line longer than the bufio buffer
	blk      []byte // the current block of record text (see text)
	checkFFD bool   // GB18030: look for replacement characters
	err      error  // sticky, final error
	rows     int
}

// NewReader returns a Reader for one file of record type rt in encoding enc.
// fileName is used in error messages only. It reads and checks the header:
// unknown, duplicate or missing columns are an EINVALID error wrapping a
// *ParseError with ErrHeader that names them. A UTF-8 byte-order mark at the
// start is dropped; bytes that are not valid in the declared encoding give a
// clear ErrEncoding error (a GB18030 file declared UTF-8 is recognised as such
// and the message says to declare GB18030; a UTF-8 file declared GB18030 is
// recognised by its byte-order mark or its first 64 KiB). In a GB18030 file
// the replacement character U+FFFD is refused, because the decoder produces
// it for undecodable bytes.
func NewReader(r io.Reader, rt *RecordType, enc Encoding, fileName string) (*Reader, error) {
	if err := checkEncoding(enc); err != nil {
		return nil, err
	}
	if rt == nil || len(rt.Fields) == 0 {
		return nil, ronghe.Errorf(ronghe.EINVALID, "rrs reader: record type has no fields")
	}
	rd := &Reader{file: fileName, rt: rt, enc: enc}
	raw := bufio.NewReaderSize(r, 64<<10)
	if enc == GB18030 {
		if err := sniffGB18030(raw); err != nil {
			return nil, rd.fail(1, 0, err)
		}
		rd.br = bufio.NewReaderSize(transform.NewReader(raw, enc.textEncoding().NewDecoder()), 64<<10)
		rd.checkFFD = true
	} else {
		rd.br = raw
	}
	// A byte-order mark is tolerated: EF BB BF in UTF-8, and the GB18030
	// mark 84 31 95 33 decodes to the same U+FEFF.
	if b, err := rd.br.Peek(3); err == nil && string(b) == "\uFEFF" {
		_, _ = rd.br.Discard(3)
	}
	if err := rd.readHeader(); err != nil {
		return nil, err
	}
	return rd, nil
}

// sniffGB18030 refuses a file declared GB18030 that is evidently UTF-8: it
// starts with a UTF-8 byte-order mark, or its first 64 KiB hold at least eight
// multi-byte UTF-8 characters and no byte sequence invalid in UTF-8 (real
// GB18030 Chinese text essentially never looks like that).
func sniffGB18030(raw *bufio.Reader) error {
	head, _ := raw.Peek(64 << 10)
	if bytes.HasPrefix(head, []byte("\xEF\xBB\xBF")) {
		return fmt.Errorf("%w: the file starts with a UTF-8 byte-order mark but the batch declares GB18030; declare UTF-8", ErrEncoding)
	}
	multi := 0
	for i := 0; i < len(head); {
		if head[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(head[i:])
		if r == utf8.RuneError && size <= 1 {
			if !utf8.FullRune(head[i:]) && len(head)-i < utf8.UTFMax {
				break // a rune cut by the peek window
			}
			return nil // not UTF-8: plausibly GB18030
		}
		multi++
		i += size
	}
	if multi >= 8 {
		return fmt.Errorf("%w: the file is UTF-8 text but the batch declares GB18030; declare UTF-8", ErrEncoding)
	}
	return nil
}

func (r *Reader) readHeader() error {
	_, n, err := r.readRecord()
	if err == io.EOF {
		return r.fail(1, 0, fmt.Errorf("%w: the file is empty (no header row)", ErrHeader))
	}
	if err != nil {
		return err
	}
	r.header = make([]string, n)
	s := string(r.rec)
	prev := 0
	for i := 0; i < n; i++ {
		r.header[i] = s[prev:r.ends[i]]
		prev = r.ends[i]
	}
	r.colMap = make([]int, n)
	seen := make([]bool, len(r.rt.Fields))
	var unknown, dup []string
	for i, name := range r.header {
		j := r.rt.Index(name)
		r.colMap[i] = j
		switch {
		case j < 0:
			unknown = append(unknown, fmt.Sprintf("%q", clip(name)))
		case seen[j]:
			dup = append(dup, name)
		default:
			seen[j] = true
		}
	}
	var missing []string
	for j, ok := range seen {
		if !ok {
			missing = append(missing, r.rt.Fields[j].Name)
		}
	}
	var parts []string
	if len(unknown) > 0 {
		parts = append(parts, "unknown column(s) "+strings.Join(unknown, ", "))
	}
	if len(dup) > 0 {
		parts = append(parts, "duplicate column(s) "+strings.Join(dup, ", "))
	}
	if len(missing) > 0 {
		parts = append(parts, "missing column(s) "+strings.Join(missing, ", "))
	}
	if len(parts) > 0 {
		return r.fail(1, 0, fmt.Errorf("%w for %s: %s", ErrHeader, r.rt.Type, strings.Join(parts, "; ")))
	}
	return nil
}

// Header returns the file's column names in file order.
func (r *Reader) Header() []string { return append([]string(nil), r.header...) }

// Type returns the record type the reader was opened for.
func (r *Reader) Type() *RecordType { return r.rt }

// File returns the file name used in error messages.
func (r *Reader) File() string { return r.file }

// Rows returns the number of data records returned so far, good or not.
func (r *Reader) Rows() int { return r.rows }

// Next returns the next data record, or io.EOF after the last. Empty lines
// are skipped. A record with the wrong number of fields or bad quoting yields
// an error wrapping a *ParseError (ErrFieldCount, ErrQuote, ErrBareCR) and the
// next call continues with the following record; any other error is final
// and returned again by every later call.
func (r *Reader) Next() (*Row, error) {
	if r.err != nil {
		return nil, r.err
	}
	start, n, err := r.readRecord()
	if err != nil {
		return nil, err
	}
	r.rows++
	if n != len(r.colMap) {
		return nil, r.soft(start, 0, fmt.Errorf("%w: %d fields, the header has %d", ErrFieldCount, n, len(r.colMap)))
	}
	row := &Row{Line: start, Values: make([]string, len(r.rt.Fields))}
	r.fill(row.Values, string(r.rec))
	return row, nil
}

// Read is Next into a Row the caller keeps: it sets row.Line and fills
// row.Values, reusing its array when it has the record type's length, and
// the records' text is copied into shared blocks of 64 KiB rather than one
// string per record, so a loop over a file allocates no Row, no slice and
// (mostly) no string per record. The strings stay valid after later calls
// (only the slice is reused), but any one of them keeps its whole block
// alive: a caller that keeps a few values of many records should clone
// them (strings.Clone). At the end it returns io.EOF; errors are those of
// Next, and row is unchanged by one.
func (r *Reader) Read(row *Row) error {
	if r.err != nil {
		return r.err
	}
	start, n, err := r.readRecord()
	if err != nil {
		return err
	}
	r.rows++
	if n != len(r.colMap) {
		return r.soft(start, 0, fmt.Errorf("%w: %d fields, the header has %d", ErrFieldCount, n, len(r.colMap)))
	}
	if len(row.Values) != len(r.rt.Fields) {
		row.Values = make([]string, len(r.rt.Fields))
	}
	row.Line = start
	r.fill(row.Values, r.text(r.rec))
	return nil
}

// fill sets vals (canonical order) from the fields of the current record,
// whose text is s.
func (r *Reader) fill(vals []string, s string) {
	prev := 0
	for i, end := range r.ends {
		vals[r.colMap[i]] = s[prev:end]
		prev = end
	}
}

// rowBlockSize is the size of the blocks the records' text is copied into.
const rowBlockSize = 64 << 10

// text returns b as a string for Read. Records are copied one after the
// other into a block of rowBlockSize bytes that is never written again
// where a string points (appends stay within its capacity; a full block is
// replaced, not grown), so one allocation serves a few hundred records
// instead of one each. A string keeps its whole block alive.
func (r *Reader) text(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > cap(r.blk)-len(r.blk) {
		if len(b) > rowBlockSize/8 {
			return string(b)
		}
		r.blk = make([]byte, 0, rowBlockSize)
	}
	off := len(r.blk)
	r.blk = append(r.blk, b...)
	return unsafe.String(&r.blk[off], len(b))
}

// Close closes the underlying file when the Reader was opened by a Batch; it
// is a no-op for a Reader made by NewReader.
func (r *Reader) Close() error {
	r.err = ronghe.Errorf(ronghe.EINVALID, "rrs reader: %s is closed", r.file)
	if r.closer != nil {
		c := r.closer
		r.closer = nil
		return c.Close()
	}
	return nil
}

// fail records a final error at line and returns it.
func (r *Reader) fail(line, col int, cause error) error {
	if line == 0 {
		line = max(r.line, 1)
	}
	code := ronghe.EINVALID
	var re *ronghe.Error
	switch {
	case errors.Is(cause, ErrTooLong):
		code = ronghe.ETOOLARGE
	case errors.As(cause, &re):
		code = re.Code
	case errors.Is(cause, zip.ErrChecksum), errors.Is(cause, zip.ErrFormat), errors.Is(cause, io.ErrUnexpectedEOF):
		code = ronghe.EINTEGRITY
	case !errors.Is(cause, ErrHeader) && !errors.Is(cause, ErrEncoding) && !errors.Is(cause, ErrQuote):
		code = ronghe.EINTERNAL // an I/O failure, not the sender's fault
	}
	r.err = &ParseError{File: r.file, Line: line, Column: col, Err: cause, Code: code}
	return r.err
}

// soft returns a recoverable error at line without making it sticky.
func (r *Reader) soft(line, col int, cause error) error {
	return &ParseError{File: r.file, Line: line, Column: col, Err: cause, Code: ronghe.EINVALID}
}

// readLine returns the next physical line with a "\r\n" end normalised to
// "\n". The slice is valid until the next call. It returns io.EOF only when
// no bytes are left.
func (r *Reader) readLine() ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		r.lineBuf = append(r.lineBuf[:0], line...)
		for err == bufio.ErrBufferFull {
			if len(r.lineBuf) > MaxRecordBytes {
				return nil, r.fail(r.line+1, 0, fmt.Errorf("%w: a line exceeds %d bytes", ErrTooLong, MaxRecordBytes))
			}
			line, err = r.br.ReadSlice('\n')
			r.lineBuf = append(r.lineBuf, line...)
		}
		line = r.lineBuf
	}
	if err == io.EOF && len(line) > 0 {
		err = nil
	}
	if err != nil {
		if err == io.EOF {
			return nil, io.EOF
		}
		return nil, r.fail(r.line+1, 0, err)
	}
	r.line++
	if r.enc == UTF8 {
		if !utf8.Valid(line) {
			return nil, r.fail(r.line, 0, fmt.Errorf("%w: the bytes are not valid UTF-8 but the batch declares UTF-8; "+
				"if the file was exported as GB18030 (GBK), declare GB18030", ErrEncoding))
		}
	} else if r.checkFFD && bytes.Contains(line, []byte("\uFFFD")) {
		return nil, r.fail(r.line, 0, fmt.Errorf("%w: the bytes are not valid GB18030 (the batch declares GB18030), "+
			"or the text holds U+FFFD, the mark of an earlier failed conversion", ErrEncoding))
	}
	if n := len(line); n >= 2 && line[n-2] == '\r' && line[n-1] == '\n' {
		line[n-2] = '\n'
		line = line[:n-1]
	}
	return line, nil
}

// unquotedClass marks the bytes that end or break an unquoted field.
var unquotedClass = [256]uint8{',': 1, '"': 1, '\r': 1}

// readRecord parses the next non-empty record into r.rec/r.ends and returns
// its first line and field count. Errors are already wrapped; a recoverable
// error leaves the reader at the start of the next line.
func (r *Reader) readRecord() (start, n int, err error) {
	var line []byte
	for {
		line, err = r.readLine()
		if err != nil {
			return 0, 0, err
		}
		if len(line) == 1 && line[0] == '\n' || len(line) == 0 {
			continue // empty line
		}
		break
	}
	start = r.line
	r.rec = r.rec[:0]
	r.ends = r.ends[:0]
	// Trim the line end; a final line may lack one.
	trim := func(l []byte) []byte {
		if k := len(l); k > 0 && l[k-1] == '\n' {
			return l[:k-1]
		}
		return l
	}
	line = trim(line)
fields:
	for {
		if len(r.rec) > MaxRecordBytes {
			return 0, 0, r.fail(start, 0, fmt.Errorf("%w: a record exceeds %d bytes", ErrTooLong, MaxRecordBytes))
		}
		col := len(r.ends) + 1
		if len(line) == 0 || line[0] != '"' {
			// Unquoted field: one pass that stops at a comma and flags
			// quotes and carriage returns (fields are short, so a table
			// beats repeated IndexByte calls).
			i := 0
			for i < len(line) && unquotedClass[line[i]] == 0 {
				i++
			}
			if i < len(line) && line[i] != ',' {
				if line[i] == '"' {
					return 0, 0, r.soft(start, col, fmt.Errorf("%w: a quote inside an unquoted field", ErrQuote))
				}
				return 0, 0, r.soft(start, col, ErrBareCR)
			}
			r.rec = append(r.rec, line[:i]...)
			r.ends = append(r.ends, len(r.rec))
			if i == len(line) {
				return start, len(r.ends), nil
			}
			line = line[i+1:]
			continue
		}
		// Quoted field.
		line = line[1:]
		for {
			i := bytes.IndexByte(line, '"')
			switch {
			case i >= 0:
				r.rec = append(r.rec, line[:i]...)
				line = line[i+1:]
				if len(line) > 0 && line[0] == '"' { // escaped quote
					r.rec = append(r.rec, '"')
					line = line[1:]
					continue
				}
				if len(line) == 0 { // end of record
					r.ends = append(r.ends, len(r.rec))
					return start, len(r.ends), nil
				}
				if line[0] == ',' {
					r.ends = append(r.ends, len(r.rec))
					line = line[1:]
					continue fields
				}
				return 0, 0, r.soft(start, col, fmt.Errorf("%w: text after a closing quote", ErrQuote))
			default:
				// The field continues on the next physical line; the
				// line end inside quotes is kept as "\n".
				r.rec = append(r.rec, line...)
				if len(r.rec) > MaxRecordBytes {
					return 0, 0, r.fail(start, 0, fmt.Errorf("%w: a record exceeds %d bytes", ErrTooLong, MaxRecordBytes))
				}
				next, err := r.readLine()
				if err == io.EOF {
					return 0, 0, r.soft(start, col, fmt.Errorf("%w: a quoted field is not closed before the end of the file", ErrQuote))
				}
				if err != nil {
					return 0, 0, err
				}
				r.rec = append(r.rec, '\n')
				line = trim(next)
			}
		}
	}
}

// NewReadCloser is NewReader over a stream the Reader owns: Close closes rc
// (also when the header cannot be read). It serves files that do not live in
// a batch directory, such as the decrypted blobs of an accepted submission.
func NewReadCloser(rc io.ReadCloser, rt *RecordType, enc Encoding, fileName string) (*Reader, error) {
	r, err := NewReader(rc, rt, enc, fileName)
	if err != nil {
		rc.Close()
		return nil, err
	}
	r.closer = rc
	return r, nil
}
