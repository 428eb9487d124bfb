package report

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/ronghe/ronghe/gen"
	"github.com/ronghe/ronghe/rrs"
	"github.com/ronghe/ronghe/sqlstore"
	"github.com/ronghe/ronghe/sqlstore/sqltest"
)

// region generates a small region once per test binary.
func region(t *testing.T) (string, gen.RegionFile) {
	t.Helper()
	dir := t.TempDir()
	cfg := gen.DefaultConfig()
	cfg.Days = 62 // January, February and the first days of March
	cfg.Enterprises = 40
	cfg.OutDir = dir
	if _, err := gen.Generate(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	var rf gen.RegionFile
	b, err := os.ReadFile(filepath.Join(dir, "region.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rf); err != nil {
		t.Fatal(err)
	}
	return dir, rf
}

func testKeyer(t *testing.T) *Keyer {
	k, err := NewKeyer([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// applyAll aggregates every batch under dir into the store.
func applyAll(t *testing.T, db *sqlstore.DB, dir string, k *Keyer) {
	t.Helper()
	ctx := context.Background()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if _, err := rrs.ParseBatchID(e.Name()); err != nil {
			continue
		}
		b, err := rrs.OpenBatch(filepath.Join(dir, e.Name()), rrs.UTF8)
		if err != nil {
			t.Fatal(err)
		}
		day, err := Aggregate(ctx, b, Lineage{MessageID: e.Name(), LogIndex: 1}, k, time.Now())
		b.Close()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ReplaceFlowDay(ctx, day); err != nil {
			t.Fatal(err)
		}
	}
}

// peer computes the monthly figures with hand-written DuckDB SQL straight
// over the raw CSV batches: the independent computation the report must
// equal.
type peerMonth struct {
	inflow, outflow, inCount, outCount, sal, tax, utl string
	monthEnd, avgDaily                                string
}

// loadRaw loads the raw CSV files of every batch into DuckDB tables, as text.
func loadRaw(t *testing.T, duck *sql.DB, dir string) {
	t.Helper()
	for _, f := range []string{"ACCT", "TXN", "BAL"} {
		q := fmt.Sprintf(`CREATE OR REPLACE TABLE raw_%s AS SELECT * FROM read_csv('%s', all_varchar=true, union_by_name=true)`,
			strings.ToLower(f), filepath.Join(dir, "*", f+".csv"))
		if _, err := duck.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
}

func peerFigures(t *testing.T, duck *sql.DB, uscc string) map[string]peerMonth {
	t.Helper()
	q := `
WITH acct AS (SELECT DISTINCT inst_code, acct_no, uscc, acct_type FROM raw_acct),
own AS (SELECT inst_code, acct_no FROM acct WHERE uscc = $1),
txn AS (SELECT t.* FROM raw_txn t
        JOIN acct a ON a.inst_code = t.inst_code AND a.acct_no = t.acct_no WHERE a.uscc = $1
        AND coalesce(t.cp_uscc, '') <> $1
        AND NOT EXISTS (SELECT 1 FROM own o WHERE o.inst_code = t.cp_inst_code AND o.acct_no = t.cp_acct_no)),
flows AS (SELECT substr(txn_date, 1, 7) || '|' || currency AS k,
        sum(CASE WHEN dc_flag = 'C' THEN amount::DECIMAL(18,2) ELSE 0 END) AS inflow,
        sum(CASE WHEN dc_flag = 'D' THEN amount::DECIMAL(18,2) ELSE 0 END) AS outflow,
        count(*) FILTER (WHERE dc_flag = 'C') AS in_count, count(*) FILTER (WHERE dc_flag = 'D') AS out_count,
        sum(CASE WHEN dc_flag = 'D' AND purpose = 'SAL' THEN amount::DECIMAL(18,2) ELSE 0 END) AS sal,
        sum(CASE WHEN dc_flag = 'D' AND purpose = 'TAX' THEN amount::DECIMAL(18,2) ELSE 0 END) AS tax,
        sum(CASE WHEN dc_flag = 'D' AND purpose = 'UTL' THEN amount::DECIMAL(18,2) ELSE 0 END) AS utl
        FROM txn GROUP BY 1),
bal AS (SELECT b.bal_date, b.currency, sum(b.close_bal::DECIMAL(18,2)) AS total
        FROM raw_bal b
        JOIN acct a ON a.inst_code = b.inst_code AND a.acct_no = b.acct_no
        WHERE a.uscc = $1 AND a.acct_type <> '9' GROUP BY 1, 2),
bm AS (SELECT substr(bal_date, 1, 7) || '|' || currency AS k, arg_max(total, bal_date) AS month_end,
        sum(total) AS s, count(*) AS n FROM bal GROUP BY 1)
SELECT coalesce(f.k, bm.k), coalesce(f.inflow, 0), coalesce(f.outflow, 0), coalesce(f.in_count, 0), coalesce(f.out_count, 0),
       coalesce(f.sal, 0), coalesce(f.tax, 0), coalesce(f.utl, 0), coalesce(bm.month_end, 0),
       CAST(coalesce(sign(bm.s) * ((2 * abs(CAST(bm.s * 100 AS HUGEINT)) + bm.n) // (2 * bm.n)), 0) AS VARCHAR)
FROM flows f FULL OUTER JOIN bm ON f.k = bm.k`
	rows, err := duck.Query(q, uscc)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]peerMonth{}
	for rows.Next() {
		var k string
		var p peerMonth
		var inflow, outflow, sal, tax, utl, me float64Text
		var avgCents string
		if err := rows.Scan(&k, &inflow, &outflow, &p.inCount, &p.outCount, &sal, &tax, &utl, &me, &avgCents); err != nil {
			t.Fatal(err)
		}
		var cents int64
		if _, err := fmt.Sscan(avgCents, &cents); err != nil {
			t.Fatalf("average %q: %v", avgCents, err)
		}
		p.inflow, p.outflow, p.sal, p.tax, p.utl, p.monthEnd, p.avgDaily = string(inflow), string(outflow), string(sal), string(tax), string(utl), string(me), rrs.Amount(cents).String()
		out[k] = p
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// float64Text scans a DuckDB DECIMAL (or integer) as exact decimal text with
// two fraction digits, never through float64.
type float64Text string

func (f *float64Text) Scan(src any) error {
	var s string
	switch v := src.(type) {
	case string:
		s = v
	case []byte:
		s = string(v)
	case int64:
		s = fmt.Sprint(v)
	default:
		s = fmt.Sprint(v)
	}
	a, err := parseDecimalText(s)
	if err != nil {
		return err
	}
	*f = float64Text(a.String())
	return nil
}

// parseDecimalText reads DuckDB's decimal text (any number of fraction
// digits, at most 2 significant) exactly.
func parseDecimalText(s string) (rrs.Amount, error) {
	if i := strings.IndexByte(s, '.'); i >= 0 {
		frac := strings.TrimRight(s[i+1:], "0")
		if len(frac) > 2 {
			return 0, fmt.Errorf("%q has more than 2 fraction digits", s)
		}
		s = s[:i]
		if frac != "" {
			s += "." + frac
		}
	}
	return rrs.ParseAmount(s)
}

func TestReportEqualsIndependentSQL(t *testing.T) {
	dir, rf := region(t)
	db, err := sqlstore.Open(context.Background(), sqltest.SQLite(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	k := testKeyer(t)
	applyAll(t, db, dir, k)
	duck, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer duck.Close()
	loadRaw(t, duck, dir)
	w, err := ParseWindow("2025-01", "2025-03")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, e := range rf.Enterprises {
		facts, err := db.FlowFacts(context.Background(), e.USCC, "2025-01-01", "2025-03-31")
		if err != nil {
			t.Fatal(err)
		}
		r := Compute(facts, e.USCC, w, time.Now())
		peer := peerFigures(t, duck, e.USCC)
		got := map[string]peerMonth{}
		for _, c := range r.Currencies {
			for _, m := range c.Monthly {
				if m.Inflow == 0 && m.Outflow == 0 && m.InCount == 0 && m.OutCount == 0 && !m.HasBalance {
					continue
				}
				got[m.Month+"|"+c.Currency] = peerMonth{inflow: m.Inflow.String(), outflow: m.Outflow.String(),
					inCount: fmt.Sprint(m.InCount), outCount: fmt.Sprint(m.OutCount), sal: m.Payroll.String(), tax: m.Tax.String(),
					utl: m.Utilities.String(), monthEnd: m.MonthEndBalance.String(), avgDaily: m.AvgDailyBalance.String()}
			}
		}
		keys := map[string]bool{}
		for k := range got {
			keys[k] = true
		}
		for k := range peer {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, key := range sorted {
			if got[key] != peer[key] {
				t.Errorf("%s (%s, %s) %s:\n report %+v\n    SQL %+v", e.USCC, e.Profile, e.Name, key, got[key], peer[key])
			}
			checked++
		}
	}
	if checked < len(rf.Enterprises) {
		t.Fatalf("only %d month figures compared for %d enterprises", checked, len(rf.Enterprises))
	}
	t.Logf("%d enterprise-month-currency figures equal the independent SQL", checked)
}
