package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/gen"
	"github.com/ronghe/ronghe/rrs"
)

// TestQualityLoop runs the quality loop through the whole platform over
// HTTPS: banks submit gen batches with `ronghe submit`, the pipeline checks
// them, `ronghe quality status` shows each check, a bank that skipped a day
// gets a C05 warning it confirms with `ronghe quality answer`, a broken
// correction is rejected, a sample is answered with `ronghe submit --kind
// rrs.sample-answer`, and the operator reads the supervisor view and the
// league table from the store.
func TestQualityLoop(t *testing.T) {
	tp := startPlatform(t)
	cfg := gen.DefaultConfig()
	cfg.Institutions = 2
	cfg.Enterprises = 30
	cfg.People = 50
	cfg.Start = rrs.Date{Y: 2025, M: 1, D: 6}
	cfg.Days = 3
	cfg.OutDir = filepath.Join(t.TempDir(), "region")
	if _, err := gen.Generate(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	dirs, _ := filepath.Glob(filepath.Join(cfg.OutDir, "*_*_*"))
	sort.Slice(dirs, func(i, j int) bool { return filepath.Base(dirs[i])[15:] < filepath.Base(dirs[j])[15:] })
	profiles := map[string]string{}
	for _, d := range dirs {
		code := filepath.Base(d)[:14]
		if profiles[code] != "" {
			continue
		}
		dir := filepath.Join(t.TempDir(), "profile-"+code)
		if _, err := onboard(context.Background(), tp.p.db, tp.p.keys, onboarding{code: code, name: "银行 " + code, kind: ronghe.KindBank,
			suite: ronghe.SuiteGM, server: tp.server, out: dir, certDays: 30}); err != nil {
			t.Fatal(err)
		}
		profiles[code] = dir
	}
	var codes []string
	for c := range profiles {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	gapBank := codes[0]
	status := func(code, batch string) ronghe.QualityView {
		t.Helper()
		rc, out, errOut := runCommand(t, "quality", "status", "--profile", profiles[code], "--wait", "2m", "--json", batch)
		if rc != 0 {
			t.Fatalf("quality status %s: %d %s", batch, rc, errOut)
		}
		var v ronghe.QualityView
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("status JSON: %v\n%s", err, out)
		}
		return v
	}
	for _, d := range dirs {
		b := filepath.Base(d)
		code := b[:14]
		if code == gapBank && strings.Contains(b, "_20250107_") {
			continue // this bank skips a day
		}
		if rc, _, errOut := runCommand(t, "submit", "--profile", profiles[code], "--quiet", d); rc != 0 {
			t.Fatalf("submit %s: %s", b, errOut)
		}
		v := status(code, b)
		if v.Quality.Status != ronghe.QualityDone {
			t.Fatalf("%s: %+v", b, v.Quality)
		}
	}
	// The bank that skipped 7 January has a C05 warning on 8 January.
	gapBatch := gapBank + "_20250108_1"
	v := status(gapBank, gapBatch)
	var c05 *ronghe.QualityFinding
	for _, f := range v.Findings {
		if f.Rule == "C05" {
			c05 = f
		}
	}
	if v.Quality.Outcome != ronghe.OutcomeWarnings || c05 == nil || c05.Key != "2025-01-07" || c05.TicketID == "" {
		t.Fatalf("gap batch: %+v %+v", v.Quality, v.Findings)
	}
	rc, out, errOut := runCommand(t, "quality", "answer", "--profile", profiles[gapBank], "--note", "系统迁移，7日数据已并入8日", "--json", c05.TicketID)
	if rc != 0 {
		t.Fatalf("quality answer: %s", errOut)
	}
	var tk ronghe.Ticket
	if err := json.Unmarshal([]byte(out), &tk); err != nil || tk.State != ronghe.TicketClosed || tk.Resolution != ronghe.ResolutionConfirmed {
		t.Fatalf("answered ticket: %s %v", out, err)
	}
	// An E ticket cannot be confirmed.
	for _, f := range v.Findings {
		if f.Severity == ronghe.SeverityError {
			if rc, _, _ := runCommand(t, "quality", "answer", "--profile", profiles[gapBank], "--note", "no", f.TicketID); rc == 0 {
				t.Fatalf("an E ticket was confirmed")
			}
			break
		}
	}

	// A correction with a broken control total is rejected; the first
	// version stays in use.
	other := codes[1]
	first := other + "_20250106_1"
	broken := filepath.Join(t.TempDir(), other+"_20250106_2")
	if err := copyDir(filepath.Join(cfg.OutDir, first), broken); err != nil {
		t.Fatal(err)
	}
	ctl := readRecords(t, filepath.Join(broken, "CTL.csv"))
	for _, r := range ctl[1:] {
		if r[0] == "TXN" {
			r[1] += "0"
		}
	}
	writeRecords(t, filepath.Join(broken, "CTL.csv"), ctl)
	if rc, _, errOut := runCommand(t, "submit", "--profile", profiles[other], "--quiet", broken); rc != 0 {
		t.Fatal(errOut)
	}
	rv := status(other, filepath.Base(broken))
	if rv.Quality.Outcome != ronghe.OutcomeRejected || len(rv.Quality.Problems) == 0 || rv.Sample != nil {
		t.Fatalf("broken correction: %+v", rv.Quality)
	}

	// Answer the first batch's sample with the reported rows: it passes.
	fv := status(other, first)
	if fv.Sample == nil || fv.Sample.Status != ronghe.SampleRequested {
		t.Fatalf("sample of %s: %+v", first, fv.Sample)
	}
	txn := readRecords(t, filepath.Join(cfg.OutDir, first, "TXN.csv"))
	ans := [][]string{txn[0]}
	for _, r := range fv.Sample.Rows {
		ans = append(ans, txn[r.Line-1])
	}
	ansDir := filepath.Join(t.TempDir(), "answer")
	os.MkdirAll(ansDir, 0o755)
	writeRecords(t, filepath.Join(ansDir, "TXN.csv"), ans)
	if rc, _, errOut := runCommand(t, "submit", "--profile", profiles[other], "--quiet", "--kind", ronghe.MessageSampleAnswer,
		"--refers-to", first, "--message-id", first+".P01", ansDir); rc != 0 {
		t.Fatalf("sample answer: %s", errOut)
	}
	deadline := time.Now().Add(time.Minute)
	for fv = status(other, first); fv.Sample.Status == ronghe.SampleRequested; fv = status(other, first) {
		if time.Now().After(deadline) {
			t.Fatalf("sample not decided: %+v", fv.Sample)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if fv.Sample.Status != ronghe.SamplePassed || fv.Sample.Answer != first+".P01" {
		t.Fatalf("answered sample: %+v", fv.Sample)
	}

	// Every quality message in the mailbox is platform-signed and verifies.
	for _, code := range codes {
		if rc, _, errOut := runCommand(t, "fetch", "--profile", profiles[code], "--json"); rc != 0 {
			t.Fatalf("fetch %s: %s", code, errOut)
		}
	}

	// The operator's views, from the store.
	rc, out, errOut = runCommand(t, "quality", "tickets", "--data", tp.dir, "--json")
	if rc != 0 {
		t.Fatalf("quality tickets: %s", errOut)
	}
	var sv supervisorView
	if err := json.Unmarshal([]byte(out), &sv); err != nil {
		t.Fatal(err)
	}
	banks := map[string]bankTickets{}
	for _, b := range sv.Banks {
		banks[b.Institution] = b
	}
	if banks[gapBank].Closed < 1 || banks[other].Open < 1 {
		t.Fatalf("supervisor view: %+v", sv.Banks)
	}
	for _, tk := range sv.Tickets {
		if tk.State == ronghe.TicketClosed {
			t.Fatalf("closed ticket listed: %+v", tk)
		}
	}
	if rc, out, _ := runCommand(t, "quality", "tickets", "--data", tp.dir, "--overdue", "--json"); rc != 0 || !strings.Contains(out, `"tickets": []`) {
		t.Fatalf("overdue tickets before any deadline: %s", out)
	}
	rc, out, errOut = runCommand(t, "quality", "scores", "--data", tp.dir, "--month", "2025-01", "--as-of", "2025-01-31T12:00:00+08:00", "--json")
	if rc != 0 {
		t.Fatalf("quality scores: %s", errOut)
	}
	var scores []*ronghe.QualityScore
	if err := json.Unmarshal([]byte(out), &scores); err != nil || len(scores) != 2 {
		t.Fatalf("scores: %s %v", out, err)
	}
	for _, s := range scores {
		// Received now, long after January: nothing is timely, and every
		// day from 6 to 30 January is counted.
		if s.Days != 25 || s.TimelyDays != 0 || s.Rank < 1 || s.Grade == "" {
			t.Errorf("score %+v", s)
		}
	}
	if scores[0].Score < scores[1].Score {
		t.Errorf("league table not ranked: %+v", scores)
	}
	if rc, out, _ := runCommand(t, "quality", "scores", "--data", tp.dir, "--month", "2025-01", "--as-of", "2025-01-31T12:00:00+08:00"); rc != 0 || !strings.Contains(out, "RANK") {
		t.Fatalf("scores table: %s", out)
	}
	if rc, out, _ := runCommand(t, "quality", "show", "--data", tp.dir, gapBatch); rc != 0 || !strings.Contains(out, "C05") {
		t.Fatalf("quality show: %s", out)
	}
	if rc, _, _ := runCommand(t, "quality", "scores", "--data", filepath.Join(t.TempDir(), "nothing")); rc == 0 {
		t.Fatal("scores without a platform database succeeded")
	}
}

func readRecords(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func writeRecords(t *testing.T, path string, recs [][]string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	w.WriteAll(recs)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
