package main

import (
	"encoding/json"
	"testing"
)

// TestDemo runs `ronghe demo --days 3 --json` in-process and checks its
// summary: every batch of every bank receipted and verified, the replay
// answered with the same receipt, bad input refused, mailbox and evidence
// verified, the log consistent.
//
// Not parallel: the demo routes klog, which is process-wide and not safe to
// change while other tests' logs are running.
func TestDemo(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runCommand(t, "demo", "--days", "3", "--json", "--dir", dir)
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
}
