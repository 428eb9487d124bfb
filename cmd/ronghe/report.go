package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/client"
	"github.com/ronghe/ronghe/policy"
	"github.com/ronghe/ronghe/report"
	"github.com/ronghe/ronghe/rrs"
	"github.com/ronghe/ronghe/sqlstore"
)

const reportUsage = `usage:
  ronghe report flow --profile BANK --enterprise USCC --authorization ID --purpose P --from YYYY-MM --to YYYY-MM [--html FILE] [--json]
  ronghe report dispute --profile ENTERPRISE file --institution CODE (--month YYYY-MM | --from DATE --to DATE) --class TXN|BAL|ACCT --reason TEXT [--currency C]
  ronghe report dispute --profile BANK answer --id ID --outcome confirmed|corrected --text TEXT
  ronghe report dispute --profile PARTY list [--status open|resolved|overdue]
  ronghe report disputes [--overdue | --status S] [--enterprise USCC] [--institution CODE] [--data DIR | --database DSN] [--json]   (operator)`

// runReport is `ronghe report`: flow reports and disputes (异议).
func runReport(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("%s", reportUsage)
	}
	switch args[0] {
	case "flow":
		return reportFlow(ctx, e, args[1:])
	case "dispute":
		return reportDispute(ctx, e, args[1:])
	case "disputes":
		return reportDisputes(ctx, e, args[1:])
	}
	return usagef("unknown report command %q\n%s", args[0], reportUsage)
}

// reportFlow requests an enterprise's flow report as a bank and verifies the
// platform's signatures.
func reportFlow(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "report flow")
	prof := profileFlag(fs)
	var req report.Request
	fs.StringVar(&req.Enterprise, "enterprise", "", "the enterprise's USCC (required)")
	fs.StringVar(&req.AuthorizationID, "authorization", "", "the authorization the enterprise registered for this bank (required)")
	fs.StringVar(&req.Purpose, "purpose", ronghe.PurposeLoanApplication, "LOAN_APPLICATION or POST_LOAN: must be the authorization's")
	fs.StringVar(&req.From, "from", "", "first month, YYYY-MM (required)")
	fs.StringVar(&req.To, "to", "", "last month, YYYY-MM (required; at most 24 months)")
	htmlOut := fs.String("html", "", "also write the readable report page to this file")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if req.Enterprise == "" || req.AuthorizationID == "" || req.From == "" || req.To == "" {
		return usagef("--enterprise, --authorization, --from and --to are required")
	}
	c, _, err := profileClient(*prof)
	if err != nil {
		return err
	}
	r, _, err := c.FlowReport(ctx, req)
	if err != nil {
		return err
	}
	if *htmlOut != "" {
		page, err := c.FlowReportHTML(ctx, req)
		if err != nil {
			return err
		}
		if err := os.WriteFile(*htmlOut, page, 0o600); err != nil {
			return err
		}
	}
	if *asJSON {
		return printJSON(e.stdout, r)
	}
	fmt.Fprintf(e.stdout, "flow report %s of %s, %s–%s (%d months), signature verified; %d institutions, %d accounts\n",
		r.ID, r.Enterprise, r.From, r.To, r.Months, r.Institutions, r.Accounts)
	for _, cr := range r.Currencies {
		fmt.Fprintf(e.stdout, "  %s inflow %s, outflow %s, net %s; payroll %s, tax %s, utilities %s; top-1 counterparty %.1f%%\n",
			cr.Currency, cr.Total.Inflow, cr.Total.Outflow, cr.Total.Net, cr.Total.Payroll, cr.Total.Tax, cr.Total.Utilities, cr.Concentration.Top1Share*100)
	}
	for _, d := range r.Disputes {
		fmt.Fprintf(e.stdout, "  disputed: %s %s %s–%s (answer due %s)\n", d.ID, d.RecordClass, d.From, d.To, lastDay(d.Deadline))
	}
	if *htmlOut != "" {
		fmt.Fprintf(e.stdout, "page written to %s\n", *htmlOut)
	}
	return nil
}

func profileClient(path string) (*client.Client, *client.Profile, error) {
	p, err := client.LoadProfile(path)
	if err != nil {
		return nil, nil, err
	}
	c, err := client.New(p)
	return c, p, err
}

// reportDispute is what a party does about disputes with its profile: an
// enterprise files and lists, a bank answers and lists.
func reportDispute(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "report dispute")
	prof := profileFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return usagef("%s", reportUsage)
	}
	c, _, err := profileClient(*prof)
	if err != nil {
		return err
	}
	sub := newFlags(e, "report dispute "+rest[0])
	switch rest[0] {
	case "file":
		var req client.DisputeRequest
		sub.StringVar(&req.Institution, "institution", "", "code of the institution whose reported data is disputed (required)")
		sub.StringVar(&req.Month, "month", "", "the disputed month, YYYY-MM")
		sub.StringVar(&req.From, "from", "", "first disputed business date, YYYY-MM-DD (with --to, instead of --month)")
		sub.StringVar(&req.To, "to", "", "last disputed business date, YYYY-MM-DD")
		sub.StringVar(&req.RecordClass, "class", ronghe.RecordClassTXN, "record class: TXN, BAL or ACCT")
		sub.StringVar(&req.Currency, "currency", "", "only this currency (optional)")
		sub.StringVar(&req.Reason, "reason", "", "what is wrong (required)")
		if err := sub.Parse(rest[1:]); err != nil {
			return err
		}
		if req.Institution == "" || req.Reason == "" {
			return usagef("--institution and --reason are required")
		}
		d, err := c.FileDispute(ctx, req)
		if err != nil {
			return err
		}
		return printDisputes(e.stdout, []*ronghe.Dispute{d}, *asJSON)
	case "answer":
		id := sub.String("id", "", "the dispute (required)")
		outcome := sub.String("outcome", "", "confirmed (the data stands) or corrected (required)")
		text := sub.String("text", "", "the explanation for the enterprise (required)")
		if err := sub.Parse(rest[1:]); err != nil {
			return err
		}
		if *id == "" || *outcome == "" || *text == "" {
			return usagef("--id, --outcome and --text are required")
		}
		d, err := c.AnswerDispute(ctx, *id, *outcome, *text)
		if err != nil {
			return err
		}
		return printDisputes(e.stdout, []*ronghe.Dispute{d}, *asJSON)
	case "list":
		status := sub.String("status", "", "open, resolved or overdue (default all)")
		if err := sub.Parse(rest[1:]); err != nil {
			return err
		}
		list, err := c.Disputes(ctx, *status)
		if err != nil {
			return err
		}
		return printDisputes(e.stdout, list, *asJSON)
	}
	return usagef("unknown dispute command %q\n%s", rest[0], reportUsage)
}

// reportDisputes lists disputes from the platform's store, for the
// operator; --overdue lists those past their deadline without an answer.
func reportDisputes(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "report disputes")
	var sf storeFlags
	sf.register(fs)
	overdue := fs.Bool("overdue", false, "only open disputes past their deadline (same as --status overdue)")
	status := fs.String("status", "", "open, resolved or overdue (default all)")
	var f ronghe.DisputeFilter
	fs.StringVar(&f.Enterprise, "enterprise", "", "only this enterprise's disputes")
	fs.StringVar(&f.Institution, "institution", "", "only disputes about this institution's data")
	fs.IntVar(&f.Limit, "limit", 0, "at most this many (default 100, at most 1000)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *overdue {
		if *status != "" && *status != policy.StatusOverdue {
			return usagef("--overdue and --status %s contradict each other", *status)
		}
		*status = policy.StatusOverdue
	}
	db, err := openExistingStore(ctx, &sf)
	if err != nil {
		return err
	}
	defer db.Close()
	ds := policy.NewDisputes(policy.DisputeConfig{Policy: policy.New(policy.Config{Store: db, Keys: db, Institutions: db}), Store: db})
	list, err := ds.All(ctx, f, *status)
	if err != nil {
		return err
	}
	return printDisputes(e.stdout, list, *asJSON)
}

// openExistingStore opens the platform's metadata store without creating a
// platform where there is none.
func openExistingStore(ctx context.Context, sf *storeFlags) (*sqlstore.DB, error) {
	if sf.database == "" {
		if _, err := os.Stat(filepath.Join(sf.data, "ronghe.db")); err != nil {
			return nil, ronghe.Errorf(ronghe.ENOTFOUND, "no platform database in %s (use --data or --database)", sf.data)
		}
	}
	return sqlstore.Open(ctx, sf.dsn())
}

// lastDay shows a deadline (the start of the day after the last day to
// answer) as that last day, Asia/Shanghai.
func lastDay(deadline time.Time) string {
	return deadline.In(rrs.Shanghai).Add(-time.Nanosecond).Format("2006-01-02")
}

func printDisputes(w io.Writer, list []*ronghe.Dispute, asJSON bool) error {
	if list == nil {
		list = []*ronghe.Dispute{}
	}
	if asJSON {
		return printJSON(w, map[string]any{"disputes": list})
	}
	if len(list) == 0 {
		fmt.Fprintln(w, "no disputes")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tENTERPRISE\tINSTITUTION\tDATES\tCLASS\tFILED\tANSWER DUE\tSTATUS")
	for _, d := range list {
		st := d.Status
		switch {
		case d.Overdue:
			st = "OVERDUE"
		case d.Status == ronghe.DisputeResolved && d.Answer != nil:
			st = "resolved: answer " + d.Answer.Outcome
		case d.Status == ronghe.DisputeResolved:
			st = "resolved: correction " + d.CorrectionBatch
		case d.MailboxID == "":
			st = "open, not delivered"
		}
		dates := d.From + "–" + d.To
		if d.Currency != "" {
			dates += " " + d.Currency
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.Enterprise, d.Institution, dates, d.RecordClass,
			d.RegisteredAt.In(rrs.Shanghai).Format("2006-01-02 15:04"), lastDay(d.Deadline), strings.TrimSpace(st))
	}
	return tw.Flush()
}
