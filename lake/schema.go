package lake

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/apache/iceberg-go"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/rrs"
)

// Lineage column names. Every table carries them after the record type's own
// fields, so that every row leads back to the batch, the submission and the
// transparency-log entry it came from.
const (
	ColBatch        = "_batch"         // batch name <inst_code>_<YYYYMMDD>_<seq>
	ColInst         = "_inst"          // reporting institution (partition source)
	ColBusinessDate = "_business_date" // business date (partitioned by month)
	ColSeq          = "_seq"           // batch sequence: 1, then corrections
	ColMessageID    = "_message_id"    // exchange message ID of the submission
	ColLogIndex     = "_log_index"     // transparency-log index of its acceptance
	ColIngestedAt   = "_ingested_at"   // when the row landed in the lake (UTC)
)

// Table properties written on every lake table. Per-column properties are
// the prefix followed by the column name, e.g. "ronghe.level.acct_no" = "3".
const (
	PropStandard    = "ronghe.rrs.standard" // "RRS-1"
	PropVersion     = "ronghe.rrs.version"  // RRS-1 version the schema was derived from
	PropRecordType  = "ronghe.rrs.type"     // "TXN"
	PropKey         = "ronghe.rrs.key"      // key fields joined by '|'
	PropLevelPrefix = "ronghe.level."       // data-security level per JR/T 0197-2020
	PropPIPrefix    = "ronghe.pi."          // personal-information category per JR/T 0171-2020
	PropKindPrefix  = "ronghe.kind."        // rrs field kind ("decimal(18,2)", "uscc", …)
)

// Snapshot summary properties written by Ingest. PropSumBatch and
// PropSumDigest together are the idempotency marker of a batch.
const (
	PropSumBatch     = "ronghe.batch"         // batch name
	PropSumDigest    = "ronghe.digest"        // hex manifest digest ("" for an offline ingest)
	PropSumMessageID = "ronghe.message-id"    // exchange message ID
	PropSumLogIndex  = "ronghe.log-index"     // transparency-log index
	PropSumRows      = "ronghe.rows"          // rows of the batch's file loaded
	PropSumSkipped   = "ronghe.skipped-rows"  // rows not loaded (failed L01/L02)
	PropSumReplaced  = "ronghe.replaced-rows" // earlier rows of the same institution and date replaced
	PropSumOperation = "ronghe.operation"     // "ingest", "compact"
)

// lineageLevel is the data-security level of the lineage columns: they
// identify the institution and its batches, as inst_code (level 2) does.
const lineageLevel = 2

// lineageColumn describes one lineage column.
type lineageColumn struct {
	name     string
	typ      iceberg.Type
	required bool
	kind     string
	doc      string
}

var lineageColumns = []lineageColumn{
	{ColBatch, iceberg.PrimitiveTypes.String, true, "string", "batch name <inst_code>_<YYYYMMDD>_<seq> / 批次名"},
	{ColInst, iceberg.PrimitiveTypes.String, true, "string", "reporting institution / 报送机构"},
	{ColBusinessDate, iceberg.PrimitiveTypes.Date, true, "date", "business date of the batch / 业务日期"},
	{ColSeq, iceberg.PrimitiveTypes.Int32, true, "integer", "batch sequence, 1 then corrections / 批次序号"},
	{ColMessageID, iceberg.PrimitiveTypes.String, false, "string", "exchange message ID / 报文标识"},
	{ColLogIndex, iceberg.PrimitiveTypes.Int64, false, "integer", "transparency-log index of the acceptance / 透明日志索引"},
	{ColIngestedAt, iceberg.PrimitiveTypes.TimestampTz, true, "timestamp", "when the row landed in the lake / 入湖时间"},
}

// IsLineage reports whether name is one of the lineage columns.
func IsLineage(name string) bool {
	for _, c := range lineageColumns {
		if c.name == name {
			return true
		}
	}
	return false
}

// TableName returns the Iceberg table name of record type t: its name in
// lower case ("txn"), because Trino and Spark fold identifiers to lower case.
func TableName(t rrs.Type) string { return strings.ToLower(string(t)) }

// icebergType maps an rrs field kind to the Iceberg type its values are
// stored as. Money stays exact: decimal(18,2).
func icebergType(k rrs.Kind) iceberg.Type {
	switch k {
	case rrs.KindDecimal:
		return iceberg.DecimalTypeOf(18, 2)
	case rrs.KindDate:
		return iceberg.PrimitiveTypes.Date
	case rrs.KindTime:
		return iceberg.PrimitiveTypes.Time
	case rrs.KindInt:
		return iceberg.PrimitiveTypes.Int64
	}
	return iceberg.PrimitiveTypes.String
}

// columnDoc is the Iceberg column doc (shown by Trino and Spark as the
// column comment): the field's description in English and Chinese and its
// RRS-1 classification.
func columnDoc(doc, docZH string, level int, pi string) string {
	class := "level " + strconv.Itoa(level)
	if pi != "" {
		class += ", PI " + pi
	}
	return fmt.Sprintf("%s / %s [RRS-1 %s]", doc, docZH, class)
}

// Schema returns the Iceberg schema of record type rt: its fields in
// canonical order (required where RRS-1 forbids nulls) followed by the
// lineage columns. Field IDs are 1…n in that order.
func Schema(rt *rrs.RecordType) *iceberg.Schema {
	fields := make([]iceberg.NestedField, 0, len(rt.Fields)+len(lineageColumns))
	id := 1
	for i := range rt.Fields {
		f := &rt.Fields[i]
		fields = append(fields, iceberg.NestedField{
			ID: id, Name: f.Name, Type: icebergType(f.Kind), Required: !f.Nullable,
			Doc: columnDoc(f.Doc, f.DocZH, f.Level, f.PI),
		})
		id++
	}
	for _, c := range lineageColumns {
		en, zh, _ := strings.Cut(c.doc, " / ")
		fields = append(fields, iceberg.NestedField{
			ID: id, Name: c.name, Type: c.typ, Required: c.required,
			Doc: columnDoc(en, zh, lineageLevel, ""),
		})
		id++
	}
	return iceberg.NewSchema(0, fields...)
}

// PartitionSpec returns the partitioning of a lake table with schema sc:
// month(_business_date), then identity(_inst).
func PartitionSpec(sc *iceberg.Schema) (iceberg.PartitionSpec, error) {
	return iceberg.NewPartitionSpecOpts(
		iceberg.AddPartitionFieldByName(ColBusinessDate, ColBusinessDate+"_month", iceberg.MonthTransform{}, sc, nil),
		iceberg.AddPartitionFieldByName(ColInst, ColInst, iceberg.IdentityTransform{}, sc, nil),
	)
}

// TableProperties returns the Iceberg table properties of record type rt of
// spec: storage settings (format v2, Parquet with zstd, copy-on-write for
// every engine that writes) and the RRS-1 classification of every column.
func TableProperties(spec *rrs.Spec, rt *rrs.RecordType) iceberg.Properties {
	p := iceberg.Properties{
		"format-version":                  "2",
		"write.format.default":            "parquet",
		"write.parquet.compression-codec": "zstd",
		// zstd's fastest level: most of an ingest's CPU is writing
		// Parquet; level 1 costs a few percent of size against level 3.
		"write.parquet.compression-level": "1",
		// Corrections replace files rather than leaving delete files, so
		// every reader (DuckDB over Parquet included) sees plain data files.
		"write.delete.mode": "copy-on-write",
		"write.update.mode": "copy-on-write",
		"write.merge.mode":  "copy-on-write",
		// Appends merge small manifests (as Java does by default), so
		// planning stays fast after thousands of daily batches.
		"commit.manifest-merge.enabled": "true",
		// Old metadata.json files are pruned; snapshots (time travel) are
		// kept until ExpireSnapshots removes them.
		"write.metadata.delete-after-commit.enabled": "true",
		"write.metadata.previous-versions-max":       "100",
		"comment":                                    fmt.Sprintf("RRS-1 %s %s / %s", rt.Type, rt.Title, rt.TitleZH),
		PropStandard:                                 spec.Standard,
		PropVersion:                                  spec.Version,
		PropRecordType:                               string(rt.Type),
		PropKey:                                      strings.Join(rt.Key, "|"),
	}
	if len(rt.Key) == 1 {
		// A one-column key is unique per row: a dictionary of it is all
		// cost (hashing every value) and no gain.
		p["write.parquet.dict-encoding-enabled.column."+rt.Key[0]] = "false"
	}
	for i := range rt.Fields {
		f := &rt.Fields[i]
		p[PropLevelPrefix+f.Name] = strconv.Itoa(f.Level)
		p[PropKindPrefix+f.Name] = f.Kind.String()
		if f.PI != "" {
			p[PropPIPrefix+f.Name] = f.PI
		}
	}
	for _, c := range lineageColumns {
		p[PropLevelPrefix+c.name] = strconv.Itoa(lineageLevel)
		p[PropKindPrefix+c.name] = c.kind
	}
	return p
}

// Column describes one column of a lake table as its Iceberg metadata
// records it.
type Column = ronghe.LakeColumn

// columnsOf reads the columns of a table from its current schema and
// properties. A column without a level property (added by another engine)
// is treated as the highest level, so it is never shown unmasked by mistake.
func columnsOf(sc *iceberg.Schema, props iceberg.Properties) []Column {
	out := make([]Column, 0, sc.NumFields())
	for _, f := range sc.Fields() {
		lvl, err := strconv.Atoi(props[PropLevelPrefix+f.Name])
		if err != nil || lvl < 1 || lvl > 5 {
			lvl = 5
		}
		out = append(out, Column{
			Name: f.Name, Type: f.Type.String(), Required: f.Required,
			Kind: props[PropKindPrefix+f.Name], Level: lvl, PI: props[PropPIPrefix+f.Name],
			Lineage: IsLineage(f.Name), Doc: f.Doc,
		})
	}
	return out
}

// recordType returns rt of spec or an EINVALID error.
func recordType(spec *rrs.Spec, t rrs.Type) (*rrs.RecordType, error) {
	rt := spec.Record(t)
	if rt == nil {
		return nil, ronghe.Errorf(ronghe.EINVALID, "lake: RRS-1 %s has no record type %s", spec.Version, t)
	}
	return rt, nil
}
