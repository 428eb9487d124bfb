package gen

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ronghe/ronghe/rrs"
)

// testConfig is a small region that still has everything: a month end
// (STAT), the Spring Festival week, cash pools, shells, a mule ring, an FX
// ring, accounts opened, closed and frozen during the period.
func testConfig(t testing.TB) Config {
	return Config{
		Seed:         7,
		Institutions: 3,
		Enterprises:  60,
		People:       600,
		Start:        rrs.Date{Y: 2025, M: 1, D: 10},
		Days:         40,
		Encoding:     rrs.UTF8,
		OutDir:       t.TempDir(),
	}
}

func generate(t testing.TB, cfg Config) *Summary {
	t.Helper()
	s, err := Generate(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return s
}

// hashTree hashes every file under dir (names and contents).
func hashTree(t testing.TB, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		h.Write([]byte(rel + "\x00"))
		h.Write(data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestDeterministic(t *testing.T) {
	a, b := testConfig(t), testConfig(t)
	a.Days, b.Days = 12, 12
	a.DefectRate, b.DefectRate = 0.01, 0.01
	generate(t, a)
	generate(t, b)
	if ha, hb := hashTree(t, a.OutDir), hashTree(t, b.OutDir); ha != hb {
		t.Fatalf("same config, different output: %s vs %s", ha, hb)
	}
	c := testConfig(t)
	c.Days, c.Seed = 12, 8
	generate(t, c)
	if hashTree(t, a.OutDir) == hashTree(t, c.OutDir) {
		t.Fatal("different seeds gave identical output")
	}
}

func TestCleanDataBreaksNoRule(t *testing.T) {
	cfg := testConfig(t)
	sum := generate(t, cfg)
	if sum.Batches != cfg.Institutions*cfg.Days || sum.Omitted != 0 || sum.Findings != 0 {
		t.Fatalf("summary %+v", sum)
	}
	batches := readBatches(t, cfg.OutDir, cfg.Encoding)
	if len(batches) != sum.Batches {
		t.Fatalf("%d batches on disk, summary says %d", len(batches), sum.Batches)
	}
	// Row counts agree with the summary.
	rows := map[rrs.Type]int64{}
	for _, b := range batches {
		for t, r := range b.files {
			if t != rrs.CTL {
				rows[t] += int64(len(r))
			}
		}
	}
	for _, ty := range []rrs.Type{rrs.ACCT, rrs.TXN, rrs.BAL, rrs.GL, rrs.STAT, rrs.FXP} {
		if rows[ty] != sum.Rows[ty] || rows[ty] == 0 {
			t.Errorf("%s: %d rows on disk, summary %d", ty, rows[ty], sum.Rows[ty])
		}
	}
	f := newRefChecker(t).checkAll(batches)
	for k, field := range f {
		t.Errorf("clean data: finding %s %s %s %s (%s)", k.Rule, k.Batch, k.Type, k.Key, field)
	}
	checkEconomy(t, batches)
	checkRegionFile(t, cfg)
}

// checkEconomy checks invariants beyond the rule book: every payment between
// two banks of the region appears at both ends (same amount, time and
// accounts), ordinary balances never go negative, txn_time grows with txn_seq,
// and the data has the variety the generator promises.
func checkEconomy(t *testing.T, batches []*rcBatch) {
	spec := rrs.Current()
	txn := spec.Record(rrs.TXN)
	ix := func(f string) int { return txn.Index(f) }
	type side struct{ from, to, amount, time string }
	for i := 0; i < len(batches); {
		j := i
		for j < len(batches) && batches[j].id.Date == batches[i].id.Date {
			j++
		}
		debits := map[side]int{}
		credits := map[side]int{}
		for _, b := range batches[i:j] {
			lastTime := map[string]string{}
			lastSeq := map[string]int64{}
			for _, r := range b.files[rrs.TXN] {
				v := r.v
				if bal, _ := amt(v[ix("balance")]); bal < 0 {
					t.Errorf("%s %s: negative balance %s", b.name, v[ix("txn_id")], v[ix("balance")])
				}
				acct := v[ix("acct_no")]
				seq, _ := rrs.ParseInt(v[ix("txn_seq")])
				if seq <= lastSeq[acct] || v[ix("txn_time")] < lastTime[acct] {
					t.Errorf("%s %s: seq/time out of order", b.name, v[ix("txn_id")])
				}
				lastSeq[acct], lastTime[acct] = seq, v[ix("txn_time")]
				cp := v[ix("cp_inst_code")]
				if cp == "" || cp == b.id.InstCode || len(v[ix("cp_acct_no")]) != 20 {
					continue
				}
				if v[ix("dc_flag")] == "D" {
					debits[side{acct, v[ix("cp_acct_no")], v[ix("amount")], v[ix("txn_time")]}]++
				} else {
					credits[side{v[ix("cp_acct_no")], acct, v[ix("amount")], v[ix("txn_time")]}]++
				}
			}
		}
		if len(debits) == 0 {
			t.Errorf("%s: no payments between banks", batches[i].id.Date)
		}
		for k, n := range debits {
			if credits[k] != n {
				t.Errorf("%s: payment %v has %d debits and %d credits", batches[i].id.Date, k, n, credits[k])
			}
		}
		for k, n := range credits {
			if debits[k] != n {
				t.Errorf("%s: payment %v has %d credits and %d debits", batches[i].id.Date, k, n, debits[k])
			}
		}
		i = j
	}
	// Variety: every purpose, account type and status appears somewhere.
	seen := map[string]bool{}
	acct := spec.Record(rrs.ACCT)
	for _, b := range batches {
		for _, r := range b.files[rrs.TXN] {
			seen["purpose:"+r.v[ix("purpose")]] = true
			seen["channel:"+r.v[ix("channel")]] = true
			seen["currency:"+r.v[ix("currency")]] = true
		}
		for _, r := range b.files[rrs.ACCT] {
			seen["type:"+r.v[acct.Index("acct_type")]] = true
			seen["status:"+r.v[acct.Index("status")]] = true
			seen["subject:"+r.v[acct.Index("subject_code")]] = true
		}
	}
	for _, want := range []string{"purpose:SAL", "purpose:TAX", "purpose:UTL", "purpose:GDS", "purpose:LON", "purpose:INT",
		"purpose:TRF", "purpose:CSH", "purpose:OTH", "type:1", "type:2", "type:3", "type:4", "type:9",
		"status:A", "status:F", "status:C", "subject:D01", "subject:D02", "subject:D03", "currency:CNY", "currency:USD"} {
		if !seen[want] {
			t.Errorf("no %s in the generated data", want)
		}
	}
}

func checkRegionFile(t *testing.T, cfg Config) {
	data, err := os.ReadFile(filepath.Join(cfg.OutDir, "region.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rf RegionFile
	if err := json.Unmarshal(data, &rf); err != nil {
		t.Fatal(err)
	}
	if len(rf.Institutions) != cfg.Institutions || len(rf.Enterprises) != cfg.Enterprises {
		t.Fatalf("region.json: %d institutions, %d enterprises", len(rf.Institutions), len(rf.Enterprises))
	}
	names := map[string]bool{}
	for _, in := range rf.Institutions {
		if !validInstCode(in.Code) || !rrs.ValidUSCC(in.USCC) {
			t.Errorf("institution %+v: invalid code", in)
		}
	}
	profiles := map[string]int{}
	accts := map[string]bool{}
	for _, e := range rf.Enterprises {
		if !rrs.ValidUSCC(e.USCC) || !strings.HasPrefix(e.USCC, "91") || names[e.Name] || names[e.USCC] {
			t.Errorf("enterprise %s %s: invalid or duplicate", e.USCC, e.Name)
		}
		names[e.Name], names[e.USCC] = true, true
		oc, _ := orgCodeCheckChar(e.USCC[8:16])
		if oc != e.USCC[16] {
			t.Errorf("%s: organisation code check char %c, want %c", e.USCC, e.USCC[16], oc)
		}
		profiles[e.Profile]++
		for _, a := range e.Accounts {
			if accts[a.AcctNo] || !luhnValid(a.AcctNo) {
				t.Errorf("account %s duplicate or bad check digit", a.AcctNo)
			}
			accts[a.AcctNo] = true
		}
	}
	for _, p := range []string{ProfileSteady, ProfileGrowing, ProfileDeclining, ProfileSeasonal, ProfileShell, ProfileMule} {
		if profiles[p] == 0 {
			t.Errorf("no %s enterprise in %v", p, profiles)
		}
	}
	// Labels.
	f, err := os.Open(filepath.Join(cfg.OutDir, "truth", "labels.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	kinds := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l Label
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		kinds[l.Kind]++
		if l.Kind == "fx_ring" {
			if len(l.Members) < 5 || len(l.Purchases) == 0 {
				t.Errorf("fx ring %s: %d members, %d purchases", l.Ring, len(l.Members), len(l.Purchases))
			}
			for _, m := range l.Members {
				if !rrs.ValidResidentID(m) {
					t.Errorf("fx ring member %s: invalid resident ID", m)
				}
			}
		}
	}
	for _, k := range []string{"enterprise", "shell_account", "mule_account", "fx_ring", "cash_pool"} {
		if kinds[k] == 0 {
			t.Errorf("no %s label", k)
		}
	}
}

// TestRoundTrip writes the same region as UTF-8 directories and as GB18030
// zips, reads both back through the rrs readers, and requires every value to
// be equal — and equal to what an independent CSV parser sees in the UTF-8
// files.
func TestRoundTrip(t *testing.T) {
	a := testConfig(t)
	a.Days = 10
	b := a
	b.OutDir, b.Encoding, b.Zip = t.TempDir(), rrs.GB18030, true
	generate(t, a)
	generate(t, b)
	ba := readBatches(t, a.OutDir, a.Encoding)
	bb := readBatches(t, b.OutDir, b.Encoding)
	if len(ba) != len(bb) || len(ba) == 0 {
		t.Fatalf("%d vs %d batches", len(ba), len(bb))
	}
	for i := range ba {
		if ba[i].name != bb[i].name {
			t.Fatalf("batch %d: %s vs %s", i, ba[i].name, bb[i].name)
		}
		for ty, rows := range ba[i].files {
			other := bb[i].files[ty]
			if len(other) != len(rows) {
				t.Fatalf("%s %s: %d vs %d rows", ba[i].name, ty, len(rows), len(other))
			}
			for k := range rows {
				if !slices.Equal(rows[k].v, other[k].v) {
					t.Fatalf("%s %s line %d: %q vs %q", ba[i].name, ty, rows[k].line, rows[k].v, other[k].v)
				}
			}
			// Independent parse of the UTF-8 file.
			data, err := os.ReadFile(filepath.Join(a.OutDir, ba[i].name, ty.FileName()))
			if err != nil {
				t.Fatal(err)
			}
			recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
			if err != nil {
				t.Fatalf("%s %s: %v", ba[i].name, ty, err)
			}
			rt := rrs.Current().Record(ty)
			if !slices.Equal(recs[0], rt.Names()) || len(recs)-1 != len(rows) {
				t.Fatalf("%s %s: header %v, %d records", ba[i].name, ty, recs[0], len(recs)-1)
			}
			for k := range rows {
				if !slices.Equal(recs[k+1], rows[k].v) {
					t.Fatalf("%s %s: encoding/csv %q, rrs %q", ba[i].name, ty, recs[k+1], rows[k].v)
				}
			}
		}
	}
	// The GB18030 files really are GB18030 (Chinese names differ in bytes).
	zips, _ := filepath.Glob(filepath.Join(b.OutDir, "*.zip"))
	if len(zips) != len(ba) {
		t.Fatalf("%d zips", len(zips))
	}
}

// readTruth reads truth/defects.jsonl.
func readTruth(t testing.TB, dir string) []Finding {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "truth", "defects.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var out []Finding
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		var f Finding
		if err := dec.Decode(&f); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}
