package gen

import (
	"time"

	"github.com/ronghe/ronghe/rrs"
)

// springFestival holds the first day of the lunar new year (春节) for the years
// the generator knows exactly. Outside the table the festival is taken to be
// 5 February, the middle of its possible range (21 January – 20 February).
var springFestival = map[int]rrs.Date{
	2015: {Y: 2015, M: 2, D: 19}, 2016: {Y: 2016, M: 2, D: 8}, 2017: {Y: 2017, M: 1, D: 28},
	2018: {Y: 2018, M: 2, D: 16}, 2019: {Y: 2019, M: 2, D: 5}, 2020: {Y: 2020, M: 1, D: 25},
	2021: {Y: 2021, M: 2, D: 12}, 2022: {Y: 2022, M: 2, D: 1}, 2023: {Y: 2023, M: 1, D: 22},
	2024: {Y: 2024, M: 2, D: 10}, 2025: {Y: 2025, M: 1, D: 29}, 2026: {Y: 2026, M: 2, D: 17},
	2027: {Y: 2027, M: 2, D: 6}, 2028: {Y: 2028, M: 1, D: 26}, 2029: {Y: 2029, M: 2, D: 13},
	2030: {Y: 2030, M: 2, D: 3}, 2031: {Y: 2031, M: 1, D: 23}, 2032: {Y: 2032, M: 2, D: 11},
	2033: {Y: 2033, M: 1, D: 31}, 2034: {Y: 2034, M: 2, D: 19}, 2035: {Y: 2035, M: 2, D: 8},
}

// springFestivalOf returns the Spring Festival of year y.
func springFestivalOf(y int) rrs.Date {
	if d, ok := springFestival[y]; ok {
		return d
	}
	return rrs.Date{Y: y, M: 2, D: 5}
}

// isHoliday reports whether d is a public holiday in the simplified calendar
// the generator uses: New Year's Day, the Spring Festival week (eve to the
// sixth day), Labour Day (1–5 May) and National Day (1–7 October). The
// lunar holidays of one to three days (Qingming, Dragon Boat, Mid-Autumn) and
// the make-up working weekends (调休) are left out.
func isHoliday(d rrs.Date) bool {
	switch {
	case d.M == time.January && d.D == 1:
		return true
	case d.M == time.May && d.D <= 5:
		return true
	case d.M == time.October && d.D <= 7:
		return true
	}
	sf := springFestivalOf(d.Y)
	off := d.DaysSince(sf)
	return off >= -1 && off <= 6
}

// isBusinessDay reports whether d is a working day: not a weekend, not a
// holiday.
func isBusinessDay(d rrs.Date) bool {
	wd := d.Time().Weekday()
	return wd != time.Saturday && wd != time.Sunday && !isHoliday(d)
}

// onOrBeforeBusinessDay returns the last business day on or before d: salaries
// due on a weekend are paid on the Friday before.
func onOrBeforeBusinessDay(d rrs.Date) rrs.Date {
	for i := 0; i < 15 && !isBusinessDay(d); i++ {
		d = d.AddDays(-1)
	}
	return d
}

// onOrAfterBusinessDay returns the first business day on or after d: a tax
// deadline that falls on a holiday moves to the next working day.
func onOrAfterBusinessDay(d rrs.Date) rrs.Date {
	for i := 0; i < 15 && !isBusinessDay(d); i++ {
		d = d.AddDays(1)
	}
	return d
}

// season names a seasonal pattern of revenue.
type season int

const (
	seasonNone           season = iota
	seasonRetail                // Spring Festival shopping, 618, Double 11
	seasonSpringFestival        // wholesale and catering before the festival
	seasonConstruction          // year-end settlements, idle after the festival
	seasonExport                // Q3–Q4 shipments for Western holidays
	seasonHarvest               // lychee (June) and autumn harvest
)

// seasonPermille is the revenue multiplier (per mille) of pattern s on date d.
// The shapes follow well-known Chinese calendar effects: retail sales peak in
// the four weeks before Spring Festival and around the 618 (18 June) and
// Double 11 (11 November) online shopping festivals; construction firms settle
// with contractors and pay migrant workers before the festival (required by
// the 2020 Regulation on Guaranteeing the Payment of Migrant Workers' Wages)
// and idle for weeks after it; exporters ship for Christmas in August–November.
func seasonPermille(s season, d rrs.Date) int64 {
	// Days until the next Spring Festival and since the last one.
	sf := springFestivalOf(d.Y)
	if d.After(sf.AddDays(45)) {
		sf = springFestivalOf(d.Y + 1)
	}
	until := int64(sf.DaysSince(d)) // > 0 before the festival
	since := -until                 // ≥ 0 on and after it
	inHoliday := until <= 1 && since <= 6
	switch s {
	case seasonRetail:
		switch {
		case inHoliday:
			return 1300
		case until > 1 && until <= 28:
			return 1000 + 900*(28-until)/28
		case since > 6 && since <= 20:
			return 750
		case d.M == time.June && d.D <= 18:
			return 1400
		case d.M == time.October && d.D >= 20:
			return 1000 + 1200*int64(d.D-19)/23
		case d.M == time.November && d.D <= 11:
			return 1000 + 1200*int64(d.D+12)/23
		case d.M == time.November && d.D <= 15:
			return 1300
		case d.M == time.December:
			return 1100
		}
	case seasonSpringFestival:
		switch {
		case inHoliday:
			return 600
		case until > 1 && until <= 28:
			return 1000 + 600*(28-until)/28
		case since > 6 && since <= 20:
			return 800
		}
	case seasonConstruction:
		switch {
		case inHoliday:
			return 400
		case until > 1 && until <= 45:
			return 1500
		case since > 6 && since <= 20:
			return 450
		case d.M >= time.June && d.M <= time.August:
			return 850
		}
	case seasonExport:
		switch {
		case inHoliday || (since > 6 && since <= 14):
			return 600
		case d.M >= time.August && d.M <= time.November:
			return 1350
		case d.M == time.December:
			return 1100
		}
	case seasonHarvest:
		switch {
		case d.M >= time.September && d.M <= time.November:
			return 1600
		case d.M >= time.May && d.M <= time.July:
			return 1200
		case inHoliday || d.M == time.February:
			return 700
		}
	}
	return 1000
}

// lprHistory is the one-year Loan Prime Rate in basis points from its reform
// on 20 August 2019 (National Interbank Funding Center announcements). Before
// that the PBoC one-year benchmark lending rate of 4.35 % applied.
var lprHistory = []struct {
	From rrs.Date
	BP   int64
}{
	{rrs.Date{Y: 2019, M: 8, D: 20}, 425},
	{rrs.Date{Y: 2019, M: 9, D: 20}, 420},
	{rrs.Date{Y: 2019, M: 11, D: 20}, 415},
	{rrs.Date{Y: 2020, M: 2, D: 20}, 405},
	{rrs.Date{Y: 2020, M: 4, D: 20}, 385},
	{rrs.Date{Y: 2021, M: 12, D: 20}, 380},
	{rrs.Date{Y: 2022, M: 1, D: 20}, 370},
	{rrs.Date{Y: 2022, M: 8, D: 22}, 365},
	{rrs.Date{Y: 2023, M: 6, D: 20}, 355},
	{rrs.Date{Y: 2023, M: 8, D: 21}, 345},
	{rrs.Date{Y: 2024, M: 7, D: 22}, 335},
	{rrs.Date{Y: 2024, M: 10, D: 21}, 310},
	{rrs.Date{Y: 2025, M: 5, D: 20}, 300},
}

// lprOn returns the one-year LPR (basis points) in force on d.
func lprOn(d rrs.Date) int64 {
	bp := int64(435)
	for _, e := range lprHistory {
		if !d.Before(e.From) {
			bp = e.BP
		}
	}
	return bp
}

// Deposit rates (basis points a year). Large banks' corporate demand deposit
// rate has been 0.10–0.25 % since the 2024–2025 cuts (PBoC benchmark 0.35 %);
// one-year corporate time deposits around 1.1 %.
const (
	demandRateBP = 20
	timeRateBP   = 110
)

// fxRate is a currency's fixed conversion rate in CNY per unit × 10,000,
// rounded from the 2024 average PBoC central parity rates. Exact integer
// rates keep every conversion reproducible.
var fxRates = map[string]int64{
	"CNY": 10000,
	"USD": 71000,
	"EUR": 78000,
	"HKD": 9100,
	"JPY": 480,
	"GBP": 91000,
	"AUD": 47000,
	"CAD": 52000,
}

// convert converts an amount in cents between currencies at the fixed rates,
// rounding half away from zero.
func convert(amount int64, from, to string) int64 {
	if from == to {
		return amount
	}
	return mulDiv(amount, fxRates[from], fxRates[to])
}

// hourWeights is the share of corporate payments per hour of the day, shaped
// like the intraday profile of the large-value and online banking systems:
// almost nothing at night, a morning peak at 10–11 and an afternoon peak
// before the 17:00 cut-off.
var hourWeights = []int{1, 0, 0, 0, 0, 0, 1, 3, 8, 14, 18, 16, 7, 9, 14, 16, 13, 7, 4, 3, 2, 2, 1, 1}

// timeOfDay draws a time of day in seconds after the intraday profile.
func (r *rng) timeOfDay() int32 {
	h := r.pick(hourWeights)
	return int32(h*3600 + r.intn(3600))
}

// timeBetween draws a time of day uniformly in [from, to) seconds.
func (r *rng) timeBetween(from, to int) int32 {
	return int32(from + r.intn(to-from))
}
