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
