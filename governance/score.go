package governance

import (
	"math/big"
	"slices"
	"strconv"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/rrs"
)

// DeadlineHour is the hour (Asia/Shanghai) of the day after its business
// date by which a batch must have been received to count as timely.
const DeadlineHour = 10

// ReportingDeadline is when the batch of business date d is due: 10:00 on
// the next day in Asia/Shanghai.
func ReportingDeadline(d rrs.Date) time.Time {
	return d.AddDays(1).Time().Add(DeadlineHour * time.Hour)
}

// lastDueDay is the latest business date whose reporting deadline has
// passed at asOf.
func lastDueDay(asOf time.Time) rrs.Date {
	d := rrs.DateOf(asOf)
	if asOf.In(rrs.Shanghai).Hour() >= DeadlineHour {
		return d.AddDays(-1)
	}
	return d.AddDays(-2)
}

// ComputeScore is the RRS-1 §4 quality score of one institution for one
// calendar month, as of asOf, from the validation records of its batches of
// that month (any order, any outcome) and the business date of its first
// batch ever (zero when it has none):
//
//	days         = the days of the month from its first day, or from the
//	               institution's first batch if later, to the last day whose
//	               deadline (10:00 the next day, Asia/Shanghai) has passed
//	Timeliness   = days with a usable (not rejected) version received by the
//	               deadline / days
//	Completeness = 1 − (L10 findings + days without a usable version)
//	               / (expected BAL rows + days)
//	Accuracy     = 1 − records with an L or C error / records received
//	Consistency  = (S and T checks run − failed) / S and T checks run
//	Score        = 100 × (0.2·T + 0.2·Cm + 0.4·A + 0.2·Cs)
//
// L10, expected BAL rows, records and checks are summed over the latest
// version of each day (a superseded version is never counted). A component
// whose denominator is 0 is 1. The arithmetic is exact (rationals); the
// grade is decided on the exact score.
func ComputeScore(tenant string, month rrs.Period, asOf time.Time, first rrs.Date, batches []*ronghe.BatchQuality) *ronghe.QualityScore {
	s := &ronghe.QualityScore{Tenant: tenant, Month: month.String(), AsOf: asOf}
	byDate := map[string][]*ronghe.BatchQuality{}
	for _, b := range batches {
		if b.Status != ronghe.QualityDone || b.Outcome == ronghe.OutcomeSuperseded {
			continue
		}
		byDate[b.BusinessDate] = append(byDate[b.BusinessDate], b)
	}
	from, to := month.First(), month.Last()
	if !first.IsZero() && first.After(from) {
		from = first
	}
	if due := lastDueDay(asOf); due.Before(to) {
		to = due
	}
	if !first.IsZero() && !to.Before(from) {
		s.From, s.To = from.String(), to.String()
		for d := from; !d.After(to); d = d.AddDays(1) {
			s.Days++
			versions := byDate[d.String()]
			usable, timely := false, false
			for _, v := range versions {
				if v.Outcome == ronghe.OutcomeRejected {
					continue
				}
				usable = true
				if !v.ReceivedAt.After(ReportingDeadline(d)) {
					timely = true
				}
			}
			if timely {
				s.TimelyDays++
			}
			if !usable {
				s.MissingDays++
			}
			if len(versions) == 0 {
				continue
			}
			latest := slices.MaxFunc(versions, func(a, b *ronghe.BatchQuality) int { return a.Seq - b.Seq })
			st := latest.Stats
			s.Batches++
			s.Records += st.Records
			s.ErrorRecords += st.ErrorRecords
			s.ExpectedBAL += st.ExpectedBAL
			s.L10 += st.L10
			s.Checks += st.Checks
			s.FailedChecks += st.FailedChecks
		}
	}
	t := ratio(int64(s.TimelyDays), int64(s.Days))
	cm := oneMinus(s.L10+int64(s.MissingDays), s.ExpectedBAL+int64(s.Days))
	a := oneMinus(s.ErrorRecords, s.Records)
	cs := oneMinus(s.FailedChecks, s.Checks)
	// 100 × (0.2·T + 0.2·Cm + 0.4·A + 0.2·Cs) = 20·T + 20·Cm + 40·A + 20·Cs
	score := new(big.Rat)
	for _, term := range []struct {
		w int64
		r *big.Rat
	}{{20, t}, {20, cm}, {40, a}, {20, cs}} {
		score.Add(score, new(big.Rat).Mul(big.NewRat(term.w, 1), term.r))
	}
	s.Timeliness, s.Completeness, s.Accuracy, s.Consistency = round(t, 4), round(cm, 4), round(a, 4), round(cs, 4)
	s.Score = round(score, 2)
	s.Grade = Grade(score)
	return s
}

// Grade is the RRS-1 §4 grade of a score: A ≥ 95, B ≥ 85, C ≥ 70, else D.
func Grade(score *big.Rat) string {
	switch {
	case score.Cmp(big.NewRat(95, 1)) >= 0:
		return ronghe.GradeA
	case score.Cmp(big.NewRat(85, 1)) >= 0:
		return ronghe.GradeB
	case score.Cmp(big.NewRat(70, 1)) >= 0:
		return ronghe.GradeC
	}
	return ronghe.GradeD
}

// ratio is num/den, 1 when den is 0, clamped to [0, 1].
func ratio(num, den int64) *big.Rat {
	if den <= 0 {
		return big.NewRat(1, 1)
	}
	num = max(0, min(num, den))
	return big.NewRat(num, den)
}

// oneMinus is 1 − bad/total, 1 when total is 0, clamped to [0, 1].
func oneMinus(bad, total int64) *big.Rat {
	if total <= 0 {
		return big.NewRat(1, 1)
	}
	return new(big.Rat).Sub(big.NewRat(1, 1), ratio(bad, total))
}

func round(r *big.Rat, places int) float64 {
	f, _ := strconv.ParseFloat(r.FloatString(places), 64)
	return f
}

// LeagueTable ranks scores: highest score first, ties by institution code;
// equal scores share a rank.
func LeagueTable(scores []*ronghe.QualityScore) []*ronghe.QualityScore {
	out := slices.Clone(scores)
	slices.SortStableFunc(out, func(a, b *ronghe.QualityScore) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		if a.Tenant < b.Tenant {
			return -1
		} else if a.Tenant > b.Tenant {
			return 1
		}
		return 0
	})
	for i, s := range out {
		s.Rank = i + 1
		if i > 0 && s.Score == out[i-1].Score {
			s.Rank = out[i-1].Rank
		}
	}
	return out
}
