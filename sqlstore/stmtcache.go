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
