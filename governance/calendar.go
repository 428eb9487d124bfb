package governance

import (
	"time"

	"github.com/ronghe/ronghe/rrs"
)

// Calendar tells business days from weekends and public holidays in
// Asia/Shanghai, for rectification and sampling deadlines.
//
// The official schedules the State Council publishes each year (国务院办公厅
// 关于部分节假日安排的通知), with their make-up working days (调休), are built
// in for the years in officialYears. For any other year the calendar falls
// back to the fixed rules the synthetic region uses (gen/calendar.go): New
// Year's Day, the Spring Festival from its eve to the sixth day, Labour Day
// (1–5 May) and National Day (1–7 October), weekends off, no make-up days.
// The operator extends officialYears when the next year's schedule is
// published.
type Calendar struct {
	// Holidays and Workdays override the rules: a date in Holidays is a day
	// off, a weekend date in Workdays is a working day.
	Holidays map[rrs.Date]bool
	Workdays map[rrs.Date]bool
	// Official lists the years whose schedule Holidays and Workdays give in
	// full; other years use the fallback rules.
	Official map[int]bool
}

// officialYears are the published schedules: holiday ranges and make-up
// working days.
var officialYears = map[int]struct {
	holidays [][2]string // inclusive ranges
	workdays []string
}{
	2024: {
		holidays: [][2]string{
			{"2024-01-01", "2024-01-01"}, {"2024-02-10", "2024-02-17"}, {"2024-04-04", "2024-04-06"},
			{"2024-05-01", "2024-05-05"}, {"2024-06-10", "2024-06-10"}, {"2024-09-15", "2024-09-17"},
			{"2024-10-01", "2024-10-07"},
		},
		workdays: []string{"2024-02-04", "2024-02-18", "2024-04-07", "2024-04-28", "2024-05-11", "2024-09-14", "2024-09-29", "2024-10-12"},
	},
	2025: {
		holidays: [][2]string{
			{"2025-01-01", "2025-01-01"}, {"2025-01-28", "2025-02-04"}, {"2025-04-04", "2025-04-06"},
			{"2025-05-01", "2025-05-05"}, {"2025-05-31", "2025-06-02"}, {"2025-10-01", "2025-10-08"},
		},
		workdays: []string{"2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11"},
	},
}

// springFestival is the first day of the lunar year for the fallback rules
// (the table of gen/calendar.go); outside it the festival is taken to be 5
// February.
var springFestival = map[int]rrs.Date{
	2015: {Y: 2015, M: 2, D: 19}, 2016: {Y: 2016, M: 2, D: 8}, 2017: {Y: 2017, M: 1, D: 28},
	2018: {Y: 2018, M: 2, D: 16}, 2019: {Y: 2019, M: 2, D: 5}, 2020: {Y: 2020, M: 1, D: 25},
	2021: {Y: 2021, M: 2, D: 12}, 2022: {Y: 2022, M: 2, D: 1}, 2023: {Y: 2023, M: 1, D: 22},
	2024: {Y: 2024, M: 2, D: 10}, 2025: {Y: 2025, M: 1, D: 29}, 2026: {Y: 2026, M: 2, D: 17},
	2027: {Y: 2027, M: 2, D: 6}, 2028: {Y: 2028, M: 1, D: 26}, 2029: {Y: 2029, M: 2, D: 13},
	2030: {Y: 2030, M: 2, D: 3}, 2031: {Y: 2031, M: 1, D: 23}, 2032: {Y: 2032, M: 2, D: 11},
	2033: {Y: 2033, M: 1, D: 31}, 2034: {Y: 2034, M: 2, D: 19}, 2035: {Y: 2035, M: 2, D: 8},
}

// DefaultCalendar returns the built-in calendar.
func DefaultCalendar() *Calendar {
	c := &Calendar{Holidays: map[rrs.Date]bool{}, Workdays: map[rrs.Date]bool{}, Official: map[int]bool{}}
	for y, sched := range officialYears {
		c.Official[y] = true
		for _, r := range sched.holidays {
			from, to := mustDate(r[0]), mustDate(r[1])
			for d := from; !d.After(to); d = d.AddDays(1) {
				c.Holidays[d] = true
			}
		}
		for _, w := range sched.workdays {
			c.Workdays[mustDate(w)] = true
		}
	}
	return c
}

func mustDate(s string) rrs.Date {
	d, err := rrs.ParseDate(s)
	if err != nil {
		panic("governance: bad calendar date " + s)
	}
	return d
}

// IsBusinessDay reports whether d is a working day.
func (c *Calendar) IsBusinessDay(d rrs.Date) bool {
	if c.Holidays[d] {
		return false
	}
	if c.Workdays[d] {
		return true
	}
	wd := d.Time().Weekday()
	if wd == time.Saturday || wd == time.Sunday {
		return false
	}
	if c.Official[d.Y] {
		return true
	}
	return !fallbackHoliday(d)
}

// fallbackHoliday is the holiday rule for years without an official
// schedule.
func fallbackHoliday(d rrs.Date) bool {
	switch {
	case d.M == time.January && d.D == 1:
		return true
	case d.M == time.May && d.D <= 5:
		return true
	case d.M == time.October && d.D <= 7:
		return true
	}
	sf, ok := springFestival[d.Y]
	if !ok {
		sf = rrs.Date{Y: d.Y, M: time.February, D: 5}
	}
	off := d.DaysSince(sf)
	return off >= -1 && off <= 6
}

// AddBusinessDays returns the n-th business day after d (n ≥ 1): the day a
// deadline of n business days, counted from d, ends.
func (c *Calendar) AddBusinessDays(d rrs.Date, n int) rrs.Date {
	for n > 0 {
		d = d.AddDays(1)
		if c.IsBusinessDay(d) {
			n--
		}
	}
	return d
}

// Deadline returns the due date of something opened at instant t with n
// business days to answer, and the instant that day ends in Asia/Shanghai.
func (c *Calendar) Deadline(t time.Time, n int) (rrs.Date, time.Time) {
	due := c.AddBusinessDays(rrs.DateOf(t), n)
	return due, due.AddDays(1).Time()
}
