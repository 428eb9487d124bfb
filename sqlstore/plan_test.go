package sqlstore

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestSQLiteQueryPlans checks that the store's hot queries are served by an
// index search: no table or index scan, no sort in a temporary tree.
func TestSQLiteQueryPlans(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		`SELECT ` + submissionCols + ` FROM submissions WHERE tenant = ? AND message_id = ?`,
		`SELECT ` + submissionCols + ` FROM submissions WHERE tenant = ? ORDER BY created_at DESC, message_id DESC LIMIT ?`,
		`SELECT CAST(COALESCE(SUM(total_bytes), 0) AS BIGINT) FROM submissions WHERE tenant = ? AND created_at >= ?`,
		`SELECT message_id, name FROM submission_files WHERE tenant = ? AND message_id IN (?, ?) ORDER BY message_id, pos`,
		`UPDATE submission_files SET upload_id = ? WHERE tenant = ? AND message_id = ? AND name = ? AND upload_id = ''`,
		`SELECT ` + mailboxCols + ` FROM mailbox WHERE tenant = ? AND seq > ? ORDER BY seq LIMIT ?`,
		`SELECT ` + mailboxCols + ` FROM mailbox WHERE tenant = ? AND acked_at IS NULL ORDER BY seq LIMIT ?`,
		`SELECT ` + mailboxCols + ` FROM mailbox WHERE tenant = ? AND id = ?`,
		`SELECT ` + keyCols + ` FROM party_keys WHERE owner = ? ORDER BY valid_from, id`,
		`SELECT ` + institutionCols + ` FROM institutions WHERE 1 = 1 AND kind = ? ORDER BY code`,
	} {
		args := make([]any, strings.Count(q, "?"))
		for i := range args {
			args[i] = "x"
		}
		rows, err := db.SQL().QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		for _, step := range plan {
			if !strings.HasPrefix(step, "SEARCH ") || strings.Contains(step, "TEMP B-TREE") {
				t.Errorf("query\n  %s\nhas plan %q", q, plan)
				break
			}
		}
	}
}

// TestSQLiteUncheckedCovered: the governance ordering lookup reads every
// submission of the dates in question; it must not read their rows, nor
// sort the tenant's validation records to find the last checked date.
func TestSQLiteUncheckedCovered(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	plan := func(q string, args ...any) []string {
		rows, err := db.SQL().QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			out = append(out, detail)
		}
		return out
	}
	if p := plan(uncheckedQuery, "T", "T_", "T_20250102"); len(p) == 0 || !strings.HasPrefix(p[0], "SEARCH s USING COVERING INDEX submissions_status ") {
		t.Errorf("unchecked submissions: plan %q, want a search of the covering index submissions_status first", p)
	}
	want := []string{"SEARCH quality_batches USING COVERING INDEX quality_batches_tenant_date (tenant=? AND bdate<?)"}
	if p := plan(lastCheckedDateQuery, "2025-01-01", "T"); !slices.Equal(p, want) {
		t.Errorf("latest checked date: plan %q, want %q", p, want)
	}
}
