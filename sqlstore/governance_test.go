package sqlstore_test

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/sqlstore"
	"github.com/ronghe/ronghe/sqlstore/sqltest"
)

func TestGovernanceSQLite(t *testing.T) {
	t.Parallel()
	testGovernance(t, func(t *testing.T) *sqlstore.DB { return openDSN(t, sqltest.SQLite(t)) })
}

func TestGovernancePostgres(t *testing.T) {
	t.Parallel()
	sqltest.PostgresBase(t)
	testGovernance(t, func(t *testing.T) *sqlstore.DB { return openDSN(t, sqltest.Postgres(t)) })
}

// gbase is base in UTC, as the store returns times.
var gbase = base.UTC()

func testGovernance(t *testing.T, open func(t *testing.T) *sqlstore.DB) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, db *sqlstore.DB)
	}{
		{"quality lifecycle", testQualityLifecycle},
		{"tickets", testTickets},
		{"samples", testSamples},
		{"outbox", testOutbox},
		{"change is atomic", testChangeAtomic},
		{"unchecked submissions", testUncheckedSubmissions},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

func testQualityLifecycle(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	q := &ronghe.BatchQuality{Tenant: "B1", Batch: "B1_20250102_1", BusinessDate: "2025-01-02", Seq: 1, ContentDigest: "ab",
		ReceivedAt: gbase}
	got, err := db.BeginQuality(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != ronghe.QualityRunning || got.Attempts != 1 || !got.ReceivedAt.Equal(gbase) {
		t.Fatalf("begin: %+v", got)
	}
	if err := db.SetQualityProgress(ctx, "B1", q.Batch, "check", 3, 40); err != nil {
		t.Fatal(err)
	}
	if err := db.FailQuality(ctx, "B1", q.Batch, ronghe.QualityRetrying, "engine down"); err != nil {
		t.Fatal(err)
	}
	if err := db.FailQuality(ctx, "B1", q.Batch, "bogus", "x"); ronghe.ErrorCode(err) != ronghe.EINVALID {
		t.Fatalf("bad status: %v", err)
	}
	got, err = db.FindQuality(ctx, "B1", q.Batch)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != ronghe.QualityRetrying || got.LastError != "engine down" || got.Phase != "" && got.Phase != "check" {
		t.Fatalf("after failure: %+v", got)
	}
	if got, err = db.BeginQuality(ctx, q); err != nil || got.Attempts != 2 || got.Status != ronghe.QualityRunning {
		t.Fatalf("second attempt: %+v %v", got, err)
	}
	// Finish it.
	done := *got
	fin := gbase.Add(time.Minute)
	done.Status, done.Outcome, done.Problems, done.FinishedAt = ronghe.QualityDone, ronghe.OutcomeRejected, []string{"T01 TXN: x"}, &fin
	done.Errors, done.Warnings = 3, 1
	done.Stats = ronghe.QualityStats{Records: 100, ErrorRecords: 2, ExpectedBAL: 10, L10: 1, Checks: 30, FailedChecks: 2}
	if err := db.ApplyQuality(ctx, &ronghe.QualityChange{Quality: &done}); err != nil {
		t.Fatal(err)
	}
	got, err = db.FindQuality(ctx, "B1", q.Batch)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, &done) {
		t.Fatalf("stored\n%+v\nwant\n%+v", got, &done)
	}
	// A done record is not restarted or failed.
	if again, err := db.BeginQuality(ctx, q); err != nil || again.Status != ronghe.QualityDone || again.Attempts != 2 {
		t.Fatalf("begin on done: %+v %v", again, err)
	}
	if err := db.FailQuality(ctx, "B1", q.Batch, ronghe.QualityFailed, "late"); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.FindQuality(ctx, "B1", q.Batch); got.Status != ronghe.QualityDone {
		t.Fatalf("failed a done record: %+v", got)
	}
	// Other tenants see nothing.
	if _, err := db.FindQuality(ctx, "B2", q.Batch); ronghe.ErrorCode(err) != ronghe.ENOTFOUND {
		t.Fatalf("other tenant: %v", err)
	}
	// Listing and first dates.
	for _, x := range []*ronghe.BatchQuality{
		{Tenant: "B1", Batch: "B1_20250101_1", BusinessDate: "2025-01-01", Seq: 1, Status: ronghe.QualityDone, Outcome: ronghe.OutcomeSuperseded, ReceivedAt: gbase},
		{Tenant: "B1", Batch: "B1_20250103_1", BusinessDate: "2025-01-03", Seq: 1, Status: ronghe.QualityDone, Outcome: ronghe.OutcomeAccepted, ReceivedAt: gbase},
		{Tenant: "B2", Batch: "B2_20250103_1", BusinessDate: "2025-01-03", Seq: 1, Status: ronghe.QualityRunning, ReceivedAt: gbase},
	} {
		if err := db.ApplyQuality(ctx, &ronghe.QualityChange{Quality: x}); err != nil {
			t.Fatal(err)
		}
	}
	firsts, err := db.FirstBusinessDates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(firsts, map[string]string{"B1": "2025-01-02"}) {
		t.Fatalf("first dates: %v", firsts)
	}
	for _, tc := range []struct {
		f    ronghe.QualityFilter
		want []string
	}{
		{ronghe.QualityFilter{}, []string{"B1_20250101_1", "B1_20250102_1", "B1_20250103_1", "B2_20250103_1"}},
		{ronghe.QualityFilter{Tenant: "B1", From: "2025-01-02"}, []string{"B1_20250102_1", "B1_20250103_1"}},
		{ronghe.QualityFilter{To: "2025-01-02"}, []string{"B1_20250101_1", "B1_20250102_1"}},
		{ronghe.QualityFilter{Status: ronghe.QualityRunning}, []string{"B2_20250103_1"}},
	} {
		qs, err := db.ListQuality(ctx, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, q := range qs {
			names = append(names, q.Batch)
		}
		if !reflect.DeepEqual(names, tc.want) {
			t.Errorf("%+v: %v, want %v", tc.f, names, tc.want)
		}
	}
}

func ticket(id, tenant, date, rule, key string) *ronghe.Ticket {
	return &ronghe.Ticket{ID: id, Tenant: tenant, BusinessDate: date, Rule: rule, Severity: ronghe.SeverityError, Type: "TXN",
		Key: key, Field: "balance", Message: "m", State: ronghe.TicketOpen, FirstBatch: tenant + "_20250102_1",
		LastBatch: tenant + "_20250102_1", Occurrences: 1, OpenedAt: gbase, DueDate: "2025-04-08", DueAt: gbase.Add(96 * time.Hour), Version: 1}
}

func testTickets(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	a := ticket("TK-20250102-a", "B1", "2025-01-02", "C03", "T1")
	b := ticket("TK-20250102-b", "B1", "2025-01-02", "C03", "T2")
	c := ticket("TK-20250103-c", "B2", "2025-01-03", "T03", "B1")
	c.Severity = ronghe.SeverityWarning
	f := &ronghe.QualityFinding{Tenant: "B1", Batch: "B1_20250102_1", Rule: "C03", Severity: "E", Type: "TXN", Key: "T1",
		Field: "balance", Message: "m", Source: "B1_20250102_1", TicketID: a.ID, FoundAt: gbase}
	if err := db.ApplyQuality(ctx, &ronghe.QualityChange{NewTickets: []*ronghe.Ticket{a, b, c}, Findings: []*ronghe.QualityFinding{f, f}}); err != nil {
		t.Fatal(err)
	}
	fs, err := db.ListFindings(ctx, "B1", "B1_20250102_1")
	if err != nil || len(fs) != 1 || !reflect.DeepEqual(fs[0], f) {
		t.Fatalf("findings: %+v %v", fs, err)
	}
	// A second active ticket of the same identity is refused.
	dup := ticket("TK-20250102-z", "B1", "2025-01-02", "C03", "T1")
	if err := db.ApplyQuality(ctx, &ronghe.QualityChange{NewTickets: []*ronghe.Ticket{dup}}); ronghe.ErrorCode(err) != ronghe.ECONFLICT {
		t.Fatalf("duplicate active identity: %v", err)
	}
	got, err := db.FindTicket(ctx, "B1", a.ID)
	if err != nil || !reflect.DeepEqual(got, a) {
		t.Fatalf("find: %+v %v", got, err)
	}
	if _, err := db.FindTicket(ctx, "B2", a.ID); ronghe.ErrorCode(err) != ronghe.ENOTFOUND {
		t.Fatalf("other tenant: %v", err)
	}
	// Close a with version 2; a stale update fails.
	closed := *a
	at := gbase.Add(time.Hour)
	closed.State, closed.Resolution, closed.ClosedAt, closed.ClosedBy, closed.Version = ronghe.TicketClosed, ronghe.ResolutionCorrected, &at, "B1_20250102_2", 2
	if err := db.ApplyQuality(ctx, &ronghe.QualityChange{Tickets: []*ronghe.Ticket{&closed}}); err != nil {
		t.Fatal(err)
	}
	if err := db.ApplyQuality(ctx, &ronghe.QualityChange{Tickets: []*ronghe.Ticket{&closed}}); ronghe.ErrorCode(err) != ronghe.ECONFLICT {
		t.Fatalf("stale update: %v", err)
	}
	// Now the identity is free again.
	if err := db.ApplyQuality(ctx, &ronghe.QualityChange{NewTickets: []*ronghe.Ticket{dup}}); err != nil {
		t.Fatalf("new ticket after close: %v", err)
	}
	// Confirm c with an answer.
	conf := *c
	conf.State, conf.Resolution, conf.ClosedAt, conf.Answer, conf.AnswerNote, conf.Version = ronghe.TicketClosed, ronghe.ResolutionConfirmed, &at, []byte(`{"signed":1}`), "ok", 2
	if err := db.ApplyQuality(ctx, &ronghe.QualityChange{Tickets: []*ronghe.Ticket{&conf}}); err != nil {
		t.Fatal(err)
	}
	if cs, err := db.ConfirmedTickets(ctx, "B2", "2025-01-03"); err != nil || len(cs) != 1 || !reflect.DeepEqual(cs[0], &conf) {
		t.Fatalf("confirmed: %+v %v", cs, err)
	}
	act, err := db.ActiveTickets(ctx, "B1", "2025-01-02")
	if err != nil {
		t.Fatal(err)
	}
	if len(act) != 2 || act[0].ID != b.ID || act[1].ID != dup.ID {
		t.Fatalf("active: %+v", act)
	}
	due := gbase.Add(100 * time.Hour)
	for _, tc := range []struct {
		f    ronghe.TicketFilter
		want []string
	}{
		{ronghe.TicketFilter{}, []string{a.ID, b.ID, dup.ID, c.ID}},
		{ronghe.TicketFilter{Tenant: "B1", States: []string{ronghe.TicketOpen}}, []string{b.ID, dup.ID}},
		{ronghe.TicketFilter{States: []string{ronghe.TicketClosed}}, []string{a.ID, c.ID}},
		{ronghe.TicketFilter{BusinessDate: "2025-01-03"}, []string{c.ID}},
		{ronghe.TicketFilter{After: b.ID, Limit: 1}, []string{dup.ID}},
		{ronghe.TicketFilter{DueBefore: &due, States: []string{ronghe.TicketOpen}}, []string{b.ID, dup.ID}},
	} {
		ts, err := db.ListTickets(ctx, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, x := range ts {
			ids = append(ids, x.ID)
		}
		if !reflect.DeepEqual(ids, tc.want) {
			t.Errorf("%+v: %v, want %v", tc.f, ids, tc.want)
		}
	}
	counts, err := db.CountTickets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []ronghe.TicketCount{{Tenant: "B1", State: "closed", Count: 1}, {Tenant: "B1", State: "open", Count: 2}, {Tenant: "B2", State: "closed", Count: 1}}
	if !reflect.DeepEqual(counts, want) {
		t.Fatalf("counts %+v", counts)
	}
}

func testSamples(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	s := &ronghe.Sample{Tenant: "B1", Batch: "B1_20250102_1", Seed: "00ff", Confidence: 0.95, TolerableRate: 0.03, Population: 500, Units: 99,
		Rows: []ronghe.SampleRow{{Line: 2, TxnID: "T1", Hits: 1}, {Line: 9, TxnID: "T8", Hits: 98}}, Status: ronghe.SampleRequested, RequestedAt: gbase,
		DueDate: "2025-04-08", DueAt: gbase.Add(200 * time.Hour), Version: 1}
	empty := &ronghe.Sample{Tenant: "B1", Batch: "B1_20250103_1", Seed: "01", Status: ronghe.SampleNotRequired, RequestedAt: gbase,
		DueDate: "2025-04-08", DueAt: gbase, Version: 1}
	if err := db.ApplyQuality(ctx, &ronghe.QualityChange{NewSamples: []*ronghe.Sample{s, empty}}); err != nil {
		t.Fatal(err)
	}
	if err := db.ApplyQuality(ctx, &ronghe.QualityChange{NewSamples: []*ronghe.Sample{s}}); ronghe.ErrorCode(err) != ronghe.ECONFLICT {
		t.Fatalf("second sample: %v", err)
	}
	got, err := db.FindSample(ctx, "B1", s.Batch)
	if err != nil || !reflect.DeepEqual(got, s) {
		t.Fatalf("find:\n%+v\n%+v %v", got, s, err)
	}
	if got, err := db.FindSample(ctx, "B1", empty.Batch); err != nil || got.Rows == nil || len(got.Rows) != 0 {
		t.Fatalf("empty sample rows: %+v %v", got, err)
	}
	upd := *s
	at := gbase.Add(time.Hour)
	upd.Status, upd.Answer, upd.AnsweredAt, upd.Mismatches, upd.UpperBound, upd.DecidedAt, upd.Version = ronghe.SampleFailed, "A1", &at, 1, 0.047, &at, 2
	if err := db.ApplyQuality(ctx, &ronghe.QualityChange{Samples: []*ronghe.Sample{&upd}}); err != nil {
		t.Fatal(err)
	}
	if err := db.ApplyQuality(ctx, &ronghe.QualityChange{Samples: []*ronghe.Sample{&upd}}); ronghe.ErrorCode(err) != ronghe.ECONFLICT {
		t.Fatalf("stale sample: %v", err)
	}
	if got, _ := db.FindSample(ctx, "B1", s.Batch); !reflect.DeepEqual(got, &upd) {
		t.Fatalf("updated: %+v", got)
	}
	due := gbase.Add(time.Minute)
	ss, err := db.ListSamples(ctx, ronghe.SampleFilter{DueBefore: &due})
	if err != nil || len(ss) != 1 || ss[0].Batch != empty.Batch {
		t.Fatalf("due samples: %+v %v", ss, err)
	}
	if ss, _ := db.ListSamples(ctx, ronghe.SampleFilter{Status: ronghe.SampleFailed}); len(ss) != 1 || ss[0].Batch != s.Batch {
		t.Fatalf("failed samples: %+v", ss)
	}
}

func testOutbox(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	m1 := &ronghe.OutboxMessage{Tenant: "B1", Kind: "quality.report", Subject: "s1", RefersTo: "X", ContentType: "application/json", Body: []byte("{}"), CreatedAt: gbase}
	m2 := &ronghe.OutboxMessage{Tenant: "B1", Kind: "quality.problems", Subject: "s2", RefersTo: "X", ContentType: "text/csv", Body: []byte("a,b\n"), CreatedAt: gbase}
	m3 := &ronghe.OutboxMessage{Tenant: "B2", Kind: "quality.escalation", Subject: "s3", ContentType: "application/json", Body: []byte("{}"), CreatedAt: gbase}
	if err := db.ApplyQuality(ctx, &ronghe.QualityChange{Outbox: []*ronghe.OutboxMessage{m1, m2, m3}}); err != nil {
		t.Fatal(err)
	}
	if m1.ID == 0 || m2.ID <= m1.ID || m3.ID <= m2.ID {
		t.Fatalf("ids %d %d %d", m1.ID, m2.ID, m3.ID)
	}
	now := gbase.Add(time.Hour)
	got, err := db.ClaimOutbox(ctx, []int64{m2.ID}, now, now.Add(time.Minute), 10)
	if err != nil || len(got) != 1 || got[0].ID != m2.ID || string(got[0].Body) != "a,b\n" {
		t.Fatalf("claim by id: %+v %v", got, err)
	}
	// m2 is claimed: a second claimer gets the others only.
	got, err = db.ClaimOutbox(ctx, nil, now, now.Add(time.Minute), 10)
	if err != nil || len(got) != 2 || got[0].ID != m1.ID || got[1].ID != m3.ID {
		t.Fatalf("claim all: %+v %v", got, err)
	}
	// After the claim expires, an undelivered message is offered again.
	if err := db.OutboxDelivered(ctx, m1.ID, "MB1", now); err != nil {
		t.Fatal(err)
	}
	if err := db.OutboxDelivered(ctx, m1.ID, "MB1", now); ronghe.ErrorCode(err) != ronghe.ECONFLICT {
		t.Fatalf("delivered twice: %v", err)
	}
	later := now.Add(2 * time.Minute)
	got, err = db.ClaimOutbox(ctx, nil, later, later.Add(time.Minute), 10)
	if err != nil || len(got) != 2 || got[0].ID != m2.ID || got[1].ID != m3.ID {
		t.Fatalf("claim after expiry: %+v %v", got, err)
	}
	list, err := db.ListOutbox(ctx, "B1", "X")
	if err != nil || len(list) != 2 || list[0].MessageID != "MB1" || list[0].DeliveredAt == nil || list[1].DeliveredAt != nil {
		t.Fatalf("list: %+v %v", list, err)
	}
	if list, _ := db.ListOutbox(ctx, "B2", "X"); len(list) != 0 {
		t.Fatalf("other tenant's outbox: %+v", list)
	}
}

func testChangeAtomic(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	q := &ronghe.BatchQuality{Tenant: "B1", Batch: "B1_20250102_1", BusinessDate: "2025-01-02", Seq: 1, Status: ronghe.QualityDone,
		Outcome: ronghe.OutcomeAccepted, ReceivedAt: gbase}
	stale := ticket("TK-x", "B1", "2025-01-02", "C01", "A1")
	stale.Version = 7 // no such stored ticket: the change must fail as a whole
	m := &ronghe.OutboxMessage{Tenant: "B1", Kind: "k", ContentType: "text/plain", CreatedAt: gbase}
	err := db.ApplyQuality(ctx, &ronghe.QualityChange{Quality: q, Tickets: []*ronghe.Ticket{stale}, Outbox: []*ronghe.OutboxMessage{m},
		NewTickets: []*ronghe.Ticket{ticket("TK-y", "B1", "2025-01-02", "C01", "A2")}})
	if ronghe.ErrorCode(err) != ronghe.ECONFLICT {
		t.Fatalf("want conflict, got %v", err)
	}
	if _, err := db.FindQuality(ctx, "B1", q.Batch); ronghe.ErrorCode(err) != ronghe.ENOTFOUND {
		t.Fatalf("quality stored by a failed change: %v", err)
	}
	if _, err := db.FindTicket(ctx, "B1", "TK-y"); ronghe.ErrorCode(err) != ronghe.ENOTFOUND {
		t.Fatalf("ticket stored by a failed change: %v", err)
	}
	if got, _ := db.ClaimOutbox(ctx, nil, gbase, gbase, 10); len(got) != 0 {
		t.Fatalf("outbox written by a failed change: %+v", got)
	}
}

// testUncheckedSubmissions: accepted submissions without a done or failed
// record, from the latest date before the given one with a finished check
// up to that date.
func testUncheckedSubmissions(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	const tn = "B1000000000001"
	submit := func(tenant, id string, accept bool) {
		t.Helper()
		in := newSubmission(tenant, id, gbase)
		if _, _, err := db.CreateSubmission(ctx, in); err != nil {
			t.Fatal(err)
		}
		if !accept {
			return
		}
		for _, f := range in.Files {
			if err := db.CompleteFile(ctx, tenant, id, f.Name, "blob/"+id+"/"+f.Name); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.AcceptSubmission(ctx, tenant, id, gbase, 1, []byte("r")); err != nil {
			t.Fatal(err)
		}
	}
	record := func(batch, date string, seq int, status string) {
		t.Helper()
		q := &ronghe.BatchQuality{Tenant: tn, Batch: batch, BusinessDate: date, Seq: seq, ReceivedAt: gbase}
		if _, err := db.BeginQuality(ctx, q); err != nil {
			t.Fatal(err)
		}
		switch status {
		case ronghe.QualityDone:
			q.Status, q.Outcome, q.FinishedAt = ronghe.QualityDone, ronghe.OutcomeAccepted, &gbase
			if err := db.ApplyQuality(ctx, &ronghe.QualityChange{Quality: q}); err != nil {
				t.Fatal(err)
			}
		case ronghe.QualityRetrying, ronghe.QualityFailed:
			if err := db.FailQuality(ctx, tn, batch, status, "x"); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, id := range []string{"_20250101_1", "_20250102_1", "_20250103_1", "_20250103_2", "_20250105_1", "_20250106_1.P01", "_20250107_1"} {
		submit(tn, tn+id, true)
	}
	submit(tn, tn+"_20250106_1", false)
	submit("B1000000000002", "B1000000000002_20250103_1", true)
	record(tn+"_20250101_1", "2025-01-01", 1, ronghe.QualityDone)
	record(tn+"_20250102_1", "2025-01-02", 1, ronghe.QualityRetrying)
	record(tn+"_20250103_2", "2025-01-03", 2, ronghe.QualityDone)
	record(tn+"_20250105_1", "2025-01-05", 1, ronghe.QualityFailed)
	for _, c := range []struct {
		upTo string
		want []string
	}{
		{"2025-01-01", nil},
		{"2025-01-02", []string{tn + "_20250102_1"}},
		{"2025-01-03", []string{tn + "_20250102_1", tn + "_20250103_1"}},
		{"2025-01-04", []string{tn + "_20250103_1"}},
		{"2025-01-06", []string{tn + "_20250106_1.P01"}},
		{"2025-01-08", []string{tn + "_20250106_1.P01", tn + "_20250107_1"}},
	} {
		got, err := db.UncheckedSubmissions(ctx, tn, c.upTo)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("up to %s: %v, want %v", c.upTo, got, c.want)
		}
	}
	if _, err := db.UncheckedSubmissions(ctx, tn, "2025-1-6"); ronghe.ErrorCode(err) != ronghe.EINVALID {
		t.Errorf("bad date: %v", err)
	}
}
