// Package lake is Ronghe's lakehouse (湖仓一体): accepted RRS-1 batches land in
// open Apache Iceberg tables — one per record type, Parquet with zstd — that
// Trino and Spark read directly through the same JDBC catalog, and that the
// platform itself writes and reads through apache/iceberg-go.
//
// # Catalog and warehouse
//
// The catalog is iceberg-go's SQL catalog, whose two tables (iceberg_tables,
// iceberg_namespace_properties) have the layout of Iceberg Java's
// JdbcCatalog (schema version V1, with iceberg_type), on SQLite (embedded
// default) or PostgreSQL (production). Tables live in namespace "rrs" of
// catalog "ronghe": rrs.acct, rrs.txn, rrs.bal, rrs.gl, rrs.stat, rrs.fxp and
// rrs.ctl. The warehouse is a local directory (file://) or S3 (s3://).
//
// # Tables
//
// A table's columns are the record type's fields in canonical order, derived
// from the rrs definitions (decimal(18,2) stays decimal(18,2), dates are
// dates, times are times, integers longs, everything else strings), followed
// by the lineage columns that lead every row back to its origin: _batch,
// _inst, _business_date, _seq, _message_id, _log_index and _ingested_at.
// Each column's doc carries its RRS-1 data-security level and PI category,
// and so do the table properties ronghe.level.<column> and
// ronghe.pi.<column>. Tables are partitioned by month(_business_date) and
// _inst, the shape of every report query (one enterprise's months across
// institutions) and of every correction (one institution and date).
//
// # Ingest, corrections, exactly once
//
// Ingest writes each record type of a batch in one Iceberg transaction. A
// batch whose institution and date has no rows yet is appended; otherwise
// (a correction, seq > 1) the batch overwrites, in one snapshot, every row
// of its institution and business date — copy-on-write, so readers never
// need delete files — including tables where the correction has no rows.
// Each snapshot's summary records the batch name and manifest digest
// (ronghe.batch, ronghe.digest): an ingest whose marker is in the table's
// current snapshot lineage changes nothing. A version older than the
// highest _seq the lake holds for the institution and date, in any table, is
// refused as superseded. After expiry has removed old markers, a repeated
// ingest still cannot duplicate rows: it overwrites its own institution and
// date. A failure before the catalog commit leaves only unreferenced files,
// which RemoveOrphans deletes; a failure between two tables' commits is
// completed by ingesting the batch again.
//
// Commits are optimistic: a table that moved between the checks and the
// commit is re-checked and retried, so two processes ingesting the same
// batch land it once. Versions of one institution and date are serialised
// within a process; the platform feeds the lake from one ingest queue, so
// two versions of the same institution and date are never in flight at
// once in different processes.
//
// # Time travel
//
// Every change is a snapshot, so AsOf answers from the snapshots that were
// current at a given instant: what the platform knew then.
package lake
