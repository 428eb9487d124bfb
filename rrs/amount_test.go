package rrs

import (
	"testing"

	"github.com/ronghe/ronghe"
)

func TestParseAmount(t *testing.T) {
	ok := []struct {
		in   string
		want Amount
		out  string
	}{
		{"0", 0, "0.00"},
		{"-0", 0, "0.00"},
		{"-0.00", 0, "0.00"},
		{"1", 100, "1.00"},
		{"1.5", 150, "1.50"},
		{"1234.50", 123450, "1234.50"},
		{"-0.05", -5, "-0.05"},
		{"0.1", 10, "0.10"},
		{"0.01", 1, "0.01"},
		{"007.10", 710, "7.10"},
		{"9999999999999999.99", MaxAmount, "9999999999999999.99"},
		{"-9999999999999999.99", MinAmount, "-9999999999999999.99"},
		{"1000000000000000", 100000000000000000, "1000000000000000.00"},
	}
	for _, tc := range ok {
		got, err := ParseAmount(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseAmount(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
			continue
		}
		if s := got.String(); s != tc.out {
			t.Errorf("Amount(%d).String() = %q, want %q", got, s, tc.out)
		}
	}
	bad := []string{
		"", "-", ".", "-.", ".5", "5.", "1.234", "0.001", "+1", "1e3", "1E3", " 1", "1 ",
		"1,000.00", "1_000", "١٢", "0x10", "--1", "1-", "1..2", "1.2.3", "NaN", "Inf",
		"10000000000000000", "99999999999999999.99", "1.2a", "-a", "１",
	}
	for _, s := range bad {
		if a, err := ParseAmount(s); err == nil {
			t.Errorf("ParseAmount(%q) = %d, want error", s, a)
		} else if ronghe.ErrorCode(err) != ronghe.EINVALID {
			t.Errorf("ParseAmount(%q) code %q", s, ronghe.ErrorCode(err))
		}
	}
}

func TestAmountString(t *testing.T) {
	for _, tc := range []struct {
		a    Amount
		want string
	}{
		{0, "0.00"}, {5, "0.05"}, {-5, "-0.05"}, {-100, "-1.00"}, {123456, "1234.56"},
		{-9223372036854775808, "-92233720368547758.08"},
	} {
		if got := tc.a.String(); got != tc.want {
			t.Errorf("Amount(%d).String() = %q, want %q", int64(tc.a), got, tc.want)
		}
	}
}

func TestAddAmount(t *testing.T) {
	if s, err := AddAmount(150, -200); err != nil || s != -50 {
		t.Errorf("AddAmount = %v, %v", s, err)
	}
	if _, err := AddAmount(MaxAmount, 1); err == nil {
		t.Error("MaxAmount+1 did not overflow")
	}
	if _, err := AddAmount(MinAmount, -1); err == nil {
		t.Error("MinAmount-1 did not overflow")
	}
	if s, err := AddAmount(MaxAmount, MinAmount); err != nil || s != 0 {
		t.Errorf("Max+Min = %v, %v", s, err)
	}
	if _, err := AddAmount(Amount(1<<62), 1); err == nil {
		t.Error("out-of-range operand accepted")
	}
	if d, err := Amount(100).Sub(250); err != nil || d != -150 {
		t.Errorf("Sub = %v, %v", d, err)
	}
	var sum Sum
	sum.Add(MaxAmount)
	sum.Add(1)
	sum.Add(-5)
	if _, err := sum.Total(); ronghe.ErrorCode(err) != ronghe.EINVALID {
		t.Error("overflowed Sum gave no error")
	}
	var s2 Sum
	for i := 0; i < 1000; i++ {
		s2.Add(1)
	}
	if tot, err := s2.Total(); err != nil || tot != 1000 {
		t.Errorf("Sum = %v, %v", tot, err)
	}
}

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"0", "-0.05", "1234.5", "9999999999999999.99", "1.234", "+1", "1e3", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAmount(s)
		if err != nil {
			return
		}
		if !a.Valid() {
			t.Fatalf("ParseAmount(%q) = %d outside decimal(18,2)", s, a)
		}
		b, err := ParseAmount(a.String())
		if err != nil || b != a {
			t.Fatalf("round trip %q → %q → %d, %v", s, a.String(), b, err)
		}
		if got := string(a.AppendTo(nil)); got != a.String() {
			t.Fatalf("AppendTo %q != String %q", got, a.String())
		}
	})
}

func BenchmarkParseAmount(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseAmount("1234567.89"); err != nil {
			b.Fatal(err)
		}
	}
}
