// Command validatepeer runs the peer of `ronghe validate` for
// bench/validate.sh: the hand-written per-rule DuckDB SQL of
// bench/validate_peer.sql over the CSV batch files of a directory, one query
// per rule, each reading the files it needs; and, with -bare, the bare cost
// of reading the files (DuckDB read_csv count). It prints one line per query
// (wall and CPU time, rows) and a JSON summary on the last line.
//
//	go run ./bench/cmd/validatepeer -root /tmp/ronghe-bench-validate/region -sql bench/validate_peer.sql
//	go run ./bench/cmd/validatepeer -root … -bare
package main

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/ronghe/ronghe/rrs"
)

func main() {
	root := flag.String("root", "", "directory holding the batch directories")
	sqlFile := flag.String("sql", "bench/validate_peer.sql", "the per-rule SQL")
	bare := flag.Bool("bare", false, "only count the rows of the files (DuckDB read_csv count)")
	threads := flag.Int("threads", runtime.GOMAXPROCS(0), "DuckDB threads")
	flag.Parse()
	if *root == "" {
		fmt.Fprintln(os.Stderr, "validatepeer: -root is required")
		os.Exit(2)
	}
	if err := run(context.Background(), *root, *sqlFile, *bare, *threads); err != nil {
		fmt.Fprintln(os.Stderr, "validatepeer:", err)
		os.Exit(1)
	}
}

type result struct {
	Name string  `json:"name"`
	Wall float64 `json:"wall_s"`
	CPU  float64 `json:"cpu_s"`
	Rows int64   `json:"rows"`
}

func run(ctx context.Context, root, sqlFile string, bare bool, threads int) error {
	connector, err := duckdb.NewConnector("", nil)
	if err != nil {
		return err
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	abs, err := filepath.Abs(root)
	if err != nil {
		return err
	}
	setup := []string{
		fmt.Sprintf("SET threads = %d", threads),
		fmt.Sprintf("SET VARIABLE root = '%s'", strings.ReplaceAll(abs, "'", "''")),
		"CREATE MACRO sender(b) AS split_part(b, '_', 1)",
		"CREATE MACRO bdate(b) AS CAST(strptime(split_part(b, '_', 2), '%Y%m%d') AS DATE)",
	}
	spec := rrs.Current()
	present := map[rrs.Type]bool{}
	for _, rt := range spec.Types {
		files, _ := filepath.Glob(filepath.Join(abs, "*", rt.Type.FileName()))
		present[rt.Type] = len(files) > 0
		setup = append(setup, csvMacro(rt, len(files) > 0))
	}
	var results []result
	start := time.Now()
	cpu0 := cpuTime()
	if bare {
		if err := execAll(ctx, conn, setup); err != nil {
			return err
		}
		for _, rt := range spec.Types {
			if !present[rt.Type] {
				continue
			}
			q := fmt.Sprintf("SELECT count(*) FROM read_csv(getvariable('root') || '/*/%s', header = true, auto_detect = false, columns = %s)",
				rt.Type.FileName(), columnsStruct(rt))
			r, err := timed(ctx, conn, "count "+string(rt.Type), q)
			if err != nil {
				return err
			}
			fmt.Printf("%-10s %7.2fs wall %7.2fs cpu %10d rows\n", r.Name, r.Wall, r.CPU, r.Rows)
			results = append(results, r)
		}
	} else {
		if err := execAll(ctx, conn, setup); err != nil {
			return err
		}
		if err := registerUDFs(conn); err != nil {
			return err
		}
		if err := isoTables(ctx, conn); err != nil {
			return err
		}
		text, err := os.ReadFile(sqlFile)
		if err != nil {
			return err
		}
		for _, q := range splitRules(string(text)) {
			r, err := timed(ctx, conn, q.rule, q.sql)
			if err != nil {
				return fmt.Errorf("rule %s: %w", q.rule, err)
			}
			fmt.Printf("%-10s %7.2fs wall %7.2fs cpu %10d findings\n", r.Name, r.Wall, r.CPU, r.Rows)
			results = append(results, r)
		}
	}
	total := result{Name: "total", Wall: time.Since(start).Seconds(), CPU: (cpuTime() - cpu0).Seconds()}
	for _, r := range results {
		total.Rows += r.Rows
	}
	out, _ := json.Marshal(map[string]any{"total": total, "queries": results})
	fmt.Println(string(out))
	return nil
}

// csvMacro defines csv_<type>() over the type's files, all columns VARCHAR
// in canonical order, with the batch name; an empty relation when no batch
// has the file.
func csvMacro(rt *rrs.RecordType, present bool) string {
	name := strings.ToLower(string(rt.Type))
	if !present {
		var cols []string
		for _, f := range rt.Fields {
			cols = append(cols, "CAST(NULL AS VARCHAR) AS "+f.Name)
		}
		return fmt.Sprintf("CREATE MACRO csv_%s() AS TABLE SELECT CAST(NULL AS VARCHAR) AS batch, %s WHERE false", name, strings.Join(cols, ", "))
	}
	return fmt.Sprintf(`CREATE MACRO csv_%s() AS TABLE
SELECT regexp_extract(filename, '([^/]+)/%s\.csv$', 1) AS batch, * EXCLUDE (filename)
FROM read_csv(getvariable('root') || '/*/%s', header = true, auto_detect = false, quote = '"', escape = '"',
  columns = %s, filename = true)`, name, rt.Type, rt.Type.FileName(), columnsStruct(rt))
}

func columnsStruct(rt *rrs.RecordType) string {
	var cols []string
	for _, f := range rt.Fields {
		cols = append(cols, fmt.Sprintf("'%s': 'VARCHAR'", f.Name))
	}
	return "{" + strings.Join(cols, ", ") + "}"
}

func execAll(ctx context.Context, conn *sql.Conn, stmts []string) error {
	for _, s := range stmts {
		if strings.TrimSpace(s) == "" {
			continue
		}
		if _, err := conn.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%.60s: %w", s, err)
		}
	}
	return nil
}

// checkUDF is a VARCHAR → BOOLEAN scalar function.
type checkUDF func(string) bool

func (f checkUDF) Config() duckdb.ScalarFuncConfig {
	v, _ := duckdb.NewTypeInfo(duckdb.TYPE_VARCHAR)
	b, _ := duckdb.NewTypeInfo(duckdb.TYPE_BOOLEAN)
	return duckdb.ScalarFuncConfig{InputTypeInfos: []duckdb.TypeInfo{v}, ResultTypeInfo: b}
}

func (f checkUDF) Executor() duckdb.ScalarFuncExecutor {
	return duckdb.ScalarFuncExecutor{RowExecutor: func(values []driver.Value) (any, error) {
		s, _ := values[0].(string)
		return f(s), nil
	}}
}

func registerUDFs(conn *sql.Conn) error {
	if err := duckdb.RegisterScalarUDF(conn, "rrs_uscc_ok", checkUDF(rrs.ValidUSCC)); err != nil {
		return err
	}
	return duckdb.RegisterScalarUDF(conn, "rrs_resident_id_ok", checkUDF(rrs.ValidResidentID))
}

func isoTables(ctx context.Context, conn *sql.Conn) error {
	for name, codes := range map[string][]string{"iso4217": rrs.Currencies(), "iso3166": rrs.Countries()} {
		q := fmt.Sprintf("CREATE TABLE %s AS SELECT unnest(['%s']) AS code", name, strings.Join(codes, "', '"))
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

type ruleSQL struct{ rule, sql string }

var ruleHeader = regexp.MustCompile(`(?m)^-- rule: (\S+)\s*$`)

// splitRules cuts the file at its "-- rule: ID" lines.
func splitRules(text string) []ruleSQL {
	idx := ruleHeader.FindAllStringSubmatchIndex(text, -1)
	var out []ruleSQL
	for i, m := range idx {
		end := len(text)
		if i+1 < len(idx) {
			end = idx[i+1][0]
		}
		body := strings.TrimSpace(text[m[1]:end])
		body = strings.TrimSuffix(body, ";")
		out = append(out, ruleSQL{rule: text[m[2]:m[3]], sql: body})
	}
	return out
}

// timed runs a query to its end and counts its rows.
func timed(ctx context.Context, conn *sql.Conn, name, q string) (result, error) {
	t0, c0 := time.Now(), cpuTime()
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return result{}, err
	}
	defer rows.Close()
	var n int64
	for rows.Next() {
		if strings.HasPrefix(name, "count ") {
			// A count query's one row is the count.
			if err := rows.Scan(&n); err != nil {
				return result{}, err
			}
			continue
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return result{}, err
	}
	return result{Name: name, Wall: time.Since(t0).Seconds(), CPU: (cpuTime() - c0).Seconds(), Rows: n}, nil
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
