package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/client"
	"github.com/ronghe/ronghe/gen"
	"github.com/ronghe/ronghe/report"
	"github.com/ronghe/ronghe/rrs"
	"golang.org/x/sync/errgroup"
)

// demoResult is what the demo did, printed for a person or as JSON.
type demoResult struct {
	Dir           string         `json:"dir"`
	Institutions  []demoBank     `json:"institutions"`
	Batches       int            `json:"batches"`
	Files         int            `json:"files"`
	Bytes         int64          `json:"bytes"`
	TXNRows       int64          `json:"txn_rows"`
	Receipts      int            `json:"receipts_verified"`
	Mailbox       int            `json:"mailbox_messages_verified_and_acked"`
	Evidence      int            `json:"evidence_bundles_verified"`
	LogSize       uint64         `json:"log_size"`
	Consistent    bool           `json:"log_consistent_with_first_checkpoint"`
	Replay        string         `json:"replay"`
	Refusals      map[string]int `json:"refusals"`
	Report        *demoReport    `json:"report,omitempty"`
	SubmitSeconds float64        `json:"submit_seconds"`
	// Pipeline, Governance and Lake are the platform's internal jobs on
	// the accepted batches (demo_pipeline.go).
	Pipeline   *demoPipeline   `json:"pipeline,omitempty"`
	Governance *demoGovernance `json:"governance,omitempty"`
	Lake       *demoLake       `json:"lake,omitempty"`
}

// demoReport is what the demo's loan officer saw.
type demoReport struct {
	Enterprise   string `json:"enterprise"`
	Name         string `json:"name"`
	Grantee      string `json:"grantee"`
	Institutions int    `json:"institutions"`
	Months       int    `json:"months"`
	InflowCNY    string `json:"inflow_cny"`
	OutflowCNY   string `json:"outflow_cny"`
	Verified     bool   `json:"signature_verified"`
	RefusedOther bool   `json:"other_bank_refused"`
	QueryRecords int    `json:"query_records_seen_by_enterprise"`
	HTMLBytes    int    `json:"html_bytes"`
}

type demoBank struct {
	Code    string       `json:"code"`
	Name    string       `json:"name"`
	Suite   ronghe.Suite `json:"suite"`
	Batches int          `json:"batches"`
}

func runDemo(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "demo")
	days := fs.Int("days", 10, "days of batches to generate and submit")
	dir := fs.String("dir", "", "work directory (default: a new temporary directory, removed afterwards)")
	keep := fs.Bool("keep", false, "keep the temporary directory")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	verbose := fs.Bool("v", false, "show the platform's logs")
	defects := fs.Float64("defects", 0.002, "probability of an injected defect per candidate unit (account-day) of each of --defect-rules, which the quality checks must find (0: clean data)")
	defectRules := fs.String("defect-rules", "S03", "RRS-1 rules whose violations the generator injects (S03: an account's BAL totals do not match its TXN rows)")
	wait := fs.Duration("wait", 3*time.Minute, "how long to wait for the pipeline to process the accepted batches")
	if err := fs.Parse(args); err != nil {
		return err
	}
	work := *dir
	if work == "" {
		tmp, err := os.MkdirTemp("", "ronghe-demo-")
		if err != nil {
			return err
		}
		work = tmp
		if !*keep {
			defer os.RemoveAll(tmp)
		}
	}
	say := func(format string, args ...any) {
		if !*asJSON {
			fmt.Fprintf(e.stdout, format+"\n", args...)
		}
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if *verbose {
		logger = e.logger
	}
	routeKlog(logger)
	prevDefault := slog.Default()
	slog.SetDefault(logger)
	defer slog.SetDefault(prevDefault)

	// 1. A synthetic region: three banks and their daily RRS-1 batches.
	cfg := gen.DefaultConfig()
	cfg.Days = *days
	cfg.OutDir = filepath.Join(work, "region")
	if *defects > 0 {
		var err error
		cfg.DefectRate = *defects
		if cfg.DefectRules, err = gen.ParseRules(*defectRules); err != nil {
			return usagef("--defect-rules: %v", err)
		}
	}
	sum, err := gen.Generate(ctx, cfg)
	if err != nil {
		return err
	}
	var region gen.RegionFile
	if b, err := os.ReadFile(filepath.Join(cfg.OutDir, "region.json")); err != nil {
		return err
	} else if err := json.Unmarshal(b, &region); err != nil {
		return err
	}
	say("1. generated %d batches (%s … %s): %d enterprises, %d accounts, %d TXN rows; %s injected (%s), which must cause %s",
		sum.Batches, sum.Start, sum.End, sum.Enterprises, sum.Accounts, sum.Rows[rrs.TXN], plural(sum.Defects, "defect"),
		strings.Join(cfg.DefectRules, ","), plural(sum.Findings, "finding"))

	// 2. The platform, embedded: SQLite, local blobs, local log, TLS 1.3.
	pcfg := platformConfig{logger: logger}
	pcfg.store = storeFlags{data: filepath.Join(work, "platform"), origin: "ronghe.demo/log"}
	p, err := openPlatform(ctx, pcfg)
	if err != nil {
		return err
	}
	defer p.close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- p.serve(sctx, ln) }()
	defer func() { stop(); <-served }()
	server := "https://" + ln.Addr().String()
	say("2. platform serving on %s (data in %s)", server, pcfg.store.data)

	// 3. Onboard the banks: suites GM, GM, INTL, …
	res := &demoResult{Dir: work, Refusals: map[string]int{}}
	clients := map[string]*client.Client{}
	profiles := map[string]*client.Profile{}
	for i, inst := range region.Institutions {
		s := ronghe.SuiteGM
		if i%3 == 2 {
			s = ronghe.SuiteINTL
		}
		prof, err := onboard(ctx, p.db, p.keys, onboarding{code: inst.Code, name: inst.Name, kind: ronghe.KindBank, suite: s,
			server: server, out: filepath.Join(work, "profiles", inst.Code), certDays: 30})
		if err != nil {
			return err
		}
		c, err := client.New(prof)
		if err != nil {
			return err
		}
		clients[inst.Code], profiles[inst.Code] = c, prof
		res.Institutions = append(res.Institutions, demoBank{Code: inst.Code, Name: inst.Name, Suite: s})
		say("3. onboarded %s %s — suite %s, client certificate and signing key in profiles/%s", inst.Code, inst.Name, s, inst.Code)
	}
	first, _, err := clients[region.Institutions[0].Code].Checkpoint(ctx, mustVerifier(profiles[region.Institutions[0].Code]))
	if err != nil {
		return err
	}

	// 4. Every bank submits its batches in business-date order, banks in parallel.
	batches, err := batchDirs(cfg.OutDir)
	if err != nil {
		return err
	}
	began := time.Now()
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	for i := range res.Institutions {
		bank := &res.Institutions[i]
		g.Go(func() error {
			for _, b := range batches[bank.Code] {
				r, err := clients[bank.Code].Submit(gctx, b, client.SubmitOptions{})
				if err != nil {
					return fmt.Errorf("%s: %w", filepath.Base(b), err)
				}
				if !r.Verified {
					return fmt.Errorf("%s: receipt not verified", filepath.Base(b))
				}
				mu.Lock()
				bank.Batches++
				res.Batches++
				res.Receipts++
				res.Files += len(r.Manifest.Files)
				for _, f := range r.Manifest.Files {
					res.Bytes += f.Size
				}
				mu.Unlock()
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	res.SubmitSeconds = time.Since(began).Seconds()
	res.TXNRows = sum.Rows[rrs.TXN]
	say("4. submitted %d batches, %d files, %s in %.1fs; every receipt verified offline (platform Ed25519+SM2 signatures, checkpoint, inclusion proof)",
		res.Batches, res.Files, humanBytes(res.Bytes), res.SubmitSeconds)

	// 5. Every acceptance queued a durable job: quality → flows → lake.
	if res.Pipeline, err = demoWaitPipeline(ctx, p, res.Batches, began, *wait); err != nil {
		return err
	}
	say("5. the pipeline's %d durable jobs (quality → flows → lake) completed %.1fs after the first submission", res.Pipeline.Done, res.Pipeline.Seconds)

	// 6. Governance: the checks, their findings back in the banks'
	// mailboxes, tickets, scores.
	if res.Governance, err = demoGovern(ctx, p, sum, cfg.OutDir); err != nil {
		return err
	}
	gv := res.Governance
	match := "exactly those the injected defects cause"
	switch {
	case !gv.Matched:
		match = fmt.Sprintf("of the %d the injected defects cause %d found, %d missed; %d not caused by them (%s)",
			gv.Injected, gv.Injected-gv.Missed, gv.Missed, gv.Findings-(gv.Injected-gv.Missed), countText(gv.Extra, 5))
	case gv.Injected == 0:
		match = "as expected of clean data"
	}
	say("6. governance: %d batches checked — %s; %s (%s), %s", gv.Checked, countText(gv.Outcomes, 4), plural(gv.Findings, "finding"),
		countText(gv.ByRule, 5), match)
	say("   %s opened%s; delivered to the banks' mailboxes: %s", plural(gv.Tickets, "rectification ticket"), ticketText(gv.Ticket, gv.Tickets), countText(gv.Messages, 6))
	late := false
	for _, sc := range gv.Scores {
		say("   quality score %s of %s: %.2f (grade %s) — timeliness %.2f, completeness %.2f, accuracy %.4f, consistency %.4f",
			sc.Month, sc.Tenant, sc.Score, sc.Grade, sc.Timeliness, sc.Completeness, sc.Accuracy, sc.Consistency)
		late = late || sc.Timeliness < 1
	}
	if late {
		say("   (as of %s's reporting deadline; batches count as late because the demo submits %s's data today)", sum.End, sum.Start.Period())
	}

	// 7. The lake: tables, freshness, and one row's lineage.
	lastBatch := filepath.Base(batches[res.Institutions[0].Code][len(batches[res.Institutions[0].Code])-1])
	if res.Lake, err = demoLakeView(ctx, p, pcfg.store.data, batches, lastBatch, clients[res.Institutions[0].Code],
		mustVerifier(profiles[res.Institutions[0].Code])); err != nil {
		return err
	}
	var tables []string
	var latest string
	var updated time.Time
	for _, t := range res.Lake.Tables {
		tables = append(tables, fmt.Sprintf("%s %d", t.Name, t.Rows))
		latest = max(latest, t.LatestBusinessDate)
		if t.LastUpdated.After(updated) {
			updated = t.LastUpdated
		}
	}
	say("7. lake: %s rows; data to %s, last commit %s", strings.Join(tables, ", "), latest, updated.In(shanghai()).Format("2006-01-02 15:04:05 -07:00"))
	say("   rrs.txn holds %d rows, the %d TXN rows of the batches the checks let through", res.Lake.TXNRows, res.Lake.ExpectedTXNRows)
	lin := res.Lake.Lineage
	say("   lineage: %s row %s ← batch %s, message %s, log index %d — as in the bank's signed receipt (governed query, log #%d)",
		lin.Table, lin.TxnID, lin.Batch, lin.MessageID, lin.LogIndex, lin.QueryLog)

	// 8. Replaying a batch returns the same receipt; bad input is refused.
	bank := res.Institutions[0].Code
	c := clients[bank]
	again, err := c.Submit(ctx, batches[bank][0], client.SubmitOptions{})
	if err != nil {
		return err
	}
	prev, err := c.Receipt(ctx, again.Manifest.MessageID)
	if err != nil {
		return err
	}
	if string(prev.Marshal()) != string(again.Receipt.Marshal()) {
		return fmt.Errorf("replay of %s gave a different receipt", again.Manifest.MessageID)
	}
	res.Replay = "same receipt"
	if err := demoRefusals(ctx, c, profiles[bank], batches[bank][0], clients[res.Institutions[1].Code], res.Refusals); err != nil {
		return err
	}
	say("8. replay of %s returned the same receipt; refused as expected: %s", again.Manifest.MessageID, refusalText(res.Refusals))

	// 9. The platform writes to every bank's mailbox; banks fetch, verify and acknowledge.
	for _, b := range res.Institutions {
		body, _ := json.Marshal(map[string]any{"institution": b.Code, "batches_accepted": b.Batches, "period": sum.Start.String() + "/" + sum.End.String()})
		if _, err := p.exch.Deliver(ctx, b.Code, "exchange.summary", fmt.Sprintf("%d batches accepted %s to %s", b.Batches, sum.Start, sum.End), "", "application/json", body); err != nil {
			return err
		}
		v := mustVerifier(profiles[b.Code])
		list, err := clients[b.Code].Mailbox(ctx, true)
		if err != nil {
			return err
		}
		for _, item := range list {
			m, err := clients[b.Code].FetchMessage(ctx, item.ID)
			if err != nil {
				return err
			}
			if _, err := v.Mailbox(m, b.Code, b.Suite); err != nil {
				return err
			}
			if _, err := clients[b.Code].Acknowledge(ctx, m); err != nil {
				return err
			}
			res.Mailbox++
		}
	}
	say("9. %d mailbox messages fetched, verified and acknowledged with the banks' signatures (both sides logged)", res.Mailbox)

	// 10. Evidence bundles verify offline; the log only grew.
	for _, b := range res.Institutions {
		id := filepath.Base(batches[b.Code][len(batches[b.Code])-1])
		bundle, err := clients[b.Code].Evidence(ctx, id)
		if err != nil {
			return err
		}
		if _, err := mustVerifier(profiles[b.Code]).Bundle(bundle); err != nil {
			return fmt.Errorf("evidence of %s: %w", id, err)
		}
		res.Evidence++
	}
	last, _, err := c.Checkpoint(ctx, mustVerifier(profiles[bank]))
	if err != nil {
		return err
	}
	if err := c.VerifyConsistency(ctx, first, last); err != nil {
		return err
	}
	res.LogSize, res.Consistent = last.Size, true
	say("10. %d evidence bundles verified offline; the published checkpoint grew from %d to %d entries and the consistency proof between them verifies", res.Evidence, first.Size, last.Size)

	// 11. Use without seeing: an enterprise authorizes a bank, the bank gets
	// the cross-bank flow report, another bank is refused, the enterprise
	// sees both queries.
	if res.Report, err = demoFlowReport(ctx, p, &region, sum, server, work, res, clients); err != nil {
		return err
	}
	say("11. %s %s authorized %s; its flow report over %d institutions and %d months (CNY inflow %s, outflow %s) verified; %s was refused; the enterprise sees %d query records",
		res.Report.Enterprise, res.Report.Name, res.Report.Grantee, res.Report.Institutions, res.Report.Months, res.Report.InflowCNY,
		res.Report.OutflowCNY, res.Institutions[1].Code, res.Report.QueryRecords)

	if *asJSON {
		return printJSON(e.stdout, res)
	}
	if *keep || *dir != "" {
		say("work directory kept: %s", work)
	}
	say("demo complete")
	return nil
}

// plural is "1 thing" or "n things".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// ticketText describes one of n tickets for step 6.
func ticketText(t *ronghe.Ticket, n int) string {
	if t == nil {
		return ""
	}
	eg := ""
	if n > 1 {
		eg = "e.g. "
	}
	return fmt.Sprintf(" (%s%s: %s on %s %s of %s, due %s)", eg, t.ID, t.Rule, t.Type, t.Key, t.Tenant, t.DueDate)
}

func mustVerifier(p *client.Profile) *client.Verifier {
	v, err := client.NewVerifier(p.Pinned)
	if err != nil {
		panic(err) // the demo built the profile itself
	}
	return v
}

// batchDirs lists the generated batches per institution in business-date
// order.
func batchDirs(root string) (map[string][]string, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, e := range entries {
		id, err := rrs.ParseBatchID(e.Name())
		if err != nil {
			continue
		}
		out[id.InstCode] = append(out[id.InstCode], filepath.Join(root, e.Name()))
	}
	for _, list := range out {
		sort.Strings(list)
	}
	return out, nil
}

// demoRefusals shows that bad input is refused with a clear error and
// nothing stored: a batch changed after its manifest was submitted (the
// changed manifest conflicts with the stored one: 409), a bad signature
// (422), and another bank asking for this bank's message (404, as if it did
// not exist).
func demoRefusals(ctx context.Context, c *client.Client, prof *client.Profile, batch string, other *client.Client, counts map[string]int) error {
	// A batch whose file changes after its manifest was submitted.
	tmp, err := os.MkdirTemp("", "ronghe-tamper-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	id, _ := rrs.ParseBatchID(filepath.Base(batch))
	id.Seq = 9
	dst := filepath.Join(tmp, id.String())
	if err := copyDir(batch, dst); err != nil {
		return err
	}
	src, err := client.OpenSource(dst)
	if err != nil {
		return err
	}
	manifest, m, err := client.BuildManifest(ctx, src, prof.Institution, prof.Signer, client.ManifestOptions{})
	src.Close()
	if err != nil {
		return err
	}
	sig, _ := prof.Signer.Sign(manifest)
	if _, err := c.PostManifest(ctx, manifest, sig); err != nil {
		return err
	}
	// Tamper with TXN.csv after signing, then upload it.
	txn := filepath.Join(dst, "TXN.csv")
	b, err := os.ReadFile(txn)
	if err != nil {
		return err
	}
	b = append(b[:len(b)-1], 'X', '\n')
	if err := os.WriteFile(txn, b, 0o644); err != nil {
		return err
	}
	_, err = c.Submit(ctx, dst, client.SubmitOptions{})
	counts[ronghe.ErrorCode(err)]++
	// A bad signature.
	sig[len(sig)-1] ^= 1
	manifest2 := strings.Replace(string(manifest), m.MessageID, strings.TrimSuffix(m.MessageID, "_9")+"_8", 1)
	manifest2 = strings.Replace(manifest2, `"batch_seq":9`, `"batch_seq":8`, 1)
	_, err = c.PostManifest(ctx, []byte(manifest2), sig)
	counts[ronghe.ErrorCode(err)]++
	// Another bank asking for this bank's message learns nothing.
	_, err = other.Submission(ctx, filepath.Base(batch))
	counts[ronghe.ErrorCode(err)]++
	for code := range counts {
		if code == "" {
			return fmt.Errorf("a bad request was accepted")
		}
	}
	return nil
}

func refusalText(counts map[string]int) string {
	var parts []string
	for code, n := range counts {
		parts = append(parts, fmt.Sprintf("%s×%d", code, n))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

func copyDir(src, dst string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// demoFlowReport runs the authorization-first flow report of step 11.
func demoFlowReport(ctx context.Context, p *platform, region *gen.RegionFile, sum *gen.Summary, server, work string, res *demoResult, clients map[string]*client.Client) (*demoReport, error) {
	// The pipeline has applied every batch to the aggregates (step 5).
	// The enterprise with accounts at the most institutions.
	best, bestInsts := 0, 0
	for i, e := range region.Enterprises {
		insts := map[string]bool{}
		for _, a := range e.Accounts {
			insts[a.InstCode] = true
		}
		if len(insts) > bestInsts {
			best, bestInsts = i, len(insts)
		}
	}
	ent := region.Enterprises[best]
	prof, err := onboardEnterprise(ctx, p.db, p.keys, ent.USCC, ent.Name, ronghe.SuiteGM, server, filepath.Join(work, "profiles", ent.USCC))
	if err != nil {
		return nil, err
	}
	ec, err := client.New(prof)
	if err != nil {
		return nil, err
	}
	bank, other := res.Institutions[0].Code, res.Institutions[1].Code
	auth, err := ec.Authorize(ctx, bank, ronghe.PurposeLoanApplication, time.Now().Add(-time.Minute), time.Now().AddDate(0, 6, 0))
	if err != nil {
		return nil, err
	}
	req := report.Request{Enterprise: ent.USCC, AuthorizationID: auth.ID, Purpose: ronghe.PurposeLoanApplication,
		From: sum.Start.Period().String(), To: sum.End.Period().String()}
	rep, _, err := clients[bank].FlowReport(ctx, req)
	if err != nil {
		return nil, err
	}
	page, err := clients[bank].FlowReportHTML(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(work, "flow-report.html"), page, 0o644); err != nil {
		return nil, err
	}
	_, _, err = clients[other].FlowReport(ctx, req)
	if ronghe.ErrorCode(err) != ronghe.EFORBIDDEN {
		return nil, fmt.Errorf("a bank without authorization was not refused: %v", err)
	}
	recs, err := ec.QueryRecords(ctx)
	if err != nil {
		return nil, err
	}
	dr := &demoReport{Enterprise: ent.USCC, Name: ent.Name, Grantee: bank, Institutions: rep.Institutions, Months: rep.Months,
		Verified: true, RefusedOther: true, QueryRecords: len(recs), HTMLBytes: len(page)}
	for _, c := range rep.Currencies {
		if c.Currency == "CNY" {
			dr.InflowCNY, dr.OutflowCNY = c.Total.Inflow.String(), c.Total.Outflow.String()
		}
	}
	return dr, nil
}
