package rules

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/ronghe/ronghe/rrs"
)

// synthBatch is a small, internally consistent batch built from random
// numbers: every running balance, BAL total, GL balance and control total
// adds up. The property tests perturb one value and expect exactly the
// findings that value breaks.
type synthBatch struct {
	id    rrs.BatchID
	files map[rrs.Type][][]string // rows in field order
}

func (s *synthBatch) rt(t rrs.Type) *rrs.RecordType { return rrs.Current().Record(t) }

func (s *synthBatch) set(t rrs.Type, row int, field, v string) {
	s.files[t][row][s.rt(t).Index(field)] = v
}

func (s *synthBatch) get(t rrs.Type, row int, field string) string {
	return s.files[t][row][s.rt(t).Index(field)]
}

func (s *synthBatch) amount(t rrs.Type, row int, field string) rrs.Amount {
	a, err := rrs.ParseAmount(s.get(t, row, field))
	if err != nil {
		panic(err)
	}
	return a
}

func newSynthBatch(r *rand.Rand) *synthBatch {
	const inst = "B9999900000001"
	date := rrs.Date{Y: 2025, M: 6, D: 10}
	s := &synthBatch{id: rrs.BatchID{InstCode: inst, Date: date, Seq: 1}, files: map[rrs.Type][][]string{}}
	row := func(t rrs.Type, kv ...string) []string {
		rt := s.rt(t)
		v := make([]string, len(rt.Fields))
		for i := 0; i < len(kv); i += 2 {
			v[rt.Index(kv[i])] = kv[i+1]
		}
		return v
	}
	usccs := []string{"91440300MA5FXXXX1", "91110108551385082"}
	uscc := func(i int) string {
		base := []byte(usccs[i%2])[:17]
		c, _ := rrs.USCCCheckChar(string(base))
		return string(base) + string(c)
	}
	subjects := []string{"D01", "D02"}
	gl := map[[2]string]rrs.Amount{}
	nAcct := 2 + r.IntN(6)
	txnN := 0
	for a := 0; a < nAcct; a++ {
		no := fmt.Sprintf("6222%012d", 1000+a)
		subject, cur := subjects[r.IntN(len(subjects))], "CNY"
		s.files[rrs.ACCT] = append(s.files[rrs.ACCT], row(rrs.ACCT, "inst_code", inst, "acct_no", no, "acct_type", "2",
			"subject_code", subject, "uscc", uscc(a), "holder_name", "测试企业"+strconv.Itoa(a), "currency", cur,
			"open_date", date.AddDays(-100).String(), "status", "A"))
		open := rrs.Amount(r.Int64N(10_000_000))
		bal := open
		var dt, ct rrs.Amount
		var dn, cn int
		rows := r.IntN(6) // some accounts have no transaction
		for k := 1; k <= rows; k++ {
			amt := rrs.Amount(1 + r.Int64N(500_000))
			dc := "C"
			if r.IntN(2) == 0 && bal >= amt {
				dc, bal, dt, dn = "D", bal-amt, dt+amt, dn+1
			} else {
				bal, ct, cn = bal+amt, ct+amt, cn+1
			}
			txnN++
			s.files[rrs.TXN] = append(s.files[rrs.TXN], row(rrs.TXN, "inst_code", inst, "acct_no", no,
				"txn_id", fmt.Sprintf("T%08d", txnN), "txn_date", date.String(), "txn_time", fmt.Sprintf("%02d:00:00", k),
				"txn_seq", strconv.Itoa(k), "dc_flag", dc, "amount", amt.String(), "currency", cur, "balance", bal.String(),
				"channel", "02", "purpose", "GDS"))
		}
		s.files[rrs.BAL] = append(s.files[rrs.BAL], row(rrs.BAL, "inst_code", inst, "acct_no", no, "bal_date", date.String(),
			"currency", cur, "open_bal", open.String(), "close_bal", bal.String(), "debit_total", dt.String(), "credit_total", ct.String(),
			"debit_count", strconv.Itoa(dn), "credit_count", strconv.Itoa(cn)))
		gl[[2]string{subject, cur}] += bal
	}
	// TXN rows in time order across accounts, as banks export them.
	r.Shuffle(len(s.files[rrs.TXN]), func(i, j int) { s.files[rrs.TXN][i], s.files[rrs.TXN][j] = s.files[rrs.TXN][j], s.files[rrs.TXN][i] })
	keys := make([][2]string, 0, len(gl))
	for k := range gl {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i][0] < keys[j][0] })
	for _, k := range keys {
		s.files[rrs.GL] = append(s.files[rrs.GL], row(rrs.GL, "inst_code", inst, "gl_date", date.String(),
			"subject_code", k[0], "currency", k[1], "balance", gl[k].String()))
	}
	return s
}

// write writes the batch into dir with CTL totals computed from the files
// as they are now.
func (s *synthBatch) write(t testing.TB, dir string) string {
	t.Helper()
	bdir := filepath.Join(dir, s.id.String())
	if err := os.MkdirAll(bdir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctlRT := s.rt(rrs.CTL)
	var ctl [][]string
	for _, typ := range []rrs.Type{rrs.ACCT, rrs.TXN, rrs.BAL, rrs.GL} {
		c := make([]string, len(ctlRT.Fields))
		c[ctlRT.Index("file")] = string(typ)
		c[ctlRT.Index("record_count")] = strconv.Itoa(len(s.files[typ]))
		if f, ok := rrs.CTLSumField(typ); ok {
			var sum, d, cr rrs.Amount
			for i := range s.files[typ] {
				a := s.amount(typ, i, f)
				sum += a
				if typ == rrs.TXN {
					if s.get(typ, i, "dc_flag") == "D" {
						d += a
					} else {
						cr += a
					}
				}
			}
			c[ctlRT.Index("amount_sum")] = sum.String()
			if typ == rrs.TXN {
				c[ctlRT.Index("debit_sum")], c[ctlRT.Index("credit_sum")] = d.String(), cr.String()
			}
		}
		ctl = append(ctl, c)
	}
	all := map[rrs.Type][][]string{rrs.CTL: ctl}
	for k, v := range s.files {
		all[k] = v
	}
	for typ, rows := range all {
		f, err := os.Create(filepath.Join(bdir, typ.FileName()))
		if err != nil {
			t.Fatal(err)
		}
		w, err := rrs.NewWriter(f, s.rt(typ), rrs.UTF8)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if err := w.Write(r); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	return bdir
}

type findingKey struct{ Rule, Type, Key string }

func (s *synthBatch) check(t *testing.T, e *Engine) []findingKey {
	t.Helper()
	path := s.write(t, t.TempDir())
	var out []findingKey
	for _, f := range runPaths(t, e, []string{path}) {
		out = append(out, findingKey{f.Rule, f.Type, f.Key})
	}
	slices.SortFunc(out, func(a, b findingKey) int { return compareStrings(a.Rule+a.Type+a.Key, b.Rule+b.Type+b.Key) })
	return out
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func sortedKeys(ks ...findingKey) []findingKey {
	slices.SortFunc(ks, func(a, b findingKey) int { return compareStrings(a.Rule+a.Type+a.Key, b.Rule+b.Type+b.Key) })
	return ks
}

// txnOf returns the TXN row indexes of an account in txn_seq order.
func (s *synthBatch) txnOf(acct string) []int {
	var rows []int
	for i := range s.files[rrs.TXN] {
		if s.get(rrs.TXN, i, "acct_no") == acct {
			rows = append(rows, i)
		}
	}
	slices.SortFunc(rows, func(a, b int) int {
		x, _ := strconv.Atoi(s.get(rrs.TXN, a, "txn_seq"))
		y, _ := strconv.Atoi(s.get(rrs.TXN, b, "txn_seq"))
		return x - y
	})
	return rows
}

func (s *synthBatch) balKey(i int) string {
	return s.get(rrs.BAL, i, "acct_no") + "|" + s.get(rrs.BAL, i, "bal_date")
}

// TestPropertyContinuityAndReconciliation: random balanced batches have no
// finding; one perturbed value gives exactly the findings it must (C02,
// C03, S01, S03).
func TestPropertyContinuityAndReconciliation(t *testing.T) {
	e := newEngine(t, Options{OneShot: true})
	r := rand.New(rand.NewPCG(2025, 6))
	for iter := 0; iter < 12; iter++ {
		s := newSynthBatch(r)
		if got := s.check(t, e); len(got) != 0 {
			t.Fatalf("iteration %d: balanced batch has findings %v", iter, got)
		}
		delta := rrs.Amount(1 + r.Int64N(100_000))

		// C02 (and C03 on the first TXN row, if any): open_bal moves.
		p := newSynthBatch(rand.New(rand.NewPCG(uint64(iter), 1)))
		i := r.IntN(len(p.files[rrs.BAL]))
		p.set(rrs.BAL, i, "open_bal", (p.amount(rrs.BAL, i, "open_bal") + delta).String())
		want := []findingKey{{"C02", "BAL", p.balKey(i)}}
		if rows := p.txnOf(p.get(rrs.BAL, i, "acct_no")); len(rows) > 0 {
			want = append(want, findingKey{"C03", "TXN", p.get(rrs.TXN, rows[0], "txn_id")})
		}
		if got := p.check(t, e); !slices.Equal(got, sortedKeys(want...)) {
			t.Errorf("iteration %d C02: got %v, want %v", iter, got, want)
		}

		// C03: one TXN balance moves: that row and the next (or BAL) break.
		p = newSynthBatch(rand.New(rand.NewPCG(uint64(iter), 2)))
		if len(p.files[rrs.TXN]) > 0 {
			k := r.IntN(len(p.files[rrs.TXN]))
			acct := p.get(rrs.TXN, k, "acct_no")
			rows := p.txnOf(acct)
			pos := slices.Index(rows, k)
			p.set(rrs.TXN, k, "balance", (p.amount(rrs.TXN, k, "balance") + delta).String())
			want = []findingKey{{"C03", "TXN", p.get(rrs.TXN, k, "txn_id")}}
			if pos+1 < len(rows) {
				want = append(want, findingKey{"C03", "TXN", p.get(rrs.TXN, rows[pos+1], "txn_id")})
			} else {
				for b := range p.files[rrs.BAL] {
					if p.get(rrs.BAL, b, "acct_no") == acct {
						want = append(want, findingKey{"C03", "BAL", p.balKey(b)})
					}
				}
			}
			if got := p.check(t, e); !slices.Equal(got, sortedKeys(want...)) {
				t.Errorf("iteration %d C03: got %v, want %v", iter, got, want)
			}
		}

		// S01: the GL figure moves.
		p = newSynthBatch(rand.New(rand.NewPCG(uint64(iter), 3)))
		g := r.IntN(len(p.files[rrs.GL]))
		p.set(rrs.GL, g, "balance", (p.amount(rrs.GL, g, "balance") - delta).String())
		want = []findingKey{{"S01", "GL", p.get(rrs.GL, g, "subject_code") + "|" + p.get(rrs.GL, g, "currency")}}
		if got := p.check(t, e); !slices.Equal(got, want) {
			t.Errorf("iteration %d S01: got %v, want %v", iter, got, want)
		}

		// S03: a count moves.
		p = newSynthBatch(rand.New(rand.NewPCG(uint64(iter), 4)))
		i = r.IntN(len(p.files[rrs.BAL]))
		field := []string{"debit_count", "credit_count"}[r.IntN(2)]
		n, _ := strconv.Atoi(p.get(rrs.BAL, i, field))
		p.set(rrs.BAL, i, field, strconv.Itoa(n+1+r.IntN(3)))
		want = []findingKey{{"S03", "BAL", p.balKey(i)}}
		if got := p.check(t, e); !slices.Equal(got, want) {
			t.Errorf("iteration %d S03: got %v, want %v", iter, got, want)
		}
	}
}

func randFor(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }

// TestFileProblems: problems of a file's structure are L02 findings on the
// line, and the control totals notice rows and files.
func TestFileProblems(t *testing.T) {
	e := newEngine(t, Options{OneShot: true})
	s := newSynthBatchWith(t, func(*synthBatch) {})
	run := func(edit func(dir string)) []findingKey {
		t.Helper()
		dir := s.write(t, t.TempDir())
		edit(dir)
		var out []findingKey
		for _, f := range runPaths(t, e, []string{dir}) {
			out = append(out, findingKey{f.Rule, f.Type, f.Key})
		}
		return out
	}
	appendLine := func(dir, file, line string) {
		f, err := os.OpenFile(filepath.Join(dir, file), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString(line); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	// A record with too few fields: L02 on its line, a data row for T01.
	line := "#" + strconv.Itoa(len(s.files[rrs.TXN])+2)
	got := run(func(dir string) { appendLine(dir, "TXN.csv", "a,b,c\n") })
	if want := sortedKeys(findingKey{"L02", "TXN", line}, findingKey{"T01", "CTL", "TXN"}); !slices.Equal(sortedKeys(got...), want) {
		t.Errorf("short record: %v, want %v", got, want)
	}
	// A header without a column: the file cannot be read.
	got = run(func(dir string) {
		p := filepath.Join(dir, "GL.csv")
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(p, []byte(strings.Replace(string(data), ",balance", "", 1)), 0o644)
	})
	if !slices.Contains(got, findingKey{"L02", "GL", "#1"}) || slices.Contains(got, findingKey{"T01", "CTL", "GL"}) {
		t.Errorf("bad header: %v", got)
	}
	// No CTL.csv: every file lacks its control row.
	got = run(func(dir string) { os.Remove(filepath.Join(dir, "CTL.csv")) })
	want := sortedKeys(findingKey{"T01", "CTL", "ACCT"}, findingKey{"T01", "CTL", "TXN"}, findingKey{"T01", "CTL", "BAL"}, findingKey{"T01", "CTL", "GL"})
	if !slices.Equal(sortedKeys(got...), want) {
		t.Errorf("no CTL: %v, want %v", got, want)
	}
	// A row whose key is malformed is keyed by its line for every rule.
	vals := slices.Repeat([]string{"x"}, len(s.rt(rrs.TXN).Fields))
	vals[s.rt(rrs.TXN).Index("txn_id")] = ""
	got = run(func(dir string) { appendLine(dir, "TXN.csv", strings.Join(vals, ",")+"\n") })
	n := 0
	for _, f := range got {
		if f.Type == "TXN" {
			n++
			if f.Key != line {
				t.Errorf("malformed row keyed %v", f)
			}
		}
	}
	if n < 2 {
		t.Errorf("the malformed row has %d findings: %v", n, got)
	}
}

// TestUnreadableFileDoesNotStopStaging: after a file that cannot be opened,
// the same thread goes on with the next batch's file.
func TestUnreadableFileDoesNotStopStaging(t *testing.T) {
	e := newEngine(t, Options{OneShot: true, Threads: 1})
	dir := t.TempDir()
	s := newSynthBatchWith(t, func(*synthBatch) {})
	first := s.write(t, dir)
	p := filepath.Join(first, "BAL.csv")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(data), "open_bal,", "", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	var paths []string
	paths = append(paths, first)
	// Three more institutions' batches of the same day, all clean.
	for i := 2; i <= 4; i++ {
		s.id.InstCode = fmt.Sprintf("B999990000000%d", i)
		for _, typ := range []rrs.Type{rrs.ACCT, rrs.TXN, rrs.BAL, rrs.GL} {
			for r := range s.files[typ] {
				s.set(typ, r, "inst_code", s.id.InstCode)
			}
		}
		paths = append(paths, s.write(t, dir))
	}
	for _, f := range runPaths(t, e, paths) {
		if f.Batch != filepath.Base(first) {
			t.Errorf("finding on a clean batch: %+v", f)
		}
	}
}
