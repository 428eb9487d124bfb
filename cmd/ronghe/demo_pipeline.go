package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/client"
	"github.com/ronghe/ronghe/gen"
	"github.com/ronghe/ronghe/governance"
	"github.com/ronghe/ronghe/lake"
	"github.com/ronghe/ronghe/lake/lakesql"
	"github.com/ronghe/ronghe/pipeline"
	"github.com/ronghe/ronghe/rrs"
)

// demoPipeline is how the durable jobs of the accepted batches ended.
type demoPipeline struct {
	Jobs    int     `json:"jobs"`
	Done    int     `json:"completed"`
	Seconds float64 `json:"seconds"`
}

// demoGovernance is what the quality loop made of the demo's batches, read
// from the platform's store as `ronghe quality` reads it.
type demoGovernance struct {
	Checked  int            `json:"batches_checked"`
	Outcomes map[string]int `json:"outcomes"`
	Findings int            `json:"findings"`
	ByRule   map[string]int `json:"findings_by_rule"`
	// Injected is the generator's ground truth: the findings its injected
	// defects must cause; Matched is true when the checks found exactly
	// those, nothing more and nothing less. Missed counts the injected ones
	// not found, Extra by rule the findings the defects do not explain.
	Injected int            `json:"findings_injected"`
	Matched  bool           `json:"findings_match_injected"`
	Missed   int            `json:"findings_missed"`
	Extra    map[string]int `json:"findings_extra"`
	// Tickets counts the rectification tickets opened; Ticket is one of them.
	Tickets int            `json:"tickets_opened"`
	Ticket  *ronghe.Ticket `json:"ticket,omitempty"`
	// Messages counts, by kind, the mailbox messages the checks delivered.
	Messages map[string]int `json:"mailbox_messages"`
	// Scores are the RRS-1 §4 scores of each month, as of the last
	// generated day's reporting deadline.
	Scores []*ronghe.QualityScore `json:"scores"`
}

// demoLake is what landed in the lakehouse, read from its catalog as
// `ronghe catalog` reads it.
type demoLake struct {
	Tables []demoTable `json:"tables"`
	// TXNRows is the rows of rrs.txn; ExpectedTXNRows the TXN rows of the
	// batches the quality check did not reject.
	TXNRows         int64        `json:"txn_rows"`
	ExpectedTXNRows int64        `json:"expected_txn_rows"`
	Lineage         *demoLineage `json:"lineage"`
}

type demoTable struct {
	Name               string    `json:"name"`
	Rows               int64     `json:"rows"`
	LatestBusinessDate string    `json:"latest_business_date,omitempty"`
	LastUpdated        time.Time `json:"last_updated,omitzero"`
}

// demoLineage is one lake row traced back to the exchange.
type demoLineage struct {
	Table     string `json:"table"`
	TxnID     string `json:"txn_id"`
	Batch     string `json:"batch"`
	MessageID string `json:"message_id"`
	LogIndex  int64  `json:"log_index"`
	// Receipt is true when the row's message ID and log index are those of
	// the bank's signed receipt, verified offline.
	Receipt  bool  `json:"matches_signed_receipt"`
	QueryLog int64 `json:"query_log_id"`
}

// demoWaitPipeline waits, at most wait, until the pipeline's job of every
// accepted batch has completed (quality → flows → lake), and fails at once
// if one was given up.
func demoWaitPipeline(ctx context.Context, p *platform, batches int, began time.Time, wait time.Duration) (*demoPipeline, error) {
	q := `SELECT state, count(*) FROM river_job WHERE kind = '` + pipeline.ProcessArgs{}.Kind() + `' GROUP BY state`
	deadline := time.Now().Add(wait)
	for {
		states := map[string]int{}
		rows, err := p.db.SQL().QueryContext(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("pipeline jobs: %w", err)
		}
		total := 0
		for rows.Next() {
			var s string
			var n int
			if err := rows.Scan(&s, &n); err != nil {
				rows.Close()
				return nil, err
			}
			states[s] += n
			total += n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if n := states["discarded"] + states["cancelled"]; n > 0 {
			return nil, fmt.Errorf("the pipeline gave up on %d of %d batches (job states %v); run with -v to see why", n, batches, states)
		}
		if total >= batches && states["completed"] == total {
			return &demoPipeline{Jobs: total, Done: states["completed"], Seconds: time.Since(began).Seconds()}, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the pipeline did not finish within %s: %d of %d batches done (job states %v)", wait, states["completed"], batches, states)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// demoGovern reads the quality loop's records, findings, tickets, messages
// and scores from the store the governance service writes.
func demoGovern(ctx context.Context, p *platform, sum *gen.Summary, region string) (*demoGovernance, error) {
	g := &demoGovernance{Outcomes: map[string]int{}, ByRule: map[string]int{}, Messages: map[string]int{}, Extra: map[string]int{}}
	qs, err := p.db.ListQuality(ctx, ronghe.QualityFilter{From: sum.Start.String(), To: sum.End.String()})
	if err != nil {
		return nil, err
	}
	found := map[string]string{} // identity → rule
	for _, q := range qs {
		if q.Status != ronghe.QualityDone {
			return nil, fmt.Errorf("%s: quality check %s", q.Batch, q.Status)
		}
		g.Checked++
		g.Outcomes[q.Outcome]++
		fs, err := p.db.ListFindings(ctx, q.Tenant, q.Batch)
		if err != nil {
			return nil, err
		}
		for _, f := range fs {
			g.Findings++
			g.ByRule[f.Rule]++
			found[f.Rule+" "+f.Batch+" "+f.Type+" "+f.Key] = f.Rule
		}
		ms, err := p.db.ListOutbox(ctx, q.Tenant, q.Batch)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			if m.DeliveredAt != nil {
				g.Messages[m.Kind]++
			}
		}
	}
	// The generator's ground truth: what its defects must cause.
	truth, err := readTruth(filepath.Join(region, "truth", "defects.jsonl"))
	if err != nil {
		return nil, err
	}
	g.Injected = len(truth)
	injected := map[string]bool{}
	for _, k := range truth {
		injected[k] = true
		if found[k] == "" {
			g.Missed++
		}
	}
	for k, rule := range found {
		if !injected[k] {
			g.Extra[rule]++
		}
	}
	g.Matched = g.Missed == 0 && len(g.Extra) == 0
	tickets, err := p.db.ListTickets(ctx, ronghe.TicketFilter{Limit: 1000})
	if err != nil {
		return nil, err
	}
	g.Tickets = len(tickets)
	if len(tickets) > 0 {
		g.Ticket = tickets[0]
	}
	asOf := governance.ReportingDeadline(sum.End)
	for m := sum.Start.Period(); !m.First().After(sum.End); m = m.Last().AddDays(1).Period() {
		scores, err := governance.Scores(ctx, p.db, m, asOf)
		if err != nil {
			return nil, err
		}
		g.Scores = append(g.Scores, scores...)
	}
	return g, nil
}

// readTruth returns the identities (rule, batch, type, key) of the findings
// the generator's truth file lists.
func readTruth(path string) ([]string, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	defer f.Close()
	seen := map[string]bool{}
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		var t gen.Finding
		if err := json.Unmarshal(sc.Bytes(), &t); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if k := t.Rule + " " + t.Batch + " " + t.Type + " " + t.Key; !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out, sc.Err()
}

// demoLakeConfig locates the lake the platform's lake stage writes
// (lakestage.go): the same environment variables, the same defaults.
func demoLakeConfig(data string) lake.Config {
	lc := lake.Config{CatalogURI: os.Getenv("RONGHE_LAKE_CATALOG"), Warehouse: os.Getenv("RONGHE_WAREHOUSE")}
	if lc.CatalogURI == "" {
		lc.CatalogURI = "sqlite:" + filepath.Join(data, "lake", "catalog.db")
	}
	if lc.Warehouse == "" {
		lc.Warehouse, _ = filepath.Abs(filepath.Join(data, "lake", "warehouse"))
	}
	return lc
}

// demoLakeView reads the lake's catalog (tables, rows, freshness) and traces
// one TXN row of batch back to its message and log entry with a governed
// query, checking them against the bank's signed receipt.
func demoLakeView(ctx context.Context, p *platform, data string, batchDirs map[string][]string, batch string,
	c *client.Client, v *client.Verifier) (*demoLake, error) {
	lc := demoLakeConfig(data)
	lc.Logger = p.logger
	l, err := lake.Open(ctx, lc)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	infos, err := l.Catalog(ctx)
	if err != nil {
		return nil, err
	}
	dl := &demoLake{}
	for _, ti := range infos {
		dl.Tables = append(dl.Tables, demoTable{Name: ti.Name, Rows: ti.Rows, LatestBusinessDate: ti.LatestBusinessDate, LastUpdated: ti.LastUpdated})
		if rrs.Type(ti.Type) == rrs.TXN {
			dl.TXNRows = ti.Rows
		}
	}
	// The TXN rows of the batches the check let through.
	rejected := map[string]bool{}
	qs, err := p.db.ListQuality(ctx, ronghe.QualityFilter{Status: ronghe.QualityDone})
	if err != nil {
		return nil, err
	}
	for _, q := range qs {
		if q.Outcome == ronghe.OutcomeRejected || q.Outcome == ronghe.OutcomeSuperseded {
			rejected[q.Batch] = true
		}
	}
	for _, dirs := range batchDirs {
		for _, d := range dirs {
			if rejected[filepath.Base(d)] {
				continue
			}
			n, err := csvRows(filepath.Join(d, "TXN.csv"))
			if err != nil {
				return nil, err
			}
			dl.ExpectedTXNRows += n
		}
	}
	// Lineage: one row of batch, back to the exchange.
	eng, err := lakesql.New(ctx, l, lakesql.Options{CacheDir: filepath.Join(data, "lake", "cache")})
	if err != nil {
		return nil, err
	}
	res, err := eng.Query(ctx, lakesql.Request{User: "demo", Role: "supervisor",
		SQL: "SELECT txn_id, _batch, _message_id, _log_index FROM rrs.txn WHERE _batch = '" + batch + "' ORDER BY txn_id LIMIT 1"})
	if err != nil {
		return nil, fmt.Errorf("lineage query: %w", err)
	}
	if len(res.Rows) != 1 {
		return nil, fmt.Errorf("lineage query: no TXN row of %s in the lake", batch)
	}
	row := res.Rows[0]
	lin := &demoLineage{Table: "rrs.txn", TxnID: fmt.Sprint(row[0]), Batch: fmt.Sprint(row[1]), MessageID: fmt.Sprint(row[2]), QueryLog: res.LogID}
	idx, ok := row[3].(int64)
	if !ok {
		return nil, fmt.Errorf("lineage query: _log_index is %T", row[3])
	}
	lin.LogIndex = idx
	doc, err := c.Receipt(ctx, lin.MessageID)
	if err != nil {
		return nil, err
	}
	rec, err := v.Receipt(doc)
	if err != nil {
		return nil, fmt.Errorf("receipt of %s: %w", lin.MessageID, err)
	}
	if rec.MessageID != lin.MessageID || int64(rec.LogIndex) != lin.LogIndex {
		return nil, fmt.Errorf("lineage of %s: lake says %s at log index %d, the signed receipt %s at %d", lin.TxnID, lin.MessageID, lin.LogIndex, rec.MessageID, rec.LogIndex)
	}
	lin.Receipt = true
	dl.Lineage = lin
	return dl, nil
}

// csvRows counts the data rows of a generated CSV file (records after the
// header); a missing file has none.
func csvRows(path string) (int64, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReader(f))
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	var n int64
	for {
		if _, err := r.Read(); err == io.EOF {
			break
		} else if err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
		n++
	}
	return max(0, n-1), nil
}

// countText renders counts as "k1×n1, k2×n2" by descending count, then key,
// at most top of them ("…" for the rest).
func countText(m map[string]int, top int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	var parts []string
	for i, k := range keys {
		if i == top {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, fmt.Sprintf("%s×%d", k, m[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
