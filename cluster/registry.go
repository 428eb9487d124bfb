package cluster

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// roleLog is the cluster_leaders row of the transparency log writer.
const roleLog = "tlog"

// schemaSQL creates the registry. It lives in the store's database, in the
// current schema, beside sqlstore's tables (which this package never
// touches).
const schemaSQL = `CREATE TABLE IF NOT EXISTS cluster_leaders (
	role        text PRIMARY KEY,
	term        bigint NOT NULL,
	node        text NOT NULL,
	addr        text NOT NULL,
	log_size    bigint NOT NULL DEFAULT 0,
	checkpoint  bytea,
	updated_at  timestamptz NOT NULL
)`

// registry is where the leader of a role announces itself: a row per role
// holding the current term, the leading node, its internal address (empty
// while it is still opening the log, or after it resigned) and the largest
// published checkpoint a leader recorded.
type registry struct {
	db *sql.DB
}

// leaderRow is one row of cluster_leaders.
type leaderRow struct {
	Term       int64
	Node       string
	Addr       string
	Checkpoint []byte
}

// ensure creates the table. Concurrent CREATE TABLE IF NOT EXISTS can fail
// in PostgreSQL when two sessions race, so creation is serialised by a
// transaction-scoped advisory lock of the current schema.
func (r *registry) ensure(ctx context.Context) error {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext(coalesce(current_schema(), '')), hashtext('ronghe/cluster/schema'))`); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, schemaSQL); err != nil {
		return err
	}
	return tx.Commit()
}

// claim makes node the leader of the log in a new term, with no address yet,
// and returns the term and the checkpoint the previous leaders recorded (nil
// if none). Only the holder of the advisory lock calls it.
func (r *registry) claim(ctx context.Context, node string) (term int64, recorded []byte, err error) {
	err = r.db.QueryRowContext(ctx, `INSERT INTO cluster_leaders (role, term, node, addr, updated_at)
		VALUES ($1, 1, $2, '', now())
		ON CONFLICT (role) DO UPDATE SET term = cluster_leaders.term + 1, node = EXCLUDED.node, addr = '', updated_at = now()
		RETURNING term, checkpoint`, roleLog, node).Scan(&term, &recorded)
	return term, recorded, err
}

// publish writes the leader's internal address; ok is false if node no
// longer holds term.
func (r *registry) publish(ctx context.Context, node string, term int64, addr string) (ok bool, err error) {
	res, err := r.db.ExecContext(ctx, `UPDATE cluster_leaders SET addr = $1, updated_at = now()
		WHERE role = $2 AND term = $3 AND node = $4`, addr, roleLog, term, node)
	return affected(res, err)
}

// heartbeat confirms that node still holds term and, when checkpoint is not
// nil, records it if it is larger than the one recorded. ok is false if
// another node has claimed a newer term.
func (r *registry) heartbeat(ctx context.Context, node string, term int64, checkpoint []byte, size uint64) (ok bool, err error) {
	var res sql.Result
	if checkpoint == nil {
		res, err = r.db.ExecContext(ctx, `UPDATE cluster_leaders SET updated_at = now()
			WHERE role = $1 AND term = $2 AND node = $3`, roleLog, term, node)
	} else {
		if size > 1<<62 {
			return false, fmt.Errorf("cluster: log size %d out of range", size)
		}
		res, err = r.db.ExecContext(ctx, `UPDATE cluster_leaders SET updated_at = now(),
			checkpoint = CASE WHEN $1 > log_size THEN $2 ELSE checkpoint END,
			log_size = GREATEST(log_size, $1)
			WHERE role = $3 AND term = $4 AND node = $5`, int64(size), checkpoint, roleLog, term, node)
	}
	return affected(res, err)
}

// resign clears the address of a term node held, so that followers stop
// calling it; it does nothing if a newer term was claimed.
func (r *registry) resign(ctx context.Context, node string, term int64) error {
	_, err := r.db.ExecContext(ctx, `UPDATE cluster_leaders SET addr = '', updated_at = now()
		WHERE role = $1 AND term = $2 AND node = $3`, roleLog, term, node)
	return err
}

// leader returns the log's row; found is false before any node ever led.
func (r *registry) leader(ctx context.Context) (row leaderRow, found bool, err error) {
	err = r.db.QueryRowContext(ctx, `SELECT term, node, addr, checkpoint FROM cluster_leaders WHERE role = $1`, roleLog).
		Scan(&row.Term, &row.Node, &row.Addr, &row.Checkpoint)
	if errors.Is(err, sql.ErrNoRows) {
		return leaderRow{}, false, nil
	}
	return row, err == nil, err
}

func affected(res sql.Result, err error) (bool, error) {
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
