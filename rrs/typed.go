package rrs

import (
	"fmt"
)

// Clock is a time of day in seconds after midnight, the typed form of an
// RRS-1 time "HH:MM:SS".
type Clock int32

// String formats the clock as "HH:MM:SS".
func (c Clock) String() string { return fmt.Sprintf("%02d:%02d:%02d", c/3600, c/60%60, c%60) }

// Parse returns the typed value of v for this field: nil for a null, Amount
// for decimals, Date for dates, Clock for times, int64 for integers, Period
// for periods, and the string itself for every other kind. It returns the
// field's L01/L02 *Issue when v does not pass Check; content rules (L03–L07)
// are not applied.
func (f *Field) Parse(v string) (any, error) {
	if err := f.Check(v); err != nil {
		return nil, err
	}
	if v == "" {
		return nil, nil
	}
	switch f.Kind {
	case KindDecimal:
		a, _ := parseAmount(v)
		return a, nil
	case KindDate:
		d, _ := parseDate(v)
		return d, nil
	case KindTime:
		s, _ := parseClock(v)
		return Clock(s), nil
	case KindInt:
		n, _ := parseInt(v)
		return n, nil
	case KindPeriod:
		p, _ := parsePeriod(v)
		return p, nil
	}
	return v, nil
}

// Amount returns the value of the named decimal field of a row given in
// rt.Fields order; ok is false when the field is not a decimal of rt, or the
// value is null or malformed.
func (rt *RecordType) Amount(values []string, field string) (a Amount, ok bool) {
	i := rt.Index(field)
	if i < 0 || i >= len(values) || rt.Fields[i].Kind != KindDecimal || values[i] == "" {
		return 0, false
	}
	a, msg := parseAmount(values[i])
	return a, msg == ""
}

// Date returns the value of the named date field of a row given in
// rt.Fields order; ok is false when the field is not a date of rt, or the
// value is null or malformed.
func (rt *RecordType) Date(values []string, field string) (d Date, ok bool) {
	i := rt.Index(field)
	if i < 0 || i >= len(values) || rt.Fields[i].Kind != KindDate {
		return Date{}, false
	}
	return parseDate(values[i])
}

// Int returns the value of the named integer field of a row given in
// rt.Fields order; ok is false when the field is not an integer of rt, or
// the value is null or malformed.
func (rt *RecordType) Int(values []string, field string) (n int64, ok bool) {
	i := rt.Index(field)
	if i < 0 || i >= len(values) || rt.Fields[i].Kind != KindInt {
		return 0, false
	}
	return parseInt(values[i])
}
