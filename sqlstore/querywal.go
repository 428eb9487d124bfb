package sqlstore

import (
	"context"
	"database/sql/driver"
	"fmt"
	"sync/atomic"
)

// Query records and SQLite's WAL checkpoints.
//
// SQLite copies its write-ahead log back into the database file (a
// checkpoint) inside the COMMIT that takes the log past wal_autocheckpoint
// pages (1000 by default): that commit returns only once the pages are
// written and the database file is synced, and the store's write queue
// (writeMu) waits behind it. A group commit of the ten or so query records
// one transparency-log batch releases writes about 22 log pages, so at 2,000
// flow reports a second one commit in ~45 paid for a checkpoint of 10–20 ms
// on this machine's disk (16 ms for 1,000 pages measured with sqlite3): its
// reports, and the next cohorts queued behind it, made the latency's tail.
//
// Query-record commits therefore turn the automatic checkpoint off on their
// connection, and after every ckptRows records a background checkpoint
// copies the log beside the writers, then — holding the write queue, so that
// nothing is appended meanwhile — copies the few pages committed during the
// first pass: SQLite starts the log over at the next write only once it has
// been copied completely, as after an automatic checkpoint. Durability is
// unchanged (every commit syncs its log pages first; a checkpoint only moves
// committed pages); other writers keep their automatic checkpoints.

// ckptRows is how many query records are committed between checkpoints:
// with 2–4 log pages a record (one page of the table, of the ID index and
// of the enterprise index each, shared when records are committed
// together), about SQLite's 1000-page default.
const ckptRows = 256

// walCheckpoint is the background checkpoint's state.
type walCheckpoint struct {
	rows    atomic.Int64 // records committed since the last checkpoint began
	running atomic.Bool
}

// committed counts n records committed and starts a checkpoint when due
// and none is running.
func (w *walCheckpoint) committed(db *DB, n int) {
	if w.rows.Add(int64(n)) < ckptRows || !w.running.CompareAndSwap(false, true) {
		return
	}
	w.rows.Store(0)
	go func() {
		defer w.running.Store(false)
		db.checkpointWAL(context.Background())
	}()
}

// checkpointWAL copies the WAL into the database file in two passive
// passes: beside the writers, then between two commits. Errors only leave
// the WAL longer until the next checkpoint, so they are not reported.
func (db *DB) checkpointWAL(ctx context.Context) {
	c, err := db.sql.Conn(ctx) // before the write queue: readers may hold every connection
	if err != nil {
		return
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
		return
	}
	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	_, _ = c.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
}

// inTxNoAutoCheckpoint is inTx on SQLite with the automatic checkpoint
// turned off for this transaction's commit (see above); the connection goes
// back to the pool with its setting restored.
func (db *DB) inTxNoAutoCheckpoint(ctx context.Context, op string, fn func(c conn) error) error {
	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	c, err := db.sql.Conn(ctx)
	if err != nil {
		return db.dbErr(op, err)
	}
	defer c.Close()
	var auto int
	if err := c.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&auto); err != nil {
		return db.dbErr(op, err)
	}
	if _, err := c.ExecContext(ctx, "PRAGMA wal_autocheckpoint = 0"); err != nil {
		return db.dbErr(op, err)
	}
	defer func() {
		if _, err := c.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf("PRAGMA wal_autocheckpoint = %d", auto)); err != nil {
			// Not back to the pool without its checkpoints.
			_ = c.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		return db.dbErr(op, err)
	}
	if err := fn(conn{d: db.d, x: tx}); err != nil {
		_ = tx.Rollback()
		return db.dbErr(op, err)
	}
	if err := tx.Commit(); err != nil {
		return db.dbErr(op, err)
	}
	return nil
}
