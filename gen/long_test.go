package gen

import (
	"testing"

	"github.com/ronghe/ronghe/rrs"
)

// TestCleanYear runs a small region through a whole year — Spring Festival,
// National Day, quarter-end interest, loan and deposit maturities — and
// requires zero findings, C06 included.
func TestCleanYear(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	cfg := testConfig(t)
	cfg.Enterprises, cfg.People, cfg.Days = 40, 300, 366
	cfg.Start = rrs.Date{Y: 2024, M: 7, D: 1}
	generate(t, cfg)
	for k, field := range newRefChecker(t).checkAll(readBatches(t, cfg.OutDir, cfg.Encoding)) {
		t.Errorf("clean data: finding %s %s %s %s (%s)", k.Rule, k.Batch, k.Type, k.Key, field)
	}
}
