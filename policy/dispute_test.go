package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/evidence"
	"github.com/ronghe/ronghe/rrs"
	"github.com/ronghe/ronghe/sqlstore/sqltest"
	"github.com/ronghe/ronghe/suite"
	"github.com/ronghe/ronghe/tlog"
)

// fakeMailbox records deliveries and fails while fail is set.
type fakeMailbox struct {
	mu   sync.Mutex
	fail bool
	got  []ronghe.MailboxMessage
}

func (m *fakeMailbox) Deliver(_ context.Context, tenant, kind, subject, refersTo, contentType string, body []byte) (*ronghe.MailboxMessage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return nil, errors.New("mailbox down")
	}
	msg := ronghe.MailboxMessage{ID: fmt.Sprintf("MB%d", len(m.got)+1), Tenant: tenant, Kind: kind, Subject: subject, ContentType: contentType, Body: body}
	m.got = append(m.got, msg)
	return &msg, nil
}

type disputeFixture struct {
	*fixture
	ds      *Disputes
	mail    *fakeMailbox
	bankKey suite.Signer
}

func newDisputeFixture(t *testing.T, dsn string) *disputeFixture {
	t.Helper()
	f := newFixture(t, dsn)
	k, err := suite.GenerateKey(ronghe.SuiteGM)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes, _ := k.PublicKey().MarshalPEM()
	if err := f.db.RegisterKey(context.Background(), &ronghe.Key{ID: k.PublicKey().Fingerprint(), Owner: bankX, Suite: ronghe.SuiteGM,
		PublicKeyPEM: string(pemBytes), ValidFrom: f.clock.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	// The service reads the fixture's clock, which the tests move.
	f.svc = New(Config{Store: f.db, Keys: f.db, Institutions: f.db, Log: f.log, Now: func() time.Time { return f.clock }})
	mail := &fakeMailbox{}
	return &disputeFixture{fixture: f, ds: NewDisputes(DisputeConfig{Policy: f.svc, Store: f.db, Mailbox: mail}), mail: mail, bankKey: k}
}

func (f *disputeFixture) disputeDoc(t *testing.T, key suite.Signer, d DisputeDoc) []byte {
	t.Helper()
	d.Type = TypeDispute
	if d.SignedAt.IsZero() {
		d.SignedAt = f.clock
	}
	doc, err := evidence.Sign(d, key)
	if err != nil {
		t.Fatal(err)
	}
	return doc.Marshal()
}

func (f *disputeFixture) answerDoc(t *testing.T, key suite.Signer, a DisputeAnswerDoc) []byte {
	t.Helper()
	if a.Type == "" {
		a.Type = TypeDisputeAnswer
	}
	if a.SignedAt.IsZero() {
		a.SignedAt = f.clock
	}
	doc, err := evidence.Sign(a, key)
	if err != nil {
		t.Fatal(err)
	}
	return doc.Marshal()
}

// leafAt reads the log entry at index.
func leafAt(t *testing.T, lg *tlog.Log, index uint64) tlog.Event {
	t.Helper()
	if _, _, err := lg.AwaitCheckpoint(context.Background(), index); err != nil {
		t.Fatal(err)
	}
	leaf, err := lg.Leaf(context.Background(), index)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := tlog.ParseLeaf(leaf)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestDisputeDeadline(t *testing.T) {
	cst := rrs.Shanghai
	for _, tc := range []struct {
		registered time.Time
		want       string // the deadline, Asia/Shanghai
	}{
		{time.Date(2026, 3, 1, 10, 0, 0, 0, cst), "2026-03-22T00:00:00+08:00"},
		{time.Date(2026, 3, 1, 0, 0, 0, 0, cst), "2026-03-22T00:00:00+08:00"},
		{time.Date(2026, 3, 1, 23, 59, 59, 0, cst), "2026-03-22T00:00:00+08:00"},
		// 16:30 UTC is already the next day in Shanghai.
		{time.Date(2026, 3, 1, 16, 30, 0, 0, time.UTC), "2026-03-23T00:00:00+08:00"},
		// Month and year ends; a deadline on a weekend or holiday stays.
		{time.Date(2026, 2, 10, 9, 0, 0, 0, cst), "2026-03-03T00:00:00+08:00"},
		{time.Date(2025, 12, 20, 9, 0, 0, 0, cst), "2026-01-10T00:00:00+08:00"},
		{time.Date(2026, 9, 20, 9, 0, 0, 0, cst), "2026-10-11T00:00:00+08:00"},
	} {
		got := DisputeDeadline(tc.registered).In(cst).Format(time.RFC3339)
		if got != tc.want {
			t.Errorf("registered %s: deadline %s, want %s", tc.registered, got, tc.want)
		}
	}
}

func TestDisputesSQLite(t *testing.T)   { testDisputes(t, sqltest.SQLite(t)) }
func TestDisputesPostgres(t *testing.T) { testDisputes(t, sqltest.Postgres(t)) }

func testDisputes(t *testing.T, dsn string) {
	ctx := context.Background()
	f := newDisputeFixture(t, dsn)
	feb := DisputeDoc{Enterprise: entA, Institution: bankX, Month: "2026-02", RecordClass: ronghe.RecordClassTXN, Reason: "二月收入少报一笔货款"}

	// Filing registers, logs and delivers, once.
	raw := f.disputeDoc(t, f.keyA, feb)
	d, err := f.ds.File(ctx, entA, raw)
	if err != nil {
		t.Fatal(err)
	}
	if d.From != "2026-02-01" || d.To != "2026-02-28" || d.Status != ronghe.DisputeOpen || d.Overdue || d.MailboxID != "MB1" ||
		!d.Deadline.Equal(DisputeDeadline(f.clock)) || !strings.HasPrefix(d.ID, "DP") {
		t.Fatalf("filed: %+v", d)
	}
	if ev := leafAt(t, f.log, d.LogIndex); ev.Kind != tlog.KindDisputeRegistered || ev.Tenant != entA || ev.MessageID != d.ID {
		t.Errorf("registration leaf: %+v", ev)
	}
	if len(f.mail.got) != 1 || f.mail.got[0].Tenant != bankX || f.mail.got[0].Kind != MailboxDispute {
		t.Fatalf("deliveries: %+v", f.mail.got)
	}
	var notice DisputeNotice
	if err := json.Unmarshal(f.mail.got[0].Body, &notice); err != nil {
		t.Fatal(err)
	}
	if notice.DisputeID != d.ID || notice.Enterprise != entA || notice.Reason != feb.Reason || !notice.Deadline.Equal(d.Deadline) ||
		string(notice.Document) != string(raw) || !strings.Contains(f.mail.got[0].Subject, "2026-03-21") {
		t.Errorf("notice: %+v, subject %q", notice, f.mail.got[0].Subject)
	}
	again, err := f.ds.File(ctx, entA, raw)
	if err != nil || again.ID != d.ID || len(f.mail.got) != 1 {
		t.Fatalf("filing again: %+v %v (%d deliveries)", again, err, len(f.mail.got))
	}

	// A delivery that fails is an error; filing again delivers.
	f.mail.fail = true
	rawBAL := f.disputeDoc(t, f.keyA, DisputeDoc{Enterprise: entA, Institution: bankY, From: "2026-01-05", To: "2026-01-06",
		RecordClass: ronghe.RecordClassBAL, Currency: "USD", Reason: "余额不符"})
	if _, err := f.ds.File(ctx, entA, rawBAL); ronghe.ErrorCode(err) != ronghe.EUNAVAILABLE {
		t.Fatalf("undeliverable dispute: %v", err)
	}
	f.mail.fail = false
	bal, err := f.ds.File(ctx, entA, rawBAL)
	if err != nil || bal.MailboxID != "MB2" || bal.Institution != bankY || bal.Currency != "USD" {
		t.Fatalf("filing again after a failed delivery: %+v %v", bal, err)
	}

	// What a dispute may say.
	bad := []struct {
		name string
		key  suite.Signer
		doc  DisputeDoc
		code string
	}{
		{"another enterprise", f.keyA, DisputeDoc{Enterprise: entB, Institution: bankX, Month: "2026-02", RecordClass: "TXN", Reason: "x"}, ronghe.EFORBIDDEN},
		{"unknown class", f.keyA, DisputeDoc{Enterprise: entA, Institution: bankX, Month: "2026-02", RecordClass: "GL", Reason: "x"}, ronghe.EINVALID},
		{"month and range", f.keyA, DisputeDoc{Enterprise: entA, Institution: bankX, Month: "2026-02", From: "2026-02-01", To: "2026-02-02", RecordClass: "TXN", Reason: "x"}, ronghe.EINVALID},
		{"neither", f.keyA, DisputeDoc{Enterprise: entA, Institution: bankX, RecordClass: "TXN", Reason: "x"}, ronghe.EINVALID},
		{"open range", f.keyA, DisputeDoc{Enterprise: entA, Institution: bankX, From: "2026-02-01", RecordClass: "TXN", Reason: "x"}, ronghe.EINVALID},
		{"bad month", f.keyA, DisputeDoc{Enterprise: entA, Institution: bankX, Month: "2026-13", RecordClass: "TXN", Reason: "x"}, ronghe.EINVALID},
		{"bad date", f.keyA, DisputeDoc{Enterprise: entA, Institution: bankX, From: "2026-02-30", To: "2026-03-01", RecordClass: "TXN", Reason: "x"}, ronghe.EINVALID},
		{"backwards", f.keyA, DisputeDoc{Enterprise: entA, Institution: bankX, From: "2026-02-10", To: "2026-02-01", RecordClass: "TXN", Reason: "x"}, ronghe.EINVALID},
		{"future", f.keyA, DisputeDoc{Enterprise: entA, Institution: bankX, Month: "2026-04", RecordClass: "TXN", Reason: "x"}, ronghe.EINVALID},
		{"25 months", f.keyA, DisputeDoc{Enterprise: entA, Institution: bankX, From: "2024-02-01", To: "2026-02-01", RecordClass: "TXN", Reason: "x"}, ronghe.EINVALID},
		{"unknown institution", f.keyA, DisputeDoc{Enterprise: entA, Institution: "B9999999999999", Month: "2026-02", RecordClass: "TXN", Reason: "x"}, ronghe.EINVALID},
		{"no reason", f.keyA, DisputeDoc{Enterprise: entA, Institution: bankX, Month: "2026-02", RecordClass: "TXN", Reason: "  "}, ronghe.EINVALID},
		{"long reason", f.keyA, DisputeDoc{Enterprise: entA, Institution: bankX, Month: "2026-02", RecordClass: "TXN", Reason: strings.Repeat("异", MaxReasonRunes+1)}, ronghe.EINVALID},
		{"bad currency", f.keyA, DisputeDoc{Enterprise: entA, Institution: bankX, Month: "2026-02", RecordClass: "TXN", Currency: "usd", Reason: "x"}, ronghe.EINVALID},
		{"signed by another's key", f.keyB, DisputeDoc{Enterprise: entA, Institution: bankX, Month: "2026-02", RecordClass: "TXN", Reason: "x"}, ronghe.EINTEGRITY},
		{"signed before the key", f.keyA, DisputeDoc{Enterprise: entA, Institution: bankX, Month: "2026-02", RecordClass: "TXN", Reason: "x", SignedAt: f.clock.Add(-2 * time.Hour)}, ronghe.EEXPIRED},
	}
	for _, tc := range bad {
		if _, err := f.ds.File(ctx, entA, f.disputeDoc(t, tc.key, tc.doc)); ronghe.ErrorCode(err) != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
		}
	}
	authAsDispute := f.authDoc(t, f.keyA, f.validDoc(entA, bankX))
	if _, err := f.ds.File(ctx, entA, authAsDispute); ronghe.ErrorCode(err) != ronghe.EINTEGRITY {
		t.Errorf("an authorization filed as a dispute: %v", err)
	}
	// The current month is disputed up to today.
	mar, err := f.ds.File(ctx, entA, f.disputeDoc(t, f.keyA, DisputeDoc{Enterprise: entA, Institution: bankX, Month: "2026-03", RecordClass: "ACCT", Reason: "账户开户日期有误"}))
	if err != nil || mar.From != "2026-03-01" || mar.To != "2026-03-01" {
		t.Fatalf("current month: %+v %v", mar, err)
	}

	// Each party sees its own disputes only.
	for _, tc := range []struct {
		who  Party
		want int
	}{
		{Party{Enterprise: entA}, 3}, {Party{Enterprise: entB}, 0}, {Party{Institution: bankX}, 2}, {Party{Institution: bankY}, 1},
	} {
		list, err := f.ds.List(ctx, tc.who, "", 0)
		if err != nil || len(list) != tc.want {
			t.Errorf("%+v lists %d disputes (%v), want %d", tc.who, len(list), err, tc.want)
		}
	}
	if _, err := f.ds.List(ctx, Party{}, "", 0); ronghe.ErrorCode(err) != ronghe.EFORBIDDEN {
		t.Errorf("listing as nobody: %v", err)
	}
	if _, err := f.ds.List(ctx, Party{Enterprise: entA, Institution: bankX}, "", 0); ronghe.ErrorCode(err) != ronghe.EFORBIDDEN {
		t.Errorf("listing as two parties: %v", err)
	}
	for _, who := range []Party{{Enterprise: entB}, {Institution: bankY}} {
		if _, err := f.ds.Find(ctx, who, d.ID); ronghe.ErrorCode(err) != ronghe.ENOTFOUND {
			t.Errorf("%+v reads another's dispute: %v", who, err)
		}
	}
	if got, err := f.ds.Find(ctx, Party{Institution: bankX}, d.ID); err != nil || got.ID != d.ID {
		t.Errorf("the institution reads its dispute: %v", err)
	}

	// The flow report's marks: open disputes overlapping the window.
	if marks, err := f.ds.OpenDisputes(ctx, entA, "2026-01-01", "2026-01-31"); err != nil || len(marks) != 1 || marks[0].ID != bal.ID {
		t.Errorf("open disputes in January: %v %v", marks, err)
	}

	// The answer: only the disputed institution, signed by it, for this dispute.
	answer := DisputeAnswerDoc{Institution: bankX, DisputeID: d.ID, Outcome: ronghe.AnswerConfirmed, Text: "经核对原始凭证，二月流水无误"}
	if _, err := f.ds.Answer(ctx, bankY, d.ID, f.answerDoc(t, f.bankKey, answer)); ronghe.ErrorCode(err) != ronghe.ENOTFOUND {
		t.Errorf("another institution answers: %v", err)
	}
	badAnswers := []struct {
		name string
		key  suite.Signer
		mut  func(a *DisputeAnswerDoc)
		code string
	}{
		{"signed by the enterprise", f.keyA, func(a *DisputeAnswerDoc) {}, ronghe.EINTEGRITY},
		{"for another institution", f.bankKey, func(a *DisputeAnswerDoc) { a.Institution = bankY }, ronghe.EFORBIDDEN},
		{"for another dispute", f.bankKey, func(a *DisputeAnswerDoc) { a.DisputeID = bal.ID }, ronghe.EINVALID},
		{"unknown outcome", f.bankKey, func(a *DisputeAnswerDoc) { a.Outcome = "rejected" }, ronghe.EINVALID},
		{"no text", f.bankKey, func(a *DisputeAnswerDoc) { a.Text = "" }, ronghe.EINVALID},
		{"wrong type", f.bankKey, func(a *DisputeAnswerDoc) { a.Type = TypeDispute }, ronghe.EINTEGRITY},
	}
	for _, tc := range badAnswers {
		a := answer
		tc.mut(&a)
		if _, err := f.ds.Answer(ctx, bankX, d.ID, f.answerDoc(t, tc.key, a)); ronghe.ErrorCode(err) != tc.code {
			t.Errorf("answer %s: %v, want %s", tc.name, err, tc.code)
		}
	}
	rawAnswer := f.answerDoc(t, f.bankKey, answer)
	f.clock = f.clock.Add(48 * time.Hour)
	got, err := f.ds.Answer(ctx, bankX, d.ID, rawAnswer)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != ronghe.DisputeResolved || got.Resolution != ronghe.ResolvedByAnswer || got.Answer == nil ||
		got.Answer.Outcome != ronghe.AnswerConfirmed || string(got.Answer.Document) != string(rawAnswer) || got.ResolveLogIndex == nil {
		t.Fatalf("answered: %+v", got)
	}
	if ev := leafAt(t, f.log, *got.ResolveLogIndex); ev.Kind != tlog.KindDisputeResolved || ev.MessageID != d.ID || ev.Tenant != entA {
		t.Errorf("resolution leaf: %+v", ev)
	}
	if again, err := f.ds.Answer(ctx, bankX, d.ID, rawAnswer); err != nil || again.ID != d.ID {
		t.Errorf("the same answer again: %v", err)
	}
	other := answer
	other.Outcome, other.Text = ronghe.AnswerCorrected, "已更正"
	if _, err := f.ds.Answer(ctx, bankX, d.ID, f.answerDoc(t, f.bankKey, other)); ronghe.ErrorCode(err) != ronghe.ECONFLICT {
		t.Errorf("a second, different answer: %v", err)
	}
	// The enterprise reads the answer with its dispute.
	if seen, err := f.ds.Find(ctx, Party{Enterprise: entA}, d.ID); err != nil || seen.Answer == nil || seen.Answer.Text != answer.Text {
		t.Errorf("the enterprise's view of the answer: %+v %v", seen, err)
	}

	// Corrections resolve the disputes covering their date that were
	// registered before the correction was accepted.
	janTXN, err := f.ds.File(ctx, entA, f.disputeDoc(t, f.keyA, DisputeDoc{Enterprise: entA, Institution: bankY, Month: "2026-01", RecordClass: "TXN", Reason: "一月流水重复", SignedAt: f.clock}))
	if err != nil {
		t.Fatal(err)
	}
	accepted := f.clock.Add(time.Minute)
	f.clock = f.clock.Add(time.Hour)
	lateJan, err := f.ds.File(ctx, entA, f.disputeDoc(t, f.keyA, DisputeDoc{Enterprise: entA, Institution: bankY, From: "2026-01-06", To: "2026-01-06", RecordClass: "TXN", Reason: "又发现一笔", SignedAt: f.clock}))
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.ds.ResolveByCorrection(ctx, bankY, "2026-01-06", bankY+"_20260106_2", "M-corr", accepted)
	if err != nil {
		t.Fatal(err)
	}
	resolvedIDs := map[string]bool{}
	for _, r := range res {
		resolvedIDs[r.ID] = true
		if r.Resolution != ronghe.ResolvedByCorrection || r.CorrectionBatch != bankY+"_20260106_2" || r.CorrectionMessageID != "M-corr" {
			t.Errorf("resolved by correction: %+v", r)
		}
		if ev := leafAt(t, f.log, *r.ResolveLogIndex); ev.Kind != tlog.KindDisputeResolved || ev.MessageID != r.ID {
			t.Errorf("correction leaf: %+v", ev)
		}
	}
	if len(res) != 2 || !resolvedIDs[bal.ID] || !resolvedIDs[janTXN.ID] {
		t.Errorf("correction of 2026-01-06 resolved %v, want %s and %s", resolvedIDs, bal.ID, janTXN.ID)
	}
	if again, err := f.ds.ResolveByCorrection(ctx, bankY, "2026-01-06", bankY+"_20260106_2", "M-corr", accepted); err != nil || len(again) != 0 {
		t.Errorf("the same correction again resolved %d (%v)", len(again), err)
	}
	for _, id := range []string{lateJan.ID, mar.ID} {
		if still, err := f.ds.Find(ctx, Party{Enterprise: entA}, id); err != nil || still.Status != ronghe.DisputeOpen {
			t.Errorf("%s should stay open: %+v %v", id, still, err)
		}
	}
	// A correction of another date or institution resolves nothing.
	for _, c := range [][2]string{{bankY, "2026-02-01"}, {bankX, "2026-01-06"}} {
		if r, err := f.ds.ResolveByCorrection(ctx, c[0], c[1], c[0]+"_x_2", "M-x", f.clock); err != nil || len(r) != 0 {
			t.Errorf("correction %v resolved %d (%v)", c, len(r), err)
		}
	}

	// Overdue: open past the deadline.
	if list, err := f.ds.List(ctx, Party{Institution: bankX}, StatusOverdue, 0); err != nil || len(list) != 0 {
		t.Errorf("overdue before the deadline: %d %v", len(list), err)
	}
	f.clock = mar.Deadline
	list, err := f.ds.All(ctx, ronghe.DisputeFilter{}, StatusOverdue)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != mar.ID || !list[0].Overdue {
		t.Errorf("overdue at the deadline: %+v", list)
	}
	if _, err := f.ds.All(ctx, ronghe.DisputeFilter{}, "late"); ronghe.ErrorCode(err) != ronghe.EINVALID {
		t.Errorf("unknown status: %v", err)
	}
}
