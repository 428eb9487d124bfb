package report

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/policy"
	"github.com/ronghe/ronghe/suite"
)

// fakeAuthorizer grants queries quoting "AU-ok" and refuses the rest; a
// granted query of purpose "unrecorded" fails to be recorded.
type fakeAuthorizer struct{ calls atomic.Int64 }

func (a *fakeAuthorizer) AuthorizeThen(_ context.Context, q policy.Query, granted func()) (*ronghe.QueryRecord, *ronghe.Authorization, error) {
	a.calls.Add(1)
	rec := &ronghe.QueryRecord{ID: "QR1", Enterprise: q.Enterprise, Institution: q.Institution}
	if q.AuthorizationID != "AU-ok" {
		return rec, nil, ronghe.Errorf(ronghe.EFORBIDDEN, "no valid authorization for this query")
	}
	granted()
	if q.Purpose == "unrecorded" { // granted, but the record could not be stored
		return nil, nil, ronghe.Errorf(ronghe.EUNAVAILABLE, "transparency log unavailable; query again later")
	}
	return rec, &ronghe.Authorization{ID: "AU-ok", Purpose: q.Purpose}, nil
}

// blockingStore answers FlowFacts only once released, or fails when its
// context ends first.
type blockingStore struct {
	release   chan struct{}
	reads     atomic.Int64
	cancelled atomic.Bool
}

func (s *blockingStore) ReplaceFlowDay(context.Context, *ronghe.FlowDay) (bool, error) {
	return false, nil
}

func (s *blockingStore) FlowFacts(ctx context.Context, uscc, from, to string) (*ronghe.FlowFacts, error) {
	s.reads.Add(1)
	select {
	case <-s.release:
		return &ronghe.FlowFacts{
			Accounts: []ronghe.FlowAccount{{USCC: uscc, Inst: "B1", Key: "k", Type: "1", Currency: "CNY", OpenDate: "2020-01-01"}},
			Cells:    []ronghe.DatedFlowCell{cell("2025-01-02", "CNY", "a", 100_00, 0)},
		}, nil
	case <-ctx.Done():
		s.cancelled.Store(true)
		return nil, ctx.Err()
	}
}

type fakeDisputes struct{ ds []*ronghe.Dispute }

func (f fakeDisputes) OpenDisputes(context.Context, string, string, string) ([]*ronghe.Dispute, error) {
	return f.ds, nil
}

func TestServiceReadsAheadButRefusesWithoutWaiting(t *testing.T) {
	signer, err := suite.GenerateKey(ronghe.SuiteINTL)
	if err != nil {
		t.Fatal(err)
	}
	store := &blockingStore{release: make(chan struct{})}
	at := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	disputes := fakeDisputes{[]*ronghe.Dispute{{ID: "DP1", Enterprise: ent, Institution: "B1", From: "2025-01-01", To: "2025-01-31",
		RecordClass: ronghe.RecordClassTXN, Status: ronghe.DisputeOpen, RegisteredAt: at, Deadline: at.AddDate(0, 0, 21)}}}
	auth := &fakeAuthorizer{}
	svc := New(Config{Policy: auth, Store: store, Signers: []suite.Signer{signer}, Disputes: disputes, RatePerSecond: 0.001, Burst: 3})
	req := Request{Enterprise: ent, AuthorizationID: "AU-bad", Purpose: ronghe.PurposeLoanApplication, From: "2025-01", To: "2025-02"}

	// A refusal reads no facts (the store would block): it does not depend
	// on them.
	if _, _, err := svc.FlowReport(context.Background(), "B9", req); ronghe.ErrorCode(err) != ronghe.EFORBIDDEN {
		t.Fatalf("refused: %v", err)
	}
	if n := store.reads.Load(); n != 0 {
		t.Fatalf("a refusal read the facts %d times", n)
	}

	// A granted query starts reading the facts, but one that cannot be
	// recorded is not answered, and the read is abandoned.
	unrecorded := req
	unrecorded.AuthorizationID, unrecorded.Purpose = "AU-ok", "unrecorded"
	if _, _, err := svc.FlowReport(context.Background(), "B9", unrecorded); ronghe.ErrorCode(err) != ronghe.EUNAVAILABLE {
		t.Fatalf("unrecorded: %v", err)
	}
	waitUntil(t, store.cancelled.Load)

	// A granted query waits for the facts and marks the disputed month.
	req.AuthorizationID = "AU-ok"
	done := make(chan error, 1)
	var r *Report
	go func() {
		var err error
		_, r, err = svc.FlowReport(context.Background(), "B9", req)
		done <- err
	}()
	close(store.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if r.Grantee != "B9" || r.AuthorizationID != "AU-ok" || len(r.Currencies) != 1 || r.Currencies[0].Monthly[0].Inflow != 100_00 ||
		!r.Currencies[0].Monthly[0].Disputed || r.Currencies[0].Monthly[1].Disputed || len(r.Disputes) != 1 {
		t.Fatalf("report %+v", r)
	}

	// The burst of 3 is spent: the next request is refused before anything
	// is asked.
	calls := auth.calls.Load()
	if _, _, err := svc.FlowReport(context.Background(), "B9", req); ronghe.ErrorCode(err) != ronghe.ERATELIMIT {
		t.Fatalf("over the burst: %v", err)
	}
	if auth.calls.Load() != calls {
		t.Error("a rate-limited request reached the authorization")
	}
	// Another institution has its own limit.
	if _, _, err := svc.FlowReport(context.Background(), "B8", req); err != nil {
		t.Fatalf("another institution: %v", err)
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition never held")
		}
		time.Sleep(time.Millisecond)
	}
}
