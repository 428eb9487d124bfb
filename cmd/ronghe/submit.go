package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/client"
	"github.com/schollz/progressbar/v3"
)

// profileFlag locates an institution's profile directory.
func profileFlag(fs *flag.FlagSet) *string {
	return fs.String("profile", envOr("RONGHE_PROFILE", filepath.Join(homeDir(), ".ronghe")), "institution profile directory (from 'ronghe admin institution add --out')")
}

func homeDir() string {
	if h, err := os.UserHomeDir(); err == nil {
		return h
	}
	return "."
}

func runSubmit(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "submit")
	prof := profileFlag(fs)
	server := fs.String("server", "", "platform URL (default: the profile's)")
	encoding := fs.String("encoding", "UTF-8", "character encoding of the CSV files: UTF-8 or GB18030")
	kind := fs.String("kind", ronghe.MessageBatch, "message kind: rrs.batch or rrs.sample-answer")
	refersTo := fs.String("refers-to", "", "for a sample answer: the batch it answers")
	messageID := fs.String("message-id", "", "message ID (default: the batch name)")
	receiptOut := fs.String("receipt", "", "write the signed receipt to this file")
	asJSON := fs.Bool("json", false, "print one JSON object per batch instead of progress and text")
	quiet := fs.Bool("quiet", false, "no progress bar")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: ronghe submit [flags] BATCH_DIR_OR_ZIP...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("name at least one batch directory or zip")
	}
	p, err := client.LoadProfile(*prof)
	if err != nil {
		return err
	}
	if *server != "" {
		p.Server = *server
	}
	c, err := client.New(p)
	if err != nil {
		return err
	}
	for _, path := range fs.Args() {
		start := time.Now()
		var bar *progressbar.ProgressBar
		opt := client.SubmitOptions{Manifest: client.ManifestOptions{Kind: *kind, RefersTo: *refersTo, MessageID: *messageID, Encoding: *encoding}}
		if !*asJSON && !*quiet {
			phase := ""
			opt.Progress = func(ph string, n, total int64) {
				if ph != phase {
					if bar != nil {
						bar.Finish()
					}
					phase = ph
					bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(e.stderr), progressbar.OptionShowBytes(true),
						progressbar.OptionSetDescription(fmt.Sprintf("%-7s %s", ph, filepath.Base(path))), progressbar.OptionThrottle(100*time.Millisecond),
						progressbar.OptionClearOnFinish())
				}
				bar.Add64(n)
			}
		}
		res, err := c.Submit(ctx, path, opt)
		if bar != nil {
			bar.Finish()
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if *receiptOut != "" {
			if err := os.WriteFile(*receiptOut, res.Receipt.Marshal(), 0o644); err != nil {
				return err
			}
		}
		var bytes int64
		for _, f := range res.Manifest.Files {
			bytes += f.Size
		}
		if *asJSON {
			if err := printJSON(e.stdout, map[string]any{
				"message_id": res.Manifest.MessageID, "status": res.View.Status, "log_index": res.View.LogIndex,
				"files": len(res.Manifest.Files), "bytes": bytes, "receipt_verified": res.Verified,
				"seconds": time.Since(start).Seconds(), "receipt": res.Receipt,
			}); err != nil {
				return err
			}
			continue
		}
		verified := "receipt verified against the pinned platform keys"
		if !res.Verified {
			verified = "receipt NOT verified (no pinned platform keys in the profile)"
		}
		idx := "-"
		if res.View.LogIndex != nil {
			idx = fmt.Sprint(*res.View.LogIndex)
		}
		fmt.Fprintf(e.stdout, "%s: %s, %d files, %s, log index %s; %s\n", res.Manifest.MessageID, res.View.Status,
			len(res.Manifest.Files), humanBytes(bytes), idx, verified)
	}
	return nil
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
