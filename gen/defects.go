package gen

import "github.com/ronghe/ronghe/rrs"

// mod is one change a defect makes to a written row.
type mod struct {
	row   int32  // TXN: leg index; ACCT, BAL: account index; GL, STAT: glKey; FXP: row; CTL: file index
	field int    // position in the record type's fields
	value string // replacement value (when delta == 0 and !drop)
	delta int64  // added to a numeric value (cents or count)
	drop  bool   // leave the row out
}

// batchPlan is the set of changes the defect injector makes to one batch.
type batchPlan struct {
	omit bool
	mods map[rrs.Type][]mod
}

// planner decides, day by day, which defects to inject and writes the
// findings they cause.
type planner struct {
	g        *region
	L        *layouts
	rules    []string
	rate     float64
	injected int
}

func newPlanner(g *region, L *layouts) *planner {
	return &planner{g: g, L: L, rules: g.cfg.DefectRules, rate: g.cfg.DefectRate}
}

// beforeDay returns the unreported balance adjustments (C01 defects) to make
// at the start of day t.
func (p *planner) beforeDay(t int32) map[int32]int64 { return nil }

// planDay plans the defects of the simulated day dd and writes their findings.
func (p *planner) planDay(dd *dayData, tw *truthWriter) error {
	for b := range dd.plan {
		dd.plan[b] = nil
	}
	return nil
}

// finish writes findings still pending at the end of the period.
func (p *planner) finish(tw *truthWriter) error { return nil }
