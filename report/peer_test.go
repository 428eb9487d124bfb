package report_test

import (
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ronghe/ronghe/gen"
	"github.com/ronghe/ronghe/report"
	"github.com/ronghe/ronghe/report/reporttest"
	"github.com/ronghe/ronghe/rrs"
	"github.com/ronghe/ronghe/sqlstore"
	"github.com/ronghe/ronghe/sqlstore/sqltest"
)

// peerRegion generates 200 days (January to mid-July 2025) of a small region:
// several currencies (exporters' USD/EUR/HKD accounts), cash pools, own
// transfers, payroll, taxes and utilities.
func peerRegion(t *testing.T) (string, gen.RegionFile) {
	t.Helper()
	dir := t.TempDir()
	cfg := gen.DefaultConfig()
	cfg.Days = 200
	cfg.Enterprises = 40
	cfg.People = 0
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

// correct writes <inst>_<date>_<seq> beside the batch at src with its TXN
// rows changed: every third row's amount grows by 1.00, every fifth debit
// becomes payroll, every other counterparty with a known account loses its
// USCC, and the last row is dropped — the kinds of error a correction fixes.
func correct(t *testing.T, src string, seq int) string {
	t.Helper()
	id, err := rrs.ParseBatchID(filepath.Base(src))
	if err != nil {
		t.Fatal(err)
	}
	id.Seq = seq
	dst := filepath.Join(filepath.Dir(src), id.String())
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == "TXN.csv" {
			b = correctTXN(t, b)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func correctTXN(t *testing.T, b []byte) []byte {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	if len(rows) > 2 {
		rows = rows[:len(rows)-1]
	}
	for i, r := range rows[1:] {
		if i%3 == 0 {
			a, err := rrs.ParseAmount(r[col["amount"]])
			if err != nil {
				t.Fatal(err)
			}
			r[col["amount"]] = (a + 100).String()
		}
		if i%5 == 0 && r[col["dc_flag"]] == "D" {
			r[col["purpose"]] = "SAL"
		}
		// A counterparty named by account alone: own transfers among these
		// are recognised by the account only.
		if i%2 == 0 && r[col["cp_acct_no"]] != "" && r[col["cp_inst_code"]] != "" {
			r[col["cp_uscc"]] = ""
		}
	}
	var out strings.Builder
	w := csv.NewWriter(&out)
	if err := w.WriteAll(rows); err != nil {
		t.Fatal(err)
	}
	return []byte(out.String())
}

// apply aggregates the batches (in the given order) into the store.
func apply(t *testing.T, db *sqlstore.DB, k *report.Keyer, batches []string) {
	t.Helper()
	ctx := context.Background()
	for _, p := range batches {
		b, err := rrs.OpenBatch(p, rrs.UTF8)
		if err != nil {
			t.Fatal(err)
		}
		day, err := report.Aggregate(ctx, b, report.Lineage{MessageID: filepath.Base(p), LogIndex: 1}, k, time.Now())
		b.Close()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ReplaceFlowDay(ctx, day); err != nil {
			t.Fatal(err)
		}
	}
}

// compareAll computes every enterprise's report from the store and compares
// it with the peer over the loaded raw rows; it returns the reports.
func compareAll(t *testing.T, db *sqlstore.DB, duck *sql.DB, ents []gen.EnterpriseInfo, w report.Window) map[string]*report.Report {
	t.Helper()
	ctx := context.Background()
	out := map[string]*report.Report{}
	for _, e := range ents {
		facts, err := db.FlowFacts(ctx, e.USCC, w.From.First().String(), w.To.Last().String())
		if err != nil {
			t.Fatal(err)
		}
		r := report.Compute(facts, e.USCC, w, time.Now())
		p, err := reporttest.Peer(ctx, duck, e.USCC, w)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range reporttest.Compare(r, p) {
			t.Errorf("%s (%s): %s", e.USCC, e.Profile, d)
		}
		out[e.USCC] = r
	}
	return out
}

func batchDirs(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if _, err := rrs.ParseBatchID(e.Name()); err == nil {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(out)
	return out
}

func TestEveryFigureEqualsPeerSQLite(t *testing.T) {
	testEveryFigureEqualsPeer(t, sqltest.SQLite(t))
}

func TestEveryFigureEqualsPeerPostgres(t *testing.T) {
	testEveryFigureEqualsPeer(t, sqltest.Postgres(t))
}

// testEveryFigureEqualsPeer proves every figure of every enterprise's
// 12-month report — five months without activity, then January to July —
// against the peer SQL, before and after correction batches, and checks
// that the generated region holds the tricky cases.
func testEveryFigureEqualsPeer(t *testing.T, dsn string) {
	ctx := context.Background()
	dir, rf := peerRegion(t)
	db, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	k, err := report.NewKeyer([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	duck, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer duck.Close()
	w, err := report.ParseWindow("2024-08", "2025-07")
	if err != nil {
		t.Fatal(err)
	}

	first := batchDirs(t, dir)
	apply(t, db, k, first)
	if err := reporttest.LoadCSV(ctx, duck, first); err != nil {
		t.Fatal(err)
	}
	before := compareAll(t, db, duck, rf.Enterprises, w)

	// Corrections after the reports: every institution corrects four
	// dates, one twice; the old version of a corrected date arriving late
	// changes nothing.
	var corrections, late []string
	for i, b := range first {
		if i%47 != 5 {
			continue
		}
		c := correct(t, b, 2)
		corrections = append(corrections, c)
		if len(corrections)%3 == 0 {
			corrections = append(corrections, correct(t, c, 3))
			late = append(late, c)
		}
	}
	if len(corrections) < 8 {
		t.Fatalf("only %d corrections", len(corrections))
	}
	apply(t, db, k, corrections)
	apply(t, db, k, late)
	latest, err := reporttest.LatestBatches(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(latest) != len(first) {
		t.Fatalf("%d latest batches, %d first versions", len(latest), len(first))
	}
	if err := reporttest.LoadCSV(ctx, duck, latest); err != nil {
		t.Fatal(err)
	}
	checkTrickyCases(t, duck)
	after := compareAll(t, db, duck, rf.Enterprises, w)
	changed := 0
	for uscc, r := range after {
		a, _ := json.Marshal(r.Currencies)
		b, _ := json.Marshal(before[uscc].Currencies)
		if string(a) != string(b) {
			changed++
		}
	}
	if changed == 0 {
		t.Fatal("the corrections changed no report")
	}
	t.Logf("%d enterprises' 12-month reports equal the peer SQL in every figure, before and after %d corrections (%d reports changed)",
		len(rf.Enterprises), len(corrections), changed)
}

// checkTrickyCases makes sure the corrected region exercises what the peer
// must get right: several currencies for one enterprise, cash-pool masters
// with balances, own-account transfers by USCC and by account alone,
// round-amount inflows and inflows without any counterparty.
func checkTrickyCases(t *testing.T, duck *sql.DB) {
	t.Helper()
	for name, q := range map[string]string{
		"an enterprise with flows in several currencies": `SELECT count(*) FROM (SELECT a.uscc FROM txn t JOIN acct a ON a.inst_code = t.inst_code
			AND a.bdate = t.bdate AND a.acct_no = t.acct_no GROUP BY 1 HAVING count(DISTINCT t.currency) > 1)`,
		"cash-pool master balances": `SELECT count(*) FROM bal b JOIN acct a ON a.inst_code = b.inst_code AND a.bdate = b.bdate
			AND a.acct_no = b.acct_no WHERE a.acct_type = '9' AND b.close_bal <> 0`,
		"own transfers by USCC": `SELECT count(*) FROM txn t JOIN acct a ON a.inst_code = t.inst_code AND a.bdate = t.bdate
			AND a.acct_no = t.acct_no WHERE t.cp_uscc = a.uscc`,
		"own transfers by account alone": `SELECT count(*) FROM txn t JOIN acct a ON a.inst_code = t.inst_code AND a.bdate = t.bdate
			AND a.acct_no = t.acct_no JOIN acct o ON o.inst_code = t.cp_inst_code AND o.acct_no = t.cp_acct_no AND o.uscc = a.uscc
			WHERE coalesce(t.cp_uscc, '') = ''`,
		"round-amount inflows": `SELECT count(*) FROM txn WHERE dc_flag = 'C' AND amount % 10000 = 0`,
		"credits without any counterparty": `SELECT count(*) FROM txn WHERE dc_flag = 'C' AND coalesce(cp_uscc, '') = ''
			AND coalesce(cp_acct_no, '') = '' AND coalesce(cp_name, '') = ''`,
	} {
		var n int
		if err := duck.QueryRow(q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if n == 0 {
			t.Errorf("the region has no %s", name)
		}
	}
}
