package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/ronghe/ronghe"
)

var _ ronghe.GovernanceStore = (*DB)(nil)

const qualityCols = `tenant, batch, bdate, seq, status, phase, done, total, attempts, last_error, outcome, problems,
	errors, warnings, records, error_records, expected_bal, l10, checks, failed_checks, content_digest,
	received_at, started_at, finished_at`

func scanQuality(row interface{ Scan(...any) error }) (*ronghe.BatchQuality, error) {
	var q ronghe.BatchQuality
	var problems string
	s := &q.Stats
	if err := row.Scan(&q.Tenant, &q.Batch, &q.BusinessDate, &q.Seq, &q.Status, &q.Phase, &q.Done, &q.Total, &q.Attempts,
		&q.LastError, &q.Outcome, &problems, &q.Errors, &q.Warnings, &s.Records, &s.ErrorRecords, &s.ExpectedBAL, &s.L10,
		&s.Checks, &s.FailedChecks, &q.ContentDigest, timeCol{&q.ReceivedAt}, nullTimeCol{&q.StartedAt},
		nullTimeCol{&q.FinishedAt}); err != nil {
		return nil, err
	}
	if problems != "" {
		if err := json.Unmarshal([]byte(problems), &q.Problems); err != nil {
			return nil, err
		}
	}
	return &q, nil
}

func validQuality(q *ronghe.BatchQuality) error {
	switch {
	case q == nil || !validCode(q.Tenant) || !validCode(q.Batch):
		return ronghe.Errorf(ronghe.EINVALID, "validation record identifiers are not valid")
	case len(q.BusinessDate) != 10 || q.Seq < 1:
		return ronghe.Errorf(ronghe.EINVALID, "validation record needs a business date and a seq")
	}
	return nil
}

func problemsArg(p []string) (string, error) {
	if len(p) == 0 {
		return "", nil
	}
	b, err := json.Marshal(p)
	return string(b), err
}

// BeginQuality records the start of an attempt to check a batch.
func (db *DB) BeginQuality(ctx context.Context, q *ronghe.BatchQuality) (*ronghe.BatchQuality, error) {
	if err := validQuality(q); err != nil {
		return nil, err
	}
	var out *ronghe.BatchQuality
	now := q.StartedAt
	if now == nil {
		t := time.Now()
		now = &t
	}
	err := db.inTx(ctx, "begin validation", func(c conn) error {
		cur, err := scanQuality(c.queryRow(ctx, `SELECT `+qualityCols+` FROM quality_batches WHERE tenant = ? AND batch = ?`, q.Tenant, q.Batch))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = c.exec(ctx, `INSERT INTO quality_batches (tenant, batch, bdate, seq, status, attempts, content_digest, received_at, started_at)
				VALUES (?, ?, ?, ?, 'running', 1, ?, ?, ?)`, q.Tenant, q.Batch, q.BusinessDate, q.Seq, q.ContentDigest,
				db.d.timeArg(q.ReceivedAt), db.d.timeArg(*now))
			if err != nil {
				return err
			}
		case err != nil:
			return err
		case cur.Status == ronghe.QualityDone:
			out = cur
			return nil
		default:
			if _, err := c.exec(ctx, `UPDATE quality_batches SET status = 'running', attempts = attempts + 1, phase = '', done = 0, total = 0
				WHERE tenant = ? AND batch = ?`, q.Tenant, q.Batch); err != nil {
				return err
			}
		}
		out, err = scanQuality(c.queryRow(ctx, `SELECT `+qualityCols+` FROM quality_batches WHERE tenant = ? AND batch = ?`, q.Tenant, q.Batch))
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SetQualityProgress records a running job's progress.
func (db *DB) SetQualityProgress(ctx context.Context, tenant, batch, phase string, done, total int) error {
	err := db.inTx(ctx, "record validation progress", func(c conn) error {
		_, err := c.exec(ctx, `UPDATE quality_batches SET phase = ?, done = ?, total = ?
			WHERE tenant = ? AND batch = ? AND status = 'running'`, phase, done, total, tenant, batch)
		return err
	})
	return err
}

// FailQuality records a failed attempt.
func (db *DB) FailQuality(ctx context.Context, tenant, batch, status, message string) error {
	if status != ronghe.QualityRetrying && status != ronghe.QualityFailed {
		return ronghe.Errorf(ronghe.EINVALID, "a failed attempt is %s or %s, not %q", ronghe.QualityRetrying, ronghe.QualityFailed, status)
	}
	return db.inTx(ctx, "record validation failure", func(c conn) error {
		_, err := c.exec(ctx, `UPDATE quality_batches SET status = ?, last_error = ?
			WHERE tenant = ? AND batch = ? AND status <> 'done'`, status, message, tenant, batch)
		return err
	})
}

// FindQuality returns a batch's validation record.
func (db *DB) FindQuality(ctx context.Context, tenant, batch string) (*ronghe.BatchQuality, error) {
	q, err := scanQuality(db.pool().queryRow(ctx, `SELECT `+qualityCols+` FROM quality_batches WHERE tenant = ? AND batch = ?`, tenant, batch))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ronghe.Errorf(ronghe.ENOTFOUND, "no validation record for batch %s", batch)
	} else if err != nil {
		return nil, db.dbErr("find validation record", err)
	}
	return q, nil
}

// ListQuality lists validation records by business date, tenant and seq.
func (db *DB) ListQuality(ctx context.Context, f ronghe.QualityFilter) ([]*ronghe.BatchQuality, error) {
	var where []string
	var args []any
	if f.Tenant != "" {
		where, args = append(where, "tenant = ?"), append(args, f.Tenant)
	}
	if f.From != "" {
		where, args = append(where, "bdate >= ?"), append(args, f.From)
	}
	if f.To != "" {
		where, args = append(where, "bdate <= ?"), append(args, f.To)
	}
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, f.Status)
	}
	q := `SELECT ` + qualityCols + ` FROM quality_batches`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := db.pool().query(ctx, q+" ORDER BY bdate, tenant, seq", args...)
	if err != nil {
		return nil, db.dbErr("list validation records", err)
	}
	defer rows.Close()
	var out []*ronghe.BatchQuality
	for rows.Next() {
		r, err := scanQuality(rows)
		if err != nil {
			return nil, db.dbErr("list validation records", err)
		}
		out = append(out, r)
	}
	return out, db.dbErr("list validation records", rows.Err())
}

// FirstBusinessDates returns each tenant's earliest checked business date.
func (db *DB) FirstBusinessDates(ctx context.Context) (map[string]string, error) {
	rows, err := db.pool().query(ctx, `SELECT tenant, min(bdate) FROM quality_batches
		WHERE status = 'done' AND outcome <> 'superseded' GROUP BY tenant`)
	if err != nil {
		return nil, db.dbErr("first business dates", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var t, d string
		if err := rows.Scan(&t, &d); err != nil {
			return nil, db.dbErr("first business dates", err)
		}
		out[t] = d
	}
	return out, db.dbErr("first business dates", rows.Err())
}

// uncheckedQuery lists a tenant's accepted submissions in a range of
// message IDs without a finished validation record. It reads every
// submission in the range; the index submissions_status (migration 32)
// covers that side, so the rows, which carry manifests and receipts, are
// not read.
const uncheckedQuery = `SELECT s.message_id FROM submissions s
		WHERE s.tenant = ? AND s.message_id >= ? AND s.message_id < ? AND s.status = 'accepted'
		AND NOT EXISTS (SELECT 1 FROM quality_batches q
			WHERE q.tenant = s.tenant AND q.batch = s.message_id AND q.status IN ('done', 'failed'))`

// lastCheckedDateQuery finds a tenant's latest date before a date with a
// finished check, on the index quality_batches_tenant_date (migration 32).
const lastCheckedDateQuery = `SELECT bdate FROM quality_batches
		WHERE bdate < ? AND tenant = ? AND status IN ('done', 'failed') ORDER BY bdate DESC LIMIT 1`

// UncheckedSubmissions returns the message IDs of tenant's accepted
// submissions without a done or failed validation record, named for dates
// from the latest date before upTo with a finished check to upTo.
//
// Batch names are <tenant>_<YYYYMMDD>_<seq>, so the dates are a range of
// message IDs on the primary key. Its bounds end in a date's digits
// ("<tenant>_<YYYYMMDD>"), which keeps the range right under collations that
// skip punctuation as well as in byte order.
func (db *DB) UncheckedSubmissions(ctx context.Context, tenant, upTo string) ([]string, error) {
	to, err := time.Parse(time.DateOnly, upTo)
	if err != nil {
		return nil, ronghe.Errorf(ronghe.EINVALID, "date %q is not YYYY-MM-DD", upTo)
	}
	// The tenant's date index, walked back from upTo, finds the date at once.
	var from sql.NullString
	err = db.pool().queryRow(ctx, lastCheckedDateQuery, upTo, tenant).Scan(&from)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, db.dbErr("unchecked submissions", err)
	}
	lo := tenant + "_"
	if from.Valid {
		f, err := time.Parse(time.DateOnly, from.String)
		if err != nil {
			return nil, db.dbErr("unchecked submissions", err)
		}
		lo += f.Format("20060102")
	}
	hi := tenant + "_" + to.AddDate(0, 0, 1).Format("20060102")
	rows, err := db.pool().query(ctx, uncheckedQuery, tenant, lo, hi)
	if err != nil {
		return nil, db.dbErr("unchecked submissions", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, db.dbErr("unchecked submissions", err)
		}
		out = append(out, id)
	}
	return out, db.dbErr("unchecked submissions", rows.Err())
}

// ApplyQuality applies a governance change atomically.
func (db *DB) ApplyQuality(ctx context.Context, ch *ronghe.QualityChange) error {
	if ch == nil {
		return nil
	}
	if ch.Quality != nil {
		if err := validQuality(ch.Quality); err != nil {
			return err
		}
	}
	return db.inTx(ctx, "apply governance change", func(c conn) error {
		if q := ch.Quality; q != nil {
			if err := db.putQuality(ctx, c, q); err != nil {
				return err
			}
		}
		for _, f := range ch.Findings {
			if !validCode(f.Tenant) || !validCode(f.Batch) || f.Rule == "" || f.Type == "" || f.Key == "" {
				return ronghe.Errorf(ronghe.EINVALID, "finding identity is not valid")
			}
			if _, err := c.exec(ctx, `INSERT INTO quality_findings (tenant, batch, rule, severity, rtype, rkey, field, message, source, ticket_id, found_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, f.Tenant, f.Batch, f.Rule, f.Severity, f.Type, f.Key,
				f.Field, f.Message, f.Source, f.TicketID, db.d.timeArg(f.FoundAt)); err != nil {
				return err
			}
		}
		for _, t := range ch.NewTickets {
			if err := db.insertTicket(ctx, c, t); err != nil {
				return err
			}
		}
		for _, t := range ch.Tickets {
			if err := db.updateTicket(ctx, c, t); err != nil {
				return err
			}
		}
		for _, s := range ch.NewSamples {
			if err := db.insertSample(ctx, c, s); err != nil {
				return err
			}
		}
		for _, s := range ch.Samples {
			if err := db.updateSample(ctx, c, s); err != nil {
				return err
			}
		}
		for _, m := range ch.Outbox {
			if !validCode(m.Tenant) || m.Kind == "" || m.ContentType == "" {
				return ronghe.Errorf(ronghe.EINVALID, "outbox message needs a tenant, kind and content type")
			}
			if err := c.queryRow(ctx, `INSERT INTO quality_outbox (tenant, kind, subject, refers_to, content_type, body, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, m.Tenant, m.Kind, m.Subject, m.RefersTo, m.ContentType, bytesArg(m.Body),
				db.d.timeArg(m.CreatedAt)).Scan(&m.ID); err != nil {
				return err
			}
		}
		return nil
	})
}

// putQuality inserts or replaces a validation record.
func (db *DB) putQuality(ctx context.Context, c conn, q *ronghe.BatchQuality) error {
	problems, err := problemsArg(q.Problems)
	if err != nil {
		return err
	}
	s := q.Stats
	args := []any{q.BusinessDate, q.Seq, q.Status, q.Phase, q.Done, q.Total, q.Attempts, q.LastError, q.Outcome, problems,
		q.Errors, q.Warnings, s.Records, s.ErrorRecords, s.ExpectedBAL, s.L10, s.Checks, s.FailedChecks, q.ContentDigest,
		db.d.timeArg(q.ReceivedAt), db.d.timePtrArg(q.StartedAt), db.d.timePtrArg(q.FinishedAt)}
	res, err := c.exec(ctx, `UPDATE quality_batches SET bdate = ?, seq = ?, status = ?, phase = ?, done = ?, total = ?, attempts = ?,
		last_error = ?, outcome = ?, problems = ?, errors = ?, warnings = ?, records = ?, error_records = ?, expected_bal = ?, l10 = ?,
		checks = ?, failed_checks = ?, content_digest = ?, received_at = ?, started_at = ?, finished_at = ?
		WHERE tenant = ? AND batch = ?`, append(args, q.Tenant, q.Batch)...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 1 {
		return nil
	}
	_, err = c.exec(ctx, `INSERT INTO quality_batches (bdate, seq, status, phase, done, total, attempts, last_error, outcome, problems,
		errors, warnings, records, error_records, expected_bal, l10, checks, failed_checks, content_digest, received_at, started_at,
		finished_at, tenant, batch) VALUES (`+placeholders(24)+`)`, append(args, q.Tenant, q.Batch)...)
	return err
}

// ListFindings lists the findings about one batch.
func (db *DB) ListFindings(ctx context.Context, tenant, batch string) ([]*ronghe.QualityFinding, error) {
	rows, err := db.pool().query(ctx, `SELECT tenant, batch, rule, severity, rtype, rkey, field, message, source, ticket_id, found_at
		FROM quality_findings WHERE tenant = ? AND batch = ? ORDER BY rule, rtype, rkey`, tenant, batch)
	if err != nil {
		return nil, db.dbErr("list findings", err)
	}
	defer rows.Close()
	var out []*ronghe.QualityFinding
	for rows.Next() {
		var f ronghe.QualityFinding
		if err := rows.Scan(&f.Tenant, &f.Batch, &f.Rule, &f.Severity, &f.Type, &f.Key, &f.Field, &f.Message, &f.Source,
			&f.TicketID, timeCol{&f.FoundAt}); err != nil {
			return nil, db.dbErr("list findings", err)
		}
		out = append(out, &f)
	}
	return out, db.dbErr("list findings", rows.Err())
}

const ticketCols = `id, tenant, bdate, rule, severity, rtype, rkey, field, message, state, resolution, first_batch, last_batch,
	occurrences, opened_at, due_date, due_at, overdue_at, closed_at, closed_by, answer, answer_note, version`

func scanTicket(row interface{ Scan(...any) error }) (*ronghe.Ticket, error) {
	var t ronghe.Ticket
	var answer []byte
	if err := row.Scan(&t.ID, &t.Tenant, &t.BusinessDate, &t.Rule, &t.Severity, &t.Type, &t.Key, &t.Field, &t.Message, &t.State,
		&t.Resolution, &t.FirstBatch, &t.LastBatch, &t.Occurrences, timeCol{&t.OpenedAt}, &t.DueDate, timeCol{&t.DueAt},
		nullTimeCol{&t.OverdueAt}, nullTimeCol{&t.ClosedAt}, &t.ClosedBy, &answer, &t.AnswerNote, &t.Version); err != nil {
		return nil, err
	}
	t.Answer = nilIfEmpty(answer)
	return &t, nil
}

func validTicket(t *ronghe.Ticket) error {
	switch {
	case t == nil || !validCode(t.ID) || !validCode(t.Tenant):
		return ronghe.Errorf(ronghe.EINVALID, "ticket identifiers are not valid")
	case t.Rule == "" || t.Type == "" || t.Key == "" || len(t.BusinessDate) != 10:
		return ronghe.Errorf(ronghe.EINVALID, "ticket %s lacks its finding identity", t.ID)
	case t.State != ronghe.TicketOpen && t.State != ronghe.TicketOverdue && t.State != ronghe.TicketClosed:
		return ronghe.Errorf(ronghe.EINVALID, "ticket state %q is not valid", t.State)
	}
	return nil
}

func (db *DB) ticketArgs(t *ronghe.Ticket) []any {
	return []any{t.Tenant, t.BusinessDate, t.Rule, t.Severity, t.Type, t.Key, t.Field, t.Message, t.State, t.Resolution,
		t.FirstBatch, t.LastBatch, t.Occurrences, db.d.timeArg(t.OpenedAt), t.DueDate, db.d.timeArg(t.DueAt),
		db.d.timePtrArg(t.OverdueAt), db.d.timePtrArg(t.ClosedAt), t.ClosedBy, bytesArg(t.Answer), t.AnswerNote, t.Version}
}

func (db *DB) insertTicket(ctx context.Context, c conn, t *ronghe.Ticket) error {
	if err := validTicket(t); err != nil {
		return err
	}
	if t.Version != 1 {
		return ronghe.Errorf(ronghe.EINVALID, "a new ticket has version 1")
	}
	_, err := c.exec(ctx, `INSERT INTO quality_tickets (tenant, bdate, rule, severity, rtype, rkey, field, message, state, resolution,
		first_batch, last_batch, occurrences, opened_at, due_date, due_at, overdue_at, closed_at, closed_by, answer, answer_note,
		version, id) VALUES (`+placeholders(23)+`)`, append(db.ticketArgs(t), t.ID)...)
	if err != nil && db.d.isUnique(err) {
		return ronghe.WrapError(ronghe.ECONFLICT, err, "ticket "+t.ID+" or an active ticket of its finding exists")
	}
	return err
}

func (db *DB) updateTicket(ctx context.Context, c conn, t *ronghe.Ticket) error {
	if err := validTicket(t); err != nil {
		return err
	}
	res, err := c.exec(ctx, `UPDATE quality_tickets SET tenant = ?, bdate = ?, rule = ?, severity = ?, rtype = ?, rkey = ?, field = ?,
		message = ?, state = ?, resolution = ?, first_batch = ?, last_batch = ?, occurrences = ?, opened_at = ?, due_date = ?, due_at = ?,
		overdue_at = ?, closed_at = ?, closed_by = ?, answer = ?, answer_note = ?, version = ?
		WHERE id = ? AND tenant = ? AND version = ?`, append(db.ticketArgs(t), t.ID, t.Tenant, t.Version-1)...)
	if err != nil {
		if db.d.isUnique(err) {
			return ronghe.WrapError(ronghe.ECONFLICT, err, "an active ticket of the finding of "+t.ID+" exists")
		}
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n != 1 {
		return ronghe.Errorf(ronghe.ECONFLICT, "ticket %s changed meanwhile", t.ID)
	}
	return nil
}

// FindTicket returns one of tenant's tickets.
func (db *DB) FindTicket(ctx context.Context, tenant, id string) (*ronghe.Ticket, error) {
	t, err := scanTicket(db.pool().queryRow(ctx, `SELECT `+ticketCols+` FROM quality_tickets WHERE tenant = ? AND id = ?`, tenant, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ronghe.Errorf(ronghe.ENOTFOUND, "ticket %s not found", id)
	} else if err != nil {
		return nil, db.dbErr("find ticket", err)
	}
	return t, nil
}

// ListTickets lists tickets by ID.
func (db *DB) ListTickets(ctx context.Context, f ronghe.TicketFilter) ([]*ronghe.Ticket, error) {
	n, err := listLimit(f.Limit)
	if err != nil {
		return nil, err
	}
	var where []string
	var args []any
	if f.Tenant != "" {
		where, args = append(where, "tenant = ?"), append(args, f.Tenant)
	}
	if len(f.States) > 0 {
		where = append(where, "state IN ("+placeholders(len(f.States))+")")
		for _, s := range f.States {
			args = append(args, s)
		}
	}
	if f.BusinessDate != "" {
		where, args = append(where, "bdate = ?"), append(args, f.BusinessDate)
	}
	if f.DueBefore != nil {
		where, args = append(where, "due_at <= ?"), append(args, db.d.timeArg(*f.DueBefore))
	}
	if f.After != "" {
		where, args = append(where, "id > ?"), append(args, f.After)
	}
	q := `SELECT ` + ticketCols + ` FROM quality_tickets`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	return db.tickets(ctx, "list tickets", q+" ORDER BY id LIMIT ?", append(args, n)...)
}

func (db *DB) tickets(ctx context.Context, op, q string, args ...any) ([]*ronghe.Ticket, error) {
	rows, err := db.pool().query(ctx, q, args...)
	if err != nil {
		return nil, db.dbErr(op, err)
	}
	defer rows.Close()
	var out []*ronghe.Ticket
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return nil, db.dbErr(op, err)
		}
		out = append(out, t)
	}
	return out, db.dbErr(op, rows.Err())
}

// ActiveTickets returns the open and overdue tickets of a tenant and date.
func (db *DB) ActiveTickets(ctx context.Context, tenant, businessDate string) ([]*ronghe.Ticket, error) {
	return db.tickets(ctx, "list active tickets", `SELECT `+ticketCols+` FROM quality_tickets
		WHERE tenant = ? AND bdate = ? AND state IN ('open', 'overdue') ORDER BY id`, tenant, businessDate)
}

// ConfirmedTickets returns the tickets of a tenant and date closed by a
// confirmation.
func (db *DB) ConfirmedTickets(ctx context.Context, tenant, businessDate string) ([]*ronghe.Ticket, error) {
	return db.tickets(ctx, "list confirmed tickets", `SELECT `+ticketCols+` FROM quality_tickets
		WHERE tenant = ? AND bdate = ? AND state = 'closed' AND resolution = 'confirmed' ORDER BY id`, tenant, businessDate)
}

// CountTickets counts tickets per tenant and state.
func (db *DB) CountTickets(ctx context.Context) ([]ronghe.TicketCount, error) {
	rows, err := db.pool().query(ctx, `SELECT tenant, state, count(*) FROM quality_tickets GROUP BY tenant, state ORDER BY tenant, state`)
	if err != nil {
		return nil, db.dbErr("count tickets", err)
	}
	defer rows.Close()
	var out []ronghe.TicketCount
	for rows.Next() {
		var c ronghe.TicketCount
		if err := rows.Scan(&c.Tenant, &c.State, &c.Count); err != nil {
			return nil, db.dbErr("count tickets", err)
		}
		out = append(out, c)
	}
	return out, db.dbErr("count tickets", rows.Err())
}

const sampleCols = `tenant, batch, seed, confidence, tolerable_rate, population, units, rows_drawn, status, requested_at, due_date, due_at,
	answer, answered_at, mismatches, upper_bound, reason, decided_at, version`

func scanSample(row interface{ Scan(...any) error }) (*ronghe.Sample, error) {
	var s ronghe.Sample
	var drawn string
	if err := row.Scan(&s.Tenant, &s.Batch, &s.Seed, &s.Confidence, &s.TolerableRate, &s.Population, &s.Units, &drawn, &s.Status,
		timeCol{&s.RequestedAt}, &s.DueDate, timeCol{&s.DueAt}, &s.Answer, nullTimeCol{&s.AnsweredAt}, &s.Mismatches,
		&s.UpperBound, &s.Reason, nullTimeCol{&s.DecidedAt}, &s.Version); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(drawn), &s.Rows); err != nil {
		return nil, err
	}
	return &s, nil
}

func (db *DB) sampleArgs(s *ronghe.Sample) ([]any, error) {
	switch {
	case s == nil || !validCode(s.Tenant) || !validCode(s.Batch):
		return nil, ronghe.Errorf(ronghe.EINVALID, "sample identifiers are not valid")
	case s.Status == "":
		return nil, ronghe.Errorf(ronghe.EINVALID, "sample status is required")
	}
	rows := s.Rows
	if rows == nil {
		rows = []ronghe.SampleRow{}
	}
	drawn, err := json.Marshal(rows)
	if err != nil {
		return nil, err
	}
	return []any{s.Seed, s.Confidence, s.TolerableRate, s.Population, s.Units, string(drawn), s.Status, db.d.timeArg(s.RequestedAt),
		s.DueDate, db.d.timeArg(s.DueAt), s.Answer, db.d.timePtrArg(s.AnsweredAt), s.Mismatches, s.UpperBound, s.Reason,
		db.d.timePtrArg(s.DecidedAt), s.Version}, nil
}

func (db *DB) insertSample(ctx context.Context, c conn, s *ronghe.Sample) error {
	args, err := db.sampleArgs(s)
	if err != nil {
		return err
	}
	if s.Version != 1 {
		return ronghe.Errorf(ronghe.EINVALID, "a new sample has version 1")
	}
	_, err = c.exec(ctx, `INSERT INTO quality_samples (seed, confidence, tolerable_rate, population, units, rows_drawn, status,
		requested_at, due_date, due_at, answer, answered_at, mismatches, upper_bound, reason, decided_at, version, tenant, batch)
		VALUES (`+placeholders(19)+`)`, append(args, s.Tenant, s.Batch)...)
	if err != nil && db.d.isUnique(err) {
		return ronghe.WrapError(ronghe.ECONFLICT, err, "batch "+s.Batch+" already has a sample")
	}
	return err
}

func (db *DB) updateSample(ctx context.Context, c conn, s *ronghe.Sample) error {
	args, err := db.sampleArgs(s)
	if err != nil {
		return err
	}
	res, err := c.exec(ctx, `UPDATE quality_samples SET seed = ?, confidence = ?, tolerable_rate = ?, population = ?, units = ?, rows_drawn = ?,
		status = ?, requested_at = ?, due_date = ?, due_at = ?, answer = ?, answered_at = ?, mismatches = ?, upper_bound = ?, reason = ?,
		decided_at = ?, version = ? WHERE tenant = ? AND batch = ? AND version = ?`, append(args, s.Tenant, s.Batch, s.Version-1)...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n != 1 {
		return ronghe.Errorf(ronghe.ECONFLICT, "the sample of %s changed meanwhile", s.Batch)
	}
	return nil
}

// FindSample returns a batch's sample.
func (db *DB) FindSample(ctx context.Context, tenant, batch string) (*ronghe.Sample, error) {
	s, err := scanSample(db.pool().queryRow(ctx, `SELECT `+sampleCols+` FROM quality_samples WHERE tenant = ? AND batch = ?`, tenant, batch))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ronghe.Errorf(ronghe.ENOTFOUND, "no sample of batch %s", batch)
	} else if err != nil {
		return nil, db.dbErr("find sample", err)
	}
	return s, nil
}

// ListSamples lists samples by due time.
func (db *DB) ListSamples(ctx context.Context, f ronghe.SampleFilter) ([]*ronghe.Sample, error) {
	n, err := listLimit(f.Limit)
	if err != nil {
		return nil, err
	}
	var where []string
	var args []any
	if f.Tenant != "" {
		where, args = append(where, "tenant = ?"), append(args, f.Tenant)
	}
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, f.Status)
	}
	if f.DueBefore != nil {
		where, args = append(where, "due_at <= ?"), append(args, db.d.timeArg(*f.DueBefore))
	}
	q := `SELECT ` + sampleCols + ` FROM quality_samples`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := db.pool().query(ctx, q+" ORDER BY due_at, tenant, batch LIMIT ?", append(args, n)...)
	if err != nil {
		return nil, db.dbErr("list samples", err)
	}
	defer rows.Close()
	var out []*ronghe.Sample
	for rows.Next() {
		s, err := scanSample(rows)
		if err != nil {
			return nil, db.dbErr("list samples", err)
		}
		out = append(out, s)
	}
	return out, db.dbErr("list samples", rows.Err())
}

const outboxCols = `id, tenant, kind, subject, refers_to, content_type, body, created_at, message_id, delivered_at`

func scanOutbox(row interface{ Scan(...any) error }) (*ronghe.OutboxMessage, error) {
	var m ronghe.OutboxMessage
	var body []byte
	var msgID sql.NullString
	if err := row.Scan(&m.ID, &m.Tenant, &m.Kind, &m.Subject, &m.RefersTo, &m.ContentType, &body, timeCol{&m.CreatedAt},
		&msgID, nullTimeCol{&m.DeliveredAt}); err != nil {
		return nil, err
	}
	m.Body = nilIfEmpty(body)
	m.MessageID = msgID.String
	return &m, nil
}

// ClaimOutbox reserves undelivered messages for delivery until the given
// time.
func (db *DB) ClaimOutbox(ctx context.Context, ids []int64, now, until time.Time, limit int) ([]*ronghe.OutboxMessage, error) {
	n, err := listLimit(limit)
	if err != nil {
		return nil, err
	}
	var out []*ronghe.OutboxMessage
	err = db.inTx(ctx, "claim outbox", func(c conn) error {
		q := `SELECT ` + outboxCols + ` FROM quality_outbox WHERE delivered_at IS NULL AND (claimed_until IS NULL OR claimed_until <= ?)`
		args := []any{db.d.timeArg(now)}
		if len(ids) > 0 {
			q += " AND id IN (" + placeholders(len(ids)) + ")"
			for _, id := range ids {
				args = append(args, id)
			}
		}
		q += " ORDER BY id LIMIT ?"
		if db.d.name == DialectPostgres {
			q += " FOR UPDATE SKIP LOCKED"
		}
		rows, err := c.query(ctx, q, append(args, n)...)
		if err != nil {
			return err
		}
		for rows.Next() {
			m, err := scanOutbox(rows)
			if err != nil {
				rows.Close()
				return err
			}
			out = append(out, m)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for _, m := range out {
			if _, err := c.exec(ctx, `UPDATE quality_outbox SET claimed_until = ? WHERE id = ?`, db.d.timeArg(until), m.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// OutboxDelivered records a delivered message.
func (db *DB) OutboxDelivered(ctx context.Context, id int64, messageID string, at time.Time) error {
	return db.inTx(ctx, "record outbox delivery", func(c conn) error {
		res, err := c.exec(ctx, `UPDATE quality_outbox SET message_id = ?, delivered_at = ?, claimed_until = NULL
			WHERE id = ? AND delivered_at IS NULL`, messageID, db.d.timeArg(at), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return ronghe.Errorf(ronghe.ECONFLICT, "outbox message %d is delivered already or unknown", id)
		}
		return nil
	})
}

// ListOutbox lists the messages queued about one submission of a tenant.
func (db *DB) ListOutbox(ctx context.Context, tenant, refersTo string) ([]*ronghe.OutboxMessage, error) {
	rows, err := db.pool().query(ctx, `SELECT `+outboxCols+` FROM quality_outbox WHERE tenant = ? AND refers_to = ? ORDER BY id`, tenant, refersTo)
	if err != nil {
		return nil, db.dbErr("list outbox", err)
	}
	defer rows.Close()
	var out []*ronghe.OutboxMessage
	for rows.Next() {
		m, err := scanOutbox(rows)
		if err != nil {
			return nil, db.dbErr("list outbox", err)
		}
		out = append(out, m)
	}
	return out, db.dbErr("list outbox", rows.Err())
}
