package sqlstore

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/ronghe/ronghe"
)

// TestFlowFactsPackedEqualsRowWise: SQLite's one-statement read returns
// exactly what the row-by-row queries do — same rows, same order, same
// as-of time — and a value holding a separator makes it read row by row.
func TestFlowFactsPackedEqualsRowWise(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const ent = "91350100M000100Y43"
	t0 := time.Date(2025, 2, 1, 2, 0, 0, 0, time.UTC)
	var n int64
	for d := 1; d <= 60; d++ {
		date := time.Date(2025, 1, d, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
		for _, inst := range []string{"B2", "B1"} {
			day := &ronghe.FlowDay{Inst: inst, Date: date, Batch: "b" + date, Seq: 1, MessageID: "m", LogIndex: 1, AppliedAt: t0.Add(time.Duration(d) * time.Minute),
				Accounts: []ronghe.FlowAccount{{USCC: ent, Inst: inst, Key: "k-" + inst, Type: "1", Currency: "CNY", OpenDate: "2020-01-0" + inst[1:], CloseDate: ""}}}
			for _, cp := range []string{"z", "a", ""} {
				for _, cur := range []string{"USD", "CNY"} {
					n++
					day.Cells = append(day.Cells, ronghe.FlowCell{USCC: ent, Currency: cur, CpKey: cp, CpAcctKey: "k-" + cp, CpIsSelf: n%5 == 0,
						Inflow: n * 100, Outflow: -n, InCount: n % 3, OutCount: n % 4, SalOut: n, TaxOut: 2 * n, UtlOut: 3 * n, RoundIn: n % 2 * 1_000_000})
				}
			}
			day.Balances = []ronghe.FlowBalance{{USCC: ent, AcctKey: "k-" + inst, Currency: "CNY", CloseBal: -n, Master: d%2 == 0}}
			if ok, err := db.ReplaceFlowDay(ctx, day); err != nil || !ok {
				t.Fatal(ok, err)
			}
		}
	}
	compare := func(t *testing.T, wantPacked bool) {
		t.Helper()
		for _, r := range [][2]string{{"2025-01-01", "2025-02-28"}, {"2025-01-05", "2025-02-10"}, {"2025-01-01", "2025-01-31"}, {"2026-01-01", "2026-12-31"}} {
			packed, ok, err := db.flowFactsPacked(ctx, ent, r[0], r[1])
			if err != nil || (wantPacked && !ok) {
				t.Fatalf("packed read over %v: ok %v, %v", r, ok, err)
			}
			flowFactsRowWise = true
			rows, err := db.FlowFacts(ctx, ent, r[0], r[1])
			flowFactsRowWise = false
			if err != nil {
				t.Fatal(err)
			}
			got, err := db.FlowFacts(ctx, ent, r[0], r[1])
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, rows) {
				t.Errorf("over %v: FlowFacts\n%+v\nrow by row\n%+v", r, got, rows)
			}
			if ok && !reflect.DeepEqual(packed, rows) {
				t.Errorf("over %v: packed\n%+v\nrow by row\n%+v", r, packed, rows)
			}
		}
	}
	compare(t, true)
	day := &ronghe.FlowDay{Inst: "B3", Date: "2025-01-20", Batch: "b", Seq: 1, MessageID: "m", LogIndex: 1, AppliedAt: t0,
		Cells: []ronghe.FlowCell{{USCC: ent, Currency: "CNY", CpKey: "x" + fieldSep + "y", Inflow: 1}}}
	if ok, err := db.ReplaceFlowDay(ctx, day); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if _, ok, err := db.flowFactsPacked(ctx, ent, "2025-01-01", "2025-01-31"); ok || err != nil {
		t.Fatalf("a separator in a value: packed read ok %v, %v", ok, err)
	}
	compare(t, false)
}
