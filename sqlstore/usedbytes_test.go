package sqlstore

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestSQLiteUsedBytesCovered checks that the quota sum, run on every
// manifest, reads only an index: reading the table's rows made it grow with
// the tenant's daily volume (bench/README.md, small messages).
func TestSQLiteUsedBytesCovered(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.SQL().QueryContext(ctx, `EXPLAIN QUERY PLAN SELECT CAST(COALESCE(SUM(total_bytes), 0) AS BIGINT) FROM submissions
		WHERE tenant = ? AND created_at >= ?`, "x", "x")
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
	if len(plan) != 1 || !strings.Contains(plan[0], "COVERING INDEX") {
		t.Fatalf("UsedBytes plan %q does not use a covering index", plan)
	}
}
