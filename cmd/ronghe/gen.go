package main

import (
	"context"
	"fmt"
	"time"

	"github.com/ronghe/ronghe/gen"
	"github.com/ronghe/ronghe/rrs"
	"github.com/schollz/progressbar/v3"
)

func runGen(ctx context.Context, e *env, args []string) error {
	cfg := gen.DefaultConfig()
	fs := newFlags(e, "gen")
	fs.Int64Var(&cfg.Seed, "seed", cfg.Seed, "random seed; the same flags and seed give byte-identical output")
	fs.IntVar(&cfg.Institutions, "institutions", cfg.Institutions, "number of reporting banks")
	fs.IntVar(&cfg.Enterprises, "enterprises", cfg.Enterprises, "number of enterprises")
	fs.IntVar(&cfg.People, "people", cfg.People, "number of individuals buying foreign exchange")
	start := fs.String("start", cfg.Start.String(), "first business date, YYYY-MM-DD")
	fs.IntVar(&cfg.Days, "days", cfg.Days, "number of calendar days")
	encoding := fs.String("encoding", "UTF-8", "CSV encoding: UTF-8 or GB18030")
	fs.BoolVar(&cfg.Zip, "zip", false, "write each batch as a zip")
	fs.Float64Var(&cfg.DefectRate, "defects", 0, "probability of an injected violation per candidate unit and rule (0 = clean data)")
	rules := fs.String("rules", "", "comma-separated RRS-1 rules to violate (default: all supported)")
	fs.StringVar(&cfg.OutDir, "out", "region", "output directory")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	d, err := rrs.ParseDate(*start)
	if err != nil {
		return usagef("--start: %v", err)
	}
	cfg.Start = d
	if cfg.Encoding, err = rrs.ParseEncoding(*encoding); err != nil {
		return usagef("--encoding: %v", err)
	}
	if *rules != "" {
		if cfg.DefectRules, err = gen.ParseRules(*rules); err != nil {
			return usagef("--rules: %v", err)
		}
	}
	var bar *progressbar.ProgressBar
	if !*asJSON {
		cfg.Progress = func(done, total int) {
			if bar == nil {
				bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(e.stderr), progressbar.OptionSetDescription("batches"),
					progressbar.OptionShowCount(), progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
			}
			bar.Set(done)
		}
	}
	began := time.Now()
	sum, err := gen.Generate(ctx, cfg)
	if bar != nil {
		bar.Finish()
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, sum)
	}
	secs := time.Since(began).Seconds()
	fmt.Fprintf(e.stdout, "wrote %d batches (%s to %s) for %d institutions, %d enterprises, %d accounts, %d people into %s\n",
		sum.Batches, sum.Start, sum.End, sum.Institutions, sum.Enterprises, sum.Accounts, sum.People, cfg.OutDir)
	fmt.Fprintf(e.stdout, "rows: ACCT %d, TXN %d, BAL %d, GL %d, STAT %d, FXP %d; %s in %.1fs (%.0f TXN rows/s)\n",
		sum.Rows[rrs.ACCT], sum.Rows[rrs.TXN], sum.Rows[rrs.BAL], sum.Rows[rrs.GL], sum.Rows[rrs.STAT], sum.Rows[rrs.FXP],
		humanBytes(sum.Bytes), secs, float64(sum.Rows[rrs.TXN])/secs)
	if sum.Defects > 0 {
		fmt.Fprintf(e.stdout, "injected %d defects causing %d findings: ground truth in %s/truth/defects.jsonl\n", sum.Defects, sum.Findings, cfg.OutDir)
	}
	return nil
}
