package main

import (
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/client"
	"github.com/ronghe/ronghe/evidence"
	"github.com/ronghe/ronghe/gen"
	"github.com/ronghe/ronghe/httpapi"
	"github.com/ronghe/ronghe/policy"
	"github.com/ronghe/ronghe/report"
	"github.com/ronghe/ronghe/report/reporttest"
	"github.com/ronghe/ronghe/rrs"
	"golang.org/x/sync/errgroup"
)

// regionPlatform is the platform in-process over HTTPS with a generated
// region's banks onboarded and every batch submitted and applied by the
// pipeline.
type regionPlatform struct {
	*testPlatform
	dir     string // the region's batches
	rf      gen.RegionFile
	banks   []*institution // in the region's order
	byCode  map[string]*institution
	batches int
}

func startRegionPlatform(t *testing.T, days int) *regionPlatform {
	t.Helper()
	ctx := context.Background()
	rp := &regionPlatform{testPlatform: startPlatform(t), dir: filepath.Join(t.TempDir(), "region"), byCode: map[string]*institution{}}
	cfg := gen.DefaultConfig()
	cfg.Days, cfg.Enterprises, cfg.People, cfg.OutDir = days, 40, 0, rp.dir
	if _, err := gen.Generate(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(rp.dir, "region.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rp.rf); err != nil {
		t.Fatal(err)
	}
	for i, inst := range rp.rf.Institutions {
		s := ronghe.SuiteGM
		if i%3 == 2 {
			s = ronghe.SuiteINTL
		}
		dir := filepath.Join(t.TempDir(), "profile-"+inst.Code)
		prof, err := onboard(ctx, rp.p.db, rp.p.keys, onboarding{code: inst.Code, name: inst.Name, kind: ronghe.KindBank, suite: s,
			server: rp.server, out: dir, certDays: 30})
		if err != nil {
			t.Fatal(err)
		}
		in := &institution{code: inst.Code, prof: prof, c: newClient(t, prof), dir: dir}
		rp.banks = append(rp.banks, in)
		rp.byCode[inst.Code] = in
	}
	dirs, err := batchDirs(rp.dir)
	if err != nil {
		t.Fatal(err)
	}
	var g errgroup.Group
	for code, list := range dirs {
		in := rp.byCode[code]
		rp.batches += len(list)
		g.Go(func() error {
			for _, d := range list {
				if _, err := in.c.Submit(ctx, d, client.SubmitOptions{}); err != nil {
					return fmt.Errorf("%s: %w", filepath.Base(d), err)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	rp.waitApplied(t, rp.batches)
	return rp
}

// waitApplied waits until the pipeline has applied n batch slices.
func (rp *regionPlatform) waitApplied(t *testing.T, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d applied batches", n), func() bool {
		var got int
		if err := rp.p.db.SQL().QueryRow("SELECT count(*) FROM flow_days").Scan(&got); err != nil {
			t.Fatal(err)
		}
		return got >= n
	})
}

// waitFor polls cond until it holds, failing after two minutes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// enterprise onboards a region enterprise and returns it as a party with a
// client and a raw HTTPS connection.
func (rp *regionPlatform) enterprise(t *testing.T, uscc, name string) *institution {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "profile-"+uscc)
	prof, err := onboardEnterprise(context.Background(), rp.p.db, rp.p.keys, uscc, name, ronghe.SuiteGM, rp.server, dir)
	if err != nil {
		t.Fatal(err)
	}
	return &institution{code: uscc, prof: prof, c: newClient(t, prof), dir: dir}
}

// reportBody is a flow report request as JSON.
func reportBody(ent, auth, purpose, from, to string) []byte {
	b, _ := json.Marshal(report.Request{Enterprise: ent, AuthorizationID: auth, Purpose: purpose, From: from, To: to})
	return b
}

var jsonHeader = map[string]string{"Content-Type": "application/json"}

// mostInstitutions returns the region's enterprises ordered by the number
// of institutions they bank with, most first.
func mostInstitutions(rf gen.RegionFile) []gen.EnterpriseInfo {
	ents := append([]gen.EnterpriseInfo(nil), rf.Enterprises...)
	n := func(e gen.EnterpriseInfo) int {
		insts := map[string]bool{}
		for _, a := range e.Accounts {
			insts[a.InstCode] = true
		}
		return len(insts)
	}
	sort.SliceStable(ents, func(i, j int) bool { return n(ents[i]) > n(ents[j]) })
	return ents
}

// otherUSCC returns a valid USCC that is nobody's in the region.
func otherUSCC(t *testing.T, rf gen.RegionFile) string {
	t.Helper()
	taken := map[string]bool{}
	for _, e := range rf.Enterprises {
		taken[e.USCC] = true
	}
	for i := 0; i < 1000; i++ {
		first := fmt.Sprintf("91440101MA%07d", 1000000+i)
		c, err := rrs.USCCCheckChar(first)
		if err != nil {
			continue
		}
		if u := first + string(c); rrs.ValidUSCC(u) && !taken[u] {
			return u
		}
	}
	t.Fatal("no free USCC")
	return ""
}

// TestUseWithoutSeeing runs the authorization-first flow reports and
// disputes of a generated region over real HTTPS with mutual TLS.
func TestUseWithoutSeeing(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and submits a region")
	}
	rp := startRegionPlatform(t, 40) // 1 January – 9 February 2025
	ents := mostInstitutions(rp.rf)
	a := rp.enterprise(t, ents[0].USCC, ents[0].Name) // the enterprise at the most banks
	b := rp.enterprise(t, ents[1].USCC, ents[1].Name)
	notOnboarded := ents[2].USCC // in the data, never onboarded
	nobody := otherUSCC(t, rp.rf)
	bank0, bank1, bank2 := rp.banks[0], rp.banks[1], rp.banks[2]
	ctx := context.Background()
	now := time.Now()
	authA, err := a.c.Authorize(ctx, bank0.code, ronghe.PurposeLoanApplication, now.Add(-time.Minute), now.AddDate(0, 6, 0))
	if err != nil {
		t.Fatal(err)
	}
	// An authorization of the post-loan purpose that is not valid yet.
	later, err := a.c.Authorize(ctx, bank0.code, ronghe.PurposePostLoan, now.AddDate(0, 1, 0), now.AddDate(0, 6, 0))
	if err != nil {
		t.Fatal(err)
	}
	loan := ronghe.PurposeLoanApplication

	t.Run("RefusalsLookAlike", func(t *testing.T) {
		r0, r1 := rp.raw(t, bank0), rp.raw(t, bank1)
		cases := []struct {
			name string
			raw  *raw
			body []byte
		}{
			{"another bank quotes the authorization", r1, reportBody(a.code, authA.ID, loan, "2025-01", "2025-02")},
			{"no authorization quoted", r1, reportBody(a.code, "", loan, "2025-01", "2025-02")},
			{"an enterprise in the data, never onboarded", r1, reportBody(notOnboarded, "AU000000000000000000000000", loan, "2025-01", "2025-02")},
			{"an enterprise that does not exist", r1, reportBody(nobody, "AU000000000000000000000000", loan, "2025-01", "2025-02")},
			{"nonexistent enterprise, real authorization", r1, reportBody(nobody, authA.ID, loan, "2025-01", "2025-02")},
			{"purpose binding: post-loan under a loan-application authorization", r0, reportBody(a.code, authA.ID, ronghe.PurposePostLoan, "2025-01", "2025-02")},
			{"authorization not valid yet", r0, reportBody(a.code, later.ID, ronghe.PurposePostLoan, "2025-01", "2025-02")},
			{"the grantee asks about another onboarded enterprise", r0, reportBody(b.code, authA.ID, loan, "2025-01", "2025-02")},
			{"the grantee asks about an enterprise never onboarded", r0, reportBody(notOnboarded, authA.ID, loan, "2025-01", "2025-02")},
			{"HTML, another bank", r1, nil},
		}
		var first *httpapi.Problem
		for _, tc := range cases {
			path, body := "/v1/reports/flow", tc.body
			if body == nil {
				path, body = "/v1/reports/flow?format=html", reportBody(a.code, authA.ID, loan, "2025-01", "2025-02")
			}
			p := tc.raw.do("POST", path, jsonHeader, body).problem(t, 403, ronghe.EFORBIDDEN)
			if p.RequestID == "" {
				t.Errorf("%s: no request ID", tc.name)
			}
			p.RequestID = ""
			if first == nil {
				first = p
			} else if *p != *first {
				t.Errorf("%s: refusal %+v differs from %+v", tc.name, *p, *first)
			}
		}
		// The grantee with the matching purpose is answered.
		if resp := r0.do("POST", "/v1/reports/flow", jsonHeader, reportBody(a.code, authA.ID, loan, "2025-01", "2025-02")); resp.status != 200 {
			t.Fatalf("authorized report: HTTP %d %s", resp.status, resp.body)
		}
		// The enterprise sees every query about it with the real reason;
		// the banks cannot.
		recs, err := a.c.QueryRecords(ctx)
		if err != nil {
			t.Fatal(err)
		}
		reasons := map[string]bool{}
		granted := 0
		for _, r := range recs {
			if r.Enterprise != a.code {
				t.Errorf("record about %s in %s's list", r.Enterprise, a.code)
			}
			if r.Granted {
				granted++
			}
			reasons[r.Reason] = true
		}
		for _, want := range []string{"authorization is for another institution", "no authorization quoted", "authorization not yet valid",
			"declared purpose POST_LOAN differs from the authorized LOAN_APPLICATION"} {
			if !reasons[want] {
				t.Errorf("the enterprise does not see a refusal %q (has %v)", want, reasons)
			}
		}
		if granted != 1 {
			t.Errorf("%d granted records, want 1", granted)
		}
	})

	// A dispute for the walls below.
	acctInst := ents[0].Accounts[0].InstCode
	disputed := rp.byCode[acctInst]
	var notDisputed *institution
	for _, in := range rp.banks {
		if in.code != acctInst {
			notDisputed = in
		}
	}
	dsp, err := a.c.FileDispute(ctx, client.DisputeRequest{Institution: acctInst, Month: "2025-01", RecordClass: ronghe.RecordClassTXN,
		Reason: "一月份货款收入少记一笔（凭证号 X-1）"})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("TenantWalls", func(t *testing.T) {
		ra, rb := rp.raw(t, a), rp.raw(t, b)
		r1, rd, rn := rp.raw(t, bank1), rp.raw(t, disputed), rp.raw(t, notDisputed)
		// A bank reads no enterprise's records or authorizations: those
		// routes take only an enterprise's certificate.
		for _, path := range []string{"/v1/query-records", "/v1/authorizations"} {
			r1.do("GET", path, nil, nil).problem(t, 401, ronghe.EUNAUTHORIZED)
		}
		// An enterprise cannot ask for reports or answer disputes; a bank
		// cannot file one.
		ra.do("POST", "/v1/reports/flow", jsonHeader, reportBody(a.code, authA.ID, loan, "2025-01", "2025-02")).problem(t, 401, ronghe.EUNAUTHORIZED)
		ra.do("POST", "/v1/disputes/"+dsp.ID+"/answer", jsonHeader, []byte(`{}`)).problem(t, 401, ronghe.EUNAUTHORIZED)
		r1.do("POST", "/v1/disputes", jsonHeader, []byte(`{}`)).problem(t, 401, ronghe.EUNAUTHORIZED)
		// Another enterprise sees none of A's authorizations, records or
		// disputes.
		for path, field := range map[string]string{"/v1/authorizations": "authorizations", "/v1/query-records": "records", "/v1/disputes": "disputes"} {
			resp := rb.do("GET", path, nil, nil)
			var m map[string][]json.RawMessage
			if resp.status != 200 || json.Unmarshal(resp.body, &m) != nil {
				t.Fatalf("%s: HTTP %d %s", path, resp.status, resp.body)
			}
			for _, item := range m[field] {
				if strings.Contains(string(item), a.code) {
					t.Errorf("%s of %s shows %s", path, b.code, a.code)
				}
			}
		}
		rb.do("GET", "/v1/disputes/"+dsp.ID, nil, nil).problem(t, 404, ronghe.ENOTFOUND)
		// A bank sees only the disputes about data it reported.
		rn.do("GET", "/v1/disputes/"+dsp.ID, nil, nil).problem(t, 404, ronghe.ENOTFOUND)
		var list httpapi.DisputeList
		if resp := rn.do("GET", "/v1/disputes", nil, nil); resp.status != 200 || json.Unmarshal(resp.body, &list) != nil || len(list.Disputes) != 0 {
			t.Errorf("a bank not disputed lists %s", resp.body)
		}
		if resp := rd.do("GET", "/v1/disputes/"+dsp.ID, nil, nil); resp.status != 200 {
			t.Errorf("the disputed bank reads its dispute: HTTP %d", resp.status)
		}
		// A bank's answer to a dispute about another bank's data is not
		// found, whatever it signed.
		doc, err := evidence.Sign(policy.DisputeAnswerDoc{Type: policy.TypeDisputeAnswer, Institution: notDisputed.code, DisputeID: dsp.ID,
			Outcome: ronghe.AnswerConfirmed, Text: "无误", SignedAt: time.Now().UTC()}, notDisputed.prof.Signer)
		if err != nil {
			t.Fatal(err)
		}
		rn.do("POST", "/v1/disputes/"+dsp.ID+"/answer", jsonHeader, doc.Marshal()).problem(t, 404, ronghe.ENOTFOUND)
	})

	t.Run("NoDetailInAnyReport", func(t *testing.T) {
		secrets := rawSecrets(t, rp.dir)
		if len(secrets.set) < 1000 {
			t.Fatalf("only %d identifying values in the raw batches", len(secrets.set))
		}
		// The scan finds every kind of value it looks for.
		kinds := map[string]bool{}
		for v, what := range secrets.set {
			if !kinds[what] {
				kinds[what] = true
				if secrets.find([]byte(`<td>`+v+`</td>`), "") == "" {
					t.Fatalf("the scan misses the %s %q", what, v)
				}
			}
		}
		if len(kinds) != 6 {
			t.Fatalf("identifying values of %d kinds, want 6: %v", len(kinds), kinds)
		}
		scanned := 0
		for _, e := range rp.rf.Enterprises {
			ent := a
			if e.USCC != a.code {
				if e.USCC == b.code {
					ent = b
				} else {
					ent = rp.enterprise(t, e.USCC, e.Name)
				}
			}
			auth, err := ent.c.Authorize(ctx, bank2.code, ronghe.PurposePostLoan, now.Add(-time.Minute), now.AddDate(0, 3, 0))
			if err != nil {
				t.Fatal(err)
			}
			req := report.Request{Enterprise: e.USCC, AuthorizationID: auth.ID, Purpose: ronghe.PurposePostLoan, From: "2024-12", To: "2025-02"}
			rep, signed, err := bank2.c.FlowReport(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Enterprise != e.USCC || rep.Months != 3 {
				t.Fatalf("report %+v", rep)
			}
			page, err := bank2.c.FlowReportHTML(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			for what, body := range map[string][]byte{"signed JSON": signed.Marshal(), "JSON payload": signed.Payload, "HTML": page} {
				if hit := secrets.find(body, e.USCC); hit != "" {
					t.Errorf("the %s report of %s shows %s", what, e.USCC, hit)
				}
				scanned++
			}
		}
		t.Logf("%d report responses of %d enterprises hold none of %d account numbers, counterparty names, accounts and USCCs, remarks and transaction IDs",
			scanned, len(rp.rf.Enterprises), len(secrets.set))
	})

	t.Run("DisputeLifecycle", func(t *testing.T) {
		// The disputed bank finds the dispute in its mailbox, with the
		// deadline, signed by the platform.
		list, err := disputed.c.Mailbox(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		var notice *policy.DisputeNotice
		for _, item := range list {
			if item.Kind != policy.MailboxDispute {
				continue
			}
			m, err := disputed.c.FetchMessage(ctx, item.ID)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := mustVerifier(disputed.prof).Mailbox(m, disputed.code, disputed.prof.Suite); err != nil {
				t.Fatal(err)
			}
			var n policy.DisputeNotice
			if err := json.Unmarshal(m.Body, &n); err != nil {
				t.Fatal(err)
			}
			if n.DisputeID == dsp.ID {
				notice = &n
			}
			if _, err := disputed.c.Acknowledge(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		if notice == nil || notice.Enterprise != a.code || !notice.Deadline.Equal(policy.DisputeDeadline(dsp.RegisteredAt)) || notice.From != "2025-01-01" {
			t.Fatalf("mailbox notice %+v", notice)
		}
		open, err := disputed.c.Disputes(ctx, "open")
		if err != nil || len(open) != 1 || open[0].ID != dsp.ID || open[0].Overdue {
			t.Fatalf("the bank's open disputes: %+v %v", open, err)
		}

		// The grantee's report marks January in the disputed bank's
		// currencies until the dispute is resolved.
		req := report.Request{Enterprise: a.code, AuthorizationID: authA.ID, Purpose: loan, From: "2025-01", To: "2025-02"}
		rep, _, err := bank0.c.FlowReport(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Disputes) != 1 || rep.Disputes[0].ID != dsp.ID {
			t.Fatalf("report disputes %+v", rep.Disputes)
		}
		marks := 0
		for _, c := range rep.Currencies {
			for _, m := range c.Monthly {
				if m.Disputed {
					marks++
					if m.Month != "2025-01" || !reflect.DeepEqual(m.DisputeIDs, []string{dsp.ID}) {
						t.Errorf("mark on %s %s: %v", c.Currency, m.Month, m.DisputeIDs)
					}
				}
			}
		}
		if marks == 0 {
			t.Fatal("no month is marked disputed")
		}
		page, err := bank0.c.FlowReportHTML(ctx, req)
		if err != nil || !strings.Contains(string(page), "disputed 异议 "+dsp.ID) {
			t.Fatalf("HTML without the mark (%v)", err)
		}

		// The bank answers; the enterprise reads the answer; the mark goes.
		ans, err := disputed.c.AnswerDispute(ctx, dsp.ID, ronghe.AnswerConfirmed, "经核对原始凭证，一月份流水报送无误")
		if err != nil {
			t.Fatal(err)
		}
		if ans.Status != ronghe.DisputeResolved || ans.Resolution != ronghe.ResolvedByAnswer {
			t.Fatalf("answered: %+v", ans)
		}
		seen, err := a.c.Dispute(ctx, dsp.ID)
		if err != nil || seen.Answer == nil || seen.Answer.Outcome != ronghe.AnswerConfirmed || seen.Answer.Text != "经核对原始凭证，一月份流水报送无误" {
			t.Fatalf("the enterprise's view: %+v %v", seen, err)
		}
		rep, _, err = bank0.c.FlowReport(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Disputes) != 0 || len(disputedMonths(rep)) != 0 {
			t.Errorf("marks after the answer: %+v %v", rep.Disputes, disputedMonths(rep))
		}
	})

	t.Run("CorrectionAfterReport", func(t *testing.T) {
		// The report over HTTPS equals the peer SQL over the raw batches.
		duck, err := sql.Open("duckdb", "")
		if err != nil {
			t.Fatal(err)
		}
		defer duck.Close()
		req := report.Request{Enterprise: a.code, AuthorizationID: authA.ID, Purpose: loan, From: "2024-12", To: "2025-02"}
		w, _ := report.ParseWindow(req.From, req.To)
		first, err := reporttest.LatestBatches(rp.dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := reporttest.LoadCSV(ctx, duck, first); err != nil {
			t.Fatal(err)
		}
		before, _, err := bank0.c.FlowReport(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		peer, err := reporttest.Peer(ctx, duck, a.code, w)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range reporttest.Compare(before, peer) {
			t.Errorf("before the correction: %s", d)
		}

		// The enterprise disputes a day's transactions at a bank; the bank
		// sends a correction batch that re-classifies A's purchases that day
		// as payroll.
		src, accts := correctable(t, rp.dir, a.code)
		id, _ := rrs.ParseBatchID(filepath.Base(src))
		day := id.Date.String()
		dsp2, err := a.c.FileDispute(ctx, client.DisputeRequest{Institution: id.InstCode, From: day, To: day, RecordClass: ronghe.RecordClassTXN,
			Reason: "当日付款用途报送错误"})
		if err != nil {
			t.Fatal(err)
		}
		marked, _, err := bank0.c.FlowReport(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if got := disputedMonths(marked); len(got) == 0 || !strings.HasSuffix(got[0], id.Date.Period().String()) {
			t.Fatalf("disputed months before the correction: %v", got)
		}
		corrDir := filepath.Join(t.TempDir(), "corrections")
		corr := writeCorrection(t, src, corrDir, accts)
		if _, err := rp.byCode[id.InstCode].c.Submit(ctx, corr, client.SubmitOptions{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the correction to resolve the dispute", func() bool {
			d, err := a.c.Dispute(ctx, dsp2.ID)
			if err != nil {
				t.Fatal(err)
			}
			return d.Status == ronghe.DisputeResolved
		})
		resolved, err := a.c.Dispute(ctx, dsp2.ID)
		if err != nil {
			t.Fatal(err)
		}
		if resolved.Resolution != ronghe.ResolvedByCorrection || resolved.CorrectionBatch != filepath.Base(corr) {
			t.Errorf("resolved: %+v", resolved)
		}
		after, _, err := bank0.c.FlowReport(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		latest, err := reporttest.LatestBatches(rp.dir, corrDir)
		if err != nil {
			t.Fatal(err)
		}
		if err := reporttest.LoadCSV(ctx, duck, latest); err != nil {
			t.Fatal(err)
		}
		peer, err = reporttest.Peer(ctx, duck, a.code, w)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range reporttest.Compare(after, peer) {
			t.Errorf("after the correction: %s", d)
		}
		if len(after.Disputes) != 0 || len(disputedMonths(after)) != 0 {
			t.Errorf("marks after the correction: %v", disputedMonths(after))
		}
		if payroll(after) <= payroll(before) {
			t.Errorf("payroll %d after the correction, %d before", payroll(after), payroll(before))
		}
	})
}

func disputedMonths(r *report.Report) []string {
	var out []string
	for _, c := range r.Currencies {
		for _, m := range c.Monthly {
			if m.Disputed {
				out = append(out, c.Currency+" "+m.Month)
			}
		}
	}
	return out
}

func payroll(r *report.Report) int64 {
	var n int64
	for _, c := range r.Currencies {
		n += int64(c.Total.Payroll)
	}
	return n
}

// correctable finds a batch with debits of the enterprise that are not
// payroll, and returns it with the enterprise's account numbers there.
func correctable(t *testing.T, dir, uscc string) (string, map[string]bool) {
	t.Helper()
	latest, err := reporttest.LatestBatches(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range latest {
		accts := map[string]bool{}
		for _, r := range readCSV(t, filepath.Join(b, "ACCT.csv")) {
			if r["uscc"] == uscc && r["acct_type"] != "9" {
				accts[r["acct_no"]] = true
			}
		}
		for _, r := range readCSV(t, filepath.Join(b, "TXN.csv")) {
			if accts[r["acct_no"]] && r["dc_flag"] == "D" && r["purpose"] != "SAL" && r["cp_uscc"] != uscc {
				return b, accts
			}
		}
	}
	t.Fatalf("no batch with debits of %s", uscc)
	return "", nil
}

// writeCorrection writes the next version of the batch at src into dir, its
// TXN debits of the given accounts re-classified as payroll.
func writeCorrection(t *testing.T, src, dir string, accts map[string]bool) string {
	t.Helper()
	id, err := rrs.ParseBatchID(filepath.Base(src))
	if err != nil {
		t.Fatal(err)
	}
	id.Seq++
	dst := filepath.Join(dir, id.String())
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == "TXN.csv" {
			rows, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			col := map[string]int{}
			for i, h := range rows[0] {
				col[h] = i
			}
			for _, r := range rows[1:] {
				if accts[r[col["acct_no"]]] && r[col["dc_flag"]] == "D" {
					r[col["purpose"]] = "SAL"
				}
			}
			var out strings.Builder
			w := csv.NewWriter(&out)
			if err := w.WriteAll(rows); err != nil {
				t.Fatal(err)
			}
			b = []byte(out.String())
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func readCSV(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	} else if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, r := range rows[1:] {
		m := map[string]string{}
		for i, h := range rows[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}

// secrets is every identifying value of the raw batches: account numbers,
// counterparty names, accounts and USCCs, remarks and transaction IDs.
type secrets struct {
	set     map[string]string // value → what it is
	lengths []int
}

func rawSecrets(t *testing.T, dir string) *secrets {
	t.Helper()
	s := &secrets{set: map[string]string{}}
	add := func(v, what string) {
		if v != "" {
			s.set[v] = what
		}
	}
	latest, err := reporttest.LatestBatches(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range latest {
		for _, r := range readCSV(t, filepath.Join(b, "ACCT.csv")) {
			add(r["acct_no"], "account number")
			add(r["parent_acct_no"], "account number")
		}
		for _, r := range readCSV(t, filepath.Join(b, "TXN.csv")) {
			add(r["acct_no"], "account number")
			add(r["txn_id"], "transaction ID")
			add(r["cp_acct_no"], "counterparty account")
			add(r["cp_name"], "counterparty name")
			add(r["cp_uscc"], "counterparty USCC")
			add(r["remark"], "remark")
		}
		for _, r := range readCSV(t, filepath.Join(b, "BAL.csv")) {
			add(r["acct_no"], "account number")
		}
	}
	lens := map[int]bool{}
	for v := range s.set {
		lens[len(v)] = true
	}
	for n := range lens {
		s.lengths = append(s.lengths, n)
	}
	sort.Ints(s.lengths)
	return s
}

// find returns the first identifying value in body, other than the
// report's own enterprise, or "".
func (s *secrets) find(body []byte, self string) string {
	for i := range body {
		for _, n := range s.lengths {
			if i+n > len(body) {
				break
			}
			v := string(body[i : i+n])
			if what, ok := s.set[v]; ok && v != self {
				return fmt.Sprintf("%s %q", what, v)
			}
		}
	}
	return ""
}

// TestReportRateLimit checks the per-bank limit on report requests: after
// the burst the bank gets 429, another bank is not affected.
func TestReportRateLimit(t *testing.T) {
	t.Setenv("RONGHE_REPORT_RATE", "0.001")
	t.Setenv("RONGHE_REPORT_BURST", "3")
	tp := startPlatform(t)
	x, y := tp.onboard(t, ronghe.SuiteGM), tp.onboard(t, ronghe.SuiteINTL)
	rx, ry := tp.raw(t, x), tp.raw(t, y)
	body := reportBody("91350100M000100Y43", "AU000000000000000000000000", ronghe.PurposeLoanApplication, "2025-01", "2025-02")
	for i := 0; i < 3; i++ {
		rx.do("POST", "/v1/reports/flow", jsonHeader, body).problem(t, 403, ronghe.EFORBIDDEN)
	}
	rx.do("POST", "/v1/reports/flow", jsonHeader, body).problem(t, 429, ronghe.ERATELIMIT)
	rx.do("POST", "/v1/reports/flow?format=html", jsonHeader, body).problem(t, 429, ronghe.ERATELIMIT)
	ry.do("POST", "/v1/reports/flow", jsonHeader, body).problem(t, 403, ronghe.EFORBIDDEN)
}
