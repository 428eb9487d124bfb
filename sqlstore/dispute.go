package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/ronghe/ronghe"
)

var _ ronghe.DisputeStore = (*DB)(nil)

const disputeCols = `id, enterprise, institution, from_date, to_date, record_class, currency, reason, document, digest, key_id,
	registered_at, log_index, deadline, mailbox_id, status, resolution, resolved_at, resolve_log_index,
	correction_batch, correction_message_id, answer_outcome, answer_text, answer_document, answer_digest, answer_key_id, answer_at`

// validDate reports whether s looks like YYYY-MM-DD; the service checks the
// calendar, the store only keeps garbage out of range comparisons.
func validDate(s string) bool {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	for i, c := range s {
		if i != 4 && i != 7 && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// PutDispute stores a registered, open dispute. The same document stored
// twice, or an ID reused, is ECONFLICT.
func (db *DB) PutDispute(ctx context.Context, d *ronghe.Dispute) error {
	switch {
	case d == nil || !validCode(d.ID) || !validCode(d.Enterprise) || !validCode(d.Institution):
		return ronghe.Errorf(ronghe.EINVALID, "dispute identifiers are not valid")
	case !validDate(d.From) || !validDate(d.To) || d.From > d.To:
		return ronghe.Errorf(ronghe.EINVALID, "dispute dates are not a valid range")
	case d.RecordClass != ronghe.RecordClassTXN && d.RecordClass != ronghe.RecordClassBAL && d.RecordClass != ronghe.RecordClassACCT:
		return ronghe.Errorf(ronghe.EINVALID, "record class %q is not disputable", d.RecordClass)
	case len(d.Document) == 0 || len(d.Digest) == 0:
		return ronghe.Errorf(ronghe.EINVALID, "dispute document and digest are required")
	case d.Status != ronghe.DisputeOpen:
		return ronghe.Errorf(ronghe.EINVALID, "a dispute is stored open")
	case d.RegisteredAt.IsZero() || !d.RegisteredAt.Before(d.Deadline):
		return ronghe.Errorf(ronghe.EINVALID, "a dispute needs a registration time before its deadline")
	}
	li, err := logIndexArg(d.LogIndex)
	if err != nil {
		return err
	}
	_, err = db.pool().exec(ctx, `INSERT INTO disputes (id, enterprise, institution, from_date, to_date, record_class, currency,
		reason, document, digest, key_id, registered_at, log_index, deadline, mailbox_id, status)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.Enterprise, d.Institution, d.From, d.To, d.RecordClass, d.Currency, d.Reason, d.Document, d.Digest, d.KeyID,
		db.d.timeArg(d.RegisteredAt), li, db.d.timeArg(d.Deadline), d.MailboxID, d.Status)
	return db.dbErr("put dispute", err)
}

// SetDisputeDelivered records the mailbox message that delivered a dispute.
func (db *DB) SetDisputeDelivered(ctx context.Context, id, mailboxID string) error {
	if !validCode(mailboxID) {
		return ronghe.Errorf(ronghe.EINVALID, "mailbox message ID is not valid")
	}
	res, err := db.pool().exec(ctx, `UPDATE disputes SET mailbox_id = ? WHERE id = ?`, mailboxID, id)
	if err != nil {
		return db.dbErr("set dispute delivered", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return db.dbErr("set dispute delivered", err)
	} else if n == 0 {
		return ronghe.Errorf(ronghe.ENOTFOUND, "dispute not found")
	}
	return nil
}

func scanDispute(row interface{ Scan(...any) error }) (*ronghe.Dispute, error) {
	var d ronghe.Dispute
	var li int64
	var outcome, text, ansKey string
	var ansDoc, ansDigest []byte
	var ansAt *time.Time
	if err := row.Scan(&d.ID, &d.Enterprise, &d.Institution, &d.From, &d.To, &d.RecordClass, &d.Currency, &d.Reason,
		&d.Document, &d.Digest, &d.KeyID, timeCol{&d.RegisteredAt}, &li, timeCol{&d.Deadline}, &d.MailboxID, &d.Status,
		&d.Resolution, nullTimeCol{&d.ResolvedAt}, nullUint64Col{&d.ResolveLogIndex}, &d.CorrectionBatch,
		&d.CorrectionMessageID, &outcome, &text, &ansDoc, &ansDigest, &ansKey, nullTimeCol{&ansAt}); err != nil {
		return nil, err
	}
	d.LogIndex = uint64(li)
	if outcome != "" {
		d.Answer = &ronghe.DisputeAnswer{Outcome: outcome, Text: text, Document: nilIfEmpty(ansDoc), Digest: nilIfEmpty(ansDigest), KeyID: ansKey}
		if ansAt != nil {
			d.Answer.At = *ansAt
		}
	}
	return &d, nil
}

// FindDispute returns a dispute by ID.
func (db *DB) FindDispute(ctx context.Context, id string) (*ronghe.Dispute, error) {
	d, err := scanDispute(db.pool().queryRow(ctx, `SELECT `+disputeCols+` FROM disputes WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ronghe.Errorf(ronghe.ENOTFOUND, "dispute not found")
	} else if err != nil {
		return nil, db.dbErr("find dispute", err)
	}
	return d, nil
}

// ListDisputes lists the disputes f selects, newest first.
func (db *DB) ListDisputes(ctx context.Context, f ronghe.DisputeFilter) ([]*ronghe.Dispute, error) {
	n, err := listLimit(f.Limit)
	if err != nil {
		return nil, err
	}
	var where []string
	var args []any
	add := func(cond string, arg any) {
		where = append(where, cond)
		args = append(args, arg)
	}
	if f.Enterprise != "" {
		add("enterprise = ?", f.Enterprise)
	}
	if f.Institution != "" {
		add("institution = ?", f.Institution)
	}
	if f.Status != "" {
		add("status = ?", f.Status)
	}
	if !f.DeadlineBefore.IsZero() {
		add("deadline < ?", db.d.timeArg(f.DeadlineBefore))
	}
	if !f.RegisteredBefore.IsZero() {
		add("registered_at < ?", db.d.timeArg(f.RegisteredBefore))
	}
	if f.To != "" {
		// Overlap: the dispute starts on or before the range ends …
		add("from_date <= ?", f.To)
	}
	if f.From != "" {
		// … and ends on or after it starts.
		add("to_date >= ?", f.From)
	}
	q := `SELECT ` + disputeCols + ` FROM disputes`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY registered_at DESC, id DESC LIMIT ?`
	args = append(args, n)
	// The filters give a bounded set of statements: prepare each once.
	rows, err := db.queryPrepared(ctx, q, args...)
	if err != nil {
		return nil, db.dbErr("list disputes", err)
	}
	defer rows.Close()
	var out []*ronghe.Dispute
	for rows.Next() {
		d, err := scanDispute(rows)
		if err != nil {
			return nil, db.dbErr("list disputes", err)
		}
		out = append(out, d)
	}
	return out, db.dbErr("list disputes", rows.Err())
}

// ResolveDispute records the resolution of an open dispute, once.
func (db *DB) ResolveDispute(ctx context.Context, id string, r *ronghe.DisputeResolution) error {
	if r == nil || r.At.IsZero() {
		return ronghe.Errorf(ronghe.EINVALID, "a resolution needs its time")
	}
	li, err := logIndexArg(r.LogIndex)
	if err != nil {
		return err
	}
	var batch, msg, outcome, text, ansKey string
	var ansDoc, ansDigest []byte
	var ansAt any
	switch r.How {
	case ronghe.ResolvedByCorrection:
		if !validCode(r.CorrectionBatch) || !validCode(r.CorrectionMessageID) {
			return ronghe.Errorf(ronghe.EINVALID, "a correction resolution names its batch and submission")
		}
		batch, msg = r.CorrectionBatch, r.CorrectionMessageID
	case ronghe.ResolvedByAnswer:
		a := r.Answer
		if a == nil || (a.Outcome != ronghe.AnswerConfirmed && a.Outcome != ronghe.AnswerCorrected) || len(a.Document) == 0 || len(a.Digest) == 0 || a.At.IsZero() {
			return ronghe.Errorf(ronghe.EINVALID, "an answer resolution needs the signed answer, its outcome and time")
		}
		outcome, text, ansKey, ansDoc, ansDigest, ansAt = a.Outcome, a.Text, a.KeyID, a.Document, a.Digest, db.d.timeArg(a.At)
	default:
		return ronghe.Errorf(ronghe.EINVALID, "resolution %q is not known", r.How)
	}
	return db.inTx(ctx, "resolve dispute", func(c conn) error {
		res, err := c.exec(ctx, `UPDATE disputes SET status = ?, resolution = ?, resolved_at = ?, resolve_log_index = ?,
			correction_batch = ?, correction_message_id = ?, answer_outcome = ?, answer_text = ?, answer_document = ?,
			answer_digest = ?, answer_key_id = ?, answer_at = ?
			WHERE id = ? AND status = ?`,
			ronghe.DisputeResolved, r.How, db.d.timeArg(r.At), li, batch, msg, outcome, text, bytesArg(ansDoc), bytesArg(ansDigest),
			ansKey, ansAt, id, ronghe.DisputeOpen)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 1 {
			return nil
		}
		var one int
		err = c.queryRow(ctx, `SELECT 1 FROM disputes WHERE id = ?`, id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return ronghe.Errorf(ronghe.ENOTFOUND, "dispute not found")
		} else if err != nil {
			return err
		}
		return ronghe.Errorf(ronghe.ECONFLICT, "dispute %s is already resolved", id)
	})
}
