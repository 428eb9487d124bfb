package gen

import (
	"math"
	"slices"
	"strconv"

	"github.com/ronghe/ronghe/rrs"
)

// This file injects defects. Every injection is planned on the simulated day,
// before the writers run, as a list of changes to written rows (mods). The
// findings an RRS-1 rule engine must then report are not enumerated by hand:
// they are computed from the changed values with the rules' own logic, in
// four exact steps —
//
//   - the injected row's own field finding (L01–L10, S02, T01);
//   - a re-check of every touched account-day (S03, C02, C03, C04), with rows
//     that got an L01/L02 finding taking no part, as RRS-1 §3 says;
//   - ledger oracles per batch for the (subject, currency) keys touched (S01
//     and, at month end, T02), and per day for the bank pairs touched (T03);
//   - a continuity oracle that follows every account's last reported closing
//     balance across batches (C01), so a corrupted master balance, a missing
//     BAL row or a missing batch yields its C01 findings the next day.
//
// Injections never share an account-day, a GL/STAT key, an FXP row or a CTL
// file, so each injection's consequences can be read in isolation in
// README.md; the oracles make the combined truth exact regardless.

// mod is one change a defect makes to a written row.
type mod struct {
	row   int32  // TXN: leg index; ACCT, BAL: account index; GL, STAT: glKey; FXP: row; CTL: file index
	field int    // position in the record type's fields
	value string // replacement value (when delta == 0 and !drop)
	delta int64  // added to a numeric value (cents or count)
	drop  bool   // leave the row out
}

// batchPlan is the set of changes the defect injector makes to one batch.
type batchPlan struct {
	omit bool
	mods map[rrs.Type][]mod
}

func (p *batchPlan) add(t rrs.Type, m mod) {
	if p.mods == nil {
		p.mods = map[rrs.Type][]mod{}
	}
	p.mods[t] = append(p.mods[t], m)
}

// legMod is the planner's view of a changed TXN row.
type legMod struct {
	rule     string
	out      bool  // L01/L02: takes no part in S, C and T rules
	balDelta int64 // C03
	seqDelta int64 // C04
	cpBlank  bool  // T03
	id       string
}

// balMod is the planner's view of a changed BAL row.
type balMod struct {
	rule       string
	drop       bool
	closeDelta int64
	dtDelta    int64
	dnDelta    int64
	cnDelta    int64
}

// planner decides, day by day, which defects to inject and computes the
// findings they cause.
type planner struct {
	g        *region
	L        *layouts
	on       map[string]bool
	thr      uint64 // a unit gets a rule's defect when a draw < thr
	injected int

	// continuity oracle, per account
	lastClose []int64
	reported  []bool
	cause     []string // why the next C01 comparison may fail
	// C01 shifts of the current day
	shift map[int32]int64
	// C05: the day each bank last omitted a batch (-2: never), and the
	// batches left out today (decided before the day is simulated)
	omitted   []int32
	omitToday []bool
	// C06: each bank's TXN row counts of its last 7 written batches (the
	// volume oracle), today's outage bank (-1: none), the last day any
	// bank's postings were moved by an outage or its backlog, and that
	// day per bank
	hist    [][]int
	outBank int32
	volDay  int32
	moved   []int32
}

func newPlanner(g *region, L *layouts) *planner {
	p := &planner{g: g, L: L, on: map[string]bool{}, outBank: -1, volDay: -100}
	for _, r := range g.cfg.DefectRules {
		p.on[r] = true
	}
	switch rate := g.cfg.DefectRate; {
	case rate <= 0:
		p.thr = 0
	case rate >= 1:
		p.thr = math.MaxUint64
	default:
		p.thr = uint64(math.Ldexp(rate, 64))
	}
	if p.thr == 0 {
		return p
	}
	n := len(g.accts)
	p.lastClose, p.reported, p.cause = make([]int64, n), make([]bool, n), make([]string, n)
	p.omitted = make([]int32, len(g.insts))
	for i := range p.omitted {
		p.omitted[i] = -2
	}
	p.omitToday = make([]bool, len(g.insts))
	p.hist = make([][]int, len(g.insts))
	p.moved = make([]int32, len(g.insts))
	for i := range p.moved {
		p.moved[i] = -100
	}
	return p
}

func (p *planner) active() bool { return p.thr > 0 }

// hit draws one unit's chance of a defect of rule.
func (p *planner) hit(r *rng, rule string) bool { return p.on[rule] && r.u64() < p.thr }

// beforeDay returns the unreported balance adjustments (C01 defects) to make
// at the start of day t: an account's balance changes between two batches
// without a transaction, so its opening balance no longer continues the last
// reported closing balance.
//
// It also decides the day's batch-level defects that must be known before
// the day is simulated: the batches left out (C05) and the bank whose
// postings are held over (C06).
func (p *planner) beforeDay(t int32) map[int32]int64 {
	p.shift = nil
	if !p.active() {
		return nil
	}
	g := p.g
	for b := range g.insts {
		p.omitToday[b] = false
		if p.omits(t, b) {
			p.omitToday[b] = true
			p.omitted[b] = t
			p.injected++
		}
	}
	p.chooseOutage(t)
	if !p.on["C01"] || t == 0 {
		return nil
	}
	for b := range g.insts {
		r := deriveRNG(g.cfg.Seed, tagDefect, uint64(t), uint64(b), 1)
		in := &g.insts[b]
		for a := in.first; a < in.end; a++ {
			am := &g.accts[a]
			if am.typ == '9' || am.parent >= 0 || !balRow(am.statusOn(t)) || !balRow(am.statusOn(t-1)) {
				continue
			}
			if r.u64() < p.thr {
				if p.shift == nil {
					p.shift = map[int32]int64{}
				}
				p.shift[a] = r.between(1, 500) * 100
				p.injected++
			}
		}
	}
	return p.shift
}

func balRow(s byte) bool { return s == 'A' || s == 'F' }

// dayPlan is the planning state of one day.
type dayPlan struct {
	p        *planner
	dd       *dayData
	findings []Finding
	// T03 deltas: [from][to] debit side and credit side, and a cause
	mirrorD, mirrorC map[[2]int]int64
	mirrorCause      map[[2]int]string
}

// bPlan is the planning state of one batch.
type bPlan struct {
	*dayPlan
	b        int
	name     string
	plan     *batchPlan
	r        rng
	claimed  map[int32]bool // account-days
	legMods  map[int32]*legMod
	balMods  map[int32]*balMod
	acctMods map[int32]string // ACCT rows changed (rule)
	fxpMods  map[int32]bool
	glDelta  map[int]int64
	glCause  map[int]string
	stDelta  map[int]int64
	byAcct   [][]int32 // legs per account (index a - first)
}

func (bp *bPlan) find(rule string, typ rrs.Type, key, field, cause string) {
	bp.findings = append(bp.findings, Finding{Rule: rule, Batch: bp.name, Type: string(typ), Key: key, Field: field, Cause: cause})
}

// txnID is the ID of the i-th TXN row (0-based) of a batch on date d.
func txnID(d rrs.Date, i int) string {
	b := append([]byte{'T'}, d.Compact()...)
	return string(appendPadded(b, int64(i+1), 9))
}

// planDay plans the defects of the simulated day dd, fills dd.plan and writes
// the day's findings (and those the day's changes cause in it) to tw.
func (p *planner) planDay(dd *dayData, tw *truthWriter) error {
	for b := range dd.plan {
		dd.plan[b] = nil
	}
	if !p.active() {
		return nil
	}
	g := p.g
	t := dd.t
	dp := &dayPlan{p: p, dd: dd, mirrorD: map[[2]int]int64{}, mirrorC: map[[2]int]int64{}, mirrorCause: map[[2]int]string{}}
	// C05 first: a batch left out entirely (decided in beforeDay).
	for b := range g.insts {
		dd.plan[b] = &batchPlan{omit: p.omitToday[b]}
	}
	for b := range g.insts {
		if dd.plan[b].omit {
			in := &g.insts[b]
			for a := in.first; a < in.end; a++ {
				if p.cause[a] == "" {
					p.cause[a] = "C05"
				}
			}
			continue
		}
		bp := &bPlan{dayPlan: dp, b: b, name: batchName(g.insts[b].code, dd.date), plan: dd.plan[b],
			r: deriveRNG(g.cfg.Seed, tagDefect, uint64(t), uint64(b), 3), claimed: map[int32]bool{},
			legMods: map[int32]*legMod{}, balMods: map[int32]*balMod{}, acctMods: map[int32]string{}, fxpMods: map[int32]bool{},
			glDelta: map[int]int64{}, glCause: map[int]string{}, stDelta: map[int]int64{}}
		if p.omitted[b] == t-1 {
			bp.find("C05", "BATCH", g.dates[t-1].String(), "", "C05")
		}
		for a := range p.shift {
			if g.accts[a].inst == int32(b) {
				bp.claimed[a] = true
			}
		}
		bp.inject()
		bp.consequences()
		bp.volume()
		bp.finishPlan()
	}
	dp.mirror()
	slices.SortFunc(dp.findings, func(a, b Finding) int {
		switch {
		case a.Batch != b.Batch:
			return cmpStr(a.Batch, b.Batch)
		case a.Rule != b.Rule:
			return cmpStr(a.Rule, b.Rule)
		case a.Type != b.Type:
			return cmpStr(a.Type, b.Type)
		}
		return cmpStr(a.Key, b.Key)
	})
	for i, f := range dp.findings {
		if i > 0 {
			if prev := dp.findings[i-1]; prev.Rule == f.Rule && prev.Batch == f.Batch && prev.Type == f.Type && prev.Key == f.Key {
				continue // one finding per identity
			}
		}
		if err := tw.write(f); err != nil {
			return err
		}
	}
	return nil
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// finish writes findings still pending at the end of the period (none: every
// consequence falls on a batch of the period).
func (p *planner) finish(tw *truthWriter) error { return nil }

// inject chooses this batch's defects.
func (bp *bPlan) inject() {
	g, dd := bp.p.g, bp.dd
	in := &g.insts[bp.b]
	L := bp.p.L
	legs := dd.legs[bp.b]
	r := &bp.r
	// Legs per account.
	n := int(in.end - in.first)
	bp.byAcct = make([][]int32, n)
	for i := range legs {
		k := legs[i].acct - in.first
		bp.byAcct[k] = append(bp.byAcct[k], int32(i))
	}
	hasBAL := func(a int32) bool { return balRow(dd.status[a]) }
	free := func(a int32) bool { return !bp.claimed[a] }
	claim := func(a int32) { bp.claimed[a] = true; bp.p.injected++ }

	// Batch units: T01, T03.
	if bp.p.hit(r, "T01") {
		var files []int
		for i, t := range ctlFilesArr {
			if t == rrs.STAT && !dd.date.IsMonthEnd() || t == rrs.FXP && len(dd.fxp[bp.b]) == 0 {
				continue
			}
			files = append(files, i)
		}
		f := files[r.intn(len(files))]
		bp.plan.add(rrs.CTL, mod{row: int32(f), field: L.cCount, delta: 1})
		bp.find("T01", rrs.CTL, string(ctlFilesArr[f]), "record_count", "T01")
		bp.p.injected++
	}
	if bp.p.hit(r, "T03") {
		var cands []int32
		for i := range legs {
			l := &legs[i]
			if l.cpAcct >= 0 {
				other := g.accts[l.cpAcct].inst
				if other != int32(bp.b) && !dd.plan[other].omit && free(l.acct) {
					cands = append(cands, int32(i))
				}
			}
		}
		if len(cands) > 0 {
			i := cands[r.intn(len(cands))]
			bp.legMods[i] = &legMod{rule: "T03", cpBlank: true}
			bp.plan.add(rrs.TXN, mod{row: i, field: L.tCpInst, value: ""})
			claim(legs[i].acct)
		}
	}
	// Account-day units.
	for a := in.first; a < in.end; a++ {
		st := dd.status[a]
		if st == 0 {
			continue
		}
		am := &g.accts[a]
		nLegs := len(bp.byAcct[a-in.first])
		if am.typ == '9' {
			if hasBAL(a) && free(a) && bp.p.hit(r, "S02") {
				d := r.between(1, 1000) * 100
				bp.balMods[a] = &balMod{rule: "S02", closeDelta: d}
				bp.plan.add(rrs.BAL, mod{row: a, field: L.bClose, delta: d})
				bp.find("S02", rrs.BAL, am.no+"|"+dd.date.String(), "close_bal", "S02")
				claim(a)
			}
			continue
		}
		switch {
		case free(a) && bp.p.hit(r, "L03"):
			v := corruptUSCC(r, g.ents[am.owner].uscc)
			bp.acctMods[a] = "L03"
			bp.plan.add(rrs.ACCT, mod{row: a, field: L.aUSCC, value: v})
			bp.find("L03", rrs.ACCT, am.no, "uscc", "L03")
			claim(a)
		case free(a) && am.parent < 0 && bp.p.hit(r, "L09"):
			bp.acctMods[a] = "L09"
			v := string(appendPadded(appendPadded(nil, int64(in.acctPrefix), 5), int64(98_000_000_000_000)+int64(a), 15))
			bp.plan.add(rrs.ACCT, mod{row: a, field: L.aParent, value: v})
			bp.find("L09", rrs.ACCT, am.no, "parent_acct_no", "L09")
			claim(a)
		case free(a) && hasBAL(a) && am.parent < 0 && bp.p.hit(r, "L10"):
			bp.balMods[a] = &balMod{rule: "L10", drop: true}
			bp.plan.add(rrs.BAL, mod{row: a, drop: true})
			bp.find("L10", rrs.ACCT, am.no, "", "L10")
			claim(a)
		case free(a) && hasBAL(a) && bp.p.hit(r, "S03"):
			m := &balMod{rule: "S03"}
			if r.chance(500) {
				m.dnDelta = 1
				bp.plan.add(rrs.BAL, mod{row: a, field: L.bDN, delta: 1})
			} else {
				m.cnDelta = 1
				bp.plan.add(rrs.BAL, mod{row: a, field: L.bCN, delta: 1})
			}
			bp.balMods[a] = m
			claim(a)
		case free(a) && hasBAL(a) && bp.p.hit(r, "C02"):
			d := r.between(1, 100) * 100
			bp.balMods[a] = &balMod{rule: "C02", dtDelta: d}
			bp.plan.add(rrs.BAL, mod{row: a, field: L.bDT, delta: d})
			claim(a)
		case free(a) && nLegs > 0 && bp.p.hit(r, "C04"):
			lastLeg := bp.byAcct[a-in.first][nLegs-1]
			bp.legMods[lastLeg] = &legMod{rule: "C04", seqDelta: 1}
			bp.plan.add(rrs.TXN, mod{row: lastLeg, field: L.tSeq, delta: 1})
			claim(a)
		}
	}
	// TXN-row units.
	for i := range legs {
		l := &legs[i]
		a := l.acct
		if !free(a) {
			continue
		}
		am := &g.accts[a]
		nLegs := len(bp.byAcct[a-in.first])
		switch {
		case hasBAL(a) && nLegs >= 2 && bp.p.hit(r, "L01"):
			fields := []struct {
				name string
				ix   int
			}{{"txn_time", L.tTime}, {"channel", L.tChannel}, {"purpose", L.tPurpose}, {"txn_date", L.tDate}, {"currency", L.tCcy}}
			f := fields[r.intn(len(fields))]
			bp.legMods[int32(i)] = &legMod{rule: "L01", out: true}
			bp.plan.add(rrs.TXN, mod{row: int32(i), field: f.ix, value: ""})
			bp.find("L01", rrs.TXN, txnID(dd.date, i), f.name, "L01")
			claim(a)
		case hasBAL(a) && nLegs >= 2 && bp.p.hit(r, "L02"):
			var v, name string
			var ix int
			switch r.intn(3) {
			case 0:
				v, name, ix = "24:"+strconv.Itoa(10+r.intn(50))+":"+strconv.Itoa(10+r.intn(50)), "txn_time", L.tTime
			case 1:
				v, name, ix = strconv.Itoa(dd.date.Y)+"-02-30", "txn_date", L.tDate
			default:
				v, name, ix = strconv.Itoa(int(l.seq))+".0", "txn_seq", L.tSeq
			}
			bp.legMods[int32(i)] = &legMod{rule: "L02", out: true}
			bp.plan.add(rrs.TXN, mod{row: int32(i), field: ix, value: v})
			bp.find("L02", rrs.TXN, txnID(dd.date, i), name, "L02")
			claim(a)
		case bp.hasCpUSCC(l) && bp.p.hit(r, "L03"):
			bp.legMods[int32(i)] = &legMod{rule: "L03"}
			bp.plan.add(rrs.TXN, mod{row: int32(i), field: L.tCpUSCC, value: corruptUSCC(r, bp.cpUSCC(l))})
			bp.find("L03", rrs.TXN, txnID(dd.date, i), "cp_uscc", "L03")
			claim(a)
		case bp.p.hit(r, "L06"):
			name, ix, v := "channel", L.tChannel, "07"
			if r.chance(500) {
				name, ix, v = "purpose", L.tPurpose, "ZZZ"
			}
			bp.legMods[int32(i)] = &legMod{rule: "L06"}
			bp.plan.add(rrs.TXN, mod{row: int32(i), field: ix, value: v})
			bp.find("L06", rrs.TXN, txnID(dd.date, i), name, "L06")
			claim(a)
		case bp.p.hit(r, "L07"):
			v := "USD"
			if am.currency != "CNY" {
				v = "CNY"
			}
			bp.legMods[int32(i)] = &legMod{rule: "L07"}
			bp.plan.add(rrs.TXN, mod{row: int32(i), field: L.tCcy, value: v})
			bp.find("L07", rrs.TXN, txnID(dd.date, i), "currency", "L07")
			claim(a)
		case i > 0 && bp.p.hit(r, "L08"):
			// Reuse the ID of an earlier row of another, untouched account.
			for tries := 0; tries < 8; tries++ {
				j := r.intn(i)
				if b := legs[j].acct; b != a && free(b) {
					id := txnID(dd.date, j)
					bp.legMods[int32(i)] = &legMod{rule: "L08", id: id}
					bp.plan.add(rrs.TXN, mod{row: int32(i), field: L.tID, value: id})
					bp.find("L08", rrs.TXN, id, "txn_id", "L08")
					claim(a)
					bp.claimed[b] = true
					break
				}
			}
		case bp.p.hit(r, "L09"):
			bp.legMods[int32(i)] = &legMod{rule: "L09"}
			bp.plan.add(rrs.TXN, mod{row: int32(i), field: L.tInst, value: bp.otherInstCode()})
			bp.find("L09", rrs.TXN, txnID(dd.date, i), "inst_code", "L09")
			claim(a)
		case hasBAL(a) && bp.p.hit(r, "C03"):
			d := r.between(1, 100) * 100
			bp.legMods[int32(i)] = &legMod{rule: "C03", balDelta: d}
			bp.plan.add(rrs.TXN, mod{row: int32(i), field: L.tBal, delta: d})
			claim(a)
		}
	}
	// FXP rows.
	for i := range dd.fxp[bp.b] {
		f := &dd.fxp[bp.b][i]
		switch {
		case bp.p.hit(r, "L04"):
			bp.plan.add(rrs.FXP, mod{row: int32(i), field: L.fPID, value: corruptResidentID(r, f.personID)})
			bp.find("L04", rrs.FXP, f.id, "person_id", "L04")
			bp.p.injected++
		case bp.p.hit(r, "L05"):
			if r.chance(500) {
				bp.plan.add(rrs.FXP, mod{row: int32(i), field: L.fCcy, value: "CNY"})
				bp.find("L05", rrs.FXP, f.id, "currency", "L05")
			} else {
				bp.plan.add(rrs.FXP, mod{row: int32(i), field: L.fBCountry, value: "ZZ"})
				bp.find("L05", rrs.FXP, f.id, "bene_country", "L05")
			}
			bp.p.injected++
		case bp.p.hit(r, "L07"):
			bp.plan.add(rrs.FXP, mod{row: int32(i), field: L.fDate, value: dd.date.AddDays(-1).String()})
			bp.find("L07", rrs.FXP, f.id, "txn_date", "L07")
			bp.p.injected++
		}
	}
	// GL and STAT rows.
	keys := bp.glKeys()
	for _, k := range keys {
		if bp.p.hit(r, "S01") {
			d := r.between(1, 1000) * 100
			bp.glDelta[k] += d
			bp.glCause[k] = "S01"
			bp.plan.add(rrs.GL, mod{row: int32(k), field: L.gBal, delta: d})
			bp.p.injected++
		}
	}
	if dd.date.IsMonthEnd() {
		for _, k := range keys {
			if bp.p.hit(r, "T02") {
				d := r.between(1, 1000) * 100
				bp.stDelta[k] += d
				bp.plan.add(rrs.STAT, mod{row: int32(k), field: L.sValue, delta: d})
				bp.p.injected++
			}
		}
	}
}

// glKeys returns the GL keys the batch has, in writing order.
func (bp *bPlan) glKeys() []int {
	g, dd := bp.p.g, bp.dd
	in := &g.insts[bp.b]
	seen := make([]bool, len(glSubjects)*len(glCurrencies))
	for a := in.first; a < in.end; a++ {
		if balRow(dd.status[a]) && g.accts[a].typ != '9' {
			seen[glKey(g.accts[a].subject, g.accts[a].currency)] = true
		}
	}
	var out []int
	for k, s := range seen {
		if s {
			out = append(out, k)
		}
	}
	return out
}

func (bp *bPlan) cpUSCC(l *leg) string {
	g := bp.p.g
	switch {
	case l.cpAcct >= 0:
		return g.ents[g.accts[l.cpAcct].owner].uscc
	case l.ext >= 0:
		return g.ext[l.ext].uscc
	}
	return ""
}

func (bp *bPlan) hasCpUSCC(l *leg) bool { return bp.cpUSCC(l) != "" }

// otherInstCode returns a well-formed institution code that is not the
// sender's: another bank of the region, or a code of the same scheme that
// no bank has.
func (bp *bPlan) otherInstCode() string {
	g := bp.p.g
	if len(g.insts) > 1 {
		return g.insts[(bp.b+1)%len(g.insts)].code
	}
	return makeInstCode(2, g.insts[0].division, 9999)
}

// corruptUSCC returns s with a wrong check character: still 18 characters of
// the code alphabet, so only rule L03 fails.
func corruptUSCC(r *rng, s string) string {
	const alpha = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	idx := 0
	for i := 0; i < len(alpha); i++ {
		if alpha[i] == s[17] {
			idx = i
		}
	}
	return s[:17] + string(alpha[(idx+1+r.intn(30))%31])
}

// corruptResidentID returns an 18-character ID that fails rule L04 only:
// either a wrong check character, or a birth date of 30 February with a check
// character that is right for it.
func corruptResidentID(r *rng, id string) string {
	if r.chance(500) {
		const checks = "0123456789X"
		k := 0
		for i := 0; i < len(checks); i++ {
			if checks[i] == id[17] {
				k = i
			}
		}
		return id[:17] + string(checks[(k+1+r.intn(10))%11])
	}
	first := id[:10] + "0230" + id[14:17]
	c, _ := rrs.ResidentIDCheckChar(first)
	return first + string(c)
}

// consequences computes the findings the batch's changes cause beyond the
// injected rows' own: account-day re-checks, S01/T02 oracles, C01 oracle and
// the T03 deltas.
func (bp *bPlan) consequences() {
	p, g, dd := bp.p, bp.p.g, bp.dd
	in := &g.insts[bp.b]
	legs := dd.legs[bp.b]
	date := dd.date.String()
	// Touched account-days.
	touched := map[int32]string{}
	for i, m := range bp.legMods {
		touched[legs[i].acct] = m.rule
	}
	for a, m := range bp.balMods {
		touched[a] = m.rule
	}
	accts := make([]int32, 0, len(touched))
	for a := range touched {
		accts = append(accts, a)
	}
	slices.Sort(accts)
	for _, a := range accts {
		am := &g.accts[a]
		bm := bp.balMods[a]
		// Without a BAL row (a master, an account closed today, an L10
		// defect) S03, C02 and C03 are not checked, C04 is.
		hasBAL := am.typ != '9' && balRow(dd.status[a]) && (bm == nil || !bm.drop)
		cause := touched[a]
		key := am.no + "|" + date
		bs := dd.bal[a]
		open, close, dt, ct := bs.open, bs.close, bs.dt, bs.ct
		dn, cn := int64(bs.dn), int64(bs.cn)
		if bm != nil {
			close += bm.closeDelta
			dt += bm.dtDelta
			dn += bm.dnDelta
			cn += bm.cnDelta
		}
		type row struct {
			seq, amount, bal int64
			dc               byte
			id               string
		}
		var rows []row
		var sdt, sct, sdn, scn int64
		for _, li := range bp.byAcct[a-in.first] {
			l := &legs[li]
			rw := row{seq: int64(l.seq), amount: l.amount, bal: l.bal, dc: l.dc, id: txnID(dd.date, int(li))}
			if m := bp.legMods[li]; m != nil {
				if m.out {
					continue
				}
				rw.seq += m.seqDelta
				rw.bal += m.balDelta
				if m.id != "" {
					rw.id = m.id
				}
			}
			if rw.dc == 'D' {
				sdt += rw.amount
				sdn++
			} else {
				sct += rw.amount
				scn++
			}
			rows = append(rows, rw)
		}
		slices.SortStableFunc(rows, func(x, y row) int { return cmpI64(x.seq, y.seq) })
		for k, rw := range rows {
			if rw.seq != int64(k+1) {
				bp.find("C04", rrs.BAL, key, "txn_seq", cause)
				break
			}
		}
		if !hasBAL {
			continue
		}
		if sdt != dt || sct != ct || sdn != dn || scn != cn {
			bp.find("S03", rrs.BAL, key, "", cause)
		}
		if close != open+ct-dt {
			bp.find("C02", rrs.BAL, key, "close_bal", cause)
		}
		prev := open
		for _, rw := range rows {
			want := prev + rw.amount
			if rw.dc == 'D' {
				want = prev - rw.amount
			}
			if rw.bal != want {
				bp.find("C03", rrs.TXN, rw.id, "balance", cause)
			}
			prev = rw.bal
		}
		if len(rows) > 0 && close != prev {
			bp.find("C03", rrs.BAL, key, "close_bal", cause)
		}
	}
	// S01 and T02 oracles.
	dropped := map[int]int64{}
	droppedCause := map[int]string{}
	for a, m := range bp.balMods {
		if m.drop {
			k := glKey(g.accts[a].subject, g.accts[a].currency)
			dropped[k] += dd.bal[a].close
			droppedCause[k] = m.rule
		}
	}
	for _, k := range bp.glKeys() {
		key := glSubjects[k/len(glCurrencies)] + "|" + glCurrencies[k%len(glCurrencies)]
		if bp.glDelta[k] != -dropped[k] {
			cause := bp.glCause[k]
			if cause == "" {
				cause = droppedCause[k]
			}
			bp.find("S01", rrs.GL, key, "balance", cause)
		}
		if dd.date.IsMonthEnd() && bp.stDelta[k] != bp.glDelta[k] {
			cause := "T02"
			if bp.stDelta[k] == 0 {
				cause = "S01"
			}
			bp.find("T02", rrs.STAT, key, "value", cause)
		}
	}
	// C01 oracle over every account of the bank.
	for a := in.first; a < in.end; a++ {
		if !balRow(dd.status[a]) {
			continue
		}
		bm := bp.balMods[a]
		if bm != nil && bm.drop {
			if p.cause[a] == "" {
				p.cause[a] = bm.rule
			}
			continue
		}
		am := &g.accts[a]
		open := dd.bal[a].open
		cause := p.cause[a]
		if _, ok := p.shift[a]; ok {
			cause = "C01"
		}
		switch {
		case p.reported[a]:
			if p.lastClose[a] != open {
				bp.find("C01", rrs.BAL, am.no+"|"+date, "open_bal", cause)
			}
		case am.openDay == dd.t:
			if open != 0 {
				bp.find("C01", rrs.BAL, am.no+"|"+date, "open_bal", cause)
			}
		}
		p.reported[a] = true
		p.lastClose[a] = dd.bal[a].close
		p.cause[a] = ""
		if bm != nil && bm.closeDelta != 0 {
			p.lastClose[a] += bm.closeDelta
			p.cause[a] = bm.rule
		}
	}
	// T03 deltas.
	for i, m := range bp.legMods {
		l := &legs[i]
		if (!m.out && !m.cpBlank) || l.cpAcct < 0 {
			continue
		}
		other := int(g.accts[l.cpAcct].inst)
		if other == bp.b {
			continue
		}
		if l.dc == 'D' {
			k := [2]int{bp.b, other}
			bp.mirrorD[k] += l.amount
			bp.setMirrorCause(k, m.rule)
		} else {
			k := [2]int{other, bp.b}
			bp.mirrorC[k] += l.amount
			bp.setMirrorCause(k, m.rule)
		}
	}
}

func (dp *dayPlan) setMirrorCause(k [2]int, rule string) {
	if c, ok := dp.mirrorCause[k]; !ok || rule < c {
		dp.mirrorCause[k] = rule
	}
}

// finishPlan sorts the batch's mods by row, as the writers walk them.
func (bp *bPlan) finishPlan() {
	for t, ms := range bp.plan.mods {
		slices.SortStableFunc(ms, func(a, b mod) int { return int(a.row) - int(b.row) })
		bp.plan.mods[t] = ms
	}
}

// mirror turns the day's T03 deltas into findings: the mirror of a pair
// breaks when the amounts taken out of its two sides differ.
func (dp *dayPlan) mirror() {
	g := dp.p.g
	keys := map[[2]int]bool{}
	for k := range dp.mirrorD {
		keys[k] = true
	}
	for k := range dp.mirrorC {
		keys[k] = true
	}
	sorted := make([][2]int, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	slices.SortFunc(sorted, func(a, b [2]int) int {
		if a[0] != b[0] {
			return a[0] - b[0]
		}
		return a[1] - b[1]
	})
	for _, k := range sorted {
		if dp.mirrorD[k] == dp.mirrorC[k] || dp.dd.plan[k[0]].omit || dp.dd.plan[k[1]].omit {
			continue // balanced, or not checked because a batch never arrives
		}
		from, to := k[0], k[1]
		cause := dp.mirrorCause[k]
		dp.findings = append(dp.findings,
			Finding{Rule: "T03", Batch: batchName(g.insts[from].code, dp.dd.date), Type: "BATCH", Key: g.insts[to].code, Cause: cause},
			Finding{Rule: "T03", Batch: batchName(g.insts[to].code, dp.dd.date), Type: "BATCH", Key: g.insts[from].code, Cause: cause})
	}
}
