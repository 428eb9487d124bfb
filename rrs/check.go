package rrs

import (
	"strconv"
	"unicode/utf8"
)

// Field-level rule IDs of RRS-1 §3.1.
const (
	RuleMissing    = "L01" // a non-null field is empty
	RuleFormat     = "L02" // type, format or length
	RuleUSCC       = "L03" // GB 32100-2015 check
	RuleResidentID = "L04" // GB 11643-1999 check and birth date
	RuleISOCode    = "L05" // ISO 4217 / ISO 3166-1 membership, FXP.currency ≠ CNY
	RuleEnum       = "L06" // enumerated code list
	RuleRange      = "L07" // ranges (the static part: > 0, ≥ 0)
)

// Issue is one field failing one field-level rule. Its Reason never contains
// the value itself, because values can be personal information or
// security-level-3 data that must not reach logs.
type Issue struct {
	// Rule is the rule ID, "L01" … "L07".
	Rule string
	// Field is the field's name.
	Field string
	// Reason says, in English, what is wrong.
	Reason string
}

// Error formats the issue as "L02 txn_date: not a real date (YYYY-MM-DD)".
func (i *Issue) Error() string { return i.Rule + " " + i.Field + ": " + i.Reason }

func (f *Field) issue(rule, reason string) *Issue {
	return &Issue{Rule: rule, Field: f.Name, Reason: reason}
}

// Check applies the structural rules to one value, following RRS-1 §3.1's
// precedence: an empty value of a non-null field is an L01 issue; a value of
// the wrong type, format or length an L02 issue; otherwise nil. An empty value
// of a nullable field is a null and passes. Code lists, check characters and
// ranges (L03–L07) are left to CheckContent, which should only see values that
// passed Check. The returned error, when non-nil, is an *Issue.
func (f *Field) Check(v string) error {
	if is := f.check(v); is != nil {
		return is
	}
	return nil
}

// CheckContent applies the content rules that need only the value itself —
// L03 (USCC), L04 (resident ID), L05 (ISO codes, forbidden values), L06 (code
// lists) and the static part of L07 (> 0, ≥ 0) — to a value that passed Check.
// Rules that need other rows or the batch (dates against the business date,
// open_date ≤ close_date, currency against the account) belong to the rule
// engine. A null passes. The returned error, when non-nil, is an *Issue.
func (f *Field) CheckContent(v string) error {
	if is := f.checkContent(v); is != nil {
		return is
	}
	return nil
}

// Validate runs Check and then, if the value passed, CheckContent, so it
// returns at most one issue per value, of the rule that takes precedence.
func (f *Field) Validate(v string) error {
	if is := f.check(v); is != nil {
		return is
	}
	if is := f.checkContent(v); is != nil {
		return is
	}
	return nil
}

// CheckRow validates every value of a row given in rt.Fields order and returns
// the issues, at most one per field, in field order. A row of the wrong
// length yields a single L02 issue on field "#row".
func (rt *RecordType) CheckRow(values []string) []*Issue {
	if len(values) != len(rt.Fields) {
		return []*Issue{{Rule: RuleFormat, Field: "#row", Reason: "wrong number of fields"}}
	}
	var out []*Issue
	for i := range rt.Fields {
		f := &rt.Fields[i]
		if is := f.check(values[i]); is != nil {
			out = append(out, is)
		} else if is := f.checkContent(values[i]); is != nil {
			out = append(out, is)
		}
	}
	return out
}

func (f *Field) check(v string) *Issue {
	if v == "" {
		if f.Nullable {
			return nil
		}
		return f.issue(RuleMissing, "required value is empty")
	}
	switch f.Kind {
	case KindString:
		n, ok := textLen(v)
		if !ok {
			return f.issue(RuleFormat, "contains control characters or invalid UTF-8")
		}
		return f.checkLen(n)
	case KindDigits:
		for i := 0; i < len(v); i++ {
			if v[i] < '0' || v[i] > '9' {
				return f.issue(RuleFormat, "not all digits")
			}
		}
		return f.checkLen(len(v))
	case KindEnum:
		// An enum's only format is its code list: every non-empty value is
		// judged by L06, so "7" and "ABC" for acct_type get the same finding.
		return nil
	case KindDate:
		if _, ok := parseDate(v); !ok {
			return f.issue(RuleFormat, "not a real date (YYYY-MM-DD)")
		}
	case KindTime:
		if _, ok := parseClock(v); !ok {
			return f.issue(RuleFormat, "not a time (HH:MM:SS, 00:00:00-23:59:59)")
		}
	case KindInt:
		if _, ok := parseInt(v); !ok {
			return f.issue(RuleFormat, "not an integer")
		}
	case KindDecimal:
		if _, msg := parseAmount(v); msg != "" {
			return f.issue(RuleFormat, "not a decimal(18,2): "+msg)
		}
	case KindPeriod:
		if _, ok := parsePeriod(v); !ok {
			return f.issue(RuleFormat, "not a month (YYYY-MM)")
		}
	case KindCurrency:
		if !isLetters(v, 3) {
			return f.issue(RuleFormat, "not a three-letter currency code")
		}
	case KindCountry:
		if !isLetters(v, 2) {
			return f.issue(RuleFormat, "not a two-letter country code")
		}
	case KindUSCC, KindResidentID:
		if utf8.RuneCountInString(v) != 18 {
			return f.issue(RuleFormat, "length is not 18 characters")
		}
	}
	return nil
}

func (f *Field) checkLen(n int) *Issue {
	if n < f.MinLen || (f.MaxLen > 0 && n > f.MaxLen) {
		if f.MinLen == f.MaxLen {
			return f.issue(RuleFormat, "length is not "+itoa(f.MaxLen)+" characters")
		}
		if f.MaxLen == 0 {
			return f.issue(RuleFormat, "shorter than "+itoa(f.MinLen)+" characters")
		}
		return f.issue(RuleFormat, "length is outside "+itoa(f.MinLen)+".."+itoa(f.MaxLen)+" characters")
	}
	return nil
}

func (f *Field) checkContent(v string) *Issue {
	if v == "" {
		return nil
	}
	switch f.Kind {
	case KindUSCC:
		if !ValidUSCC(v) {
			return f.issue(RuleUSCC, "fails the GB 32100-2015 USCC check")
		}
	case KindResidentID:
		if !ValidResidentID(v) {
			return f.issue(RuleResidentID, "fails the GB 11643-1999 check or has no real birth date")
		}
	case KindCurrency:
		if !ValidCurrency(v) {
			return f.issue(RuleISOCode, "not an active ISO 4217 currency code")
		}
	case KindCountry:
		if !ValidCountry(v) {
			return f.issue(RuleISOCode, "not an ISO 3166-1 alpha-2 country code")
		}
	case KindEnum:
		if !f.HasCode(v) {
			return f.issue(RuleEnum, "not a listed code")
		}
	case KindDecimal:
		if f.Positive || f.NonNegative {
			a, _ := parseAmount(v)
			if is := f.checkSign(int64(a)); is != nil {
				return is
			}
		}
	case KindInt:
		if f.Positive || f.NonNegative {
			n, _ := parseInt(v)
			if is := f.checkSign(n); is != nil {
				return is
			}
		}
	}
	for _, bad := range f.Forbidden {
		if v == bad {
			rule := RuleRange
			if f.Kind == KindCurrency || f.Kind == KindCountry {
				rule = RuleISOCode
			} else if f.Kind == KindEnum {
				rule = RuleEnum
			}
			return f.issue(rule, bad+" is not allowed here")
		}
	}
	return nil
}

func (f *Field) checkSign(n int64) *Issue {
	if f.Positive && n <= 0 {
		return f.issue(RuleRange, "must be greater than 0")
	}
	if f.NonNegative && n < 0 {
		return f.issue(RuleRange, "must not be negative")
	}
	return nil
}

// textLen returns the number of characters of v and false if v is not valid
// UTF-8 or holds a control character other than tab, CR and LF (which may
// appear in quoted free text).
func textLen(v string) (int, bool) {
	n := 0
	for i := 0; i < len(v); {
		c := v[i]
		if c < utf8.RuneSelf {
			if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f {
				return 0, false
			}
			i++
			n++
			continue
		}
		r, size := utf8.DecodeRuneInString(v[i:])
		if r == utf8.RuneError && size == 1 || r >= 0x80 && r < 0xa0 {
			return 0, false
		}
		i += size
		n++
	}
	return n, true
}

// maxIntLen bounds an integer's digits so it always fits int64.
const maxIntLen = 18

// parseInt parses an RRS-1 integer: optional '-', 1..18 ASCII digits.
func parseInt(v string) (int64, bool) {
	s := v
	neg := false
	if len(s) > 0 && s[0] == '-' {
		neg, s = true, s[1:]
	}
	if len(s) == 0 || len(s) > maxIntLen {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// ParseInt parses an RRS-1 integer field value (optional '-', up to 18
// digits); ok is false when v is not one.
func ParseInt(v string) (n int64, ok bool) { return parseInt(v) }

func isLetters(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < n; i++ {
		c := s[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

func itoa(n int) string { return strconv.Itoa(n) }

// RowKey returns a row's key for findings (RRS-1 §3): the values of the key
// fields joined with "|" (BAL "acct_no|bal_date"), or "#" followed by the
// row's line number when a key value is missing or malformed (fails Check),
// or when values has the wrong length.
func (rt *RecordType) RowKey(values []string, line int) string {
	if len(values) != len(rt.Fields) {
		return "#" + itoa(line)
	}
	key := ""
	for n, name := range rt.Key {
		i := rt.Index(name)
		if i < 0 || rt.Fields[i].check(values[i]) != nil || values[i] == "" {
			return "#" + itoa(line)
		}
		if n > 0 {
			key += "|"
		}
		key += values[i]
	}
	return key
}
