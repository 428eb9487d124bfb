// Package sqlstore keeps the platform's metadata — institutions, keys,
// certificates, submissions and mailboxes — in a relational database. It
// implements ronghe.InstitutionService and ronghe.ExchangeStore over
// database/sql with one set of queries for two dialects:
//
//   - SQLite (modernc.org/sqlite, pure Go), the embedded default for a
//     single-process deployment: the database is one file in WAL mode, write
//     transactions begin IMMEDIATE so that concurrent writers queue on the
//     busy timeout instead of failing;
//   - PostgreSQL (pgx through database/sql) for production and scale-out.
//
// Queries are written once with ? placeholders and rebound to $n for
// PostgreSQL. What differs between the dialects — column types in the
// migrations, how times are bound, how errors are classified and how
// migrations and leadership are locked — is kept in the dialect value and in
// the per-dialect migration files.
//
// Every ExchangeStore query names the tenant in its WHERE clause and every
// tenant-scoped table has the tenant in its primary key, so an object of
// another tenant is reported exactly like one that does not exist.
//
// Times are stored in UTC with microsecond precision (the precision of
// PostgreSQL's timestamptz; SQLite stores fixed-width ISO 8601 text that sorts
// chronologically) and are read back as UTC time.Time values. Times passed in
// are truncated to the microsecond, so a stored value reads back equal.
package sqlstore
