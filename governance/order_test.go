package governance_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/rrs"
)

// byBank groups a region's batch directories (in date order) by bank.
func byBank(dirs []string) (map[string][]string, []string) {
	out := map[string][]string{}
	var banks []string
	for _, d := range dirs {
		tenant, _ := batchName(d)
		if out[tenant] == nil {
			banks = append(banks, tenant)
		}
		out[tenant] = append(out[tenant], d)
	}
	return out, banks
}

// enqueue puts already stored batches into the pipeline, in the order given.
func (f *fixture) enqueue(t *testing.T, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		tenant, batch := batchName(d)
		if err := f.pipe.Enqueue(f.ctx, tenant, batch); err != nil {
			t.Fatal(err)
		}
	}
}

// findings lists a batch's findings as "rule key".
func (f *fixture) findings(t *testing.T, tenant, batch string) []string {
	t.Helper()
	fs, err := f.db.ListFindings(f.ctx, tenant, batch)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, x := range fs {
		out = append(out, x.Rule+" "+x.Key)
	}
	return out
}

// TestOrderedChecks: every bank's first day is checked, then the other
// days of all banks, received already, are enqueued in reverse business
// date order to four workers. Each bank's batches are still checked in date
// order (the clock moves on at every reading, so the finish times order the
// checks), and the clean region gives no finding at all: no C01 against a
// day two days back, no C05 gap. On PostgreSQL two replicas (services and
// pipelines on one store) share the jobs.
func TestOrderedChecks(t *testing.T) {
	cfg := smallRegion(20250101)
	cfg.Days = 4
	_, dirs := region(t, cfg)
	banks, codes := byBank(dirs)
	forBackends2(t, options{workers: 4, orderPoll: 20 * time.Millisecond, step: time.Second, replicas: 2}, func(t *testing.T, f *fixture) {
		var rest []string
		for _, code := range codes {
			first := banks[code][0]
			_, batch := batchName(first)
			f.store(t, code, batch, "", first, receivedOnTime(batch), false)
			f.enqueue(t, first)
			f.waitBatch(t, code, batch)
			rest = append(rest, banks[code][1:]...)
		}
		for _, d := range rest {
			tenant, batch := batchName(d)
			f.store(t, tenant, batch, "", d, receivedOnTime(batch), false)
		}
		for i := len(rest) - 1; i >= 0; i-- { // banks interleaved, latest day first
			f.enqueue(t, rest[i])
		}
		for _, code := range codes {
			var last time.Time
			for _, d := range banks[code] {
				_, batch := batchName(d)
				q := f.waitBatch(t, code, batch)
				if q.Outcome != ronghe.OutcomeAccepted || q.Errors+q.Warnings != 0 {
					t.Errorf("%s: %s, findings %v", batch, q.Outcome, f.findings(t, code, batch))
				}
				if q.FinishedAt == nil || !q.FinishedAt.After(last) {
					t.Errorf("%s checked at %v, not after its bank's previous day (%v)", batch, q.FinishedAt, last)
				} else {
					last = *q.FinishedAt
				}
			}
		}
		if ts := allTickets(t, f); len(ts) != 0 {
			t.Errorf("%d tickets on clean data", len(ts))
		}
		f.mu.Lock()
		t.Logf("quality stages run per replica: %v", f.checks)
		f.mu.Unlock()
	})
}

// TestOrderGap: a bank's days 1, 2 and 4 (day 3 never sent) are enqueued
// in reverse order. Day 4 does not wait for day 3, which was never
// received: it is checked after day 2 and compared with it, and C05 reports
// the gap keyed by its first missing date (RRS-1 §3.3). Day 3 arriving late
// fills the gap: checked against day 2, without findings.
func TestOrderGap(t *testing.T) {
	cfg := smallRegion(20250101)
	cfg.Days = 4
	_, dirs := region(t, cfg)
	banks, codes := byBank(dirs)
	code := codes[0]
	days := banks[code]
	forBackends2(t, options{workers: 3, orderPoll: 20 * time.Millisecond, step: time.Second}, func(t *testing.T, f *fixture) {
		sent := []string{days[0], days[1], days[3]}
		for _, d := range sent {
			_, batch := batchName(d)
			f.store(t, code, batch, "", d, receivedOnTime(batch), false)
		}
		f.enqueue(t, days[3], days[1], days[0])
		var qs []*ronghe.BatchQuality
		for _, d := range sent {
			_, batch := batchName(d)
			qs = append(qs, f.waitBatch(t, code, batch))
		}
		for i, q := range qs[:2] {
			if fs := f.findings(t, code, q.Batch); len(fs) != 0 {
				t.Errorf("%s: findings %v", q.Batch, fs)
			}
			if i > 0 && !q.FinishedAt.After(*qs[i-1].FinishedAt) {
				t.Errorf("%s checked before %s", q.Batch, qs[i-1].Batch)
			}
		}
		if !qs[2].FinishedAt.After(*qs[1].FinishedAt) {
			t.Errorf("%s checked before %s", qs[2].Batch, qs[1].Batch)
		}
		_, missing := batchName(days[2])
		id, _ := rrs.ParseBatchID(missing)
		gap := false
		for _, x := range f.findings(t, code, qs[2].Batch) {
			switch {
			case x == "C05 "+id.Date.String():
				gap = true
			case strings.HasPrefix(x, "C01 "): // compared with day 2: the gap's movements
			default:
				t.Errorf("%s: finding %s", qs[2].Batch, x)
			}
		}
		if !gap {
			t.Errorf("%s: no C05 finding for the missing %s: %v", qs[2].Batch, id.Date, f.findings(t, code, qs[2].Batch))
		}
		f.accept(t, code, missing, "", days[2], receivedOnTime(missing).Add(24*time.Hour))
		f.waitBatch(t, code, missing)
		if fs := f.findings(t, code, missing); len(fs) != 0 {
			t.Errorf("late %s: findings %v", missing, fs)
		}
	})
}

// TestOrderOthersNotBlocked: one bank's day 2 waits for its day 1, whose
// job is lost (accepted, never enqueued); with a single worker the other
// banks' batches are checked all the same. After MaxOrderWait day 2 goes
// ahead as its bank's first batch, and day 1 enqueued later is checked too.
func TestOrderOthersNotBlocked(t *testing.T) {
	cfg := smallRegion(20250101)
	cfg.Days = 2
	_, dirs := region(t, cfg)
	banks, codes := byBank(dirs)
	a := banks[codes[0]]
	t.Run("wait", func(t *testing.T) {
		forBackends2(t, options{workers: 1, orderPoll: 20 * time.Millisecond, maxOrderWait: time.Hour}, func(t *testing.T, f *fixture) {
			_, a1 := batchName(a[0])
			_, a2 := batchName(a[1])
			f.store(t, codes[0], a1, "", a[0], receivedOnTime(a1), false)
			f.accept(t, codes[0], a2, "", a[1], receivedOnTime(a2))
			for _, code := range codes[1:] {
				for _, d := range banks[code] {
					_, batch := batchName(d)
					f.accept(t, code, batch, "", d, receivedOnTime(batch))
				}
			}
			for _, code := range codes[1:] {
				for _, d := range banks[code] {
					_, batch := batchName(d)
					if q := f.waitBatch(t, code, batch); q.Errors+q.Warnings != 0 {
						t.Errorf("%s: findings %v", batch, f.findings(t, code, batch))
					}
				}
			}
			if q, err := f.db.FindQuality(f.ctx, codes[0], a2); ronghe.ErrorCode(err) != ronghe.ENOTFOUND {
				t.Fatalf("%s checked before %s: %+v %v", a2, a1, q, err)
			}
			f.enqueue(t, a[0])
			q1, q2 := f.waitBatch(t, codes[0], a1), f.waitBatch(t, codes[0], a2)
			if q1.Errors+q1.Warnings+q2.Errors+q2.Warnings != 0 {
				t.Errorf("findings %v %v", f.findings(t, codes[0], a1), f.findings(t, codes[0], a2))
			}
		})
	})
	t.Run("bounded", func(t *testing.T) {
		forBackends2(t, options{workers: 2, orderPoll: 50 * time.Millisecond, maxOrderWait: time.Second}, func(t *testing.T, f *fixture) {
			_, a1 := batchName(a[0])
			_, a2 := batchName(a[1])
			f.store(t, codes[0], a1, "", a[0], receivedOnTime(a1), false)
			began := time.Now()
			f.accept(t, codes[0], a2, "", a[1], receivedOnTime(a2))
			q2 := f.waitBatch(t, codes[0], a2)
			if time.Since(began) < time.Second {
				t.Errorf("%s checked after %v, before MaxOrderWait", a2, time.Since(began))
			}
			if fs := f.findings(t, codes[0], a2); len(fs) != 0 || q2.Outcome != ronghe.OutcomeAccepted {
				t.Errorf("%s, its bank's first checked batch: %s %v", a2, q2.Outcome, fs)
			}
			f.enqueue(t, a[0])
			if q1 := f.waitBatch(t, codes[0], a1); q1.Errors+q1.Warnings != 0 {
				t.Errorf("late %s: findings %v", a1, f.findings(t, codes[0], a1))
			}
		})
	})
}

// forBackends2 is forBackends with fixture options.
func forBackends2(t *testing.T, o options, fn func(t *testing.T, f *fixture)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			fn(t, newFixtureWith(t, b.dsn(t), o))
		})
	}
}

// TestOrderLateCorrection: a correction of day 1 arriving after days 2 and
// 3 were checked is checked against the history before its date and
// replaces day 1 there; days 2 and 3 are not checked again (their records
// stay as they were). A correction of day 2 sent afterwards is checked
// against the corrected day 1.
func TestOrderLateCorrection(t *testing.T) {
	cfg := smallRegion(20250101)
	_, dirs := region(t, cfg)
	banks, codes := byBank(dirs)
	code := codes[0]
	days := banks[code]
	forBackends2(t, options{orderPoll: 20 * time.Millisecond}, func(t *testing.T, f *fixture) {
		var before []*ronghe.BatchQuality
		for _, d := range days {
			_, batch := batchName(d)
			f.accept(t, code, batch, "", d, receivedOnTime(batch))
			before = append(before, f.waitBatch(t, code, batch))
		}
		for i, d := range days[:2] {
			_, batch := batchName(d)
			fix := strings.TrimSuffix(batch, "_1") + "_2"
			f.accept(t, code, fix, "", copyBatch(t, d, fix), receivedOnTime(batch).Add(48*time.Hour))
			if q := f.waitBatch(t, code, fix); q.Outcome != ronghe.OutcomeAccepted || q.Errors+q.Warnings != 0 {
				t.Errorf("correction %s: %s %v", fix, q.Outcome, f.findings(t, code, fix))
			}
			for _, b := range before[i+1:] {
				q, err := f.db.FindQuality(f.ctx, code, b.Batch)
				if err != nil || q.Attempts != b.Attempts || !q.FinishedAt.Equal(*b.FinishedAt) {
					t.Errorf("%s checked again after the correction %s: %+v %v", b.Batch, fix, q, err)
				}
			}
		}
	})
}
