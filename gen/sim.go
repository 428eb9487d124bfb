package gen

import (
	"time"

	"github.com/ronghe/ronghe/rrs"
)

// Purposes, channels and remarks are small integers in the hot path and
// strings only when a row is written.
const (
	pSAL uint8 = iota
	pTAX
	pUTL
	pGDS
	pLON
	pINT
	pTRF
	pCSH
	pOTH
)

var purposeCodes = [...]string{"SAL", "TAX", "UTL", "GDS", "LON", "INT", "TRF", "CSH", "OTH"}

const (
	chCounter uint8 = iota
	chOnline
	chMobile
	chATM
	chPOS
	chLink
	chOther
)

var channelCodes = [...]string{"01", "02", "03", "04", "05", "06", "99"}

const (
	rmNone uint16 = iota
	rmGoods
	rmService
	rmPayroll
	rmBonus
	rmVAT
	rmCIT
	rmIIT
	rmSmallVAT
	rmSocial
	rmHousing
	rmPower
	rmWater
	rmTelecom
	rmLoanDraw
	rmLoanRepay
	rmLoanInterest
	rmDepositInterest
	rmTDInterest
	rmTDMature
	rmSweep
	rmInternal
	rmFXSettle
	rmExportReceipt
	rmImportPayment
	rmCashIn
	rmPettyCash
	rmPOS
	rmOnlinePay
	rmConsulting
	rmCurrent
	rmTransfer
	rmCapital
	rmWagesFund
	rmHouseSale
	rmEscrowRelease
	rmCloseOut
	rmInvest
	rmTDOpen
	rmProject
)

var remarks = [...]string{
	rmNone: "", rmGoods: "货款", rmService: "服务费", rmPayroll: "代发工资", rmBonus: "年终奖",
	rmVAT: "增值税及附加", rmCIT: "企业所得税预缴", rmIIT: "个人所得税(代扣代缴)", rmSmallVAT: "小规模纳税人增值税",
	rmSocial: "社会保险费", rmHousing: "住房公积金", rmPower: "电费", rmWater: "水费", rmTelecom: "通讯费",
	rmLoanDraw: "贷款发放", rmLoanRepay: "归还贷款本金", rmLoanInterest: "贷款利息", rmDepositInterest: "存款利息",
	rmTDInterest: "定期存款利息", rmTDMature: "定期存款到期转活期", rmSweep: "资金归集", rmInternal: "内部调拨",
	rmFXSettle: "结汇", rmExportReceipt: "出口收汇", rmImportPayment: "进口付汇", rmCashIn: "现金存入",
	rmPettyCash: "备用金", rmPOS: "POS收单清算", rmOnlinePay: "网络支付清算", rmConsulting: "咨询服务费",
	rmCurrent: "往来款", rmTransfer: "转账", rmCapital: "注册资本金", rmWagesFund: "农民工工资专户划拨",
	rmHouseSale: "购房款", rmEscrowRelease: "监管资金拨付", rmCloseOut: "账户结清", rmInvest: "购买理财产品",
	rmTDOpen: "转存定期", rmProject: "工程款",
}

// Event flags.
const (
	evResizable uint8 = 1 << iota // pay what the balance allows (≥ 10 %)
	evSweepAll                    // amount = refPermille ‰ of the payer's balance at that moment
	evRoundYuan                   // keep resized amounts in whole yuan
)

// event is one intended payment. The simulation generates a day's events for
// the whole region, orders them by time and applies them one by one, so a
// payment that the payer cannot afford is resized or dropped exactly as a
// bank would reject it.
type event struct {
	amount      int64
	from, to    int32 // accounts, or -1 for outside the region
	ext         int32 // the outside party, or -1 for none (cash)
	ref         int32 // event whose applied amount this one forwards, or -1
	refPermille int32
	time        int32
	purpose     uint8
	channel     uint8
	flags       uint8
	remark      uint16
}

// leg is one side of an applied payment: one TXN row.
type leg struct {
	amount, bal   int64
	acct, cpAcct  int32
	ext           int32
	seq, time     int32
	dc            byte
	purpose, chnl uint8
	remark        uint16
}

// acctState is an account's running state.
type acctState struct {
	bal, open, dt, ct int64
	accr              int64 // Σ closing balances since the last interest settlement
	dn, cn, seq       int32
	status            byte // 0 not open or gone, 'A', 'F', 'X' (closes today), 'C' (closed)
}

// balSnap is an account's BAL figures of one day.
type balSnap struct {
	open, close, dt, ct int64
	dn, cn              int32
}

// entState is an enterprise's running bookkeeping, for taxes.
type entState struct {
	salesM, purchM, prevSalesM, prevPurchM int64
	salesQ, prevSalesQ                     int64
}

// fxpRow is one purchase of foreign exchange by an individual.
type fxpRow struct {
	id, personID, personName  string
	currency, purpose         string
	beneName, beneAcct, beneC string
	amount, usd               int64
	ring                      int32
}

// dayData is everything the writers need for one business date. The
// simulation fills one while the writers write the previous ones.
type dayData struct {
	t      int32
	date   rrs.Date
	legs   [][]leg    // per institution, in time order
	status []byte     // per account: 'A', 'F', 'C' (closed today) or 0 (not listed)
	bal    []balSnap  // per account with status A or F
	fxp    [][]fxpRow // per institution
	plan   []*batchPlan
}

// sim runs the economy day by day.
type sim struct {
	g        *region
	st       []acctState
	es       []entState
	events   []event
	order    []int32
	buckets  []int32
	applied  []int64
	fxUsed   map[int32]int64 // person → USD cents bought this calendar year
	fxYear   int
	ringTxns [][]ringTxn
	cal      dayCal
	// C06 outages: postings held over to the next day, and the working
	// state of applyDay
	backlog  []event
	deferred []int32
	snapSt   []acctState
	snapEs   []entState
	moved    []bool // per bank: postings held over or booked late today
}

// ringTxn records one purchase of an FX ring, for the labels.
type ringTxn struct {
	Inst, TxnID, PersonID string
	Date                  rrs.Date
	AmountUSD             int64
}

func newSim(g *region) *sim {
	s := &sim{
		g:        g,
		st:       make([]acctState, len(g.accts)),
		es:       make([]entState, len(g.ents)),
		fxUsed:   map[int32]int64{},
		ringTxns: make([][]ringTxn, len(g.rings)),
	}
	for i := range g.accts {
		a := &g.accts[i]
		if a.openDay <= 0 && a.typ != '9' {
			s.st[i].bal = a.initBal
		}
	}
	// Seed last month's and quarter's books with expected values so that
	// the first tax payments are plausible.
	for i := range g.ents {
		e := &g.ents[i]
		m := e.revenue / 12
		s.es[i].prevSalesM = m
		s.es[i].prevPurchM = m * industries[e.ind].CostPermille / 1000
		s.es[i].prevSalesQ = 3 * m
		s.es[i].salesQ = m * int64((g.cfg.Start.M-1)%3)
	}
	return s
}

// statusOn returns account a's ACCT status on day t: 'A', 'F', 'X' (closes
// today; reported as 'C'), 'C' (closed earlier) or 0 (not yet open).
func (a *acctModel) statusOn(t int32) byte {
	switch {
	case t < a.openDay:
		return 0
	case t == a.closeDay:
		return 'X'
	case t > a.closeDay:
		return 'C'
	case t >= a.freezeFrom && t < a.freezeTo:
		return 'F'
	}
	return 'A'
}

// simulateDay runs day t and fills dd. shift holds the day's C01 defects,
// vol its C06 defect; it reports whether vol's outage took place (see
// applyDay) and, per bank, whether postings moved.
func (s *sim) simulateDay(t int32, dd *dayData, shift map[int32]int64, vol volumeCtl) (held bool, moved []bool) {
	g := s.g
	date := g.dates[t]
	dd.t, dd.date = t, date
	s.cal = newDayCal(date)
	// Books roll over at month and quarter starts.
	if date.D == 1 && t > 0 {
		for i := range s.es {
			es := &s.es[i]
			es.prevSalesM, es.prevPurchM = es.salesM, es.purchM
			es.salesM, es.purchM = 0, 0
			if (date.M-1)%3 == 0 {
				es.prevSalesQ, es.salesQ = es.salesQ, 0
			}
		}
	}
	if date.Y != s.fxYear {
		clear(s.fxUsed)
		s.fxYear = date.Y
	}
	// Statuses and day counters.
	for i := range s.st {
		a := &g.accts[i]
		st := &s.st[i]
		st.status = a.statusOn(t)
		st.dt, st.ct, st.dn, st.cn, st.seq = 0, 0, 0, 0, 0
		if d, ok := shift[int32(i)]; ok {
			st.bal += d // an unreported adjustment (C01 defect)
		}
		st.open = st.bal
	}
	// Events: yesterday's held-over postings first, then the day's.
	nb := len(s.backlog)
	s.events = append(s.events[:0], s.backlog...)
	for i := range g.ents {
		s.genEnterprise(int32(i), t, date)
	}
	s.genBank(t, date)
	// Order by time, ties by generation order: a counting sort on the second
	// of the day (stable, so generation order breaks ties).
	s.order = countingSortByTime(s.events, s.order, &s.buckets)
	if cap(s.applied) < len(s.events) {
		s.applied = make([]int64, len(s.events))
	}
	s.applied = s.applied[:len(s.events)]
	held = s.applyDay(dd, nb, vol)
	// End of day: BAL figures, masters, accruals.
	for i := range s.st {
		st := &s.st[i]
		a := &g.accts[i]
		switch st.status {
		case 'A', 'F':
			dd.status[i] = st.status
			dd.bal[i] = balSnap{open: st.open, close: st.bal, dt: st.dt, ct: st.ct, dn: st.dn, cn: st.cn}
			if a.currency == "CNY" && a.subject != "D02" && a.typ != '9' {
				st.accr += st.bal
			}
		case 'X':
			dd.status[i] = 'C'
		default:
			dd.status[i] = 0
		}
	}
	for _, p := range g.pools {
		var open, close int64
		for _, sub := range p.subs {
			if dd.status[sub] == 'A' || dd.status[sub] == 'F' {
				open += dd.bal[sub].open
				close += dd.bal[sub].close
			}
		}
		dd.bal[p.master] = balSnap{open: open, close: close}
		s.st[p.master].bal = close
	}
	s.genFX(t, date, dd)
	return held, s.moved
}

// apply applies event idx, appending its legs.
func (s *sim) apply(idx int32, dd *dayData) {
	ev := &s.events[idx]
	s.applied[idx] = 0
	amt := ev.amount
	if ev.ref >= 0 {
		amt = s.applied[ev.ref] * int64(ev.refPermille) / 1000
		if ev.flags&evRoundYuan != 0 {
			amt = amt / 100 * 100
		}
	}
	g := s.g
	if ev.from >= 0 {
		st := &s.st[ev.from]
		if st.status != 'A' && !(st.status == 'X' && ev.flags&evSweepAll != 0) {
			return
		}
		if ev.flags&evSweepAll != 0 {
			amt = st.bal * int64(ev.refPermille) / 1000
		}
		if amt > st.bal {
			if ev.flags&evResizable == 0 || st.bal*10 < amt {
				return
			}
			amt = st.bal * 9 / 10
			if ev.flags&evRoundYuan != 0 {
				amt = amt / 100 * 100
			}
		}
	}
	if amt <= 0 {
		return
	}
	amtTo := amt
	if ev.to >= 0 {
		// Accounts closing today take no new money, except their own
		// closing interest (generated for them alone).
		st := &s.st[ev.to]
		if st.status != 'A' && st.status != 'F' && !(st.status == 'X' && ev.purpose == pINT) {
			return
		}
		if ev.from >= 0 {
			amtTo = convert(amt, g.accts[ev.from].currency, g.accts[ev.to].currency)
			if amtTo <= 0 {
				return
			}
		}
	}
	s.applied[idx] = amt
	if ev.from >= 0 {
		st := &s.st[ev.from]
		st.bal -= amt
		st.dt += amt
		st.dn++
		st.seq++
		a := &g.accts[ev.from]
		dd.legs[a.inst] = append(dd.legs[a.inst], leg{amount: amt, bal: st.bal, acct: ev.from, cpAcct: ev.to, ext: ev.ext,
			seq: st.seq, time: ev.time, dc: 'D', purpose: ev.purpose, chnl: ev.channel, remark: ev.remark})
		if ev.purpose == pGDS {
			s.es[a.owner].purchM += convert(amt, a.currency, "CNY")
		}
	}
	if ev.to >= 0 {
		st := &s.st[ev.to]
		st.bal += amtTo
		st.ct += amtTo
		st.cn++
		st.seq++
		a := &g.accts[ev.to]
		dd.legs[a.inst] = append(dd.legs[a.inst], leg{amount: amtTo, bal: st.bal, acct: ev.to, cpAcct: ev.from, ext: ev.ext,
			seq: st.seq, time: ev.time, dc: 'C', purpose: ev.purpose, chnl: ev.channel, remark: ev.remark})
		if ev.purpose == pGDS {
			c := convert(amtTo, a.currency, "CNY")
			s.es[a.owner].salesM += c
			s.es[a.owner].salesQ += c
		}
	}
}

// push appends an event and returns its index.
func (s *sim) push(ev event) int32 {
	if ev.ref == 0 && ev.refPermille == 0 {
		ev.ref = -1
	}
	s.events = append(s.events, ev)
	return int32(len(s.events) - 1)
}

// dayCal holds the calendar facts of one simulated day, computed once so
// that the per-enterprise generation does no date arithmetic.
type dayCal struct {
	date              rrs.Date
	business          bool
	weekday           time.Weekday
	factor            int64 // dayFactor for corporate flows
	factorCash        int64 // dayFactor for retail takings
	season            [seasonHarvest + 1]int64
	payday, prePayday [32]bool // [k]: today is the payday for agreed day k, or the day before it
	dueDay            [32]bool // [k]: today is the (holiday-adjusted) deadline day k
	bonusDay          bool
}

func newDayCal(date rrs.Date) dayCal {
	c := dayCal{date: date, business: isBusinessDay(date), weekday: date.Time().Weekday(),
		factor: dayFactor(date, false), factorCash: dayFactor(date, true)}
	for s := range c.season {
		c.season[s] = seasonPermille(season(s), date)
	}
	for k := 1; k <= 31; k++ {
		pay := onOrBeforeBusinessDay(monthDay(date, k))
		c.payday[k] = pay == date
		c.prePayday[k] = onOrBeforeBusinessDay(pay.AddDays(-1)) == date
		c.dueDay[k] = onOrAfterBusinessDay(monthDay(date, k)) == date
	}
	c.bonusDay = onOrBeforeBusinessDay(springFestivalOf(date.Y).AddDays(-10)) == date
	return c
}

// dayFactor is the volume of a day relative to a working day. Corporate
// payments fall at weekends and on holidays, retail takings do not. The
// weekend level is kept at 45 % (real corporate flows drop further) so that a
// bank's daily TXN volume stays within RRS-1 rule C06's [0.2, 5] band of its
// weekly mean on clean data.
func dayFactor(d rrs.Date, cash bool) int64 {
	switch {
	case isHoliday(d):
		if cash {
			return 1100
		}
		return 400
	case !isBusinessDay(d):
		if cash {
			return 1150
		}
		return 450
	}
	return 1000
}

// canPay reports whether the account can pay (status A); canReceive whether
// it can be paid into (A, or F: a judicial freeze stops debits only).
func (s *sim) canPay(a int32) bool { return a >= 0 && s.st[a].status == 'A' }
func (s *sim) canReceive(a int32) bool {
	return a >= 0 && (s.st[a].status == 'A' || s.st[a].status == 'F')
}

// payAcct picks the account an enterprise pays from: usually its basic
// account, otherwise its richest operating account that can pay.
func (s *sim) payAcct(r *rng, e *entModel) int32 {
	if s.canPay(e.basic) && r.chance(700) {
		return e.basic
	}
	best := int32(-1)
	for _, a := range e.cny {
		if s.canPay(a) && (best < 0 || s.st[a].bal > s.st[best].bal) {
			best = a
		}
	}
	return best
}

// recvAcct picks the account an enterprise is paid into.
func (s *sim) recvAcct(r *rng, e *entModel) int32 {
	if s.canReceive(e.basic) && r.chance(600) {
		return e.basic
	}
	n := len(e.cny)
	for k, off := 0, r.intn(max(1, n)); k < n; k++ {
		a := e.cny[(off+k)%n]
		if s.canReceive(a) {
			return a
		}
	}
	return -1
}

// cnyBalance is an enterprise's total CNY operating balance.
func (s *sim) cnyBalance(e *entModel) int64 {
	var b int64
	for _, a := range e.cny {
		if s.st[a].status != 0 && s.st[a].status != 'C' {
			b += s.st[a].bal
		}
	}
	return b
}

func (s *sim) extOf(r *rng, k extKind) int32 {
	l := s.g.extByKnd[k]
	return l[r.intn(len(l))]
}

func (s *sim) internal(acct int32, kind int) int32 {
	return s.g.insts[s.g.accts[acct].inst].internal[kind]
}

// monthDay returns day d of the month of date, clamped to the month's end.
func monthDay(date rrs.Date, d int) rrs.Date {
	last := date.Period().Days()
	return rrs.Date{Y: date.Y, M: date.M, D: min(d, last)}
}

// genEnterprise generates enterprise ei's events of day t.
func (s *sim) genEnterprise(ei, t int32, date rrs.Date) {
	g := s.g
	e := &g.ents[ei]
	if t < e.startDay {
		return
	}
	r := deriveRNG(g.cfg.Seed, tagEntDay, uint64(t), uint64(ei))
	if t == e.startDay && e.startDay > 0 {
		// Paid-in capital from the founders.
		amt := roundTo(e.revenue*r.between(20, 50)/100, 10_000_000)
		s.push(event{from: -1, to: e.basic, ext: s.extOf(&r, extPerson), amount: amt, ref: -1,
			time: r.timeBetween(10*3600, 12*3600), purpose: pOTH, channel: chCounter, remark: rmCapital})
	}
	switch e.profile {
	case ProfileMule:
		s.genMule(&r, e, t)
		return
	case ProfileShell:
		s.genShell(&r, e, t)
		s.genMonthly(&r, ei, e, t, date)
		return
	}
	s.genTrade(&r, ei, e, t, date)
	s.genMonthly(&r, ei, e, t, date)
	s.genTreasury(&r, e, t)
}

// activity returns enterprise e's activity level on day t in per mille of an
// ordinary working day: its profile's trend and season and the day of week.
func (s *sim) activity(e *entModel, t int32, date rrs.Date) int64 {
	ind := &industries[e.ind]
	trend := 1000 + e.trendPermille*int64(t-e.startDay+30)/365
	trend = max(150, trend)
	act := trend
	if e.profile == ProfileSeasonal {
		act = act * s.cal.season[ind.Seasonal] / 1000
	}
	if ind.CashTakings {
		return act * s.cal.factorCash / 1000
	}
	return act * s.cal.factor / 1000
}

// genTrade generates sales and purchases.
func (s *sim) genTrade(r *rng, ei int32, e *entModel, t int32, date rrs.Date) {
	g := s.g
	ind := &industries[e.ind]
	sc := &sizeClasses[e.size]
	act := s.activity(e, t, date)
	// A year has about 250 working days and 115 weekend and holiday days at
	// 45 % activity: 302 working-day equivalents.
	dayRev := e.revenue / 302 * act / 1000
	if dayRev <= 0 {
		return
	}
	// Sales from outside the region.
	ext := dayRev * e.extShare / 1000
	if ind.CashTakings {
		// Card settlements arrive once a day from the acquiring bank (T+1,
		// early morning), cash is banked on working days.
		if to := e.basic; s.canReceive(to) {
			s.push(event{from: -1, to: to, ext: s.internal(to, intAcquiring), amount: r.jitter(ext * 6 / 10), ref: -1,
				time: r.timeBetween(2*3600, 6*3600), purpose: pGDS, channel: chPOS, remark: rmPOS})
			if s.cal.business && r.chance(600) {
				s.push(event{from: -1, to: to, ext: -1, amount: roundTo(r.jitter(ext/10), 10000), ref: -1,
					time: r.timeBetween(9*3600, 16*3600), purpose: pCSH, channel: chCounter, remark: rmCashIn})
			}
		}
		ext = ext * 3 / 10
	}
	expR := max(1000, sc.ReceiptsMilli*act/1000)
	nR := r.poisson(expR)
	for k := 0; k < nR; k++ {
		amt := r.jitter(ext * 1000 / expR)
		if r.chance(700) {
			amt = amt / 100 * 100
		}
		if amt <= 0 {
			continue
		}
		if len(e.fx) > 0 && r.chance(400) {
			fa := e.fx[r.intn(len(e.fx))]
			if s.canReceive(fa) {
				s.push(event{from: -1, to: fa, ext: s.extOf(r, extForeign), amount: convert(amt, "CNY", g.accts[fa].currency), ref: -1,
					time: r.timeOfDay(), purpose: pGDS, channel: chOnline, remark: rmExportReceipt})
			}
			continue
		}
		to := s.recvAcct(r, e)
		if to < 0 {
			break
		}
		src, ch, rm := s.extOf(r, extCompany), chOnline, rmGoods
		if ind.CashTakings {
			src, ch, rm = s.extOf(r, extPerson), chMobile, rmOnlinePay
		} else if ind.VATPermille == 60 {
			rm = rmService
		}
		s.push(event{from: -1, to: to, ext: src, amount: amt, ref: -1, time: r.timeOfDay(), purpose: pGDS, channel: ch, remark: rm})
	}
	// Purchases, scaled by how comfortable the cash position is.
	bal := s.cnyBalance(e)
	target := max(1, e.revenue/365*20)
	feedback := min(3000, max(300, bal*1000/target))
	budget := dayRev * ind.CostPermille / 1000 * feedback / 1000
	expP := max(1000, sc.PaymentsMilli*act/1000)
	nP := r.poisson(expP)
	ch := chOnline
	if e.size >= 2 {
		ch = chLink
	}
	for k := 0; k < nP; k++ {
		amt := r.jitter(budget * 1000 / expP)
		if r.chance(700) {
			amt = amt / 100 * 100
		}
		if amt <= 0 {
			continue
		}
		if len(e.fx) > 0 && r.chance(200) {
			fa := e.fx[r.intn(len(e.fx))]
			s.push(event{from: fa, to: -1, ext: s.extOf(r, extForeign), amount: convert(amt, "CNY", g.accts[fa].currency), ref: -1,
				time: r.timeOfDay(), purpose: pGDS, channel: chOnline, flags: evResizable, remark: rmImportPayment})
			continue
		}
		from := s.payAcct(r, e)
		if from < 0 {
			break
		}
		ev := event{from: from, to: -1, ext: s.extOf(r, extCompany), amount: amt, ref: -1, time: r.timeOfDay(),
			purpose: pGDS, channel: ch, flags: evResizable, remark: rmGoods}
		if len(e.suppliers) > 0 && int64(r.intn(1000)) < e.inRegionPermille {
			sup := &g.ents[e.suppliers[r.intn(len(e.suppliers))]]
			if to := s.recvAcct(r, sup); to >= 0 {
				ev.to, ev.ext = to, -1
				if industries[sup.ind].VATPermille == 60 {
					ev.remark = rmService
				}
			}
		}
		s.push(ev)
	}
	// Excess cash goes into wealth-management products or dividends.
	if bal > 4*target && s.cal.business && r.chance(200) {
		if from := s.payAcct(r, e); from >= 0 {
			s.push(event{from: from, to: -1, ext: s.extOf(r, extCompany), amount: roundTo((bal-2*target)/3, 1_000_000), ref: -1,
				time: r.timeBetween(9*3600, 15*3600), purpose: pOTH, channel: ch, flags: evResizable | evRoundYuan, remark: rmInvest})
		}
	}
	// A client of a shell pays it a round "consulting fee", which the shell
	// passes straight on.
	if e.paysShell >= 0 && s.cal.business && r.chance(60) {
		shell := &g.ents[e.paysShell]
		from := s.payAcct(r, e)
		if from >= 0 && s.canReceive(shell.basic) {
			amt := r.between(1, 20) * int64(e.size+1) * 1_000_000
			tm := r.timeBetween(9*3600, 14*3600)
			ref := s.push(event{from: from, to: shell.basic, ext: -1, amount: amt, ref: -1, time: tm,
				purpose: pGDS, channel: ch, flags: evRoundYuan, remark: rmConsulting})
			s.passThrough(r, shell, ref, tm)
		}
	}
}

// passThrough forwards 85–98 % of event ref's money from shell onwards within
// two hours, to another shell (which forwards again) or out of the region.
func (s *sim) passThrough(r *rng, shell *entModel, ref, tm int32) {
	g := s.g
	for hop := 0; hop < 2; hop++ {
		tm += r.timeBetween(600, 7200)
		ev := event{from: shell.basic, to: -1, ext: s.extOf(r, extCompany), ref: ref, refPermille: int32(r.between(850, 980)),
			time: tm, purpose: pGDS, channel: chOnline, flags: evRoundYuan, remark: rmGoods}
		if hop == 0 && len(shell.shellDest) > 0 && r.chance(600) {
			next := &g.ents[shell.shellDest[r.intn(len(shell.shellDest))]]
			ev.to, ev.ext = next.basic, -1
			ref = s.push(ev)
			shell = next
			continue
		}
		s.push(ev)
		return
	}
}

// genShell generates a shell's own round-amount inflows from outside.
func (s *sim) genShell(r *rng, e *entModel, t int32) {
	g := s.g
	if e.collector >= 0 {
		ring := &g.mules[e.collector]
		if t >= ring.startDay && t <= ring.endDay {
			// The collector empties itself three times a day.
			for _, w := range [][2]int{{12 * 3600, 12*3600 + 1800}, {17 * 3600, 17*3600 + 1800}, {22*3600 + 1800, 23*3600 + 1800}} {
				ext, rm := s.extOf(r, extCompany), rmGoods
				if r.chance(300) {
					ext, rm = s.extOf(r, extPerson), rmTransfer
				}
				s.push(event{from: e.basic, to: -1, ext: ext, ref: -1, refPermille: int32(r.between(950, 1000)),
					time: r.timeBetween(w[0], w[1]), purpose: pTRF, channel: chOnline, flags: evSweepAll | evRoundYuan, remark: rm})
			}
		}
	}
	if !s.cal.business || !r.chance(350) || !s.canReceive(e.basic) {
		return
	}
	for k := 1 + r.intn(2); k > 0; k-- {
		tm := r.timeBetween(9*3600, 15*3600)
		ref := s.push(event{from: -1, to: e.basic, ext: s.extOf(r, extCompany), amount: r.between(1, 50) * 1_000_000, ref: -1,
			time: tm, purpose: pGDS, channel: chOnline, remark: []uint16{rmCurrent, rmGoods, rmConsulting}[r.intn(3)]})
		s.passThrough(r, e, ref, tm)
	}
}

// genMule generates a mule account's day while its ring is active: many
// small transfers from victims, each passed to the collector within minutes.
func (s *sim) genMule(r *rng, e *entModel, t int32) {
	ring := &s.g.mules[e.mule]
	if t < ring.startDay || t >= ring.endDay || !s.canPay(e.basic) {
		return
	}
	n := 5 + r.intn(20)
	if ring.scale < 1000 {
		n = max(1, int(int64(n)*ring.scale/1000))
	}
	for ; n > 0; n-- {
		amt := r.between(1000, 49999) * 100
		if r.chance(300) {
			amt += r.between(1, 99)
		}
		tm := r.timeBetween(8*3600, 21*3600)
		ref := s.push(event{from: -1, to: e.basic, ext: s.extOf(r, extPerson), amount: amt, ref: -1, time: tm,
			purpose: pTRF, channel: []uint8{chMobile, chOnline}[r.intn(2)], remark: []uint16{rmTransfer, rmCurrent, rmGoods}[r.intn(3)]})
		s.push(event{from: e.basic, to: ring.collector, ext: -1, ref: ref, refPermille: int32(r.between(970, 995)),
			time: tm + r.timeBetween(60, 1800), purpose: pTRF, channel: chMobile, remark: rmGoods})
	}
}

// monthlyGross is the enterprise's gross payroll of a month, in cents.
func (s *sim) monthlyGross(e *entModel, t int32) int64 {
	ind := &industries[e.ind]
	wage := ind.WageYuan * 100 * []int64{900, 1000, 1100, 1300}[e.size] / 1000
	emp := int64(e.employees)
	if e.profile == ProfileShell {
		emp, wage = 2, 4000_00
	}
	trend := min(1600, max(600, 1000+e.trendPermille*int64(t-e.startDay+30)/365/2))
	return emp * wage * trend / 1000
}

// genMonthly generates the calendar-driven payments: payroll, taxes, social
// insurance, housing fund, utilities, loans.
func (s *sim) genMonthly(r *rng, ei int32, e *entModel, t int32, date rrs.Date) {
	g := s.g
	ind := &industries[e.ind]
	gross := s.monthlyGross(e, t)
	net := gross * 795 / 1000 // less employee social insurance (10.5 %), housing fund (7 %), income tax (3 %)
	tax := g.taxOf[e.division]
	cityExt := g.cityExt[e.city]
	basic := e.basic
	// Payroll: the agreed day, or the working day before it.
	c := &s.cal
	wagesFrom := basic
	if e.wages >= 0 {
		wagesFrom = e.wages
		if c.prePayday[e.payday] {
			s.push(event{from: basic, to: e.wages, ext: -1, amount: net, ref: -1, time: r.timeBetween(9*3600, 16*3600),
				purpose: pTRF, channel: chLink, flags: evResizable, remark: rmWagesFund})
		}
	}
	if c.payday[e.payday] {
		s.push(event{from: wagesFrom, to: -1, ext: s.internal(wagesFrom, intPayroll), amount: net, ref: -1,
			time: r.timeBetween(9*3600, 11*3600), purpose: pSAL, channel: chLink, remark: rmPayroll})
	}
	// Year-end bonus ten days before Spring Festival.
	if e.profile != ProfileShell && c.bonusDay {
		s.push(event{from: basic, to: -1, ext: s.internal(basic, intPayroll), amount: net * 8 / 10, ref: -1,
			time: r.timeBetween(14*3600, 16*3600), purpose: pSAL, channel: chLink, remark: rmBonus})
	}
	es := &s.es[ei]
	quarterStart := (date.M-1)%3 == 0
	if c.dueDay[e.vatDay] {
		tm := r.timeBetween(9*3600, 17*3600)
		pay := func(amt int64, rm uint16) {
			if amt >= 100 {
				s.push(event{from: basic, to: -1, ext: tax, amount: amt, ref: -1, time: tm, purpose: pTAX, channel: chOther, remark: rm})
				tm += 60
			}
		}
		if e.size >= 1 {
			vat := mulDiv(max(0, es.prevSalesM-es.prevPurchM), ind.VATPermille, 1000+ind.VATPermille)
			pay(vat*112/100, rmVAT) // with urban maintenance (7 %) and education (3 % + 2 %) surcharges
		} else if quarterStart && es.prevSalesQ > 300_000_00 {
			pay(es.prevSalesQ/100, rmSmallVAT) // 1 % reduced rate for small-scale taxpayers
		}
		pay(gross*3/100, rmIIT)
		if quarterStart {
			rate := int64(250)
			if e.size <= 1 {
				rate = 50 // small low-profit enterprises: 5 % effective
			}
			pay(es.prevSalesQ*ind.MarginPermille/1000*rate/1000, rmCIT)
		}
	}
	if c.dueDay[e.siDay] {
		s.push(event{from: basic, to: -1, ext: tax, amount: gross * 345 / 1000, ref: -1, time: r.timeBetween(9*3600, 17*3600),
			purpose: pTAX, channel: chOther, remark: rmSocial})
	}
	if c.dueDay[e.hpfDay] {
		s.push(event{from: basic, to: -1, ext: cityExt[0], amount: gross * 14 / 100, ref: -1, time: r.timeBetween(9*3600, 17*3600),
			purpose: pOTH, channel: chOther, remark: rmHousing})
	}
	if e.profile == ProfileShell {
		return
	}
	// Utilities by direct debit, on any day.
	if date.D == int(e.powerDay) {
		power := e.revenue / 12 * ind.PowerPermille / 1000
		switch date.M {
		case time.July, time.August:
			power = power * 13 / 10 // air-conditioning
		case time.January, time.February:
			power = power * 9 / 10
		}
		power = r.jitter(power)
		s.push(event{from: basic, to: -1, ext: cityExt[1], amount: power, ref: -1, time: r.timeBetween(1*3600, 6*3600),
			purpose: pUTL, channel: chOther, remark: rmPower})
	}
	if date.D == int(e.waterDay) {
		water := max(50_00, r.jitter(e.revenue/12*ind.PowerPermille/1000/6))
		s.push(event{from: basic, to: -1, ext: cityExt[2], amount: water, ref: -1, time: r.timeBetween(1*3600, 6*3600),
			purpose: pUTL, channel: chOther, remark: rmWater})
	}
	if date.D == int(e.telDay) {
		tel := r.jitter(100_00 * int64((e.size+1)*(e.size+1)))
		s.push(event{from: basic, to: -1, ext: cityExt[3], amount: tel, ref: -1, time: r.timeBetween(1*3600, 6*3600),
			purpose: pUTL, channel: chOther, remark: rmTelecom})
	}
	s.genLoan(r, e, t, date)
}

// genLoan generates drawdowns, monthly interest on the 21st, and repayment at
// maturity followed (for most borrowers) by a renewal a few days later.
func (s *sim) genLoan(r *rng, e *entModel, t int32, date rrs.Date) {
	l := &e.loan
	if l.principal == 0 {
		return
	}
	g := s.g
	basic := e.basic
	if !l.active && t == l.drawDay {
		l.active, l.outstanding, l.lastIntDay = true, l.principal, t
		s.push(event{from: -1, to: basic, ext: s.internal(basic, intLoan), amount: l.principal, ref: -1,
			time: r.timeBetween(9*3600, 11*3600), purpose: pLON, channel: chCounter, remark: rmLoanDraw})
		return
	}
	if !l.active {
		return
	}
	interest := func() int64 {
		return mulDiv(l.outstanding*l.rateBP, int64(t-l.lastIntDay), 10000*360)
	}
	if t >= l.maturityDay && s.cal.business {
		if i := interest(); i > 0 {
			s.push(event{from: basic, to: -1, ext: s.internal(basic, intLoanInterest), amount: i, ref: -1,
				time: r.timeBetween(9*3600, 10*3600), purpose: pINT, channel: chOther, remark: rmLoanInterest})
		}
		s.push(event{from: basic, to: -1, ext: s.internal(basic, intLoan), amount: l.outstanding, ref: -1,
			time: r.timeBetween(10*3600, 11*3600), purpose: pLON, channel: chCounter, remark: rmLoanRepay})
		l.active = false
		if l.renew {
			l.drawDay = t + 1 + int32(r.intn(5))
			d := g.dateOf(l.drawDay)
			l.maturityDay = g.dayOf(rrs.Date{Y: d.Y + 1, M: d.M, D: min(d.D, 28)})
			l.rateBP = lprOn(d) + r.between(0, 120)
		} else {
			l.principal = 0
		}
		return
	}
	if date.D == 21 && t > l.lastIntDay {
		if i := interest(); i > 0 {
			s.push(event{from: basic, to: -1, ext: s.internal(basic, intLoanInterest), amount: i, ref: -1,
				time: r.timeBetween(1800, 7200), purpose: pINT, channel: chOther, remark: rmLoanInterest})
		}
		l.lastIntDay = t
	}
}

// genTreasury generates the enterprise's own-account transfers: sweeping
// surplus from general accounts to the basic account, funding new time
// deposits, converting export receipts, moving escrow releases, and emptying
// accounts that close today.
func (s *sim) genTreasury(r *rng, e *entModel, t int32) {
	g := s.g
	basic := e.basic
	business := s.cal.business
	dayRev := e.revenue / 365
	for _, a := range e.accts {
		am := &g.accts[a]
		st := &s.st[a]
		switch {
		case st.status == 'X' && am.typ != '9':
			if am.role == roleTimeDeposit {
				// Maturity: interest first, then the whole balance goes home.
				days := int64(am.closeDay - am.openDay)
				if i := mulDiv(max(am.initBal, am.fund)*am.tdRateBP, days, 10000*360); i > 0 {
					s.push(event{from: -1, to: a, ext: s.internal(a, intDepositInterest), amount: i, ref: -1,
						time: r.timeBetween(600, 3600), purpose: pINT, channel: chOther, remark: rmTDInterest})
				}
			} else if am.currency == "CNY" {
				// Interest is settled when a demand account is closed (销户结息).
				if i := mulDiv(st.accr, demandRateBP, 10000*360); i > 0 {
					s.push(event{from: -1, to: a, ext: s.internal(a, intDepositInterest), amount: i, ref: -1,
						time: r.timeBetween(600, 3600), purpose: pINT, channel: chOther, remark: rmDepositInterest})
				}
			}
			to := basic
			if !s.canReceive(to) || am.currency != g.accts[to].currency || to == a {
				to = -1
				for _, c := range e.cny {
					if c != a && s.canReceive(c) {
						to = c
						break
					}
				}
			}
			if to >= 0 {
				rm := rmCloseOut
				if am.role == roleTimeDeposit {
					rm = rmTDMature
				}
				s.push(event{from: a, to: to, ext: -1, ref: -1, refPermille: 1000, time: r.timeBetween(15*3600, 16*3600+1800),
					purpose: pTRF, channel: chCounter, flags: evSweepAll, remark: rm})
			}
		case st.status == 'A' && am.openDay == t && am.fund > 0:
			s.push(event{from: basic, to: a, ext: -1, amount: am.fund, ref: -1, time: r.timeBetween(10*3600, 15*3600),
				purpose: pTRF, channel: chCounter, flags: evResizable | evRoundYuan, remark: rmTDOpen})
		case st.status == 'A' && am.role == roleOperating && a != basic && am.parent < 0 && business && r.chance(200):
			if st.bal > dayRev*8 && s.canReceive(basic) {
				s.push(event{from: a, to: basic, ext: -1, ref: -1, refPermille: int32(r.between(500, 800)), time: r.timeBetween(15*3600, 17*3600),
					purpose: pTRF, channel: chLink, flags: evSweepAll | evRoundYuan, remark: rmSweep})
			}
		case st.status == 'A' && am.role == roleFX && business && s.cal.weekday == time.Thursday:
			if st.bal > 0 && s.canReceive(basic) {
				s.push(event{from: a, to: basic, ext: -1, ref: -1, refPermille: int32(r.between(600, 900)), time: r.timeBetween(10*3600, 15*3600),
					purpose: pTRF, channel: chLink, flags: evSweepAll | evRoundYuan, remark: rmFXSettle})
			}
		case am.role == roleEscrow && s.canReceive(a):
			// Home buyers' payments land in escrow; the regulator releases
			// part of it as construction progresses.
			if r.chance(500) {
				s.push(event{from: -1, to: a, ext: s.extOf(r, extPerson), amount: roundTo(r.jitter(dayRev), 10000), ref: -1,
					time: r.timeOfDay(), purpose: pGDS, channel: chCounter, remark: rmHouseSale})
			}
			if st.status == 'A' && business && s.cal.weekday == time.Friday && s.canReceive(basic) {
				s.push(event{from: a, to: basic, ext: -1, ref: -1, refPermille: 500, time: r.timeBetween(15*3600, 16*3600),
					purpose: pTRF, channel: chCounter, flags: evSweepAll | evRoundYuan, remark: rmEscrowRelease})
			}
		}
	}
}

// genBank generates the banks' own postings: quarterly deposit interest on
// the 21st of March, June, September and December for demand and
// special-purpose CNY deposits (interest = Σ daily balances × rate / 360, the
// PBoC 积数 method).
func (s *sim) genBank(t int32, date rrs.Date) {
	if date.D != 21 || date.M%3 != 0 {
		return
	}
	g := s.g
	r := deriveRNG(g.cfg.Seed, tagInterest, uint64(t))
	for i := range s.st {
		st := &s.st[i]
		a := &g.accts[i]
		if a.typ == '9' || a.currency != "CNY" || a.subject == "D02" {
			continue
		}
		if st.status == 'A' || st.status == 'F' {
			if amt := mulDiv(st.accr, demandRateBP, 10000*360); amt > 0 {
				s.push(event{from: -1, to: int32(i), ext: g.insts[a.inst].internal[intDepositInterest], amount: amt, ref: -1,
					time: r.timeBetween(600, 3000), purpose: pINT, channel: chOther, remark: rmDepositInterest})
			}
		}
		st.accr = 0
	}
}

// countingSortByTime returns the indexes of events ordered by time, ties in
// index order, reusing out and buckets.
func countingSortByTime(events []event, out []int32, buckets *[]int32) []int32 {
	if cap(*buckets) < 86401 {
		*buckets = make([]int32, 86401)
	}
	b := (*buckets)[:86401]
	clear(b)
	for i := range events {
		b[events[i].time+1]++
	}
	for i := 1; i < len(b); i++ {
		b[i] += b[i-1]
	}
	if cap(out) < len(events) {
		out = make([]int32, len(events))
	}
	out = out[:len(events)]
	for i := range events {
		t := events[i].time
		out[b[t]] = int32(i)
		b[t]++
	}
	return out
}
