package lakesql

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ronghe/ronghe"
)

// QueryLog is the append-only record of governed SQL: who ran what, as
// which role, for which tenant and instant, and whether it was refused. It
// lives in the catalog database beside the Iceberg catalog tables; triggers
// refuse UPDATE, DELETE (and TRUNCATE on PostgreSQL), so an entry once
// written stays.
type QueryLog struct {
	db       *sql.DB
	postgres bool
}

// Entry is one logged query, as the lake API serves it.
type Entry = ronghe.LakeLogEntry

// Decisions recorded in the log.
const (
	DecisionRun     = "run"
	DecisionRefused = "refused"
)

var sqliteLogDDL = []string{
	`CREATE TABLE IF NOT EXISTS ronghe_query_log (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		at TEXT NOT NULL,
		user_name TEXT NOT NULL,
		role TEXT NOT NULL,
		tenant TEXT NOT NULL DEFAULT '',
		as_of TEXT NOT NULL DEFAULT '',
		statement TEXT NOT NULL,
		decision TEXT NOT NULL,
		reason TEXT NOT NULL DEFAULT '')`,
	`CREATE TRIGGER IF NOT EXISTS ronghe_query_log_no_update BEFORE UPDATE ON ronghe_query_log
		BEGIN SELECT RAISE(ABORT, 'ronghe_query_log is append-only'); END`,
	`CREATE TRIGGER IF NOT EXISTS ronghe_query_log_no_delete BEFORE DELETE ON ronghe_query_log
		BEGIN SELECT RAISE(ABORT, 'ronghe_query_log is append-only'); END`,
	`CREATE TABLE IF NOT EXISTS ronghe_lake_secret (name TEXT PRIMARY KEY, value TEXT NOT NULL)`,
}

var postgresLogDDL = []string{
	`SELECT pg_advisory_xact_lock(7079651313)`,
	`CREATE TABLE IF NOT EXISTS ronghe_query_log (
		id BIGSERIAL PRIMARY KEY,
		at TIMESTAMPTZ NOT NULL,
		user_name TEXT NOT NULL,
		role TEXT NOT NULL,
		tenant TEXT NOT NULL DEFAULT '',
		as_of TEXT NOT NULL DEFAULT '',
		statement TEXT NOT NULL,
		decision TEXT NOT NULL,
		reason TEXT NOT NULL DEFAULT '')`,
	`CREATE OR REPLACE FUNCTION ronghe_query_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'ronghe_query_log is append-only'; END $$`,
	`CREATE OR REPLACE TRIGGER ronghe_query_log_no_change BEFORE UPDATE OR DELETE ON ronghe_query_log
		FOR EACH ROW EXECUTE FUNCTION ronghe_query_log_append_only()`,
	`CREATE OR REPLACE TRIGGER ronghe_query_log_no_truncate BEFORE TRUNCATE ON ronghe_query_log
		FOR EACH STATEMENT EXECUTE FUNCTION ronghe_query_log_append_only()`,
	`CREATE TABLE IF NOT EXISTS ronghe_lake_secret (name TEXT PRIMARY KEY, value TEXT NOT NULL)`,
}

// OpenQueryLog creates the log table and its guards in db when missing.
func OpenQueryLog(ctx context.Context, db *sql.DB, postgres bool) (*QueryLog, error) {
	ddl := sqliteLogDDL
	if postgres {
		ddl = postgresLogDDL
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "lakesql: query log")
	}
	defer tx.Rollback()
	for _, q := range ddl {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return nil, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "lakesql: create query log")
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "lakesql: create query log")
	}
	return &QueryLog{db: db, postgres: postgres}, nil
}

// bind rewrites '?' placeholders for PostgreSQL.
func (q *QueryLog) bind(s string) string {
	if !q.postgres {
		return s
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Append records e (its ID and At are assigned) and returns its ID.
func (q *QueryLog) Append(ctx context.Context, e Entry) (int64, error) {
	if e.User == "" || e.Role == "" || e.Decision == "" {
		return 0, ronghe.Errorf(ronghe.EINVALID, "lakesql: a log entry needs user, role and decision")
	}
	at := time.Now().UTC()
	asOf := ""
	if !e.AsOf.IsZero() {
		asOf = e.AsOf.UTC().Format(time.RFC3339Nano)
	}
	var atArg any = at.Format(time.RFC3339Nano)
	if q.postgres {
		atArg = at
	}
	var id int64
	err := q.db.QueryRowContext(ctx, q.bind(`INSERT INTO ronghe_query_log (at, user_name, role, tenant, as_of, statement, decision, reason)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		atArg, e.User, e.Role, e.Tenant, asOf, e.Statement, e.Decision, e.Reason).Scan(&id)
	if err != nil {
		return 0, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "lakesql: write the query log")
	}
	return id, nil
}

// List returns up to limit entries after ID after, oldest first.
func (q *QueryLog) List(ctx context.Context, after int64, limit int) ([]Entry, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := q.db.QueryContext(ctx, q.bind(`SELECT id, at, user_name, role, tenant, as_of, statement, decision, reason
		FROM ronghe_query_log WHERE id > ? ORDER BY id LIMIT ?`), after, limit)
	if err != nil {
		return nil, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "lakesql: read the query log")
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		var at any
		var asOf string
		if err := rows.Scan(&e.ID, &at, &e.User, &e.Role, &e.Tenant, &asOf, &e.Statement, &e.Decision, &e.Reason); err != nil {
			return nil, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "lakesql: read the query log")
		}
		switch v := at.(type) {
		case time.Time:
			e.At = v
		case string:
			e.At, _ = time.Parse(time.RFC3339Nano, v)
		}
		if asOf != "" {
			e.AsOf, _ = time.Parse(time.RFC3339Nano, asOf)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// secret returns the named secret, creating a random one on first use.
func (q *QueryLog) secret(ctx context.Context, name string) (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", ronghe.WrapError(ronghe.EINTERNAL, err, "lakesql: random key")
	}
	if _, err := q.db.ExecContext(ctx, q.bind(`INSERT INTO ronghe_lake_secret (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`),
		name, hex.EncodeToString(b[:])); err != nil {
		return "", ronghe.WrapError(ronghe.EUNAVAILABLE, err, "lakesql: store key")
	}
	var v string
	err := q.db.QueryRowContext(ctx, q.bind(`SELECT value FROM ronghe_lake_secret WHERE name = ?`), name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) || err != nil {
		return "", ronghe.WrapError(ronghe.EUNAVAILABLE, err, "lakesql: read key")
	}
	return v, nil
}
