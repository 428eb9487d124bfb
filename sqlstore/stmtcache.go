package sqlstore

import (
	"context"
	"database/sql"
)

// prepared returns the pool-wide prepared statement for query (in the
// store's ?-form), preparing it on first use. database/sql prepares it again
// on each connection as needed; hot read paths (the flow report) save the
// parse and plan of every call.
func (db *DB) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := db.stmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := db.sql.PrepareContext(ctx, db.d.rebind(query))
	if err != nil {
		return nil, err
	}
	if prev, loaded := db.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// queryPrepared runs a cached prepared query on the pool.
func (db *DB) queryPrepared(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := db.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// rowScanner is the result of queryRowPrepared: a *sql.Row, or the error of
// preparing the statement.
type rowScanner interface{ Scan(dest ...any) error }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// queryRowPrepared runs a cached prepared single-row query on the pool.
func (db *DB) queryRowPrepared(ctx context.Context, query string, args ...any) rowScanner {
	st, err := db.prepared(ctx, query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

// stmt returns the cached prepared statement for query on c: the pool's, or
// bound to c's transaction (database/sql reuses the statement already
// prepared on the transaction's connection). It is nil — run the query
// unprepared — without a cache, on PostgreSQL (pgx caches statements per
// connection itself), and inside a transaction before the statement is
// cached: preparing on the pool needs a second connection while the
// transaction holds one, which may wait for ever when every connection is
// held by a transaction doing the same; the cache is filled in the
// background instead.
func (c conn) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if c.db == nil || c.d != sqliteDialect {
		return nil, nil
	}
	if c.tx == nil {
		return c.db.prepared(ctx, query)
	}
	st, ok := c.db.stmts.Load(query)
	if !ok {
		go func() { _, _ = c.db.prepared(context.Background(), query) }()
		return nil, nil
	}
	return c.tx.StmtContext(ctx, st.(*sql.Stmt)), nil
}

// execCached is exec with a statement prepared once; for fixed SQL on hot
// paths only (every distinct query stays in the cache).
func (c conn) execCached(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	} else if st == nil {
		return c.exec(ctx, query, args...)
	}
	return st.ExecContext(ctx, args...)
}

// queryCached is query with a statement prepared once (see execCached).
func (c conn) queryCached(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	} else if st == nil {
		return c.query(ctx, query, args...)
	}
	return st.QueryContext(ctx, args...)
}

// queryRowCached is queryRow with a statement prepared once (see
// execCached).
func (c conn) queryRowCached(ctx context.Context, query string, args ...any) rowScanner {
	st, err := c.stmt(ctx, query)
	if err != nil {
		return errRow{err}
	} else if st == nil {
		return c.queryRow(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}
