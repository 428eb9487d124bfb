package report

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/rrs"
)

// TypeFlowReport is the payload type of a signed flow report.
const TypeFlowReport = "ronghe.flow-report/v1"

// Report is the enterprise flow report of RRS-1 §5. Money is decimal text
// with two fraction digits (rrs.Amount); shares and indices are fractions in
// [0, 1] rounded to four places; nothing in it names an account, a
// counterparty or a transaction.
type Report struct {
	Type            string `json:"type"`
	ID              string `json:"id"`
	Enterprise      string `json:"enterprise"`
	Grantee         string `json:"grantee,omitempty"`
	AuthorizationID string `json:"authorization_id,omitempty"`
	Purpose         string `json:"purpose,omitempty"`
	// From and To are the first and last month (YYYY-MM), Months their count.
	From   string `json:"from"`
	To     string `json:"to"`
	Months int    `json:"months"`
	// AsOf is when the newest data in the report was applied; GeneratedAt
	// when the report was made.
	AsOf        *time.Time `json:"as_of"`
	GeneratedAt time.Time  `json:"generated_at"`
	// Institutions and Accounts count where the enterprise holds accounts
	// (cash-pool masters included in Accounts, as accounts they are);
	// EarliestOpenDate is its oldest account's opening date.
	Institutions     int    `json:"institutions"`
	Accounts         int    `json:"accounts"`
	EarliestOpenDate string `json:"earliest_open_date,omitempty"`
	// Currencies holds the figures per currency, CNY first.
	Currencies []CurrencyReport `json:"currencies"`
	// Disputes lists the enterprise's open disputes (异议) about data in the
	// window; the months and currencies they affect carry a dispute mark
	// until they are resolved.
	Disputes []DisputeMark `json:"disputes"`
}

// CurrencyReport is the report's figures in one currency.
type CurrencyReport struct {
	Currency      string        `json:"currency"`
	Monthly       []MonthFigure `json:"monthly"`
	Total         Totals        `json:"total"`
	Concentration Concentration `json:"concentration"`
	Stability     Stability     `json:"stability"`
	// RoundInflowShare is the share of inflow in amounts that are
	// multiples of 10,000 yuan (or units of the currency).
	RoundInflowShare float64 `json:"round_inflow_share"`
	// PassThroughMonths lists the months flagged as pass-through.
	PassThroughMonths []string `json:"pass_through_months"`
}

// Totals are sums over a month or the window.
type Totals struct {
	Inflow    rrs.Amount `json:"inflow"`
	Outflow   rrs.Amount `json:"outflow"`
	Net       rrs.Amount `json:"net"`
	InCount   int64      `json:"in_count"`
	OutCount  int64      `json:"out_count"`
	Payroll   rrs.Amount `json:"payroll"`
	Tax       rrs.Amount `json:"tax"`
	Utilities rrs.Amount `json:"utilities"`
}

// MonthFigure is one month's figures.
type MonthFigure struct {
	Month string `json:"month"`
	Totals
	// MonthEndBalance is the total closing balance on the month's last day
	// with data; AvgDailyBalance the mean over the days with data. Both
	// leave cash-pool masters out. HasBalance is false when no balance of
	// the month is known.
	MonthEndBalance rrs.Amount `json:"month_end_balance"`
	AvgDailyBalance rrs.Amount `json:"avg_daily_balance"`
	HasBalance      bool       `json:"has_balance"`
	// PassThrough is true when at least 80 % of the month's inflow left
	// within a day of arriving.
	PassThrough bool `json:"pass_through"`
	// Disputed is true while an open dispute affects this month and
	// currency; DisputeIDs name the disputes (see Report.Disputes).
	Disputed   bool     `json:"disputed"`
	DisputeIDs []string `json:"dispute_ids,omitempty"`
}

// Concentration describes how the inflow is spread over counterparties,
// named only by pseudonyms stable within this report.
type Concentration struct {
	Top1Share float64             `json:"top1_share"`
	Top5Share float64             `json:"top5_share"`
	HHI       float64             `json:"hhi"`
	Top       []CounterpartyShare `json:"top"`
	// Counterparties is the number of distinct paying counterparties.
	Counterparties int `json:"counterparties"`
}

// CounterpartyShare is one counterparty's share of inflow.
type CounterpartyShare struct {
	Pseudonym string  `json:"pseudonym"`
	Share     float64 `json:"share"`
}

// Stability describes the inflow over time.
type Stability struct {
	// CVMonthlyInflow is the coefficient of variation (population standard
	// deviation over mean) of monthly inflow; nil when the mean is 0.
	CVMonthlyInflow *float64 `json:"cv_monthly_inflow"`
	// MonthsWithoutInflow counts months of the window with no inflow.
	MonthsWithoutInflow int `json:"months_without_inflow"`
	// Growth6M is the last 6 months' inflow over the 6 before, minus 1;
	// nil when the window is shorter than 12 months or the earlier half is 0.
	Growth6M *float64 `json:"growth_6m"`
}

// passThroughShare is RRS-1 §5's 80 %, in per mille to keep it exact.
const passThroughPermille = 800

// Window is a report's span of months.
type Window struct{ From, To rrs.Period }

// MaxMonths is RRS-1 §5's longest window.
const MaxMonths = 24

// ParseWindow checks a window of 1–24 months.
func ParseWindow(from, to string) (Window, error) {
	f, err := rrs.ParsePeriod(from)
	if err != nil {
		return Window{}, err
	}
	t, err := rrs.ParsePeriod(to)
	if err != nil {
		return Window{}, err
	}
	w := Window{f, t}
	if n := w.months(); n < 1 || n > MaxMonths {
		return Window{}, ronghe.Errorf(ronghe.EINVALID, "a report covers 1 to %d months, not %d", MaxMonths, n)
	}
	return w, nil
}

func (w Window) months() int { return (w.To.Y-w.From.Y)*12 + int(w.To.M) - int(w.From.M) + 1 }

func (w Window) list() []rrs.Period {
	var out []rrs.Period
	for p := w.From; ; {
		out = append(out, p)
		if p == w.To {
			return out
		}
		p = rrs.Period{Y: p.Y + int(p.M)/12, M: p.M%12 + 1}
	}
}

// Compute builds the report of uscc over w from the stored facts.
// Transfers between the enterprise's own accounts — counterparty USCC its own,
// or counterparty account one of its accounts — are left out of every flow
// figure.
func Compute(f *ronghe.FlowFacts, uscc string, w Window, now time.Time) *Report {
	months := w.list()
	monthKeys := make([]string, len(months))
	for i, p := range months {
		monthKeys[i] = p.String()
	}
	r := &Report{Type: TypeFlowReport, Enterprise: uscc, From: w.From.String(), To: w.To.String(), Months: len(months), GeneratedAt: now.UTC()}
	if !f.AsOf.IsZero() {
		t := f.AsOf.UTC()
		r.AsOf = &t
	}
	own := map[string]bool{}
	insts := map[string]bool{}
	for _, a := range f.Accounts {
		own[a.Key] = true
		insts[a.Inst] = true
		if r.EarliestOpenDate == "" || a.OpenDate < r.EarliestOpenDate {
			r.EarliestOpenDate = a.OpenDate
		}
	}
	r.Institutions, r.Accounts = len(insts), len(f.Accounts)

	type dayFlow struct{ in, out int64 }
	type cur struct {
		monthly map[string]*MonthFigure
		days    map[string]*dayFlow         // date → flows (own transfers excluded)
		cps     map[string]int64            // counterparty key → inflow
		balDays map[string]map[string]int64 // month → date → total balance
		passed  map[string]int64            // month → inflow passed through
		round   int64
	}
	curs := map[string]*cur{}
	get := func(c string) *cur {
		x := curs[c]
		if x == nil {
			x = &cur{monthly: map[string]*MonthFigure{}, days: map[string]*dayFlow{}, cps: map[string]int64{}, balDays: map[string]map[string]int64{}}
			for _, m := range monthKeys {
				x.monthly[m] = &MonthFigure{Month: m}
			}
			curs[c] = x
		}
		return x
	}
	for _, c := range f.Cells {
		if c.CpIsSelf || (c.CpAcctKey != "" && own[c.CpAcctKey]) {
			continue
		}
		x := get(c.Currency)
		m := x.monthly[c.Date[:7]]
		if m == nil {
			continue // outside the window
		}
		m.Inflow += rrs.Amount(c.Inflow)
		m.Outflow += rrs.Amount(c.Outflow)
		m.InCount += c.InCount
		m.OutCount += c.OutCount
		m.Payroll += rrs.Amount(c.SalOut)
		m.Tax += rrs.Amount(c.TaxOut)
		m.Utilities += rrs.Amount(c.UtlOut)
		d := x.days[c.Date]
		if d == nil {
			d = &dayFlow{}
			x.days[c.Date] = d
		}
		d.in += c.Inflow
		d.out += c.Outflow
		// Flows without any counterparty information (cash) are inflow
		// but no counterparty's.
		if c.Inflow > 0 && c.CpKey != "" {
			x.cps[c.CpKey] += c.Inflow
		}
		x.round += c.RoundIn
	}
	for _, b := range f.Balances {
		if b.Master {
			continue
		}
		x := get(b.Currency)
		month := b.Date[:7]
		if x.monthly[month] == nil {
			continue
		}
		if x.balDays[month] == nil {
			x.balDays[month] = map[string]int64{}
		}
		x.balDays[month][b.Date] += b.CloseBal
	}
	codes := make([]string, 0, len(curs))
	for c, x := range curs {
		codes = append(codes, c)
		// Pass-through: money in on day d counts as passed through up to
		// what left on d and d+1 (RRS-1 §5 "within 24 h", at the day
		// granularity the platform holds), summed per month of d.
		x.passed = map[string]int64{}
		var next []byte
		for date, df := range x.days {
			if df.in == 0 {
				continue
			}
			out := df.out
			if d, err := rrs.ParseDate(date); err == nil {
				next = d.AddDays(1).AppendTo(next[:0])
				if n := x.days[string(next)]; n != nil {
					out += n.out
				}
			}
			x.passed[date[:7]] += min(df.in, out)
		}
	}
	sort.Slice(codes, func(i, j int) bool {
		if (codes[i] == "CNY") != (codes[j] == "CNY") {
			return codes[i] == "CNY"
		}
		return codes[i] < codes[j]
	})
	for _, code := range codes {
		x := curs[code]
		cr := CurrencyReport{Currency: code, PassThroughMonths: []string{}}
		var inflows []int64
		for _, key := range monthKeys {
			m := x.monthly[key]
			m.Net = m.Inflow - m.Outflow
			if days := x.balDays[key]; len(days) > 0 {
				dates := make([]string, 0, len(days))
				var sum int64
				for d, v := range days {
					dates = append(dates, d)
					sum += v
				}
				sort.Strings(dates)
				m.HasBalance = true
				m.MonthEndBalance = rrs.Amount(days[dates[len(dates)-1]])
				m.AvgDailyBalance = rrs.Amount(divRound(sum, int64(len(dates))))
			}
			passed := x.passed[key]
			m.PassThrough = m.Inflow > 0 && passed*1000 >= int64(m.Inflow)*passThroughPermille
			if m.PassThrough {
				cr.PassThroughMonths = append(cr.PassThroughMonths, m.Month)
			}
			cr.Total.Inflow += m.Inflow
			cr.Total.Outflow += m.Outflow
			cr.Total.InCount += m.InCount
			cr.Total.OutCount += m.OutCount
			cr.Total.Payroll += m.Payroll
			cr.Total.Tax += m.Tax
			cr.Total.Utilities += m.Utilities
			inflows = append(inflows, int64(m.Inflow))
			cr.Monthly = append(cr.Monthly, *m)
		}
		cr.Total.Net = cr.Total.Inflow - cr.Total.Outflow
		cr.Concentration = concentration(x.cps, int64(cr.Total.Inflow))
		cr.Stability = stability(inflows)
		if cr.Total.Inflow > 0 {
			cr.RoundInflowShare = ratio(x.round, int64(cr.Total.Inflow))
		}
		r.Currencies = append(r.Currencies, cr)
	}
	if r.Currencies == nil {
		r.Currencies = []CurrencyReport{}
	}
	r.Disputes = []DisputeMark{}
	return r
}

// concentration ranks counterparties by inflow and names them by rank, so
// the pseudonyms say nothing beyond this report.
func concentration(cps map[string]int64, total int64) Concentration {
	c := Concentration{Top: []CounterpartyShare{}}
	if total <= 0 {
		return c
	}
	type kv struct {
		k string
		v int64
	}
	list := make([]kv, 0, len(cps))
	for k, v := range cps {
		list = append(list, kv{k, v})
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].v != list[j].v {
			return list[i].v > list[j].v
		}
		return list[i].k < list[j].k
	})
	c.Counterparties = len(list)
	var top5 int64
	hhi := 0.0
	for i, e := range list {
		s := float64(e.v) / float64(total)
		hhi += s * s
		if i < 5 {
			top5 += e.v
		}
		if i < 10 {
			c.Top = append(c.Top, CounterpartyShare{Pseudonym: fmt.Sprintf("CP-%02d", i+1), Share: round4(s)})
		}
	}
	if len(list) > 0 {
		c.Top1Share = ratio(list[0].v, total)
	}
	c.Top5Share = ratio(top5, total)
	c.HHI = round4(hhi)
	return c
}

func stability(inflows []int64) Stability {
	var s Stability
	var sum int64
	for _, v := range inflows {
		sum += v
		if v == 0 {
			s.MonthsWithoutInflow++
		}
	}
	n := float64(len(inflows))
	if sum > 0 {
		mean := float64(sum) / n
		var ss float64
		for _, v := range inflows {
			d := float64(v) - mean
			ss += d * d
		}
		cv := round4(math.Sqrt(ss/n) / mean)
		s.CVMonthlyInflow = &cv
	}
	if len(inflows) >= 12 {
		var last, prev int64
		for i, v := range inflows[len(inflows)-12:] {
			if i < 6 {
				prev += v
			} else {
				last += v
			}
		}
		if prev > 0 {
			g := round4(float64(last)/float64(prev) - 1)
			s.Growth6M = &g
		}
	}
	return s
}

func ratio(a, b int64) float64 { return round4(float64(a) / float64(b)) }

func round4(x float64) float64 { return math.Round(x*10000) / 10000 }

// divRound divides rounding half away from zero, for exact averages of cents.
func divRound(a, b int64) int64 {
	q, r := a/b, a%b
	if 2*abs(r) >= b {
		if a < 0 {
			q--
		} else {
			q++
		}
	}
	return q
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}
