package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/client"
	"github.com/ronghe/ronghe/evidence"
	"github.com/ronghe/ronghe/governance"
	"github.com/ronghe/ronghe/pki"
	"github.com/ronghe/ronghe/policy"
	"github.com/ronghe/ronghe/rrs"
	"github.com/ronghe/ronghe/sqlstore"
)

// openGovernance builds the quality loop: the first pipeline stage, the
// sweeper of deadlines and the institutions' quality API. Its rule-engine
// history and private work files live in <data>/quality (0700).
func (p *platform) openGovernance(cfg platformConfig) (*governance.Service, error) {
	key, err := loadOrCreateSecret(filepath.Join(cfg.store.data, "keys", "sample.key"))
	if err != nil {
		return nil, fmt.Errorf("sampling key: %w", err)
	}
	dir := filepath.Join(cfg.store.data, "quality")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	work := filepath.Join(dir, "work")
	removeStaleWork(work, time.Hour)
	c := governance.Config{
		Store: p.db, Submissions: p.db, Blobs: p.blobs, Keys: p.db,
		Mailbox: lateMailbox(func() policy.Mailbox {
			if p.exch == nil {
				return nil
			}
			return p.exch
		}),
		HistoryPath: filepath.Join(dir, "history.duckdb"), WorkDir: work, SampleKey: key, Logger: cfg.logger,
	}
	if p.db.Dialect() == sqlstore.DialectPostgres {
		// Serve processes share the data directory: one checks at a time.
		c.Lock = governance.PollLock(p.db.TryLeader, "ronghe.quality.engine", 200*time.Millisecond)
	} else {
		c.KeepEngineOpen = true
	}
	return governance.New(c)
}

// removeStaleWork deletes plaintext work directories a crashed check left
// behind (older than age; a running check's are younger).
func removeStaleWork(work string, age time.Duration) {
	ents, err := os.ReadDir(work)
	if err != nil {
		return
	}
	for _, e := range ents {
		info, err := e.Info()
		if err == nil && strings.HasPrefix(e.Name(), "check-") && time.Since(info.ModTime()) > age {
			os.RemoveAll(filepath.Join(work, e.Name()))
		}
	}
}

func runQuality(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("usage: ronghe quality tickets|scores|show (operator, on the store) | status|answer (institution, over HTTPS) [flags]")
	}
	switch args[0] {
	case "tickets":
		return qualityTickets(ctx, e, args[1:])
	case "scores":
		return qualityScores(ctx, e, args[1:])
	case "show":
		return qualityShow(ctx, e, args[1:])
	case "status":
		return qualityStatus(ctx, e, args[1:])
	case "answer":
		return qualityAnswer(ctx, e, args[1:])
	}
	return usagef("unknown quality command %q (tickets, scores, show, status, answer)", args[0])
}

// openStore opens the metadata store for reading, refusing to create an
// empty SQLite database where none is.
func (s *storeFlags) openExisting(ctx context.Context) (*sqlstore.DB, error) {
	if s.database == "" {
		path := filepath.Join(s.data, "ronghe.db")
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("no platform database at %s (use --data or --database)", path)
		}
	}
	return sqlstore.Open(ctx, s.dsn())
}

// supervisorView is `ronghe quality tickets --json`.
type supervisorView struct {
	Banks   []bankTickets    `json:"banks"`
	Tickets []*ronghe.Ticket `json:"tickets"`
}

type bankTickets struct {
	Institution string `json:"institution"`
	Open        int64  `json:"open"`
	Overdue     int64  `json:"overdue"`
	Closed      int64  `json:"closed"`
}

func qualityTickets(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "quality tickets")
	var sf storeFlags
	sf.register(fs)
	overdue := fs.Bool("overdue", false, "only overdue tickets")
	inst := fs.String("institution", "", "only this institution's tickets")
	date := fs.String("date", "", "only this business date (YYYY-MM-DD)")
	limit := fs.Int("limit", 1000, "list at most this many tickets")
	asJSON := fs.Bool("json", false, "print JSON")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: ronghe quality tickets [--overdue] [--institution CODE] [--date D] [--json]\n\nThe supervisor's view: open and overdue tickets per bank, then the tickets.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := sf.openExisting(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	counts, err := db.CountTickets(ctx)
	if err != nil {
		return err
	}
	byBank := map[string]*bankTickets{}
	for _, c := range counts {
		if *inst != "" && c.Tenant != *inst {
			continue
		}
		b := byBank[c.Tenant]
		if b == nil {
			b = &bankTickets{Institution: c.Tenant}
			byBank[c.Tenant] = b
		}
		switch c.State {
		case ronghe.TicketOpen:
			b.Open = c.Count
		case ronghe.TicketOverdue:
			b.Overdue = c.Count
		case ronghe.TicketClosed:
			b.Closed = c.Count
		}
	}
	var view supervisorView
	for _, b := range byBank {
		view.Banks = append(view.Banks, *b)
	}
	sort.Slice(view.Banks, func(i, j int) bool {
		a, b := view.Banks[i], view.Banks[j]
		if a.Overdue != b.Overdue {
			return a.Overdue > b.Overdue
		}
		return a.Institution < b.Institution
	})
	states := []string{ronghe.TicketOpen, ronghe.TicketOverdue}
	if *overdue {
		states = []string{ronghe.TicketOverdue}
	}
	f := ronghe.TicketFilter{Tenant: *inst, States: states, BusinessDate: *date}
	for len(view.Tickets) < *limit {
		f.Limit = min(1000, *limit-len(view.Tickets))
		ts, err := db.ListTickets(ctx, f)
		if err != nil {
			return err
		}
		view.Tickets = append(view.Tickets, ts...)
		if len(ts) < f.Limit {
			break
		}
		f.After = ts[len(ts)-1].ID
	}
	if view.Tickets == nil {
		view.Tickets = []*ronghe.Ticket{}
	}
	if *asJSON {
		return printJSON(e.stdout, view)
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTITUTION\tOPEN\tOVERDUE\tCLOSED")
	for _, b := range view.Banks {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", b.Institution, b.Open, b.Overdue, b.Closed)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "TICKET\tINSTITUTION\tDATE\tRULE\tSEV\tTYPE\tKEY\tSTATE\tDUE\tBATCH")
	for _, t := range view.Tickets {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Tenant, t.BusinessDate, t.Rule, t.Severity, t.Type, t.Key,
			t.State, t.DueDate, t.LastBatch)
	}
	return tw.Flush()
}

func qualityScores(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "quality scores")
	var sf storeFlags
	sf.register(fs)
	month := fs.String("month", "", "calendar month YYYY-MM (default: the current month, Asia/Shanghai)")
	asOf := fs.String("as-of", "", "compute as of this time (RFC 3339; default now)")
	asJSON := fs.Bool("json", false, "print JSON")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: ronghe quality scores [--month YYYY-MM] [--as-of TIME] [--json]\n\nThe league table: every institution's RRS-1 §4 quality score for the month.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	now := time.Now()
	if *asOf != "" {
		t, err := time.Parse(time.RFC3339, *asOf)
		if err != nil {
			return usagef("--as-of %q: want an RFC 3339 time", *asOf)
		}
		now = t
	}
	p := rrs.DateOf(now).Period()
	if *month != "" {
		var err error
		if p, err = rrs.ParsePeriod(*month); err != nil {
			return usagef("--month %q: want YYYY-MM", *month)
		}
	}
	db, err := sf.openExisting(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	scores, err := governance.Scores(ctx, db, p, now)
	if err != nil {
		return err
	}
	if scores == nil {
		scores = []*ronghe.QualityScore{}
	}
	if *asJSON {
		return printJSON(e.stdout, scores)
	}
	fmt.Fprintf(e.stdout, "Quality scores %s as of %s (Asia/Shanghai)\n", p, now.In(shanghai()).Format("2006-01-02 15:04"))
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "RANK\tINSTITUTION\tSCORE\tGRADE\tTIMELINESS\tCOMPLETENESS\tACCURACY\tCONSISTENCY\tDAYS\t")
	for _, s := range scores {
		fmt.Fprintf(tw, "%d\t%s\t%.2f\t%s\t%.4f\t%.4f\t%.4f\t%.4f\t%d\t\n", s.Rank, s.Tenant, s.Score, s.Grade, s.Timeliness,
			s.Completeness, s.Accuracy, s.Consistency, s.Days)
	}
	return tw.Flush()
}

func qualityShow(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "quality show")
	var sf storeFlags
	sf.register(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("usage: ronghe quality show [--json] BATCH")
	}
	id, err := rrs.ParseBatchID(fs.Arg(0))
	if err != nil {
		return usagef("%s is not a batch name <inst_code>_<YYYYMMDD>_<seq>", fs.Arg(0))
	}
	db, err := sf.openExisting(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	v, err := governance.View(ctx, db, db, id.InstCode, id.String())
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, v)
	}
	return printView(e.stdout, v)
}

func printView(w io.Writer, v *ronghe.QualityView) error {
	q := v.Quality
	fmt.Fprintf(w, "%s: %s", q.Batch, q.Status)
	if q.Status == ronghe.QualityDone {
		fmt.Fprintf(w, ", %s, %d errors, %d warnings, %d records", q.Outcome, q.Errors, q.Warnings, q.Stats.Records)
	} else if q.Phase != "" {
		fmt.Fprintf(w, " (%s %d/%d)", q.Phase, q.Done, q.Total)
	}
	fmt.Fprintln(w)
	for _, p := range q.Problems {
		fmt.Fprintf(w, "  rejected: %s\n", p)
	}
	if q.LastError != "" {
		fmt.Fprintf(w, "  last error: %s\n", q.LastError)
	}
	if s := v.Sample; s != nil {
		fmt.Fprintf(w, "  P01 sample: %s, %d of %d rows, due %s", s.Status, len(s.Rows), s.Population, s.DueDate)
		if s.Reason != "" {
			fmt.Fprintf(w, " — %s", s.Reason)
		}
		fmt.Fprintln(w)
	}
	if len(v.Findings) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tSEV\tTYPE\tKEY\tFIELD\tTICKET\tMESSAGE")
	for _, f := range v.Findings {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.Rule, f.Severity, f.Type, f.Key, f.Field, f.TicketID, f.Message)
	}
	return tw.Flush()
}

// institutionAPI is a small mutual-TLS client for the quality routes.
type institutionAPI struct {
	p    *client.Profile
	http *http.Client
	base string
}

func newInstitutionAPI(profile, server string) (*institutionAPI, error) {
	p, err := client.LoadProfile(profile)
	if err != nil {
		return nil, err
	}
	if server != "" {
		p.Server = server
	}
	cfg, err := pki.ClientTLS(p.CAPEM, p.CertPEM, p.KeyPEM)
	if err != nil {
		return nil, err
	}
	return &institutionAPI{p: p, http: &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: time.Minute},
		base: strings.TrimRight(p.Server, "/")}, nil
}

func (a *institutionAPI) do(ctx context.Context, method, path string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return ronghe.WrapError(ronghe.EUNAVAILABLE, err, "cannot reach "+a.base+": "+err.Error())
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var p struct {
			Code   string `json:"code"`
			Detail string `json:"detail"`
		}
		if json.Unmarshal(b, &p) == nil && p.Code != "" {
			return ronghe.Errorf(p.Code, "%s (HTTP %d)", p.Detail, resp.StatusCode)
		}
		return fmt.Errorf("%s %s: HTTP %d", method, path, resp.StatusCode)
	}
	return json.Unmarshal(b, out)
}

func qualityStatus(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "quality status")
	prof := profileFlag(fs)
	server := fs.String("server", "", "platform URL (default: the profile's)")
	wait := fs.Duration("wait", 0, "wait up to this long for the check to be done")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("usage: ronghe quality status [--profile P] [--wait 1m] [--json] BATCH")
	}
	api, err := newInstitutionAPI(*prof, *server)
	if err != nil {
		return err
	}
	until := time.Now().Add(*wait)
	for {
		var v ronghe.QualityView
		if err := api.do(ctx, "GET", "/v1/batches/"+url.PathEscape(fs.Arg(0))+"/quality", nil, &v); err != nil {
			return err
		}
		if v.Quality.Status == ronghe.QualityDone || v.Quality.Status == ronghe.QualityFailed || !time.Now().Before(until) {
			if *asJSON {
				return printJSON(e.stdout, v)
			}
			return printView(e.stdout, &v)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func qualityAnswer(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "quality answer")
	prof := profileFlag(fs)
	server := fs.String("server", "", "platform URL (default: the profile's)")
	note := fs.String("note", "", "why the questioned data is right (required)")
	asJSON := fs.Bool("json", false, "print JSON")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: ronghe quality answer [--profile P] --note TEXT TICKET\n\nConfirm the data of a W finding with a note signed by the institution's key.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 || strings.TrimSpace(*note) == "" {
		return usagef("a ticket ID and --note are required")
	}
	api, err := newInstitutionAPI(*prof, *server)
	if err != nil {
		return err
	}
	id := fs.Arg(0)
	var t ronghe.Ticket
	if err := api.do(ctx, "GET", "/v1/tickets/"+url.PathEscape(id), nil, &t); err != nil {
		return err
	}
	if t.Severity != ronghe.SeverityWarning {
		return errors.New("ticket " + id + " is an error (E) finding: it closes only when a correction batch no longer shows it")
	}
	doc, err := evidence.Sign(governance.NewTicketAnswer(&t, *note, time.Now()), api.p.Signer)
	if err != nil {
		return err
	}
	var closed ronghe.Ticket
	if err := api.do(ctx, "POST", "/v1/tickets/"+url.PathEscape(id)+"/answer", doc.Marshal(), &closed); err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, closed)
	}
	fmt.Fprintf(e.stdout, "%s: %s (%s)\n", closed.ID, closed.State, closed.Resolution)
	return nil
}
