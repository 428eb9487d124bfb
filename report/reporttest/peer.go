// Package reporttest computes the enterprise flow report of RRS-1 §5 a
// second, independent way — hand-written DuckDB SQL straight over the raw
// ACCT, TXN and BAL rows of the latest version of every batch — and compares
// a report with it. The platform's tests use it to prove every figure, and
// the report benchmark uses the same SQL over Parquet as its peer: the report
// computed ad hoc from the raw rows instead of from the aggregates.
package reporttest

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	_ "github.com/duckdb/duckdb-go/v2" // the "duckdb" database/sql driver
	"github.com/ronghe/ronghe/report"
	"github.com/ronghe/ronghe/rrs"
)

// LatestBatches returns the directory of the latest version of every
// (institution, business date) batch under dir — what the platform's
// aggregates hold after corrections.
func LatestBatches(dirs ...string) ([]string, error) {
	type key struct{ inst, date string }
	latest := map[key]rrs.BatchID{}
	paths := map[key]string{}
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			id, err := rrs.ParseBatchID(e.Name())
			if err != nil || !e.IsDir() {
				continue
			}
			k := key{id.InstCode, id.Date.String()}
			if prev, ok := latest[k]; !ok || id.Seq > prev.Seq {
				latest[k], paths[k] = id, filepath.Join(dir, e.Name())
			}
		}
	}
	out := make([]string, 0, len(paths))
	for _, p := range paths {
		out = append(out, p)
	}
	sort.Strings(out)
	return out, nil
}

// rawSelect turns the rows of read_csv/read_parquet (all text, or typed)
// into the raw tables, with the batch's institution and date.
const (
	acctCols = `inst_code, CAST(bdate AS DATE) AS bdate, acct_no, acct_type, uscc, currency, CAST(open_date AS DATE) AS open_date`
	txnCols  = `inst_code, CAST(bdate AS DATE) AS bdate, acct_no, txn_id, CAST(txn_date AS DATE) AS txn_date, dc_flag,
		CAST(amount AS DECIMAL(18,2)) AS amount, currency, purpose, cp_uscc, cp_inst_code, cp_acct_no, cp_name, remark`
	balCols = `inst_code, CAST(bdate AS DATE) AS bdate, acct_no, CAST(bal_date AS DATE) AS bal_date, currency,
		CAST(close_bal AS DECIMAL(18,2)) AS close_bal`
)

// LoadCSV loads the ACCT, TXN and BAL files of the given batch directories
// into the DuckDB tables acct, txn and bal (replacing them), typed as RRS-1
// defines the fields, each row with its batch's business date (bdate).
func LoadCSV(ctx context.Context, duck *sql.DB, batches []string) error {
	for _, t := range []struct{ file, table, cols string }{
		{"ACCT", "acct", acctCols}, {"TXN", "txn", txnCols}, {"BAL", "bal", balCols},
	} {
		var files []string
		headers := map[string]bool{}
		for _, b := range batches {
			p := filepath.Join(b, t.file+".csv")
			h, err := header(p)
			if os.IsNotExist(err) {
				continue
			} else if err != nil {
				return err
			}
			headers[h] = true
			files = append(files, "'"+strings.ReplaceAll(p, "'", "''")+"'")
		}
		if len(files) == 0 {
			return fmt.Errorf("reporttest: no %s files", t.file)
		}
		// Matching columns by name costs a sniff of every file; only files
		// whose columns come in different orders need it.
		byName := "false"
		if len(headers) > 1 {
			byName = "true"
		}
		// The batch directory's name is <inst>_<YYYYMMDD>_<seq>.
		q := fmt.Sprintf(`CREATE OR REPLACE TABLE %s AS SELECT %s FROM (
			SELECT *, strptime(regexp_extract(filename, '_([0-9]{8})_[0-9]+[/\\][A-Z]+\.csv$', 1), '%%Y%%m%%d') AS bdate
			FROM read_csv([%s], all_varchar = true, header = true, union_by_name = %s, filename = true))`,
			t.table, t.cols, strings.Join(files, ", "), byName)
		if _, err := duck.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("reporttest: loading %s: %w", t.file, err)
		}
	}
	return nil
}

// header returns the first line of a file.
func header(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("reporttest: %s: %w", path, err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// WriteParquet writes the loaded tables to dir/{acct,txn,bal}.parquet.
func WriteParquet(ctx context.Context, duck *sql.DB, dir string) error {
	for _, t := range []string{"acct", "txn", "bal"} {
		p := filepath.Join(dir, t+".parquet")
		q := fmt.Sprintf(`COPY (SELECT * FROM %s ORDER BY inst_code, bdate) TO '%s' (FORMAT parquet, COMPRESSION zstd)`, t, strings.ReplaceAll(p, "'", "''"))
		if _, err := duck.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("reporttest: writing %s: %w", p, err)
		}
	}
	return nil
}

// CSVToParquet writes the ACCT, TXN and BAL rows of every batch directory
// matching glob (e.g. "/data/*_*_1") straight to dir/{acct,txn,bal}.parquet,
// typed as LoadCSV types them, without holding them in memory. Every file
// must have its columns in the same order.
func CSVToParquet(ctx context.Context, duck *sql.DB, glob, dir string) error {
	for _, t := range []struct{ file, table, cols string }{
		{"ACCT", "acct", acctCols}, {"TXN", "txn", txnCols}, {"BAL", "bal", balCols},
	} {
		files := strings.ReplaceAll(filepath.Join(glob, t.file+".csv"), "'", "''")
		out := strings.ReplaceAll(filepath.Join(dir, t.table+".parquet"), "'", "''")
		q := fmt.Sprintf(`COPY (SELECT %s FROM (
			SELECT *, strptime(regexp_extract(filename, '_([0-9]{8})_[0-9]+[/\\][A-Z]+\.csv$', 1), '%%Y%%m%%d') AS bdate
			FROM read_csv('%s', all_varchar = true, header = true, filename = true))) TO '%s' (FORMAT parquet, COMPRESSION zstd)`,
			t.cols, files, out)
		if _, err := duck.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("reporttest: %s to Parquet: %w", t.file, err)
		}
	}
	return nil
}

// UseParquet makes acct, txn and bal views over dir/{acct,txn,bal}.parquet.
func UseParquet(ctx context.Context, duck *sql.DB, dir string) error {
	for _, t := range []string{"acct", "txn", "bal"} {
		p := strings.ReplaceAll(filepath.Join(dir, t+".parquet"), "'", "''")
		if _, err := duck.ExecContext(ctx, fmt.Sprintf(`CREATE OR REPLACE VIEW %s AS SELECT * FROM read_parquet('%s')`, t, p)); err != nil {
			return fmt.Errorf("reporttest: %w", err)
		}
	}
	return nil
}

// Month is one month's figures in one currency, amounts in cents.
type Month struct {
	Inflow, Outflow, InCount, OutCount, Payroll, Tax, Utilities int64
	MonthEnd, AvgDaily                                          int64
	HasBalance                                                  bool
	PassThrough                                                 bool
}

// Currency is the figures in one currency.
type Currency struct {
	Months map[string]*Month
	// Concentration: the counterparties' window inflows, largest first.
	CpInflows       []int64
	Top1, Top5, HHI float64
	RoundShare      float64
	// Stability of the monthly inflow.
	CV            *float64
	MonthsWithout int
	Growth6M      *float64
	// Window totals: inflow, outflow and their counts.
	TotalIn, TotalOut   int64
	TotalInN, TotalOutN int64
}

// Figures is the report computed by the peer.
type Figures struct {
	Institutions, Accounts int
	EarliestOpenDate       string
	Currencies             map[string]*Currency
}

// The peer's SQL. $1 is the USCC, $2 and $3 the window's first and last
// day. Transfers between the enterprise's own accounts — counterparty USCC
// its own, or counterparty account (institution and number) one of its
// accounts at any time — are left out; the enterprise of a TXN or BAL row
// is the holder its own batch's ACCT names.
const (
	qAccounts = `
WITH mine AS (SELECT inst_code, acct_no, arg_max(open_date, bdate) AS open_date FROM acct WHERE uscc = $1 GROUP BY 1, 2)
SELECT count(*), count(DISTINCT inst_code), coalesce(strftime(min(open_date), '%Y-%m-%d'), '') FROM mine`

	ownTxn = `
own AS (SELECT DISTINCT inst_code, acct_no FROM acct WHERE uscc = $1),
t AS (SELECT t.txn_date, t.dc_flag, CAST(t.amount * 100 AS BIGINT) AS cents, t.currency, t.purpose,
        CASE WHEN coalesce(t.cp_uscc, '') <> '' THEN 'U|' || t.cp_uscc
             WHEN coalesce(t.cp_acct_no, '') <> '' THEN 'A|' || coalesce(t.cp_inst_code, '') || '|' || t.cp_acct_no
             WHEN coalesce(t.cp_name, '') <> '' THEN 'N|' || t.cp_name
             ELSE '' END AS cp
      FROM txn t JOIN acct a ON a.inst_code = t.inst_code AND a.bdate = t.bdate AND a.acct_no = t.acct_no
      WHERE a.uscc = $1 AND t.txn_date BETWEEN CAST($2 AS DATE) AND CAST($3 AS DATE)
        AND t.dc_flag IN ('C', 'D') AND t.amount > 0
        AND coalesce(t.cp_uscc, '') <> $1
        AND NOT EXISTS (SELECT 1 FROM own o WHERE o.inst_code = t.cp_inst_code AND o.acct_no = t.cp_acct_no))`

	qMonthly = `WITH` + ownTxn + `
SELECT currency, strftime(txn_date, '%Y-%m'),
       coalesce(sum(cents) FILTER (WHERE dc_flag = 'C'), 0), coalesce(sum(cents) FILTER (WHERE dc_flag = 'D'), 0),
       count(*) FILTER (WHERE dc_flag = 'C'), count(*) FILTER (WHERE dc_flag = 'D'),
       coalesce(sum(cents) FILTER (WHERE dc_flag = 'D' AND purpose = 'SAL'), 0),
       coalesce(sum(cents) FILTER (WHERE dc_flag = 'D' AND purpose = 'TAX'), 0),
       coalesce(sum(cents) FILTER (WHERE dc_flag = 'D' AND purpose = 'UTL'), 0)
FROM t GROUP BY 1, 2`

	// Counterparties with inflow, largest first; flows without any
	// counterparty information are no counterparty. Round amounts are
	// multiples of 10,000 units.
	qConcentration = `WITH` + ownTxn + `
SELECT currency, cp, sum(cents) AS v, sum(cents) FILTER (WHERE cents % 1000000 = 0) AS round_v
FROM t WHERE dc_flag = 'C' GROUP BY 1, 2 ORDER BY 1, 3 DESC`

	// Money in on day d counts as passed through up to what left on d and
	// d+1 (within the window).
	qPassThrough = `WITH` + ownTxn + `,
d AS (SELECT currency, txn_date, coalesce(sum(cents) FILTER (WHERE dc_flag = 'C'), 0) AS i,
             coalesce(sum(cents) FILTER (WHERE dc_flag = 'D'), 0) AS o FROM t GROUP BY 1, 2)
SELECT d.currency, strftime(d.txn_date, '%Y-%m'), sum(least(d.i, d.o + coalesce(n.o, 0)))
FROM d LEFT JOIN d n ON n.currency = d.currency AND n.txn_date = d.txn_date + 1
WHERE d.i > 0 GROUP BY 1, 2`

	// Balances of the enterprise's accounts, cash-pool masters left out:
	// the month's last day with data, and the mean over its days with data
	// rounded half away from zero to the cent.
	qBalances = `
WITH b AS (SELECT b.bal_date, b.currency, sum(CAST(b.close_bal * 100 AS BIGINT)) AS total
           FROM bal b JOIN acct a ON a.inst_code = b.inst_code AND a.bdate = b.bdate AND a.acct_no = b.acct_no
           WHERE a.uscc = $1 AND a.acct_type <> '9' AND b.bal_date BETWEEN CAST($2 AS DATE) AND CAST($3 AS DATE)
           GROUP BY 1, 2)
SELECT currency, strftime(bal_date, '%Y-%m'), arg_max(total, bal_date), sum(total), count(*) FROM b GROUP BY 1, 2`
)

// Peer computes the report of uscc over the window with DuckDB over the
// acct, txn and bal tables (or views).
func Peer(ctx context.Context, duck *sql.DB, uscc string, w report.Window) (*Figures, error) {
	from, to := w.From.First().String(), w.To.Last().String()
	f := &Figures{Currencies: map[string]*Currency{}}
	if err := duck.QueryRowContext(ctx, qAccounts, uscc).Scan(&f.Accounts, &f.Institutions, &f.EarliestOpenDate); err != nil {
		return nil, fmt.Errorf("reporttest: accounts: %w", err)
	}
	months := map[string]bool{}
	var order []string
	for p := w.From; ; p = (rrs.Period{Y: p.Y + int(p.M)/12, M: p.M%12 + 1}) {
		months[p.String()] = true
		order = append(order, p.String())
		if p == w.To {
			break
		}
	}
	cur := func(c string) *Currency {
		x := f.Currencies[c]
		if x == nil {
			x = &Currency{Months: map[string]*Month{}}
			for _, m := range order {
				x.Months[m] = &Month{}
			}
			f.Currencies[c] = x
		}
		return x
	}
	each := func(q string, scan func(rows *sql.Rows) error) error {
		rows, err := duck.QueryContext(ctx, q, uscc, from, to)
		if err != nil {
			return fmt.Errorf("reporttest: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	}
	err := each(qMonthly, func(rows *sql.Rows) error {
		var c, m string
		var x Month
		if err := rows.Scan(&c, &m, &x.Inflow, &x.Outflow, &x.InCount, &x.OutCount, &x.Payroll, &x.Tax, &x.Utilities); err != nil {
			return err
		}
		mm := cur(c).Months[m]
		mm.Inflow, mm.Outflow, mm.InCount, mm.OutCount, mm.Payroll, mm.Tax, mm.Utilities = x.Inflow, x.Outflow, x.InCount, x.OutCount, x.Payroll, x.Tax, x.Utilities
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = each(qBalances, func(rows *sql.Rows) error {
		var c, m string
		var end, sum, n int64
		if err := rows.Scan(&c, &m, &end, &sum, &n); err != nil {
			return err
		}
		mm := cur(c).Months[m]
		mm.HasBalance, mm.MonthEnd = true, end
		q := (2*abs(sum) + n) / (2 * n) // half away from zero
		if sum < 0 {
			q = -q
		}
		mm.AvgDaily = q
		return nil
	})
	if err != nil {
		return nil, err
	}
	round := map[string]int64{}
	err = each(qConcentration, func(rows *sql.Rows) error {
		var c, cp string
		var v int64
		var rv sql.NullInt64
		if err := rows.Scan(&c, &cp, &v, &rv); err != nil {
			return err
		}
		round[c] += rv.Int64
		if cp != "" {
			x := cur(c)
			x.CpInflows = append(x.CpInflows, v)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	passed := map[string]int64{}
	err = each(qPassThrough, func(rows *sql.Rows) error {
		var c, m string
		var v int64
		if err := rows.Scan(&c, &m, &v); err != nil {
			return err
		}
		passed[c+"|"+m] = v
		return nil
	})
	if err != nil {
		return nil, err
	}
	for code, x := range f.Currencies {
		var inflows []int64
		for _, m := range order {
			mm := x.Months[m]
			x.TotalIn += mm.Inflow
			x.TotalOut += mm.Outflow
			x.TotalInN += mm.InCount
			x.TotalOutN += mm.OutCount
			mm.PassThrough = mm.Inflow > 0 && passed[code+"|"+m]*1000 >= mm.Inflow*800
			inflows = append(inflows, mm.Inflow)
			if mm.Inflow == 0 {
				x.MonthsWithout++
			}
		}
		if x.TotalIn > 0 {
			x.RoundShare = round4(float64(round[code]) / float64(x.TotalIn))
			var top5 int64
			hhi := 0.0
			for i, v := range x.CpInflows {
				s := float64(v) / float64(x.TotalIn)
				hhi += s * s
				if i < 5 {
					top5 += v
				}
			}
			if len(x.CpInflows) > 0 {
				x.Top1 = round4(float64(x.CpInflows[0]) / float64(x.TotalIn))
			}
			x.Top5, x.HHI = round4(float64(top5)/float64(x.TotalIn)), round4(hhi)
			mean := float64(x.TotalIn) / float64(len(inflows))
			var ss float64
			for _, v := range inflows {
				ss += (float64(v) - mean) * (float64(v) - mean)
			}
			cv := round4(math.Sqrt(ss/float64(len(inflows))) / mean)
			x.CV = &cv
		}
		if n := len(inflows); n >= 12 {
			var prev, last int64
			for i, v := range inflows[n-12:] {
				if i < 6 {
					prev += v
				} else {
					last += v
				}
			}
			if prev > 0 {
				g := round4(float64(last)/float64(prev) - 1)
				x.Growth6M = &g
			}
		}
	}
	return f, nil
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

func round4(x float64) float64 { return math.Round(x*10000) / 10000 }

// Compare lists every figure of r that differs from the peer's.
func Compare(r *report.Report, p *Figures) []string {
	var diffs []string
	add := func(format string, args ...any) { diffs = append(diffs, fmt.Sprintf(format, args...)) }
	if r.Accounts != p.Accounts || r.Institutions != p.Institutions || r.EarliestOpenDate != p.EarliestOpenDate {
		add("accounts: report %d at %d institutions since %q, peer %d at %d since %q", r.Accounts, r.Institutions, r.EarliestOpenDate,
			p.Accounts, p.Institutions, p.EarliestOpenDate)
	}
	seen := map[string]bool{}
	for _, c := range r.Currencies {
		seen[c.Currency] = true
		x := p.Currencies[c.Currency]
		if x == nil {
			add("%s: in the report, not in the peer", c.Currency)
			continue
		}
		for _, m := range c.Monthly {
			pm := x.Months[m.Month]
			if pm == nil {
				add("%s %s: month not in the peer", c.Currency, m.Month)
				continue
			}
			got := Month{Inflow: int64(m.Inflow), Outflow: int64(m.Outflow), InCount: m.InCount, OutCount: m.OutCount, Payroll: int64(m.Payroll),
				Tax: int64(m.Tax), Utilities: int64(m.Utilities), MonthEnd: int64(m.MonthEndBalance), AvgDaily: int64(m.AvgDailyBalance),
				HasBalance: m.HasBalance, PassThrough: m.PassThrough}
			if got != *pm {
				add("%s %s:\n  report %+v\n  peer   %+v", c.Currency, m.Month, got, *pm)
			}
			if int64(m.Net) != int64(m.Inflow)-int64(m.Outflow) {
				add("%s %s: net %s is not inflow − outflow", c.Currency, m.Month, m.Net)
			}
		}
		if len(c.Monthly) != len(x.Months) {
			add("%s: %d months in the report, %d in the peer", c.Currency, len(c.Monthly), len(x.Months))
		}
		t := c.Total
		if int64(t.Inflow) != x.TotalIn || int64(t.Outflow) != x.TotalOut || t.InCount != x.TotalInN || t.OutCount != x.TotalOutN {
			add("%s totals: report %s/%s %d/%d, peer %d/%d %d/%d", c.Currency, t.Inflow, t.Outflow, t.InCount, t.OutCount, x.TotalIn, x.TotalOut, x.TotalInN, x.TotalOutN)
		}
		var passThrough []string
		for _, m := range c.Monthly {
			if m.PassThrough {
				passThrough = append(passThrough, m.Month)
			}
		}
		if strings.Join(passThrough, ",") != strings.Join(c.PassThroughMonths, ",") {
			add("%s: pass-through months %v, flags %v", c.Currency, c.PassThroughMonths, passThrough)
		}
		cc := c.Concentration
		if cc.Counterparties != len(x.CpInflows) || !near(cc.Top1Share, x.Top1) || !near(cc.Top5Share, x.Top5) || !near(cc.HHI, x.HHI) {
			add("%s concentration: report %d counterparties top1 %v top5 %v HHI %v, peer %d %v %v %v", c.Currency, cc.Counterparties,
				cc.Top1Share, cc.Top5Share, cc.HHI, len(x.CpInflows), x.Top1, x.Top5, x.HHI)
		}
		for i, s := range cc.Top {
			if i >= len(x.CpInflows) || !near(s.Share, round4(float64(x.CpInflows[i])/float64(x.TotalIn))) || s.Pseudonym != fmt.Sprintf("CP-%02d", i+1) {
				add("%s: counterparty %d %+v differs from the peer", c.Currency, i+1, s)
			}
		}
		if want := min(10, len(x.CpInflows)); len(cc.Top) != want {
			add("%s: %d counterparties listed, want %d", c.Currency, len(cc.Top), want)
		}
		if !near(c.RoundInflowShare, x.RoundShare) {
			add("%s round share: report %v, peer %v", c.Currency, c.RoundInflowShare, x.RoundShare)
		}
		st := c.Stability
		if !nearPtr(st.CVMonthlyInflow, x.CV) || !nearPtr(st.Growth6M, x.Growth6M) || st.MonthsWithoutInflow != x.MonthsWithout {
			add("%s stability: report %v %v %d, peer %v %v %d", c.Currency, fmtPtr(st.CVMonthlyInflow), fmtPtr(st.Growth6M),
				st.MonthsWithoutInflow, fmtPtr(x.CV), fmtPtr(x.Growth6M), x.MonthsWithout)
		}
	}
	for code := range p.Currencies {
		if !seen[code] {
			add("%s: in the peer, not in the report", code)
		}
	}
	sort.Strings(diffs)
	return diffs
}

// near compares figures both rounded to four places, allowing the last
// place to differ when float arithmetic in another order lands on the other
// side of a rounding boundary.
func near(a, b float64) bool { return math.Abs(a-b) <= 0.0001+1e-9 }

func nearPtr(a, b *float64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return near(*a, *b)
}

func fmtPtr(f *float64) string {
	if f == nil {
		return "—"
	}
	return fmt.Sprint(*f)
}
