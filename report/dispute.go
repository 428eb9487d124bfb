package report

import (
	"context"
	"sort"
	"time"

	"github.com/ronghe/ronghe"
)

// DisputeMark is an open dispute as a report shows it: which dates and which
// record class the enterprise disputes, and by when the reporting
// institution must answer. It names neither the institution nor the reason
// (the reason may quote accounts or counterparties).
type DisputeMark struct {
	// ID is the dispute's ID.
	ID string `json:"id"`
	// From and To are the disputed business dates (YYYY-MM-DD).
	From string `json:"from"`
	To   string `json:"to"`
	// RecordClass is TXN (flows), BAL (balances) or ACCT (accounts).
	RecordClass string `json:"record_class"`
	// Currency is set when the dispute names one currency.
	Currency string `json:"currency,omitempty"`
	// RegisteredAt is when it was filed; Deadline when the institution's
	// time to answer ends; Overdue is true past it.
	RegisteredAt time.Time `json:"registered_at"`
	Deadline     time.Time `json:"deadline"`
	Overdue      bool      `json:"overdue"`
}

// DisputeSource finds an enterprise's open disputes overlapping a range of
// business dates (*policy.Disputes).
type DisputeSource interface {
	OpenDisputes(ctx context.Context, enterprise, from, to string) ([]*ronghe.Dispute, error)
}

// MarkDisputes marks the months and currencies of r that the open disputes
// ds affect, and lists the disputes. A dispute affects every month of the
// window its dates overlap, in its currency if it names one, else in the
// currencies the disputed institution holds or reported for the enterprise
// (its accounts, and its flows and balances on the disputed dates); when
// none is known — the enterprise disputes data the institution never
// reported — it affects every currency of the report.
func MarkDisputes(r *Report, f *ronghe.FlowFacts, ds []*ronghe.Dispute) {
	if r.Disputes == nil {
		r.Disputes = []DisputeMark{}
	}
	if len(ds) == 0 {
		return
	}
	w, err := ParseWindow(r.From, r.To)
	if err != nil {
		return // a report always has a valid window
	}
	first, last := w.From.First().String(), w.To.Last().String()
	sorted := append([]*ronghe.Dispute(nil), ds...)
	sort.Slice(sorted, func(i, j int) bool {
		if !sorted[i].RegisteredAt.Equal(sorted[j].RegisteredAt) {
			return sorted[i].RegisteredAt.Before(sorted[j].RegisteredAt)
		}
		return sorted[i].ID < sorted[j].ID
	})
	for _, d := range sorted {
		if d.Status != ronghe.DisputeOpen || d.To < first || d.From > last || d.Enterprise != r.Enterprise {
			continue
		}
		r.Disputes = append(r.Disputes, DisputeMark{ID: d.ID, From: d.From, To: d.To, RecordClass: d.RecordClass, Currency: d.Currency,
			RegisteredAt: d.RegisteredAt.UTC(), Deadline: d.Deadline.UTC(), Overdue: d.Overdue})
		curs := disputedCurrencies(d, f)
		for i := range r.Currencies {
			c := &r.Currencies[i]
			if len(curs) > 0 && !curs[c.Currency] {
				continue
			}
			for j := range c.Monthly {
				m := &c.Monthly[j]
				// The month overlaps the disputed dates.
				if d.From <= m.Month+"-31" && d.To >= m.Month+"-01" {
					m.Disputed = true
					m.DisputeIDs = append(m.DisputeIDs, d.ID)
				}
			}
		}
	}
}

// disputedCurrencies returns the currencies a dispute affects; empty means
// every currency.
func disputedCurrencies(d *ronghe.Dispute, f *ronghe.FlowFacts) map[string]bool {
	if d.Currency != "" {
		return map[string]bool{d.Currency: true}
	}
	curs := map[string]bool{}
	if f == nil {
		return curs
	}
	for _, a := range f.Accounts {
		if a.Inst == d.Institution {
			curs[a.Currency] = true
		}
	}
	for _, c := range f.Cells {
		if c.Inst == d.Institution && d.Covers(c.Date) {
			curs[c.Currency] = true
		}
	}
	for _, b := range f.Balances {
		if b.Inst == d.Institution && d.Covers(b.Date) {
			curs[b.Currency] = true
		}
	}
	return curs
}
