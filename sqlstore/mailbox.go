package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/ronghe/ronghe"
)

// errMessageNotFound is the one answer for a mailbox message that does not
// exist and one in another tenant's mailbox.
func errMessageNotFound(id string) error {
	return ronghe.Errorf(ronghe.ENOTFOUND, "message %s not found", id)
}

// PutMailbox puts a message in the tenant's mailbox, after every message
// already there. A zero CreatedAt means now and is written back into m. An ID
// already used, in any mailbox, gives ECONFLICT: message IDs are unique for
// ever.
func (db *DB) PutMailbox(ctx context.Context, m *ronghe.MailboxMessage) error {
	switch {
	case m == nil:
		return ronghe.Errorf(ronghe.EINVALID, "message is missing")
	case !validCode(m.ID):
		return ronghe.Errorf(ronghe.EINVALID, "message ID %q is not valid", m.ID)
	case !validCode(m.Tenant):
		return ronghe.Errorf(ronghe.EINVALID, "message recipient %q is not valid", m.Tenant)
	case m.Kind == "" || m.ContentType == "":
		return ronghe.Errorf(ronghe.EINVALID, "message %s needs a kind and a content type", m.ID)
	case len(m.Digest) == 0 || len(m.Envelope) == 0:
		return ronghe.Errorf(ronghe.EINVALID, "message %s is not signed", m.ID)
	case m.AckedAt != nil || len(m.AckSignature) != 0 || m.AckKeyID != "" || m.AckLogIndex != nil:
		return ronghe.Errorf(ronghe.EINVALID, "a new message cannot be acknowledged already")
	}
	logIndex, err := logIndexPtrArg(m.LogIndex)
	if err != nil {
		return err
	}
	rec := *m
	if rec.CreatedAt.IsZero() {
		rec.CreatedAt = time.Now()
	}
	rec.CreatedAt = normTime(rec.CreatedAt)
	err = db.inTx(ctx, "put mailbox message", func(c conn) error {
		// Taking the tenant's next sequence number locks its counter row
		// until commit, so numbers are handed out in commit order.
		var seq int64
		if err := c.queryRow(ctx, `INSERT INTO mailbox_counters (tenant, last_seq) VALUES (?, 1)
			ON CONFLICT (tenant) DO UPDATE SET last_seq = mailbox_counters.last_seq + 1
			RETURNING last_seq`, rec.Tenant).Scan(&seq); err != nil {
			return err
		}
		res, err := c.exec(ctx, `INSERT INTO mailbox
			(tenant, id, seq, kind, subject, refers_to, content_type, body, digest, envelope, created_at, log_index)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			rec.Tenant, rec.ID, seq, rec.Kind, rec.Subject, rec.RefersTo, rec.ContentType,
			bytesArg(rec.Body), rec.Digest, rec.Envelope, db.d.timeArg(rec.CreatedAt), logIndex)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return ronghe.Errorf(ronghe.ECONFLICT, "message %s already exists", rec.ID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	m.CreatedAt = rec.CreatedAt
	return nil
}

const mailboxCols = `id, tenant, kind, subject, refers_to, content_type, body, digest, envelope, created_at, log_index,
	acked_at, ack_signature, ack_key_id, ack_log_index`

// scanMessage reads one row of mailboxCols.
func scanMessage(row interface{ Scan(...any) error }) (*ronghe.MailboxMessage, error) {
	var m ronghe.MailboxMessage
	if err := row.Scan(&m.ID, &m.Tenant, &m.Kind, &m.Subject, &m.RefersTo, &m.ContentType, &m.Body, &m.Digest, &m.Envelope,
		timeCol{&m.CreatedAt}, nullUint64Col{&m.LogIndex},
		nullTimeCol{&m.AckedAt}, &m.AckSignature, &m.AckKeyID, nullUint64Col{&m.AckLogIndex}); err != nil {
		return nil, err
	}
	m.Body = nilIfEmpty(m.Body)
	m.AckSignature = nilIfEmpty(m.AckSignature)
	return &m, nil
}

// ListMailbox returns messages of the tenant's mailbox in the order they were
// put there. After is a message ID of the same mailbox (an unknown one gives
// ENOTFOUND); Unacked skips acknowledged messages; Limit 0 means
// DefaultListLimit and limits above MaxListLimit are capped.
func (db *DB) ListMailbox(ctx context.Context, tenant string, f ronghe.MailboxFilter) ([]*ronghe.MailboxMessage, error) {
	limit, err := listLimit(f.Limit)
	if err != nil {
		return nil, err
	}
	c := db.pool()
	q := `SELECT ` + mailboxCols + ` FROM mailbox WHERE tenant = ?`
	args := []any{tenant}
	if f.After != "" {
		var after int64
		err := c.queryRow(ctx, `SELECT seq FROM mailbox WHERE tenant = ? AND id = ?`, tenant, f.After).Scan(&after)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errMessageNotFound(f.After)
		} else if err != nil {
			return nil, db.dbErr("list mailbox", err)
		}
		q += ` AND seq > ?`
		args = append(args, after)
	}
	if f.Unacked {
		q += ` AND acked_at IS NULL`
	}
	q += ` ORDER BY seq LIMIT ?`
	args = append(args, limit)
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, db.dbErr("list mailbox", err)
	}
	defer rows.Close()
	var out []*ronghe.MailboxMessage
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, db.dbErr("list mailbox", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, db.dbErr("list mailbox", err)
	}
	return out, nil
}

// FindMailbox returns one message of the tenant's mailbox. A message in
// another tenant's mailbox is ENOTFOUND, exactly like a missing one.
func (db *DB) FindMailbox(ctx context.Context, tenant, id string) (*ronghe.MailboxMessage, error) {
	m, err := scanMessage(db.pool().queryRow(ctx, `SELECT `+mailboxCols+` FROM mailbox WHERE tenant = ? AND id = ?`, tenant, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errMessageNotFound(id)
	} else if err != nil {
		return nil, db.dbErr("find mailbox message", err)
	}
	return m, nil
}

// AckMailbox records the recipient's signed acknowledgment of a message,
// once: a second acknowledgment gives ECONFLICT, a message outside the
// tenant's mailbox ENOTFOUND.
func (db *DB) AckMailbox(ctx context.Context, tenant, id string, at time.Time, keyID string, sig []byte, logIndex uint64) error {
	switch {
	case at.IsZero():
		return ronghe.Errorf(ronghe.EINVALID, "acknowledgment time is required")
	case keyID == "" || len(sig) == 0:
		return ronghe.Errorf(ronghe.EINVALID, "an acknowledgment must be signed")
	}
	li, err := logIndexArg(logIndex)
	if err != nil {
		return err
	}
	return db.inTx(ctx, "acknowledge mailbox message", func(c conn) error {
		res, err := c.exec(ctx, `UPDATE mailbox SET acked_at = ?, ack_signature = ?, ack_key_id = ?, ack_log_index = ?
			WHERE tenant = ? AND id = ? AND acked_at IS NULL`, db.d.timeArg(at), sig, keyID, li, tenant, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 1 {
			return nil
		}
		var one int
		err = c.queryRow(ctx, `SELECT 1 FROM mailbox WHERE tenant = ? AND id = ?`, tenant, id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return errMessageNotFound(id)
		} else if err != nil {
			return err
		}
		return ronghe.Errorf(ronghe.ECONFLICT, "message %s is already acknowledged", id)
	})
}
