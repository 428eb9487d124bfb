package gen

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/ronghe/ronghe/rrs"
)

// This file is an independent, deliberately simple RRS-1 checker used only by
// the tests: it reads the generated batches back through the rrs readers and
// applies rules L01–L10, S01–S03, C01–C06 and T01–T03 as gen/README.md reads
// them. Clean data must give no finding at all, and data with injected
// defects must give exactly the findings in truth/defects.jsonl.

type rcRow struct {
	line int
	v    []string
	bad  bool // an L01 or L02 finding: takes no part in S, C, T
}

type rcBatch struct {
	id    rrs.BatchID
	name  string
	files map[rrs.Type][]*rcRow
}

type fid struct{ Rule, Batch, Type, Key string }

type refChecker struct {
	t        testing.TB
	spec     *rrs.Spec
	findings map[fid]string
	// history per institution
	lastClose map[string]map[string]int64
	txnIDs    map[string]map[string]bool
	lastDate  map[string]rrs.Date
	counts    map[string][]int
}

func newRefChecker(t testing.TB) *refChecker {
	return &refChecker{t: t, spec: rrs.Current(), findings: map[fid]string{},
		lastClose: map[string]map[string]int64{}, txnIDs: map[string]map[string]bool{},
		lastDate: map[string]rrs.Date{}, counts: map[string][]int{}}
}

func (c *refChecker) add(rule, batch string, typ rrs.Type, key, field string) {
	k := fid{rule, batch, string(typ), key}
	if _, ok := c.findings[k]; !ok {
		c.findings[k] = field
	}
}

// readBatches reads every batch under dir, sorted by date then name.
func readBatches(t testing.TB, dir string, enc rrs.Encoding) []*rcBatch {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []*rcBatch
	for _, e := range ents {
		id, err := rrs.ParseBatchID(e.Name())
		if err != nil {
			continue
		}
		b, err := rrs.OpenBatch(filepath.Join(dir, e.Name()), enc)
		if err != nil {
			t.Fatalf("open %s: %v", e.Name(), err)
		}
		rb := &rcBatch{id: id, name: id.String(), files: map[rrs.Type][]*rcRow{}}
		for _, ft := range b.Files() {
			rd, err := b.Open(ft)
			if err != nil {
				t.Fatalf("%s %s: %v", e.Name(), ft, err)
			}
			rows := []*rcRow{}
			for {
				row, err := rd.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("%s %s: %v", e.Name(), ft, err)
				}
				rows = append(rows, &rcRow{line: row.Line, v: row.Values})
			}
			rd.Close()
			rb.files[ft] = rows
		}
		if len(b.Unknown()) > 0 {
			t.Errorf("%s: unknown files %v", e.Name(), b.Unknown())
		}
		b.Close()
		out = append(out, rb)
	}
	sort.Slice(out, func(i, j int) bool {
		if c := out[i].id.Date.Compare(out[j].id.Date); c != 0 {
			return c < 0
		}
		return out[i].name < out[j].name
	})
	return out
}

func (c *refChecker) ix(t rrs.Type, f string) int {
	i := c.spec.Record(t).Index(f)
	if i < 0 {
		c.t.Fatalf("no field %s.%s", t, f)
	}
	return i
}

func amt(s string) (int64, bool) {
	a, err := rrs.ParseAmount(s)
	return int64(a), err == nil
}

// key returns a row's finding key, or "#line" when a key field is missing or
// malformed.
func (c *refChecker) key(t rrs.Type, r *rcRow) string {
	rt := c.spec.Record(t)
	var parts []string
	for _, k := range rt.Key {
		i := rt.Index(k)
		f := &rt.Fields[i]
		if f.Check(r.v[i]) != nil {
			return "#" + itoa(r.line)
		}
		parts = append(parts, r.v[i])
	}
	return strings.Join(parts, "|")
}

func itoa(n int) string { return string(appendPadded(nil, int64(n), 1)) }

// checkAll runs the rules over batches (sorted by date) and returns the
// findings.
func (c *refChecker) checkAll(batches []*rcBatch) map[fid]string {
	for i := 0; i < len(batches); {
		j := i
		for j < len(batches) && batches[j].id.Date == batches[i].id.Date {
			j++
		}
		day := batches[i:j]
		for _, b := range day {
			c.checkBatch(b)
		}
		c.checkMirror(day)
		i = j
	}
	return c.findings
}

func (c *refChecker) checkBatch(b *rcBatch) {
	bn := b.name
	date := b.id.Date
	inst := b.id.InstCode
	// Field rules.
	for _, t := range []rrs.Type{rrs.ACCT, rrs.TXN, rrs.BAL, rrs.GL, rrs.STAT, rrs.FXP, rrs.CTL} {
		rt := c.spec.Record(t)
		for _, r := range b.files[t] {
			rules := map[string]string{}
			for _, is := range rt.CheckRow(r.v) {
				if _, ok := rules[is.Rule]; !ok {
					rules[is.Rule] = is.Field
				}
				if is.Rule == rrs.RuleMissing || is.Rule == rrs.RuleFormat {
					r.bad = true
				}
			}
			k := c.key(t, r)
			for rule, field := range rules {
				c.add(rule, bn, t, k, field)
			}
		}
	}
	// Dynamic L07 and L09 inst_code.
	dateFields := map[rrs.Type][]string{rrs.TXN: {"txn_date"}, rrs.BAL: {"bal_date"}, rrs.GL: {"gl_date"}, rrs.FXP: {"txn_date"}}
	for _, t := range []rrs.Type{rrs.ACCT, rrs.TXN, rrs.BAL, rrs.GL, rrs.STAT, rrs.FXP} {
		ii := c.ix(t, "inst_code")
		for _, r := range b.files[t] {
			if v := r.v[ii]; v != "" && c.spec.Record(t).Fields[ii].Check(v) == nil && v != inst {
				c.add("L09", bn, t, c.key(t, r), "inst_code")
			}
			for _, f := range dateFields[t] {
				i := c.ix(t, f)
				if d, err := rrs.ParseDate(r.v[i]); err == nil && d != date {
					c.add("L07", bn, t, c.key(t, r), f)
				}
			}
		}
	}
	period := date.Period().String()
	for _, r := range b.files[rrs.STAT] {
		if v := r.v[c.ix(rrs.STAT, "period")]; v != "" && v != period {
			if _, err := rrs.ParsePeriod(v); err == nil {
				c.add("L07", bn, rrs.STAT, c.key(rrs.STAT, r), "period")
			}
		}
	}
	// ACCT index.
	type acctInfo struct {
		row                       *rcRow
		typ, parent, subj, cur, s string
		open                      rrs.Date
	}
	accts := map[string]*acctInfo{}
	aType, aPar, aSub, aCur, aOpen, aClose, aStat := c.ix(rrs.ACCT, "acct_type"), c.ix(rrs.ACCT, "parent_acct_no"),
		c.ix(rrs.ACCT, "subject_code"), c.ix(rrs.ACCT, "currency"), c.ix(rrs.ACCT, "open_date"), c.ix(rrs.ACCT, "close_date"), c.ix(rrs.ACCT, "status")
	for _, r := range b.files[rrs.ACCT] {
		k := c.key(rrs.ACCT, r)
		if strings.HasPrefix(k, "#") {
			continue
		}
		if _, dup := accts[k]; dup {
			c.add("L08", bn, rrs.ACCT, k, "acct_no")
			continue
		}
		od, _ := rrs.ParseDate(r.v[aOpen])
		accts[k] = &acctInfo{row: r, typ: r.v[aType], parent: r.v[aPar], subj: r.v[aSub], cur: r.v[aCur], s: r.v[aStat], open: od}
		cd, cerr := rrs.ParseDate(r.v[aClose])
		if od.After(date) || (cerr == nil && (cd.After(date) || cd.Before(od))) {
			c.add("L07", bn, rrs.ACCT, k, "open_date")
		}
	}
	for k, a := range accts {
		if a.parent != "" {
			if p, ok := accts[a.parent]; !ok || p.typ != "9" {
				c.add("L09", bn, rrs.ACCT, k, "parent_acct_no")
			}
		}
	}
	// TXN
	tAcct, tID, tSeq, tDC, tAmt, tCur, tBal := c.ix(rrs.TXN, "acct_no"), c.ix(rrs.TXN, "txn_id"), c.ix(rrs.TXN, "txn_seq"),
		c.ix(rrs.TXN, "dc_flag"), c.ix(rrs.TXN, "amount"), c.ix(rrs.TXN, "currency"), c.ix(rrs.TXN, "balance")
	ids := c.txnIDs[inst]
	if ids == nil {
		ids = map[string]bool{}
		c.txnIDs[inst] = ids
	}
	byAcct := map[string][]*rcRow{}
	for _, r := range b.files[rrs.TXN] {
		k := c.key(rrs.TXN, r)
		if !strings.HasPrefix(k, "#") {
			if ids[k] {
				c.add("L08", bn, rrs.TXN, k, "txn_id")
			}
			ids[k] = true
		}
		acct := r.v[tAcct]
		if a, ok := accts[acct]; ok {
			if cur := r.v[tCur]; rrs.ValidCurrency(cur) && cur != a.cur {
				c.add("L07", bn, rrs.TXN, k, "currency")
			}
		} else if acct != "" {
			c.add("L09", bn, rrs.TXN, k, "acct_no")
		}
		if !r.bad {
			byAcct[acct] = append(byAcct[acct], r)
		}
	}
	// BAL
	bAcct, bOpen, bClose, bDT, bCT, bDN, bCN := c.ix(rrs.BAL, "acct_no"), c.ix(rrs.BAL, "open_bal"), c.ix(rrs.BAL, "close_bal"),
		c.ix(rrs.BAL, "debit_total"), c.ix(rrs.BAL, "credit_total"), c.ix(rrs.BAL, "debit_count"), c.ix(rrs.BAL, "credit_count")
	bals := map[string]*rcRow{}
	seenBal := map[string]bool{}
	for _, r := range b.files[rrs.BAL] {
		k := c.key(rrs.BAL, r)
		if !strings.HasPrefix(k, "#") {
			if seenBal[k] {
				c.add("L08", bn, rrs.BAL, k, "acct_no")
				continue
			}
			seenBal[k] = true
		}
		acct := r.v[bAcct]
		if _, ok := accts[acct]; !ok && acct != "" {
			c.add("L09", bn, rrs.BAL, k, "acct_no")
		}
		if !r.bad {
			bals[acct] = r
		}
	}
	for k, a := range accts {
		if (a.s == "A" || a.s == "F") && bals[k] == nil {
			c.add("L10", bn, rrs.ACCT, k, "")
		}
	}
	// GL, STAT, FXP uniqueness.
	for _, t := range []rrs.Type{rrs.GL, rrs.STAT, rrs.FXP} {
		seen := map[string]bool{}
		for _, r := range b.files[t] {
			k := c.key(t, r)
			if strings.HasPrefix(k, "#") {
				continue
			}
			if seen[k] && t != rrs.STAT {
				c.add("L08", bn, t, k, "")
			}
			seen[k] = true
		}
	}
	// S01
	glSum := map[string]int64{}
	glHas := map[string]bool{}
	for acct, r := range bals {
		a := accts[acct]
		if a == nil || a.row.bad || a.typ == "9" {
			continue
		}
		v, _ := amt(r.v[bClose])
		glSum[a.subj+"|"+a.cur] += v
		glHas[a.subj+"|"+a.cur] = true
	}
	glRep := map[string]int64{}
	for _, r := range b.files[rrs.GL] {
		if r.bad {
			continue
		}
		v, _ := amt(r.v[c.ix(rrs.GL, "balance")])
		k := c.key(rrs.GL, r)
		glRep[k] = v
		glHas[k] = true
	}
	for k := range glHas {
		if glRep[k] != glSum[k] {
			c.add("S01", bn, rrs.GL, k, "balance")
		}
	}
	// S02, S03, C01–C04 per account.
	last := c.lastClose[inst]
	if last == nil {
		last = map[string]int64{}
		c.lastClose[inst] = last
	}
	for acct, r := range bals {
		a := accts[acct]
		k := c.key(rrs.BAL, r)
		open, _ := amt(r.v[bOpen])
		close, _ := amt(r.v[bClose])
		if prev, ok := last[acct]; ok {
			if prev != open {
				c.add("C01", bn, rrs.BAL, k, "open_bal")
			}
		} else if a != nil && a.open == date && open != 0 {
			c.add("C01", bn, rrs.BAL, k, "open_bal")
		}
		if a != nil && a.typ == "9" {
			var sum int64
			for sk, sa := range accts {
				if sa.parent == acct && bals[sk] != nil {
					v, _ := amt(bals[sk].v[bClose])
					sum += v
				}
			}
			if sum != close {
				c.add("S02", bn, rrs.BAL, k, "close_bal")
			}
			continue
		}
		dt, _ := amt(r.v[bDT])
		ct, _ := amt(r.v[bCT])
		if close != open+ct-dt {
			c.add("C02", bn, rrs.BAL, k, "close_bal")
		}
		rows := slices.Clone(byAcct[acct])
		var sdt, sct, sdn, scn int64
		for _, tr := range rows {
			v, _ := amt(tr.v[tAmt])
			if tr.v[tDC] == "D" {
				sdt += v
				sdn++
			} else {
				sct += v
				scn++
			}
		}
		dn, _ := rrs.ParseInt(r.v[bDN])
		cn, _ := rrs.ParseInt(r.v[bCN])
		if sdt != dt || sct != ct || sdn != dn || scn != cn {
			c.add("S03", bn, rrs.BAL, k, "")
		}
		sort.SliceStable(rows, func(i, j int) bool {
			si, _ := rrs.ParseInt(rows[i].v[tSeq])
			sj, _ := rrs.ParseInt(rows[j].v[tSeq])
			return si < sj
		})
		prev := open
		for _, tr := range rows {
			v, _ := amt(tr.v[tAmt])
			bal, _ := amt(tr.v[tBal])
			want := prev + v
			if tr.v[tDC] == "D" {
				want = prev - v
			}
			if bal != want {
				c.add("C03", bn, rrs.TXN, tr.v[tID], "balance")
			}
			prev = bal
		}
		if len(rows) > 0 && close != prev {
			c.add("C03", bn, rrs.BAL, k, "close_bal")
		}
	}
	for acct, rows := range byAcct {
		var seqs []int64
		for _, tr := range rows {
			s, _ := rrs.ParseInt(tr.v[tSeq])
			seqs = append(seqs, s)
		}
		slices.Sort(seqs)
		for i, s := range seqs {
			if s != int64(i+1) {
				c.add("C04", bn, rrs.BAL, acct+"|"+date.String(), "txn_seq")
				break
			}
		}
	}
	for acct, r := range bals {
		v, _ := amt(r.v[bClose])
		last[acct] = v
	}
	// C05, C06
	if ld, ok := c.lastDate[inst]; ok && date.DaysSince(ld) > 1 {
		c.add("C05", bn, "BATCH", ld.AddDays(1).String(), "")
	}
	c.lastDate[inst] = date
	n := len(b.files[rrs.TXN])
	if h := c.counts[inst]; len(h) >= 7 {
		sum := 0
		for _, x := range h[len(h)-7:] {
			sum += x
		}
		if 35*n < sum || 7*n > 5*sum { // n < 0.2 × sum/7 or n > 5 × sum/7, exactly
			c.add("C06", bn, "BATCH", "TXN", "")
		}
	}
	c.counts[inst] = append(c.counts[inst], n)
	// T01
	ctlRows := map[string]*rcRow{}
	for _, r := range b.files[rrs.CTL] {
		ctlRows[r.v[c.ix(rrs.CTL, "file")]] = r
	}
	for _, t := range []rrs.Type{rrs.ACCT, rrs.TXN, rrs.BAL, rrs.GL, rrs.STAT, rrs.FXP} {
		rows, has := b.files[t]
		cr := ctlRows[string(t)]
		switch {
		case !has && cr == nil:
			continue
		case !has || cr == nil:
			c.add("T01", bn, rrs.CTL, string(t), "")
			continue
		}
		cnt, _ := rrs.ParseInt(cr.v[c.ix(rrs.CTL, "record_count")])
		ok := cnt == int64(len(rows))
		sf, hasSum := rrs.CTLSumField(t)
		if hasSum {
			var sum, deb, cred int64
			for _, r := range rows {
				v, good := amt(r.v[c.ix(t, sf)])
				if !good {
					continue
				}
				sum += v
				if t == rrs.TXN {
					if r.v[tDC] == "D" {
						deb += v
					} else if r.v[tDC] == "C" {
						cred += v
					}
				}
			}
			s, _ := amt(cr.v[c.ix(rrs.CTL, "amount_sum")])
			ok = ok && s == sum
			if t == rrs.TXN {
				d, _ := amt(cr.v[c.ix(rrs.CTL, "debit_sum")])
				cc, _ := amt(cr.v[c.ix(rrs.CTL, "credit_sum")])
				ok = ok && d == deb && cc == cred
			}
		} else {
			ok = ok && cr.v[c.ix(rrs.CTL, "amount_sum")] == ""
		}
		if !ok {
			c.add("T01", bn, rrs.CTL, string(t), "")
		}
	}
	// T02
	if date.IsMonthEnd() {
		stat := map[string]int64{}
		keys := map[string]bool{}
		for _, r := range b.files[rrs.STAT] {
			if r.bad {
				continue
			}
			v, _ := amt(r.v[c.ix(rrs.STAT, "value")])
			k := c.key(rrs.STAT, r)
			stat[k] = v
			keys[k] = true
		}
		for k := range glRep {
			keys[k] = true
		}
		for k := range keys {
			if stat[k] != glRep[k] {
				c.add("T02", bn, rrs.STAT, k, "value")
			}
		}
	}
}

// checkMirror applies T03 to one day's batches.
func (c *refChecker) checkMirror(day []*rcBatch) {
	tDC, tAmt, tCp := c.ix(rrs.TXN, "dc_flag"), c.ix(rrs.TXN, "amount"), c.ix(rrs.TXN, "cp_inst_code")
	byInst := map[string]*rcBatch{}
	for _, b := range day {
		byInst[b.id.InstCode] = b
	}
	type pair struct{ from, to string }
	deb, cred := map[pair]int64{}, map[pair]int64{}
	for inst, b := range byInst {
		for _, r := range b.files[rrs.TXN] {
			cp := r.v[tCp]
			if r.bad || cp == "" || cp == inst || byInst[cp] == nil {
				continue
			}
			v, _ := amt(r.v[tAmt])
			switch r.v[tDC] {
			case "D":
				deb[pair{inst, cp}] += v
			case "C":
				cred[pair{cp, inst}] += v
			}
		}
	}
	keys := map[pair]bool{}
	for k := range deb {
		keys[k] = true
	}
	for k := range cred {
		keys[k] = true
	}
	for k := range keys {
		if deb[k] != cred[k] {
			c.add("T03", byInst[k.from].name, "BATCH", k.to, "")
			c.add("T03", byInst[k.to].name, "BATCH", k.from, "")
		}
	}
}
