package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestDemo runs `ronghe demo --days 3 --json` in-process and checks its
// summary: every batch of every bank receipted and verified, the replay
// answered with the same receipt, bad input refused, mailbox and evidence
// verified, the log consistent; every batch through the pipeline, the
// quality checks finding exactly the generator's injected defect, its
// ticket and problem list, a score per bank; the lake holding every TXN
// row, one of them traced back to its signed receipt.
//
// Not parallel: the demo routes klog, which is process-wide and not safe to
// change while other tests' logs are running.
func TestDemo(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runCommand(t, "demo", "--days", "3", "--defects", "0.005", "--json", "--dir", dir)
	if code != 0 {
		t.Fatalf("ronghe demo: exit %d\n%s", code, errOut)
	}
	var sum struct {
		Dir          string `json:"dir"`
		Institutions []struct {
			Code    string `json:"code"`
			Suite   string `json:"suite"`
			Batches int    `json:"batches"`
		} `json:"institutions"`
		Batches    int            `json:"batches"`
		Files      int            `json:"files"`
		Bytes      int64          `json:"bytes"`
		TXNRows    int64          `json:"txn_rows"`
		Receipts   int            `json:"receipts_verified"`
		Mailbox    int            `json:"mailbox_messages_verified_and_acked"`
		Evidence   int            `json:"evidence_bundles_verified"`
		LogSize    uint64         `json:"log_size"`
		Consistent bool           `json:"log_consistent_with_first_checkpoint"`
		Replay     string         `json:"replay"`
		Refusals   map[string]int `json:"refusals"`
		Pipeline   struct {
			Jobs int `json:"jobs"`
			Done int `json:"completed"`
		} `json:"pipeline"`
		Governance struct {
			Checked  int            `json:"batches_checked"`
			Outcomes map[string]int `json:"outcomes"`
			Findings int            `json:"findings"`
			ByRule   map[string]int `json:"findings_by_rule"`
			Injected int            `json:"findings_injected"`
			Matched  bool           `json:"findings_match_injected"`
			Missed   int            `json:"findings_missed"`
			Extra    map[string]int `json:"findings_extra"`
			Tickets  int            `json:"tickets_opened"`
			Ticket   *struct {
				Tenant string `json:"tenant"`
				Rule   string `json:"rule"`
				State  string `json:"state"`
			} `json:"ticket"`
			Messages map[string]int `json:"mailbox_messages"`
			Scores   []struct {
				Institution string  `json:"institution"`
				Month       string  `json:"month"`
				Days        int     `json:"days"`
				Batches     int     `json:"batches"`
				Score       float64 `json:"score"`
				Grade       string  `json:"grade"`
			} `json:"scores"`
		} `json:"governance"`
		Lake struct {
			Tables []struct {
				Name string `json:"name"`
				Rows int64  `json:"rows"`
			} `json:"tables"`
			TXNRows         int64 `json:"txn_rows"`
			ExpectedTXNRows int64 `json:"expected_txn_rows"`
			Lineage         *struct {
				Batch     string `json:"batch"`
				MessageID string `json:"message_id"`
				LogIndex  int64  `json:"log_index"`
				Receipt   bool   `json:"matches_signed_receipt"`
			} `json:"lineage"`
		} `json:"lake"`
	}
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("summary is not JSON: %v\n%s", err, out)
	}
	if sum.Dir != dir {
		t.Errorf("dir = %q, want %q", sum.Dir, dir)
	}
	if len(sum.Institutions) != 3 {
		t.Fatalf("%d institutions, want 3", len(sum.Institutions))
	}
	suites := map[string]int{}
	for _, in := range sum.Institutions {
		if in.Batches != 3 {
			t.Errorf("%s submitted %d batches, want one per day (3)", in.Code, in.Batches)
		}
		suites[in.Suite]++
	}
	if suites["GM"] == 0 || suites["INTL"] == 0 {
		t.Errorf("suites %v: the demo must exercise both", suites)
	}
	if sum.Batches != 9 || sum.Receipts != 9 {
		t.Errorf("batches %d, receipts verified %d, want 9 and 9", sum.Batches, sum.Receipts)
	}
	if sum.Files < sum.Batches || sum.Bytes <= 0 || sum.TXNRows <= 0 {
		t.Errorf("files %d, bytes %d, TXN rows %d", sum.Files, sum.Bytes, sum.TXNRows)
	}
	if sum.Evidence != 3 || sum.Mailbox < 3 {
		t.Errorf("evidence bundles %d (want 3), mailbox messages %d (want at least 3)", sum.Evidence, sum.Mailbox)
	}
	if !sum.Consistent || sum.LogSize == 0 {
		t.Errorf("log consistent %v, size %d", sum.Consistent, sum.LogSize)
	}
	if sum.Replay != "same receipt" {
		t.Errorf("replay = %q", sum.Replay)
	}
	refused := 0
	for code, n := range sum.Refusals {
		if code == "" {
			t.Errorf("%d bad requests were accepted", n)
		}
		refused += n
	}
	if refused < 3 || sum.Refusals["not_found"] == 0 || sum.Refusals["integrity"] == 0 {
		t.Errorf("refusals %v: want the tampered file, the bad signature and the other tenant's message refused", sum.Refusals)
	}

	// The pipeline: one completed job per accepted batch.
	if sum.Pipeline.Jobs != sum.Batches || sum.Pipeline.Done != sum.Batches {
		t.Errorf("pipeline %+v, want %d jobs completed", sum.Pipeline, sum.Batches)
	}
	// Governance: every batch checked, the injected defect found and
	// nothing else, one ticket per finding, the problem list delivered.
	gv := sum.Governance
	outcomes, byRule, delivered := 0, 0, 0
	for _, n := range gv.Outcomes {
		outcomes += n
	}
	for _, n := range gv.ByRule {
		byRule += n
	}
	for _, n := range gv.Messages {
		delivered += n
	}
	if gv.Checked != sum.Batches || outcomes != sum.Batches {
		t.Errorf("governance checked %d batches, outcomes %v; want %d", gv.Checked, gv.Outcomes, sum.Batches)
	}
	if gv.Injected == 0 {
		t.Fatal("the generator injected no defect: choose another --defects rate for the test")
	}
	// Every injected defect is found and nothing else: each bank's batches
	// are checked in business-date order whatever order the pipeline's
	// workers pick them up, so C01 and C05 see the right previous day.
	for rule, n := range gv.Extra {
		t.Errorf("%d %s findings the injected defects do not cause", n, rule)
	}
	if gv.Missed != 0 || gv.Findings != gv.Injected || byRule != gv.Findings || gv.ByRule["S03"] != gv.Injected || !gv.Matched {
		t.Errorf("findings %d %v (match %v, missed %d), want the %d injected S03 ones", gv.Findings, gv.ByRule, gv.Matched, gv.Missed, gv.Injected)
	}
	if gv.Tickets != gv.Findings || gv.Ticket == nil || gv.Ticket.State != "open" {
		t.Errorf("%d tickets (%+v), want one open ticket per finding (%d)", gv.Tickets, gv.Ticket, gv.Findings)
	}
	if gv.Outcomes["accepted_with_warnings"] == 0 || gv.Outcomes["rejected"] != 0 {
		t.Errorf("outcomes %v: want the faulty batch usable with findings, none rejected", gv.Outcomes)
	}
	if gv.Messages["quality.report"] != sum.Batches || gv.Messages["quality.problems"] == 0 {
		t.Errorf("quality messages delivered %v: want a report per batch and the faulty batch's problem list", gv.Messages)
	}
	// Step 9 fetched the three summaries and every quality message.
	if sum.Mailbox != len(sum.Institutions)+delivered {
		t.Errorf("mailbox messages acknowledged %d, want %d summaries + %d quality messages", sum.Mailbox, len(sum.Institutions), delivered)
	}
	if len(gv.Scores) != len(sum.Institutions) {
		t.Errorf("%d scores, want one per bank", len(gv.Scores))
	}
	for _, sc := range gv.Scores {
		if sc.Month != "2025-01" || sc.Days != 3 || sc.Batches != 3 || sc.Score <= 0 || sc.Score > 100 || sc.Grade == "" {
			t.Errorf("score %+v: want January, 3 days with a batch each, a graded score", sc)
		}
	}
	// The lake: every TXN row of the accepted batches, seven tables, and
	// one row traced back to its signed receipt.
	if sum.Lake.TXNRows != sum.TXNRows || sum.Lake.ExpectedTXNRows != sum.TXNRows {
		t.Errorf("lake rrs.txn %d rows, expected %d; the generator wrote %d (none rejected)", sum.Lake.TXNRows, sum.Lake.ExpectedTXNRows, sum.TXNRows)
	}
	if len(sum.Lake.Tables) != 7 {
		t.Errorf("lake tables %+v, want 7", sum.Lake.Tables)
	}
	lin := sum.Lake.Lineage
	if lin == nil || !lin.Receipt || lin.Batch != lin.MessageID || lin.LogIndex < 0 || !strings.HasPrefix(lin.Batch, sum.Institutions[0].Code) {
		t.Errorf("lineage %+v: want a row of the first bank's batch, matching its signed receipt", lin)
	}
}
