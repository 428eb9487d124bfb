package rules

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/rrs"
)

// Staging reads every file of a run once, through the rrs readers (the one
// RRS-1 CSV parser: header in any order, UTF-8 or GB18030, exact line
// numbers), applies the built-in field checks of the rrs field definitions
// (L01–L06 and the static part of L07) to every value, and hands the values
// the SQL checks need to DuckDB as typed columns. It is a DuckDB table
// function, so DuckDB's worker threads pull the chunks and parse the files in
// parallel, one file per thread at a time, and the data never exists as text
// in DuckDB.

// colKind is how a staged field is typed in DuckDB.
type colKind uint8

const (
	colText  colKind = iota // VARCHAR
	colMoney                // BIGINT cents
	colInt                  // BIGINT
	colDate                 // DATE
)

func kindOf(f *rrs.Field) colKind {
	switch f.Kind {
	case rrs.KindDecimal:
		return colMoney
	case rrs.KindInt:
		return colInt
	case rrs.KindDate:
		return colDate
	}
	return colText
}

func (k colKind) sqlType() string {
	switch k {
	case colMoney, colInt:
		return "BIGINT"
	case colDate:
		return "DATE"
	}
	return "VARCHAR"
}

func (k colKind) typeInfo() (duckdb.TypeInfo, error) {
	switch k {
	case colMoney, colInt:
		return duckdb.NewTypeInfo(duckdb.TYPE_BIGINT)
	case colDate:
		return duckdb.NewTypeInfo(duckdb.TYPE_DATE)
	}
	return duckdb.NewTypeInfo(duckdb.TYPE_VARCHAR)
}

// metaColumns lead every staged table: the batch (its position in the
// run), the line, whether the row takes part (no L01/L02 issue), whether
// its key passed L01/L02, whether an earlier row of the file has the same
// key (_dup; the unique checks and the "first row" views use it), and a
// 64-bit hash of the sender and the key (_kh), for grouping keys across
// batches on integers.
var metaColumns = []struct{ name, typ string }{
	{"_batch", "INTEGER"}, {"_line", "INTEGER"}, {"_ok", "BOOLEAN"}, {"_keyok", "BOOLEAN"},
	{"_dup", "BOOLEAN"}, {"_kh", "BIGINT"},
}

// nMeta is the number of meta columns; staged fields follow them.
var nMeta = len(metaColumns)

// stagedTable is the layout of one record type's staged table.
type stagedTable struct {
	rt     *rrs.RecordType
	fields []int     // staged field positions, definition order
	kinds  []colKind // per staged field
	isKey  []bool    // per field of rt: part of the key
}

func newStagedTable(rt *rrs.RecordType, fields []int) *stagedTable {
	st := &stagedTable{rt: rt, fields: fields, isKey: make([]bool, len(rt.Fields))}
	for _, i := range fields {
		st.kinds = append(st.kinds, kindOf(&rt.Fields[i]))
	}
	for _, i := range rt.KeyIndexes() {
		st.isKey[i] = true
	}
	return st
}

// createSQL returns the CREATE statement of the staged table s_<type>.
func (st *stagedTable) createSQL() string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE OR REPLACE TEMP TABLE s_%s (", relName(st.rt.Type))
	for i, m := range metaColumns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(m.name + " " + m.typ)
	}
	for j, i := range st.fields {
		fmt.Fprintf(&b, ", %s %s", st.rt.Fields[i].Name, st.kinds[j].sqlType())
	}
	b.WriteString(")")
	return b.String()
}

// viewSQL returns the view <type> over the staged table, which adds _key.
func (st *stagedTable) viewSQL() string {
	var parts []string
	for _, i := range st.rt.KeyIndexes() {
		f := &st.rt.Fields[i]
		switch kindOf(f) {
		case colDate:
			parts = append(parts, "strftime("+f.Name+", '%Y-%m-%d')")
		case colText:
			parts = append(parts, f.Name)
		default:
			parts = append(parts, "CAST("+f.Name+" AS VARCHAR)")
		}
	}
	return fmt.Sprintf("CREATE OR REPLACE TEMP VIEW %s AS SELECT *, CASE WHEN _keyok THEN %s ELSE '#' || _line END AS _key FROM s_%s",
		relName(st.rt.Type), strings.Join(parts, " || '|' || "), relName(st.rt.Type))
}

// fileStat is what staging learnt about one file of a batch.
type fileStat struct {
	batch    int
	typ      rrs.Type
	rows     int64 // data rows, good or not
	readable bool  // read to its end
}

// fieldRule is an enabled built-in field rule.
type fieldRule struct {
	id       string
	severity Severity
}

// stageJob stages the files of one record type of a run. DuckDB calls it
// from its worker threads; each thread takes the next unread file.
type stageJob struct {
	ctx    context.Context
	st     *stagedTable
	rules  map[string]fieldRule // by rrs issue rule ID
	files  []*runBatch          // the batches that have this type's file
	next   atomic.Int64
	onFile func() // called after each file, for progress
	raw    bool   // write values straight into DuckDB's vectors (see rawchunk.go)
	seqs   []*sequencePlan

	mu       sync.Mutex
	findings []*finding
	stats    []fileStat
	locals   []*stageLocal
	seqOut   [][]seqSummary // per sequence
}

type stageLocal struct {
	b     *runBatch
	rd    *rrs.Reader
	row   rrs.Row // the current row; its Values array is reused
	done  bool
	arena arena
	seen  *strIndex   // keys of the current file
	seqs  []*seqState // per sequence of the record type

	buf []*finding
}

// release frees what the threads kept for DuckDB: call it after the
// statement that read the job has finished.
func (j *stageJob) release() {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, l := range j.locals {
		l.arena.release()
		if l.rd != nil {
			_ = l.rd.Close()
			l.rd = nil
		}
	}
	j.locals = nil
}

// ColumnInfos describes the staged columns.
func (j *stageJob) ColumnInfos() []duckdb.ColumnInfo {
	var out []duckdb.ColumnInfo
	for _, m := range metaColumns {
		var t duckdb.TypeInfo
		switch m.typ {
		case "INTEGER":
			t, _ = duckdb.NewTypeInfo(duckdb.TYPE_INTEGER)
		case "BIGINT":
			t, _ = duckdb.NewTypeInfo(duckdb.TYPE_BIGINT)
		default:
			t, _ = duckdb.NewTypeInfo(duckdb.TYPE_BOOLEAN)
		}
		out = append(out, duckdb.ColumnInfo{Name: m.name, T: t})
	}
	for k, i := range j.st.fields {
		t, _ := j.st.kinds[k].typeInfo()
		out = append(out, duckdb.ColumnInfo{Name: j.st.rt.Fields[i].Name, T: t})
	}
	return out
}

// Cardinality is unknown before the files are read.
func (j *stageJob) Cardinality() *duckdb.CardinalityInfo { return nil }

// Init lets DuckDB use one thread per file.
func (j *stageJob) Init() duckdb.ParallelTableSourceInfo {
	return duckdb.ParallelTableSourceInfo{MaxThreads: max(1, len(j.files))}
}

// NewLocalState returns a thread's reading state.
func (j *stageJob) NewLocalState() any {
	l := &stageLocal{seen: newStrIndex()}
	for _, q := range j.seqs {
		l.seqs = append(l.seqs, newSeqState(q))
	}
	j.mu.Lock()
	j.locals = append(j.locals, l)
	j.mu.Unlock()
	return l
}

// FillChunk reads up to one chunk of rows into chunk.
func (j *stageJob) FillChunk(ls any, chunk duckdb.DataChunk) error {
	st := ls.(*stageLocal)
	if err := j.ctx.Err(); err != nil {
		return err
	}
	capacity := duckdb.GetDataChunkCapacity()
	n := 0
	w := chunkWriter{chunk: chunk, arena: &st.arena}
	if j.raw {
		raw, ok := rawColumns(&chunk, nMeta+len(j.st.fields))
		if !ok {
			return errors.New("rrs_stage: the DuckDB chunk is not laid out as probed at start-up")
		}
		w.raw = raw
		st.arena.reset()
	}
	for n < capacity {
		if st.rd == nil {
			if st.done {
				break
			}
			more, err := j.openNext(st)
			if err != nil {
				return err
			}
			if !more {
				st.done = true
				break
			}
			continue // st.rd is nil when the file could not be opened
		}
		err := st.rd.Read(&st.row)
		if err == nil {
			j.stageRow(st, &w, n, &st.row)
			n++
			continue
		}
		if errors.Is(err, io.EOF) {
			j.closeFile(st, true)
			continue
		}
		var pe *rrs.ParseError
		if !errors.As(err, &pe) || !dataError(pe) {
			return fmt.Errorf("stage %s of %s: %w", j.st.rt.Type.FileName(), st.b.name, err)
		}
		j.fileFinding(st, pe)
		if pe.Recoverable() {
			// The record is a data row whose fields cannot be told apart:
			// staged as a row that takes no part in anything.
			w.meta(n, st.b.idx, pe.Line, false, false, false, 0)
			for k := range j.st.fields {
				w.null(nMeta+k, n)
			}
			n++
			continue
		}
		j.closeFile(st, false)
	}
	if w.err != nil {
		return w.err
	}
	return chunk.SetSize(n)
}

// dataError tells a fault of the file's content (a finding) from a fault of
// reading it (an I/O error that stops the run).
func dataError(pe *rrs.ParseError) bool {
	return pe.Code == "" || pe.Code == ronghe.EINVALID || pe.Code == ronghe.ETOOLARGE
}

// openNext takes the next file of the job; more is false when none is
// left. A file whose header or encoding is wrong is recorded as unreadable
// with its finding, and st.rd stays nil.
func (j *stageJob) openNext(st *stageLocal) (more bool, err error) {
	i := j.next.Add(1) - 1
	if int(i) >= len(j.files) {
		return false, nil
	}
	b := j.files[i]
	rd, err := b.batch.Open(j.st.rt.Type)
	if err != nil {
		var pe *rrs.ParseError
		if errors.As(err, &pe) && dataError(pe) {
			st.b = b
			j.fileFinding(st, pe)
			j.record(st, fileStat{batch: b.idx, typ: j.st.rt.Type, readable: false}, nil)
			return true, nil
		}
		return false, fmt.Errorf("stage %s of %s: %w", j.st.rt.Type.FileName(), b.name, err)
	}
	st.b, st.rd = b, rd
	st.seen.reset()
	return true, nil
}

// closeFile ends the current file: its statistics, findings and sequence
// summaries go to the job.
func (j *stageJob) closeFile(st *stageLocal, readable bool) {
	rows := int64(st.rd.Rows())
	_ = st.rd.Close() // a read-only file: nothing is lost on a failed close
	st.rd = nil
	var sums [][]seqSummary
	for _, q := range st.seqs {
		sums = append(sums, q.flush(st.b.idx))
	}
	j.record(st, fileStat{batch: st.b.idx, typ: j.st.rt.Type, rows: rows, readable: readable}, sums)
}

// record hands a file's results to the job and reports progress.
func (j *stageJob) record(st *stageLocal, fs fileStat, sums [][]seqSummary) {
	j.mu.Lock()
	j.stats = append(j.stats, fs)
	j.findings = append(j.findings, st.buf...)
	if j.seqOut == nil {
		j.seqOut = make([][]seqSummary, len(j.seqs))
	}
	for k, s := range sums {
		j.seqOut[k] = append(j.seqOut[k], s...)
	}
	j.mu.Unlock()
	st.buf = st.buf[:0]
	if j.onFile != nil {
		j.onFile()
	}
}

// fileFinding turns a problem of the file's structure (header, encoding,
// quoting, field count) into an L02 finding keyed by its line.
func (j *stageJob) fileFinding(st *stageLocal, pe *rrs.ParseError) {
	fr, ok := j.rules[rrs.RuleFormat]
	if !ok {
		return
	}
	line := max(pe.Line, 1)
	msg := pe.Err.Error()
	if pe.Column > 0 {
		msg = fmt.Sprintf("field %d: %s", pe.Column, msg)
	}
	st.buf = append(st.buf, &finding{id: st.b.id, order: -1, Finding: Finding{Rule: fr.id, Severity: fr.severity,
		Batch: st.b.name, Type: string(j.st.rt.Type), Key: "#" + itoa(line), Message: pe.File + ": " + msg}})
}

// stageRow checks one row's values and writes the staged ones at position n.
func (j *stageJob) stageRow(st *stageLocal, w *chunkWriter, n int, row *rrs.Row) {
	rt := j.st.rt
	vals := row.Values
	ok, keyok := true, true
	// At most one issue per rule and row: the first field in definition
	// order (RRS-1 §3: one row breaking one rule in two fields is one
	// finding).
	var issues []*rrs.Issue
	var badMask uint64 // fields that failed L01/L02 (staged as NULL)
	for i := range rt.Fields {
		f := &rt.Fields[i]
		v := vals[i]
		if err := f.Check(v); err != nil {
			ok = false
			if j.st.isKey[i] {
				keyok = false
			}
			if i < 64 {
				badMask |= 1 << i
			}
			issues = addIssue(issues, err)
			continue
		}
		if v == "" {
			continue
		}
		if err := f.CheckContent(v); err != nil {
			issues = addIssue(issues, err)
		}
	}
	if len(issues) > 0 {
		// Cloned: a key of one field is that value, which points into the
		// reader's block of record text.
		key := strings.Clone(rt.RowKey(vals, row.Line))
		for _, is := range issues {
			fr, on := j.rules[is.Rule]
			if !on {
				continue
			}
			st.buf = append(st.buf, &finding{id: st.b.id, order: rt.Index(is.Field), Finding: Finding{Rule: fr.id,
				Severity: fr.severity, Batch: st.b.name, Type: string(rt.Type), Key: key, Field: is.Field,
				Message: is.Field + ": " + is.Reason}})
		}
	}
	dup, kh := false, int64(0)
	if keyok {
		key := j.st.key(vals)
		_, isNew := st.seen.add(key)
		dup = !isNew
		kh = keyHash(st.b.id.InstCode, key)
	}
	if ok {
		for _, q := range st.seqs {
			q.add(vals, row.Line)
		}
	}
	w.meta(n, st.b.idx, row.Line, ok, keyok, dup, kh)
	for k, i := range j.st.fields {
		col := nMeta + k
		v := vals[i]
		if v == "" || (i < 64 && badMask&(1<<i) != 0) {
			w.null(col, n)
			continue
		}
		switch j.st.kinds[k] {
		case colText:
			w.text(col, n, v)
		case colMoney:
			a, _ := rrs.ParseAmount(v)
			w.int64(col, n, int64(a))
		case colInt:
			x, _ := rrs.ParseInt(v)
			w.int64(col, n, x)
		case colDate:
			d, _ := rrs.ParseDate(v)
			w.date(col, n, d)
		}
	}
}

// key returns the row's key: the key fields' values joined with "|" as in
// findings.
func (st *stagedTable) key(vals []string) string {
	keys := st.rt.KeyIndexes()
	if len(keys) == 1 {
		return vals[keys[0]]
	}
	var b strings.Builder
	for n, i := range keys {
		if n > 0 {
			b.WriteByte('|')
		}
		b.WriteString(vals[i])
	}
	return b.String()
}

// keyHash is the 64-bit FNV-1a hash of the sender and the key: stable across
// processes, so the history can keep it.
func keyHash(sender, key string) int64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for i := 0; i < len(sender); i++ {
		h = (h ^ uint64(sender[i])) * prime
	}
	h *= prime // a zero byte between sender and key: (h ^ 0) * prime
	for i := 0; i < len(key); i++ {
		h = (h ^ uint64(key[i])) * prime
	}
	return int64(h)
}

// addIssue appends the issue of err unless the row already has one of its
// rule.
func addIssue(issues []*rrs.Issue, err error) []*rrs.Issue {
	var is *rrs.Issue
	if !errors.As(err, &is) {
		return issues
	}
	for _, x := range issues {
		if x.Rule == is.Rule {
			return issues
		}
	}
	return append(issues, is)
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
