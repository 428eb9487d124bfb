package rrs

import (
	"strconv"

	"github.com/shopspring/decimal"

	"github.com/ronghe/ronghe"
)

// Amount is an exact money amount in cents: the platform's decimal(18,2). It is
// never converted to floating point; parse it with ParseAmount and print it
// with String.
type Amount int64

// MaxAmount and MinAmount bound decimal(18,2): sixteen integer digits and two
// fraction digits.
const (
	MaxAmount Amount = 999_999_999_999_999_999
	MinAmount Amount = -MaxAmount
)

// maxIntDigits is the number of integer digits decimal(18,2) allows.
const maxIntDigits = 16

// ParseAmount parses an RRS-1 amount strictly: an optional '-', one or more
// digits (at most 16), and optionally '.' followed by one or two digits. A '+'
// sign, exponent, spaces, thousands separators, a bare '.' and more than two
// fraction digits are all refused with an EINVALID error; "-0" is zero.
func ParseAmount(s string) (Amount, error) {
	a, msg := parseAmount(s)
	if msg != "" {
		return 0, ronghe.Errorf(ronghe.EINVALID, "invalid amount %q: %s", clip(s), msg)
	}
	return a, nil
}

// parseAmount does the work of ParseAmount without allocating; msg is "" on
// success and otherwise says what is wrong.
func parseAmount(s string) (Amount, string) {
	i := 0
	neg := false
	if i < len(s) && s[i] == '-' {
		neg = true
		i++
	}
	start := i
	var v int64
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		v = v*10 + int64(s[i]-'0')
		i++
		if i-start > maxIntDigits {
			return 0, "more than 16 integer digits"
		}
	}
	if i == start {
		if s == "" {
			return 0, "empty"
		}
		return 0, "want digits, optionally with '-' and up to 2 fraction digits after '.'"
	}
	v *= 100
	if i < len(s) {
		if s[i] != '.' {
			return 0, "want digits, optionally with '-' and up to 2 fraction digits after '.'"
		}
		i++
		n := len(s) - i
		if n == 0 {
			return 0, "no digits after '.'"
		}
		if n > 2 {
			for j := i; j < len(s); j++ {
				if s[j] < '0' || s[j] > '9' {
					return 0, "want digits, optionally with '-' and up to 2 fraction digits after '.'"
				}
			}
			return 0, "more than 2 fraction digits"
		}
		for j, mul := i, int64(10); j < len(s); j, mul = j+1, mul/10 {
			if s[j] < '0' || s[j] > '9' {
				return 0, "want digits, optionally with '-' and up to 2 fraction digits after '.'"
			}
			v += int64(s[j]-'0') * mul
		}
	}
	if neg {
		v = -v
	}
	return Amount(v), ""
}

// String formats the amount with exactly two fraction digits, e.g. "1234.50",
// "-0.05", "0.00".
func (a Amount) String() string {
	return string(a.AppendTo(make([]byte, 0, 24)))
}

// AppendTo appends the amount as String formats it to dst and returns the
// extended slice; it does not allocate when dst has room.
func (a Amount) AppendTo(dst []byte) []byte {
	u := uint64(a)
	if a < 0 {
		dst = append(dst, '-')
		u = uint64(-a) // two's complement also handles math.MinInt64
	}
	dst = strconv.AppendUint(dst, u/100, 10)
	c := u % 100
	return append(dst, '.', byte('0'+c/10), byte('0'+c%10))
}

// Valid reports whether a is within decimal(18,2).
func (a Amount) Valid() bool { return a >= MinAmount && a <= MaxAmount }

// Add returns a+b, or an EINVALID error when the sum leaves decimal(18,2).
func (a Amount) Add(b Amount) (Amount, error) { return AddAmount(a, b) }

// Sub returns a−b, or an EINVALID error when the difference leaves
// decimal(18,2).
func (a Amount) Sub(b Amount) (Amount, error) {
	if !b.Valid() {
		return 0, ronghe.Errorf(ronghe.EINVALID, "amount %s outside decimal(18,2)", b)
	}
	return AddAmount(a, -b)
}

// AddAmount returns a+b, or an EINVALID error when an operand or the sum
// leaves decimal(18,2). Both operands within range cannot overflow int64, so
// the check is exact.
func AddAmount(a, b Amount) (Amount, error) {
	if !a.Valid() || !b.Valid() {
		return 0, ronghe.Errorf(ronghe.EINVALID, "amount outside decimal(18,2)")
	}
	s := a + b
	if !s.Valid() {
		return 0, ronghe.Errorf(ronghe.EINVALID, "sum %s + %s exceeds decimal(18,2)", a, b)
	}
	return s, nil
}

// Sum is an overflow-checked running total of amounts, for control totals
// and balance checks: once it leaves decimal(18,2) it stays overflowed.
type Sum struct {
	total    Amount
	overflow bool
}

// Add adds a to the total.
func (s *Sum) Add(a Amount) {
	if s.overflow {
		return
	}
	t, err := AddAmount(s.total, a)
	if err != nil {
		s.overflow = true
		return
	}
	s.total = t
}

// Total returns the sum, or an EINVALID error if it left decimal(18,2).
func (s *Sum) Total() (Amount, error) {
	if s.overflow {
		return 0, ronghe.Errorf(ronghe.EINVALID, "sum exceeds decimal(18,2)")
	}
	return s.total, nil
}

// clip shortens a value quoted in an error message so a hostile input cannot
// blow up logs.
func clip(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	n := 0
	for i := range s {
		if n == max {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// MarshalText encodes the amount as String does, so JSON carries it as the
// exact string "1234.50" rather than a floating-point number.
func (a Amount) MarshalText() ([]byte, error) {
	if !a.Valid() {
		return nil, ronghe.Errorf(ronghe.EINVALID, "amount outside decimal(18,2)")
	}
	return a.AppendTo(nil), nil
}

// UnmarshalText parses the amount strictly, as ParseAmount does.
func (a *Amount) UnmarshalText(b []byte) error {
	v, err := ParseAmount(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// Decimal returns the amount as an exact shopspring decimal, for arithmetic
// beyond sums (averages, shares) that must stay exact until rounded.
func (a Amount) Decimal() decimal.Decimal { return decimal.New(int64(a), -2) }

// AmountFromDecimal converts an exact decimal to an Amount. It refuses, with
// EINVALID, a value with more than two fraction digits (round it first, with
// the rounding rule the caller is accountable for) or outside decimal(18,2).
func AmountFromDecimal(d decimal.Decimal) (Amount, error) {
	c := d.Shift(2)
	if !c.IsInteger() {
		return 0, ronghe.Errorf(ronghe.EINVALID, "%s has more than 2 fraction digits", d)
	}
	if c.GreaterThan(decimal.NewFromInt(int64(MaxAmount))) || c.LessThan(decimal.NewFromInt(int64(MinAmount))) {
		return 0, ronghe.Errorf(ronghe.EINVALID, "%s is outside decimal(18,2)", d)
	}
	return Amount(c.IntPart()), nil
}
