package lake

import (
	"context"
	"encoding/binary"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/rrs"
)

// TableInfo is the data catalog's entry for one lake table, as the lake
// API serves it; its Type is the table's rrs.Type as a string.
type TableInfo = ronghe.LakeTable

// InstitutionInfo is one institution's share of a table.
type InstitutionInfo = ronghe.LakeInstitution

// Catalog describes every lake table from the current snapshots' metadata
// (manifests and column statistics; no data file is read).
func (l *Lake) Catalog(ctx context.Context) ([]TableInfo, error) {
	st, err := l.Current(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]TableInfo, 0, len(st.Tables))
	for _, ts := range st.Tables {
		info, err := l.tableInfo(ctx, ts)
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

func (l *Lake) tableInfo(ctx context.Context, ts *TableState) (TableInfo, error) {
	tbl := ts.tbl
	props := tbl.Properties()
	info := TableInfo{
		Name: l.cfg.Namespace + "." + ts.Name, Type: string(ts.Type),
		Standard: props[PropStandard], Version: props[PropVersion],
		Location: tbl.Location(), Columns: ts.Columns, Rows: ts.Rows(),
	}
	if rt := l.cfg.Spec.Record(ts.Type); rt != nil {
		info.Title, info.TitleZH = rt.Title, rt.TitleZH
	}
	spec := tbl.Spec()
	for _, pf := range spec.Fields() {
		src, _ := ts.Schema.FindColumnName(pf.SourceID())
		info.Partitioning = append(info.Partitioning, pf.Transform.String()+"("+src+")")
	}
	for _, c := range ts.Columns {
		info.MaxLevel = max(info.MaxLevel, c.Level)
		if c.PI != "" && !slices.Contains(info.PI, c.PI) {
			info.PI = append(info.PI, c.PI)
		}
	}
	snaps := tbl.Metadata().Snapshots()
	info.Snapshots = len(snaps)
	for _, s := range snaps {
		if t := time.UnixMilli(s.TimestampMs); info.OldestSnapshot.IsZero() || t.Before(info.OldestSnapshot) {
			info.OldestSnapshot = t
		}
	}
	if ts.Snapshot == nil {
		return info, nil
	}
	info.LastUpdated = ts.Updated()
	if ts.Snapshot.Summary != nil {
		p := ts.Snapshot.Summary.Properties
		info.LastBatch = p[PropSumBatch]
		info.DataFiles, _ = strconv.ParseInt(p["total-data-files"], 10, 64)
		info.Bytes, _ = strconv.ParseInt(p["total-files-size"], 10, 64)
	}
	insts, latest, err := freshness(ctx, ts)
	if err != nil {
		return info, err
	}
	info.Institutions, info.LatestBusinessDate = insts, latest
	return info, nil
}

// freshness derives, from the manifests of the selected snapshot, each
// institution's row count and latest business date (the upper bound of
// _business_date in the file statistics; exact because the lake writes
// full statistics for dates).
func freshness(ctx context.Context, ts *TableState) ([]InstitutionInfo, string, error) {
	instField, okI := ts.Schema.FindFieldByName(ColInst)
	dateField, okD := ts.Schema.FindFieldByName(ColBusinessDate)
	if !okI || !okD {
		return nil, "", ronghe.Errorf(ronghe.EINTERNAL, "lake: table %s lacks lineage columns", ts.Name)
	}
	tasks, err := ts.Scan().PlanFiles(ctx)
	if err != nil {
		return nil, "", ronghe.WrapError(ronghe.EUNAVAILABLE, err, "lake: plan files of "+ts.Name)
	}
	type acc struct {
		rows int64
		days int32
		ok   bool
	}
	by := map[string]*acc{}
	seen := map[string]bool{}
	var overall acc
	for _, t := range tasks {
		df := t.File
		if seen[df.FilePath()] {
			continue
		}
		seen[df.FilePath()] = true
		inst := boundString(df.LowerBoundValues(), instField.ID)
		if inst == "" || inst != boundString(df.UpperBoundValues(), instField.ID) {
			inst = "?" // not single-institution: written by another engine
		}
		a := by[inst]
		if a == nil {
			a = &acc{}
			by[inst] = a
		}
		a.rows += df.Count()
		if d, ok := boundDate(df.UpperBoundValues(), dateField.ID); ok {
			if !a.ok || d > a.days {
				a.days, a.ok = d, true
			}
			if !overall.ok || d > overall.days {
				overall.days, overall.ok = d, true
			}
		}
	}
	out := make([]InstitutionInfo, 0, len(by))
	for inst, a := range by {
		ii := InstitutionInfo{Inst: inst, Rows: a.rows}
		if a.ok {
			ii.LatestBusinessDate = rrs.DateFromEpochDays(int(a.days)).String()
		}
		out = append(out, ii)
	}
	slices.SortFunc(out, func(a, b InstitutionInfo) int { return strings.Compare(a.Inst, b.Inst) })
	latest := ""
	if overall.ok {
		latest = rrs.DateFromEpochDays(int(overall.days)).String()
	}
	return out, latest, nil
}

// boundString decodes a string column bound (UTF-8 bytes). Bounds may be
// truncated prefixes for long strings; institution codes are 14 characters,
// within the default truncate(16) metrics mode.
func boundString(bounds map[int][]byte, id int) string {
	return string(bounds[id])
}

// boundDate decodes a date column bound: days since the epoch as a 4-byte
// little-endian int (Iceberg single-value serialisation).
func boundDate(bounds map[int][]byte, id int) (int32, bool) {
	b, ok := bounds[id]
	if !ok || len(b) != 4 {
		return 0, false
	}
	return int32(binary.LittleEndian.Uint32(b)), true
}
