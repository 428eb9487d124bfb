package governance

import (
	"fmt"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/rrs"
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

func TestSampleSize(t *testing.T) {
	for _, tc := range []struct {
		pop  int64
		want int
	}{{0, 0}, {1, 1}, {50, 50}, {99, 99}, {100, 99}, {1_000_000, 99}} {
		if got := SampleSize(DefaultConfidence, DefaultTolerableRate, tc.pop); got != tc.want {
			t.Errorf("population %d: n = %d, want %d", tc.pop, got, tc.want)
		}
	}
	if got := SampleSize(0.99, 0.05, 1000); got != 90 {
		t.Errorf("99%%/5%%: n = %d, want 90", got)
	}
}

func TestClopperPearson(t *testing.T) {
	for _, tc := range []struct {
		k, n int
		want float64
	}{
		{0, 99, 1 - math.Pow(0.05, 1.0/99)}, // 0.029807…
		{0, 10, 1 - math.Pow(0.05, 0.1)},
		{10, 10, 1},
		{1, 99, 0.047021}, // exact binomial, computed independently
		{3, 100, 0.075711},
	} {
		got := ClopperPearsonUpper(tc.k, tc.n, 0.95)
		if math.Abs(got-tc.want) > 1e-6 {
			t.Errorf("k=%d n=%d: %f, want %f", tc.k, tc.n, got, tc.want)
		}
		// The bound is where P(X ≤ k) = 5 %.
		if tc.k > 0 && tc.k < tc.n {
			if cdf := BinomialCDF(tc.k, tc.n, got); math.Abs(cdf-0.05) > 1e-9 {
				t.Errorf("k=%d n=%d: CDF at the bound %g", tc.k, tc.n, cdf)
			}
		}
	}
	// n = 99, no mismatch passes a 3 % tolerable rate, one mismatch fails.
	for _, tc := range []struct {
		k, n int
		pop  int64
		pass bool
	}{
		{0, 99, 10_000, true}, {1, 99, 10_000, false},
		{0, 10, 10, true}, {1, 40, 40, true}, {2, 40, 40, false}, // census: the exact rate (1/40 = 2.5 %, 2/40 = 5 %)
		{0, 0, 0, true},
	} {
		bound, pass := SampleVerdict(tc.k, tc.n, tc.pop, 0.95, 0.03)
		if pass != tc.pass {
			t.Errorf("k=%d n=%d pop=%d: bound %f pass %v, want %v", tc.k, tc.n, tc.pop, bound, pass, tc.pass)
		}
	}
}

func TestSamplerDeterministicAndProportional(t *testing.T) {
	const seed = "5eed"
	rows := make([]Candidate, 2000)
	for i := range rows {
		amt := int64(100)
		if i%10 == 0 {
			amt = 10_000 // every tenth row is 100 times larger
		}
		rows[i] = Candidate{Line: i + 2, TxnID: fmt.Sprintf("T%06d", i), Amount: amt}
	}
	draw := func(order []Candidate) []ronghe.SampleRow {
		s, err := NewSampler(seed, 99)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range order {
			s.Offer(c)
		}
		if s.Population() != int64(len(order)) {
			t.Fatalf("population %d", s.Population())
		}
		return s.Rows()
	}
	a := draw(rows)
	rev := make([]Candidate, len(rows))
	for i, c := range rows {
		rev[len(rows)-1-i] = c
	}
	b := draw(rev)
	if len(a) != 99 || fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("the draw depends on row order or has the wrong size: %d rows", len(a))
	}
	big := 0
	for i, r := range a {
		if i > 0 && a[i-1].Line >= r.Line {
			t.Fatalf("rows not in file order")
		}
		if (r.Line-2)%10 == 0 {
			big++
		}
	}
	// The 200 large rows hold 10/11 of the money: nearly all of the sample.
	if big < 80 {
		t.Errorf("%d of 99 drawn rows are large; monetary-unit sampling should draw mostly large ones", big)
	}
	other, _ := NewSampler("5eee", 99)
	for _, c := range rows {
		other.Offer(c)
	}
	if fmt.Sprint(other.Rows()) == fmt.Sprint(a) {
		t.Error("another seed drew the same sample")
	}
	// Fewer rows than n: all of them (a census); zero amounts never.
	s, _ := NewSampler(seed, 99)
	s.Offer(Candidate{Line: 2, TxnID: "A", Amount: 5})
	s.Offer(Candidate{Line: 3, TxnID: "B", Amount: 0})
	if got := s.Rows(); len(got) != 1 || got[0].TxnID != "A" || s.Population() != 1 {
		t.Errorf("small population: %+v", got)
	}
	if _, err := NewSampler("not hex", 5); ronghe.ErrorCode(err) != ronghe.EINVALID {
		t.Errorf("bad seed: %v", err)
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
	if SampleSeed([]byte("key-one-key-one!"), d) != SampleSeed([]byte("key-one-key-one!"), d) {
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
