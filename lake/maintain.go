package lake

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"github.com/apache/iceberg-go/table/compaction"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/rrs"
)

// CompactOptions tune Compact.
type CompactOptions struct {
	// TargetFileSize is the size compacted files aim at; default the
	// table's write.target-file-size-bytes (512 MiB).
	TargetFileSize int64
	// MinInputFiles is the fewest small files of one partition (month and
	// institution) worth rewriting; default 5.
	MinInputFiles int
	// DryRun plans without writing.
	DryRun bool
}

// CompactResult is what Compact did to one table.
type CompactResult struct {
	Table string `json:"table"`
	// Groups is the number of partitions rewritten.
	Groups int `json:"groups"`
	// FilesBefore and FilesAfter count the data files replaced and written.
	FilesBefore int `json:"files_before"`
	FilesAfter  int `json:"files_after"`
	// BytesBefore and BytesAfter are their total sizes.
	BytesBefore int64 `json:"bytes_before"`
	BytesAfter  int64 `json:"bytes_after"`
	// SnapshotID is the rewrite snapshot (0 when nothing was rewritten).
	SnapshotID int64 `json:"snapshot_id,omitempty"`
}

// Compact rewrites the small files of each partition (a month of one
// institution: one file per ingested batch) into few large ones, one
// atomic replace snapshot per table. Rows, values and lineage are unchanged;
// readers of earlier snapshots keep their files until Expire removes them.
func (l *Lake) Compact(ctx context.Context, opts CompactOptions) ([]CompactResult, error) {
	var out []CompactResult
	for _, t := range l.Types() {
		r, err := l.compactTable(ctx, t, opts)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

func (l *Lake) compactTable(ctx context.Context, t rrs.Type, opts CompactOptions) (CompactResult, error) {
	mu := l.tableLock(t)
	mu.Lock()
	defer mu.Unlock()
	res := CompactResult{Table: TableName(t)}
	tbl, err := l.Table(ctx, t)
	if err != nil {
		return res, err
	}
	if tbl.CurrentSnapshot() == nil {
		return res, nil
	}
	cfg := compaction.DefaultConfig()
	target := opts.TargetFileSize
	if target <= 0 {
		target = tbl.Properties().GetInt64(table.WriteTargetFileSizeBytesKey, table.WriteTargetFileSizeBytesDefault)
	}
	cfg.TargetFileSizeBytes, cfg.MinFileSizeBytes, cfg.MaxFileSizeBytes = target, target*3/4, target*9/5
	if opts.MinInputFiles > 0 {
		cfg.MinInputFiles = uint(opts.MinInputFiles)
	}
	plan, err := compaction.Analyze(ctx, tbl, cfg)
	if err != nil {
		return res, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "lake: plan compaction of "+res.Table)
	}
	groups := make([]table.CompactionTaskGroup, 0, len(plan.Groups))
	for _, g := range plan.Groups {
		groups = append(groups, table.CompactionTaskGroup{PartitionKey: g.PartitionKey, Tasks: g.Tasks, TotalSizeBytes: g.TotalSizeBytes})
		res.FilesBefore += len(g.Tasks)
		res.BytesBefore += g.TotalSizeBytes
	}
	res.Groups = len(groups)
	if len(groups) == 0 || opts.DryRun {
		return res, nil
	}
	rr, err := tbl.RewriteDataFiles(ctx, groups, table.RewriteDataFilesOptions{
		SnapshotProps: iceberg.Properties{PropSumOperation: "compact"},
		GroupOptions:  []table.CompactionGroupOption{table.WithCompactionTargetFileSize(target)},
	})
	if err != nil {
		return res, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "lake: compact "+res.Table)
	}
	res.FilesBefore, res.FilesAfter = rr.RemovedDataFiles, rr.AddedDataFiles
	res.BytesBefore, res.BytesAfter = rr.BytesBefore, rr.BytesAfter
	if rr.Table != nil && rr.Table.CurrentSnapshot() != nil {
		res.SnapshotID = rr.Table.CurrentSnapshot().SnapshotID
	}
	l.log.Info("lake: compacted", "table", res.Table, "groups", res.Groups, "files_before", res.FilesBefore, "files_after", res.FilesAfter)
	return res, nil
}

// ExpireOptions tune Expire.
type ExpireOptions struct {
	// OlderThan: snapshots committed longer ago than this are removed,
	// unless needed to keep RetainLast snapshots. Required (> 0).
	OlderThan time.Duration
	// RetainLast is the fewest snapshots kept per table; default 1.
	RetainLast int
}

// ExpireResult is what Expire did to one table.
type ExpireResult struct {
	Table string `json:"table"`
	// Expired and Retained count the snapshots removed and kept.
	Expired  int `json:"expired"`
	Retained int `json:"retained"`
}

// Expire removes old snapshots from every table — their manifests and the
// data files no retained snapshot references are deleted — so "as of"
// answers reach back OlderThan, no further. The current snapshot is always
// kept.
func (l *Lake) Expire(ctx context.Context, opts ExpireOptions) ([]ExpireResult, error) {
	if opts.OlderThan <= 0 {
		return nil, ronghe.Errorf(ronghe.EINVALID, "lake: expire needs a positive age")
	}
	if opts.RetainLast <= 0 {
		opts.RetainLast = 1
	}
	var out []ExpireResult
	for _, t := range l.Types() {
		r, err := l.expireTable(ctx, t, opts)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

func (l *Lake) expireTable(ctx context.Context, t rrs.Type, opts ExpireOptions) (ExpireResult, error) {
	mu := l.tableLock(t)
	mu.Lock()
	defer mu.Unlock()
	res := ExpireResult{Table: TableName(t)}
	tbl, err := l.Table(ctx, t)
	if err != nil {
		return res, err
	}
	before := len(tbl.Metadata().Snapshots())
	txn := tbl.NewTransaction()
	if err := txn.ExpireSnapshots(table.WithOlderThan(opts.OlderThan), table.WithRetainLast(opts.RetainLast)); err != nil {
		return res, ronghe.WrapError(ronghe.EINTERNAL, err, "lake: expire snapshots of "+res.Table)
	}
	after, err := txn.Commit(ctx)
	if err != nil {
		return res, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "lake: commit expiry of "+res.Table)
	}
	res.Retained = len(after.Metadata().Snapshots())
	res.Expired = before - res.Retained
	if res.Expired > 0 {
		l.log.Info("lake: expired snapshots", "table", res.Table, "expired", res.Expired, "retained", res.Retained)
	}
	return res, nil
}

// MinOrphanAge is the youngest a file may be for RemoveOrphans to delete
// it: a file written by an ingest that has not committed yet is younger.
const MinOrphanAge = time.Hour

// OrphanResult is what RemoveOrphans found in one table.
type OrphanResult struct {
	Table string `json:"table"`
	// Files are the unreferenced files (deleted unless a dry run).
	Files []string `json:"files"`
	Bytes int64    `json:"bytes"`
}

// RemoveOrphans deletes the files under each table's location that no
// snapshot references and that are older than olderThan (at least
// MinOrphanAge): what an ingest or compaction that failed before its commit
// left behind. dryRun only lists them.
func (l *Lake) RemoveOrphans(ctx context.Context, olderThan time.Duration, dryRun bool) ([]OrphanResult, error) {
	if olderThan < MinOrphanAge {
		return nil, ronghe.Errorf(ronghe.EINVALID, "lake: orphan files must be older than %s (an ingest in progress writes files before it commits)", MinOrphanAge)
	}
	var out []OrphanResult
	for _, t := range l.Types() {
		tbl, err := l.Table(ctx, t)
		if err != nil {
			return out, err
		}
		r := OrphanResult{Table: TableName(t)}
		res, err := tbl.DeleteOrphanFiles(ctx, table.WithFilesOlderThan(olderThan), table.WithDryRun(dryRun))
		if err != nil {
			return out, ronghe.WrapError(ronghe.EUNAVAILABLE, err, fmt.Sprintf("lake: orphan files of %s", r.Table))
		}
		r.Files, r.Bytes = res.OrphanFileLocations, res.TotalSizeBytes
		out = append(out, r)
	}
	return out, nil
}
