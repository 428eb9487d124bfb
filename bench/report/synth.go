package main

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/ronghe/ronghe/rrs"
)

// The synthetic region. gen models a rich economy (about eleven TXN rows per
// enterprise and day) and would need years to write 24 months of a million
// enterprises, so the benchmark synthesizes its own RRS-1 batches,
// deterministically from a seed: each enterprise has a CNY basic account at
// its home bank, some a general account at another bank, a USD account or a
// cash-pool master; its transactions fall on random days at the rate that
// gives the requested total, with a few counterparties taking most of its
// inflow, own-account transfers, payroll, tax and utility payments, round
// amounts, cash without counterparty, and months without activity. One
// deviation from RRS-1 keeps the volume proportional to the TXN rows: BAL
// rows are written for every account at each month end only (RRS-1 wants
// one per account and day), and ACCT rows for the accounts a batch
// references. Both sides of the benchmark read the same rows.

// region sizes the synthetic region.
type region struct {
	enterprises  int
	institutions int
	txnRows      int64
	start        rrs.Date // first business date
	days         int
	seed         uint64
}

// accounts per enterprise, by slot.
const (
	slotBasic   = 0 // CNY basic at home, always
	slotGeneral = 1 // CNY general at another bank, 30 %
	slotUSD     = 2 // USD at home, 5 %
	slotMaster  = 3 // cash-pool master at home (type 9), 1.5 %
	slots       = 4
)

// mix is splitmix64: a fast deterministic hash of its inputs.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func (g *region) h(parts ...uint64) uint64 {
	x := g.seed
	for _, p := range parts {
		x = mix(x ^ p)
	}
	return x
}

// unit returns a uniform float in [0, 1).
func unit(x uint64) float64 { return float64(x>>11) / (1 << 53) }

func (g *region) uscc(e int) string {
	first := fmt.Sprintf("914401%011d", e)
	c, err := rrs.USCCCheckChar(first)
	if err != nil {
		panic(err) // digits only: cannot fail
	}
	return first + string(c)
}

func (g *region) instCode(i int) string { return fmt.Sprintf("B9%06d00000%01d", i, i%10)[:14] }

func (g *region) home(e int) int { return int(g.h(uint64(e), 11) % uint64(g.institutions)) }

// has reports whether enterprise e has the account in slot.
func (g *region) has(e, slot int) bool {
	switch slot {
	case slotBasic:
		return true
	case slotGeneral:
		return g.institutions > 1 && g.h(uint64(e), 12)%100 < 30
	case slotUSD:
		return g.h(uint64(e), 13)%100 < 5
	case slotMaster:
		return g.h(uint64(e), 14)%1000 < 15
	}
	return false
}

func (g *region) acctInst(e, slot int) int {
	if slot == slotGeneral {
		return (g.home(e) + 1 + int(g.h(uint64(e), 15)%uint64(g.institutions-1))) % g.institutions
	}
	return g.home(e)
}

func (g *region) acctNo(e, slot int) string {
	return fmt.Sprintf("6%04d%015d", g.acctInst(e, slot), e*slots+slot)
}

func (g *region) currency(slot int) string {
	if slot == slotUSD {
		return "USD"
	}
	return "CNY"
}

// rate is enterprise e's mean TXN rows per day.
func (g *region) rate(e int) float64 {
	mean := float64(g.txnRows) / float64(g.enterprises) / float64(g.days)
	return mean * (0.25 + 1.5*unit(g.h(uint64(e), 16)))
}

// rowsOn returns how many TXN rows enterprise e has on day d: Poisson with
// its rate, none in its quiet months (one month in ten).
func (g *region) rowsOn(e, d int, month int) int {
	if g.h(uint64(e), 17, uint64(month))%10 == 0 {
		return 0
	}
	lambda := g.rate(e)
	u := unit(g.h(uint64(e), 18, uint64(d)))
	p := math.Exp(-lambda)
	k, cdf := 0, p
	for u > cdf && k < 200 {
		k++
		p *= lambda / float64(k)
		cdf += p
	}
	return k
}

var remarks = []string{"货款", "服务费", "往来款", "转账", "代发工资", "税款", "电费", "水费", "现金存入", "资金归集"}

// batchWriters are one institution's files for one business date.
type batchWriters struct {
	dir            string
	acct, txn, bal *rrs.Writer
	files          []*os.File
	bufs           []*bufio.Writer
	seen           map[int]bool // accounts written to ACCT
	txnSeq         int
}

// synthesize writes the region's batches under dir, one day at a time, and
// hands each finished batch directory to done.
func (g *region) synthesize(ctx context.Context, dir string, done func(batch string) error) (txn, bal int64, err error) {
	spec := rrs.Current()
	acctRT, txnRT, balRT := spec.Record(rrs.ACCT), spec.Record(rrs.TXN), spec.Record(rrs.BAL)
	balance := make([]int64, g.enterprises*slots)
	for e := 0; e < g.enterprises; e++ {
		for s := 0; s < slots; s++ {
			balance[e*slots+s] = int64(1_000_00 + g.h(uint64(e), 19, uint64(s))%50_000_000_00)
		}
	}
	perAcctDay := map[int]int{} // txn_seq within account and day
	for d := 0; d < g.days; d++ {
		if err := ctx.Err(); err != nil {
			return txn, bal, err
		}
		date := g.start.AddDays(d)
		month := (date.Y-g.start.Y)*12 + int(date.M) - int(g.start.M)
		ws := make([]*batchWriters, g.institutions)
		open := func(i int) (*batchWriters, error) {
			if ws[i] != nil {
				return ws[i], nil
			}
			w := &batchWriters{dir: filepath.Join(dir, rrs.BatchID{InstCode: g.instCode(i), Date: date, Seq: 1}.String()), seen: map[int]bool{}}
			if err := os.MkdirAll(w.dir, 0o755); err != nil {
				return nil, err
			}
			for _, f := range []struct {
				name string
				rt   *rrs.RecordType
				dst  **rrs.Writer
			}{{"ACCT.csv", acctRT, &w.acct}, {"TXN.csv", txnRT, &w.txn}, {"BAL.csv", balRT, &w.bal}} {
				file, err := os.Create(filepath.Join(w.dir, f.name))
				if err != nil {
					return nil, err
				}
				buf := bufio.NewWriterSize(file, 256<<10)
				wr, err := rrs.NewWriter(buf, f.rt, rrs.UTF8)
				if err != nil {
					return nil, err
				}
				*f.dst = wr
				w.files, w.bufs = append(w.files, file), append(w.bufs, buf)
			}
			ws[i] = w
			return w, nil
		}
		writeAcct := func(w *batchWriters, e, slot int) error {
			id := e*slots + slot
			if w.seen[id] {
				return nil
			}
			w.seen[id] = true
			typ, parent := "1", ""
			switch slot {
			case slotGeneral, slotUSD:
				typ = "2"
			case slotMaster:
				typ = "9"
			}
			open := g.start.AddDays(-int(g.h(uint64(e), 20, uint64(slot)) % 3000))
			v := make([]string, len(acctRT.Fields))
			set := func(f, val string) { v[acctRT.Index(f)] = val }
			set("inst_code", g.instCode(g.acctInst(e, slot)))
			set("acct_no", g.acctNo(e, slot))
			set("acct_type", typ)
			set("parent_acct_no", parent)
			set("subject_code", "D01")
			set("uscc", g.uscc(e))
			set("holder_name", fmt.Sprintf("合成企业%07d有限公司", e))
			set("currency", g.currency(slot))
			set("open_date", open.String())
			set("status", "A")
			return w.acct.Write(v)
		}
		tv := make([]string, len(txnRT.Fields))
		tset := func(f, val string) { tv[txnRT.Index(f)] = val }
		clear(perAcctDay)
		for e := 0; e < g.enterprises; e++ {
			k := g.rowsOn(e, d, month)
			for j := 0; j < k; j++ {
				r := g.h(uint64(e), 21, uint64(d), uint64(j))
				slot := slotBasic
				switch x := r % 100; {
				case x < 20 && g.has(e, slotGeneral):
					slot = slotGeneral
				case x >= 95 && g.has(e, slotUSD):
					slot = slotUSD
				}
				inst := g.acctInst(e, slot)
				w, err := open(inst)
				if err != nil {
					return txn, bal, err
				}
				if err := writeAcct(w, e, slot); err != nil {
					return txn, bal, err
				}
				id := e*slots + slot
				r2 := g.h(r, 22)
				credit := r2%100 < 52
				cents := int64(100 + mix(r2)%2_000_000) // up to 20,000.00
				if mix(r2^1)%100 < 3 {
					cents = int64(1+mix(r2^2)%20) * 1_000_000 // round: multiples of 10,000.00
				}
				purpose, channel := "GDS", "02"
				if !credit {
					switch x := mix(r2^3) % 100; {
					case x < 8:
						purpose = "SAL"
					case x < 13:
						purpose = "TAX"
					case x < 18:
						purpose = "UTL"
					}
				}
				var cpUSCC, cpInst, cpAcct, cpName string
				switch x := mix(r2^4) % 100; {
				case x < 5 && slot != slotUSD && g.has(e, slotGeneral): // own transfer
					other := slotGeneral
					if slot == slotGeneral {
						other = slotBasic
					}
					cpUSCC, cpInst, cpAcct, cpName = g.uscc(e), g.instCode(g.acctInst(e, other)), g.acctNo(e, other), fmt.Sprintf("合成企业%07d有限公司", e)
					purpose = "TRF"
				case x < 75: // one of its few in-region counterparties
					c := int(g.h(uint64(e), 23, mix(r2^5)%8) % uint64(g.enterprises))
					cpUSCC, cpInst, cpAcct, cpName = g.uscc(c), g.instCode(g.home(c)), g.acctNo(c, slotBasic), fmt.Sprintf("合成企业%07d有限公司", c)
				case x < 95: // outside the region: name and account only
					c := mix(r2^6) % 5000
					cpAcct, cpName = fmt.Sprintf("9%018d", c), fmt.Sprintf("区外客户%05d", c)
				default: // cash
					purpose, channel = "CSH", "01"
				}
				if credit {
					balance[id] += cents
				} else {
					balance[id] -= cents
				}
				perAcctDay[id]++
				w.txnSeq++
				for i := range tv {
					tv[i] = ""
				}
				tset("inst_code", g.instCode(inst))
				tset("acct_no", g.acctNo(e, slot))
				tset("txn_id", "T"+date.Compact()+strconv.Itoa(100000000+w.txnSeq))
				tset("txn_date", date.String())
				tset("txn_time", fmt.Sprintf("%02d:%02d:%02d", mix(r2^7)%24, mix(r2^8)%60, mix(r2^9)%60))
				tset("txn_seq", strconv.Itoa(perAcctDay[id]))
				if credit {
					tset("dc_flag", "C")
				} else {
					tset("dc_flag", "D")
				}
				tset("amount", rrs.Amount(cents).String())
				tset("currency", g.currency(slot))
				tset("balance", rrs.Amount(balance[id]).String())
				tset("cp_acct_no", cpAcct)
				tset("cp_name", cpName)
				tset("cp_inst_code", cpInst)
				tset("cp_uscc", cpUSCC)
				tset("channel", channel)
				tset("purpose", purpose)
				tset("remark", remarks[mix(r2^10)%uint64(len(remarks))])
				if err := w.txn.Write(tv); err != nil {
					return txn, bal, err
				}
				txn++
			}
		}
		if date.IsMonthEnd() {
			bv := make([]string, len(balRT.Fields))
			bset := func(f, val string) { bv[balRT.Index(f)] = val }
			for e := 0; e < g.enterprises; e++ {
				var pool int64
				for _, slot := range []int{slotBasic, slotGeneral, slotUSD, slotMaster} {
					if !g.has(e, slot) {
						continue
					}
					id := e*slots + slot
					close := balance[id]
					if slot == slotMaster {
						close = pool // the master only sums the group's CNY accounts
					} else if slot != slotUSD {
						pool += close
					}
					w, err := open(g.acctInst(e, slot))
					if err != nil {
						return txn, bal, err
					}
					if err := writeAcct(w, e, slot); err != nil {
						return txn, bal, err
					}
					bset("inst_code", g.instCode(g.acctInst(e, slot)))
					bset("acct_no", g.acctNo(e, slot))
					bset("bal_date", date.String())
					bset("currency", g.currency(slot))
					bset("open_bal", rrs.Amount(close).String())
					bset("close_bal", rrs.Amount(close).String())
					bset("debit_total", "0.00")
					bset("credit_total", "0.00")
					bset("debit_count", "0")
					bset("credit_count", "0")
					if err := w.bal.Write(bv); err != nil {
						return txn, bal, err
					}
					bal++
				}
			}
		}
		for _, w := range ws {
			if w == nil {
				continue
			}
			for _, wr := range []*rrs.Writer{w.acct, w.txn, w.bal} {
				if err := wr.Flush(); err != nil {
					return txn, bal, err
				}
			}
			for i, f := range w.files {
				if err := w.bufs[i].Flush(); err != nil {
					return txn, bal, err
				}
				if err := f.Close(); err != nil {
					return txn, bal, err
				}
			}
			if err := done(w.dir); err != nil {
				return txn, bal, err
			}
		}
	}
	return txn, bal, nil
}
