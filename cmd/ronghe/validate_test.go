package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/ronghe/ronghe/gen"
	"github.com/ronghe/ronghe/rrs"
	"github.com/ronghe/ronghe/rules"
)

// validateRegion generates a small region with defects of every kind the
// generator injects and returns its directory.
func validateRegion(t *testing.T) string {
	t.Helper()
	cfg := gen.Config{Seed: 11, Institutions: 3, Enterprises: 48, People: 300,
		Start: rrs.Date{Y: 2025, M: 1, D: 20}, Days: 14, Encoding: rrs.UTF8,
		DefectRate: 0.02, OutDir: filepath.Join(t.TempDir(), "region")}
	if _, err := gen.Generate(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	return cfg.OutDir
}

func parseFindings(t *testing.T, out string) []rules.Finding {
	t.Helper()
	var fs []rules.Finding
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var f rules.Finding
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			t.Fatalf("not a finding: %s: %v", sc.Text(), err)
		}
		if f.Rule == "" || f.Batch == "" || f.Type == "" || f.Key == "" || f.Message == "" || (f.Severity != "E" && f.Severity != "W") {
			t.Fatalf("incomplete finding %s", sc.Text())
		}
		fs = append(fs, f)
	}
	return fs
}

func TestValidateJSONMatchesTruth(t *testing.T) {
	dir := validateRegion(t)
	code, out, errOut := runCommand(t, "validate", "--json", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	got := parseFindings(t, out)
	// Every line carries exactly the seven fields.
	line, _, _ := strings.Cut(out, "\n")
	var raw map[string]any
	if err := json.Unmarshal([]byte(line), &raw); err != nil || len(raw) != 7 {
		t.Fatalf("first line %s: %v", line, raw)
	}
	truthData, err := os.ReadFile(filepath.Join(dir, "truth", "defects.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var want, have []string
	for _, l := range strings.Split(strings.TrimSpace(string(truthData)), "\n") {
		var f gen.Finding
		if err := json.Unmarshal([]byte(l), &f); err != nil {
			t.Fatal(err)
		}
		want = append(want, f.Rule+" "+f.Batch+" "+f.Type+" "+f.Key)
	}
	for _, f := range got {
		have = append(have, f.ID())
	}
	sort.Strings(want)
	sorted := slices.Clone(have)
	sort.Strings(sorted)
	if !slices.Equal(sorted, want) {
		t.Fatalf("findings differ from the truth: %d found, %d in truth", len(have), len(want))
	}
	// Batches given one by one, in reverse order, give the same output.
	paths, _ := filepath.Glob(filepath.Join(dir, "*_*_*"))
	slices.Reverse(paths)
	code, again, errOut := runCommand(t, append([]string{"validate", "--json"}, paths...)...)
	if code != 0 || again != out {
		t.Fatalf("reversed batch order: exit %d, same output %v: %s", code, again == out, errOut)
	}
}

func TestValidateReadable(t *testing.T) {
	dir := validateRegion(t)
	code, out, errOut := runCommand(t, "validate", "--limit", "3", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"checked 42 batches", "findings:", "… and"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestValidateHistoryAcrossRuns(t *testing.T) {
	dir := validateRegion(t)
	_, whole, _ := runCommand(t, "validate", "--json", dir)
	paths, _ := filepath.Glob(filepath.Join(dir, "*_*_*"))
	var early, late []string
	cut := rrs.Date{Y: 2025, M: 1, D: 27}
	for _, p := range paths {
		id, err := rrs.ParseBatchID(filepath.Base(p))
		if err != nil {
			t.Fatal(err)
		}
		if id.Date.Before(cut) {
			early = append(early, p)
		} else {
			late = append(late, p)
		}
	}
	if len(early) == 0 || len(late) == 0 {
		t.Fatalf("split %d/%d", len(early), len(late))
	}
	hist := t.TempDir()
	c1, first, e1 := runCommand(t, append([]string{"validate", "--json", "--history", hist}, early...)...)
	c2, second, e2 := runCommand(t, append([]string{"validate", "--json", "--history", hist}, late...)...)
	if c1 != 0 || c2 != 0 {
		t.Fatalf("exit %d %d: %s %s", c1, c2, e1, e2)
	}
	if first+second != whole {
		t.Fatalf("two runs with --history differ from one run (%d+%d vs %d bytes)", len(first), len(second), len(whole))
	}
}

func TestValidateUsageAndIOErrors(t *testing.T) {
	dir := t.TempDir()
	notBatch := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notBatch, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		code int
	}{
		{[]string{"validate"}, 2},
		{[]string{"validate", "--encoding", "GBK", dir}, 2},
		{[]string{"validate", "--rrs", "9", dir}, 2},
		{[]string{"validate", notBatch}, 2},
		{[]string{"validate", dir}, 2}, // a directory without batches
		{[]string{"validate", filepath.Join(dir, "B1234567890123_20250101_1")}, 1},
		{[]string{"validate", "--no-such-flag"}, 2},
	}
	for _, tc := range tests {
		code, _, errOut := runCommand(t, tc.args...)
		if code != tc.code {
			t.Errorf("ronghe %s: exit %d, want %d (%s)", strings.Join(tc.args, " "), code, tc.code, errOut)
		}
	}
}
