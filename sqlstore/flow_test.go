package sqlstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/sqlstore"
	"github.com/ronghe/ronghe/sqlstore/sqltest"
)

func TestFlowFactsSQLite(t *testing.T)   { testFlowFacts(t, openDSN(t, sqltest.SQLite(t))) }
func TestFlowFactsPostgres(t *testing.T) { testFlowFacts(t, openDSN(t, sqltest.Postgres(t))) }

// testFlowFacts covers what the clustered tables change: cells and
// balances reported twice in one slice are summed, facts come back in
// (date, institution, …) order, and the as-of time is the same whether the
// range is whole months or not.
func testFlowFacts(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	const ent, other = "91350100M000100Y43", "91110000600037341L"
	day := func(inst, date string, seq int, at time.Time, cells []ronghe.FlowCell, bals []ronghe.FlowBalance) *ronghe.FlowDay {
		return &ronghe.FlowDay{Inst: inst, Date: date, Batch: inst + "_" + strings.ReplaceAll(date, "-", "") + "_1", Seq: seq,
			MessageID: "m", LogIndex: 1, AppliedAt: at,
			Accounts: []ronghe.FlowAccount{{USCC: ent, Inst: inst, Key: "k-" + inst, Type: "1", Currency: "CNY", OpenDate: "2020-01-01"}},
			Cells:    cells, Balances: bals}
	}
	t0 := time.Date(2025, 2, 1, 2, 0, 0, 0, time.UTC)
	cell := func(cp string, in, out int64) ronghe.FlowCell {
		return ronghe.FlowCell{USCC: ent, Currency: "CNY", CpKey: cp, Inflow: in, Outflow: out, InCount: 1, OutCount: 1, SalOut: out / 2}
	}
	days := []*ronghe.FlowDay{
		day("B2", "2025-01-31", 1, t0.Add(3*time.Hour), []ronghe.FlowCell{cell("a", 5, 0)},
			[]ronghe.FlowBalance{{USCC: ent, AcctKey: "k-B2", Currency: "CNY", CloseBal: 70}}),
		day("B1", "2025-01-10", 1, t0, []ronghe.FlowCell{cell("a", 100, 10), cell("b", 1, 2), cell("a", 20, 4),
			{USCC: other, Currency: "CNY", CpKey: "a", Inflow: 999}},
			[]ronghe.FlowBalance{{USCC: ent, AcctKey: "k-B1", Currency: "CNY", CloseBal: 300}, {USCC: ent, AcctKey: "k-B1", Currency: "CNY", CloseBal: 5}}),
		day("B1", "2025-02-03", 1, t0.Add(5*time.Hour), []ronghe.FlowCell{cell("c", 7, 7)}, nil),
	}
	for _, d := range days {
		if ok, err := db.ReplaceFlowDay(ctx, d); err != nil || !ok {
			t.Fatalf("replace %s %s: %v %v", d.Inst, d.Date, ok, err)
		}
	}
	f, err := db.FlowFacts(ctx, ent, "2025-01-01", "2025-01-31")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range f.Cells {
		got = append(got, c.Date+"/"+c.Inst+"/"+c.CpKey)
	}
	if strings.Join(got, " ") != "2025-01-10/B1/a 2025-01-10/B1/b 2025-01-31/B2/a" {
		t.Fatalf("cells %v", got)
	}
	if a := f.Cells[0]; a.Inflow != 120 || a.Outflow != 14 || a.InCount != 2 || a.OutCount != 2 || a.SalOut != 7 || a.USCC != ent {
		t.Errorf("merged cell %+v", a)
	}
	if len(f.Balances) != 2 || f.Balances[0].CloseBal != 305 || f.Balances[1].CloseBal != 70 {
		t.Errorf("balances %+v", f.Balances)
	}
	if len(f.Accounts) != 2 || f.Accounts[0].USCC != ent {
		t.Errorf("accounts %+v", f.Accounts)
	}
	// As of: January's latest application, by month or by day.
	if !f.AsOf.Equal(t0.Add(3 * time.Hour)) {
		t.Errorf("as of %v", f.AsOf)
	}
	for _, r := range [][2]string{{"2025-01-02", "2025-01-31"}, {"2025-01-01", "2025-01-30"}} {
		g, err := db.FlowFacts(ctx, ent, r[0], r[1])
		if err != nil {
			t.Fatal(err)
		}
		want := t0.Add(3 * time.Hour)
		if r[1] == "2025-01-30" {
			want = t0 // B2's slice of the 31st is outside
		}
		if !g.AsOf.Equal(want) {
			t.Errorf("as of %v over %v, want %v", g.AsOf, r, want)
		}
	}
	// A correction moves the month's as-of time on; an older version changes nothing.
	corr := day("B1", "2025-01-10", 2, t0.Add(9*time.Hour), []ronghe.FlowCell{cell("a", 1, 1)}, nil)
	if ok, err := db.ReplaceFlowDay(ctx, corr); err != nil || !ok {
		t.Fatal(ok, err)
	}
	old := day("B1", "2025-01-10", 1, t0.Add(10*time.Hour), []ronghe.FlowCell{cell("z", 1, 1)}, nil)
	if ok, err := db.ReplaceFlowDay(ctx, old); err != nil || ok {
		t.Fatalf("an older version applied: %v %v", ok, err)
	}
	for _, r := range [][2]string{{"2025-01-01", "2025-01-31"}, {"2025-01-01", "2025-01-30"}} {
		g, err := db.FlowFacts(ctx, ent, r[0], r[1])
		if err != nil {
			t.Fatal(err)
		}
		if !g.AsOf.Equal(t0.Add(9*time.Hour)) || len(g.Balances) == 0 && r[1] == "2025-01-31" {
			t.Errorf("after the correction over %v: as of %v", r, g.AsOf)
		}
		for _, c := range g.Cells {
			if c.CpKey == "z" || (c.Date == "2025-01-10" && c.Inflow != 1) {
				t.Errorf("cell %+v after the correction", c)
			}
		}
	}
	if g, err := db.FlowFacts(ctx, "91440300MA5FXXXX0X", "2025-01-01", "2025-12-31"); err != nil || !g.AsOf.IsZero() || len(g.Cells) != 0 {
		t.Errorf("an unknown enterprise: %+v %v", g, err)
	}
}
