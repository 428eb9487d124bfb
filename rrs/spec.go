package rrs

import (
	"fmt"
	"strings"

	"github.com/ronghe/ronghe"
)

// Type names an RRS-1 record type; it is also the base name of the type's CSV
// file in a batch ("TXN" → TXN.csv).
type Type string

// The record types of RRS-1 §2.
const (
	ACCT Type = "ACCT" // account master
	TXN  Type = "TXN"  // account transaction flow
	BAL  Type = "BAL"  // daily account balance
	GL   Type = "GL"   // general-ledger subject balance
	STAT Type = "STAT" // statistical report figure (month-end only)
	FXP  Type = "FXP"  // individual foreign-exchange purchase
	CTL  Type = "CTL"  // control totals
)

// FileName returns the name of the type's CSV file in a batch, e.g. "TXN.csv".
func (t Type) FileName() string { return string(t) + ".csv" }

// Kind is the kind of a field's value. It decides the format check (rule L02)
// and which content rule (L03–L07) applies to a value.
type Kind int

// Field kinds. The zero value is not a valid kind so a forgotten Kind in a
// table is caught by the spec's self-check.
const (
	KindString     Kind = iota + 1 // free text, length bounds in characters
	KindDigits                     // ASCII digits only, length bounds
	KindEnum                       // one of Field.Codes (format = code list, rule L06)
	KindDate                       // YYYY-MM-DD, a real calendar date
	KindTime                       // HH:MM:SS, 00:00:00..23:59:59
	KindInt                        // decimal integer, optional '-', fits int64
	KindDecimal                    // decimal(18,2), see Amount
	KindPeriod                     // YYYY-MM
	KindCurrency                   // ISO 4217 alpha-3 (format L02, list L05)
	KindCountry                    // ISO 3166-1 alpha-2 (format L02, list L05)
	KindUSCC                       // unified social credit code, 18 chars (check L03)
	KindResidentID                 // resident identity number, 18 chars (check L04)
)

var kindNames = [...]string{
	KindString:     "string",
	KindDigits:     "digits",
	KindEnum:       "enum",
	KindDate:       "date",
	KindTime:       "time",
	KindInt:        "integer",
	KindDecimal:    "decimal(18,2)",
	KindPeriod:     "period",
	KindCurrency:   "currency",
	KindCountry:    "country",
	KindUSCC:       "uscc",
	KindResidentID: "resident_id",
}

// String returns the kind's name as used in docs and schemas ("date",
// "decimal(18,2)", ...).
func (k Kind) String() string {
	if k > 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Code is one entry of a field's code list, with its English and Chinese names
// so docs and reports can show either.
type Code struct {
	Value  string
	Name   string
	NameZH string
}

// Field is the definition of one column of an RRS-1 record type. It is the only
// place a field's format is declared: readers, rules, schemas and docs all derive
// from it.
type Field struct {
	// Name is the CSV header name.
	Name string
	// Kind is the kind of value the field holds.
	Kind Kind
	// MinLen and MaxLen bound the value's length in characters (runes);
	// 0 means unbounded. They apply to KindString and KindDigits; the other
	// kinds have fixed formats.
	MinLen, MaxLen int
	// Nullable is true when an empty value is allowed (rule L01).
	Nullable bool
	// Level is the data-security level per JR/T 0197-2020, 1 (lowest) … 5.
	Level int
	// PI is the personal-information category per JR/T 0171-2020 ("C2"), or ""
	// when the field is not personal information.
	PI string
	// Codes is the code list of a KindEnum field (rule L06).
	Codes []Code
	// Forbidden lists values that are well-formed members of the field's list
	// but not allowed here (FXP.currency: "CNY"); they fail the list rule.
	Forbidden []string
	// NonNegative and Positive are the range rules (L07) of numeric fields.
	NonNegative, Positive bool
	// Doc and DocZH describe the field in English and Chinese.
	Doc, DocZH string
}

// HasCode reports whether v is one of the field's listed codes.
func (f *Field) HasCode(v string) bool {
	for i := range f.Codes {
		if f.Codes[i].Value == v {
			return true
		}
	}
	return false
}

// TypeString returns the field's declared type the way RRS-1 writes it, e.g.
// "string(6..32), digits", "string(14)", "decimal(18,2) > 0".
func (f *Field) TypeString() string {
	var b strings.Builder
	switch f.Kind {
	case KindString, KindDigits:
		b.WriteString("string")
		switch {
		case f.MinLen == f.MaxLen && f.MaxLen > 0:
			fmt.Fprintf(&b, "(%d)", f.MaxLen)
		case f.MaxLen > 0:
			fmt.Fprintf(&b, "(%d..%d)", f.MinLen, f.MaxLen)
		case f.MinLen > 0:
			fmt.Fprintf(&b, "(%d..)", f.MinLen)
		}
		if f.Kind == KindDigits {
			b.WriteString(", digits")
		}
	case KindUSCC:
		b.WriteString("string(18), USCC")
	case KindResidentID:
		b.WriteString("string(18), resident ID")
	case KindCurrency:
		b.WriteString("ISO 4217 alpha-3")
	case KindCountry:
		b.WriteString("ISO 3166-1 alpha-2")
	case KindPeriod:
		b.WriteString("YYYY-MM")
	default:
		b.WriteString(f.Kind.String())
	}
	switch {
	case f.Positive:
		b.WriteString(" > 0")
	case f.NonNegative:
		b.WriteString(" ≥ 0")
	}
	for i, v := range f.Forbidden {
		if i == 0 {
			b.WriteString(", not ")
		} else {
			b.WriteString(", ")
		}
		b.WriteString(v)
	}
	return b.String()
}

// RecordType is the definition of one RRS-1 record type: its fields in
// canonical order, its key, and when its file appears in a batch.
type RecordType struct {
	// Type is the record type's name and file base name.
	Type Type
	// Title and TitleZH name the record type in English and Chinese.
	Title, TitleZH string
	// Fields are the columns in canonical order (the order a Writer emits and
	// a Reader returns values in).
	Fields []Field
	// Key names the fields that identify a row in findings (RRS-1 §3).
	Key []string
	// MonthEndOnly is true for types whose file appears only in the batch of
	// the last calendar day of a month, and there it is required (STAT).
	MonthEndOnly bool
	// Optional is true for types whose file may be absent from a batch (FXP,
	// present only when the institution sold foreign exchange to individuals).
	Optional bool
}

// Index returns the position of the named field in rt.Fields, or -1.
func (rt *RecordType) Index(field string) int {
	for i := range rt.Fields {
		if rt.Fields[i].Name == field {
			return i
		}
	}
	return -1
}

// Field returns the named field's definition, or nil if rt has no such field.
func (rt *RecordType) Field(name string) *Field {
	if i := rt.Index(name); i >= 0 {
		return &rt.Fields[i]
	}
	return nil
}

// Names returns the field names in canonical order, i.e. a CSV header.
func (rt *RecordType) Names() []string {
	names := make([]string, len(rt.Fields))
	for i := range rt.Fields {
		names[i] = rt.Fields[i].Name
	}
	return names
}

// KeyIndexes returns the positions of the key fields in rt.Fields.
func (rt *RecordType) KeyIndexes() []int {
	idx := make([]int, len(rt.Key))
	for i, k := range rt.Key {
		idx[i] = rt.Index(k)
	}
	return idx
}

// Spec is one version of the RRS-1 standard: the full list of record types.
type Spec struct {
	// Standard is the standard's name, "RRS-1".
	Standard string
	// Version is "major.minor"; a minor version only adds optional fields.
	Version string
	// Types lists the record types in the order RRS-1 presents them.
	Types []*RecordType
}

// Record returns the definition of record type t, or nil if the version has
// no such type.
func (s *Spec) Record(t Type) *RecordType {
	for _, rt := range s.Types {
		if rt.Type == t {
			return rt
		}
	}
	return nil
}

// ParseType returns the record type named by s ("TXN"), or an EINVALID error
// naming the types of this version.
func (s *Spec) ParseType(name string) (Type, error) {
	if rt := s.Record(Type(name)); rt != nil {
		return rt.Type, nil
	}
	names := make([]string, len(s.Types))
	for i, rt := range s.Types {
		names[i] = string(rt.Type)
	}
	return "", ronghe.Errorf(ronghe.EINVALID, "unknown %s record type %q (known: %s)", s.Standard, name, strings.Join(names, ", "))
}

// validate checks the internal consistency of a spec table. It is run once on
// every registered version, so a typo in a table fails at start-up (and in
// tests) rather than producing a wrong schema.
func (s *Spec) validate() error {
	seen := map[Type]bool{}
	for _, rt := range s.Types {
		if seen[rt.Type] {
			return fmt.Errorf("rrs %s: duplicate record type %s", s.Version, rt.Type)
		}
		seen[rt.Type] = true
		names := map[string]bool{}
		for i := range rt.Fields {
			f := &rt.Fields[i]
			if f.Name == "" || names[f.Name] {
				return fmt.Errorf("rrs %s: %s: empty or duplicate field %q", s.Version, rt.Type, f.Name)
			}
			names[f.Name] = true
			if f.Kind < KindString || f.Kind > KindResidentID {
				return fmt.Errorf("rrs %s: %s.%s: no kind", s.Version, rt.Type, f.Name)
			}
			if f.Level < 1 || f.Level > 5 {
				return fmt.Errorf("rrs %s: %s.%s: level %d outside 1..5", s.Version, rt.Type, f.Name, f.Level)
			}
			if (f.Kind == KindEnum) != (len(f.Codes) > 0) {
				return fmt.Errorf("rrs %s: %s.%s: codes only and always for enums", s.Version, rt.Type, f.Name)
			}
			if f.MaxLen > 0 && f.MinLen > f.MaxLen {
				return fmt.Errorf("rrs %s: %s.%s: MinLen > MaxLen", s.Version, rt.Type, f.Name)
			}
			if f.Doc == "" || f.DocZH == "" {
				return fmt.Errorf("rrs %s: %s.%s: missing doc", s.Version, rt.Type, f.Name)
			}
		}
		if len(rt.Key) == 0 {
			return fmt.Errorf("rrs %s: %s: no key", s.Version, rt.Type)
		}
		for _, k := range rt.Key {
			if !names[k] {
				return fmt.Errorf("rrs %s: %s: key field %q not defined", s.Version, rt.Type, k)
			}
		}
	}
	return nil
}
