package gen

import (
	"archive/zip"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/rrs"
)

// glCurrencies are the currencies accounts are held in; with the three
// subjects they index GL and STAT rows (glKey).
var glCurrencies = []string{"CNY", "USD", "EUR", "HKD"}
var glSubjects = []string{"D01", "D02", "D03"}

// glKey returns the index of (subject, currency) in the GL key table.
func glKey(subject, currency string) int {
	s, c := 0, 0
	for i, v := range glSubjects {
		if v == subject {
			s = i
		}
	}
	for i, v := range glCurrencies {
		if v == currency {
			c = i
		}
	}
	return s*len(glCurrencies) + c
}

// layout maps the field names the generator fills to their positions in a
// record type's canonical order, computed once from the rrs spec so that no
// code depends on field positions.
type layout struct {
	rt  *rrs.RecordType
	pos map[string]int
}

// newLayout checks that rt has exactly the fields the generator knows how to
// fill: a field added to RRS-1 must be taught to the generator, not left
// empty (which would be an L01 defect in "clean" data).
func newLayout(spec *rrs.Spec, t rrs.Type, names ...string) (*layout, error) {
	rt := spec.Record(t)
	if rt == nil {
		return nil, ronghe.Errorf(ronghe.EUNSUPPORTED, "gen: %s %s has no record type %s", spec.Standard, spec.Version, t)
	}
	l := &layout{rt: rt, pos: map[string]int{}}
	for _, n := range names {
		i := rt.Index(n)
		if i < 0 {
			return nil, ronghe.Errorf(ronghe.EUNSUPPORTED, "gen: %s %s.%s is not defined by %s %s", spec.Standard, t, n, spec.Standard, spec.Version)
		}
		l.pos[n] = i
	}
	for _, f := range rt.Fields {
		if _, ok := l.pos[f.Name]; !ok && !f.Nullable {
			return nil, ronghe.Errorf(ronghe.EUNSUPPORTED, "gen: does not know how to fill required field %s.%s of %s %s", t, f.Name, spec.Standard, spec.Version)
		}
	}
	return l, nil
}

func (l *layout) ix(name string) int { return l.pos[name] }

// layouts holds the positions of every field the writers fill.
type layouts struct {
	acct, txn, bal, gl, stat, fxp, ctl *layout

	// TXN
	tInst, tAcct, tID, tDate, tTime, tSeq, tDC, tAmount, tCcy, tBal, tCpAcct, tCpName, tCpInst, tCpUSCC, tChannel, tPurpose, tRemark int
	// BAL
	bInst, bAcct, bDate, bCcy, bOpen, bClose, bDT, bCT, bDN, bCN int
	// ACCT
	aInst, aAcct, aType, aParent, aSubject, aUSCC, aName, aCcy, aOpen, aClose, aStatus int
	// GL, STAT
	gInst, gDate, gSubject, gCcy, gBal    int
	sInst, sPeriod, sItem, sCcy, sValue   int
	fInst, fID, fDate, fPID, fPName, fCcy int
	fAmt, fUSD, fPurpose, fBName, fBAcct  int
	fBCountry                             int
	cFile, cCount, cSum, cDebit, cCredit  int
}

func newLayouts(spec *rrs.Spec) (*layouts, error) {
	var L layouts
	var err error
	mk := func(t rrs.Type, names ...string) *layout {
		if err != nil {
			return nil
		}
		var l *layout
		l, err = newLayout(spec, t, names...)
		return l
	}
	L.txn = mk(rrs.TXN, "inst_code", "acct_no", "txn_id", "txn_date", "txn_time", "txn_seq", "dc_flag", "amount", "currency",
		"balance", "cp_acct_no", "cp_name", "cp_inst_code", "cp_uscc", "channel", "purpose", "remark")
	L.bal = mk(rrs.BAL, "inst_code", "acct_no", "bal_date", "currency", "open_bal", "close_bal", "debit_total", "credit_total",
		"debit_count", "credit_count")
	L.acct = mk(rrs.ACCT, "inst_code", "acct_no", "acct_type", "parent_acct_no", "subject_code", "uscc", "holder_name",
		"currency", "open_date", "close_date", "status")
	L.gl = mk(rrs.GL, "inst_code", "gl_date", "subject_code", "currency", "balance")
	L.stat = mk(rrs.STAT, "inst_code", "period", "item_code", "currency", "value")
	L.fxp = mk(rrs.FXP, "inst_code", "txn_id", "txn_date", "person_id", "person_name", "currency", "amount", "amount_usd",
		"purpose", "bene_name", "bene_acct", "bene_country")
	L.ctl = mk(rrs.CTL, "file", "record_count", "amount_sum", "debit_sum", "credit_sum")
	if err != nil {
		return nil, err
	}
	t := L.txn
	L.tInst, L.tAcct, L.tID, L.tDate, L.tTime, L.tSeq = t.ix("inst_code"), t.ix("acct_no"), t.ix("txn_id"), t.ix("txn_date"), t.ix("txn_time"), t.ix("txn_seq")
	L.tDC, L.tAmount, L.tCcy, L.tBal = t.ix("dc_flag"), t.ix("amount"), t.ix("currency"), t.ix("balance")
	L.tCpAcct, L.tCpName, L.tCpInst, L.tCpUSCC = t.ix("cp_acct_no"), t.ix("cp_name"), t.ix("cp_inst_code"), t.ix("cp_uscc")
	L.tChannel, L.tPurpose, L.tRemark = t.ix("channel"), t.ix("purpose"), t.ix("remark")
	b := L.bal
	L.bInst, L.bAcct, L.bDate, L.bCcy = b.ix("inst_code"), b.ix("acct_no"), b.ix("bal_date"), b.ix("currency")
	L.bOpen, L.bClose, L.bDT, L.bCT, L.bDN, L.bCN = b.ix("open_bal"), b.ix("close_bal"), b.ix("debit_total"), b.ix("credit_total"), b.ix("debit_count"), b.ix("credit_count")
	a := L.acct
	L.aInst, L.aAcct, L.aType, L.aParent, L.aSubject = a.ix("inst_code"), a.ix("acct_no"), a.ix("acct_type"), a.ix("parent_acct_no"), a.ix("subject_code")
	L.aUSCC, L.aName, L.aCcy, L.aOpen, L.aClose, L.aStatus = a.ix("uscc"), a.ix("holder_name"), a.ix("currency"), a.ix("open_date"), a.ix("close_date"), a.ix("status")
	gl := L.gl
	L.gInst, L.gDate, L.gSubject, L.gCcy, L.gBal = gl.ix("inst_code"), gl.ix("gl_date"), gl.ix("subject_code"), gl.ix("currency"), gl.ix("balance")
	st := L.stat
	L.sInst, L.sPeriod, L.sItem, L.sCcy, L.sValue = st.ix("inst_code"), st.ix("period"), st.ix("item_code"), st.ix("currency"), st.ix("value")
	f := L.fxp
	L.fInst, L.fID, L.fDate, L.fPID, L.fPName, L.fCcy = f.ix("inst_code"), f.ix("txn_id"), f.ix("txn_date"), f.ix("person_id"), f.ix("person_name"), f.ix("currency")
	L.fAmt, L.fUSD, L.fPurpose, L.fBName, L.fBAcct, L.fBCountry = f.ix("amount"), f.ix("amount_usd"), f.ix("purpose"), f.ix("bene_name"), f.ix("bene_acct"), f.ix("bene_country")
	c := L.ctl
	L.cFile, L.cCount, L.cSum, L.cDebit, L.cCredit = c.ix("file"), c.ix("record_count"), c.ix("amount_sum"), c.ix("debit_sum"), c.ix("credit_sum")
	return &L, nil
}

// tables are read-only strings shared by all writers so that the hot path
// allocates only the values that differ from row to row.
type tables struct {
	times    []string // "HH:MM:SS" for every second of the day
	seqs     []string // "0" … "4095"
	acctOpen []string // per account: open_date
	acctClse []string // per account: close_date
	acctType []string
}

func newTables(g *region) *tables {
	tb := &tables{times: make([]string, 86400), seqs: make([]string, 4096)}
	for s := range tb.times {
		h, m, sec := s/3600, s/60%60, s%60
		tb.times[s] = string([]byte{byte('0' + h/10), byte('0' + h%10), ':', byte('0' + m/10), byte('0' + m%10), ':', byte('0' + sec/10), byte('0' + sec%10)})
	}
	for i := range tb.seqs {
		tb.seqs[i] = strconv.Itoa(i)
	}
	n := len(g.accts)
	tb.acctOpen, tb.acctClse, tb.acctType = make([]string, n), make([]string, n), make([]string, n)
	for i := range g.accts {
		a := &g.accts[i]
		tb.acctOpen[i] = a.open.String()
		if a.closeDay != noDay {
			tb.acctClse[i] = a.close.String()
		}
		tb.acctType[i] = string(a.typ)
	}
	return tb
}

func (tb *tables) seq(n int64) string {
	if n >= 0 && n < int64(len(tb.seqs)) {
		return tb.seqs[n]
	}
	return strconv.FormatInt(n, 10)
}

// batchStats are the counts of one written batch.
type batchStats struct {
	rows  [len(ctlFilesArr)]int64
	bytes int64
}

// ctlFilesArr is the order of data files in CTL.csv and in a batch zip.
var ctlFilesArr = [...]rrs.Type{rrs.ACCT, rrs.TXN, rrs.BAL, rrs.GL, rrs.STAT, rrs.FXP}

// ctlTotals are the control totals of one data file.
type ctlTotals struct {
	present                 bool
	count                   int64
	sum, debit, credit      int64
	hasSum, hasDebitCredits bool
}

// batchWriter writes batches; one per worker goroutine, reusing its buffers.
type batchWriter struct {
	g    *region
	L    *layouts
	tb   *tables
	enc  rrs.Encoding
	zip  bool
	out  string
	vals []string
	buf  []byte
	glv  []int64
	glp  []bool
}

func newBatchWriter(g *region, L *layouts, tb *tables) *batchWriter {
	return &batchWriter{g: g, L: L, tb: tb, enc: g.cfg.Encoding, zip: g.cfg.Zip, out: g.cfg.OutDir,
		glv: make([]int64, len(glSubjects)*len(glCurrencies)), glp: make([]bool, len(glSubjects)*len(glCurrencies))}
}

// batchName returns "<inst_code>_<YYYYMMDD>_1".
func batchName(inst string, d rrs.Date) string {
	return rrs.BatchID{InstCode: inst, Date: d, Seq: 1}.String()
}

// countingWriter counts the bytes passing through.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// sink creates the files of one batch in a directory or a zip.
type sink interface {
	create(name string) (io.Writer, error)
	closeFile() error
	finish() (int64, error)
}

type dirSink struct {
	dir   string
	f     *os.File
	bytes int64
	cw    *countingWriter
}

func (d *dirSink) create(name string) (io.Writer, error) {
	f, err := os.Create(filepath.Join(d.dir, name))
	if err != nil {
		return nil, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "gen: create "+name)
	}
	d.f = f
	d.cw = &countingWriter{w: f}
	return d.cw, nil
}

func (d *dirSink) closeFile() error {
	d.bytes += d.cw.n
	if err := d.f.Close(); err != nil {
		return ronghe.WrapError(ronghe.EUNAVAILABLE, err, "gen: close file")
	}
	return nil
}

func (d *dirSink) finish() (int64, error) { return d.bytes, nil }

type zipSink struct {
	f        *os.File
	cw       *countingWriter
	zw       *zip.Writer
	modified time.Time
}

func (z *zipSink) create(name string) (io.Writer, error) {
	w, err := z.zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: z.modified})
	if err != nil {
		return nil, ronghe.WrapError(ronghe.EINTERNAL, err, "gen: zip entry "+name)
	}
	return w, nil
}

func (z *zipSink) closeFile() error { return nil }

func (z *zipSink) finish() (int64, error) {
	if err := z.zw.Close(); err != nil {
		return 0, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "gen: finish zip")
	}
	if err := z.f.Close(); err != nil {
		return 0, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "gen: close zip")
	}
	return z.cw.n, nil
}

// writeBatch writes institution b's batch of day dd. Files are written under
// a temporary name and renamed into place when complete, so a batch that
// exists is always whole.
func (w *batchWriter) writeBatch(b int, dd *dayData) (st batchStats, err error) {
	g := w.g
	in := &g.insts[b]
	plan := dd.plan[b]
	if plan != nil && plan.omit {
		return st, nil
	}
	name := batchName(in.code, dd.date)
	var sk sink
	var tmp, final string
	if w.zip {
		final = filepath.Join(w.out, name+".zip")
		tmp = filepath.Join(w.out, "."+name+".zip.tmp")
		f, err := os.Create(tmp)
		if err != nil {
			return st, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "gen: create "+tmp)
		}
		cw := &countingWriter{w: f}
		sk = &zipSink{f: f, cw: cw, zw: zip.NewWriter(cw), modified: time.Date(dd.date.Y, dd.date.M, dd.date.D, 18, 0, 0, 0, time.UTC)}
	} else {
		final = filepath.Join(w.out, name)
		tmp = filepath.Join(w.out, "."+name+".tmp")
		if err := os.RemoveAll(tmp); err != nil {
			return st, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "gen: clear "+tmp)
		}
		if err := os.Mkdir(tmp, 0o755); err != nil {
			return st, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "gen: create "+tmp)
		}
		sk = &dirSink{dir: tmp}
	}
	var ctl [len(ctlFilesArr)]ctlTotals
	file := func(t rrs.Type, l *layout, fill func(cw *rrs.Writer, tot *ctlTotals) error) error {
		out, err := sk.create(t.FileName())
		if err != nil {
			return err
		}
		cw, err := rrs.NewWriter(out, l.rt, w.enc)
		if err != nil {
			return err
		}
		tot := &ctl[ctlIndex(t)]
		tot.present = true
		if err := fill(cw, tot); err != nil {
			return err
		}
		if err := cw.Flush(); err != nil {
			return err
		}
		return sk.closeFile()
	}
	mods := func(t rrs.Type) []mod {
		if plan == nil {
			return nil
		}
		return plan.mods[t]
	}
	if err = file(rrs.ACCT, w.L.acct, func(cw *rrs.Writer, tot *ctlTotals) error { return w.writeACCT(cw, tot, b, dd, mods(rrs.ACCT)) }); err != nil {
		return st, err
	}
	if err = file(rrs.TXN, w.L.txn, func(cw *rrs.Writer, tot *ctlTotals) error { return w.writeTXN(cw, tot, b, dd, mods(rrs.TXN)) }); err != nil {
		return st, err
	}
	if err = file(rrs.BAL, w.L.bal, func(cw *rrs.Writer, tot *ctlTotals) error { return w.writeBAL(cw, tot, b, dd, mods(rrs.BAL)) }); err != nil {
		return st, err
	}
	w.sumGL(b, dd)
	if err = file(rrs.GL, w.L.gl, func(cw *rrs.Writer, tot *ctlTotals) error { return w.writeGL(cw, tot, b, dd, mods(rrs.GL)) }); err != nil {
		return st, err
	}
	if dd.date.IsMonthEnd() {
		if err = file(rrs.STAT, w.L.stat, func(cw *rrs.Writer, tot *ctlTotals) error { return w.writeSTAT(cw, tot, b, dd, mods(rrs.STAT)) }); err != nil {
			return st, err
		}
	}
	if len(dd.fxp[b]) > 0 {
		if err = file(rrs.FXP, w.L.fxp, func(cw *rrs.Writer, tot *ctlTotals) error { return w.writeFXP(cw, tot, b, dd, mods(rrs.FXP)) }); err != nil {
			return st, err
		}
	}
	out, err := sk.create(rrs.CTL.FileName())
	if err != nil {
		return st, err
	}
	cw, err := rrs.NewWriter(out, w.L.ctl.rt, w.enc)
	if err != nil {
		return st, err
	}
	if err = w.writeCTL(cw, &ctl, mods(rrs.CTL)); err != nil {
		return st, err
	}
	if err = cw.Flush(); err != nil {
		return st, err
	}
	if err = sk.closeFile(); err != nil {
		return st, err
	}
	if st.bytes, err = sk.finish(); err != nil {
		return st, err
	}
	if !w.zip {
		if err := os.RemoveAll(final); err != nil {
			return st, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "gen: replace "+final)
		}
	}
	if err := os.Rename(tmp, final); err != nil {
		return st, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "gen: rename "+tmp)
	}
	for i := range ctl {
		st.rows[i] = ctl[i].count
	}
	return st, nil
}

func ctlIndex(t rrs.Type) int {
	for i, f := range ctlFilesArr {
		if f == t {
			return i
		}
	}
	return -1
}

// values returns the reusable row slice for a record type, cleared.
func (w *batchWriter) values(l *layout) []string {
	n := len(l.rt.Fields)
	if cap(w.vals) < n {
		w.vals = make([]string, n)
	}
	w.vals = w.vals[:n]
	clear(w.vals)
	return w.vals
}

// modCursor walks a plan's modifications of one file in row order.
type modCursor struct {
	mods []mod
	i    int
}

// at returns the modifications of row; rows must be asked in ascending order.
func (c *modCursor) at(row int32) []mod {
	for c.i < len(c.mods) && c.mods[c.i].row < row {
		c.i++
	}
	j := c.i
	for j < len(c.mods) && c.mods[j].row == row {
		j++
	}
	return c.mods[c.i:j]
}

// applyMods changes a formatted row as a defect plan says and returns the
// change to the file's amount_sum and whether the row is dropped.
func applyMods(rt *rrs.RecordType, vals []string, ms []mod, sumField int) (sumDelta int64, drop bool) {
	for _, m := range ms {
		switch {
		case m.drop:
			drop = true
		case m.delta != 0:
			if rt.Fields[m.field].Kind == rrs.KindInt {
				if n, err := strconv.ParseInt(vals[m.field], 10, 64); err == nil {
					vals[m.field] = strconv.FormatInt(n+m.delta, 10)
				}
			} else if a, err := rrs.ParseAmount(vals[m.field]); err == nil {
				vals[m.field] = (a + rrs.Amount(m.delta)).String()
			}
			if m.field == sumField {
				sumDelta += m.delta
			}
		default:
			vals[m.field] = m.value
		}
	}
	return sumDelta, drop
}

func (w *batchWriter) writeTXN(cw *rrs.Writer, tot *ctlTotals, b int, dd *dayData, ms []mod) error {
	g, L, tb := w.g, w.L, w.tb
	code := g.insts[b].code
	dstr := dd.date.String()
	dcomp := dd.date.Compact()
	cur := modCursor{mods: ms}
	tot.hasSum, tot.hasDebitCredits = true, true
	for i := range dd.legs[b] {
		l := &dd.legs[b][i]
		a := &g.accts[l.acct]
		v := w.values(L.txn)
		buf := append(w.buf[:0], 'T')
		buf = append(buf, dcomp...)
		buf = appendPadded(buf, int64(i+1), 9)
		m1 := len(buf)
		buf = rrs.Amount(l.amount).AppendTo(buf)
		m2 := len(buf)
		buf = rrs.Amount(l.bal).AppendTo(buf)
		w.buf = buf
		s := string(buf)
		v[L.tInst], v[L.tAcct], v[L.tID], v[L.tDate] = code, a.no, s[:m1], dstr
		v[L.tTime], v[L.tSeq], v[L.tAmount], v[L.tCcy], v[L.tBal] = tb.times[l.time], tb.seq(int64(l.seq)), s[m1:m2], a.currency, s[m2:]
		if l.dc == 'D' {
			v[L.tDC] = "D"
			tot.debit += l.amount
		} else {
			v[L.tDC] = "C"
			tot.credit += l.amount
		}
		tot.sum += l.amount
		switch {
		case l.cpAcct >= 0:
			ca := &g.accts[l.cpAcct]
			ce := &g.ents[ca.owner]
			v[L.tCpAcct], v[L.tCpName], v[L.tCpInst], v[L.tCpUSCC] = ca.no, ce.name, g.insts[ca.inst].code, ce.uscc
		case l.ext >= 0:
			x := &g.ext[l.ext]
			v[L.tCpAcct], v[L.tCpName], v[L.tCpInst], v[L.tCpUSCC] = x.acct, x.name, x.instCode, x.uscc
		}
		v[L.tChannel], v[L.tPurpose], v[L.tRemark] = channelCodes[l.chnl], purposeCodes[l.purpose], remarks[l.remark]
		if len(ms) > 0 {
			if m := cur.at(int32(i)); len(m) > 0 {
				applyMods(L.txn.rt, v, m, -1)
			}
		}
		if err := cw.Write(v); err != nil {
			return err
		}
		tot.count++
	}
	return nil
}

func (w *batchWriter) writeBAL(cw *rrs.Writer, tot *ctlTotals, b int, dd *dayData, ms []mod) error {
	g, L, tb := w.g, w.L, w.tb
	in := &g.insts[b]
	dstr := dd.date.String()
	cur := modCursor{mods: ms}
	tot.hasSum = true
	for i := in.first; i < in.end; i++ {
		if s := dd.status[i]; s != 'A' && s != 'F' {
			continue
		}
		a := &g.accts[i]
		bs := &dd.bal[i]
		v := w.values(L.bal)
		buf := rrs.Amount(bs.open).AppendTo(w.buf[:0])
		m1 := len(buf)
		buf = rrs.Amount(bs.close).AppendTo(buf)
		m2 := len(buf)
		buf = rrs.Amount(bs.dt).AppendTo(buf)
		m3 := len(buf)
		buf = rrs.Amount(bs.ct).AppendTo(buf)
		w.buf = buf
		s := string(buf)
		v[L.bInst], v[L.bAcct], v[L.bDate], v[L.bCcy] = in.code, a.no, dstr, a.currency
		v[L.bOpen], v[L.bClose], v[L.bDT], v[L.bCT] = s[:m1], s[m1:m2], s[m2:m3], s[m3:]
		v[L.bDN], v[L.bCN] = tb.seq(int64(bs.dn)), tb.seq(int64(bs.cn))
		delta := int64(0)
		if len(ms) > 0 {
			if m := cur.at(i); len(m) > 0 {
				d, drop := applyMods(L.bal.rt, v, m, L.bClose)
				if drop {
					continue
				}
				delta = d
			}
		}
		if err := cw.Write(v); err != nil {
			return err
		}
		tot.count++
		tot.sum += bs.close + delta
	}
	return nil
}

func (w *batchWriter) writeACCT(cw *rrs.Writer, tot *ctlTotals, b int, dd *dayData, ms []mod) error {
	g, L, tb := w.g, w.L, w.tb
	in := &g.insts[b]
	cur := modCursor{mods: ms}
	for i := in.first; i < in.end; i++ {
		s := dd.status[i]
		if s == 0 {
			continue
		}
		a := &g.accts[i]
		e := &g.ents[a.owner]
		v := w.values(L.acct)
		v[L.aInst], v[L.aAcct], v[L.aType], v[L.aSubject] = in.code, a.no, tb.acctType[i], a.subject
		if a.parent >= 0 {
			v[L.aParent] = g.accts[a.parent].no
		}
		v[L.aUSCC], v[L.aName], v[L.aCcy], v[L.aOpen] = e.uscc, e.name, a.currency, tb.acctOpen[i]
		switch s {
		case 'A':
			v[L.aStatus] = "A"
		case 'F':
			v[L.aStatus] = "F"
		case 'C':
			v[L.aStatus] = "C"
			v[L.aClose] = tb.acctClse[i]
		}
		if len(ms) > 0 {
			if m := cur.at(i); len(m) > 0 {
				if _, drop := applyMods(L.acct.rt, v, m, -1); drop {
					continue
				}
			}
		}
		if err := cw.Write(v); err != nil {
			return err
		}
		tot.count++
	}
	return nil
}

// sumGL computes the ledger: Σ closing balances of the bank's accounts with a
// BAL row per (subject, currency), cash-pool masters excluded.
func (w *batchWriter) sumGL(b int, dd *dayData) {
	clear(w.glv)
	clear(w.glp)
	in := &w.g.insts[b]
	for i := in.first; i < in.end; i++ {
		if s := dd.status[i]; s != 'A' && s != 'F' {
			continue
		}
		a := &w.g.accts[i]
		if a.typ == '9' {
			continue
		}
		k := glKey(a.subject, a.currency)
		w.glv[k] += dd.bal[i].close
		w.glp[k] = true
	}
}

func (w *batchWriter) writeGL(cw *rrs.Writer, tot *ctlTotals, b int, dd *dayData, ms []mod) error {
	L := w.L
	code := w.g.insts[b].code
	dstr := dd.date.String()
	cur := modCursor{mods: ms}
	tot.hasSum = true
	for k := range w.glv {
		if !w.glp[k] {
			continue
		}
		v := w.values(L.gl)
		v[L.gInst], v[L.gDate] = code, dstr
		v[L.gSubject], v[L.gCcy] = glSubjects[k/len(glCurrencies)], glCurrencies[k%len(glCurrencies)]
		v[L.gBal] = rrs.Amount(w.glv[k]).String()
		d, drop := applyMods(L.gl.rt, v, cur.at(int32(k)), L.gBal)
		if drop {
			continue
		}
		if err := cw.Write(v); err != nil {
			return err
		}
		tot.count++
		tot.sum += w.glv[k] + d
	}
	return nil
}

func (w *batchWriter) writeSTAT(cw *rrs.Writer, tot *ctlTotals, b int, dd *dayData, ms []mod) error {
	L := w.L
	code := w.g.insts[b].code
	period := dd.date.Period().String()
	cur := modCursor{mods: ms}
	tot.hasSum = true
	for k := range w.glv {
		if !w.glp[k] {
			continue
		}
		v := w.values(L.stat)
		v[L.sInst], v[L.sPeriod] = code, period
		v[L.sItem], v[L.sCcy] = glSubjects[k/len(glCurrencies)], glCurrencies[k%len(glCurrencies)]
		v[L.sValue] = rrs.Amount(w.glv[k]).String()
		d, drop := applyMods(L.stat.rt, v, cur.at(int32(k)), L.sValue)
		if drop {
			continue
		}
		if err := cw.Write(v); err != nil {
			return err
		}
		tot.count++
		tot.sum += w.glv[k] + d
	}
	return nil
}

func (w *batchWriter) writeFXP(cw *rrs.Writer, tot *ctlTotals, b int, dd *dayData, ms []mod) error {
	L := w.L
	code := w.g.insts[b].code
	dstr := dd.date.String()
	cur := modCursor{mods: ms}
	tot.hasSum = true
	for i := range dd.fxp[b] {
		f := &dd.fxp[b][i]
		v := w.values(L.fxp)
		v[L.fInst], v[L.fID], v[L.fDate], v[L.fPID], v[L.fPName] = code, f.id, dstr, f.personID, f.personName
		v[L.fCcy], v[L.fAmt], v[L.fUSD], v[L.fPurpose] = f.currency, rrs.Amount(f.amount).String(), rrs.Amount(f.usd).String(), f.purpose
		v[L.fBName], v[L.fBAcct], v[L.fBCountry] = f.beneName, f.beneAcct, f.beneC
		d, drop := applyMods(L.fxp.rt, v, cur.at(int32(i)), L.fUSD)
		if drop {
			continue
		}
		if err := cw.Write(v); err != nil {
			return err
		}
		tot.count++
		tot.sum += f.usd + d
	}
	return nil
}

func (w *batchWriter) writeCTL(cw *rrs.Writer, ctl *[len(ctlFilesArr)]ctlTotals, ms []mod) error {
	L := w.L
	cur := modCursor{mods: ms}
	for i, t := range ctlFilesArr {
		c := &ctl[i]
		if !c.present {
			continue
		}
		v := w.values(L.ctl)
		v[L.cFile] = string(t)
		v[L.cCount] = strconv.FormatInt(c.count, 10)
		if c.hasSum {
			v[L.cSum] = rrs.Amount(c.sum).String()
		}
		if c.hasDebitCredits {
			v[L.cDebit], v[L.cCredit] = rrs.Amount(c.debit).String(), rrs.Amount(c.credit).String()
		}
		if _, drop := applyMods(L.ctl.rt, v, cur.at(int32(i)), -1); drop {
			continue
		}
		if err := cw.Write(v); err != nil {
			return err
		}
	}
	return nil
}
