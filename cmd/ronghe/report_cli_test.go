package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/report"
)

// TestReportCommands runs `ronghe report` as an enterprise, as banks and as
// the operator against a running platform.
func TestReportCommands(t *testing.T) {
	tp := startPlatform(t)
	ctx := context.Background()
	bank, other := tp.onboard(t, ronghe.SuiteGM), tp.onboard(t, ronghe.SuiteINTL)
	const uscc = "91350100M000100Y43"
	entDir := filepath.Join(t.TempDir(), "enterprise")
	prof, err := onboardEnterprise(ctx, tp.p.db, tp.p.keys, uscc, "福州测试有限公司", ronghe.SuiteGM, tp.server, entDir)
	if err != nil {
		t.Fatal(err)
	}
	month := time.Now().In(time.FixedZone("CST", 8*3600)).AddDate(0, -1, 0).Format("2006-01")

	decode := func(out string) []*ronghe.Dispute {
		t.Helper()
		var v struct {
			Disputes []*ronghe.Dispute `json:"disputes"`
		}
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return v.Disputes
	}
	run := func(want int, args ...string) string {
		t.Helper()
		code, out, errOut := runCommand(t, args...)
		if code != want {
			t.Fatalf("ronghe %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, want, out, errOut)
		}
		return out
	}

	// The enterprise files; the bank sees it, the other bank does not.
	filed := decode(run(0, "report", "dispute", "--profile", entDir, "--json", "file", "--institution", bank.code, "--month", month,
		"--class", "BAL", "--reason", "月末余额与对账单不符"))
	if len(filed) != 1 || filed[0].Institution != bank.code || filed[0].RecordClass != ronghe.RecordClassBAL || filed[0].MailboxID == "" {
		t.Fatalf("filed %+v", filed)
	}
	id := filed[0].ID
	if got := decode(run(0, "report", "dispute", "--profile", bank.dir, "--json", "list", "--status", "open")); len(got) != 1 || got[0].ID != id {
		t.Fatalf("the bank's list: %+v", got)
	}
	if got := decode(run(0, "report", "dispute", "--profile", other.dir, "--json", "list")); len(got) != 0 {
		t.Fatalf("the other bank's list: %+v", got)
	}
	run(1, "report", "dispute", "--profile", other.dir, "answer", "--id", id, "--outcome", "confirmed", "--text", "无误")

	// The operator lists everything; nothing is overdue yet.
	out := run(0, "report", "disputes", "--data", tp.dir)
	if !strings.Contains(out, id) || !strings.Contains(out, bank.code) || strings.Contains(out, "OVERDUE") {
		t.Fatalf("operator's list:\n%s", out)
	}
	if got := decode(run(0, "report", "disputes", "--data", tp.dir, "--overdue", "--json")); len(got) != 0 {
		t.Fatalf("overdue before any deadline: %+v", got)
	}
	// A dispute filed 30 days ago and never answered is overdue.
	old := time.Now().AddDate(0, 0, -30)
	stale := &ronghe.Dispute{ID: "DP000000000000000000000001", Enterprise: uscc, Institution: other.code, From: month + "-01", To: month + "-05",
		RecordClass: ronghe.RecordClassTXN, Reason: "old", Document: []byte("{}"), Digest: []byte("stale"), KeyID: "k",
		RegisteredAt: old, Deadline: old.AddDate(0, 0, 21), MailboxID: "MBold", Status: ronghe.DisputeOpen}
	if err := tp.p.db.PutDispute(ctx, stale); err != nil {
		t.Fatal(err)
	}
	got := decode(run(0, "report", "disputes", "--data", tp.dir, "--overdue", "--json"))
	if len(got) != 1 || got[0].ID != stale.ID || !got[0].Overdue {
		t.Fatalf("overdue: %+v", got)
	}
	if out := run(0, "report", "disputes", "--data", tp.dir, "--overdue"); !strings.Contains(out, "OVERDUE") || strings.Contains(out, id) {
		t.Fatalf("overdue table:\n%s", out)
	}
	if got := decode(run(0, "report", "disputes", "--data", tp.dir, "--institution", bank.code, "--json")); len(got) != 1 || got[0].ID != id {
		t.Fatalf("by institution: %+v", got)
	}
	run(2, "report", "disputes", "--data", tp.dir, "--overdue", "--status", "open")
	run(1, "report", "disputes", "--data", filepath.Join(t.TempDir(), "none"))

	// The bank answers; the enterprise sees the answer.
	run(0, "report", "dispute", "--profile", bank.dir, "answer", "--id", id, "--outcome", "confirmed", "--text", "经核对余额无误")
	seen := map[string]*ronghe.Dispute{}
	for _, d := range decode(run(0, "report", "dispute", "--profile", entDir, "--json", "list")) {
		seen[d.ID] = d
	}
	if len(seen) != 2 || seen[id] == nil || seen[id].Answer == nil || seen[id].Answer.Text != "经核对余额无误" || !seen[stale.ID].Overdue {
		t.Fatalf("the enterprise's view: %+v", seen)
	}

	// A flow report through the command, with its page.
	c := newClient(t, prof)
	auth, err := c.Authorize(ctx, bank.code, ronghe.PurposePostLoan, time.Now().Add(-time.Minute), time.Now().AddDate(0, 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(t.TempDir(), "report.html")
	var r report.Report
	out = run(0, "report", "flow", "--profile", bank.dir, "--enterprise", uscc, "--authorization", auth.ID, "--purpose", ronghe.PurposePostLoan,
		"--from", month, "--to", month, "--html", page, "--json")
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.Enterprise != uscc || r.Grantee != bank.code || r.Months != 1 {
		t.Fatalf("flow report %+v %v", r, err)
	}
	if b, err := os.ReadFile(page); err != nil || !strings.Contains(string(b), uscc) {
		t.Fatalf("page: %v", err)
	}
	run(1, "report", "flow", "--profile", other.dir, "--enterprise", uscc, "--authorization", auth.ID, "--purpose", ronghe.PurposePostLoan,
		"--from", month, "--to", month)
	run(2, "report")
	run(2, "report", "nonsense")
}
