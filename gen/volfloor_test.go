package gen

import (
	"fmt"
	"testing"

	"github.com/ronghe/ronghe/rrs"
)

// cleanC06 simulates cfg without writing it and returns every batch whose
// TXN row count trips C06 (tripsC06, the bounds the volume oracle and RRS-1
// use) against the bank's previous 7 batches — on clean data every batch is
// written and has exactly the day's legs as TXN rows — and the lowest and
// highest ratio of a batch's count to that mean.
func cleanC06(tb testing.TB, cfg Config) (trips []string, lo, hi float64) {
	tb.Helper()
	cfg, err := cfg.validate()
	if err != nil {
		tb.Fatal(err)
	}
	g, err := buildRegion(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	s := newSim(g)
	dd := newDayData(g)
	hist := make([][]int, len(g.insts))
	lo, hi = 10, 0
	for t := int32(0); t < int32(cfg.Days); t++ {
		s.simulateDay(t, dd, nil, volumeCtl{bank: -1})
		for b := range g.insts {
			n, h := len(dd.legs[b]), hist[b]
			if len(h) == 7 {
				sum := sumInts(h)
				if sum > 0 {
					r := float64(7*n) / float64(sum)
					lo, hi = min(lo, r), max(hi, r)
				}
				if tripsC06(n, sum) {
					trips = append(trips, fmt.Sprintf("bank %d on %s: %d rows after %v", b, g.dates[t], n, h))
				}
				h = append(h[:0], h[1:]...)
			}
			hist[b] = append(h, n)
		}
	}
	return trips, lo, hi
}

// TestC06FloorSweep: regions of exactly the smallest accepted size
// (minEnterprises) for 1 to 12 banks, over several seeds and 200-day spans
// that hold National Day and Spring Festival, give no C06 finding on clean
// data. A region one enterprise smaller is refused.
func TestC06FloorSweep(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	starts := []rrs.Date{{Y: 2024, M: 9, D: 1}, {Y: 2025, M: 9, D: 10}, {Y: 2026, M: 1, D: 1}, {Y: 2027, M: 1, D: 15}}
	for _, insts := range []int{1, 2, 3, 4, 6, 8, 12} {
		ents := minEnterprises(insts)
		t.Run(fmt.Sprintf("%d-%d", insts, ents), func(t *testing.T) {
			lo, hi := 10.0, 0.0
			for _, start := range starts {
				for seed := int64(1); seed <= 5; seed++ {
					cfg := Config{Seed: seed*1000 + int64(insts), Institutions: insts, Enterprises: ents, People: 5 * ents,
						Start: start, Days: 200, OutDir: "unused"}
					trips, l, h := cleanC06(t, cfg)
					for _, s := range trips {
						t.Errorf("seed %d from %s: C06 on clean data: %s", cfg.Seed, start, s)
					}
					lo, hi = min(lo, l), max(hi, h)
				}
			}
			t.Logf("TXN count / mean of the previous 7 batches: %.3f … %.3f", lo, hi)
			cfg := Config{Seed: 1, Institutions: insts, Enterprises: ents - 1, Start: starts[0], Days: 8, OutDir: "unused"}
			if _, err := cfg.validate(); err == nil {
				t.Errorf("%d enterprises for %d banks over 8 days accepted", ents-1, insts)
			}
			cfg.Days = 7
			if _, err := cfg.validate(); err != nil {
				t.Errorf("7 days: %v", err)
			}
		})
	}
}

// TestC06FloorWritten: a region of the smallest accepted size, written and
// read back by the reference checker over Spring Festival, has no finding.
func TestC06FloorWritten(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	cfg := testConfig(t)
	cfg.Institutions = 6
	cfg.Enterprises, cfg.People = minEnterprises(6), 300
	cfg.Start, cfg.Days = rrs.Date{Y: 2026, M: 1, D: 25}, 45
	sum := generate(t, cfg)
	if sum.Findings != 0 {
		t.Errorf("%d findings in truth", sum.Findings)
	}
	for k, field := range newRefChecker(t).checkAll(readBatches(t, cfg.OutDir, cfg.Encoding)) {
		t.Errorf("clean data: finding %s %s %s %s (%s)", k.Rule, k.Batch, k.Type, k.Key, field)
	}
}
