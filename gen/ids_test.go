package gen

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/rrs"
)

func TestCheckCharacters(t *testing.T) {
	// GB 11714 check of the organisation code inside the published GB 32100
	// example 91350100M000100Y43.
	if c, err := orgCodeCheckChar("M000100Y"); err != nil || c != '4' {
		t.Errorf("orgCodeCheckChar(M000100Y) = %c, %v; want 4", c, err)
	}
	if u, err := makeUSCC("91", "350100", "M000100Y"); err != nil || u != "91350100M000100Y43" {
		t.Errorf("makeUSCC = %s, %v", u, err)
	}
	tests := []struct {
		body string
		want byte
	}{
		{"00000000", '0'}, // Σ = 0 → 11 → '0'
		{"D2143569", 'X'}, // the standard's example D2143569-X
	}
	for _, tc := range tests {
		if c, _ := orgCodeCheckChar(tc.body); c != tc.want {
			t.Errorf("orgCodeCheckChar(%s) = %c, want %c", tc.body, c, tc.want)
		}
	}
	if _, err := orgCodeCheckChar("1234567"); ronghe.ErrorCode(err) != ronghe.EINVALID {
		t.Errorf("short body: %v", err)
	}
	// GB 11643 example.
	if id, err := makeResidentID("110105", rrs.Date{Y: 1949, M: 12, D: 31}, 2); err != nil || id != "11010519491231002X" {
		t.Errorf("makeResidentID = %s, %v", id, err)
	}
	if !luhnValid("79927398713") || luhnValid("79927398710") {
		t.Error("luhn")
	}
	// Institution codes: MOD 37-36 catches every single-character error.
	r := deriveRNG(1, 99)
	for i := 0; i < 200; i++ {
		code := makeInstCode(1+r.intn(5), regionDivisions[r.intn(len(regionDivisions))].Code, r.intn(10000))
		if len(code) != rrs.InstCodeLen || !validInstCode(code) {
			t.Fatalf("bad institution code %s", code)
		}
		if _, err := rrs.ParseBatchID(code + "_20250101_1"); err != nil {
			t.Fatalf("%s: %v", code, err)
		}
		pos := 1 + r.intn(12)
		b := []byte(code)
		b[pos] = instAlphabet[(strings.IndexByte(instAlphabet, b[pos])+1+r.intn(35))%36]
		if validInstCode(string(b)) {
			t.Fatalf("single error in %s not detected: %s", code, b)
		}
	}
}

func TestGeneratedIdentifiers(t *testing.T) {
	g, err := buildRegion(mustValidate(t, testConfig(t)))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i := int32(0); i < int32(g.cfg.People); i++ {
		p := g.personAt(i)
		if !rrs.ValidResidentID(p.id) || seen[p.id] {
			t.Fatalf("person %d: invalid or duplicate ID %s", i, p.id)
		}
		seen[p.id] = true
		birth, _ := rrs.ResidentIDBirthDate(p.id)
		if age := g.cfg.Start.Y - birth.Y; age < peopleAgeMin-1 || age > peopleAgeMax+1 {
			t.Errorf("person %s aged %d", p.id, age)
		}
		if n := len([]rune(p.name)); n < 2 || n > 4 {
			t.Errorf("person name %q", p.name)
		}
	}
	for _, x := range g.ext {
		if x.uscc != "" && !rrs.ValidUSCC(x.uscc) {
			t.Errorf("outside party %s: invalid USCC %s", x.name, x.uscc)
		}
	}
}

func mustValidate(t *testing.T, cfg Config) Config {
	t.Helper()
	c, err := cfg.validate()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConfigValidation(t *testing.T) {
	good := testConfig(t)
	tests := []struct {
		name string
		edit func(*Config)
		code string
	}{
		{"no institutions", func(c *Config) { c.Institutions = 0 }, ronghe.EINVALID},
		{"too many institutions", func(c *Config) { c.Institutions = 1000; c.Enterprises = 5000 }, ronghe.EINVALID},
		{"too few enterprises per bank", func(c *Config) { c.Enterprises = 11 }, ronghe.EINVALID},
		{"negative people", func(c *Config) { c.People = -1 }, ronghe.EINVALID},
		{"no days", func(c *Config) { c.Days = 0 }, ronghe.EINVALID},
		{"bad start", func(c *Config) { c.Start = rrs.Date{Y: 2025, M: 2, D: 30} }, ronghe.EINVALID},
		{"no outdir", func(c *Config) { c.OutDir = "" }, ronghe.EINVALID},
		{"rate above 1", func(c *Config) { c.DefectRate = 1.5 }, ronghe.EINVALID},
		{"unknown rule", func(c *Config) { c.DefectRules = []string{"P01"} }, ronghe.EINVALID},
		{"bad encoding", func(c *Config) { c.Encoding = "latin1" }, ronghe.EUNSUPPORTED},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.edit(&c)
			_, err := Generate(context.Background(), c)
			if got := ronghe.ErrorCode(err); got != tc.code {
				t.Fatalf("error %v (code %q), want code %q", err, got, tc.code)
			}
		})
	}
	c, err := good.validate()
	if err != nil || c.Encoding != rrs.UTF8 || len(c.DefectRules) != 0 {
		t.Fatalf("validate(good) = %+v, %v", c, err)
	}
	good.DefectRate = 0.1
	if c, _ := good.validate(); !slices.Equal(c.DefectRules, SupportedRules()) {
		t.Errorf("rate without rules selects %v", c.DefectRules)
	}
}

func TestProgressAndCancel(t *testing.T) {
	cfg := testConfig(t)
	cfg.Days = 5
	var calls, last int
	cfg.Progress = func(done, total int) {
		calls++
		if done != last+1 || total != cfg.Institutions*cfg.Days {
			t.Errorf("progress %d/%d after %d", done, total, last)
		}
		last = done
	}
	generate(t, cfg)
	if calls != cfg.Institutions*cfg.Days {
		t.Errorf("%d progress calls", calls)
	}
	if _, err := Generate(context.Background(), cfg); ronghe.ErrorCode(err) != ronghe.ECONFLICT {
		t.Errorf("second run into the same directory: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cfg.OutDir, cfg.Progress = t.TempDir(), nil
	if _, err := Generate(ctx, cfg); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}

func TestParseRules(t *testing.T) {
	got, err := ParseRules(" t01, c03,L03,,C03 ")
	if err != nil || !slices.Equal(got, []string{"L03", "C03", "T01"}) {
		t.Errorf("ParseRules = %v, %v", got, err)
	}
	if got, _ := ParseRules("all"); !slices.Equal(got, SupportedRules()) {
		t.Errorf("all = %v", got)
	}
	if _, err := ParseRules("L03,P01"); ronghe.ErrorCode(err) != ronghe.EINVALID {
		t.Errorf("P01: %v", err)
	}
}

func FuzzParseRules(f *testing.F) {
	for _, s := range []string{"", "L01", "l01, c05", "all", "*,T03", "X99", ",,,", "L01,,L01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rules, err := ParseRules(s)
		if err != nil {
			if ronghe.ErrorCode(err) != ronghe.EINVALID {
				t.Fatalf("error code %q", ronghe.ErrorCode(err))
			}
			return
		}
		if !slices.IsSortedFunc(rules, func(a, b string) int {
			return slices.Index(supportedRules, a) - slices.Index(supportedRules, b)
		}) || len(slices.Compact(slices.Clone(rules))) != len(rules) {
			t.Fatalf("not sorted and unique: %v", rules)
		}
		for _, r := range rules {
			if !slices.Contains(supportedRules, r) {
				t.Fatalf("unsupported %s", r)
			}
		}
		again, err := ParseRules(strings.Join(rules, ","))
		if err != nil || !slices.Equal(again, rules) {
			t.Fatalf("round trip %v → %v, %v", rules, again, err)
		}
	})
}
