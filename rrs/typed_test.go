package rrs

import (
	"testing"
)

func TestFieldParse(t *testing.T) {
	txn, stat := V1_0.Record(TXN), V1_0.Record(STAT)
	tests := []struct {
		f    *Field
		v    string
		want any
	}{
		{txn.Field("amount"), "12.3", Amount(1230)},
		{txn.Field("txn_date"), "2024-01-31", Date{2024, 1, 31}},
		{txn.Field("txn_time"), "09:05:01", Clock(9*3600 + 5*60 + 1)},
		{txn.Field("txn_seq"), "42", int64(42)},
		{stat.Field("period"), "2024-01", Period{2024, 1}},
		{txn.Field("currency"), "CNY", "CNY"},
		{txn.Field("remark"), "", nil},
	}
	for _, tc := range tests {
		got, err := tc.f.Parse(tc.v)
		if err != nil || got != tc.want {
			t.Errorf("%s.Parse(%q) = %#v, %v; want %#v", tc.f.Name, tc.v, got, err, tc.want)
		}
	}
	if _, err := txn.Field("amount").Parse("1.234"); err == nil {
		t.Error("bad amount parsed")
	}
	if _, err := txn.Field("amount").Parse(""); err == nil {
		t.Error("missing amount parsed")
	}
	if Clock(3723).String() != "01:02:03" {
		t.Error("Clock.String")
	}
	row := txnRow(1, "x", "")
	if a, ok := txn.Amount(row, "amount"); !ok || a != 123450 {
		t.Errorf("Amount = %v %v", a, ok)
	}
	if _, ok := txn.Amount(row, "txn_date"); ok {
		t.Error("Amount of a date field")
	}
	if d, ok := txn.Date(row, "txn_date"); !ok || d != (Date{2024, 1, 31}) {
		t.Errorf("Date = %v %v", d, ok)
	}
	if n, ok := txn.Int(row, "txn_seq"); !ok || n != 2 {
		t.Errorf("Int = %v %v", n, ok)
	}
	if _, ok := txn.Int(row, "nope"); ok {
		t.Error("Int of unknown field")
	}
}

// For every field, a value that passes Check parses to a typed value, and
// one that fails Check does not; typed values print back to a value that
// parses to the same thing.
func FuzzFieldCheck(f *testing.F) {
	for _, s := range []string{"", "1", "-0.05", "2024-02-29", "23:59:59", "2024-12", "CNY", "US", "D01",
		"91350100M000100Y43", "11010519491231002X", "字字字"} {
		f.Add(s, uint8(0))
	}
	var fields []*Field
	for _, rt := range V1_0.Types {
		for i := range rt.Fields {
			fields = append(fields, &rt.Fields[i])
		}
	}
	f.Fuzz(func(t *testing.T, v string, pick uint8) {
		fl := fields[int(pick)%len(fields)]
		checkErr := fl.Check(v)
		val, err := fl.Parse(v)
		if (checkErr == nil) != (err == nil) {
			t.Fatalf("%s: Check %v, Parse %v", fl.Name, checkErr, err)
		}
		if err != nil {
			if _, ok := err.(*Issue); !ok {
				t.Fatalf("Parse error %T", err)
			}
			return
		}
		_ = fl.Validate(v) // must not panic
		if s, ok := val.(interface{ String() string }); ok {
			again, err := fl.Parse(s.String())
			if err != nil || again != val {
				t.Fatalf("%s: %q → %v → %q → %v, %v", fl.Name, v, val, s.String(), again, err)
			}
		}
	})
}

func FuzzParseDate(f *testing.F) {
	f.Add("2024-02-29")
	f.Add("1900-02-29")
	f.Add("9999-12-31")
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDate(s)
		if err != nil {
			return
		}
		if !d.Valid() || d.String() != s {
			t.Fatalf("%q → %v", s, d)
		}
		if n := d.EpochDays(); DateFromEpochDays(n) != d {
			t.Fatalf("%v → %d → %v", d, n, DateFromEpochDays(n))
		}
		if d.AddDays(1).DaysSince(d) != 1 || d.AddDays(-400).DaysSince(d) != -400 {
			t.Fatalf("day arithmetic around %v", d)
		}
	})
}
