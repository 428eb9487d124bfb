package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/ronghe/ronghe"
)

var _ ronghe.PolicyStore = (*DB)(nil)

// CreateEnterprise onboards an enterprise; a USCC already stored is ECONFLICT.
func (db *DB) CreateEnterprise(ctx context.Context, e *ronghe.Enterprise) error {
	switch {
	case e == nil || !validCode(e.USCC):
		return ronghe.Errorf(ronghe.EINVALID, "enterprise USCC is not valid")
	case strings.TrimSpace(e.Name) == "":
		return ronghe.Errorf(ronghe.EINVALID, "enterprise name is required")
	case !e.Suite.Valid():
		return ronghe.Errorf(ronghe.EUNSUPPORTED, "cryptographic suite %q is not supported", e.Suite)
	case !validStatus(e.Status):
		return ronghe.Errorf(ronghe.EINVALID, "status %q is not valid", e.Status)
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = time.Now()
	}
	e.CreatedAt = normTime(e.CreatedAt)
	res, err := db.pool().exec(ctx, `INSERT INTO enterprises (uscc, name, suite, status, created_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, e.USCC, e.Name, string(e.Suite), e.Status, db.d.timeArg(e.CreatedAt))
	if err != nil {
		return db.dbErr("create enterprise", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return db.dbErr("create enterprise", err)
	} else if n == 0 {
		return ronghe.Errorf(ronghe.ECONFLICT, "enterprise %s is already onboarded", e.USCC)
	}
	return nil
}

// FindEnterprise returns an onboarded enterprise.
func (db *DB) FindEnterprise(ctx context.Context, uscc string) (*ronghe.Enterprise, error) {
	var e ronghe.Enterprise
	var suite string
	err := db.pool().queryRow(ctx, `SELECT uscc, name, suite, status, created_at FROM enterprises WHERE uscc = ?`, uscc).
		Scan(&e.USCC, &e.Name, &suite, &e.Status, timeCol{&e.CreatedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ronghe.Errorf(ronghe.ENOTFOUND, "enterprise not found")
	} else if err != nil {
		return nil, db.dbErr("find enterprise", err)
	}
	e.Suite = ronghe.Suite(suite)
	return &e, nil
}

const authCols = `id, enterprise, grantee, purpose, scope, not_before, not_after, document, digest, key_id,
	registered_at, log_index, revoked_at, revocation_document, revoke_log_index`

// PutAuthorization stores a registered authorization. The same document
// registered twice, or an ID reused, is ECONFLICT.
func (db *DB) PutAuthorization(ctx context.Context, a *ronghe.Authorization) error {
	switch {
	case a == nil || !validCode(a.ID) || !validCode(a.Enterprise) || !validCode(a.Grantee):
		return ronghe.Errorf(ronghe.EINVALID, "authorization identifiers are not valid")
	case len(a.Document) == 0 || len(a.Digest) == 0:
		return ronghe.Errorf(ronghe.EINVALID, "authorization document and digest are required")
	case !a.NotBefore.Before(a.NotAfter):
		return ronghe.Errorf(ronghe.EINVALID, "authorization ends before it starts")
	}
	li, err := logIndexArg(a.LogIndex)
	if err != nil {
		return err
	}
	_, err = db.pool().exec(ctx, `INSERT INTO authorizations (`+authCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL)`,
		a.ID, a.Enterprise, a.Grantee, a.Purpose, strings.Join(a.Scope, ","),
		db.d.timeArg(a.NotBefore), db.d.timeArg(a.NotAfter), a.Document, a.Digest, a.KeyID,
		db.d.timeArg(a.RegisteredAt), li)
	if err != nil {
		return db.dbErr("put authorization", err)
	}
	return nil
}

func scanAuthorization(row interface{ Scan(...any) error }) (*ronghe.Authorization, error) {
	var a ronghe.Authorization
	var scope string
	var li int64
	var revDoc []byte
	if err := row.Scan(&a.ID, &a.Enterprise, &a.Grantee, &a.Purpose, &scope, timeCol{&a.NotBefore}, timeCol{&a.NotAfter},
		&a.Document, &a.Digest, &a.KeyID, timeCol{&a.RegisteredAt}, &li, nullTimeCol{&a.RevokedAt}, &revDoc,
		nullUint64Col{&a.RevokeLogIndex}); err != nil {
		return nil, err
	}
	if scope != "" {
		a.Scope = strings.Split(scope, ",")
	}
	a.LogIndex = uint64(li)
	a.RevocationDocument = nilIfEmpty(revDoc)
	return &a, nil
}

// FindAuthorization returns an authorization by ID.
func (db *DB) FindAuthorization(ctx context.Context, id string) (*ronghe.Authorization, error) {
	a, err := scanAuthorization(db.queryRowPrepared(ctx, `SELECT `+authCols+` FROM authorizations WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ronghe.Errorf(ronghe.ENOTFOUND, "authorization not found")
	} else if err != nil {
		return nil, db.dbErr("find authorization", err)
	}
	return a, nil
}

// ListAuthorizations lists an enterprise's authorizations, newest first.
func (db *DB) ListAuthorizations(ctx context.Context, enterprise string) ([]*ronghe.Authorization, error) {
	rows, err := db.pool().query(ctx, `SELECT `+authCols+` FROM authorizations WHERE enterprise = ?
		ORDER BY registered_at DESC, id DESC`, enterprise)
	if err != nil {
		return nil, db.dbErr("list authorizations", err)
	}
	defer rows.Close()
	var out []*ronghe.Authorization
	for rows.Next() {
		a, err := scanAuthorization(rows)
		if err != nil {
			return nil, db.dbErr("list authorizations", err)
		}
		out = append(out, a)
	}
	return out, db.dbErr("list authorizations", rows.Err())
}

// RevokeAuthorization records the enterprise's revocation, once.
func (db *DB) RevokeAuthorization(ctx context.Context, enterprise, id string, at time.Time, document []byte, logIndex uint64) error {
	li, err := logIndexArg(logIndex)
	if err != nil {
		return err
	}
	return db.inTx(ctx, "revoke authorization", func(c conn) error {
		res, err := c.exec(ctx, `UPDATE authorizations SET revoked_at = ?, revocation_document = ?, revoke_log_index = ?
			WHERE enterprise = ? AND id = ? AND revoked_at IS NULL`, db.d.timeArg(at), bytesArg(document), li, enterprise, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 1 {
			return nil
		}
		var one int
		err = c.queryRow(ctx, `SELECT 1 FROM authorizations WHERE enterprise = ? AND id = ?`, enterprise, id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return ronghe.Errorf(ronghe.ENOTFOUND, "authorization not found")
		} else if err != nil {
			return err
		}
		return ronghe.Errorf(ronghe.ECONFLICT, "authorization %s is already revoked", id)
	})
}

// PutQueryRecord stores a query record. Records stored at the same time by
// many callers share a transaction (group commit); each call returns once
// its record is committed.
func (db *DB) PutQueryRecord(ctx context.Context, q *ronghe.QueryRecord) error {
	if q == nil || !validCode(q.ID) || !validCode(q.Enterprise) || !validCode(q.Institution) {
		return ronghe.Errorf(ronghe.EINVALID, "query record identifiers are not valid")
	}
	if _, err := logIndexArg(q.LogIndex); err != nil {
		return err
	}
	return db.queryRecords.put(ctx, q)
}

// writeQueryRecords inserts query records in one transaction.
func (db *DB) writeQueryRecords(ctx context.Context, qs []*ronghe.QueryRecord) error {
	rows := make([][]any, len(qs))
	for i, q := range qs {
		li, err := logIndexArg(q.LogIndex)
		if err != nil {
			return err
		}
		rows[i] = []any{q.ID, q.Enterprise, q.Institution, q.Purpose, q.Scope, q.AuthorizationID, q.Granted, q.Reason, db.d.timeArg(q.At), li}
	}
	insert := func(c conn) error {
		return insertRows(ctx, c, `INSERT INTO query_records (id, enterprise, institution, purpose, scope, authorization_id,
			granted, reason, at, log_index) VALUES `, 10, rows)
	}
	if db.d != sqliteDialect {
		return db.inTx(ctx, "put query record", insert)
	}
	if err := db.inTxNoAutoCheckpoint(ctx, "put query record", insert); err != nil {
		return err
	}
	db.queryRecords.wal.committed(db, len(qs))
	return nil
}

// ListQueryRecords lists the records about an enterprise, newest first.
func (db *DB) ListQueryRecords(ctx context.Context, enterprise string, limit int) ([]*ronghe.QueryRecord, error) {
	n, err := listLimit(limit)
	if err != nil {
		return nil, err
	}
	rows, err := db.pool().query(ctx, `SELECT id, enterprise, institution, purpose, scope, authorization_id, granted, reason, at, log_index
		FROM query_records WHERE enterprise = ? ORDER BY at DESC, id DESC LIMIT ?`, enterprise, n)
	if err != nil {
		return nil, db.dbErr("list query records", err)
	}
	defer rows.Close()
	var out []*ronghe.QueryRecord
	for rows.Next() {
		var q ronghe.QueryRecord
		var li int64
		if err := rows.Scan(&q.ID, &q.Enterprise, &q.Institution, &q.Purpose, &q.Scope, &q.AuthorizationID, &q.Granted,
			&q.Reason, timeCol{&q.At}, &li); err != nil {
			return nil, db.dbErr("list query records", err)
		}
		q.LogIndex = uint64(li)
		out = append(out, &q)
	}
	return out, db.dbErr("list query records", rows.Err())
}
