package rules

import (
	"bytes"
	"embed"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/rrs"
)

// RuleSet is one version of the RRS-1 rule book as data: the rules with their
// IDs and severities, and for each rule the checks that find its breaches.
// It is read from YAML (rrs-1.0.yaml is the embedded default) so the operator
// can read, review and extend it; Load and Parse validate it against the
// RRS-1 field definitions of its version.
type RuleSet struct {
	// Standard is "RRS-1"; Version the RRS-1 version the rules are for.
	Standard string `yaml:"standard"`
	Version  string `yaml:"version"`
	// Doc describes the rule set.
	Doc string `yaml:"doc,omitempty"`
	// Views are named SQL queries the checks share, created in order before
	// the checks run; a materialized view is computed once per run.
	Views []View `yaml:"views,omitempty"`
	// Sequences declare the sequence built-in (see Sequence): per batch and
	// partition summaries computed while the data is staged.
	Sequences []Sequence `yaml:"sequences,omitempty"`
	// History declares what each batch contributes to the history that later
	// batches are checked against (C01, C05, C06, L08 across batches, T03).
	History []HistoryTable `yaml:"history,omitempty"`
	// Rules are the rules of the rule book.
	Rules []Rule `yaml:"rules"`

	spec *rrs.Spec
}

// View is a named SQL query over the staged data, usable by later views and
// by checks.
type View struct {
	Name string `yaml:"name"`
	Doc  string `yaml:"doc,omitempty"`
	SQL  string `yaml:"sql"`
	// Materialize computes the view once per run into a temporary table, for
	// views that several checks read.
	Materialize bool `yaml:"materialize,omitempty"`
}

// HistoryTable declares one kind of history: the columns a batch contributes
// and the SQL that computes them from the staged run. The engine keeps the
// contributions of the latest version of every institution's business date
// in table hist_<name>; a correction batch replaces the contributions of the
// batch it corrects. Checks read the history through view <name>_h, which
// also holds the contributions of the run's own batches (see the package
// documentation for its columns).
type HistoryTable struct {
	Name string `yaml:"name"`
	Doc  string `yaml:"doc,omitempty"`
	// Columns are "name TYPE" pairs in order; TYPE is a DuckDB type.
	Columns []string `yaml:"columns"`
	// SQL returns _batch and the columns, for the batches of the run.
	SQL string `yaml:"sql"`
}

// Rule is one rule of RRS-1 §3: an ID, a severity and the checks whose
// results are its findings.
type Rule struct {
	ID       string   `yaml:"id"`
	Severity Severity `yaml:"severity"`
	Title    string   `yaml:"title"`
	Checks   []Check  `yaml:"checks"`
}

// Check kinds.
const (
	// KindField is the built-in field check derived from the rrs field
	// definitions (rrs.Field.Check and CheckContent): it reports the issues
	// of the rule's ID (L01–L07) while the data is staged.
	KindField = "field"
	// KindRow is a condition on one row of a record type (SQL, alias r for
	// the row, b for its batch, plus the check's joins). All row checks of a
	// record type run in one pass.
	KindRow = "row"
	// KindUnique reports keys that occur in more than one row of a batch.
	KindUnique = "unique"
	// KindQuery is an SQL query returning findings: columns batch, type,
	// key, field and optionally message.
	KindQuery = "query"
	// KindSample is single-record sampling (P01): its parameters are data
	// here, the draw and the bound are Sample and SamplingBound, and the
	// server runs it after acceptance; CheckBatch does not.
	KindSample = "sample"
)

// Check is one way a rule is checked.
type Check struct {
	Kind string `yaml:"kind"`
	// Type is the record type a row or unique check reads.
	Type rrs.Type `yaml:"type,omitempty"`
	// Field is the field a row check names in its findings.
	Field string `yaml:"field,omitempty"`
	// When is a row check's SQL condition; a row is a finding when it is
	// true (NULL, e.g. from a value that failed L01/L02, is not a finding).
	When string `yaml:"when,omitempty"`
	// Join lists SQL join clauses a row check needs (e.g. "LEFT JOIN acct1 a
	// ON a._batch = r._batch AND a.acct_no = r.acct_no"). Equal clauses of
	// row checks of the same record type are joined once.
	Join []string `yaml:"join,omitempty"`
	// Key lists the key fields of a unique check (default: the record
	// type's key).
	Key []string `yaml:"key,omitempty"`
	// SQL is a query check's statement.
	SQL string `yaml:"sql,omitempty"`
	// Message is the finding's message (default: the rule's title).
	Message string `yaml:"message,omitempty"`
	// Doc explains the check to a reader of the rule set.
	Doc string `yaml:"doc,omitempty"`
	// Confidence and TolerableRate are a sample check's parameters: the
	// sample size is ⌈ln(1 − confidence) / ln(1 − tolerable rate)⌉ and a
	// batch passes when the Clopper–Pearson upper bound of its mismatch
	// rate at that confidence is at most the tolerable rate. They are
	// probabilities, not money.
	Confidence    float64 `yaml:"confidence,omitempty"`
	TolerableRate float64 `yaml:"tolerable_rate,omitempty"`
}

//go:embed rrs-*.yaml
var embedded embed.FS

// Versions returns the RRS-1 versions that have an embedded rule set.
func Versions() []string {
	ents, _ := embedded.ReadDir(".")
	var out []string
	for _, e := range ents {
		if v, ok := strings.CutPrefix(e.Name(), "rrs-"); ok {
			out = append(out, strings.TrimSuffix(v, ".yaml"))
		}
	}
	return out
}

// Load returns the embedded rule set of an RRS-1 version ("1.0"; "" means
// the current version). A version without a rule set is an EUNSUPPORTED
// error.
func Load(version string) (*RuleSet, error) {
	spec := rrs.Current()
	if version != "" {
		s, err := rrs.Lookup(version)
		if err != nil {
			return nil, err
		}
		spec = s
	}
	data, err := embedded.ReadFile("rrs-" + spec.Version + ".yaml")
	if err != nil {
		return nil, ronghe.Errorf(ronghe.EUNSUPPORTED, "no rule set for RRS-1 %s (rule sets: %s)", spec.Version, strings.Join(Versions(), ", "))
	}
	return Parse(data)
}

// Parse reads and validates a rule set in YAML. Unknown keys, a version
// rrs does not know, duplicate or malformed IDs and names, unknown check
// kinds, record types or fields are EINVALID errors that say where.
func Parse(data []byte) (*RuleSet, error) {
	if len(data) > maxRuleSetBytes {
		return nil, ronghe.Errorf(ronghe.ETOOLARGE, "rule set: larger than %d bytes", maxRuleSetBytes)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var rs RuleSet
	if err := dec.Decode(&rs); err != nil {
		return nil, ronghe.Errorf(ronghe.EINVALID, "rule set: %s", yamlMessage(err))
	}
	if err := rs.validate(); err != nil {
		return nil, err
	}
	return &rs, nil
}

// maxRuleSetBytes bounds a rule set file; the standard one is about 20 KiB.
const maxRuleSetBytes = 1 << 20

func yamlMessage(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, "yaml: ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

var (
	ruleIDPattern = regexp.MustCompile(`^[A-Z][0-9]{2}$`)
	namePattern   = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
	columnPattern = regexp.MustCompile(`^([a-z][a-z0-9_]{0,62}) +(VARCHAR|BIGINT|INTEGER|HUGEINT|DATE|BOOLEAN)$`)
)

// reserved are the relation names the engine provides; views and history
// tables may not take them.
func reservedNames(spec *rrs.Spec) map[string]bool {
	r := map[string]bool{"batches": true, "files": true}
	for _, rt := range spec.Types {
		r[relName(rt.Type)] = true
		r["s_"+relName(rt.Type)] = true
	}
	return r
}

// relName is the SQL relation of a record type: "TXN" → "txn".
func relName(t rrs.Type) string { return strings.ToLower(string(t)) }

func (rs *RuleSet) validate() error {
	bad := func(format string, args ...any) error {
		return ronghe.Errorf(ronghe.EINVALID, "rule set: "+format, args...)
	}
	if rs.Standard != "RRS-1" {
		return bad("standard must be RRS-1, not %q", clip(rs.Standard))
	}
	spec, err := rrs.Lookup(rs.Version)
	if err != nil || spec.Version != rs.Version {
		return bad("version %q is not an RRS-1 version (known: %s)", clip(rs.Version), strings.Join(rrs.Versions(), ", "))
	}
	rs.spec = spec
	names := reservedNames(spec)
	for i := range rs.Sequences {
		q := &rs.Sequences[i]
		if !namePattern.MatchString(q.Name) || names[q.Name] {
			return bad("sequence %d: name %q is malformed, reserved or used twice", i+1, clip(q.Name))
		}
		names[q.Name] = true
		if err := q.validate(spec); err != nil {
			return bad("sequence %s: %s", q.Name, err)
		}
	}
	for i, v := range rs.Views {
		if !namePattern.MatchString(v.Name) || names[v.Name] {
			return bad("view %d: name %q is malformed, reserved or used twice", i+1, clip(v.Name))
		}
		names[v.Name] = true
		if strings.TrimSpace(v.SQL) == "" {
			return bad("view %s: no sql", v.Name)
		}
	}
	for i, h := range rs.History {
		if !namePattern.MatchString(h.Name) || names[h.Name+"_h"] || names["hist_"+h.Name] {
			return bad("history %d: name %q is malformed or used twice", i+1, clip(h.Name))
		}
		names[h.Name+"_h"], names["hist_"+h.Name] = true, true
		if len(h.Columns) == 0 {
			return bad("history %s: no columns", h.Name)
		}
		seen := map[string]bool{"inst_code": true, "business_date": true, "seq": true, "batch": true,
			"_batch": true, "from_run": true, "latest": true}
		for _, c := range h.Columns {
			m := columnPattern.FindStringSubmatch(c)
			if m == nil || seen[m[1]] {
				return bad("history %s: column %q is not \"name TYPE\" with a new name and a type of VARCHAR, BIGINT, INTEGER, HUGEINT, DATE, BOOLEAN", h.Name, clip(c))
			}
			seen[m[1]] = true
		}
		if strings.TrimSpace(h.SQL) == "" {
			return bad("history %s: no sql", h.Name)
		}
	}
	if len(rs.Rules) == 0 {
		return bad("no rules")
	}
	ids := map[string]bool{}
	for i, r := range rs.Rules {
		if !ruleIDPattern.MatchString(r.ID) || ids[r.ID] {
			return bad("rule %d: ID %q is not a letter and two digits, or is used twice", i+1, clip(r.ID))
		}
		ids[r.ID] = true
		if r.Severity != Error && r.Severity != Warning {
			return bad("rule %s: severity must be E or W", r.ID)
		}
		if strings.TrimSpace(r.Title) == "" {
			return bad("rule %s: no title", r.ID)
		}
		if len(r.Checks) == 0 {
			return bad("rule %s: no checks", r.ID)
		}
		for j := range r.Checks {
			if err := rs.validateCheck(&r.Checks[j]); err != nil {
				return bad("rule %s check %d: %s", r.ID, j+1, err)
			}
		}
	}
	return nil
}

func (rs *RuleSet) validateCheck(c *Check) error {
	typeOf := func() (*rrs.RecordType, error) {
		rt := rs.spec.Record(c.Type)
		if rt == nil {
			return nil, fmt.Errorf("unknown record type %q", clip(string(c.Type)))
		}
		return rt, nil
	}
	unused := func(what string, set bool) error {
		if set {
			return fmt.Errorf("a %s check takes no %s", c.Kind, what)
		}
		return nil
	}
	var errs []error
	if c.Kind != KindSample && (c.Confidence != 0 || c.TolerableRate != 0) {
		return fmt.Errorf("only a sample check takes confidence and tolerable_rate")
	}
	switch c.Kind {
	case KindField:
		errs = append(errs, unused("type", c.Type != ""), unused("field", c.Field != ""), unused("when", c.When != ""),
			unused("join", len(c.Join) > 0), unused("key", len(c.Key) > 0), unused("sql", c.SQL != ""))
	case KindRow:
		rt, err := typeOf()
		if err != nil {
			return err
		}
		if c.Field != "" && rt.Field(c.Field) == nil {
			return fmt.Errorf("%s has no field %q", rt.Type, clip(c.Field))
		}
		if strings.TrimSpace(c.When) == "" {
			return fmt.Errorf("a row check needs when")
		}
		for _, j := range c.Join {
			if !strings.Contains(strings.ToUpper(j), "JOIN") {
				return fmt.Errorf("join %q is not a join clause", clip(j))
			}
		}
		errs = append(errs, unused("key", len(c.Key) > 0), unused("sql", c.SQL != ""))
	case KindUnique:
		rt, err := typeOf()
		if err != nil {
			return err
		}
		for _, k := range c.Key {
			if rt.Field(k) == nil {
				return fmt.Errorf("%s has no field %q", rt.Type, clip(k))
			}
		}
		if c.Field != "" && rt.Field(c.Field) == nil {
			return fmt.Errorf("%s has no field %q", rt.Type, clip(c.Field))
		}
		errs = append(errs, unused("when", c.When != ""), unused("join", len(c.Join) > 0), unused("sql", c.SQL != ""))
	case KindQuery:
		if strings.TrimSpace(c.SQL) == "" {
			return fmt.Errorf("a query check needs sql")
		}
		if c.Type != "" {
			if _, err := typeOf(); err != nil {
				return err
			}
		}
		errs = append(errs, unused("when", c.When != ""), unused("join", len(c.Join) > 0), unused("key", len(c.Key) > 0))
	case KindSample:
		if !(c.Confidence > 0 && c.Confidence < 1) || !(c.TolerableRate > 0 && c.TolerableRate < 1) {
			return fmt.Errorf("a sample check needs confidence and tolerable_rate strictly between 0 and 1")
		}
		errs = append(errs, unused("type", c.Type != ""), unused("field", c.Field != ""), unused("when", c.When != ""),
			unused("join", len(c.Join) > 0), unused("key", len(c.Key) > 0), unused("sql", c.SQL != ""))
	default:
		return fmt.Errorf("unknown kind %q (kinds: field, row, unique, query, sample)", clip(c.Kind))
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// Spec returns the RRS-1 version the rule set is for.
func (rs *RuleSet) Spec() *rrs.Spec { return rs.spec }

// Rule returns the rule with the given ID, or nil.
func (rs *RuleSet) Rule(id string) *Rule {
	for i := range rs.Rules {
		if rs.Rules[i].ID == id {
			return &rs.Rules[i]
		}
	}
	return nil
}

// IDs returns the rule IDs in rule-set order.
func (rs *RuleSet) IDs() []string {
	out := make([]string, len(rs.Rules))
	for i := range rs.Rules {
		out[i] = rs.Rules[i].ID
	}
	return out
}

// sqlTexts returns every piece of SQL in the rule set, for finding the
// columns it uses.
func (rs *RuleSet) sqlTexts() []string {
	var out []string
	for _, v := range rs.Views {
		out = append(out, v.SQL)
	}
	for _, h := range rs.History {
		out = append(out, h.SQL)
	}
	for _, r := range rs.Rules {
		for _, c := range r.Checks {
			out = append(out, c.When, c.SQL)
			out = append(out, c.Join...)
		}
	}
	return out
}

// usedFields returns, per record type, the positions of the fields the rule
// set's SQL may read, in definition order: every field whose name occurs as a
// word in any SQL text (a safe over-approximation), and always the key
// fields. Only these are staged for the SQL checks; the built-in field
// checks see every field.
func (rs *RuleSet) usedFields() map[rrs.Type][]int {
	words := map[string]bool{}
	for _, s := range rs.sqlTexts() {
		s = sqlLiteral.ReplaceAllString(s, "''") // 'txn_seq' AS field reads no column
		for _, w := range wordPattern.FindAllString(strings.ToLower(s), -1) {
			words[w] = true
		}
	}
	out := map[rrs.Type][]int{}
	for _, rt := range rs.spec.Types {
		keys := rt.KeyIndexes()
		var idx []int
		for i := range rt.Fields {
			if words[rt.Fields[i].Name] || slices.Contains(keys, i) {
				idx = append(idx, i)
			}
		}
		out[rt.Type] = idx
	}
	return out
}

var (
	wordPattern = regexp.MustCompile(`[a-z_][a-z0-9_]*`)
	sqlLiteral  = regexp.MustCompile(`'(?:[^']|'')*'`)
)

// clip shortens a value quoted in an error message.
func clip(s string) string {
	const max = 40
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	return string(r[:max]) + "…"
}
