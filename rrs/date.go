package rrs

import (
	"fmt"
	"time"
	_ "time/tzdata" // Asia/Shanghai must load on hosts without a zoneinfo database

	"github.com/ronghe/ronghe"
)

// Shanghai is the Asia/Shanghai time zone in which RRS-1 business dates are
// reckoned.
var Shanghai = mustLoad("Asia/Shanghai")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(fmt.Sprintf("rrs: load time zone %s: %v", name, err))
	}
	return loc
}

// Date is a civil calendar date without a time zone: a business date, an
// account's opening date. Its zero value is not a valid date.
type Date struct {
	Y int
	M time.Month
	D int
}

// DateOf returns the Asia/Shanghai calendar date of instant t.
func DateOf(t time.Time) Date {
	y, m, d := t.In(Shanghai).Date()
	return Date{y, m, d}
}

// ParseDate parses a "YYYY-MM-DD" date strictly: four-digit year 0001–9999,
// two-digit month and day, and a real calendar date (no 2023-02-29). Errors
// are EINVALID.
func ParseDate(s string) (Date, error) {
	d, ok := parseDate(s)
	if !ok {
		return Date{}, ronghe.Errorf(ronghe.EINVALID, "invalid date %q: want a real date as YYYY-MM-DD", clip(s))
	}
	return d, nil
}

func parseDate(s string) (Date, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return Date{}, false
	}
	y, ok1 := atoiN(s[0:4])
	m, ok2 := atoiN(s[5:7])
	d, ok3 := atoiN(s[8:10])
	if !ok1 || !ok2 || !ok3 {
		return Date{}, false
	}
	return mkDate(y, m, d)
}

// parseCompactDate parses "YYYYMMDD".
func parseCompactDate(s string) (Date, bool) {
	if len(s) != 8 {
		return Date{}, false
	}
	y, ok1 := atoiN(s[0:4])
	m, ok2 := atoiN(s[4:6])
	d, ok3 := atoiN(s[6:8])
	if !ok1 || !ok2 || !ok3 {
		return Date{}, false
	}
	return mkDate(y, m, d)
}

func mkDate(y, m, d int) (Date, bool) {
	if y < 1 || m < 1 || m > 12 || d < 1 || d > daysIn(time.Month(m), y) {
		return Date{}, false
	}
	return Date{y, time.Month(m), d}, true
}

// atoiN parses a short string of ASCII digits.
func atoiN(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(m time.Month, y int) int {
	switch m {
	case time.February:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// Valid reports whether d is a real calendar date with a four-digit year.
func (d Date) Valid() bool {
	_, ok := mkDate(d.Y, int(d.M), d.D)
	return ok && d.Y <= 9999
}

// String formats d as "YYYY-MM-DD".
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Y, int(d.M), d.D) }

// Compact formats d as "YYYYMMDD", the form used in batch names.
func (d Date) Compact() string { return fmt.Sprintf("%04d%02d%02d", d.Y, int(d.M), d.D) }

// AppendTo appends d as "YYYY-MM-DD" to dst without allocating.
func (d Date) AppendTo(dst []byte) []byte {
	y := d.Y
	return append(dst,
		byte('0'+y/1000%10), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+int(d.M)/10), byte('0'+int(d.M)%10), '-',
		byte('0'+d.D/10), byte('0'+d.D%10))
}

// Time returns midnight at the start of d in Asia/Shanghai.
func (d Date) Time() time.Time { return time.Date(d.Y, d.M, d.D, 0, 0, 0, 0, Shanghai) }

// AddDays returns the date n days after d (before it when n < 0).
func (d Date) AddDays(n int) Date {
	t := time.Date(d.Y, d.M, d.D+n, 12, 0, 0, 0, time.UTC)
	y, m, dd := t.Date()
	return Date{y, m, dd}
}

// Compare returns −1, 0 or +1 as d is before, equal to or after e.
func (d Date) Compare(e Date) int {
	switch {
	case d.Y != e.Y:
		return cmpInt(d.Y, e.Y)
	case d.M != e.M:
		return cmpInt(int(d.M), int(e.M))
	default:
		return cmpInt(d.D, e.D)
	}
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Before reports whether d is before e.
func (d Date) Before(e Date) bool { return d.Compare(e) < 0 }

// After reports whether d is after e.
func (d Date) After(e Date) bool { return d.Compare(e) > 0 }

// DaysSince returns the number of days from e to d (negative if d is earlier).
func (d Date) DaysSince(e Date) int { return d.dayNumber() - e.dayNumber() }

// dayNumber returns the days since 1970-01-01 of the proleptic Gregorian
// calendar (H. Hinnant's days_from_civil).
func (d Date) dayNumber() int {
	y, m := d.Y, int(d.M)
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d.D - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// IsMonthEnd reports whether d is the last calendar day of its month, the day
// whose batch carries STAT.csv.
func (d Date) IsMonthEnd() bool { return d.D == daysIn(d.M, d.Y) }

// Period returns the calendar month d falls in.
func (d Date) Period() Period { return Period{d.Y, d.M} }

// Period is a calendar month, the STAT reporting period ("YYYY-MM").
type Period struct {
	Y int
	M time.Month
}

// ParsePeriod parses "YYYY-MM" strictly; errors are EINVALID.
func ParsePeriod(s string) (Period, error) {
	p, ok := parsePeriod(s)
	if !ok {
		return Period{}, ronghe.Errorf(ronghe.EINVALID, "invalid period %q: want YYYY-MM", clip(s))
	}
	return p, nil
}

func parsePeriod(s string) (Period, bool) {
	if len(s) != 7 || s[4] != '-' {
		return Period{}, false
	}
	y, ok1 := atoiN(s[0:4])
	m, ok2 := atoiN(s[5:7])
	if !ok1 || !ok2 || y < 1 || m < 1 || m > 12 {
		return Period{}, false
	}
	return Period{y, time.Month(m)}, true
}

// String formats p as "YYYY-MM".
func (p Period) String() string { return fmt.Sprintf("%04d-%02d", p.Y, int(p.M)) }

// First returns the first day of the month.
func (p Period) First() Date { return Date{p.Y, p.M, 1} }

// Last returns the last day of the month.
func (p Period) Last() Date { return Date{p.Y, p.M, daysIn(p.M, p.Y)} }

// Days returns the number of days in the month.
func (p Period) Days() int { return daysIn(p.M, p.Y) }

// ParseTime checks an RRS-1 time "HH:MM:SS" (00:00:00–23:59:59) and returns
// the seconds since midnight; errors are EINVALID.
func ParseTime(s string) (int, error) {
	sec, ok := parseClock(s)
	if !ok {
		return 0, ronghe.Errorf(ronghe.EINVALID, "invalid time %q: want HH:MM:SS", clip(s))
	}
	return sec, nil
}

func parseClock(s string) (int, bool) {
	if len(s) != 8 || s[2] != ':' || s[5] != ':' {
		return 0, false
	}
	h, ok1 := atoiN(s[0:2])
	m, ok2 := atoiN(s[3:5])
	sec, ok3 := atoiN(s[6:8])
	if !ok1 || !ok2 || !ok3 || h > 23 || m > 59 || sec > 59 {
		return 0, false
	}
	return h*3600 + m*60 + sec, true
}

// EpochDays returns the number of days from 1970-01-01 to d, the encoding
// of dates in Arrow (date32) and Parquet.
func (d Date) EpochDays() int { return d.dayNumber() }

// DateFromEpochDays returns the date n days after 1970-01-01.
func DateFromEpochDays(n int) Date { return Date{1970, time.January, 1}.AddDays(n) }

// MarshalText encodes d as "YYYY-MM-DD".
func (d Date) MarshalText() ([]byte, error) {
	if !d.Valid() {
		return nil, ronghe.Errorf(ronghe.EINVALID, "invalid date %d-%d-%d", d.Y, int(d.M), d.D)
	}
	return d.AppendTo(nil), nil
}

// UnmarshalText parses "YYYY-MM-DD" strictly, as ParseDate does.
func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
