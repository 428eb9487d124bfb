package sqlstore_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/sqlstore"
	"github.com/ronghe/ronghe/sqlstore/sqltest"
)

func TestDisputesSQLite(t *testing.T) {
	testDisputes(t, openDSN(t, sqltest.SQLite(t)))
}

func TestDisputesPostgres(t *testing.T) {
	testDisputes(t, openDSN(t, sqltest.Postgres(t)))
}

func newDispute(id, ent, inst, from, to string, at time.Time) *ronghe.Dispute {
	return &ronghe.Dispute{ID: id, Enterprise: ent, Institution: inst, From: from, To: to, RecordClass: ronghe.RecordClassTXN,
		Reason: "收入少报 " + id, Document: []byte(`{"doc":"` + id + `"}`), Digest: []byte("digest-" + id), KeyID: "k1",
		RegisteredAt: at, LogIndex: 7, Deadline: at.AddDate(0, 0, 21), Status: ronghe.DisputeOpen}
}

func ids(ds []*ronghe.Dispute) []string {
	out := []string{}
	for _, d := range ds {
		out = append(out, d.ID)
	}
	return out
}

func testDisputes(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	const entA, entB, bankX, bankY = "91350100M000100Y43", "91110000600037341L", "B1000000000001", "B1000000000002"
	at := base
	d1 := newDispute("DP1", entA, bankX, "2025-01-01", "2025-01-31", at)
	d1.Currency = "USD"
	d2 := newDispute("DP2", entA, bankY, "2025-02-10", "2025-02-10", at.Add(time.Minute))
	d2.RecordClass = ronghe.RecordClassBAL
	d3 := newDispute("DP3", entB, bankX, "2024-12-01", "2025-03-31", at.Add(2*time.Minute))
	for _, d := range []*ronghe.Dispute{d1, d2, d3} {
		if err := db.PutDispute(ctx, d); err != nil {
			t.Fatal(err)
		}
	}

	// Stored as given, times in UTC at microsecond precision.
	got, err := db.FindDispute(ctx, "DP1")
	if err != nil {
		t.Fatal(err)
	}
	want := *d1
	want.RegisteredAt, want.Deadline = base.UTC(), base.AddDate(0, 0, 21).UTC()
	if !reflect.DeepEqual(got, &want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, &want)
	}

	// Conflicts and validation.
	dup := newDispute("DP1", entA, bankX, "2025-01-01", "2025-01-02", at)
	dup.Digest = []byte("other")
	sameDoc := newDispute("DP9", entA, bankX, "2025-01-01", "2025-01-02", at)
	sameDoc.Digest = d1.Digest
	for name, d := range map[string]*ronghe.Dispute{"same ID": dup, "same document": sameDoc} {
		if err := db.PutDispute(ctx, d); ronghe.ErrorCode(err) != ronghe.ECONFLICT {
			t.Errorf("%s: %v, want conflict", name, err)
		}
	}
	bad := []func(d *ronghe.Dispute){
		func(d *ronghe.Dispute) { d.From, d.To = "2025-02-01", "2025-01-01" },
		func(d *ronghe.Dispute) { d.From = "2025-1-1" },
		func(d *ronghe.Dispute) { d.RecordClass = "GL" },
		func(d *ronghe.Dispute) { d.Status = ronghe.DisputeResolved },
		func(d *ronghe.Dispute) { d.Document = nil },
		func(d *ronghe.Dispute) { d.Deadline = d.RegisteredAt },
		func(d *ronghe.Dispute) { d.Enterprise = "" },
	}
	for i, mutate := range bad {
		d := newDispute(fmt.Sprintf("DPBAD%d", i), entA, bankX, "2025-01-01", "2025-01-31", at)
		mutate(d)
		if err := db.PutDispute(ctx, d); ronghe.ErrorCode(err) != ronghe.EINVALID {
			t.Errorf("invalid dispute %d: %v", i, err)
		}
	}

	// Filters.
	later := at.Add(time.Hour)
	cases := []struct {
		name string
		f    ronghe.DisputeFilter
		want []string
	}{
		{"enterprise, newest first", ronghe.DisputeFilter{Enterprise: entA}, []string{"DP2", "DP1"}},
		{"institution", ronghe.DisputeFilter{Institution: bankX}, []string{"DP3", "DP1"}},
		{"both parties", ronghe.DisputeFilter{Enterprise: entB, Institution: bankY}, []string{}},
		{"overlap inside", ronghe.DisputeFilter{Enterprise: entA, From: "2025-01-15", To: "2025-01-15"}, []string{"DP1"}},
		{"overlap edge", ronghe.DisputeFilter{Enterprise: entA, From: "2025-01-31", To: "2025-02-10"}, []string{"DP2", "DP1"}},
		{"no overlap", ronghe.DisputeFilter{Enterprise: entA, From: "2025-02-11", To: "2025-12-31"}, []string{}},
		{"covers date", ronghe.DisputeFilter{Institution: bankX, From: "2025-01-20", To: "2025-01-20"}, []string{"DP3", "DP1"}},
		{"registered before", ronghe.DisputeFilter{RegisteredBefore: at.Add(90 * time.Second)}, []string{"DP2", "DP1"}},
		{"overdue", ronghe.DisputeFilter{Status: ronghe.DisputeOpen, DeadlineBefore: at.AddDate(0, 0, 21).Add(30 * time.Second)}, []string{"DP1"}},
		{"limit", ronghe.DisputeFilter{Limit: 1}, []string{"DP3"}},
	}
	for _, tc := range cases {
		list, err := db.ListDisputes(ctx, tc.f)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := ids(list); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}

	// Delivery.
	if err := db.SetDisputeDelivered(ctx, "DP1", "MB123"); err != nil {
		t.Fatal(err)
	}
	if err := db.SetDisputeDelivered(ctx, "DPNONE", "MB123"); ronghe.ErrorCode(err) != ronghe.ENOTFOUND {
		t.Errorf("delivering an unknown dispute: %v", err)
	}

	// Resolution by correction, once.
	corr := &ronghe.DisputeResolution{How: ronghe.ResolvedByCorrection, At: later, LogIndex: 9, CorrectionBatch: bankX + "_20250115_2", CorrectionMessageID: bankX + "_20250115_2"}
	if err := db.ResolveDispute(ctx, "DP1", corr); err != nil {
		t.Fatal(err)
	}
	if err := db.ResolveDispute(ctx, "DP1", corr); ronghe.ErrorCode(err) != ronghe.ECONFLICT {
		t.Errorf("resolving twice: %v", err)
	}
	if err := db.ResolveDispute(ctx, "DPNONE", corr); ronghe.ErrorCode(err) != ronghe.ENOTFOUND {
		t.Errorf("resolving an unknown dispute: %v", err)
	}
	got, err = db.FindDispute(ctx, "DP1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != ronghe.DisputeResolved || got.Resolution != ronghe.ResolvedByCorrection || got.MailboxID != "MB123" ||
		got.CorrectionBatch != corr.CorrectionBatch || got.ResolvedAt == nil || !got.ResolvedAt.Equal(later) ||
		got.ResolveLogIndex == nil || *got.ResolveLogIndex != 9 || got.Answer != nil {
		t.Errorf("resolved by correction: %+v", got)
	}

	// Resolution by answer.
	ans := &ronghe.DisputeAnswer{Outcome: ronghe.AnswerConfirmed, Text: "经核对，流水无误", Document: []byte("signed answer"),
		Digest: []byte("answer digest"), KeyID: "kb", At: later}
	if err := db.ResolveDispute(ctx, "DP2", &ronghe.DisputeResolution{How: ronghe.ResolvedByAnswer, At: later, LogIndex: 10}); ronghe.ErrorCode(err) != ronghe.EINVALID {
		t.Errorf("answer resolution without the answer: %v", err)
	}
	if err := db.ResolveDispute(ctx, "DP2", &ronghe.DisputeResolution{How: ronghe.ResolvedByAnswer, At: later, LogIndex: 10, Answer: ans}); err != nil {
		t.Fatal(err)
	}
	got, err = db.FindDispute(ctx, "DP2")
	if err != nil {
		t.Fatal(err)
	}
	wantAns := *ans
	wantAns.At = later.UTC()
	if got.Status != ronghe.DisputeResolved || got.Resolution != ronghe.ResolvedByAnswer || !reflect.DeepEqual(got.Answer, &wantAns) || got.CorrectionBatch != "" {
		t.Errorf("resolved by answer: %+v %+v", got, got.Answer)
	}
	list, err := db.ListDisputes(ctx, ronghe.DisputeFilter{Status: ronghe.DisputeOpen})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(list); !reflect.DeepEqual(got, []string{"DP3"}) {
		t.Errorf("open after resolutions: %v", got)
	}
}
