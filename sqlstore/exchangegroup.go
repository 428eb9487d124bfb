package sqlstore

import (
	"context"
	"database/sql"
)

// subWrite is one submission write (a manifest's registration, an
// acceptance) as it runs inside a transaction: fn must use the ctx and conn
// it is given, set its results afresh each time it runs (a failed group is
// run again row by row), and record what it accepts in acc.
type subWrite struct {
	op string
	fn func(ctx context.Context, c conn, acc *acceptedSubs) error
}

// acceptedSubs lists the submissions a transaction accepts, for the
// OnAccept hooks.
type acceptedSubs struct{ tenants, messageIDs []string }

func (a *acceptedSubs) add(tenant, messageID string) {
	a.tenants = append(a.tenants, tenant)
	a.messageIDs = append(a.messageIDs, messageID)
}

// writeSubmission runs fn in a write transaction. On SQLite, which has one
// writer and pays an fsync per commit, the writes of concurrent callers
// share transactions (groupCommit: one BEGIN, one COMMIT and one River
// insert for all the acceptances in it); each caller still returns only
// once its own write is committed or has failed, alone. On PostgreSQL every
// call is its own transaction.
func (db *DB) writeSubmission(ctx context.Context, op string, fn func(ctx context.Context, c conn, acc *acceptedSubs) error) error {
	w := &subWrite{op: op, fn: fn}
	if db.d == sqliteDialect {
		return db.subWrites.put(ctx, w)
	}
	return db.writeSubmissions(ctx, []*subWrite{w})
}

// writeSubmissions runs ws in one transaction, then the accept hook for
// every submission they accepted.
func (db *DB) writeSubmissions(ctx context.Context, ws []*subWrite) error {
	op := "write submissions"
	if len(ws) == 1 {
		op = ws[0].op
	}
	return db.inSQLTx(ctx, op, func(c conn, tx *sql.Tx) error {
		var acc acceptedSubs
		for _, w := range ws {
			if err := w.fn(ctx, c, &acc); err != nil {
				return err
			}
		}
		if len(acc.tenants) == 0 || db.onAcceptMany == nil {
			return nil
		}
		return db.onAcceptMany(ctx, tx, acc.tenants, acc.messageIDs)
	})
}
