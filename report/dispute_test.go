package report

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ronghe/ronghe"
)

// disputeFacts: accounts at B1 (CNY) and B2 (USD); flows in CNY and USD in
// January–March 2025, and EUR flows from B3 in February (no account at B3 is
// known, as when its ACCT rows were refused).
func disputeFacts() *ronghe.FlowFacts {
	eur := cell("2025-02-05", "EUR", "e", 10_00, 0)
	eur.Inst = "B3"
	usd := cell("2025-02-20", "USD", "d", 50_00, 10_00)
	usd.Inst = "B2"
	return &ronghe.FlowFacts{
		Accounts: []ronghe.FlowAccount{
			{USCC: ent, Inst: "B1", Key: "k1", Type: "1", Currency: "CNY", OpenDate: "2020-05-01"},
			{USCC: ent, Inst: "B2", Key: "k2", Type: "2", Currency: "USD", OpenDate: "2021-05-01"},
		},
		Cells: []ronghe.DatedFlowCell{
			cell("2025-01-02", "CNY", "a", 1_000_00, 0),
			cell("2025-03-02", "CNY", "a", 2_000_00, 0),
			usd, eur,
		},
	}
}

func disputed(r *Report) map[string][]string {
	out := map[string][]string{}
	for _, c := range r.Currencies {
		for _, m := range c.Monthly {
			if m.Disputed != (len(m.DisputeIDs) > 0) {
				panic("Disputed and DisputeIDs disagree")
			}
			if m.Disputed {
				out[c.Currency+" "+m.Month] = m.DisputeIDs
			}
		}
	}
	return out
}

func TestMarkDisputes(t *testing.T) {
	at := time.Date(2025, 4, 1, 2, 0, 0, 0, time.UTC)
	dp := func(id, inst, from, to, cur string) *ronghe.Dispute {
		return &ronghe.Dispute{ID: id, Enterprise: ent, Institution: inst, From: from, To: to, RecordClass: ronghe.RecordClassTXN,
			Currency: cur, Reason: "账号 6222020000000000001 对手方 某公司", Status: ronghe.DisputeOpen, RegisteredAt: at, Deadline: at.AddDate(0, 0, 21)}
	}
	resolved := dp("DP-R", "B1", "2025-01-01", "2025-03-31", "")
	resolved.Status = ronghe.DisputeResolved
	other := dp("DP-O", "B1", "2025-01-01", "2025-03-31", "")
	other.Enterprise = "91110000600037341L"
	for _, tc := range []struct {
		name  string
		ds    []*ronghe.Dispute
		want  map[string][]string
		marks []string
	}{
		{"none", nil, map[string][]string{}, []string{}},
		{"one day at B1: its currency, its month", []*ronghe.Dispute{dp("DP1", "B1", "2025-01-15", "2025-01-15", "")},
			map[string][]string{"CNY 2025-01": {"DP1"}}, []string{"DP1"}},
		{"a month without activity is marked too", []*ronghe.Dispute{dp("DP1", "B1", "2025-02-01", "2025-02-28", "")},
			map[string][]string{"CNY 2025-02": {"DP1"}}, []string{"DP1"}},
		{"range across months at B2", []*ronghe.Dispute{dp("DP2", "B2", "2025-01-20", "2025-03-05", "")},
			map[string][]string{"USD 2025-01": {"DP2"}, "USD 2025-02": {"DP2"}, "USD 2025-03": {"DP2"}}, []string{"DP2"}},
		{"named currency", []*ronghe.Dispute{dp("DP3", "B1", "2025-03-01", "2025-03-31", "USD")},
			map[string][]string{"USD 2025-03": {"DP3"}}, []string{"DP3"}},
		{"flows without a known account", []*ronghe.Dispute{dp("DP4", "B3", "2025-02-01", "2025-02-28", "")},
			map[string][]string{"EUR 2025-02": {"DP4"}}, []string{"DP4"}},
		{"an institution that reported nothing: every currency", []*ronghe.Dispute{dp("DP5", "B9", "2025-03-10", "2025-03-10", "")},
			map[string][]string{"CNY 2025-03": {"DP5"}, "USD 2025-03": {"DP5"}, "EUR 2025-03": {"DP5"}}, []string{"DP5"}},
		{"partly outside the window", []*ronghe.Dispute{dp("DP6", "B1", "2024-12-01", "2025-01-05", "")},
			map[string][]string{"CNY 2025-01": {"DP6"}}, []string{"DP6"}},
		{"outside the window", []*ronghe.Dispute{dp("DP7", "B1", "2025-04-01", "2025-04-30", "")}, map[string][]string{}, []string{}},
		{"resolved and another enterprise's are ignored", []*ronghe.Dispute{resolved, other}, map[string][]string{}, []string{}},
		{"two on one month, in filing order", []*ronghe.Dispute{
			func() *ronghe.Dispute {
				d := dp("DP9", "B1", "2025-01-01", "2025-01-31", "")
				d.RegisteredAt = at.Add(time.Hour)
				return d
			}(),
			dp("DP8", "B1", "2025-01-10", "2025-01-10", ""),
		}, map[string][]string{"CNY 2025-01": {"DP8", "DP9"}}, []string{"DP8", "DP9"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := disputeFacts()
			r := Compute(f, ent, mustWindow(t, "2025-01", "2025-03"), at)
			before, _ := json.Marshal(r.Currencies)
			MarkDisputes(r, f, tc.ds)
			if got := disputed(r); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("marks %v, want %v", got, tc.want)
			}
			var ids []string
			for _, m := range r.Disputes {
				ids = append(ids, m.ID)
			}
			if ids == nil {
				ids = []string{}
			}
			if !reflect.DeepEqual(ids, tc.marks) {
				t.Errorf("listed %v, want %v", ids, tc.marks)
			}
			// Marks change no figure.
			for i := range r.Currencies {
				for j := range r.Currencies[i].Monthly {
					r.Currencies[i].Monthly[j].Disputed, r.Currencies[i].Monthly[j].DisputeIDs = false, nil
				}
			}
			if after, _ := json.Marshal(r.Currencies); string(after) != string(before) {
				t.Error("marking changed the figures")
			}
		})
	}
}

func TestDisputeMarksInOutput(t *testing.T) {
	at := time.Date(2025, 4, 1, 2, 0, 0, 0, time.UTC)
	f := disputeFacts()
	r := Compute(f, ent, mustWindow(t, "2025-01", "2025-03"), at)
	d := &ronghe.Dispute{ID: "DPabc", Enterprise: ent, Institution: "B1", From: "2025-01-01", To: "2025-01-31", RecordClass: ronghe.RecordClassBAL,
		Reason: "账号 6222020000000000001 余额不对", Status: ronghe.DisputeOpen, RegisteredAt: at, Deadline: time.Date(2025, 4, 21, 16, 0, 0, 0, time.UTC), Overdue: true}
	MarkDisputes(r, f, []*ronghe.Dispute{d})
	js, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	page, err := r.HTML()
	if err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"JSON": string(js), "HTML": string(page)} {
		if !strings.Contains(out, "DPabc") {
			t.Errorf("%s has no dispute mark", name)
		}
		// Neither the reason nor the disputed institution leaves in a report.
		if strings.Contains(out, "6222020000000000001") || strings.Contains(out, "余额不对") || strings.Contains(out, `"B1"`) {
			t.Errorf("%s shows the reason or the institution", name)
		}
	}
	if !strings.Contains(string(js), `"disputed":true,"dispute_ids":["DPabc"]`) {
		t.Errorf("JSON month mark missing: %s", js)
	}
	// The last day to answer is shown in Asia/Shanghai: 21 April.
	if !strings.Contains(string(page), "2025-04-21") || !strings.Contains(string(page), "overdue") || !strings.Contains(string(page), "disputed 异议 DPabc") {
		t.Errorf("HTML dispute section incomplete")
	}
	// Without disputes the list is empty, not null.
	plain := Compute(f, ent, mustWindow(t, "2025-01", "2025-03"), at)
	js, _ = json.Marshal(plain)
	if !strings.Contains(string(js), `"disputes":[]`) || strings.Contains(string(js), `"disputed":true`) {
		t.Errorf("report without disputes: %s", js)
	}
}
