package rrs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ronghe/ronghe"
)

// JSONSchemaDialect is the JSON Schema dialect of the published schemas.
const JSONSchemaDialect = "https://json-schema.org/draft/2020-12/schema"

// SchemaID returns the identifier of the JSON Schema of record type t in the
// given RRS-1 version, "urn:ronghe:schema:RRS-1:1.0:TXN". The HTTP layer serves
// the document at /schemas/RRS-1/<version>/<TYPE>.json.
func SchemaID(version string, t Type) string {
	return "urn:ronghe:schema:RRS-1:" + version + ":" + string(t)
}

// JSONSchema returns a JSON Schema (2020-12) describing one CSV row of the
// record type as a JSON object of strings, keyed by field name, in the given
// RRS-1 version. Every field is required (a CSV row has every column); a null
// is the empty string, allowed only for nullable fields. Formats become
// patterns, lengths minLength/maxLength (in characters, as in RRS-1), code
// lists and ISO code lists enums. Check characters (USCC, resident ID) and
// rules between fields cannot be expressed and are named in annotations.
// Platform annotations: x-kind, x-type (the RRS-1 type text), x-level
// (JR/T 0197), x-pi (JR/T 0171), x-nullable, x-check, x-codes on fields; x-standard, x-version, x-key,
// x-month-end-only and x-optional on the record type.
func (rt *RecordType) JSONSchema(version string) ([]byte, error) {
	if version == "" {
		return nil, ronghe.Errorf(ronghe.EINVALID, "JSON Schema of %s: empty version", rt.Type)
	}
	props := obj{}
	for i := range rt.Fields {
		props = append(props, kv{rt.Fields[i].Name, rt.Fields[i].jsonSchema()})
	}
	s := obj{
		{"$schema", JSONSchemaDialect},
		{"$id", SchemaID(version, rt.Type)},
		{"title", fmt.Sprintf("RRS-1 %s %s — %s (%s)", version, rt.Type, rt.Title, rt.TitleZH)},
		{"description", "One row of " + rt.Type.FileName() + " as an object of strings keyed by field name; an empty string is a null."},
		{"type", "object"},
		{"properties", props},
		{"required", rt.Names()},
		{"additionalProperties", false},
		{"x-standard", "RRS-1"},
		{"x-version", version},
		{"x-key", rt.Key},
	}
	if rt.MonthEndOnly {
		s = append(s, kv{"x-month-end-only", true})
	}
	if rt.Optional {
		s = append(s, kv{"x-optional", true})
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return nil, ronghe.WrapError(ronghe.EINTERNAL, err, "encode JSON Schema of "+string(rt.Type))
	}
	return buf.Bytes(), nil
}

// JSONSchema returns the JSON Schema of record type t in this version, or an
// ENOTFOUND error if the version has no such type.
func (s *Spec) JSONSchema(t Type) ([]byte, error) {
	rt := s.Record(t)
	if rt == nil {
		return nil, ronghe.Errorf(ronghe.ENOTFOUND, "%s %s has no record type %q", s.Standard, s.Version, clip(string(t)))
	}
	return rt.JSONSchema(s.Version)
}

// controlFree matches text without the control characters L02 refuses. The
// characters are literal (JSON-escaped in the document), not regex \u
// escapes, which RE2-based validators do not support.
const controlFree = "^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\u009F]*$"

// pattern returns the pattern of the field's format (without null), or "".
// Patterns keep to the subset of ECMA-262 that RE2-based validators also
// support (no lookaround), so any 2020-12 validator can use them.
func (f *Field) pattern() string {
	switch f.Kind {
	case KindString:
		return controlFree
	case KindDigits:
		return fmt.Sprintf("^[0-9]{%d,%s}$", max(f.MinLen, 1), maxStr(f.MaxLen))
	case KindDate:
		return `^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$`
	case KindTime:
		return `^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$`
	case KindInt:
		if f.Positive || f.NonNegative {
			return `^[0-9]{1,18}$`
		}
		return `^-?[0-9]{1,18}$`
	case KindDecimal:
		if f.Positive || f.NonNegative {
			return `^[0-9]{1,16}(\.[0-9]{1,2})?$`
		}
		return `^-?[0-9]{1,16}(\.[0-9]{1,2})?$`
	case KindPeriod:
		return `^[0-9]{4}-(0[1-9]|1[0-2])$`
	case KindUSCC:
		return `^[0-9A-HJ-NPQRTUWXY]{18}$`
	case KindResidentID:
		return `^[0-9]{17}[0-9X]$`
	}
	return ""
}

func maxStr(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprint(n)
}

// enum returns the field's allowed values (without null), or nil.
func (f *Field) enum() []string {
	var vals []string
	switch f.Kind {
	case KindEnum:
		for _, c := range f.Codes {
			vals = append(vals, c.Value)
		}
	case KindCurrency:
		vals = Currencies()
	case KindCountry:
		vals = Countries()
	default:
		return nil
	}
	out := vals[:0]
	for _, v := range vals {
		forbidden := false
		for _, b := range f.Forbidden {
			forbidden = forbidden || v == b
		}
		if !forbidden {
			out = append(out, v)
		}
	}
	return out
}

func (f *Field) jsonSchema() obj {
	desc := f.Doc
	if f.DocZH != "" {
		desc += " / " + f.DocZH
	}
	s := obj{{"type", "string"}, {"description", desc}}
	if vals := f.enum(); vals != nil {
		if f.Nullable {
			vals = append([]string{""}, vals...)
		}
		s = append(s, kv{"enum", vals})
	} else {
		if p := f.pattern(); p != "" {
			if f.Nullable && f.Kind != KindString {
				p = "^$|" + p
			}
			s = append(s, kv{"pattern", p})
		}
		if f.Positive && (f.Kind == KindInt || f.Kind == KindDecimal) {
			// > 0: no sign (the format) and at least one non-zero digit.
			nz := "[1-9]"
			if f.Nullable {
				nz = "^$|[1-9]"
			}
			s = append(s, kv{"allOf", []obj{{{"pattern", nz}}}})
		}
		minLen := 0 // a nullable field may be ""
		if !f.Nullable {
			minLen = 1
			if (f.Kind == KindString || f.Kind == KindDigits) && f.MinLen > 1 {
				minLen = f.MinLen
			}
		}
		if minLen > 0 {
			s = append(s, kv{"minLength", minLen})
		} else if f.Kind == KindString && f.MinLen > 1 {
			// Null, or at least MinLen characters.
			s = append(s, kv{"anyOf", []obj{{{"maxLength", 0}}, {{"minLength", f.MinLen}}}})
		}
		if f.MaxLen > 0 {
			s = append(s, kv{"maxLength", f.MaxLen})
		}
	}
	if f.Kind == KindDate {
		s = append(s, kv{"format", "date"})
	}
	s = append(s, kv{"x-kind", f.Kind.String()}, kv{"x-type", f.TypeString()}, kv{"x-level", f.Level})
	if f.PI != "" {
		s = append(s, kv{"x-pi", f.PI})
	}
	if f.Nullable {
		s = append(s, kv{"x-nullable", true})
	}
	switch f.Kind {
	case KindUSCC:
		s = append(s, kv{"x-check", "GB 32100-2015 check character (rule L03)"})
	case KindResidentID:
		s = append(s, kv{"x-check", "GB 11643-1999 ISO 7064 MOD 11-2 check character and a real birth date (rule L04)"})
	case KindDate:
		s = append(s, kv{"x-check", "a real calendar date (rule L02)"})
	}
	if len(f.Codes) > 0 {
		codes := make([]obj, len(f.Codes))
		for i, c := range f.Codes {
			codes[i] = obj{{"value", c.Value}, {"name", c.Name}, {"nameZH", c.NameZH}}
		}
		s = append(s, kv{"x-codes", codes})
	}
	return s
}

// kv and obj give JSON objects a fixed member order, so published schemas
// list fields in canonical order and are byte-for-byte reproducible.
type kv struct {
	k string
	v any
}

type obj []kv

// MarshalJSON encodes the members in order.
func (o obj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := marshalNoEscape(m.k)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		v, err := marshalNoEscape(m.v)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func marshalNoEscape(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// Markdown returns the spec's record types as Markdown: for each type a
// heading, its key and presence rule, a field table (type, null, level, PI,
// meaning) and its code lists. The project docs embed this output, so the
// docs cannot drift from the definitions.
func (s *Spec) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s %s record types\n\n", s.Standard, s.Version)
	b.WriteString("Generated from the definitions in package rrs; do not edit by hand.\n")
	b.WriteString("Level = data-security level per JR/T 0197-2020; PI = personal-information category per JR/T 0171-2020.\n")
	b.WriteString("Lengths count characters. An empty field is a null.\n")
	for _, rt := range s.Types {
		fmt.Fprintf(&b, "\n## %s — %s (%s)\n\n", rt.Type, rt.Title, rt.TitleZH)
		fmt.Fprintf(&b, "File `%s`; key `%s`", rt.Type.FileName(), strings.Join(rt.Key, "|"))
		switch {
		case rt.MonthEndOnly:
			b.WriteString("; only in the batch of the last calendar day of a month, and required there")
		case rt.Optional:
			b.WriteString("; optional")
		default:
			b.WriteString("; required in every batch")
		}
		b.WriteString(".\n\n| field | type | null | level | PI | meaning |\n|---|---|---|---|---|---|\n")
		for i := range rt.Fields {
			f := &rt.Fields[i]
			null := "no"
			if f.Nullable {
				null = "yes"
			}
			typ := f.TypeString()
			if f.Kind == KindEnum {
				codes := make([]string, len(f.Codes))
				for j, c := range f.Codes {
					codes[j] = "`" + c.Value + "`"
				}
				typ = "enum: " + strings.Join(codes, ", ")
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %d | %s | %s（%s） |\n",
				f.Name, mdEscape(typ), null, f.Level, f.PI, mdEscape(f.Doc), mdEscape(f.DocZH))
		}
		for i := range rt.Fields {
			f := &rt.Fields[i]
			if f.Kind != KindEnum {
				continue
			}
			fmt.Fprintf(&b, "\nCodes of `%s`:\n\n| code | meaning | 含义 |\n|---|---|---|\n", f.Name)
			for _, c := range f.Codes {
				fmt.Fprintf(&b, "| `%s` | %s | %s |\n", c.Value, mdEscape(c.Name), mdEscape(c.NameZH))
			}
		}
	}
	return b.String()
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
