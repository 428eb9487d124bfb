package lakesql

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/lake"
	"github.com/ronghe/ronghe/lake/laketest"
	"github.com/ronghe/ronghe/rrs"
	"github.com/ronghe/ronghe/sqlstore/sqltest"
)

// fixture is a lake holding a small region and an engine over it.
type fixture struct {
	lake *lake.Lake
	eng  *Engine
	dirs []string
}

func newFixture(t *testing.T, postgres bool) *fixture {
	t.Helper()
	_, dirs := laketest.Region(t, 3)
	var l *lake.Lake
	if postgres {
		l = laketest.Open(t, lake.Config{CatalogURI: sqltest.Postgres(t), Warehouse: filepath.Join(t.TempDir(), "wh")})
	} else {
		l = laketest.OpenSQLite(t)
	}
	for _, d := range dirs {
		laketest.Ingest(t, l, d, lake.Lineage{})
	}
	eng, err := New(context.Background(), l, Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{lake: l, eng: eng, dirs: dirs}
}

// csv returns every CSV row of typ with its batch's institution.
func (f *fixture) csv(t *testing.T, typ rrs.Type) (rows [][]string, inst []string) {
	for _, d := range f.dirs {
		id, _ := rrs.ParseBatchID(filepath.Base(d))
		for _, r := range laketest.Rows(t, d, typ) {
			rows = append(rows, r)
			inst = append(inst, id.InstCode)
		}
	}
	return rows, inst
}

func (f *fixture) query(t *testing.T, role, tenant, q string) *Result {
	t.Helper()
	res, err := f.eng.Query(context.Background(), Request{User: "tester", Role: role, Tenant: tenant, SQL: q, MaxRows: 1 << 20})
	if err != nil {
		t.Fatalf("%s %q: %v", role, q, err)
	}
	return res
}

// render prints a result value as RRS-1 CSV writes it.
func render(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// TestViewsEqualCSV reads every table through DuckDB as admin (nothing
// masked) and compares every row with the CSV files: decimals exact to the
// cent, dates, times, integers, nulls.
func TestViewsEqualCSV(t *testing.T) {
	f := newFixture(t, false)
	for _, rt := range rrs.Current().Types {
		want, _ := f.csv(t, rt.Type)
		res := f.query(t, "admin", "", fmt.Sprintf("SELECT %s FROM rrs.%s", strings.Join(quoted(rt.Names()), ", "), lake.TableName(rt.Type)))
		var got [][]string
		for _, row := range res.Rows {
			r := make([]string, len(row))
			for i, v := range row {
				r[i] = render(v)
			}
			got = append(got, r)
		}
		if !slices.Equal(keys(got), keys(want)) {
			t.Errorf("%s: DuckDB rows differ from CSV (%d vs %d)", rt.Type, len(got), len(want))
		}
		for i, c := range rt.Fields {
			if c.Kind == rrs.KindDecimal && res.Types[i] != "DECIMAL(18,2)" {
				t.Errorf("%s.%s is %s in DuckDB", rt.Type, c.Name, res.Types[i])
			}
		}
	}
	// An exact aggregate: Σ amount in cents equals the CSV's.
	rows, _ := f.csv(t, rrs.TXN)
	var sum rrs.Sum
	txn := rrs.Current().Record(rrs.TXN)
	for _, r := range rows {
		a, _ := txn.Amount(r, "amount")
		sum.Add(a)
	}
	total, _ := sum.Total()
	res := f.query(t, "admin", "", "SELECT sum(amount) FROM txn")
	if res.Rows[0][0] != total.String() {
		t.Fatalf("Σ amount %v, CSV %s", res.Rows[0][0], total)
	}
}

func quoted(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = `"` + n + `"`
	}
	return out
}

func keys(rows [][]string) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = strings.Join(r, "\x1f")
	}
	slices.Sort(out)
	return out
}

// TestMaskingPerRole checks what each role sees of classified columns.
func TestMaskingPerRole(t *testing.T) {
	f := newFixture(t, false)
	acct, _ := f.csv(t, rrs.ACCT)
	fxp, _ := f.csv(t, rrs.FXP)
	txn, _ := f.csv(t, rrs.TXN)
	if len(fxp) == 0 || len(acct) == 0 || len(txn) == 0 {
		t.Fatal("region lacks rows")
	}
	A := rrs.Current().Record(rrs.ACCT)
	F := rrs.Current().Record(rrs.FXP)
	T := rrs.Current().Record(rrs.TXN)
	last4 := func(s string) string { return strings.Repeat("x", len(s)-4) + s[len(s)-4:] }
	redact := func(s string) string {
		var b strings.Builder
		for _, r := range s {
			switch {
			case r >= '0' && r <= '9':
				b.WriteByte('n')
			case r == ' ' || r == '\t' || r == '\n':
				b.WriteRune(r)
			default:
				b.WriteByte('x')
			}
		}
		return b.String()
	}
	hash := func(s string) string {
		h := sha256.Sum256([]byte(f.eng.key + s))
		return hex.EncodeToString(h[:])
	}
	year := func(d string) string { return d[:4] + "-01-01" }
	id := func(s string) string { return s }
	null := func(string) string { return "" }

	type expect struct {
		table  rrs.Type
		column string
		rows   [][]string
		rt     *rrs.RecordType
		key    string // a column shown to every role, to match rows
		show   map[string]func(string) string
	}
	cases := []expect{
		{rrs.ACCT, "acct_no", acct, A, "open_date", map[string]func(string) string{"analyst": last4, "supervisor": id, "admin": id}},
		{rrs.ACCT, "holder_name", acct, A, "open_date", map[string]func(string) string{"analyst": id, "supervisor": id, "admin": id}},
		{rrs.ACCT, "uscc", acct, A, "open_date", map[string]func(string) string{"analyst": id, "supervisor": id, "admin": id}},
		{rrs.TXN, "amount", txn, T, "channel", map[string]func(string) string{"analyst": null, "supervisor": id, "admin": id}},
		{rrs.TXN, "txn_id", txn, T, "channel", map[string]func(string) string{"analyst": hash, "supervisor": id, "admin": id}},
		{rrs.TXN, "cp_name", txn, T, "channel", map[string]func(string) string{"analyst": redact, "supervisor": id, "admin": id}},
		{rrs.TXN, "cp_uscc", txn, T, "channel", map[string]func(string) string{"analyst": hash, "supervisor": id, "admin": id}},
		{rrs.TXN, "txn_date", txn, T, "channel", map[string]func(string) string{"analyst": year, "supervisor": id, "admin": id}},
		{rrs.TXN, "txn_time", txn, T, "channel", map[string]func(string) string{"analyst": null, "supervisor": id, "admin": id}},
		{rrs.TXN, "cp_acct_no", txn, T, "channel", map[string]func(string) string{"analyst": last4, "supervisor": id, "admin": id}},
		{rrs.FXP, "person_id", fxp, F, "bene_country", map[string]func(string) string{"analyst": hash, "supervisor": hash, "admin": id}},
		{rrs.FXP, "person_name", fxp, F, "bene_country", map[string]func(string) string{"analyst": redact, "supervisor": redact, "admin": id}},
		{rrs.FXP, "amount_usd", fxp, F, "bene_country", map[string]func(string) string{"analyst": null, "supervisor": id, "admin": id}},
	}
	for _, c := range cases {
		for _, role := range []string{"analyst", "supervisor", "admin"} {
			t.Run(fmt.Sprintf("%s.%s/%s", c.table, c.column, role), func(t *testing.T) {
				ci, ki := c.rt.Index(c.column), c.rt.Index(c.key)
				var want []string
				for _, r := range c.rows {
					v := r[ci]
					if v != "" {
						v = c.show[role](v)
					}
					want = append(want, r[ki]+"|"+v)
				}
				res := f.query(t, role, "", fmt.Sprintf("SELECT %s, %s FROM %s", c.key, c.column, lake.TableName(c.table)))
				var got []string
				for _, row := range res.Rows {
					got = append(got, render(row[0])+"|"+render(row[1]))
				}
				slices.Sort(got)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Fatalf("%s sees %s.%s as %v…, want %v…", role, c.table, c.column, got[:min(3, len(got))], want[:min(3, len(want))])
				}
				masked := slices.ContainsFunc(res.Masked, func(m MaskedColumn) bool { return m.Table == lake.TableName(c.table) && m.Column == c.column })
				if masked == (fmt.Sprintf("%p", c.show[role]) == fmt.Sprintf("%p", id)) {
					t.Fatalf("Result.Masked for %s.%s is %v", c.table, c.column, masked)
				}
			})
		}
	}
	// Hashing keeps joins: the number of distinct txn_ids is the same.
	a := f.query(t, "analyst", "", "SELECT count(DISTINCT txn_id) FROM txn")
	s := f.query(t, "supervisor", "", "SELECT count(DISTINCT txn_id) FROM txn")
	if a.Rows[0][0] != s.Rows[0][0] {
		t.Fatalf("distinct hashed IDs %v, raw %v", a.Rows[0][0], s.Rows[0][0])
	}
}

// TestTenantFilter: with a tenant, every view holds only that institution's
// rows.
func TestTenantFilter(t *testing.T) {
	f := newFixture(t, false)
	id, _ := rrs.ParseBatchID(filepath.Base(f.dirs[0]))
	for _, rt := range rrs.Current().Types {
		rows, inst := f.csv(t, rt.Type)
		want := 0
		for i := range rows {
			if inst[i] == id.InstCode {
				want++
			}
		}
		res := f.query(t, "supervisor", id.InstCode, fmt.Sprintf("SELECT count(*), count(*) FILTER (WHERE _inst <> '%s') FROM %s", id.InstCode, lake.TableName(rt.Type)))
		if res.Rows[0][0] != int64(want) || res.Rows[0][1] != int64(0) {
			t.Errorf("%s for tenant %s: %v rows (%v foreign), want %d", rt.Type, id.InstCode, res.Rows[0][0], res.Rows[0][1], want)
		}
	}
	if _, err := f.eng.Query(context.Background(), Request{User: "u", Role: "analyst", Tenant: "x'; DROP", SQL: "SELECT 1"}); ronghe.ErrorCode(err) != ronghe.EINVALID {
		t.Fatalf("bad tenant: %v", err)
	}
}

// TestRefusals: anything but a single SELECT over the views is refused —
// and logged — before it runs.
func TestRefusals(t *testing.T) {
	for _, postgres := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[postgres], func(t *testing.T) {
			f := newFixture(t, postgres)
			ctx := context.Background()
			refused := []string{
				"DELETE FROM txn",
				"UPDATE txn SET amount = 0",
				"INSERT INTO txn SELECT * FROM txn",
				"CREATE TABLE x AS SELECT * FROM txn",
				"DROP VIEW txn",
				"SELECT 1; SELECT 2",
				"SELECT count(*) FROM txn; DELETE FROM txn",
				"COPY txn TO '/tmp/out.csv'",
				"COPY (SELECT * FROM txn) TO '/tmp/out.parquet'",
				"EXPORT DATABASE '/tmp/x'",
				"ATTACH '/tmp/x.db' AS x",
				"INSTALL httpfs",
				"LOAD httpfs",
				"SET enable_external_access = true",
				"PRAGMA version",
				"EXPLAIN SELECT * FROM txn",
				"CALL duckdb_settings()",
				"SELECT * FROM read_parquet('/etc/passwd')",
				"SELECT * FROM read_csv('/etc/passwd')",
				"SELECT * FROM '/etc/passwd'",
				"SELECT * FROM txn, (FROM read_text('/etc/hostname'))",
				"WITH x AS (SELECT * FROM glob('/*')) SELECT * FROM x",
				"SELECT (SELECT count(*) FROM duckdb_settings())",
				"SELECT * FROM information_schema.tables",
				"SELECT * FROM sqlite_master",
				"SELECT * FROM main.txn",
				"SELECT * FROM system.main.duckdb_views",
				"SELECT current_setting('allowed_paths')",
				"SELECT * FROM secret_table",
			}
			for _, q := range refused {
				_, err := f.eng.Query(ctx, Request{User: "mallory", Role: "admin", SQL: q})
				if code := ronghe.ErrorCode(err); code != ronghe.EFORBIDDEN && code != ronghe.EINVALID {
					t.Errorf("%q: %v (code %s), want refusal", q, err, code)
				}
			}
			allowed := []string{
				"SELECT count(*) FROM txn",
				"select count(*) from RRS.TXN",
				"FROM rrs.acct LIMIT 1",
				"WITH m AS (SELECT acct_no, sum(amount) s FROM txn GROUP BY 1) SELECT count(*) FROM m JOIN acct USING (acct_no)",
				"SELECT * FROM bal UNION ALL SELECT * FROM bal",
				"SELECT (SELECT max(txn_date) FROM txn) AS latest",
			}
			for _, q := range allowed {
				if _, err := f.eng.Query(ctx, Request{User: "alice", Role: "analyst", SQL: q}); err != nil {
					t.Errorf("%q refused: %v", q, err)
				}
			}
			entries, err := f.eng.QueryLog().List(ctx, 0, 1000)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != len(refused)+len(allowed) {
				t.Fatalf("%d log entries for %d queries", len(entries), len(refused)+len(allowed))
			}
			for i, e := range entries {
				want, decision, user := "", DecisionRefused, "mallory"
				if i < len(refused) {
					want = refused[i]
				} else {
					want, decision, user = allowed[i-len(refused)], DecisionRun, "alice"
				}
				if e.Statement != want || e.Decision != decision || e.User != user || e.At.IsZero() || (decision == DecisionRefused) == (e.Reason == "") {
					t.Fatalf("log entry %d: %+v, want %q %s by %s", i, e, want, decision, user)
				}
			}
			// The log is append-only.
			for _, q := range []string{"UPDATE ronghe_query_log SET user_name = 'nobody'", "DELETE FROM ronghe_query_log"} {
				if _, err := f.lake.DB().Exec(q); err == nil || !strings.Contains(err.Error(), "append-only") {
					t.Fatalf("%s: %v", q, err)
				}
			}
			if again, _ := f.eng.QueryLog().List(ctx, 0, 1000); len(again) != len(entries) || again[0].User != "mallory" {
				t.Fatal("log changed")
			}
		})
	}
}

// TestLockdown: a locked-down session refuses files outside the lake and
// configuration changes even when a statement reaches DuckDB directly.
func TestLockdown(t *testing.T) {
	f := newFixture(t, false)
	st, err := f.lake.Current(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sess, err := f.eng.Open(context.Background(), st, Views{Role: &Analyst, Lockdown: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	var n int64
	if err := sess.DB.QueryRow("SELECT count(*) FROM txn").Scan(&n); err != nil || n == 0 {
		t.Fatalf("views unreadable after lockdown: %d, %v", n, err)
	}
	for _, q := range []string{
		"SELECT * FROM read_csv('" + filepath.Join(f.dirs[0], "TXN.csv") + "')",
		"SET enable_external_access = true",
		"SET lock_configuration = false",
	} {
		if _, err := sess.DB.Exec(q); err == nil {
			t.Errorf("%q succeeded in a locked-down session", q)
		}
	}
}

// TestAsOfQuery: a governed query as of a past instant sees the lake of
// then.
func TestAsOfQuery(t *testing.T) {
	_, dirs := laketest.Region(t, 2)
	l := laketest.OpenSQLite(t)
	eng, err := New(context.Background(), l, Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	laketest.Ingest(t, l, dirs[0], lake.Lineage{})
	st, _ := l.Current(context.Background())
	var at int64
	for _, ts := range st.Tables {
		if ts.Snapshot != nil {
			at = max(at, ts.Snapshot.TimestampMs)
		}
	}
	for time.Now().UnixMilli() <= at {
		time.Sleep(time.Millisecond)
	}
	for _, d := range dirs[1:] {
		laketest.Ingest(t, l, d, lake.Lineage{})
	}
	count := func(asOf time.Time) any {
		res, err := eng.Query(context.Background(), Request{User: "u", Role: "analyst", AsOf: asOf, SQL: "SELECT count(*) FROM txn"})
		if err != nil {
			t.Fatal(err)
		}
		return res.Rows[0][0]
	}
	if got, want := count(time.UnixMilli(at)), int64(len(laketest.Rows(t, dirs[0], rrs.TXN))); got != want {
		t.Fatalf("as-of count %v, want %d", got, want)
	}
	var all int64
	for _, d := range dirs {
		all += int64(len(laketest.Rows(t, d, rrs.TXN)))
	}
	if got := count(time.Time{}); got != all {
		t.Fatalf("current count %v, want %d", got, all)
	}
}
