package rules

import (
	"fmt"
	"math/big"
	"math/bits"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/ronghe/ronghe/rrs"
)

// Sequence declares the sequence built-in: per batch and partition (an
// account), the rows of a record type that take part, in the order of an
// integer field (ties by line), summarised while the data is staged. It is
// what running-balance, sequence and total rules (C03, C04, S03) need, and
// computing it per file in Go replaces a sort of every row in DuckDB.
//
// The engine fills table <name> with one row per batch and partition:
//
//	_batch, <partition>      the batch and the partition value
//	n                        rows
//	plus_total, minus_total  Σ amount of the rows whose sign is plus / minus (HUGEINT cents)
//	plus_count, minus_count  their counts
//	order_broken             the order values are not 1, 2, … n
//	first_line               the line of the first row
//	first_opening            its balance minus its signed amount (NULL for another sign)
//	last_balance             the balance of the last row
//	broken_lines             lines of the rows (not the first) whose balance is not the
//	                         previous row's balance plus its signed amount; NULL when none
type Sequence struct {
	Name      string   `yaml:"name"`
	Doc       string   `yaml:"doc,omitempty"`
	Type      rrs.Type `yaml:"type"`
	Partition string   `yaml:"partition"`
	Order     string   `yaml:"order"`
	Amount    string   `yaml:"amount"`
	Balance   string   `yaml:"balance"`
	Sign      string   `yaml:"sign"`
	Plus      string   `yaml:"plus"`
	Minus     string   `yaml:"minus"`
}

func (s *Sequence) validate(spec *rrs.Spec) error {
	rt := spec.Record(s.Type)
	if rt == nil {
		return fmt.Errorf("unknown record type %q", clip(string(s.Type)))
	}
	for _, f := range []struct {
		what, name string
		kind       rrs.Kind
	}{{"partition", s.Partition, 0}, {"order", s.Order, rrs.KindInt}, {"amount", s.Amount, rrs.KindDecimal},
		{"balance", s.Balance, rrs.KindDecimal}, {"sign", s.Sign, 0}} {
		fd := rt.Field(f.name)
		if fd == nil {
			return fmt.Errorf("%s: %s has no field %q", f.what, rt.Type, clip(f.name))
		}
		if f.kind != 0 && fd.Kind != f.kind {
			return fmt.Errorf("%s: %s.%s is not %s", f.what, rt.Type, f.name, f.kind)
		}
	}
	if s.Plus == "" || s.Minus == "" || s.Plus == s.Minus {
		return fmt.Errorf("plus and minus must be two different values of the sign field")
	}
	return nil
}

// sequencePlan is a Sequence resolved against its record type.
type sequencePlan struct {
	Sequence
	rt                                   *rrs.RecordType
	part, order, amount, balance, signIx int
}

func newSequencePlan(s Sequence, spec *rrs.Spec) *sequencePlan {
	rt := spec.Record(s.Type)
	return &sequencePlan{Sequence: s, rt: rt, part: rt.Index(s.Partition), order: rt.Index(s.Order),
		amount: rt.Index(s.Amount), balance: rt.Index(s.Balance), signIx: rt.Index(s.Sign)}
}

// createSQL returns the CREATE statement of the sequence's table.
func (p *sequencePlan) createSQL() string {
	return fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE %s (_batch INTEGER, %s VARCHAR, n BIGINT, plus_total HUGEINT,
  minus_total HUGEINT, plus_count BIGINT, minus_count BIGINT, order_broken BOOLEAN, first_line INTEGER,
  first_opening BIGINT, last_balance BIGINT, broken_lines INTEGER[])`, p.Name, p.Partition)
}

// seqRow is one row of a partition.
type seqRow struct {
	order   int64
	balance int64
	delta   int64 // signed amount
	line    int32
	part    int32 // the partition's number in seqState.parts
	sign    int8  // +1, -1, or 0 for a value that is neither
}

// seqSummary is one output row.
type seqSummary struct {
	batch                 int
	part                  string
	n                     int64
	plusTotal, minusTotal int128
	plusCount, minusCount int64
	orderBroken           bool
	firstLine             int32
	firstOpening          int64
	firstOK               bool
	lastBalance           int64
	brokenLines           []int32
}

// int128 is an exact sum of int64 amounts.
type int128 struct {
	lo uint64
	hi int64
}

func (a *int128) add(v int64) {
	var carry uint64
	a.lo, carry = bits.Add64(a.lo, uint64(v), 0)
	a.hi += int64(carry)
	if v < 0 {
		a.hi--
	}
}

// seqState collects one file's rows of one sequence. Rows are appended in
// file order to one slice, each with its partition's number, and grouped
// by partition when the file ends (a counting sort, stable): appending each
// row to its own partition's slice instead touched a different slice for
// nearly every row.
type seqState struct {
	plan   *sequencePlan
	parts  *strIndex
	rows   []seqRow // the file's rows, file order
	sorted []seqRow // rows grouped by partition (flush)
	start  []int    // per partition, where its rows start in sorted (flush)
}

func newSeqState(p *sequencePlan) *seqState { return &seqState{plan: p, parts: newStrIndex()} }

// add records a row that takes part (all its values passed L01/L02).
func (s *seqState) add(vals []string, line int) {
	p := s.plan
	i, _ := s.parts.add(vals[p.part])
	order, _ := rrs.ParseInt(vals[p.order])
	amount, _ := rrs.ParseAmount(vals[p.amount])
	balance, _ := rrs.ParseAmount(vals[p.balance])
	r := seqRow{order: order, balance: int64(balance), line: int32(line), part: int32(i)}
	switch vals[p.signIx] {
	case p.Plus:
		r.sign, r.delta = 1, int64(amount)
	case p.Minus:
		r.sign, r.delta = -1, -int64(amount)
	}
	s.rows = append(s.rows, r)
}

// flush summarises the file's partitions for batch and starts afresh.
func (s *seqState) flush(batch int) []seqSummary {
	n := len(s.parts.keys)
	// Group the rows by partition, keeping file order within each.
	s.start = slices.Grow(s.start[:0], n+1)[:n+1]
	clear(s.start)
	for _, r := range s.rows {
		s.start[r.part+1]++
	}
	for i := 1; i <= n; i++ {
		s.start[i] += s.start[i-1]
	}
	s.sorted = slices.Grow(s.sorted[:0], len(s.rows))[:len(s.rows)]
	next := s.start[:n] // advanced while placing, so restored below
	for _, r := range s.rows {
		s.sorted[next[r.part]] = r
		next[r.part]++
	}
	// next[i] is now the end of partition i, which is where i+1 starts.
	copy(s.start[1:], next)
	s.start[0] = 0
	out := make([]seqSummary, 0, n)
	for i := 0; i < n; i++ {
		rows := s.sorted[s.start[i]:s.start[i+1]]
		// Rows arrive in line order; a stable sort by order keeps ties by
		// line. Files are usually already in order.
		if !slices.IsSortedFunc(rows, func(a, b seqRow) int { return cmpInt64(a.order, b.order) }) {
			slices.SortStableFunc(rows, func(a, b seqRow) int { return cmpInt64(a.order, b.order) })
		}
		// The key is cloned: it points into the reader's block of record
		// text, which the summary would otherwise keep alive until the
		// window is staged.
		out = append(out, summarize(batch, strings.Clone(s.parts.keys[i]), rows))
	}
	s.parts.reset()
	s.rows = s.rows[:0]
	return out
}

// summarize returns the summary of one partition's rows of a batch, given
// in (order, line) order.
func summarize(batch int, part string, rows []seqRow) seqSummary {
	sm := seqSummary{batch: batch, part: part, n: int64(len(rows)), firstLine: rows[0].line,
		lastBalance: rows[len(rows)-1].balance}
	if rows[0].sign != 0 {
		sm.firstOpening, sm.firstOK = rows[0].balance-rows[0].delta, true
	}
	for k, r := range rows {
		switch r.sign {
		case 1:
			sm.plusTotal.add(r.delta)
			sm.plusCount++
		case -1:
			sm.minusTotal.add(-r.delta)
			sm.minusCount++
		}
		if r.order != int64(k+1) {
			sm.orderBroken = true
		}
		if k > 0 && r.sign != 0 && r.balance != rows[k-1].balance+r.delta {
			sm.brokenLines = append(sm.brokenLines, r.line)
		}
	}
	return sm
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// seqJob hands a sequence's summaries to DuckDB.
type seqJob struct {
	plan *sequencePlan
	rows []seqSummary
	next atomic.Int64
	raw  bool

	mu     sync.Mutex
	arenas []*arena
}

var seqColumns = []duckdb.Type{duckdb.TYPE_INTEGER, duckdb.TYPE_VARCHAR, duckdb.TYPE_BIGINT, duckdb.TYPE_HUGEINT,
	duckdb.TYPE_HUGEINT, duckdb.TYPE_BIGINT, duckdb.TYPE_BIGINT, duckdb.TYPE_BOOLEAN, duckdb.TYPE_INTEGER,
	duckdb.TYPE_BIGINT, duckdb.TYPE_BIGINT}

// ColumnInfos describes the summary columns.
func (j *seqJob) ColumnInfos() []duckdb.ColumnInfo {
	names := []string{"_batch", j.plan.Partition, "n", "plus_total", "minus_total", "plus_count", "minus_count",
		"order_broken", "first_line", "first_opening", "last_balance"}
	out := make([]duckdb.ColumnInfo, 0, len(names)+1)
	for i, t := range seqColumns {
		ti, _ := duckdb.NewTypeInfo(t)
		out = append(out, duckdb.ColumnInfo{Name: names[i], T: ti})
	}
	el, _ := duckdb.NewTypeInfo(duckdb.TYPE_INTEGER)
	list, _ := duckdb.NewListInfo(el)
	return append(out, duckdb.ColumnInfo{Name: "broken_lines", T: list})
}

// Cardinality is exact.
func (j *seqJob) Cardinality() *duckdb.CardinalityInfo {
	return &duckdb.CardinalityInfo{Cardinality: uint(len(j.rows)), Exact: true}
}

// Init allows two threads.
func (j *seqJob) Init() duckdb.ParallelTableSourceInfo {
	return duckdb.ParallelTableSourceInfo{MaxThreads: 2}
}

// NewLocalState returns a thread's arena for long partition values.
func (j *seqJob) NewLocalState() any {
	a := &arena{}
	j.mu.Lock()
	j.arenas = append(j.arenas, a)
	j.mu.Unlock()
	return a
}

func (j *seqJob) release() {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, a := range j.arenas {
		a.release()
	}
	j.arenas = nil
}

// FillChunk writes the next chunk of summaries.
func (j *seqJob) FillChunk(ls any, chunk duckdb.DataChunk) error {
	capacity := duckdb.GetDataChunkCapacity()
	start := int(j.next.Add(int64(capacity))) - capacity
	if start >= len(j.rows) {
		return chunk.SetSize(0)
	}
	rows := j.rows[start:min(start+capacity, len(j.rows))]
	a := ls.(*arena)
	a.reset()
	w := chunkWriter{chunk: chunk, arena: a}
	if j.raw {
		raw, ok := rawColumns(&chunk, len(seqColumns)+1)
		if !ok {
			return fmt.Errorf("rrs_stage: DuckDB chunk layout changed")
		}
		w.raw = raw
	}
	for i := range rows {
		s := &rows[i]
		w.int32(0, i, int32(s.batch))
		w.text(1, i, s.part)
		w.int64(2, i, s.n)
		w.hugeint(3, i, s.plusTotal)
		w.hugeint(4, i, s.minusTotal)
		w.int64(5, i, s.plusCount)
		w.int64(6, i, s.minusCount)
		w.bool(7, i, s.orderBroken)
		w.int32(8, i, s.firstLine)
		if s.firstOK {
			w.int64(9, i, s.firstOpening)
		} else {
			w.null(9, i)
		}
		w.int64(10, i, s.lastBalance)
		if len(s.brokenLines) == 0 {
			w.null(11, i)
		} else {
			// Rare: through duckdb-go, which manages the list's child vector.
			vals := make([]any, len(s.brokenLines))
			for k, l := range s.brokenLines {
				vals[k] = l
			}
			w.keep(chunk.SetValue(11, i, vals))
		}
	}
	if w.err != nil {
		return w.err
	}
	return chunk.SetSize(len(rows))
}

// int32, bool and hugeint complete chunkWriter for the summary columns.

func (w *chunkWriter) int32(col, row int, v int32) {
	if w.raw == nil {
		w.keep(duckdb.SetChunkValue(w.chunk, col, row, v))
		return
	}
	*(*int32)(unsafe.Add(w.raw[col].data, row*4)) = v
	w.valid(col, row, true)
}

func (w *chunkWriter) bool(col, row int, v bool) {
	if w.raw == nil {
		w.keep(duckdb.SetChunkValue(w.chunk, col, row, v))
		return
	}
	*(*bool)(unsafe.Add(w.raw[col].data, row)) = v
	w.valid(col, row, true)
}

func (w *chunkWriter) hugeint(col, row int, v int128) {
	if w.raw == nil {
		w.keep(duckdb.SetChunkValue(w.chunk, col, row, v.big()))
		return
	}
	p := unsafe.Add(w.raw[col].data, row*16)
	*(*uint64)(p) = v.lo
	*(*int64)(unsafe.Add(p, 8)) = v.hi
	w.valid(col, row, true)
}

// big returns the sum as a big integer (for duckdb-go's HUGEINT setter).
func (a int128) big() *big.Int {
	v := new(big.Int).SetInt64(a.hi)
	v.Lsh(v, 64)
	return v.Add(v, new(big.Int).SetUint64(a.lo))
}
