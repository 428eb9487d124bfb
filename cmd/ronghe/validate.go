package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/rrs"
	"github.com/ronghe/ronghe/rules"
)

// runValidate checks RRS-1 batches offline with the platform's rule engine:
// the batches are processed in business-date order with history exactly as
// the server would, and each finding is printed. It exits 0 when the run
// completed, whatever it found; 2 for usage errors, 1 for I/O errors.
func runValidate(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "validate")
	asJSON := fs.Bool("json", false, "print one JSON object per finding: rule, severity, batch, type, key, field, message")
	encoding := fs.String("encoding", "UTF-8", "encoding of the CSV files: UTF-8 or GB18030 (RRS-1 §1: UTF-8 unless told otherwise)")
	history := fs.String("history", "", "directory keeping the history between runs (history.duckdb); default: none, every run starts afresh")
	version := fs.String("rrs", "", "RRS-1 version of the rule set (default: the current one)")
	limit := fs.Int("limit", 50, "findings listed in the readable output (all with --json)")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: ronghe validate [--json] [--encoding UTF-8|GB18030] [--history DIR] BATCH_OR_DIR…")
		fmt.Fprintln(e.stderr, "\nA BATCH is a directory or zip <inst_code>_<YYYYMMDD>_<seq>; a DIR holding batches (a `ronghe gen`")
		fmt.Fprintln(e.stderr, "output, say) stands for all of them. Batches may be given in any order.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usagef("%v", err)
	}
	if fs.NArg() == 0 {
		return usagef("no batches given (usage: ronghe validate [--json] [--encoding E] [--history DIR] BATCH_OR_DIR…)")
	}
	enc, err := rrs.ParseEncoding(*encoding)
	if err != nil {
		return usagef("--encoding: %s", ronghe.ErrorMessage(err))
	}
	rs, err := rules.Load(*version)
	if err != nil {
		return usagef("--rrs: %s", ronghe.ErrorMessage(err))
	}
	paths, err := batchArgs(fs.Args())
	if err != nil {
		return err
	}
	// The run is one process over a bounded working set: the heap is small
	// and short-lived garbage (CSV records) is most of what is allocated,
	// so fewer collections cost nothing in memory and save CPU.
	debug.SetGCPercent(400)

	opts := rules.Options{RuleSet: rs, Encoding: enc, OneShot: *history == "", Logger: e.logger}
	if *history != "" {
		opts.HistoryPath = filepath.Join(*history, "history.duckdb")
	}
	var bar *progressbar.ProgressBar
	if !*asJSON {
		opts.Progress = progressFunc(e.stderr, &bar)
	}
	began := time.Now()
	eng, err := rules.New(ctx, opts)
	if err != nil {
		return err
	}
	defer eng.Close()

	out := bufio.NewWriterSize(e.stdout, 64<<10)
	var listed []rules.Finding
	total := 0
	emit := func(f rules.Finding) error {
		total++
		if *asJSON {
			return writeFindingJSON(out, &f)
		}
		if len(listed) < *limit {
			listed = append(listed, f)
		}
		return nil
	}
	sum, err := eng.Run(ctx, paths, emit)
	if bar != nil {
		_ = bar.Finish()
	}
	if err != nil {
		_ = out.Flush()
		return err
	}
	if !*asJSON {
		printValidateSummary(out, rs, sum, listed, total, time.Since(began))
	}
	if err := out.Flush(); err != nil {
		return ronghe.WrapError(ronghe.EUNAVAILABLE, err, "write output")
	}
	return nil
}

// batchArgs expands the arguments: a batch directory or zip stands for
// itself, any other directory for the batches directly inside it.
func batchArgs(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		if _, err := rrs.ParseBatchID(filepath.Base(filepath.Clean(a))); err == nil {
			out = append(out, a)
			continue
		}
		st, err := os.Stat(a)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, ronghe.WrapError(ronghe.ENOTFOUND, err, a+": no such batch or directory")
			}
			return nil, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "stat "+a)
		}
		if !st.IsDir() {
			return nil, usagef("%s is not a batch (<inst_code>_<YYYYMMDD>_<seq>[.zip]) nor a directory of batches", a)
		}
		ents, err := os.ReadDir(a)
		if err != nil {
			return nil, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "read "+a)
		}
		n := 0
		for _, en := range ents {
			if _, err := rrs.ParseBatchID(en.Name()); err == nil {
				out = append(out, filepath.Join(a, en.Name()))
				n++
			}
		}
		if n == 0 {
			return nil, usagef("%s holds no batch directory or zip named <inst_code>_<YYYYMMDD>_<seq>", a)
		}
	}
	return out, nil
}

// writeFindingJSON writes one finding as a JSON line.
func writeFindingJSON(w io.Writer, f *rules.Finding) error {
	b, err := json.Marshal(f)
	if err != nil {
		return ronghe.WrapError(ronghe.EINTERNAL, err, "encode finding")
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return ronghe.WrapError(ronghe.EUNAVAILABLE, err, "write output")
	}
	return nil
}

// progressFunc draws the staging and checking progress on w.
func progressFunc(w io.Writer, bar **progressbar.ProgressBar) func(rules.Progress) {
	phase := ""
	return func(p rules.Progress) {
		key := fmt.Sprintf("%s %d", p.Phase, p.Window)
		if key != phase || *bar == nil {
			if *bar != nil {
				_ = (*bar).Finish()
			}
			phase = key
			desc := map[string]string{"stage": "reading files", "check": "checking rules", "record": "recording history"}[p.Phase]
			if p.Windows > 1 {
				desc = fmt.Sprintf("%s (part %d/%d)", desc, p.Window, p.Windows)
			}
			*bar = progressbar.NewOptions(max(p.Total, 1), progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(desc),
				progressbar.OptionShowCount(), progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
		}
		_ = (*bar).Set(p.Done)
	}
}

// printValidateSummary writes the readable report: what was checked, the
// findings per rule, and the first findings.
func printValidateSummary(w io.Writer, rs *rules.RuleSet, sum *rules.Summary, listed []rules.Finding, total int, took time.Duration) {
	var rows int64
	for _, n := range sum.Rows {
		rows += n
	}
	secs := took.Seconds()
	fmt.Fprintf(w, "checked %d batches (%d TXN rows, %d rows in all) against RRS-1 %s in %.1fs (%.0f TXN rows/s)\n",
		sum.Batches, sum.Rows["TXN"], rows, rs.Version, secs, float64(sum.Rows["TXN"])/secs)
	if total == 0 {
		fmt.Fprintln(w, "no findings")
		return
	}
	fmt.Fprintf(w, "%d findings:\n", total)
	for _, id := range rs.IDs() {
		n := sum.Findings[id]
		if n == 0 {
			continue
		}
		r := rs.Rule(id)
		fmt.Fprintf(w, "  %s %s %7d  %s\n", id, r.Severity, n, r.Title)
	}
	if len(listed) == 0 {
		return
	}
	fmt.Fprintln(w)
	width := 0
	for _, f := range listed {
		width = max(width, len(f.Batch))
	}
	for _, f := range listed {
		where := f.Type + " " + f.Key
		if f.Field != "" {
			where += " " + f.Field
		}
		fmt.Fprintf(w, "%s %s  %-*s  %s: %s\n", f.Rule, f.Severity, width, f.Batch, where, f.Message)
	}
	if rest := total - len(listed); rest > 0 {
		fmt.Fprintf(w, "… and %d more (--json lists them all)\n", rest)
	}
}
