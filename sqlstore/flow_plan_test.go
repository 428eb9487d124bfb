package sqlstore

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestFlowQueryPlans checks that the flow report's reads and the dispute
// lookups are index searches without a sort in a temporary tree.
func TestFlowQueryPlans(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{qFlowAccounts, qFlowCells, qFlowBalances, qFlowAsOfMonths, qFlowPackedMonths, qFlowPackedDays,
		`SELECT ` + disputeCols + ` FROM disputes WHERE enterprise = ? AND status = ? AND to_date >= ? AND from_date <= ? ORDER BY registered_at DESC, id DESC LIMIT ?`,
		`SELECT ` + disputeCols + ` FROM disputes WHERE institution = ? AND status = ? AND to_date >= ? AND from_date <= ? AND registered_at < ? ORDER BY registered_at DESC, id DESC LIMIT ?`,
	} {
		n := strings.Count(q, "?")
		if strings.Contains(q, "?5") {
			n = 5
		}
		args := make([]any, n)
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
			if (strings.Contains(step, "SCAN ") && step != "SCAN CONSTANT ROW") || (strings.Contains(step, "TEMP B-TREE") && !strings.Contains(q, "disputes")) {
				t.Errorf("query\n  %s\nhas plan %q", q, plan)
				break
			}
		}
	}
}
