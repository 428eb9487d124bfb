package main

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ronghe/ronghe/lake"
	"github.com/ronghe/ronghe/lake/lakesql"
	"github.com/ronghe/ronghe/lake/laketest"
	"github.com/ronghe/ronghe/rrs"
)

// TestLakeCommands drives the lake through the command line: ingest
// (twice: exactly once), catalog, governed sql with masking and refusal,
// the query log, compaction, expiry and orphan listing.
func TestLakeCommands(t *testing.T) {
	_, dirs := laketest.Region(t, 3)
	data := t.TempDir()
	must := func(args ...string) string {
		t.Helper()
		code, out, errOut := runCommand(t, args...)
		if code != 0 {
			t.Fatalf("ronghe %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
		return out
	}

	out := must(append([]string{"lake", "ingest", "--data", data, "--json", "--group", "4"}, dirs...)...)
	var results []lake.IngestResult
	if err := json.Unmarshal([]byte(out), &results); err != nil || len(results) != len(dirs) {
		t.Fatalf("ingest output: %v\n%s", err, out)
	}
	var txnRows int64
	for _, d := range dirs {
		txnRows += int64(len(laketest.Rows(t, d, rrs.TXN)))
	}
	again := must("lake", "ingest", "--data", data, dirs[0])
	if !strings.Contains(again, "txn already") {
		t.Fatalf("second ingest: %s", again)
	}

	var infos []lake.TableInfo
	if err := json.Unmarshal([]byte(must("catalog", "--data", data, "--json")), &infos); err != nil {
		t.Fatal(err)
	}
	var txn *lake.TableInfo
	for i := range infos {
		if infos[i].Name == "rrs.txn" {
			txn = &infos[i]
		}
	}
	if txn == nil || txn.Rows != txnRows || txn.LatestBusinessDate == "" {
		t.Fatalf("catalog txn entry: %+v (want %d rows)", txn, txnRows)
	}
	text := must("catalog", "--data", data, "txn")
	if !strings.Contains(text, "acct_no") || !strings.Contains(text, "month(_business_date)") {
		t.Fatalf("catalog txn: %s", text)
	}

	var res lakesql.Result
	q := "SELECT count(*) AS n, max(acct_no) AS a FROM txn"
	if err := json.Unmarshal([]byte(must("sql", "--data", data, "--role", "analyst", "--user", "alice", "--json", q)), &res); err != nil {
		t.Fatal(err)
	}
	if res.Rows[0][0] != json.Number(strconv.FormatInt(txnRows, 10)) || !strings.HasPrefix(res.Rows[0][1].(string), "xxxx") {
		t.Fatalf("analyst result %v", res.Rows)
	}
	csvOut := must("sql", "--data", data, "--role", "admin", "--user", "root", "--csv", "SELECT count(*) AS n FROM fxp WHERE person_name IS NOT NULL")
	if !strings.HasPrefix(csvOut, "n\n") {
		t.Fatalf("csv output %q", csvOut)
	}
	if code, _, errOut := runCommand(t, "sql", "--data", data, "--role", "admin", "--user", "mallory", "DROP VIEW txn"); code != 1 || !strings.Contains(errOut, "forbidden") {
		t.Fatalf("refusal: exit %d, %s", code, errOut)
	}
	if code, _, _ := runCommand(t, "sql", "--data", data, "--role", "admin", "SELECT 1"); code != 2 {
		t.Fatalf("sql without --user: exit %d, want 2", code)
	}
	var log []lakesql.Entry
	if err := json.Unmarshal([]byte(must("sql", "--data", data, "--history", "--json")), &log); err != nil {
		t.Fatal(err)
	}
	if len(log) != 3 || log[0].User != "alice" || log[2].Decision != lakesql.DecisionRefused || log[2].Statement != "DROP VIEW txn" {
		t.Fatalf("query log %+v", log)
	}
	// As of a date before the data was ingested: nothing.
	if err := json.Unmarshal([]byte(must("sql", "--data", data, "--role", "analyst", "--user", "alice", "--json", "--as-of", "2020-01-01", "SELECT count(*) FROM txn")), &res); err != nil {
		t.Fatal(err)
	}
	if res.Rows[0][0] != json.Number("0") {
		t.Fatalf("as of 2020: %v", res.Rows)
	}

	var comp []lake.CompactResult
	if err := json.Unmarshal([]byte(must("lake", "compact", "--data", data, "--min-files", "2", "--json")), &comp); err != nil {
		t.Fatal(err)
	}
	compacted := false
	for _, c := range comp {
		compacted = compacted || c.FilesAfter > 0 && c.FilesAfter < c.FilesBefore
	}
	if !compacted {
		t.Fatalf("compaction did nothing: %+v", comp)
	}
	time.Sleep(2 * time.Millisecond) // the next snapshots are strictly later than the compaction
	var exp []lake.ExpireResult
	if err := json.Unmarshal([]byte(must("lake", "expire", "--data", data, "--older-than", "1ms", "--json")), &exp); err != nil {
		t.Fatal(err)
	}
	for _, x := range exp {
		if x.Retained > 1 {
			t.Fatalf("expire kept %+v", x)
		}
	}
	if code, _, _ := runCommand(t, "lake", "expire", "--data", data); code != 2 {
		t.Fatalf("expire without --older-than: exit %d", code)
	}
	if err := json.Unmarshal([]byte(must("sql", "--data", data, "--role", "supervisor", "--user", "bob", "--json", "SELECT count(*) FROM txn")), &res); err != nil {
		t.Fatal(err)
	}
	if res.Rows[0][0] != json.Number(strconv.FormatInt(txnRows, 10)) {
		t.Fatalf("after maintenance: %v rows, want %d", res.Rows[0][0], txnRows)
	}
	orph := must("lake", "orphans", "--data", data, "--dry-run")
	if !strings.Contains(orph, "txn: would remove 0 orphan files") {
		t.Fatalf("orphans: %s", orph)
	}
}

func TestParseAsOf(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		bad  bool
	}{
		{"2025-01-31", time.Date(2025, 2, 1, 0, 0, 0, 0, shanghai()).Add(-time.Millisecond), false},
		{"2025-01-31T10:00:00+08:00", time.Date(2025, 1, 31, 10, 0, 0, 0, shanghai()), false},
		{"2025-13-01", time.Time{}, true},
		{"yesterday", time.Time{}, true},
	}
	for _, tt := range tests {
		got, err := parseAsOf(tt.in)
		if (err != nil) != tt.bad || !got.Equal(tt.want) {
			t.Errorf("parseAsOf(%q) = %v, %v", tt.in, got, err)
		}
	}
}

func TestParseAgeAndBytes(t *testing.T) {
	for in, want := range map[string]time.Duration{"90d": 90 * 24 * time.Hour, "720h": 720 * time.Hour, "1ms": time.Millisecond} {
		if got, err := parseAge(in); err != nil || got != want {
			t.Errorf("parseAge(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "0d", "-1h", "soon"} {
		if _, err := parseAge(in); err == nil {
			t.Errorf("parseAge(%q) accepted", in)
		}
	}
	for in, want := range map[string]int64{"512MiB": 512 << 20, "64MB": 64e6, "1GiB": 1 << 30, "4096": 4096} {
		if got, err := parseBytes(in); err != nil || got != want {
			t.Errorf("parseBytes(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := parseBytes("lots"); err == nil {
		t.Error("parseBytes accepted lots")
	}
}
