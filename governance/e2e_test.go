package governance_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/evidence"
	"github.com/ronghe/ronghe/exchange"
	"github.com/ronghe/ronghe/gen"
	"github.com/ronghe/ronghe/governance"
	"github.com/ronghe/ronghe/pipeline"
	"github.com/ronghe/ronghe/rrs"
	"github.com/ronghe/ronghe/rules"
	"github.com/ronghe/ronghe/suite"
)

// forBackends runs fn on a fresh fixture per metadata store.
func forBackends(t *testing.T, fn func(t *testing.T, f *fixture)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			fn(t, newFixture(t, b.dsn(t)))
		})
	}
}

func smallRegion(seed int64) gen.Config {
	cfg := gen.DefaultConfig()
	cfg.Seed = seed
	cfg.Start = rrs.Date{Y: 2025, M: 1, D: 6}
	cfg.Days = 3
	return cfg
}

// TestCleanBatches: a clean region, received on time, is accepted batch by
// batch with no finding and no ticket; every bank gets a report and a
// sample request per batch, and scores 100 (grade A).
func TestCleanBatches(t *testing.T) {
	_, dirs := region(t, smallRegion(20250101))
	forBackends(t, func(t *testing.T, f *fixture) {
		banks := map[string]bool{}
		for _, dir := range dirs {
			tenant, batch := batchName(dir)
			banks[tenant] = true
			f.clock.Set(receivedOnTime(batch))
			f.accept(t, tenant, batch, "", dir, receivedOnTime(batch))
			q := f.waitBatch(t, tenant, batch)
			if q.Outcome != ronghe.OutcomeAccepted || q.Errors != 0 || q.Warnings != 0 || q.Stats.Records == 0 || q.Stats.Checks == 0 {
				fs, _ := f.db.ListFindings(f.ctx, tenant, batch)
				t.Fatalf("%s: %+v, findings %+v", batch, q, fs)
			}
			f.waitReached(t, tenant, batch)
		}
		ts, err := f.db.ListTickets(f.ctx, ronghe.TicketFilter{})
		if err != nil || len(ts) != 0 {
			t.Fatalf("tickets for clean data: %d %v", len(ts), err)
		}
		for tenant := range banks {
			ms := f.mailbox(t, tenant)
			if countKind(ms, governance.KindReport, "") != 3 || countKind(ms, governance.KindSampleRequest, "") != 3 ||
				countKind(ms, governance.KindProblems, "") != 0 {
				t.Errorf("%s mailbox: %d messages", tenant, len(ms))
			}
			for _, m := range ms {
				if m.Kind != governance.KindReport {
					continue
				}
				var rep governance.Report
				if err := json.Unmarshal(m.Body, &rep); err != nil || rep.Outcome != ronghe.OutcomeAccepted || rep.Type != governance.TypeReport {
					t.Errorf("report %s: %+v %v", m.RefersTo, rep, err)
				}
			}
		}
		// A retried job checks nothing again and sends nothing again.
		tenant, batch := batchName(dirs[0])
		before := len(f.mailbox(t, tenant))
		if err := f.gov.Process(f.ctx, tenant, batch); err != nil {
			t.Fatal(err)
		}
		q, _ := f.db.FindQuality(f.ctx, tenant, batch)
		if q.Attempts != 1 || q.StartedAt == nil || q.FinishedAt == nil || len(f.mailbox(t, tenant)) != before {
			t.Fatalf("retried job: %+v, %d messages (was %d)", q, len(f.mailbox(t, tenant)), before)
		}
		// A version older than one checked before is superseded: not checked,
		// not passed on.
		last := dirs[len(dirs)-1]
		lt, lb := batchName(last)
		v3, v2 := strings.TrimSuffix(lb, "_1")+"_3", strings.TrimSuffix(lb, "_1")+"_2"
		f.accept(t, lt, v3, "", copyBatch(t, last, v3), receivedOnTime(lb).Add(time.Hour))
		if q := f.waitBatch(t, lt, v3); q.Outcome != ronghe.OutcomeAccepted {
			t.Fatalf("%s: %+v", v3, q)
		}
		f.waitReached(t, lt, v3)
		f.accept(t, lt, v2, "", copyBatch(t, last, v2), receivedOnTime(lb).Add(2*time.Hour))
		if q := f.waitBatch(t, lt, v2); q.Outcome != ronghe.OutcomeSuperseded || q.Stats.Records != 0 {
			t.Fatalf("%s: %+v", v2, q)
		}
		if err := f.gov.Process(f.ctx, lt, v2); !errors.Is(err, pipeline.ErrSkipRest) {
			t.Fatalf("superseded batch: %v", err)
		}
		if f.reachedNext(lt, v2) {
			t.Errorf("superseded %s reached the next stage", v2)
		}
		if s, err := f.db.FindSample(f.ctx, lt, lb); err != nil || s.Status != ronghe.SampleSuperseded {
			t.Errorf("sample of %s after a correction: %+v %v", lb, s, err)
		}

		jan := rrs.Period{Y: 2025, M: time.January}
		scores, err := governance.Scores(f.ctx, f.db, jan, time.Date(2025, 1, 9, 10, 0, 0, 0, rrs.Shanghai))
		if err != nil {
			t.Fatal(err)
		}
		if len(scores) != len(banks) {
			t.Fatalf("%d scores for %d banks", len(scores), len(banks))
		}
		for _, s := range scores {
			if s.Days != 3 || s.TimelyDays != 3 || s.MissingDays != 0 || s.Score != 100 || s.Grade != ronghe.GradeA || s.Rank != 1 {
				t.Errorf("score %+v", s)
			}
		}
		// The same batches received at 10:01 the next day would be late:
		// timeliness counts the receipt time.
		late := governance.ComputeScore("X", jan, time.Date(2025, 1, 9, 10, 0, 0, 0, rrs.Shanghai), rrs.Date{Y: 2025, M: 1, D: 6},
			[]*ronghe.BatchQuality{{BusinessDate: "2025-01-06", Seq: 1, Status: ronghe.QualityDone, Outcome: ronghe.OutcomeAccepted,
				ReceivedAt: time.Date(2025, 1, 7, 10, 1, 0, 0, rrs.Shanghai)}})
		if late.TimelyDays != 0 || late.Score >= 100 {
			t.Errorf("late receipt: %+v", late)
		}
	})
}

// TestDefectsTicketsCorrectionEscalation: injected defects open exactly one
// ticket per finding identity of gen's truth; a T01 mismatch rejects its
// batch, which stops before the next stage; a correction batch without the
// findings closes its tickets and, for T03, the counterparty's; passing the
// deadline makes the rest overdue with one escalation notice per bank; a W
// ticket closes with a signed confirmation.
func TestDefectsTicketsCorrectionEscalation(t *testing.T) {
	_, cleanDirs := region(t, smallRegion(24))
	cfg := smallRegion(24)
	cfg.DefectRate = 0.03
	cfg.DefectRules = []string{"L06", "C03", "S03", "T03"}
	out, dirs := region(t, cfg)
	want := truth(t, out)
	clean := map[string]string{}
	for _, d := range cleanDirs {
		clean[filepath.Base(d)] = d
	}
	// X is the batch where the T03 defect was injected (a cp_inst_code
	// emptied); Y its counterparty.
	var x, y string
	for _, g := range want {
		if g.Rule != "T03" {
			continue
		}
		if cpEmptied(t, filepath.Join(out, g.Batch), clean[g.Batch]) {
			x = g.Batch
		} else {
			y = g.Batch
		}
	}
	if x == "" || y == "" {
		t.Fatalf("the region has no T03 defect pair (x=%q y=%q); choose another seed", x, y)
	}
	// Reject one batch of the last day (not X or Y) with a CTL mismatch.
	var rejected string
	for i := len(dirs) - 1; i >= 0; i-- {
		if b := filepath.Base(dirs[i]); b != x && b != y {
			rejected = b
			break
		}
	}
	bumpCTL(t, filepath.Join(out, rejected), "TXN")
	rid, _ := rrs.ParseBatchID(rejected)
	want[identity(rid.InstCode, rid.Date.String(), "T01", "CTL", "TXN")] = gen.Finding{Rule: "T01", Batch: rejected, Type: "CTL", Key: "TXN"}

	forBackends(t, func(t *testing.T, f *fixture) {
		for _, dir := range dirs {
			tenant, batch := batchName(dir)
			f.clock.Set(receivedOnTime(batch))
			f.accept(t, tenant, batch, "", dir, receivedOnTime(batch))
			q := f.waitBatch(t, tenant, batch)
			switch {
			case batch == rejected:
				if q.Outcome != ronghe.OutcomeRejected || len(q.Problems) == 0 || !strings.Contains(strings.Join(q.Problems, ";"), "T01 TXN") {
					t.Errorf("%s: %+v", batch, q)
				}
				if _, err := f.db.FindSample(f.ctx, tenant, batch); ronghe.ErrorCode(err) != ronghe.ENOTFOUND {
					t.Errorf("a rejected batch was sampled: %v", err)
				}
			default:
				if q.Outcome == ronghe.OutcomeRejected {
					t.Errorf("%s rejected: %v", batch, q.Problems)
				}
				f.waitReached(t, tenant, batch)
			}
		}
		tickets := allTickets(t, f)
		got := map[string]bool{}
		for _, tk := range tickets {
			got[identity(tk.Tenant, tk.BusinessDate, tk.Rule, tk.Type, tk.Key)] = true
			if tk.State != ronghe.TicketOpen || tk.Occurrences != 1 {
				t.Errorf("ticket %s: %s, %d occurrences", tk.ID, tk.State, tk.Occurrences)
			}
		}
		missing, extra := map[string]bool{}, map[string]bool{}
		for k := range want {
			if !got[k] {
				missing[k] = true
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				extra[k] = true
			}
		}
		if len(missing) > 0 || len(extra) > 0 {
			t.Fatalf("tickets differ from gen's truth (%d wanted, %d opened)\nmissing:\n%s\nextra:\n%s", len(want), len(got), fmtIDs(missing), fmtIDs(extra))
		}
		t.Logf("%d tickets, one per finding identity of gen's truth (T01 added)", len(got))
		// Every stored finding names its ticket; the problem list went out.
		for _, dir := range dirs {
			tenant, batch := batchName(dir)
			fs, err := f.db.ListFindings(f.ctx, tenant, batch)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range fs {
				if x.TicketID == "" {
					t.Errorf("finding %+v has no ticket", x)
				}
			}
			if len(fs) > 0 && countKind(f.mailbox(t, tenant), governance.KindProblems, batch) != 1 {
				t.Errorf("%s: no problem list in the mailbox", batch)
			}
		}
		xid, _ := rrs.ParseBatchID(x)
		yid, _ := rrs.ParseBatchID(y)
		// The T03 finding on the batch checked first came from the later
		// one's check: its bank got a notice.
		first := x
		if yid.InstCode < xid.InstCode {
			first = y
		}
		fid, _ := rrs.ParseBatchID(first)
		if countKind(f.mailbox(t, fid.InstCode), governance.KindNotice, first) != 1 {
			t.Errorf("no notice of the T03 finding on %s", first)
		}

		// Correction of X: its clean version as seq 2.
		x2 := rrs.BatchID{InstCode: xid.InstCode, Date: xid.Date, Seq: 2}.String()
		corrAt := time.Date(2025, 1, 10, 15, 0, 0, 0, rrs.Shanghai)
		f.clock.Set(corrAt)
		f.accept(t, xid.InstCode, x2, "", copyBatch(t, clean[x], x2), corrAt)
		q := f.waitBatch(t, xid.InstCode, x2)
		if q.Outcome != ronghe.OutcomeAccepted {
			fs, _ := f.db.ListFindings(f.ctx, xid.InstCode, x2)
			t.Fatalf("correction %s: %+v %+v", x2, q, fs)
		}
		f.waitReached(t, xid.InstCode, x2)
		// The rejected batch's job, queued before the correction's, ended
		// without the next stage.
		if f.reachedNext(rid.InstCode, rejected) {
			t.Errorf("rejected %s reached the next stage", rejected)
		}
		closedByX2 := 0
		for _, tk := range allTickets(t, f) {
			onX := tk.Tenant == xid.InstCode && tk.BusinessDate == xid.Date.String()
			pair := tk.Tenant == yid.InstCode && tk.BusinessDate == yid.Date.String() && tk.Rule == "T03" && tk.Key == xid.InstCode
			switch {
			case onX || pair:
				if tk.State != ronghe.TicketClosed || tk.Resolution != ronghe.ResolutionCorrected || tk.ClosedBy != x2 || tk.ClosedAt == nil || !tk.ClosedAt.Equal(corrAt) {
					t.Errorf("ticket %s (%s %s %s) not closed by %s: %+v", tk.ID, tk.Tenant, tk.Rule, tk.Key, x2, tk)
				}
				closedByX2++
			case tk.State != ronghe.TicketOpen:
				t.Errorf("ticket %s of another batch changed: %s", tk.ID, tk.State)
			}
		}
		if closedByX2 < 2 {
			t.Fatalf("the correction closed %d tickets", closedByX2)
		}
		t.Logf("the correction %s closed %d tickets, the counterparty's T03 among them", x2, closedByX2)
		var rep governance.Report
		for _, m := range f.mailbox(t, xid.InstCode) {
			if m.Kind == governance.KindReport && m.RefersTo == x2 {
				json.Unmarshal(m.Body, &rep)
			}
		}
		if len(rep.TicketsClosed) == 0 || rep.Outcome != ronghe.OutcomeAccepted {
			t.Errorf("report of the correction: %+v", rep)
		}
		// The earlier version's pending sample is superseded.
		if s, err := f.db.FindSample(f.ctx, xid.InstCode, x); err != nil || s.Status != ronghe.SampleSuperseded {
			t.Errorf("sample of the corrected batch: %+v %v", s, err)
		}

		// The deadline passes: open tickets become overdue and escalate.
		open := map[string]map[string]bool{}
		for _, tk := range allTickets(t, f) {
			if tk.State == ronghe.TicketOpen {
				if open[tk.Tenant] == nil {
					open[tk.Tenant] = map[string]bool{}
				}
				open[tk.Tenant][tk.ID] = true
			}
		}
		due := time.Date(2025, 1, 20, 0, 0, 0, 0, rrs.Shanghai)
		f.clock.Set(due)
		if err := f.gov.Sweep(f.ctx); err != nil {
			t.Fatal(err)
		}
		for _, tk := range allTickets(t, f) {
			if open[tk.Tenant][tk.ID] && (tk.State != ronghe.TicketOverdue || tk.OverdueAt == nil || !tk.OverdueAt.Equal(due)) {
				t.Errorf("ticket %s not overdue: %+v", tk.ID, tk)
			}
		}
		for tenant, ids := range open {
			var esc []*ronghe.MailboxMessage
			for _, m := range f.mailbox(t, tenant) {
				if m.Kind == governance.KindEscalation {
					esc = append(esc, m)
				}
			}
			if len(esc) != 1 {
				t.Fatalf("%s: %d escalation messages", tenant, len(esc))
			}
			var e governance.Escalation
			if err := json.Unmarshal(esc[0].Body, &e); err != nil {
				t.Fatal(err)
			}
			listed := map[string]bool{}
			for _, n := range e.Tickets {
				listed[n.ID] = true
			}
			if len(listed) != len(ids) {
				t.Errorf("%s: escalation lists %d tickets, %d are overdue", tenant, len(listed), len(ids))
			}
		}
		overdue, err := f.db.ListTickets(f.ctx, ronghe.TicketFilter{States: []string{ronghe.TicketOverdue}, Limit: 1000})
		if err != nil || len(overdue) == 0 {
			t.Fatalf("supervisor view: %d overdue, %v", len(overdue), err)
		}
		// Unanswered samples fail.
		ss, err := f.db.ListSamples(f.ctx, ronghe.SampleFilter{Status: ronghe.SampleFailed})
		if err != nil || len(ss) == 0 {
			t.Fatalf("failed samples: %d %v", len(ss), err)
		}
		for _, s := range ss {
			if !strings.Contains(s.Reason, "not answered") {
				t.Errorf("sample of %s: %s", s.Batch, s.Reason)
			}
		}
		// Sweeping again changes nothing and sends nothing.
		before := 0
		for tenant := range open {
			before += len(f.mailbox(t, tenant))
		}
		if err := f.gov.Sweep(f.ctx); err != nil {
			t.Fatal(err)
		}
		after := 0
		for tenant := range open {
			after += len(f.mailbox(t, tenant))
		}
		if after != before {
			t.Errorf("a second sweep sent %d messages", after-before)
		}
		checkConfirmation(t, f, xid.InstCode)
	})
}

// checkConfirmation: a W ticket closes with the bank's signed note; an E
// ticket, a wrong signer and a note for another finding are refused.
func checkConfirmation(t *testing.T, f *fixture, tenant string) {
	now := f.clock.Now()
	w := governance.NewTicket(governance.Identity{Tenant: tenant, BusinessDate: "2025-01-08", Rule: "C06", Type: "BATCH", Key: "TXN"},
		ronghe.SeverityWarning, "", "volume", tenant+"_20250108_1", now, governance.DefaultCalendar(), 5)
	e := governance.NewTicket(governance.Identity{Tenant: tenant, BusinessDate: "2025-01-08", Rule: "C02", Type: "BAL", Key: "1|2025-01-08"},
		ronghe.SeverityError, "close_bal", "m", tenant+"_20250108_1", now, governance.DefaultCalendar(), 5)
	if err := f.db.ApplyQuality(f.ctx, &ronghe.QualityChange{NewTickets: []*ronghe.Ticket{w, e}}); err != nil {
		t.Fatal(err)
	}
	sign := func(tk *ronghe.Ticket, note string, mod func(*governance.TicketAnswer)) []byte {
		a := governance.NewTicketAnswer(tk, note, now)
		if mod != nil {
			mod(a)
		}
		doc, err := evidence.Sign(a, f.signers[tenant])
		if err != nil {
			t.Fatal(err)
		}
		return doc.Marshal()
	}
	if _, err := f.gov.AnswerTicket(f.ctx, tenant, e.ID, sign(e, "correct", nil)); ronghe.ErrorCode(err) != ronghe.ECONFLICT {
		t.Errorf("answer to an E ticket: %v", err)
	}
	if _, err := f.gov.AnswerTicket(f.ctx, tenant, w.ID, sign(w, "x", func(a *governance.TicketAnswer) { a.Key = "other" })); ronghe.ErrorCode(err) != ronghe.EINTEGRITY {
		t.Errorf("answer naming another finding: %v", err)
	}
	if _, err := f.gov.AnswerTicket(f.ctx, tenant, w.ID, sign(w, " ", nil)); ronghe.ErrorCode(err) != ronghe.EINVALID {
		t.Errorf("empty note: %v", err)
	}
	stranger, err := suite.GenerateKey(ronghe.SuiteINTL)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := evidence.Sign(governance.NewTicketAnswer(w, "ok", now), stranger)
	if _, err := f.gov.AnswerTicket(f.ctx, tenant, w.ID, other.Marshal()); ronghe.ErrorCode(err) != ronghe.EINTEGRITY {
		t.Errorf("answer signed by an unregistered key: %v", err)
	}
	if _, err := f.gov.AnswerTicket(f.ctx, "SOMEONE-ELSE", w.ID, sign(w, "ok", nil)); ronghe.ErrorCode(err) != ronghe.ENOTFOUND {
		t.Errorf("another tenant's ticket: %v", err)
	}
	doc := sign(w, "the volume doubled because of the year-end bonus run", nil)
	got, err := f.gov.AnswerTicket(f.ctx, tenant, w.ID, doc)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != ronghe.TicketClosed || got.Resolution != ronghe.ResolutionConfirmed || !bytes.Equal(got.Answer, doc) || got.AnswerNote == "" {
		t.Fatalf("confirmed ticket: %+v", got)
	}
	again, err := f.gov.AnswerTicket(f.ctx, tenant, w.ID, doc)
	if err != nil || again.Version != got.Version {
		t.Fatalf("answering again: %+v %v", again, err)
	}
}

// TestSampling: P01 end to end. The sample is drawn on acceptance from the
// batch's content digest; a matching answer passes; an answer whose fields
// differ gives P01 findings with tickets and fails when the Clopper–Pearson
// bound exceeds 3 %; a correction that carries the source values closes
// them; an unanswered sample fails at the deadline; an answer to nothing is
// refused.
func TestSampling(t *testing.T) {
	_, dirs := region(t, smallRegion(20250101))
	// The bank with the most rows on the first day (≥ 100, so the sample is
	// not the whole batch).
	var bank string
	rows := 0
	for _, d := range dirs[:3] {
		if n := countRows(t, filepath.Join(d, "TXN.csv")); n > rows {
			bank, rows = filepath.Base(d)[:14], n
		}
	}
	if rows <= 99 {
		t.Fatalf("no bank has more than 99 TXN rows (%d)", rows)
	}
	var own []string
	for _, d := range dirs {
		if strings.HasPrefix(filepath.Base(d), bank) {
			own = append(own, d)
		}
	}
	forBackends(t, func(t *testing.T, f *fixture) {
		for _, dir := range dirs {
			tenant, batch := batchName(dir)
			f.clock.Set(receivedOnTime(batch))
			f.accept(t, tenant, batch, "", dir, receivedOnTime(batch))
			f.waitBatch(t, tenant, batch)
		}
		b1, b2, b3 := filepath.Base(own[0]), filepath.Base(own[1]), filepath.Base(own[2])
		// Deterministic draw: repeat it from the published seed.
		s1, err := f.db.FindSample(f.ctx, bank, b1)
		if err != nil {
			t.Fatal(err)
		}
		sub, err := f.db.FindSubmission(f.ctx, bank, b1)
		if err != nil {
			t.Fatal(err)
		}
		m, err := exchange.ParseManifest(sub.Manifest)
		if err != nil {
			t.Fatal(err)
		}
		hits := 0
		for _, r := range s1.Rows {
			hits += r.Hits
		}
		if s1.Seed != governance.SampleSeed(f.sampleKey, governance.ContentDigest(m.Files)) || s1.Units != 99 || hits != 99 || len(s1.Rows) < 50 {
			t.Fatalf("sample of %s: seed %s, %d units, %d rows, %d hits", b1, s1.Seed, s1.Units, len(s1.Rows), hits)
		}
		redraw, pop := drawAgain(t, s1.Seed, filepath.Join(own[0], "TXN.csv"))
		if pop != s1.Population || !equalRows(redraw, s1.Rows) {
			t.Fatalf("the sample cannot be drawn again from its seed: %d/%d rows differ", diffRows(redraw, s1.Rows), len(s1.Rows))
		}
		var req governance.SampleRequest
		for _, msg := range f.mailbox(t, bank) {
			if msg.Kind == governance.KindSampleRequest && msg.RefersTo == b1 {
				json.Unmarshal(msg.Body, &req)
			}
		}
		if req.Seed != s1.Seed || len(req.Rows) != len(s1.Rows) || req.Units != 99 || req.DueDate != s1.DueDate || !strings.Contains(req.How, "--refers-to "+b1) {
			t.Fatalf("sample request: %+v", req)
		}

		// A matching answer passes.
		f.clock.Set(time.Date(2025, 1, 9, 9, 0, 0, 0, rrs.Shanghai))
		ans1 := answerDir(t, filepath.Join(own[0], "TXN.csv"), s1.Rows, nil)
		f.accept(t, bank, b1+".P01", b1, ans1, f.clock.Now())
		got := f.waitSample(t, bank, b1)
		if got.Status != ronghe.SamplePassed || got.Mismatches != 0 || got.Answer != b1+".P01" ||
			math.Abs(got.UpperBound-(1-math.Pow(0.05, 1.0/99))) > 1e-9 {
			t.Fatalf("matching answer: %+v", got)
		}
		if f.reachedNext(bank, b1+".P01") {
			t.Error("a sample answer reached the next stage")
		}

		// An answer whose source copy differs in two rows fails.
		s2, err := f.db.FindSample(f.ctx, bank, b2)
		if err != nil {
			t.Fatal(err)
		}
		if len(s2.Rows) <= 40 {
			t.Fatalf("sample of %s has %d rows", b2, len(s2.Rows))
		}
		changes := map[string]map[string]string{
			s2.Rows[3].TxnID:  {"remark": "源系统备注 source remark"},
			s2.Rows[40].TxnID: {"cp_name": "源系统对手 source counterparty", "remark": "另一备注"},
		}
		f.accept(t, bank, b2+".P01", b2, answerDir(t, filepath.Join(own[1], "TXN.csv"), s2.Rows, changes), f.clock.Now())
		got = f.waitSample(t, bank, b2)
		k := s2.Rows[3].Hits + s2.Rows[40].Hits
		wantBound := rules.ClopperPearsonUpper(k, 99, 0.95)
		if got.Status != ronghe.SampleFailed || got.Mismatches != k || math.Abs(got.UpperBound-wantBound) > 1e-9 || wantBound <= 0.03 {
			t.Fatalf("mismatching answer: %+v (k %d, bound %f)", got, k, wantBound)
		}
		fs, err := f.db.ListFindings(f.ctx, bank, b2)
		if err != nil {
			t.Fatal(err)
		}
		p01 := map[string]*ronghe.QualityFinding{}
		for _, x := range fs {
			if x.Rule == "P01" {
				p01[x.Key] = x
			}
		}
		if len(p01) != 2 || p01[s2.Rows[3].TxnID].Field != "remark" || p01[s2.Rows[40].TxnID].Field != "cp_name" ||
			!strings.Contains(p01[s2.Rows[40].TxnID].Message, "cp_name, remark") || p01[s2.Rows[3].TxnID].Source != b2+".P01" {
			t.Fatalf("P01 findings: %+v", p01)
		}
		var res governance.SampleResult
		for _, msg := range f.mailbox(t, bank) {
			if msg.Kind == governance.KindSampleResult && msg.RefersTo == b2 {
				json.Unmarshal(msg.Body, &res)
			}
		}
		if res.Status != ronghe.SampleFailed || len(res.Rows) != 2 || res.Rows[0].TicketID == "" {
			t.Fatalf("sample result: %+v", res)
		}
		for _, x := range p01 {
			tk, err := f.db.FindTicket(f.ctx, bank, x.TicketID)
			if err != nil || tk.State != ronghe.TicketOpen || tk.Severity != ronghe.SeverityError {
				t.Fatalf("P01 ticket: %+v %v", tk, err)
			}
		}

		// A correction carrying the source values closes the P01 tickets.
		b2v2 := strings.TrimSuffix(b2, "_1") + "_2"
		corr := copyBatch(t, own[1], b2v2)
		rewriteTXN(t, filepath.Join(corr, "TXN.csv"), changes)
		corrAt := time.Date(2025, 1, 9, 16, 0, 0, 0, rrs.Shanghai)
		f.clock.Set(corrAt)
		f.accept(t, bank, b2v2, "", corr, corrAt)
		if q := f.waitBatch(t, bank, b2v2); q.Outcome != ronghe.OutcomeAccepted {
			t.Fatalf("correction %s: %+v", b2v2, q)
		}
		for _, x := range p01 {
			tk, _ := f.db.FindTicket(f.ctx, bank, x.TicketID)
			if tk.State != ronghe.TicketClosed || tk.Resolution != ronghe.ResolutionCorrected || tk.ClosedBy != b2v2 {
				t.Errorf("P01 ticket after the correction: %+v", tk)
			}
		}

		// An answer to nothing, and a second answer, are refused.
		f.accept(t, bank, "NOPE.P01", bank+"_20240101_1", ans1, corrAt)
		f.accept(t, bank, b1+".P01b", b1, ans1, corrAt)
		for _, a := range []string{"NOPE.P01", b1 + ".P01b"} {
			deadline := time.Now().Add(time.Minute)
			for countKind(f.mailbox(t, bank), governance.KindAnswerRefused, a) != 1 {
				if time.Now().After(deadline) {
					t.Fatalf("answer %s was not refused", a)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		if s, _ := f.db.FindSample(f.ctx, bank, b1); s.Status != ronghe.SamplePassed || s.Answer != b1+".P01" {
			t.Errorf("a second answer changed the sample: %+v", s)
		}

		// No answer by the deadline fails.
		s3, _ := f.db.FindSample(f.ctx, bank, b3)
		f.clock.Set(s3.DueAt.Add(-time.Second))
		if err := f.gov.Sweep(f.ctx); err != nil {
			t.Fatal(err)
		}
		if s, _ := f.db.FindSample(f.ctx, bank, b3); s.Status != ronghe.SampleRequested {
			t.Fatalf("failed before its deadline: %+v", s)
		}
		f.clock.Set(s3.DueAt)
		if err := f.gov.Sweep(f.ctx); err != nil {
			t.Fatal(err)
		}
		if s := f.waitSample(t, bank, b3); s.Status != ronghe.SampleFailed || !strings.Contains(s.Reason, "not answered") {
			t.Fatalf("unanswered sample: %+v", s)
		}
	})
}

// cpEmptied reports whether a row of dirty's TXN.csv has an empty
// cp_inst_code where the clean batch has one.
func cpEmptied(t *testing.T, dirty, clean string) bool {
	t.Helper()
	d, c := readCSV(t, filepath.Join(dirty, "TXN.csv")), readCSV(t, filepath.Join(clean, "TXN.csv"))
	i := indexOf(d[0], "cp_inst_code")
	for r := 1; r < len(d) && r < len(c); r++ {
		if d[r][i] == "" && c[r][i] != "" {
			return true
		}
	}
	return false
}

// bumpCTL adds 1 to the record_count of file's CTL row.
func bumpCTL(t *testing.T, dir, file string) {
	t.Helper()
	path := filepath.Join(dir, "CTL.csv")
	recs := readCSV(t, path)
	fi, ci := indexOf(recs[0], "file"), indexOf(recs[0], "record_count")
	for _, r := range recs[1:] {
		if r[fi] == file {
			n := 0
			for _, ch := range r[ci] {
				n = n*10 + int(ch-'0')
			}
			r[ci] = itoa(n + 1)
		}
	}
	writeCSV(t, path, recs)
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func writeCSV(t *testing.T, path string, recs [][]string) {
	t.Helper()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.WriteAll(recs)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func indexOf(header []string, name string) int {
	for i, h := range header {
		if h == name {
			return i
		}
	}
	panic("no column " + name)
}

func countRows(t *testing.T, path string) int { return len(readCSV(t, path)) - 1 }

// answerDir writes a sample answer: the sampled rows of a TXN file (the
// header first), with the given field changes by txn_id.
func answerDir(t *testing.T, txn string, rows []ronghe.SampleRow, changes map[string]map[string]string) string {
	t.Helper()
	recs := readCSV(t, txn)
	out := [][]string{recs[0]}
	for _, r := range rows {
		rec := append([]string(nil), recs[r.Line-1]...) // header is line 1
		if rec[indexOf(recs[0], "txn_id")] != r.TxnID {
			t.Fatalf("line %d is not %s", r.Line, r.TxnID)
		}
		for field, v := range changes[r.TxnID] {
			rec[indexOf(recs[0], field)] = v
		}
		out = append(out, rec)
	}
	dir := filepath.Join(t.TempDir(), "answer")
	os.MkdirAll(dir, 0o755)
	writeCSV(t, filepath.Join(dir, "TXN.csv"), out)
	return dir
}

// rewriteTXN applies field changes by txn_id to a TXN file.
func rewriteTXN(t *testing.T, path string, changes map[string]map[string]string) {
	t.Helper()
	recs := readCSV(t, path)
	id := indexOf(recs[0], "txn_id")
	for _, rec := range recs[1:] {
		for field, v := range changes[rec[id]] {
			rec[indexOf(recs[0], field)] = v
		}
	}
	writeCSV(t, path, recs)
}

// drawAgain repeats a draw from the published seed over a TXN file, as
// the bank or an auditor would: rules.Sample of 99 units with the seed's
// bytes (every row of clean data can be drawn).
func drawAgain(t *testing.T, seed, txn string) ([]ronghe.SampleRow, int64) {
	t.Helper()
	recs := readCSV(t, txn)
	id, amt := indexOf(recs[0], "txn_id"), indexOf(recs[0], "amount")
	var amounts []rrs.Amount
	for _, rec := range recs[1:] {
		a, err := rrs.ParseAmount(rec[amt])
		if err != nil {
			t.Fatal(err)
		}
		amounts = append(amounts, a)
	}
	b, err := hex.DecodeString(seed)
	if err != nil {
		t.Fatal(err)
	}
	sel, err := rules.Sample(b, amounts, 99)
	if err != nil {
		t.Fatal(err)
	}
	var out []ronghe.SampleRow
	for _, x := range sel {
		out = append(out, ronghe.SampleRow{Line: x.Row + 2, TxnID: recs[x.Row+1][id], Hits: x.Hits})
	}
	return out, int64(len(amounts))
}

func equalRows(a, b []ronghe.SampleRow) bool { return diffRows(a, b) == 0 && len(a) == len(b) }

func diffRows(a, b []ronghe.SampleRow) int {
	n := 0
	for i := range a {
		if i >= len(b) || a[i] != b[i] {
			n++
		}
	}
	return n
}

// allTickets lists every ticket.
func allTickets(t *testing.T, f *fixture) []*ronghe.Ticket {
	t.Helper()
	var out []*ronghe.Ticket
	after := ""
	for {
		ts, err := f.db.ListTickets(f.ctx, ronghe.TicketFilter{After: after, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ts...)
		if len(ts) < 1000 {
			return out
		}
		after = ts[len(ts)-1].ID
	}
}

// TestViewBeforeCheck: a batch still arriving is "receiving", an accepted
// one whose job has not started "queued"; another institution's batch is
// not found.
func TestViewBeforeCheck(t *testing.T) {
	forBackends(t, func(t *testing.T, f *fixture) {
		const tenant, batch = "B1234401000018", "B1234401000018_20250106_1"
		f.bank(t, tenant)
		sub := &ronghe.Submission{Tenant: tenant, MessageID: batch, Manifest: []byte("{}"), ManifestDigest: []byte{1}, Signature: []byte{1},
			KeyID: "k", Files: []ronghe.SubmissionFile{{Name: "TXN.csv", Size: 1, Digest: strings.Repeat("0", 64)}}}
		if _, _, err := f.db.CreateSubmission(f.ctx, sub); err != nil {
			t.Fatal(err)
		}
		v, err := governance.View(f.ctx, f.db, f.db, tenant, batch)
		if err != nil || v.Quality.Status != ronghe.QualityReceiving || v.Findings == nil || v.Messages == nil {
			t.Fatalf("receiving: %+v %v", v, err)
		}
		if err := f.db.CompleteFile(f.ctx, tenant, batch, "TXN.csv", exchange.BlobKey(tenant, batch, "TXN.csv")); err != nil {
			t.Fatal(err)
		}
		at := time.Date(2025, 1, 7, 8, 0, 0, 0, time.UTC)
		if err := f.db.AcceptSubmission(f.ctx, tenant, batch, at, 1, []byte("r")); err != nil {
			t.Fatal(err)
		}
		v, err = f.gov.View(f.ctx, tenant, batch)
		if err != nil || v.Quality.Status != ronghe.QualityQueued || !v.Quality.ReceivedAt.Equal(at) || v.Quality.BusinessDate != "2025-01-06" {
			t.Fatalf("queued: %+v %v", v.Quality, err)
		}
		if _, err := f.gov.View(f.ctx, "B9999999999999", batch); ronghe.ErrorCode(err) != ronghe.ENOTFOUND {
			t.Fatalf("another tenant's batch: %v", err)
		}
	})
}

// flakyBlobs fails the first n reads.
type flakyBlobs struct {
	governance.Blobs
	mu sync.Mutex
	n  int
}

func (b *flakyBlobs) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.n > 0 {
		b.n--
		return nil, ronghe.Errorf(ronghe.EUNAVAILABLE, "object store unreachable")
	}
	return b.Blobs.Get(ctx, key)
}

// TestRetry: a check that fails for an unavailable dependency is recorded
// as retrying with the reason, and the next attempt completes it.
func TestRetry(t *testing.T) {
	_, dirs := region(t, smallRegion(20250101))
	forBackends(t, func(t *testing.T, f *fixture) {
		tenant, batch := batchName(dirs[0])
		f.store(t, tenant, batch, "", dirs[0], receivedOnTime(batch), false)
		gov, err := governance.New(governance.Config{Store: f.db, Submissions: f.db, Blobs: &flakyBlobs{Blobs: f.blobs, n: 1}, Keys: f.db,
			Mailbox: f.exch, HistoryPath: filepath.Join(t.TempDir(), "h.duckdb"), WorkDir: t.TempDir(), SampleKey: f.sampleKey,
			Now: f.clock.Now, Logger: quiet()})
		if err != nil {
			t.Fatal(err)
		}
		defer gov.Close()
		if err := gov.Process(f.ctx, tenant, batch); ronghe.ErrorCode(err) != ronghe.EUNAVAILABLE {
			t.Fatalf("first attempt: %v", err)
		}
		q, err := f.db.FindQuality(f.ctx, tenant, batch)
		if err != nil || q.Status != ronghe.QualityRetrying || q.Attempts != 1 || !strings.Contains(q.LastError, "unreachable") {
			t.Fatalf("after a failed attempt: %+v %v", q, err)
		}
		if err := gov.Process(f.ctx, tenant, batch); err != nil {
			t.Fatal(err)
		}
		q, _ = f.db.FindQuality(f.ctx, tenant, batch)
		if q.Status != ronghe.QualityDone || q.Attempts != 2 || q.LastError != "" || q.Outcome != ronghe.OutcomeAccepted {
			t.Fatalf("after the retry: %+v", q)
		}
		if n := countKind(f.mailbox(t, tenant), governance.KindReport, batch); n != 1 {
			t.Fatalf("%d reports", n)
		}
	})
}
