package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/lake/lakesql"
)

// runSQL runs one governed, logged, read-only query over the lake for the
// operator's staff, or lists the query log. Locally (on the platform's
// machine, with its data directory) the person names themselves with --user
// and --role; with --server the query goes through the lake API and the name
// and role are those of the staff certificate, nothing else.
func runSQL(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "sql")
	lf := addLakeFlags(fs)
	sf := addStaffFlags(fs)
	role := fs.String("role", "", "without --server: analyst, supervisor or admin (required)")
	user := fs.String("user", "", "without --server: your name, recorded in the query log (required)")
	tenant := fs.String("tenant", "", "only this institution's rows")
	asOf := fs.String("as-of", "", "answer as the lake was then: YYYY-MM-DD (end of that day, Asia/Shanghai) or an RFC 3339 instant")
	maxRows := fs.Int("max-rows", 10000, "return at most this many rows")
	threads := fs.Int("threads", 0, "DuckDB threads (0: all cores)")
	memory := fs.String("memory-limit", "", "DuckDB memory limit, e.g. 4GB")
	asJSON := fs.Bool("json", false, "print JSON")
	asCSV := fs.Bool("csv", false, "print CSV")
	history := fs.Bool("history", false, "list the query log instead of querying (with --server: the admin role only)")
	after := fs.Int64("after", 0, "with --history: entries after this ID")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var text string
	if !*history {
		if fs.NArg() != 1 {
			return usagef(`usage: ronghe sql --role analyst|supervisor|admin --user NAME [--tenant INST] [--as-of DATE] "SELECT …", or ronghe sql --server URL --staff DIR "SELECT …"`)
		}
		text = fs.Arg(0)
		if text == "-" {
			b, err := io.ReadAll(os.Stdin)
			if err != nil {
				return err
			}
			text = string(b)
		}
	}
	var at time.Time
	if *asOf != "" {
		var err error
		if at, err = parseAsOf(*asOf); err != nil {
			return usagef("--as-of: %v", err)
		}
	}
	if sf.remote() {
		if *role != "" || *user != "" {
			return usagef("--role and --user are not taken with --server: the platform reads both from your staff certificate")
		}
		c, err := sf.client()
		if err != nil {
			return err
		}
		if *history {
			list, err := c.LakeQueryLog(ctx, *after, *maxRows)
			if err != nil {
				return err
			}
			if *asJSON {
				return printJSON(e.stdout, list)
			}
			return printQueryLog(e, list)
		}
		q := ronghe.LakeQuery{SQL: text, Tenant: *tenant, MaxRows: *maxRows}
		if !at.IsZero() {
			q.AsOf = &at
		}
		res, err := c.LakeSQL(ctx, q)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(e.stdout, res)
		}
		return printResult(e, resultView{columns: res.Columns, rows: res.Rows, truncated: res.Truncated, asOf: res.AsOf,
			masked: len(res.Masked), logID: res.LogID}, "your role", *maxRows, *asCSV)
	}
	l, err := lf.open(ctx, e)
	if err != nil {
		return err
	}
	defer l.Close()
	eng, err := lakesql.New(ctx, l, lakesql.Options{CacheDir: filepath.Join(lf.data, "lake", "cache"), Threads: *threads, MemoryLimit: *memory, MaxRows: *maxRows})
	if err != nil {
		return err
	}
	if *history {
		entries, err := eng.QueryLog().List(ctx, *after, *maxRows)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(e.stdout, entries)
		}
		return printQueryLog(e, entries)
	}
	if *role == "" || *user == "" {
		return usagef("--role and --user are required: every query is logged with who ran it")
	}
	req := lakesql.Request{User: *user, Role: *role, Tenant: *tenant, SQL: text, MaxRows: *maxRows, AsOf: at}
	res, err := eng.Query(ctx, req)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, res)
	}
	return printResult(e, resultView{columns: res.Columns, rows: res.Rows, truncated: res.Truncated, asOf: res.AsOf,
		masked: len(res.Masked), logID: res.LogID}, "role "+*role, *maxRows, *asCSV)
}

// printQueryLog prints query log entries as a table.
func printQueryLog(e *env, entries []ronghe.LakeLogEntry) error {
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tAT\tUSER\tROLE\tTENANT\tDECISION\tSTATEMENT")
	for _, en := range entries {
		dec := en.Decision
		if en.Reason != "" {
			dec += ": " + en.Reason
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", en.ID, en.At.In(shanghai()).Format(time.DateTime), en.User, en.Role,
			en.Tenant, dec, strings.Join(strings.Fields(en.Statement), " "))
	}
	return tw.Flush()
}

// resultView is what the text and CSV output show of a result, local or
// from the API.
type resultView struct {
	columns   []string
	rows      [][]any
	truncated bool
	asOf      time.Time
	masked    int
	logID     int64
}

// printResult prints a result as CSV or as a table with a note on stderr.
func printResult(e *env, res resultView, who string, maxRows int, asCSV bool) error {
	if asCSV {
		w := csv.NewWriter(e.stdout)
		w.Write(res.columns)
		for _, row := range res.rows {
			rec := make([]string, len(row))
			for i, v := range row {
				rec[i] = cell(v)
			}
			w.Write(rec)
		}
		w.Flush()
		return w.Error()
	}
	tw := tabwriter.NewWriter(e.stdout, 1, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(res.columns, "\t"))
	for _, row := range res.rows {
		cells := make([]string, len(row))
		for i, v := range row {
			cells[i] = cell(v)
			if v == nil {
				cells[i] = "NULL"
			}
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	note := fmt.Sprintf("(%d rows", len(res.rows))
	if res.truncated {
		note += fmt.Sprintf(", truncated at --max-rows %d", maxRows)
	}
	if !res.asOf.IsZero() {
		note += ", as of " + res.asOf.In(shanghai()).Format(time.DateTime)
	}
	if res.masked > 0 {
		note += fmt.Sprintf("; %s sees %d columns masked", who, res.masked)
	}
	fmt.Fprintf(e.stderr, "%s; query log #%d)\n", note, res.logID)
	return nil
}

// cell renders a value for text and CSV output.
func cell(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// parseAsOf reads a business date (the end of that day in Asia/Shanghai:
// what the platform knew on that date) or an RFC 3339 instant.
func parseAsOf(s string) (time.Time, error) {
	if d, err := time.ParseInLocation(time.DateOnly, s, shanghai()); err == nil {
		return d.AddDate(0, 0, 1).Add(-time.Millisecond), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, ronghe.Errorf(ronghe.EINVALID, "%q is neither YYYY-MM-DD nor an RFC 3339 time", s)
	}
	return t, nil
}
