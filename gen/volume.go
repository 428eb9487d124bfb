package gen

// This file injects C06 defects (a batch's TXN row count outside [0.2×, 5×]
// of the mean of the institution's previous 7 batches) and keeps the volume
// oracle that lists every C06 finding the written batches cause.
//
// A C06 defect imitates an outage of a bank's corporate core system
// (对公核心系统故障): for one day none of the bank's account
// postings are booked. Every payment that touches one of its accounts — on
// both legs, so a cross-bank payment leaves the other bank's batch too — and
// every payment that forwards money from such a payment is held over and
// booked the next day at its original time, against the balances of that
// day (a payment the payer can no longer afford then fails, as any other).
// The data stay self-consistent (balances, BAL, GL, STAT, CTL, T03 mirror):
// only the volume moves. The outage batch has no TXN row, hence one C06
// finding; the simulator checks each day the outage or its backlog touches
// and, when the backlog would push a batch out of the band (or the outage
// would push another bank's), books less of it that day (or cancels the
// outage), so the defect causes that one finding and nothing else.

// volumeCtl is what the simulator needs to know of the C06 defects of a day.
type volumeCtl struct {
	// bank whose postings are held over today (-1: none)
	bank int32
	// accept reports whether the day's TXN row counts per bank, with bank
	// (or -1) out and moved[b] set for the banks whose postings moved, trip
	// C06 on the outage bank and on no other bank whose postings moved
	accept func(counts []int, moved []bool, bank int32) bool
}

// tripsC06 applies RRS-1 C06 to a batch of n TXN rows after 7 batches of
// sum rows in all, with the exact bounds n < 0.2 × sum/7 and n > 5 × sum/7.
func tripsC06(n, sum int) bool { return 35*n < sum || 7*n > 5*sum }

func sumInts(h []int) int {
	s := 0
	for _, x := range h {
		s += x
	}
	return s
}

// omits reports whether bank b's batch of day t is left out (a C05 defect):
// never on the first or last day, never two days in a row. It reads
// p.omitted, the state as of day t-1.
func (p *planner) omits(t int32, b int) bool {
	r := deriveRNG(p.g.cfg.Seed, tagDefect, uint64(t), uint64(b), 2)
	return p.hit(&r, "C05") && t > 0 && t != int32(p.g.cfg.Days-1) && p.omitted[b] != t-1
}

// chooseOutage picks the bank, if any, whose postings are held over on day
// t (a C06 defect). The unit is a bank-day with 7 earlier written batches
// (and some TXN rows in them), with a next day in the period on which the
// bank's batch is written, with no account of the bank opened or closed that
// day, and at least 8 days after the last day any bank's volume was
// disturbed, so that no C06 window holds two outages. At most one bank a
// day; the banks are tried from a drawn one on.
func (p *planner) chooseOutage(t int32) {
	p.outBank = -1
	g := p.g
	if !p.on["C06"] || t+1 >= int32(g.cfg.Days) || t-p.volDay < 8 {
		return
	}
	n := len(g.insts)
	sr := deriveRNG(g.cfg.Seed, tagDefect, uint64(t), 0, 5)
	start := sr.intn(n)
	for i := range n {
		b := (start + i) % n
		if p.omitToday[b] || len(p.hist[b]) < 7 || sumInts(p.hist[b]) == 0 {
			continue
		}
		// The next day's C05 decision, as beforeDay will take it (b is
		// not omitted today, so p.omitted[b] != t holds then as now).
		if p.omits(t+1, b) {
			continue
		}
		in := &g.insts[b]
		quiet := true
		for a := in.first; a < in.end && quiet; a++ {
			quiet = g.accts[a].openDay != t && g.accts[a].closeDay != t
		}
		if !quiet {
			continue
		}
		r := deriveRNG(g.cfg.Seed, tagDefect, uint64(t), uint64(b), 4)
		if r.u64() < p.thr {
			p.outBank = int32(b)
			return
		}
	}
}

// volume returns the day's C06 control for the simulator.
func (p *planner) volume() volumeCtl {
	if !p.active() {
		return volumeCtl{bank: -1}
	}
	return volumeCtl{bank: p.outBank, accept: p.acceptVolume}
}

// acceptVolume reports whether counts (TXN rows per bank today) trip C06 on
// the outage bank and on no other written batch whose postings moved (a
// bank whose postings did not move trips or not as it would anyway).
func (p *planner) acceptVolume(counts []int, moved []bool, bank int32) bool {
	for b, n := range counts {
		if p.omitToday[b] || len(p.hist[b]) < 7 || !moved[b] {
			continue
		}
		if tripsC06(n, sumInts(p.hist[b])) != (int32(b) == bank) {
			return false
		}
	}
	return true
}

// afterSim records what the simulator did with the day's C06 control: held
// is true when the outage took place; moved[b] when postings of bank b were
// held over or booked late today.
func (p *planner) afterSim(t int32, held bool, moved []bool) {
	if held {
		p.injected++
	} else {
		p.outBank = -1
	}
	for b, m := range moved {
		if m {
			p.volDay = t
			p.moved[b] = t
		}
	}
}

// volume is the C06 oracle: it compares the batch's TXN row count with the
// bank's last 7 written batches and records the count.
func (bp *bPlan) volume() {
	p := bp.p
	n := len(bp.dd.legs[bp.b])
	h := p.hist[bp.b]
	if len(h) == 7 {
		if tripsC06(n, sumInts(h)) {
			// The cause: postings moved by an outage in the batch or its
			// window, else a window shifted by a missing batch, else none
			// (a bank with very few accounts can swing that much by itself).
			cause, t := "none", bp.dd.t
			switch {
			case p.moved[bp.b] >= t-7:
				cause = "C06"
			case p.omitted[bp.b] >= t-8:
				cause = "C05"
			}
			bp.find("C06", "BATCH", "TXN", "", cause)
		}
		h = append(h[:0], h[1:]...)
	}
	p.hist[bp.b] = append(h, n)
}

// applyDay applies the day's ordered events. nb events at the start of
// s.events are the backlog of earlier held-over postings. Without an outage
// or a backlog every event is applied. Otherwise the result is checked with
// vol.accept: an outage that would trip C06 on another bank is cancelled,
// and a backlog that would trip it is booked in a shorter prefix (the rest
// is held over again) — the first half, a quarter, … none; if even none
// passes, the trip is not the backlog's and the whole backlog is booked.
// It reports whether the outage took place; s.moved lists the banks whose
// postings were held over or booked late.
func (s *sim) applyDay(dd *dayData, nb int, vol volumeCtl) (held bool) {
	bank := vol.bank
	if bank < 0 && nb == 0 {
		s.applyEvents(dd, -1, 0, 0)
		return false
	}
	s.snapSt = append(s.snapSt[:0], s.st...)
	s.snapEs = append(s.snapEs[:0], s.es...)
	counts := make([]int, len(dd.legs))
	k := nb
	for {
		s.applyEvents(dd, bank, nb, k)
		if vol.accept == nil {
			break
		}
		for b := range counts {
			counts[b] = len(dd.legs[b])
		}
		if vol.accept(counts, s.moved, bank) {
			break
		}
		var last bool
		switch {
		case bank >= 0:
			bank = -1
		case k > 0:
			k /= 2
		default:
			k, last = nb, true
		}
		copy(s.st, s.snapSt)
		copy(s.es, s.snapEs)
		if last {
			s.applyEvents(dd, bank, nb, k)
			break
		}
	}
	return bank >= 0
}

// applyEvents applies the ordered events, except the held-over ones: every
// event touching an account of bank (when ≥ 0), backlog events k..nb-1, and
// every event forwarding the money of a held-over one. Held-over events go to
// s.backlog for the next day, with their forwarded amounts resolved or their
// references renumbered to backlog positions.
func (s *sim) applyEvents(dd *dayData, bank int32, nb, k int) {
	for b := range dd.legs {
		dd.legs[b] = dd.legs[b][:0]
	}
	s.backlog = s.backlog[:0]
	if len(s.moved) != len(dd.legs) {
		s.moved = make([]bool, len(dd.legs))
	}
	clear(s.moved)
	if bank < 0 && nb == 0 {
		for _, idx := range s.order {
			s.apply(idx, dd)
		}
		return
	}
	if cap(s.deferred) < len(s.events) {
		s.deferred = make([]int32, len(s.events))
	}
	s.deferred = s.deferred[:len(s.events)]
	for i := range s.deferred {
		s.deferred[i] = -1
	}
	accts := s.g.accts
	for _, idx := range s.order {
		ev := &s.events[idx]
		hold := int(idx) >= k && int(idx) < nb ||
			bank >= 0 && (ev.from >= 0 && accts[ev.from].inst == bank || ev.to >= 0 && accts[ev.to].inst == bank) ||
			ev.ref >= 0 && s.deferred[ev.ref] >= 0
		if int(idx) < nb || hold {
			if ev.from >= 0 {
				s.moved[accts[ev.from].inst] = true
			}
			if ev.to >= 0 {
				s.moved[accts[ev.to].inst] = true
			}
		}
		if !hold {
			s.apply(idx, dd)
			continue
		}
		e := *ev
		if e.ref >= 0 {
			if j := s.deferred[e.ref]; j >= 0 {
				e.ref = j
			} else {
				amt := s.applied[e.ref] * int64(e.refPermille) / 1000
				if e.flags&evRoundYuan != 0 {
					amt = amt / 100 * 100
				}
				e.amount, e.ref = amt, -1
			}
		}
		s.applied[idx] = 0
		s.deferred[idx] = int32(len(s.backlog))
		s.backlog = append(s.backlog, e)
	}
}
