package rules

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/ronghe/ronghe/gen"
	"github.com/ronghe/ronghe/rrs"
)

// testRegion is a small region with a month end (31 January) inside, so
// STAT, T02 and C06 (more than seven earlier batches) are exercised.
func testRegion(t testing.TB) gen.Config {
	return gen.Config{
		Seed:         7,
		Institutions: 3,
		Enterprises:  60,
		People:       600,
		Start:        rrs.Date{Y: 2025, M: 1, D: 15},
		Days:         25,
		Encoding:     rrs.UTF8,
		OutDir:       filepath.Join(t.TempDir(), "region"),
	}
}

func generate(t testing.TB, cfg gen.Config) *gen.Summary {
	t.Helper()
	s, err := gen.Generate(context.Background(), cfg)
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	return s
}

// batchPaths lists the batch directories or zips under dir, in name order.
func batchPaths(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if _, err := rrs.ParseBatchID(e.Name()); err == nil {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out
}

func newEngine(t testing.TB, opts Options) *Engine {
	t.Helper()
	e, err := New(context.Background(), opts)
	if err != nil {
		t.Fatalf("new engine: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func runPaths(t testing.TB, e *Engine, paths []string) []Finding {
	t.Helper()
	var out []Finding
	if _, err := e.Run(context.Background(), paths, func(f Finding) error { out = append(out, f); return nil }); err != nil {
		t.Fatalf("run: %v", err)
	}
	return out
}

func readTruth(t testing.TB, dir string) []gen.Finding {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "truth", "defects.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var out []gen.Finding
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		var f gen.Finding
		if err := dec.Decode(&f); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}

type identity struct{ Rule, Batch, Type, Key string }

// compareTruth reports every finding missing from got or not in the truth
// (identities as RRS-1 §3 defines them), and a differing field where the
// truth names one.
func compareTruth(t *testing.T, got []Finding, truth []gen.Finding) {
	t.Helper()
	want := map[identity]gen.Finding{}
	for _, f := range truth {
		want[identity{f.Rule, f.Batch, f.Type, f.Key}] = f
	}
	have := map[identity]Finding{}
	for _, f := range got {
		id := identity{f.Rule, f.Batch, f.Type, f.Key}
		if _, dup := have[id]; dup {
			t.Errorf("finding %v reported twice", id)
		}
		have[id] = f
	}
	var missing, extra, fields []string
	for id, w := range want {
		g, ok := have[id]
		switch {
		case !ok:
			missing = append(missing, fmt.Sprintf("%v (field %q, cause %s)", id, w.Field, w.Cause))
		case w.Field != "" && g.Field != w.Field:
			fields = append(fields, fmt.Sprintf("%v: field %q, truth %q", id, g.Field, w.Field))
		}
	}
	for id, g := range have {
		if _, ok := want[id]; !ok {
			extra = append(extra, fmt.Sprintf("%v (field %q: %s)", id, g.Field, g.Message))
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	sort.Strings(fields)
	for _, m := range missing {
		t.Errorf("in truth, not found: %s", m)
	}
	for _, x := range extra {
		t.Errorf("found, not in truth: %s", x)
	}
	for _, f := range fields {
		t.Errorf("wrong field: %s", f)
	}
}

func TestCleanDataHasNoFinding(t *testing.T) {
	cfg := testRegion(t)
	generate(t, cfg)
	e := newEngine(t, Options{OneShot: true})
	got := runPaths(t, e, batchPaths(t, cfg.OutDir))
	for _, f := range got {
		t.Errorf("clean data: %+v", f)
	}
}

func TestDefectsEachRule(t *testing.T) {
	for _, rule := range gen.SupportedRules() {
		t.Run(rule, func(t *testing.T) {
			cfg := testRegion(t)
			cfg.DefectRules = []string{rule}
			cfg.DefectRate = 0.01
			switch rule {
			case "C05", "C06", "T01", "T02", "T03", "S01", "S02":
				cfg.DefectRate = 0.2 // batch-level units are few
			case "L04", "L05":
				cfg.DefectRate = 0.1
			}
			sum := generate(t, cfg)
			if sum.Defects == 0 {
				t.Fatalf("no %s defect injected", rule)
			}
			truth := readTruth(t, cfg.OutDir)
			e := newEngine(t, Options{OneShot: true})
			got := runPaths(t, e, batchPaths(t, cfg.OutDir))
			compareTruth(t, got, truth)
			t.Logf("%s: %d defects, %d findings", rule, sum.Defects, len(truth))
		})
	}
}

func TestDefectsAllRules(t *testing.T) {
	cfg := testRegion(t)
	cfg.DefectRate = 0.02
	cfg.Zip = true
	generate(t, cfg)
	truth := readTruth(t, cfg.OutDir)
	e := newEngine(t, Options{OneShot: true})
	got := runPaths(t, e, batchPaths(t, cfg.OutDir))
	compareTruth(t, got, truth)
	rules := map[string]int{}
	for _, f := range got {
		rules[f.Rule]++
	}
	t.Logf("%d findings: %v", len(got), rules)
}

// TestStableAndOrderFree: the same input gives the same findings in the same
// order, whatever order the batches are given in and however the run is cut
// into windows.
func TestStableAndOrderFree(t *testing.T) {
	cfg := testRegion(t)
	cfg.DefectRate = 0.02
	generate(t, cfg)
	paths := batchPaths(t, cfg.OutDir)
	first := runPaths(t, newEngine(t, Options{OneShot: true}), paths)
	if len(first) == 0 {
		t.Fatal("no findings to compare")
	}
	again := runPaths(t, newEngine(t, Options{OneShot: true}), paths)
	if !slices.Equal(first, again) {
		t.Fatalf("second run differs: %d vs %d findings", len(first), len(again))
	}
	shuffled := slices.Clone(paths)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	if got := runPaths(t, newEngine(t, Options{OneShot: true}), shuffled); !slices.Equal(first, got) {
		diffFindings(t, first, got)
		t.Fatal("shuffled input gives other findings")
	}
	// Small windows: history crosses window boundaries through the store.
	if got := runPaths(t, newEngine(t, Options{OneShot: true, WindowBytes: 1}), paths); !slices.Equal(first, got) {
		diffFindings(t, first, got)
		t.Fatal("one window per day gives other findings")
	}
	// Two runs sharing a persisted history give what one run gives.
	db := filepath.Join(t.TempDir(), "history.duckdb")
	e1 := newEngine(t, Options{HistoryPath: db})
	half := len(paths) / 2
	// Cut at a date boundary: all batches of a date in one run.
	for half < len(paths) && sameDate(paths[half-1], paths[half]) {
		half++
	}
	byDate := slices.Clone(paths)
	slices.SortFunc(byDate, func(a, b string) int { return processOrder(mustID(t, a), mustID(t, b)) })
	got := runPaths(t, e1, byDate[:half])
	e1.Close()
	e2 := newEngine(t, Options{HistoryPath: db})
	got = append(got, runPaths(t, e2, byDate[half:])...)
	if !slices.Equal(first, got) {
		diffFindings(t, first, got)
		t.Fatal("two runs with a persisted history give other findings than one run")
	}
}

func sameDate(a, b string) bool {
	ia, _ := rrs.ParseBatchID(filepath.Base(a))
	ib, _ := rrs.ParseBatchID(filepath.Base(b))
	return ia.Date == ib.Date
}

func mustID(t testing.TB, p string) rrs.BatchID {
	id, err := rrs.ParseBatchID(filepath.Base(p))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func diffFindings(t *testing.T, want, got []Finding) {
	t.Helper()
	w := map[string]bool{}
	for _, f := range want {
		w[fmt.Sprint(f)] = true
	}
	g := map[string]bool{}
	for _, f := range got {
		g[fmt.Sprint(f)] = true
	}
	n := 0
	for k := range w {
		if !g[k] && n < 20 {
			t.Errorf("missing: %s", k)
			n++
		}
	}
	for k := range g {
		if !w[k] && n < 40 {
			t.Errorf("extra: %s", k)
			n++
		}
	}
	if n == 0 {
		t.Errorf("same findings in another order")
	}
}

// copyDir copies a batch directory.
func copyDir(t testing.TB, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		data, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCorrectionReplacesBatch: a correction batch (seq 2) that repairs a
// defective seq 1 takes its place in the history: the next day's C01 and
// L08 no longer see seq 1, and seq 2 reusing seq 1's txn_ids is no
// duplicate.
func TestCorrectionReplacesBatch(t *testing.T) {
	cfg := testRegion(t)
	cfg.Days = 4
	generate(t, cfg)
	paths := batchPaths(t, cfg.OutDir)
	slices.SortFunc(paths, func(a, b string) int { return processOrder(mustID(t, a), mustID(t, b)) })
	clean := runPaths(t, newEngine(t, Options{OneShot: true}), paths)
	if len(clean) != 0 {
		t.Fatalf("clean region has findings: %v", clean)
	}
	// Break day 2 of the first institution: a BAL row's close_bal (C02, S01,
	// C03 and, the next day, C01).
	day2 := paths[cfg.Institutions] // in processing order: the first institution on day 2
	id := mustID(t, day2)
	if id.Date != cfg.Start.AddDays(1) {
		t.Fatalf("unexpected batch order: %s", id)
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, id.String())
	copyDir(t, day2, bad)
	balPath := filepath.Join(bad, "BAL.csv")
	data, err := os.ReadFile(balPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	rt := rrs.Current().Record(rrs.BAL)
	header := strings.Split(lines[0], ",")
	ci := slices.Index(header, "close_bal")
	ai := slices.Index(header, "acct_no")
	var acct string
	for i := 1; i < len(lines); i++ {
		v := strings.Split(lines[i], ",")
		if len(v) == len(rt.Fields) && v[ci] != "0.00" {
			a, _ := rrs.ParseAmount(v[ci])
			v[ci] = (a + 100).String()
			acct = v[ai]
			lines[i] = strings.Join(v, ",")
			break
		}
	}
	if err := os.WriteFile(balPath, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	// The correction is the original, clean batch as seq 2.
	fixedID := id
	fixedID.Seq = 2
	fixed := filepath.Join(dir, fixedID.String())
	copyDir(t, day2, fixed)

	withBad := slices.Clone(paths)
	withBad[slices.Index(withBad, day2)] = bad
	got := runPaths(t, newEngine(t, Options{OneShot: true}), withBad)
	rulesOn := func(fs []Finding, batch string) []string {
		var out []string
		for _, f := range fs {
			if f.Batch == batch {
				out = append(out, f.Rule+" "+f.Key)
			}
		}
		return out
	}
	next := id
	next.Date = id.Date.AddDays(1)
	if r := rulesOn(got, next.String()); !slices.Contains(r, "C01 "+acct+"|"+next.Date.String()) {
		t.Fatalf("defective seq 1 alone: want C01 on %s the next day, got %v", acct, r)
	}
	// With the correction: findings of seq 1 stay on seq 1, seq 2 is clean,
	// and the next day is checked against seq 2.
	got = runPaths(t, newEngine(t, Options{OneShot: true}), append(withBad, fixed))
	if len(rulesOn(got, id.String())) == 0 {
		t.Errorf("seq 1 lost its findings")
	}
	for _, f := range got {
		if f.Batch != id.String() {
			t.Errorf("finding outside the defective seq 1: %+v", f)
		}
	}
	// The same through CheckBatch, one batch at a time as the server does,
	// with the correction arriving after the next day's batch: the later
	// batches were already checked, and the correction itself is clean.
	e := newEngine(t, Options{})
	for _, p := range withBad {
		b, err := rrs.OpenBatch(p, rrs.UTF8)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.CheckBatch(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		b.Close()
	}
	b, err := rrs.OpenBatch(fixed, rrs.UTF8)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	fs, err := e.CheckBatch(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		t.Errorf("late correction: %+v", f)
	}
}

// TestGB18030: a region written in GB18030 (zips) gives exactly the truth
// when the checker is told the encoding, and file-level L02 findings when it
// is not (RRS-1 §1: offline a batch is UTF-8 unless told otherwise).
func TestGB18030(t *testing.T) {
	cfg := testRegion(t)
	cfg.Days = 8
	cfg.Encoding = rrs.GB18030
	cfg.Zip = true
	cfg.DefectRate = 0.02
	generate(t, cfg)
	paths := batchPaths(t, cfg.OutDir)
	got := runPaths(t, newEngine(t, Options{OneShot: true, Encoding: rrs.GB18030}), paths)
	compareTruth(t, got, readTruth(t, cfg.OutDir))
	wrong := runPaths(t, newEngine(t, Options{OneShot: true}), paths)
	l02 := 0
	for _, f := range wrong {
		if f.Rule == "L02" && strings.HasPrefix(f.Key, "#") && strings.Contains(f.Message, "GB18030") {
			l02++
		}
	}
	if l02 == 0 {
		t.Fatalf("GB18030 read as UTF-8: no encoding finding among %d", len(wrong))
	}
}

// TestCheckThenDiscard: a checked batch that is discarded leaves the history
// as it was; recorded, it replaces the version it corrects.
func TestCheckThenDiscard(t *testing.T) {
	cfg := testRegion(t)
	cfg.Days = 3
	generate(t, cfg)
	paths := batchPaths(t, cfg.OutDir)
	slices.SortFunc(paths, func(a, b string) int { return processOrder(mustID(t, a), mustID(t, b)) })
	day2 := paths[cfg.Institutions] // the first institution's second day
	id := mustID(t, day2)
	// A correction of day 2 that moves one closing balance.
	bad := id
	bad.Seq = 2
	badDir := filepath.Join(t.TempDir(), bad.String())
	copyDir(t, day2, badDir)
	balPath := filepath.Join(badDir, "BAL.csv")
	data, _ := os.ReadFile(balPath)
	lines := strings.Split(string(data), "\n")
	header := strings.Split(lines[0], ",")
	ci, ai := slices.Index(header, "close_bal"), slices.Index(header, "acct_no")
	var acct string
	for i := 1; i < len(lines); i++ {
		v := strings.Split(lines[i], ",")
		if len(v) == len(header) && v[ci] != "0.00" {
			a, _ := rrs.ParseAmount(v[ci])
			v[ci], acct = (a + 100).String(), v[ai]
			lines[i] = strings.Join(v, ",")
			break
		}
	}
	os.WriteFile(balPath, []byte(strings.Join(lines, "\n")), 0o644)

	check := func(e *Engine, p string) *Checked {
		t.Helper()
		b, err := rrs.OpenBatch(p, rrs.UTF8)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		c, err := e.Check(context.Background(), b)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, keep := range []bool{false, true} {
		e := newEngine(t, Options{})
		var day3 []string
		for _, p := range paths {
			if mustID(t, p).Date == id.Date.AddDays(1) {
				day3 = append(day3, p)
				continue
			}
			if err := check(e, p).Record(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		c := check(e, badDir)
		if len(c.Findings) == 0 {
			t.Fatal("the bad correction has no finding")
		}
		if _, err := e.Check(context.Background(), nil); err == nil {
			t.Fatal("a second Check while one is pending must be refused")
		}
		if keep {
			if err := c.Record(context.Background()); err != nil {
				t.Fatal(err)
			}
		} else {
			c.Discard(context.Background())
		}
		var next []Finding
		for _, p := range day3 {
			cc := check(e, p)
			next = append(next, cc.Findings...)
			cc.Record(context.Background())
		}
		c01 := slices.ContainsFunc(next, func(f Finding) bool { return f.Rule == "C01" && strings.HasPrefix(f.Key, acct+"|") })
		if c01 != keep {
			t.Errorf("recorded %v: C01 on %s the next day = %v (%v)", keep, acct, c01, next)
		}
	}
}
