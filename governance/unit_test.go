package governance

import (
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/rrs"
	"github.com/ronghe/ronghe/rules"
)

func date(s string) rrs.Date {
	d, err := rrs.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, rrs.Shanghai)
	if err != nil {
		panic(err)
	}
	return t
}

func TestCalendar(t *testing.T) {
	cal := DefaultCalendar()
	for _, tc := range []struct {
		day  string
		want bool
	}{
		{"2025-01-01", false}, // New Year
		{"2025-01-02", true},
		{"2025-01-04", false}, // Saturday
		{"2025-01-26", true},  // Sunday, make-up working day for the Spring Festival
		{"2025-01-28", false}, // Spring Festival eve, official holiday
		{"2025-02-04", false},
		{"2025-02-05", true},
		{"2025-02-08", true}, // Saturday, make-up working day
		{"2025-04-04", false}, {"2025-05-05", false}, {"2025-05-06", true}, {"2025-06-02", false},
		{"2025-10-08", false}, {"2025-10-11", true},
		{"2024-02-18", true}, {"2024-02-16", false}, {"2024-06-10", false},
		// Fallback rules outside the official years.
		{"2030-10-03", false}, {"2030-02-02", false}, {"2030-02-09", false}, {"2030-02-11", true}, {"2030-05-06", true},
	} {
		if got := cal.IsBusinessDay(date(tc.day)); got != tc.want {
			t.Errorf("%s: business day %v, want %v", tc.day, got, tc.want)
		}
	}
	for _, tc := range []struct {
		opened string
		due    string
	}{
		{"2025-01-06 09:00", "2025-01-13"}, // Monday → next Monday
		{"2025-01-10 23:30", "2025-01-17"}, // Friday night
		{"2025-01-24 10:00", "2025-02-07"}, // across the Spring Festival: 1-26 (make-up Sunday), 1-27, 2-5, 2-6, 2-7
		{"2025-09-26 10:00", "2025-10-10"}, // 9-28 (make-up), 9-29, 9-30, 10-9, 10-10
	} {
		due, dueAt := cal.Deadline(at(tc.opened), 5)
		if due.String() != tc.due {
			t.Errorf("opened %s: due %s, want %s", tc.opened, due, tc.due)
		}
		if want := date(tc.due).AddDays(1).Time(); !dueAt.Equal(want) {
			t.Errorf("opened %s: due at %s, want %s", tc.opened, dueAt, want)
		}
	}
}

func TestDrawer(t *testing.T) {
	const seed = "5eed"
	build := func(rows int, big func(i int) bool) *drawer {
		d := &drawer{}
		for i := 0; i < rows; i++ {
			amt := rrs.Amount(100)
			if big(i) {
				amt = 10_000
			}
			d.add(i+2, amt, i%50 != 7) // every 50th row (from the 8th) cannot be drawn
		}
		return d
	}
	t.Run("monetary-unit sample", func(t *testing.T) {
		d := build(2000, func(i int) bool { return i%10 == 0 })
		units, census, picks, err := d.draw(seed, 0.95, 0.03)
		if err != nil || census || units != 99 {
			t.Fatalf("units %d census %v err %v", units, census, err)
		}
		hits, big := 0, 0
		for i, p := range picks {
			if i > 0 && picks[i-1].line >= p.line {
				t.Fatal("picks not in file order")
			}
			if (p.line-2)%50 == 7 {
				t.Fatalf("an ineligible row (line %d) was drawn", p.line)
			}
			hits += p.hits
			if (p.line-2)%10 == 0 {
				big += p.hits
			}
		}
		if hits != 99 {
			t.Fatalf("%d units fell on the picks", hits)
		}
		// The large rows hold about 10/11 of the money: about 90 of 99 units.
		if big < 80 {
			t.Errorf("%d of 99 units on large rows", big)
		}
		// The same draw as rules.Sample with the seed's bytes.
		b, _ := hex.DecodeString(seed)
		sel, err := rules.Sample(b, d.amounts, 99)
		if err != nil || len(sel) != len(picks) {
			t.Fatalf("rules.Sample: %d selections, %v", len(sel), err)
		}
		for i, x := range sel {
			if int(d.lines[x.Row]) != picks[i].line || x.Hits != picks[i].hits {
				t.Fatalf("pick %d differs from rules.Sample", i)
			}
		}
		_, _, again, _ := d.draw(seed, 0.95, 0.03)
		_, _, other, _ := d.draw("5eee", 0.95, 0.03)
		if fmt.Sprint(again) != fmt.Sprint(picks) || fmt.Sprint(other) == fmt.Sprint(picks) {
			t.Error("the draw is not a function of the seed")
		}
	})
	t.Run("census", func(t *testing.T) {
		d := build(60, func(int) bool { return false })
		units, census, picks, err := d.draw(seed, 0.95, 0.03)
		if err != nil || !census || units != 58 || len(picks) != 58 || int64(units) != d.eligible { // rows 7 and 57 cannot be drawn
			t.Fatalf("units %d census %v picks %d err %v", units, census, len(picks), err)
		}
		for _, p := range picks {
			if p.hits != 1 || (p.line-2)%50 == 7 {
				t.Fatalf("census pick %+v", p)
			}
		}
	})
	t.Run("nothing to draw", func(t *testing.T) {
		d := &drawer{}
		d.add(2, 0, true)
		d.add(3, 500, false)
		if units, census, picks, err := d.draw(seed, 0.95, 0.03); err != nil || units != 0 || !census || len(picks) != 0 {
			t.Fatalf("units %d census %v picks %v err %v", units, census, picks, err)
		}
	})
}

func TestSampleVerdict(t *testing.T) {
	for _, tc := range []struct {
		k, n   int
		census bool
		bound  float64
		pass   bool
	}{
		{0, 99, false, 1 - math.Pow(0.05, 1.0/99), true}, // 2.98 %
		{1, 99, false, 0.047021, false},                  // exact binomial, computed independently
		{3, 99, false, 0.0, false},
		{0, 10, true, 0, true}, {1, 40, true, 0.025, true}, {2, 40, true, 0.05, false}, // census: the exact rate
		{0, 0, true, 0, true},
	} {
		bound, pass := SampleVerdict(tc.k, tc.n, tc.census, 0.95, 0.03)
		if pass != tc.pass || (tc.bound > 0 && math.Abs(bound-tc.bound) > 1e-6) {
			t.Errorf("k=%d n=%d census=%v: bound %f pass %v, want %f %v", tc.k, tc.n, tc.census, bound, pass, tc.bound, tc.pass)
		}
	}
}

func TestContentDigestAndSeed(t *testing.T) {
	files := []ronghe.ManifestFile{{Name: "TXN.csv", Digest: "AA"}, {Name: "acct.csv", Digest: "bb"}}
	swapped := []ronghe.ManifestFile{files[1], files[0]}
	if ContentDigest(files) != ContentDigest(swapped) {
		t.Error("content digest depends on file order")
	}
	changed := []ronghe.ManifestFile{{Name: "TXN.csv", Digest: "ab"}, files[1]}
	if ContentDigest(files) == ContentDigest(changed) {
		t.Error("content digest ignores a file's digest")
	}
	d := ContentDigest(files)
	if SampleSeed([]byte("key-one-key-one!"), d) == SampleSeed([]byte("key-two-key-two!"), d) {
		t.Error("the seed ignores the platform key")
	}
	if first, again := SampleSeed([]byte("key-one-key-one!"), d), SampleSeed([]byte("key-one-key-one!"), d); first != again {
		t.Error("the seed is not deterministic")
	}
}

func TestTicketStateMachine(t *testing.T) {
	cal := DefaultCalendar()
	opened := at("2025-01-06 11:00")
	idn := Identity{Tenant: "B1", BusinessDate: "2025-01-05", Rule: "C03", Type: "TXN", Key: "T1"}
	tk := NewTicket(idn, ronghe.SeverityError, "balance", "m", "B1_20250105_1", opened, cal, 5)
	if tk.State != ronghe.TicketOpen || tk.DueDate != "2025-01-13" || tk.Version != 1 || !strings.HasPrefix(tk.ID, "TK-20250105-") {
		t.Fatalf("new ticket %+v", tk)
	}
	if TicketID(idn, "B1_20250105_1") != tk.ID || TicketID(idn, "B1_20250105_2") == tk.ID {
		t.Error("ticket IDs are not derived from identity and opening batch")
	}
	// Joining by the same batch changes nothing; by a later one counts.
	if j, err := JoinTicket(tk, "B1_20250105_1"); err != nil || j != nil {
		t.Fatalf("join by the same batch: %v %v", j, err)
	}
	j, err := JoinTicket(tk, "B1_20250105_2")
	if err != nil || j.Occurrences != 2 || j.LastBatch != "B1_20250105_2" || j.Version != 2 || j.DueDate != tk.DueDate {
		t.Fatalf("join: %+v %v", j, err)
	}
	type step struct {
		name string
		do   func(*ronghe.Ticket) (*ronghe.Ticket, error)
		ok   bool
		want string
	}
	early, late := at("2025-01-13 23:59"), at("2025-01-14 00:00")
	over := func(now time.Time) func(*ronghe.Ticket) (*ronghe.Ticket, error) {
		return func(t *ronghe.Ticket) (*ronghe.Ticket, error) { return MarkOverdue(t, now) }
	}
	corr := func(t *ronghe.Ticket) (*ronghe.Ticket, error) { return CloseCorrected(t, "B1_20250105_3", late) }
	conf := func(t *ronghe.Ticket) (*ronghe.Ticket, error) { return Confirm(t, []byte("doc"), "ok", "k", late) }
	join := func(t *ronghe.Ticket) (*ronghe.Ticket, error) { return JoinTicket(t, "B1_20250105_9") }
	for _, tc := range []struct {
		name     string
		severity string
		steps    []step
	}{
		{"corrected in time", "E", []step{{"early overdue", over(early), false, "open"}, {"correct", corr, true, "closed"}, {"overdue after close", over(late), false, "closed"}}},
		{"overdue then corrected", "E", []step{{"overdue", over(late), true, "overdue"}, {"overdue twice", over(late), false, "overdue"}, {"join overdue", join, true, "overdue"}, {"correct", corr, true, "closed"}}},
		{"E cannot be confirmed", "E", []step{{"confirm", conf, false, "open"}}},
		{"W confirmed", "W", []step{{"confirm", conf, true, "closed"}, {"confirm again", conf, false, "closed"}, {"join closed", join, false, "closed"}, {"correct closed", corr, false, "closed"}}},
		{"W overdue then confirmed", "W", []step{{"overdue", over(late), true, "overdue"}, {"confirm", conf, true, "closed"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cur := NewTicket(idn, tc.severity, "", "m", "B1_20250105_1", opened, cal, 5)
			for _, st := range tc.steps {
				nt, err := st.do(cur)
				if st.ok != (err == nil) {
					t.Fatalf("%s: err %v, want ok=%v", st.name, err, st.ok)
				}
				if err == nil {
					if nt.Version != cur.Version+1 {
						t.Fatalf("%s: version %d after %d", st.name, nt.Version, cur.Version)
					}
					cur = nt
				} else if ronghe.ErrorCode(err) != ronghe.ECONFLICT {
					t.Fatalf("%s: error code %s", st.name, ronghe.ErrorCode(err))
				}
				if cur.State != st.want {
					t.Fatalf("%s: state %s, want %s", st.name, cur.State, st.want)
				}
			}
			if cur.State == ronghe.TicketClosed && (cur.ClosedAt == nil || cur.Resolution == "") {
				t.Fatalf("closed without time or resolution: %+v", cur)
			}
		})
	}
}

func TestOutcome(t *testing.T) {
	for _, tc := range []struct {
		problems []string
		findings int
		want     string
	}{
		{nil, 0, ronghe.OutcomeAccepted},
		{nil, 3, ronghe.OutcomeWarnings},
		{[]string{"T01 TXN: the control totals differ"}, 1, ronghe.OutcomeRejected},
		{[]string{"CTL.csv is missing"}, 0, ronghe.OutcomeRejected},
	} {
		if got := Outcome(tc.problems, tc.findings); got != tc.want {
			t.Errorf("%v %d: %s, want %s", tc.problems, tc.findings, got, tc.want)
		}
	}
}

func quality(tenant, day string, seq int, outcome string, received time.Time, st ronghe.QualityStats) *ronghe.BatchQuality {
	return &ronghe.BatchQuality{Tenant: tenant, Batch: fmt.Sprintf("%s_%s_%d", tenant, strings.ReplaceAll(day, "-", ""), seq),
		BusinessDate: day, Seq: seq, Status: ronghe.QualityDone, Outcome: outcome, ReceivedAt: received, Stats: st}
}

func TestComputeScore(t *testing.T) {
	jan := rrs.Period{Y: 2025, M: time.January}
	clean := ronghe.QualityStats{Records: 100, ExpectedBAL: 10, Checks: 20}
	t.Run("clean and timely", func(t *testing.T) {
		var qs []*ronghe.BatchQuality
		for d := 1; d <= 3; d++ {
			day := fmt.Sprintf("2025-01-%02d", d)
			qs = append(qs, quality("B1", day, 1, ronghe.OutcomeAccepted, date(day).AddDays(1).Time().Add(9*time.Hour), clean))
		}
		// As of 4 January 10:00 the first three days are due.
		s := ComputeScore("B1", jan, at("2025-01-04 10:00"), date("2025-01-01"), qs)
		if s.Days != 3 || s.TimelyDays != 3 || s.MissingDays != 0 || s.Score != 100 || s.Grade != ronghe.GradeA || s.From != "2025-01-01" || s.To != "2025-01-03" {
			t.Fatalf("%+v", s)
		}
		// At 09:59 only two days are due: the third is not counted yet.
		s = ComputeScore("B1", jan, at("2025-01-04 09:59"), date("2025-01-01"), qs)
		if s.Days != 2 || s.Batches != 2 || s.Score != 100 {
			t.Fatalf("before the deadline: %+v", s)
		}
	})
	t.Run("every component", func(t *testing.T) {
		// Window 2025-01-01..04 (as of 5 January 12:00), first batch 1 January.
		qs := []*ronghe.BatchQuality{
			// Day 1: late (received 2 January 10:01), then a timely-irrelevant correction with the figures used.
			quality("B1", "2025-01-01", 1, ronghe.OutcomeWarnings, at("2025-01-02 10:01"), ronghe.QualityStats{Records: 999, ErrorRecords: 999, Checks: 1, FailedChecks: 1}),
			quality("B1", "2025-01-01", 2, ronghe.OutcomeWarnings, at("2025-01-03 08:00"), ronghe.QualityStats{Records: 100, ErrorRecords: 10, ExpectedBAL: 20, L10: 2, Checks: 40, FailedChecks: 4}),
			// Day 2: timely but rejected, and nothing else: missing, not timely.
			quality("B1", "2025-01-02", 1, ronghe.OutcomeRejected, at("2025-01-02 20:00"), ronghe.QualityStats{Records: 100, ErrorRecords: 0, ExpectedBAL: 20, Checks: 10, FailedChecks: 10}),
			// Day 3: timely and clean. Day 4: nothing.
			quality("B1", "2025-01-03", 1, ronghe.OutcomeAccepted, at("2025-01-04 10:00"), ronghe.QualityStats{Records: 200, ExpectedBAL: 20, Checks: 50}),
			// A superseded version never counts.
			quality("B1", "2025-01-03", 1, ronghe.OutcomeSuperseded, at("2025-01-03 01:00"), ronghe.QualityStats{Records: 1e6, ErrorRecords: 1e6}),
		}
		s := ComputeScore("B1", jan, at("2025-01-05 12:00"), date("2025-01-01"), qs)
		// T = 1/4; Cm = 1 − (2 + 2)/(60 + 4) = 60/64; A = 1 − 10/400; Cs = 1 − 14/100.
		want := new(big.Rat).SetFrac64(1, 4)
		want.Mul(want, big.NewRat(20, 1))
		for _, term := range []struct{ w, n, d int64 }{{20, 60, 64}, {40, 390, 400}, {20, 86, 100}} {
			want.Add(want, new(big.Rat).Mul(big.NewRat(term.w, 1), big.NewRat(term.n, term.d)))
		}
		wantF, _ := want.Float64()
		if s.Days != 4 || s.TimelyDays != 1 || s.MissingDays != 2 || s.Batches != 3 || s.Records != 400 || s.ErrorRecords != 10 ||
			s.ExpectedBAL != 60 || s.L10 != 2 || s.Checks != 100 || s.FailedChecks != 14 {
			t.Fatalf("figures %+v", s)
		}
		if s.Timeliness != 0.25 || s.Completeness != 0.9375 || s.Accuracy != 0.975 || s.Consistency != 0.86 || math.Abs(s.Score-wantF) > 0.005 {
			t.Fatalf("components %+v, want score %.4f", s, wantF)
		}
		// 5 + 18.75 + 39 + 17.2 = 79.95
		if s.Score != 79.95 || s.Grade != ronghe.GradeC {
			t.Fatalf("score %.2f grade %s", s.Score, s.Grade)
		}
	})
	t.Run("starts with the first batch", func(t *testing.T) {
		qs := []*ronghe.BatchQuality{quality("B2", "2025-01-20", 1, ronghe.OutcomeAccepted, at("2025-01-20 23:00"), clean)}
		s := ComputeScore("B2", jan, at("2025-03-01 00:00"), date("2025-01-20"), qs)
		if s.Days != 12 || s.From != "2025-01-20" || s.To != "2025-01-31" || s.TimelyDays != 1 || s.MissingDays != 11 {
			t.Fatalf("%+v", s)
		}
		none := ComputeScore("B3", jan, at("2025-03-01 00:00"), rrs.Date{}, nil)
		if none.Days != 0 || none.Score != 100 {
			t.Fatalf("no batches: %+v", none)
		}
	})
	t.Run("grades on the exact score", func(t *testing.T) {
		for _, tc := range []struct {
			r    *big.Rat
			want string
		}{{big.NewRat(95, 1), "A"}, {big.NewRat(9499999, 100000), "B"}, {big.NewRat(85, 1), "B"}, {big.NewRat(70, 1), "C"}, {big.NewRat(6999, 100), "D"}} {
			if got := Grade(tc.r); got != tc.want {
				t.Errorf("%s: %s, want %s", tc.r.FloatString(5), got, tc.want)
			}
		}
	})
}

func TestLeagueTable(t *testing.T) {
	in := []*ronghe.QualityScore{{Tenant: "C", Score: 90}, {Tenant: "A", Score: 99.5}, {Tenant: "B", Score: 90}, {Tenant: "D", Score: 60}}
	out := LeagueTable(in)
	var got []string
	for _, s := range out {
		got = append(got, fmt.Sprintf("%d:%s", s.Rank, s.Tenant))
	}
	if strings.Join(got, " ") != "1:A 2:B 2:C 4:D" {
		t.Fatalf("league %v", got)
	}
}
