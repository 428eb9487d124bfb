package ronghe

import (
	"context"
	"time"
)

// Record classes an enterprise may dispute: the RRS-1 record types a flow
// report is computed from.
const (
	// RecordClassTXN disputes transactions (inflow, outflow, counts,
	// payroll/tax/utilities, counterparties).
	RecordClassTXN = "TXN"
	// RecordClassBAL disputes daily balances (month-end and average daily
	// balance).
	RecordClassBAL = "BAL"
	// RecordClassACCT disputes the account master (which accounts exist,
	// their types and dates).
	RecordClassACCT = "ACCT"
)

// Dispute statuses. A dispute is open from registration until a correction
// batch or the institution's signed answer resolves it; an open dispute past
// its deadline is overdue (Dispute.Overdue), which is not a stored status but
// a fact about the time.
const (
	DisputeOpen     = "open"
	DisputeResolved = "resolved"
)

// How a dispute was resolved.
const (
	// ResolvedByCorrection: a correction batch (seq > 1) of the disputed
	// institution for a business date the dispute covers was applied.
	ResolvedByCorrection = "correction"
	// ResolvedByAnswer: the institution's signed answer.
	ResolvedByAnswer = "answer"
)

// Outcomes a reporting institution may give in its answer.
const (
	// AnswerConfirmed: the institution checked its records and stands by the
	// reported data; the answer explains why.
	AnswerConfirmed = "confirmed"
	// AnswerCorrected: the institution found the data wrong and has
	// corrected it (the answer says how, e.g. naming the correction batch).
	AnswerCorrected = "corrected"
)

// Dispute is an enterprise's objection (异议, RRS-1 §6) to data an institution
// reported about it, over a range of business dates and one record class.
// Until it is resolved, flow reports mark the months and currencies it
// affects.
type Dispute struct {
	// ID is derived from the digest of the signed document ("DP" + 24 hex),
	// so filing the same document twice registers one dispute.
	ID string `json:"id"`
	// Enterprise is the disputing enterprise's USCC.
	Enterprise string `json:"enterprise"`
	// Institution is the code of the institution whose reported data is
	// disputed; it receives the dispute in its mailbox and must answer.
	Institution string `json:"institution"`
	// From and To are the first and last disputed business dates
	// (YYYY-MM-DD, inclusive); a disputed month is its first and last day.
	From string `json:"from"`
	To   string `json:"to"`
	// RecordClass is RecordClassTXN, RecordClassBAL or RecordClassACCT.
	RecordClass string `json:"record_class"`
	// Currency, when set, narrows the dispute to one ISO 4217 currency.
	Currency string `json:"currency,omitempty"`
	// Reason is the enterprise's explanation. It goes to the institution and
	// the operator, never into a flow report.
	Reason string `json:"reason"`
	// Document is the exact signed dispute the enterprise filed, Digest its
	// digest under the enterprise's suite, KeyID the signing key.
	Document []byte `json:"document"`
	Digest   []byte `json:"digest"`
	KeyID    string `json:"key_id"`
	// RegisteredAt is when the platform registered the dispute; LogIndex
	// its dispute.registered entry in the transparency log.
	RegisteredAt time.Time `json:"registered_at"`
	LogIndex     uint64    `json:"log_index"`
	// Deadline is when the institution's time to answer ends: the end of
	// the 20th calendar day after registration, Asia/Shanghai.
	Deadline time.Time `json:"deadline"`
	// MailboxID is the message that delivered the dispute to the
	// institution's mailbox; empty until it is delivered.
	MailboxID string `json:"mailbox_id,omitempty"`
	// Status is DisputeOpen or DisputeResolved.
	Status string `json:"status"`
	// Overdue is true while the dispute is open past its deadline. It is
	// computed when the dispute is read, never stored.
	Overdue bool `json:"overdue"`
	// Resolution is ResolvedByCorrection or ResolvedByAnswer once resolved;
	// ResolvedAt when, ResolveLogIndex the dispute.resolved log entry.
	Resolution      string     `json:"resolution,omitempty"`
	ResolvedAt      *time.Time `json:"resolved_at,omitempty"`
	ResolveLogIndex *uint64    `json:"resolve_log_index,omitempty"`
	// CorrectionBatch and CorrectionMessageID name the correction batch
	// (inst_date_seq) and its submission, for ResolvedByCorrection.
	CorrectionBatch     string `json:"correction_batch,omitempty"`
	CorrectionMessageID string `json:"correction_message_id,omitempty"`
	// Answer is the institution's signed answer, for ResolvedByAnswer.
	Answer *DisputeAnswer `json:"answer,omitempty"`
}

// OverdueAt reports whether the dispute is still open at t with its
// deadline passed.
func (d *Dispute) OverdueAt(t time.Time) bool {
	return d.Status == DisputeOpen && !t.Before(d.Deadline)
}

// Covers reports whether the dispute's date range contains the business
// date (YYYY-MM-DD).
func (d *Dispute) Covers(date string) bool { return d.From <= date && date <= d.To }

// DisputeAnswer is a reporting institution's signed answer to a dispute.
type DisputeAnswer struct {
	// Outcome is AnswerConfirmed or AnswerCorrected.
	Outcome string `json:"outcome"`
	// Text is the institution's explanation to the enterprise.
	Text string `json:"text"`
	// Document is the exact signed answer, Digest its digest under the
	// institution's suite, KeyID the signing key.
	Document []byte `json:"document"`
	Digest   []byte `json:"digest"`
	KeyID    string `json:"key_id"`
	// At is when the platform received the answer.
	At time.Time `json:"at"`
}

// DisputeResolution is what resolves a dispute.
type DisputeResolution struct {
	// How is ResolvedByCorrection or ResolvedByAnswer.
	How string
	// At is when the dispute was resolved; LogIndex its dispute.resolved
	// log entry.
	At       time.Time
	LogIndex uint64
	// CorrectionBatch and CorrectionMessageID, for ResolvedByCorrection.
	CorrectionBatch     string
	CorrectionMessageID string
	// Answer, for ResolvedByAnswer.
	Answer *DisputeAnswer
}

// DisputeFilter selects disputes. Empty fields select everything, so a
// caller acting for a party always sets Enterprise or Institution.
type DisputeFilter struct {
	// Enterprise and Institution select one party's disputes.
	Enterprise  string
	Institution string
	// Status selects DisputeOpen or DisputeResolved.
	Status string
	// DeadlineBefore, when set, selects disputes whose deadline is before
	// it (with Status DisputeOpen: the overdue ones).
	DeadlineBefore time.Time
	// RegisteredBefore, when set, selects disputes registered before it.
	RegisteredBefore time.Time
	// From and To, when set (YYYY-MM-DD), select disputes whose date range
	// overlaps [From, To].
	From, To string
	// Limit caps the result; 0 means the store's default.
	Limit int
}

// DisputeStore keeps disputes. Listing is always by a filter: the service
// decides whose disputes a caller may see.
type DisputeStore interface {
	// PutDispute stores a registered dispute; ECONFLICT if its ID or its
	// exact document is already stored.
	PutDispute(ctx context.Context, d *Dispute) error
	// SetDisputeDelivered records the mailbox message that delivered it.
	SetDisputeDelivered(ctx context.Context, id, mailboxID string) error
	// FindDispute returns a dispute by ID.
	FindDispute(ctx context.Context, id string) (*Dispute, error)
	// ListDisputes lists the disputes f selects, newest first.
	ListDisputes(ctx context.Context, f DisputeFilter) ([]*Dispute, error)
	// ResolveDispute records the resolution of an open dispute, once;
	// ECONFLICT if it is already resolved.
	ResolveDispute(ctx context.Context, id string, r *DisputeResolution) error
}
