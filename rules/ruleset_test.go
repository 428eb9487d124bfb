package rules

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/rrs"
)

func TestLoadCoversTheRuleBook(t *testing.T) {
	rs, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"L01", "L02", "L03", "L04", "L05", "L06", "L07", "L08", "L09", "L10",
		"S01", "S02", "S03", "C01", "C02", "C03", "C04", "C05", "C06", "T01", "T02", "T03", "P01"}
	if got := rs.IDs(); !slices.Equal(got, want) {
		t.Fatalf("rule IDs %v, want %v", got, want)
	}
	warnings := map[string]bool{"C05": true, "C06": true, "T03": true}
	for _, id := range want {
		sev := rs.Rule(id).Severity
		if (sev == Warning) != warnings[id] {
			t.Errorf("%s: severity %s", id, sev)
		}
	}
	if _, c, tol, ok := rs.SampleParams(); !ok || c != 0.95 || tol != 0.03 {
		t.Errorf("sample parameters %v %v %v", c, tol, ok)
	}
	if _, err := Load("9.9"); ronghe.ErrorCode(err) != ronghe.EUNSUPPORTED {
		t.Errorf("unknown version: %v", err)
	}
	if !slices.Contains(Versions(), "1.0") {
		t.Errorf("versions %v", Versions())
	}
}

// TestUsedFields: the staged columns are the key fields and the fields the
// SQL reads, never the free text only the built-in checks see.
func TestUsedFields(t *testing.T) {
	rs, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	used := rs.usedFields()
	names := func(typ rrs.Type) []string {
		rt := rs.Spec().Record(typ)
		var out []string
		for _, i := range used[typ] {
			out = append(out, rt.Fields[i].Name)
		}
		return out
	}
	txn := names(rrs.TXN)
	for _, f := range []string{"txn_id", "acct_no", "amount", "dc_flag", "cp_inst_code"} {
		if !slices.Contains(txn, f) {
			t.Errorf("TXN.%s not staged: %v", f, txn)
		}
	}
	for _, f := range []string{"remark", "cp_name", "purpose", "channel", "txn_time"} {
		if slices.Contains(txn, f) {
			t.Errorf("TXN.%s staged although no SQL reads it", f)
		}
	}
	if fxp := names(rrs.FXP); slices.Contains(fxp, "person_id") || slices.Contains(fxp, "person_name") {
		t.Errorf("personal information staged: %v", fxp)
	}
}

const minimalRuleSet = `standard: RRS-1
version: "1.0"
rules:
  - id: L01
    severity: E
    title: missing
    checks:
      - kind: field
`

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown key", minimalRuleSet + "extra: 1\n", "extra"},
		{"standard", strings.Replace(minimalRuleSet, "RRS-1", "RRS-2", 1), "standard"},
		{"version", strings.Replace(minimalRuleSet, `"1.0"`, `"7.3"`, 1), "version"},
		{"no rules", "standard: RRS-1\nversion: \"1.0\"\n", "no rules"},
		{"bad id", strings.Replace(minimalRuleSet, "L01", "L1", 1), "ID"},
		{"severity", strings.Replace(minimalRuleSet, "severity: E", "severity: X", 1), "severity"},
		{"no title", strings.Replace(minimalRuleSet, "title: missing", "title: ''", 1), "title"},
		{"kind", strings.Replace(minimalRuleSet, "kind: field", "kind: magic", 1), "unknown kind"},
		{"duplicate id", minimalRuleSet + "  - id: L01\n    severity: E\n    title: again\n    checks: [{kind: field}]\n", "used twice"},
		{"row type", minimalRuleSet + "  - id: X01\n    severity: E\n    title: t\n    checks: [{kind: row, type: NOPE, when: 'true'}]\n", "record type"},
		{"row field", minimalRuleSet + "  - id: X01\n    severity: E\n    title: t\n    checks: [{kind: row, type: TXN, field: nope, when: 'true'}]\n", "no field"},
		{"row when", minimalRuleSet + "  - id: X01\n    severity: E\n    title: t\n    checks: [{kind: row, type: TXN}]\n", "needs when"},
		{"row join", minimalRuleSet + "  - id: X01\n    severity: E\n    title: t\n    checks: [{kind: row, type: TXN, when: 'true', join: [acct]}]\n", "join"},
		{"unique key", minimalRuleSet + "  - id: X01\n    severity: E\n    title: t\n    checks: [{kind: unique, type: TXN, key: [nope]}]\n", "no field"},
		{"query sql", minimalRuleSet + "  - id: X01\n    severity: E\n    title: t\n    checks: [{kind: query}]\n", "needs sql"},
		{"field params", minimalRuleSet + "  - id: L02\n    severity: E\n    title: t\n    checks: [{kind: field, type: TXN}]\n", "takes no type"},
		{"sample", minimalRuleSet + "  - id: P01\n    severity: E\n    title: t\n    checks: [{kind: sample, confidence: 1.5, tolerable_rate: 0.03}]\n", "strictly between"},
		{"confidence elsewhere", minimalRuleSet + "  - id: X01\n    severity: E\n    title: t\n    checks: [{kind: query, sql: 'SELECT 1', confidence: 0.9}]\n", "only a sample"},
		{"view name", "standard: RRS-1\nversion: \"1.0\"\nviews: [{name: txn, sql: SELECT 1}]\n" + strings.SplitN(minimalRuleSet, "\n", 3)[2], "reserved"},
		{"history column", "standard: RRS-1\nversion: \"1.0\"\nhistory: [{name: h, columns: [x FLOAT], sql: SELECT 1}]\n" + strings.SplitN(minimalRuleSet, "\n", 3)[2], "column"},
		{"not yaml", "rules: [", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml))
			if err == nil {
				t.Fatal("accepted")
			}
			if ronghe.ErrorCode(err) != ronghe.EINVALID {
				t.Errorf("code %s: %v", ronghe.ErrorCode(err), err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

// TestNewRuleWithoutCode: a rule of a known kind is only YAML. A row check
// and a query check added to the standard rule set run and find what they
// should.
func TestNewRuleWithoutCode(t *testing.T) {
	data, err := embedded.ReadFile("rrs-1.0.yaml")
	if err != nil {
		t.Fatal(err)
	}
	extra := `
  - id: X01
    severity: W
    title: a large cash withdrawal
    checks:
      - {kind: row, type: TXN, field: amount, when: "r.dc_flag = 'D' AND r.amount >= 100000000", message: cash out of one million or more}
  - id: X02
    severity: W
    title: an account without transactions
    checks:
      - kind: query
        sql: |
          SELECT b.batch, 'ACCT' AS type, a._key AS key, NULL AS field
          FROM acct1 a JOIN batches b ON b._batch = a._batch
          WHERE NOT EXISTS (SELECT 1 FROM txn t WHERE t._batch = a._batch AND t.acct_no = a.acct_no)
`
	rs, err := Parse(append(data, extra...))
	if err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, Options{RuleSet: rs, OneShot: true})
	s := newSynthBatchWith(t, func(s *synthBatch) {
		s.set(rrs.TXN, 0, "amount", "1000000.00")
		s.set(rrs.TXN, 0, "dc_flag", "D")
	})
	got := s.check(t, e)
	var x01, x02 int
	for _, f := range got {
		switch f.Rule {
		case "X01":
			x01++
			if f.Key != s.get(rrs.TXN, 0, "txn_id") {
				t.Errorf("X01 on %v", f)
			}
		case "X02":
			x02++
		}
	}
	if x01 != 1 || x02 == 0 {
		t.Fatalf("X01 %d, X02 %d findings: %v", x01, x02, got)
	}
	// A rule whose SQL does not run is refused when the engine starts.
	bad, err := Parse(append(data, "\n  - id: X03\n    severity: W\n    title: broken\n    checks: [{kind: query, sql: SELECT nothing FROM nowhere}]\n"...))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(context.Background(), Options{RuleSet: bad}); ronghe.ErrorCode(err) != ronghe.EINVALID {
		t.Fatalf("broken SQL: %v", err)
	}
}

// newSynthBatchWith builds a synthetic batch with at least one TXN row and
// applies edit.
func newSynthBatchWith(t *testing.T, edit func(*synthBatch)) *synthBatch {
	t.Helper()
	for seed := uint64(1); seed < 100; seed++ {
		s := newSynthBatch(randFor(seed))
		if len(s.files[rrs.TXN]) > 0 {
			edit(s)
			return s
		}
	}
	t.Fatal("no synthetic batch with transactions")
	return nil
}

func FuzzParse(f *testing.F) {
	data, err := embedded.ReadFile("rrs-1.0.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte(minimalRuleSet))
	f.Add([]byte(minimalRuleSet + "  - id: X01\n    severity: W\n    title: t\n    checks: [{kind: row, type: TXN, field: amount, when: 'r.amount > 0'}]\n"))
	f.Add([]byte("standard: RRS-1\nversion: \"1.0\"\nviews: [{name: v, sql: SELECT 1, materialize: true}]\nhistory: [{name: h, columns: [a BIGINT], sql: SELECT 1}]\n" + strings.SplitN(minimalRuleSet, "\n", 3)[2]))
	f.Add([]byte("{}"))
	f.Add([]byte("rules: &a [*a]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rs, err := Parse(b)
		if err != nil {
			if ronghe.ErrorCode(err) != ronghe.EINVALID && ronghe.ErrorCode(err) != ronghe.ETOOLARGE {
				t.Fatalf("error code %s: %v", ronghe.ErrorCode(err), err)
			}
			return
		}
		// An accepted rule set is consistent and compiles.
		ids := map[string]bool{}
		for _, r := range rs.Rules {
			if ids[r.ID] || (r.Severity != Error && r.Severity != Warning) || len(r.Checks) == 0 {
				t.Fatalf("accepted an inconsistent rule %+v", r)
			}
			ids[r.ID] = true
		}
		if rs.Spec() == nil {
			t.Fatal("no spec")
		}
		if p, err := compile(rs); err == nil && len(p.tables) != len(rs.Spec().Types) {
			t.Fatal("compiled without every record type")
		}
	})
}

func TestUsedFieldsIgnoresLiterals(t *testing.T) {
	rs, err := Parse([]byte(minimalRuleSet + "  - id: X01\n    severity: W\n    title: t\n    checks: [{kind: query, sql: \"SELECT b.batch, 'TXN' AS type, 'remark' AS key, 'cp_name' AS field FROM batches b\"}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	rt := rs.Spec().Record(rrs.TXN)
	for _, i := range rs.usedFields()[rrs.TXN] {
		if n := rt.Fields[i].Name; n == "remark" || n == "cp_name" {
			t.Errorf("%s staged for a string literal", n)
		}
	}
}
