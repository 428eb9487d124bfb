package gen

import (
	"github.com/ronghe/ronghe/rrs"
)

// annualQuotaUSD is the annual facilitation quota for an individual's
// purchases of foreign exchange (USD 50,000, SAFE's 个人外汇管理办法实施细则).
const annualQuotaUSD = 50_000_00

// fxCurrencies are the currencies individuals buy, with weights roughly after
// the destinations of outbound travel and study from Guangdong (Hong Kong,
// the US, Europe, Japan, the UK, Australia, Canada).
var fxCurrencies = []struct {
	code   string
	weight int
	unit   int64 // amounts are whole multiples of this many cents
}{
	{"USD", 50, 100_00}, {"HKD", 22, 1000_00}, {"EUR", 8, 100_00}, {"JPY", 8, 10000_00},
	{"GBP", 5, 100_00}, {"AUD", 4, 100_00}, {"CAD", 3, 100_00},
}

// fxPurposes weights: travel dominates, then study and support of relatives.
var fxPurposes = []struct {
	code   string
	weight int
}{{"TRV", 45}, {"STU", 20}, {"REL", 15}, {"MED", 3}, {"TRD", 2}, {"OTH", 15}}

var fxSchools = []struct{ name, country string }{
	{"NORTHBRIDGE UNIVERSITY", "GB"}, {"PACIFIC COAST COLLEGE", "US"}, {"MAPLEWOOD UNIVERSITY", "CA"},
	{"SOUTHERN CROSS INSTITUTE", "AU"}, {"LAKESIDE SCHOOL OF BUSINESS", "US"}, {"HARBOURVIEW UNIVERSITY", "NZ"},
	{"RIVERSTONE ACADEMY", "GB"}, {"ORCHARD INSTITUTE OF TECHNOLOGY", "SG"},
}

var fxHospitals = []struct{ name, country string }{
	{"MOUNT HARBOR MEDICAL CENTRE", "SG"}, {"CEDAR VALLEY HOSPITAL", "US"}, {"SAKURA INTERNATIONAL CLINIC", "JP"},
	{"RHEIN KLINIKUM", "DE"},
}

var fxRelativeCountries = []string{"US", "CA", "AU", "GB", "NZ", "SG", "JP", "HK", "MY"}

// genFX generates the day's purchases of foreign exchange by individuals:
// ordinary purchases (about four a year per person, fewer at weekends) and
// the split purchases of FX rings, whose members each buy just under the
// quota on consecutive days at whatever bank they use, for one beneficiary.
func (s *sim) genFX(t int32, date rrs.Date, dd *dayData) {
	g := s.g
	for b := range dd.fxp {
		dd.fxp[b] = dd.fxp[b][:0]
	}
	P := g.cfg.People
	if P == 0 {
		return
	}
	r := deriveRNG(g.cfg.Seed, tagFX, uint64(t))
	mean := int64(P) * 4000 / 365
	if !s.cal.business {
		mean = mean * 7 / 10
	}
	cw := make([]int, len(fxCurrencies))
	for i := range fxCurrencies {
		cw[i] = fxCurrencies[i].weight
	}
	pw := make([]int, len(fxPurposes))
	for i := range fxPurposes {
		pw[i] = fxPurposes[i].weight
	}
	n := r.poisson(mean)
	var rows []fxpRow
	var insts []int32
	for k := 0; k < n; k++ {
		pi := int32(r.intn(P))
		if _, inRing := g.ringOf[pi]; inRing {
			continue
		}
		p := g.personAt(pi)
		c := fxCurrencies[r.pick(cw)]
		usd := r.jitter(3000_00)
		if usd > 20000_00 {
			usd = 20000_00
		}
		amount := roundTo(convert(usd, "USD", c.code), c.unit)
		usd = convert(amount, c.code, "USD")
		if s.fxUsed[pi]+usd > annualQuotaUSD || usd <= 0 {
			continue
		}
		s.fxUsed[pi] += usd
		row := fxpRow{personID: p.id, personName: p.name, currency: c.code, amount: amount, usd: usd,
			purpose: fxPurposes[r.pick(pw)].code, ring: -1}
		switch row.purpose {
		case "TRV":
			// Into the buyer's own foreign-currency savings account.
			row.beneName, row.beneAcct, row.beneC = p.pinyin, "6217"+p.id[6:14]+p.id[14:17]+"0", "CN"
		case "STU":
			sc := fxSchools[r.intn(len(fxSchools))]
			row.beneName, row.beneAcct, row.beneC = sc.name, r.foreignAccount(sc.country), sc.country
		case "MED":
			h := fxHospitals[r.intn(len(fxHospitals))]
			row.beneName, row.beneAcct, row.beneC = h.name, r.foreignAccount(h.country), h.country
		case "TRD":
			f := g.ext[s.extOf(&r, extForeign)]
			row.beneName, row.beneAcct, row.beneC = f.name, f.acct, f.acct[:2]
		default:
			_, py := r.personName()
			cc := fxRelativeCountries[r.intn(len(fxRelativeCountries))]
			row.beneName, row.beneAcct, row.beneC = py, r.foreignAccount(cc), cc
		}
		rows = append(rows, row)
		insts = append(insts, p.inst)
	}
	// Rings: member j buys on the ring's start day + j mod 3.
	for ri := range g.rings {
		ring := &g.rings[ri]
		for j, m := range ring.members {
			if ring.startDay+int32(j%3) != t {
				continue
			}
			p := g.personAt(m)
			mr := deriveRNG(g.cfg.Seed, tagFX, uint64(t), uint64(m))
			usd := annualQuotaUSD - s.fxUsed[m] - mr.between(1, 50)*100_00
			amount := roundTo(convert(usd, "USD", ring.currency), 100_00)
			usd = convert(amount, ring.currency, "USD")
			if usd <= 0 || s.fxUsed[m]+usd > annualQuotaUSD {
				continue
			}
			s.fxUsed[m] += usd
			inst := int32(mr.intn(len(g.insts))) // spread over banks to stay unnoticed
			rows = append(rows, fxpRow{personID: p.id, personName: p.name, currency: ring.currency, amount: amount, usd: usd,
				purpose: ring.purpose, beneName: ring.bene.name, beneAcct: ring.bene.acct, beneC: ring.bene.country, ring: int32(ri)})
			insts = append(insts, inst)
		}
	}
	// Transaction IDs: FX + date + a per-bank counter, in generation order.
	counters := make([]int, len(g.insts))
	dstr := date.Compact()
	for k := range rows {
		b := insts[k]
		counters[b]++
		id := appendPadded(append([]byte("FX"), dstr...), int64(counters[b]), 6)
		rows[k].id = string(id)
		dd.fxp[b] = append(dd.fxp[b], rows[k])
		if ri := rows[k].ring; ri >= 0 {
			s.ringTxns[ri] = append(s.ringTxns[ri], ringTxn{Inst: g.insts[b].code, TxnID: rows[k].id, PersonID: rows[k].personID,
				Date: date, AmountUSD: rows[k].usd})
		}
	}
}
