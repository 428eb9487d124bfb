package main

import (
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/lake"
	"github.com/ronghe/ronghe/rrs"
)

// lakeFlags are the flags that locate the lake, shared by catalog, sql and
// lake.
type lakeFlags struct {
	data      string
	catalog   string
	warehouse string
	props     propsFlag
}

// propsFlag collects repeated key=value flags.
type propsFlag map[string]string

func (p propsFlag) String() string { return fmt.Sprint(map[string]string(p)) }

// Set parses one key=value.
func (p propsFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("want key=value, got %q", v)
	}
	p[k] = val
	return nil
}

func addLakeFlags(fs *flag.FlagSet) *lakeFlags {
	lf := &lakeFlags{props: propsFlag{}}
	fs.StringVar(&lf.data, "data", envOr("RONGHE_DATA", "ronghe-data"), "platform data directory; the embedded lake lives in DATA/lake")
	fs.StringVar(&lf.catalog, "lake-catalog", os.Getenv("RONGHE_LAKE_CATALOG"), "Iceberg catalog database: postgres://… or an SQLite path (default DATA/lake/catalog.db)")
	fs.StringVar(&lf.warehouse, "warehouse", os.Getenv("RONGHE_WAREHOUSE"), "warehouse: file:///dir or s3://bucket/prefix (default DATA/lake/warehouse)")
	fs.Var(lf.props, "lake-prop", "catalog or FileIO property key=value, e.g. s3.endpoint=http://minio:9000 (repeatable)")
	return lf
}

// open opens the lake the flags name.
func (lf *lakeFlags) open(ctx context.Context, e *env) (*lake.Lake, error) {
	cfg := lake.Config{CatalogURI: lf.catalog, Warehouse: lf.warehouse, Props: lf.props, Logger: e.logger}
	if cfg.CatalogURI == "" {
		cfg.CatalogURI = "sqlite:" + filepath.Join(lf.data, "lake", "catalog.db")
	}
	if cfg.Warehouse == "" {
		cfg.Warehouse = filepath.Join(lf.data, "lake", "warehouse")
	}
	return lake.Open(ctx, cfg)
}

func runLake(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("usage: ronghe lake ingest|compact|expire|orphans [flags] (see ronghe lake <sub> -h)")
	}
	switch args[0] {
	case "ingest":
		return runLakeIngest(ctx, e, args[1:])
	case "compact":
		return runLakeCompact(ctx, e, args[1:])
	case "expire":
		return runLakeExpire(ctx, e, args[1:])
	case "orphans":
		return runLakeOrphans(ctx, e, args[1:])
	}
	return usagef("unknown lake command %q (ingest, compact, expire, orphans)", args[0])
}

// runLakeIngest lands batch directories or zips in the lake.
func runLakeIngest(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "lake ingest")
	lf := addLakeFlags(fs)
	encoding := fs.String("encoding", "UTF-8", "CSV encoding of the batches: UTF-8 or GB18030")
	messageID := fs.String("message-id", "", "exchange message ID (lineage; one batch only)")
	logIndex := fs.Int64("log-index", -1, "transparency-log index of the acceptance (lineage; one batch only)")
	digest := fs.String("digest", "", "hex manifest digest (idempotency key with the batch name; one batch only)")
	group := fs.Int("group", 1, "batches per Iceberg transaction (one snapshot per table per group): >1 loads a backlog faster")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("usage: ronghe lake ingest [flags] BATCH_DIR_OR_ZIP…")
	}
	if *group < 1 {
		return usagef("--group must be at least 1")
	}
	if fs.NArg() > 1 && (*messageID != "" || *logIndex >= 0 || *digest != "") {
		return usagef("--message-id, --log-index and --digest name one batch")
	}
	enc, err := rrs.ParseEncoding(*encoding)
	if err != nil {
		return usagef("--encoding: %v", err)
	}
	lin := lake.Lineage{MessageID: *messageID}
	if *logIndex >= 0 {
		li := uint64(*logIndex)
		lin.LogIndex = &li
	}
	if *digest != "" {
		if lin.ManifestDigest, err = hex.DecodeString(*digest); err != nil {
			return usagef("--digest: %v", err)
		}
	}
	l, err := lf.open(ctx, e)
	if err != nil {
		return err
	}
	defer l.Close()
	var results []*lake.IngestResult
	paths := fs.Args()
	for len(paths) > 0 {
		n := min(*group, len(paths))
		items := make([]lake.Item, 0, n)
		var opened []ingestBatch
		closeAll := func() {
			for _, b := range opened {
				b.Close()
			}
		}
		for _, path := range paths[:n] {
			b, err := openBatchPath(path, enc)
			if err != nil {
				closeAll()
				return err
			}
			opened = append(opened, b)
			items = append(items, lake.Item{Batch: b, Lineage: lin})
		}
		paths = paths[n:]
		res, err := l.IngestAll(ctx, items)
		closeAll()
		if err != nil {
			return err
		}
		results = append(results, res...)
		if *asJSON {
			continue
		}
		for _, r := range res {
			var parts []string
			for _, t := range r.Tables {
				if t.Outcome == lake.OutcomeEmpty {
					continue
				}
				s := fmt.Sprintf("%s %s %d", strings.ToLower(string(t.Type)), t.Outcome, t.Rows)
				if t.Replaced > 0 {
					s += fmt.Sprintf(" (replaced %d)", t.Replaced)
				}
				if t.Skipped > 0 {
					s += fmt.Sprintf(" (skipped %d malformed, lines %v)", t.Skipped, t.SkippedLines)
				}
				parts = append(parts, s)
			}
			fmt.Fprintf(e.stdout, "%s: %s\n", r.Batch, strings.Join(parts, ", "))
		}
	}
	if *asJSON {
		return printJSON(e.stdout, results)
	}
	return nil
}

// ingestBatch is a batch to ingest that must be closed.
type ingestBatch interface {
	lake.Source
	Close() error
}

// openBatchPath opens a batch directory or zip named <inst>_<date>_<seq>.
func openBatchPath(path string, enc rrs.Encoding) (ingestBatch, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, ronghe.WrapError(ronghe.ENOTFOUND, err, "cannot open "+path)
	}
	if st.IsDir() {
		b, err := rrs.OpenBatch(path, enc)
		if err != nil {
			return nil, err
		}
		return b, nil
	}
	id, err := rrs.ParseBatchID(filepath.Base(path))
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, ronghe.WrapError(ronghe.ENOTFOUND, err, "cannot open "+path)
	}
	b, err := rrs.OpenZip(f, st.Size(), id, enc, rrs.BatchOptions{})
	if err != nil {
		f.Close()
		return nil, err
	}
	return &closingBatch{Batch: b, f: f}, nil
}

// closingBatch closes the zip file with the batch.
type closingBatch struct {
	*rrs.Batch
	f *os.File
}

func (c *closingBatch) Close() error {
	err := c.Batch.Close()
	if cerr := c.f.Close(); err == nil {
		err = cerr
	}
	return err
}

func runLakeCompact(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "lake compact")
	lf := addLakeFlags(fs)
	target := fs.String("target-size", "", "size compacted files aim at, e.g. 512MiB (default: the table's write.target-file-size-bytes)")
	minFiles := fs.Int("min-files", 0, "fewest small files of one partition worth rewriting (default 5)")
	dry := fs.Bool("dry-run", false, "plan only")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts := lake.CompactOptions{MinInputFiles: *minFiles, DryRun: *dry}
	if *target != "" {
		n, err := parseBytes(*target)
		if err != nil {
			return usagef("--target-size: %v", err)
		}
		opts.TargetFileSize = n
	}
	l, err := lf.open(ctx, e)
	if err != nil {
		return err
	}
	defer l.Close()
	res, err := l.Compact(ctx, opts)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, res)
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tPARTITIONS\tFILES\tSIZE")
	for _, r := range res {
		files, size := fmt.Sprintf("%d", r.FilesBefore), humanBytes(r.BytesBefore)
		if !*dry && r.Groups > 0 {
			files = fmt.Sprintf("%d → %d", r.FilesBefore, r.FilesAfter)
			size = humanBytes(r.BytesBefore) + " → " + humanBytes(r.BytesAfter)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", r.Table, r.Groups, files, size)
	}
	if *dry {
		fmt.Fprintln(tw, "(dry run: nothing rewritten)")
	}
	return tw.Flush()
}

func runLakeExpire(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "lake expire")
	lf := addLakeFlags(fs)
	older := fs.String("older-than", "", "remove snapshots older than this, e.g. 720h or 90d (required)")
	retain := fs.Int("retain-last", 1, "keep at least this many snapshots per table")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *older == "" {
		return usagef("--older-than is required: as-of queries reach back that far, no further")
	}
	d, err := parseAge(*older)
	if err != nil {
		return usagef("--older-than: %v", err)
	}
	l, err := lf.open(ctx, e)
	if err != nil {
		return err
	}
	defer l.Close()
	res, err := l.Expire(ctx, lake.ExpireOptions{OlderThan: d, RetainLast: *retain})
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, res)
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tEXPIRED\tRETAINED")
	for _, r := range res {
		fmt.Fprintf(tw, "%s\t%d\t%d\n", r.Table, r.Expired, r.Retained)
	}
	return tw.Flush()
}

func runLakeOrphans(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "lake orphans")
	lf := addLakeFlags(fs)
	older := fs.String("older-than", "24h", "only files older than this (at least 1h: an ingest in progress writes files before it commits)")
	dry := fs.Bool("dry-run", false, "list without deleting")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	d, err := parseAge(*older)
	if err != nil {
		return usagef("--older-than: %v", err)
	}
	l, err := lf.open(ctx, e)
	if err != nil {
		return err
	}
	defer l.Close()
	res, err := l.RemoveOrphans(ctx, d, *dry)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, res)
	}
	verb := "removed"
	if *dry {
		verb = "would remove"
	}
	for _, r := range res {
		fmt.Fprintf(e.stdout, "%s: %s %d orphan files (%s)\n", r.Table, verb, len(r.Files), humanBytes(r.Bytes))
		for _, f := range r.Files {
			fmt.Fprintf(e.stdout, "  %s\n", f)
		}
	}
	return nil
}

// parseAge parses a Go duration or a number of days ("90d").
func parseAge(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("%q is not a number of days", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a positive duration (e.g. 720h, 90d)", s)
	}
	return d, nil
}

// parseBytes parses "512MiB", "64MB", "1GiB" or a plain number of bytes.
func parseBytes(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}}
	for _, u := range units {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseInt(strings.TrimSpace(n), 10, 64)
			if err != nil || v <= 0 {
				return 0, fmt.Errorf("%q is not a size", s)
			}
			return v * u.mult, nil
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("%q is not a size", s)
	}
	return v, nil
}
