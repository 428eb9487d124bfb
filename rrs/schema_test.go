package rrs

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

func compileSchema(t *testing.T, rt *RecordType) *jsonschema.Schema {
	t.Helper()
	doc, err := rt.JSONSchema("1.0")
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("%s schema is not JSON: %v", rt.Type, err)
	}
	c := jsonschema.NewCompiler()
	url := SchemaID("1.0", rt.Type)
	if err := c.AddResource(url, v); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(url) // also validates against the 2020-12 meta-schema
	if err != nil {
		t.Fatalf("%s schema does not compile: %v", rt.Type, err)
	}
	return sch
}

func rowObject(rt *RecordType, values []string) any {
	m := map[string]any{}
	for i := range rt.Fields {
		m[rt.Fields[i].Name] = values[i]
	}
	return m
}

// sampleValues gives, for each kind, values valid and invalid under L01–L07.
var sampleValues = map[Kind][]string{
	KindString:     {"x", "福州某某公司", "a,b", strings.Repeat("字", 14), strings.Repeat("a", 201), "bell\a", "line\nbreak"},
	KindDigits:     {"123456", "12345", "12345a", strings.Repeat("9", 32), strings.Repeat("9", 33)},
	KindDate:       {"2024-01-31", "2024-1-31", "2024/01/31", "2024-13-01"},
	KindTime:       {"00:00:00", "23:59:59", "24:00:00", "9:00:00"},
	KindInt:        {"0", "1", "-1", "1.0", "+1", "007", "1234567890123456789", "000"},
	KindDecimal:    {"0", "0.00", "0.01", "-0.01", "1.5", "1.234", "1e3", "9999999999999999.99", "10000000000000000", "00.00"},
	KindPeriod:     {"2024-01", "2024-13", "2024-1"},
	KindCurrency:   {"CNY", "USD", "XYZ", "cny", "CN"},
	KindCountry:    {"CN", "US", "XK", "cn", "CHN"},
	KindUSCC:       {"91350100M000100Y43", "91350100M000100Y4", "91350100I000100Y43"},
	KindResidentID: {"11010519491231002X", "1101051949123100", "1101051949123100AX"},
	KindEnum:       {"D", "C", "A", "1", "01", "D01", "TRV", "SAL", "TXN", "zz"},
}

// The schema never refuses a value the field checks accept, and refuses
// every value the field checks refuse for reasons a schema can express
// (everything but check characters and calendar validity).
func TestJSONSchemaAgreesWithChecks(t *testing.T) {
	for _, rt := range V1_0.Types {
		sch := compileSchema(t, rt)
		base := make([]string, len(rt.Fields))
		for i := range rt.Fields {
			for _, v := range append(sampleValues[rt.Fields[i].Kind], "") {
				if rt.Fields[i].Validate(v) == nil {
					base[i] = v
					break
				}
			}
			if rt.Fields[i].Validate(base[i]) != nil {
				t.Fatalf("%s.%s: no valid sample", rt.Type, rt.Fields[i].Name)
			}
		}
		if err := sch.Validate(rowObject(rt, base)); err != nil {
			t.Fatalf("%s: valid row refused: %v", rt.Type, err)
		}
		for i := range rt.Fields {
			f := &rt.Fields[i]
			for _, v := range append(sampleValues[f.Kind], "") {
				row := append([]string(nil), base...)
				row[i] = v
				schemaOK := sch.Validate(rowObject(rt, row)) == nil
				checkErr := f.Validate(v)
				expressible := checkErr == nil
				if is, ok := checkErr.(*Issue); ok {
					expressible = is.Rule != RuleUSCC && is.Rule != RuleResidentID &&
						!(f.Kind == KindDate && is.Rule == RuleFormat && len(v) == 10 && v[4] == '-' && v[7] == '-')
				}
				if checkErr == nil && !schemaOK {
					t.Errorf("%s.%s=%q: checks accept, schema refuses", rt.Type, f.Name, v)
				}
				if checkErr != nil && expressible && schemaOK {
					t.Errorf("%s.%s=%q: checks refuse (%v), schema accepts", rt.Type, f.Name, v, checkErr)
				}
			}
		}
		// Unknown and missing properties are refused.
		m := rowObject(rt, base).(map[string]any)
		m["extra"] = "x"
		if sch.Validate(m) == nil {
			t.Errorf("%s: extra property accepted", rt.Type)
		}
		delete(m, "extra")
		delete(m, rt.Fields[0].Name)
		if sch.Validate(m) == nil {
			t.Errorf("%s: missing property accepted", rt.Type)
		}
	}
}

func TestJSONSchemaAnnotations(t *testing.T) {
	doc, err := V1_0.JSONSchema(FXP)
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		ID         string   `json:"$id"`
		Key        []string `json:"x-key"`
		Version    string   `json:"x-version"`
		Optional   bool     `json:"x-optional"`
		Properties map[string]struct {
			Level int      `json:"x-level"`
			PI    string   `json:"x-pi"`
			Enum  []string `json:"enum"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(doc, &s); err != nil {
		t.Fatal(err)
	}
	if s.ID != "urn:ronghe:schema:RRS-1:1.0:FXP" || s.Version != "1.0" || !s.Optional || strings.Join(s.Key, ",") != "txn_id" {
		t.Errorf("schema header %+v", s)
	}
	if p := s.Properties["person_id"]; p.PI != "C2" || p.Level != 3 {
		t.Errorf("person_id %+v", p)
	}
	for _, c := range s.Properties["currency"].Enum {
		if c == "CNY" {
			t.Error("FXP.currency enum contains CNY")
		}
	}
	// Properties are in canonical field order.
	if i, j := bytes.Index(doc, []byte(`"inst_code"`)), bytes.Index(doc, []byte(`"bene_country"`)); i < 0 || j < i {
		t.Error("properties not in field order")
	}
	again, _ := V1_0.JSONSchema(FXP)
	if !bytes.Equal(doc, again) {
		t.Error("schema output not reproducible")
	}
	if _, err := V1_0.JSONSchema("NOPE"); err == nil {
		t.Error("unknown type accepted")
	}
}

// The generated docs are checked in under testdata; a change in the
// definitions must be reflected there (run with -update to rewrite).
func TestMarkdownGolden(t *testing.T) {
	md := V1_0.Markdown()
	for _, want := range []string{
		"## TXN — Account transaction flow (企业收支流水)",
		"| amount | decimal(18,2) > 0 | no | 3 |  | transaction amount（交易金额） |",
		"| person_id | string(18), resident ID | no | 3 | C2 |",
		"| acct_type | enum: `1`, `2`, `3`, `4`, `9` | no | 2 |",
		"only in the batch of the last calendar day of a month",
		"| `SAL` | payroll | 代发工资 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q", want)
		}
	}
	golden := "testdata/rrs-1.0.md"
	if os.Getenv("RRS_UPDATE_GOLDEN") != "" {
		os.WriteFile(golden, []byte(md), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (set RRS_UPDATE_GOLDEN=1 to create it)", err)
	}
	if string(want) != md {
		t.Errorf("%s is stale; rerun with RRS_UPDATE_GOLDEN=1 and review the diff", golden)
	}
}
