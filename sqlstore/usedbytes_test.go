package sqlstore

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestSQLiteUsedBytesCovered checks that the quota sum, run on every
// manifest, reads only indexes and at most a day of minutes: reading the
// table's rows, then every submission of the day, made it grow with the
// tenant's daily volume (bench/README.md, small messages).
func TestSQLiteUsedBytesCovered(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.SQL().QueryContext(ctx, `EXPLAIN QUERY PLAN SELECT CAST(
		COALESCE((SELECT SUM(bytes) FROM submission_usage WHERE tenant = ? AND minute >= ?), 0) +
		COALESCE((SELECT SUM(total_bytes) FROM submissions WHERE tenant = ? AND created_at >= ? AND created_at < ?), 0)
		AS BIGINT)`, "x", "x", "x", "x", "x")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	joined := strings.Join(plan, "; ")
	if !strings.Contains(joined, "SEARCH submission_usage USING PRIMARY KEY (tenant=? AND minute>?)") ||
		!strings.Contains(joined, "SEARCH submissions USING COVERING INDEX submissions_used (tenant=? AND created_at>? AND created_at<?)") {
		t.Fatalf("UsedBytes plan %q does not search the minutes and the covering index", plan)
	}
}
