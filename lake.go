package ronghe

import (
	"bytes"
	"encoding/json"
	"time"
)

// The lake API's bodies for the operator's staff: a governed query, its
// result and the query log. The lake (lakesql) produces them, the lake API
// (lakeapi) serves them and the client decodes them, all with these types,
// so that a client needs neither the lake nor DuckDB.

// LakeQuery is one governed query, the body of POST /v1/lake/sql. It
// carries no user and no role: the platform takes both from the caller's
// staff certificate.
type LakeQuery struct {
	// SQL is one read-only SELECT over rrs.acct, rrs.txn, rrs.bal, rrs.gl,
	// rrs.stat, rrs.fxp and rrs.ctl (or their bare names).
	SQL string `json:"sql"`
	// Tenant, when set, restricts every table to that institution's rows.
	Tenant string `json:"tenant,omitempty"`
	// AsOf, when set, answers from the lake as it was at that instant
	// (RFC 3339).
	AsOf *time.Time `json:"as_of,omitempty"`
	// MaxRows caps the rows returned: the engine's default when 0, and
	// never more than the server's own cap.
	MaxRows int `json:"max_rows,omitempty"`
}

// LakeResult is a governed query's answer.
type LakeResult struct {
	// LogID is the query log entry of this query.
	LogID int64 `json:"log_id"`
	// Columns and Types describe the result columns (DuckDB type names).
	Columns []string `json:"columns"`
	Types   []string `json:"types"`
	// Rows hold the values: strings for decimals (exact, with their scale),
	// dates ("YYYY-MM-DD"), times and timestamps (RFC 3339); int64,
	// float64, bool, string and nil otherwise. Decoded from JSON, numbers
	// are json.Number, so that counts and sums beyond 2^53 stay exact.
	Rows [][]any `json:"rows"`
	// Truncated is true when more rows matched than the query's cap.
	Truncated bool `json:"truncated,omitempty"`
	// AsOf echoes the query's instant; zero for the current lake.
	AsOf time.Time `json:"as_of,omitzero"`
	// Masked lists the columns the caller's role saw masked.
	Masked []LakeMaskedColumn `json:"masked,omitempty"`
}

// UnmarshalJSON keeps numbers in rows exact (json.Number): counts and
// sums beyond 2^53 are not rounded through float64.
func (r *LakeResult) UnmarshalJSON(b []byte) error {
	type plain LakeResult
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode((*plain)(r))
}

// LakeMask is how a column hidden from a role is shown: "show-last-4",
// "redact", "hash", "year" or "null" (the lakesql package defines them);
// empty for a column shown as stored.
type LakeMask string

// LakeMaskedColumn is a column a role sees masked.
type LakeMaskedColumn struct {
	// Table and Column name the column.
	Table  string `json:"table"`
	Column string `json:"column"`
	// Level is its RRS-1 data-security level (JR/T 0197-2020), 1…5.
	Level int `json:"level"`
	// PI is its personal-information category (JR/T 0171-2020), or "".
	PI string `json:"pi,omitempty"`
	// Mask is how the role sees it.
	Mask LakeMask `json:"mask"`
}

// LakeLogEntry is one entry of the append-only query log: a governed
// query, run or refused.
type LakeLogEntry struct {
	// ID orders the log; At is when the query was logged, before it ran.
	ID int64     `json:"id"`
	At time.Time `json:"at"`
	// User is the staff member's name, Role their role's name.
	User string `json:"user"`
	Role string `json:"role"`
	// Tenant is the institution the query was restricted to, if any.
	Tenant string `json:"tenant,omitempty"`
	// AsOf is the instant the query asked about; zero for the current lake.
	AsOf time.Time `json:"as_of,omitzero"`
	// Statement is the SQL as submitted.
	Statement string `json:"statement"`
	// Decision is "run" or "refused" (lakesql.DecisionRun,
	// lakesql.DecisionRefused); Reason says why a statement was refused.
	Decision string `json:"decision"`
	Reason   string `json:"reason,omitempty"`
}

// The lake's data catalog, GET /v1/lake/catalog: one LakeTable per lake
// table. The lake (lake.Catalog) describes its tables with these types and
// the client decodes them as they are.

// LakeTable is the data catalog's entry for one lake table: what it holds,
// how it is classified, how big and how fresh it is.
type LakeTable struct {
	// Name is the qualified table name, e.g. "rrs.txn".
	Name string `json:"name"`
	// Type is the RRS-1 record type the table holds, e.g. "TXN" (an
	// rrs.Type).
	Type string `json:"type"`
	// Title and TitleZH describe the record type.
	Title   string `json:"title"`
	TitleZH string `json:"title_zh"`
	// Standard and Version name the RRS-1 version of the schema.
	Standard string `json:"standard"`
	Version  string `json:"version"`
	// Location is the table's root in the warehouse.
	Location string `json:"location"`
	// Partitioning lists the partition transforms, e.g. "month(_business_date)".
	Partitioning []string `json:"partitioning"`
	// Columns are the table's columns with their level and PI category.
	Columns []LakeColumn `json:"columns"`
	// MaxLevel is the highest security level of any column.
	MaxLevel int `json:"max_level"`
	// PI lists the personal-information categories present.
	PI []string `json:"pi,omitempty"`
	// Rows is the number of rows in the current snapshot.
	Rows int64 `json:"rows"`
	// DataFiles and Bytes are the number and total size of its data files.
	DataFiles int64 `json:"data_files"`
	Bytes     int64 `json:"bytes"`
	// Snapshots is the number of retained snapshots, the reach of "as of"
	// queries back to OldestSnapshot, the earliest one's commit time.
	Snapshots      int       `json:"snapshots"`
	OldestSnapshot time.Time `json:"oldest_snapshot,omitzero"`
	// LastUpdated is the commit time of the current snapshot; zero for a
	// table never written.
	LastUpdated time.Time `json:"last_updated,omitzero"`
	// LastBatch is the batch the current snapshot ingested (empty after
	// maintenance).
	LastBatch string `json:"last_batch,omitempty"`
	// LatestBusinessDate is the latest business date with rows
	// ("YYYY-MM-DD"): the table's freshness.
	LatestBusinessDate string `json:"latest_business_date,omitempty"`
	// Institutions is each institution's share of the table, in code order.
	Institutions []LakeInstitution `json:"institutions,omitempty"`
}

// LakeColumn describes one column of a lake table as its Iceberg metadata
// records it.
type LakeColumn struct {
	// Name is the column name.
	Name string `json:"name"`
	// Type is the Iceberg type, e.g. "decimal(18,2)", "string", "date".
	Type string `json:"type"`
	// Required is true when the column never holds a null.
	Required bool `json:"required"`
	// Kind is the rrs field kind ("uscc", "digits", …) or the lineage
	// column's kind.
	Kind string `json:"kind"`
	// Level is the RRS-1 data-security level (JR/T 0197-2020), 1…5.
	Level int `json:"level"`
	// PI is the personal-information category (JR/T 0171-2020), or "".
	PI string `json:"pi,omitempty"`
	// Lineage is true for the lineage columns (_batch, …).
	Lineage bool `json:"lineage"`
	// Doc is the column's documentation.
	Doc string `json:"doc"`
}

// LakeInstitution is one institution's share of a lake table.
type LakeInstitution struct {
	// Inst is the institution code; "?" gathers the rows of data files
	// that are not single-institution (written by another engine).
	Inst string `json:"inst"`
	// Rows is its number of rows.
	Rows int64 `json:"rows"`
	// LatestBusinessDate is its newest business date ("YYYY-MM-DD"), or ""
	// when the file statistics do not tell.
	LatestBusinessDate string `json:"latest_business_date"`
}
