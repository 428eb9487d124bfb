// Package lakesql runs SQL over the lake with DuckDB, for the platform and
// for the operator's staff.
//
// DuckDB's Iceberg extension cannot be installed here (the driver bundles
// only core, parquet, json and icu), so a session asks the lake for a State —
// one snapshot per table, current or "as of" — lists each snapshot's data
// files through iceberg-go's scan planning, and defines one view per table
// over read_parquet of exactly those files, reading columns by Iceberg field
// ID. The lake writes copy-on-write, so there are no delete files to apply;
// files that another engine's deletes apply to are read through iceberg-go
// instead, and files on S3 are copied into a local cache (data files never
// change).
//
// # Governed SQL
//
// Engine.Query serves the operator's staff (never the banks, who get
// reports): the views mask every column above the role's clearance —
// account numbers show their last four characters, names are redacted,
// identifiers are replaced by a keyed SHA-256, dates keep their year,
// amounts and times become NULL — and, with a tenant, show one
// institution's rows. The statement must be a single read-only SELECT over
// those views (checked on DuckDB's own parse tree); DuckDB is then locked to
// the session's data files. Every query, refused or run, is written to the
// append-only query log first.
package lakesql
