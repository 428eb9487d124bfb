package report

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/sqlstore"
	"github.com/ronghe/ronghe/sqlstore/sqltest"
)

const ent = "91350100M000100Y43"

func cell(date, cur, cp string, in, out int64) ronghe.DatedFlowCell {
	c := ronghe.DatedFlowCell{Date: date, Inst: "B1", FlowCell: ronghe.FlowCell{USCC: ent, Currency: cur, CpKey: cp, Inflow: in, Outflow: out}}
	if in > 0 {
		c.InCount = 1
		if in%roundUnit == 0 {
			c.RoundIn = in
		}
	}
	if out > 0 {
		c.OutCount = 1
	}
	return c
}

func mustWindow(t *testing.T, from, to string) Window {
	t.Helper()
	w, err := ParseWindow(from, to)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestComputeExclusionsAndFlags(t *testing.T) {
	self := cell("2025-01-03", "CNY", "x", 500_00, 0)
	self.CpIsSelf = true
	ownAcct := cell("2025-01-04", "CNY", "y", 0, 700_00)
	ownAcct.CpAcctKey = "own-1"
	f := &ronghe.FlowFacts{
		Accounts: []ronghe.FlowAccount{
			{USCC: ent, Inst: "B1", Key: "own-1", Type: "1", Currency: "CNY", OpenDate: "2020-05-01"},
			{USCC: ent, Inst: "B2", Key: "own-2", Type: "9", Currency: "CNY", OpenDate: "2019-03-01"},
		},
		Cells: []ronghe.DatedFlowCell{
			cell("2025-01-02", "CNY", "a", 1_000_000_00, 0), // a round 1,000,000.00 inflow
			cell("2025-01-02", "CNY", "b", 0, 900_000_00),   // leaves the same day
			self, ownAcct,
			cell("2025-02-10", "CNY", "a", 300_00, 0),
			cell("2025-02-10", "CNY", "c", 100_00, 0),
			cell("2025-02-20", "USD", "d", 50_00, 10_00),
		},
		Balances: []ronghe.DatedFlowBalance{
			{Date: "2025-01-30", Inst: "B1", FlowBalance: ronghe.FlowBalance{USCC: ent, AcctKey: "own-1", Currency: "CNY", CloseBal: 100_00}},
			{Date: "2025-01-31", Inst: "B1", FlowBalance: ronghe.FlowBalance{USCC: ent, AcctKey: "own-1", Currency: "CNY", CloseBal: 201_00}},
			{Date: "2025-01-31", Inst: "B2", FlowBalance: ronghe.FlowBalance{USCC: ent, AcctKey: "own-2", Currency: "CNY", CloseBal: 999_00, Master: true}},
		},
	}
	r := Compute(f, ent, mustWindow(t, "2025-01", "2025-03"), time.Now())
	if r.Institutions != 2 || r.Accounts != 2 || r.EarliestOpenDate != "2019-03-01" {
		t.Errorf("accounts: %d institutions, %d accounts, earliest %s", r.Institutions, r.Accounts, r.EarliestOpenDate)
	}
	if len(r.Currencies) != 2 || r.Currencies[0].Currency != "CNY" || r.Currencies[1].Currency != "USD" {
		t.Fatalf("currencies: %+v", r.Currencies)
	}
	cny := r.Currencies[0]
	jan := cny.Monthly[0]
	// Own transfers (by USCC and by own account) are left out.
	if jan.Inflow != 1_000_000_00 || jan.Outflow != 900_000_00 || jan.InCount != 1 || jan.OutCount != 1 {
		t.Errorf("January flows %+v", jan.Totals)
	}
	// Master accounts are left out of balances; the average is over days with data.
	if jan.MonthEndBalance != 201_00 || jan.AvgDailyBalance != 150_50 || !jan.HasBalance {
		t.Errorf("January balances: end %s avg %s", jan.MonthEndBalance, jan.AvgDailyBalance)
	}
	// 900,000 of 1,000,000 left within a day: 90 % ≥ 80 %.
	if !jan.PassThrough || cny.Monthly[1].PassThrough || strings.Join(cny.PassThroughMonths, ",") != "2025-01" {
		t.Errorf("pass-through: %v", cny.PassThroughMonths)
	}
	// March has no activity; it is a month without inflow.
	if m := cny.Monthly[2]; m.Inflow != 0 || m.HasBalance || cny.Stability.MonthsWithoutInflow != 1 {
		t.Errorf("March: %+v, months without inflow %d", m, cny.Stability.MonthsWithoutInflow)
	}
	// Counterparty a: 1,000,300 of 1,000,400.
	c := cny.Concentration
	if c.Counterparties != 2 || c.Top1Share != 0.9999 || c.Top5Share != 1 || c.Top[0].Pseudonym != "CP-01" {
		t.Errorf("concentration %+v", c)
	}
	if cny.RoundInflowShare != 0.9996 {
		t.Errorf("round share %v", cny.RoundInflowShare)
	}
	if cny.Stability.Growth6M != nil {
		t.Errorf("growth on a 3-month window: %v", *cny.Stability.Growth6M)
	}
	// Nothing identifying leaves: no counterparty or account key in the JSON.
	b, _ := json.Marshal(r)
	for _, secret := range []string{`"a"`, "own-1", "own-2", `"b"`} {
		if strings.Contains(string(b), secret) {
			t.Errorf("report contains %s", secret)
		}
	}
}

func TestComputeStability(t *testing.T) {
	var cells []ronghe.DatedFlowCell
	// 12 months: 100 in each of the first six, 150 in each of the last six.
	for m := 1; m <= 12; m++ {
		amt := int64(100_00)
		if m > 6 {
			amt = 150_00
		}
		cells = append(cells, cell("2024-"+two(m)+"-15", "CNY", "a", amt, 0))
	}
	r := Compute(&ronghe.FlowFacts{Cells: cells}, ent, mustWindow(t, "2024-01", "2024-12"), time.Now())
	s := r.Currencies[0].Stability
	if s.Growth6M == nil || *s.Growth6M != 0.5 {
		t.Fatalf("growth %v", s.Growth6M)
	}
	// mean 125, population sd 25 → CV 0.2.
	if s.CVMonthlyInflow == nil || *s.CVMonthlyInflow != 0.2 {
		t.Fatalf("cv %v", s.CVMonthlyInflow)
	}
	if c := r.Currencies[0].Concentration; c.HHI != 1 || c.Top1Share != 1 {
		t.Fatalf("single counterparty: %+v", c)
	}
}

func two(m int) string { return string([]byte{byte('0' + m/10), byte('0' + m%10)}) }

func TestParseWindow(t *testing.T) {
	for _, c := range []struct {
		from, to string
		ok       bool
	}{
		{"2025-01", "2025-01", true}, {"2024-01", "2025-12", true}, {"2023-12", "2025-12", false},
		{"2025-02", "2025-01", false}, {"2025-13", "2025-12", false}, {"2025-1", "2025-02", false},
	} {
		if _, err := ParseWindow(c.from, c.to); (err == nil) != c.ok {
			t.Errorf("%s..%s: %v", c.from, c.to, err)
		}
	}
}

func TestCorrectionReplacesDay(t *testing.T) {
	for name, dsn := range map[string]func(testing.TB) string{"sqlite": sqltest.SQLite, "postgres": sqltest.Postgres} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db, err := sqlstore.Open(ctx, dsn(t))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			day := func(seq int, inflow int64) *ronghe.FlowDay {
				return &ronghe.FlowDay{Inst: "B1000000000001", Date: "2025-01-02", Batch: "B1000000000001_20250102_" + two(seq), Seq: seq,
					AppliedAt: time.Date(2025, 1, 3, seq, 0, 0, 0, time.UTC),
					Accounts:  []ronghe.FlowAccount{{USCC: ent, Inst: "B1000000000001", Key: "k1", Type: "1", Currency: "CNY", OpenDate: "2020-01-01"}},
					Cells:     []ronghe.FlowCell{{USCC: ent, Currency: "CNY", CpKey: "a", Inflow: inflow, InCount: 1}},
					Balances:  []ronghe.FlowBalance{{USCC: ent, AcctKey: "k1", Currency: "CNY", CloseBal: inflow}}}
			}
			report := func() *Report {
				f, err := db.FlowFacts(ctx, ent, "2025-01-01", "2025-01-31")
				if err != nil {
					t.Fatal(err)
				}
				return Compute(f, ent, mustWindow(t, "2025-01", "2025-01"), time.Now())
			}
			if ok, err := db.ReplaceFlowDay(ctx, day(1, 100_00)); err != nil || !ok {
				t.Fatal(ok, err)
			}
			if ok, err := db.ReplaceFlowDay(ctx, day(2, 250_00)); err != nil || !ok {
				t.Fatal(ok, err)
			}
			// A late replay of seq 1 changes nothing.
			if ok, err := db.ReplaceFlowDay(ctx, day(1, 100_00)); err != nil || ok {
				t.Fatal("older version applied over a correction", ok, err)
			}
			r := report()
			if got := r.Currencies[0].Monthly[0]; got.Inflow != 250_00 || got.InCount != 1 || got.MonthEndBalance != 250_00 {
				t.Fatalf("after correction: %+v", got)
			}
			if r.AsOf == nil || r.AsOf.Hour() != 2 {
				t.Fatalf("as of %v, want the correction's time", r.AsOf)
			}
		})
	}
}

func TestHTML(t *testing.T) {
	f := &ronghe.FlowFacts{Cells: []ronghe.DatedFlowCell{cell("2025-01-02", "CNY", "a", 1_000_00, 10_00)},
		Balances: []ronghe.DatedFlowBalance{{Date: "2025-01-31", Inst: "B1", FlowBalance: ronghe.FlowBalance{USCC: ent, AcctKey: "k", Currency: "CNY", CloseBal: 990_00}}}}
	r := Compute(f, ent, mustWindow(t, "2025-01", "2025-02"), time.Now())
	r.ID, r.Grantee, r.AuthorizationID = "QR1", "B1<script>", "AU1"
	b, err := r.HTML()
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{"<svg", "1000.00", "990.00", "2025-02", "企业收支流水报告", "B1&lt;script&gt;"} {
		if !strings.Contains(s, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(s, "<script>") {
		t.Error("page contains unescaped markup")
	}
}
