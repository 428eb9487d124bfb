package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ronghe/ronghe"

	// Drivers: "pgx" for PostgreSQL, "sqlite" for SQLite.
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)

// Dialect names returned by DB.Dialect.
const (
	// DialectSQLite is the embedded, single-process store.
	DialectSQLite = "sqlite"
	// DialectPostgres is the production, multi-process store.
	DialectPostgres = "postgres"
)

// Listing limits shared by every list method.
const (
	// DefaultListLimit is the number of rows a listing returns when the caller
	// passes a limit of 0.
	DefaultListLimit = 100
	// MaxListLimit caps any listing so that one request cannot read a
	// tenant's whole history in one go; callers page with cursors instead.
	MaxListLimit = 1000
)

// sqliteBusyTimeout is how long an SQLite connection waits for another
// writer's lock before giving up. Write transactions are short, so a queue of
// dozens of writers clears well within it.
const sqliteBusyTimeout = 10 * time.Second

// DB is the metadata store. It implements ronghe.InstitutionService and
// ronghe.ExchangeStore and is safe for concurrent use by many goroutines; one
// DB is meant to be shared by the whole process.
type DB struct {
	sql *sql.DB
	d   *dialect

	// writeMu queues this process's SQLite write transactions in Go. SQLite
	// has one writer; without the queue, concurrent BEGIN IMMEDIATEs wait in
	// SQLite's busy handler, which sleeps 1, 2, 5 … 100 ms between tries
	// while holding a pool connection that readers then lack.
	writeMu sync.Mutex

	// onAcceptMany, if set, runs once inside a transaction that accepts
	// submissions, for all of them (OnAcceptMany, or OnAccept's fn for each).
	onAcceptMany func(ctx context.Context, tx *sql.Tx, tenants, messageIDs []string) error
	// subWrites group-commits the submission writes of SQLite
	// (CreateSubmission, AcceptSubmissionFiles; exchangegroup.go).
	subWrites *groupCommit[*subWrite]

	// leaders holds the leader names this handle currently holds on SQLite,
	// where leadership is decided inside the process (see TryLeader).
	leaderMu sync.Mutex
	leaders  map[string]bool

	// queryRecords group-commits query records (groupcommit.go).
	queryRecords *groupCommit[*ronghe.QueryRecord]
	// stmts caches prepared statements of hot queries (stmtcache.go).
	stmts sync.Map
}

// Compile-time checks that DB provides the services it is written for.
var (
	_ ronghe.InstitutionService = (*DB)(nil)
	_ ronghe.ExchangeStore      = (*DB)(nil)
)

// Open connects to the database named by dsn and brings its schema up to date.
//
// A DSN beginning with "postgres://" or "postgresql://" opens PostgreSQL
// through pgx; any pgx connection parameter may be given, including
// search_path to place the tables in a schema. "sqlite:<path>" or a plain
// file path opens (creating if needed) an SQLite database file; query
// parameters after a '?' in the path are passed to the driver, but WAL mode,
// foreign keys, the busy timeout and immediate write transactions are always
// set because the store's concurrency guarantees depend on them.
func Open(ctx context.Context, dsn string) (*DB, error) {
	d, driverName, driverDSN, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	sqldb, err := sql.Open(driverName, driverDSN)
	if err != nil {
		return nil, ronghe.WrapError(ronghe.EINVALID, err, "metadata store: cannot open database")
	}
	d.configurePool(sqldb)
	db := &DB{sql: sqldb, d: d, leaders: make(map[string]bool)}
	db.queryRecords = newGroupCommit(db.writeQueryRecords)
	db.subWrites = newGroupCommit(db.writeSubmissions)
	if err := sqldb.PingContext(ctx); err != nil {
		_ = sqldb.Close()
		return nil, db.dbErr("connect", err)
	}
	if err := db.migrate(ctx); err != nil {
		_ = sqldb.Close()
		return nil, err
	}
	return db, nil
}

// Close closes the connection pool. Leader leases still held are released
// by the database when their connections close.
func (db *DB) Close() error { return db.sql.Close() }

// Dialect returns DialectSQLite or DialectPostgres so that packages keeping
// their own tables in the same database can choose their SQL.
func (db *DB) Dialect() string { return db.d.name }

// SQL returns the underlying pool for other packages of the platform (job
// queue, rules) that keep their own tables in the same database. They must
// not touch this package's tables.
func (db *DB) SQL() *sql.DB { return db.sql }

// parseDSN picks the dialect and driver DSN for a store DSN.
func parseDSN(dsn string) (d *dialect, driverName, driverDSN string, err error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		if _, err := url.Parse(dsn); err != nil {
			return nil, "", "", ronghe.WrapError(ronghe.EINVALID, err, "metadata store: malformed PostgreSQL DSN")
		}
		return postgresDialect, "pgx", dsn, nil
	case dsn == "":
		return nil, "", "", ronghe.Errorf(ronghe.EINVALID, "metadata store: empty DSN")
	}
	path := strings.TrimPrefix(dsn, "sqlite:")
	if rest, ok := strings.CutPrefix(path, "//"); ok {
		path = rest // sqlite:///abs/path and sqlite://rel/path
	}
	path, rawQuery, _ := strings.Cut(path, "?")
	if path == "" {
		return nil, "", "", ronghe.Errorf(ronghe.EINVALID, "metadata store: SQLite DSN %q names no file", dsn)
	}
	if path == ":memory:" || strings.Contains(rawQuery, "mode=memory") {
		// Every pooled connection would see its own empty database.
		return nil, "", "", ronghe.Errorf(ronghe.EINVALID, "metadata store: in-memory SQLite is not supported; use a file (e.g. in a temporary directory)")
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, "", "", ronghe.WrapError(ronghe.EINVALID, err, "metadata store: malformed SQLite DSN parameters")
	}
	// The store relies on these; they override anything the caller set.
	for _, k := range []string{"_txlock", "_busy_timeout", "_timeout", "_journal_mode", "_journal", "_foreign_keys", "_fk"} {
		q.Del(k)
	}
	var pragmas []string
	for _, p := range q["_pragma"] {
		name := strings.ToLower(strings.TrimSpace(p))
		if strings.HasPrefix(name, "busy_timeout") || strings.HasPrefix(name, "journal_mode") || strings.HasPrefix(name, "foreign_keys") {
			continue
		}
		pragmas = append(pragmas, p)
	}
	hasSync := false
	for _, p := range pragmas {
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(p)), "synchronous") {
			hasSync = true
		}
	}
	pragmas = append(pragmas,
		fmt.Sprintf("busy_timeout(%d)", sqliteBusyTimeout.Milliseconds()),
		"journal_mode(WAL)",
		"foreign_keys(1)",
	)
	if !hasSync {
		// A receipt promises the submission is stored, so every commit must
		// survive a power loss; WAL's cheaper NORMAL would not guarantee it.
		pragmas = append(pragmas, "synchronous(FULL)")
	}
	q["_pragma"] = pragmas
	q.Set("_txlock", "immediate")
	return sqliteDialect, "sqlite", path + "?" + q.Encode(), nil
}

// querier is what *sql.DB, *sql.Conn and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// conn runs the store's ?-placeholder SQL on a querier in the DB's dialect.
type conn struct {
	d *dialect
	x querier
	// db and tx, when set, let the *Cached methods run statements prepared
	// once (stmtcache.go): db's cache, on the pool or inside tx.
	db *DB
	tx *sql.Tx
}

func (c conn) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return c.x.ExecContext(ctx, c.d.rebind(query), args...)
}

func (c conn) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return c.x.QueryContext(ctx, c.d.rebind(query), args...)
}

func (c conn) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return c.x.QueryRowContext(ctx, c.d.rebind(query), args...)
}

// pool returns a conn over the whole pool, for single statements.
func (db *DB) pool() conn { return conn{d: db.d, x: db.sql, db: db} }

// inTx runs fn in a write transaction (BEGIN IMMEDIATE on SQLite, READ
// COMMITTED on PostgreSQL) and commits it if fn returns nil. Errors that are
// not already *ronghe.Error are classified as database errors of op.
func (db *DB) inTx(ctx context.Context, op string, fn func(c conn) error) error {
	return db.inSQLTx(ctx, op, func(c conn, _ *sql.Tx) error { return fn(c) })
}

// inSQLTx is inTx for work that also needs the *sql.Tx itself.
func (db *DB) inSQLTx(ctx context.Context, op string, fn func(c conn, tx *sql.Tx) error) error {
	if db.d == sqliteDialect {
		db.writeMu.Lock()
		defer db.writeMu.Unlock()
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return db.dbErr(op, err)
	}
	if err := fn(conn{d: db.d, x: tx, db: db, tx: tx}, tx); err != nil {
		_ = tx.Rollback()
		return db.dbErr(op, err)
	}
	if err := tx.Commit(); err != nil {
		return db.dbErr(op, err)
	}
	return nil
}

// dbErr turns a database error into a *ronghe.Error: unique violations are
// conflicts, lost connections, timeouts and lock contention are
// unavailability the caller may retry, anything else is internal. An error
// that already is a *ronghe.Error is returned unchanged.
func (db *DB) dbErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var re *ronghe.Error
	if errors.As(err, &re) {
		return err
	}
	cause := fmt.Errorf("sqlstore: %s: %w", op, err)
	switch {
	case db.d.isUnique(err):
		return ronghe.WrapError(ronghe.ECONFLICT, cause, "metadata store: "+op+": the object already exists")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), db.d.isTransient(err):
		return ronghe.WrapError(ronghe.EUNAVAILABLE, cause, "metadata store: "+op+": database unavailable, try again")
	default:
		return ronghe.WrapError(ronghe.EINTERNAL, cause, "metadata store: "+op+" failed")
	}
}

// listLimit applies DefaultListLimit and MaxListLimit to a caller's limit.
func listLimit(limit int) (int, error) {
	switch {
	case limit < 0:
		return 0, ronghe.Errorf(ronghe.EINVALID, "limit must not be negative")
	case limit == 0:
		return DefaultListLimit, nil
	case limit > MaxListLimit:
		return MaxListLimit, nil
	}
	return limit, nil
}

// placeholders returns "?, ?, …" with n placeholders for an IN list.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}
