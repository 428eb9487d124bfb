package ronghe

import (
	"context"
	"time"
)

// Governance is the quality loop of RRS-1 §3–§4 on the server: every accepted
// batch is checked by a background job, gets an outcome, a quality report and
// a problem list in the bank's mailbox; its findings open rectification
// tickets; a sample of its TXN rows is checked against the bank's source
// system (P01); and institutions are scored per month. The package
// governance implements it; the types here are what it stores.

// Quality job states of a batch (BatchQuality.Status). A batch whose
// submission is accepted but has no record yet is QualityQueued; that state
// is derived, never stored.
const (
	QualityReceiving = "receiving" // files are still arriving
	QualityQueued    = "queued"    // accepted, the job has not started
	QualityRunning   = "running"   // the job is checking the batch
	QualityRetrying  = "retrying"  // an attempt failed; the queue retries it
	QualityFailed    = "failed"    // the batch cannot be checked (given up)
	QualityDone      = "done"      // checked; Outcome is set
)

// Outcomes of a checked batch (BatchQuality.Outcome).
const (
	// OutcomeAccepted: no finding at all.
	OutcomeAccepted = "accepted"
	// OutcomeWarnings: usable, with findings that open tickets.
	OutcomeWarnings = "accepted_with_warnings"
	// OutcomeRejected: structurally unusable (an unreadable or missing
	// file, a T01 control-total mismatch); it never reaches the aggregates
	// or the lake, and the earlier version of its date, if any, stays in use.
	OutcomeRejected = "rejected"
	// OutcomeSuperseded: a later version of the same institution and date
	// had been checked first; this one is not checked.
	OutcomeSuperseded = "superseded"
)

// BatchQuality is the validation record of one batch version.
type BatchQuality struct {
	// Tenant is the institution; Batch the batch name (its message ID).
	Tenant string `json:"tenant"`
	Batch  string `json:"batch"`
	// BusinessDate (YYYY-MM-DD) and Seq come from the batch name.
	BusinessDate string `json:"business_date"`
	Seq          int    `json:"seq"`
	// Status is one of the Quality* states.
	Status string `json:"status"`
	// Phase, Done and Total report the progress of a running job: phase
	// "decrypt", "stage", "check", "record" or "apply", and how many of its
	// steps are done.
	Phase string `json:"phase,omitempty"`
	Done  int    `json:"done"`
	Total int    `json:"total"`
	// Attempts counts the job's attempts; LastError is the last failure's
	// caller-safe message.
	Attempts  int    `json:"attempts"`
	LastError string `json:"last_error,omitempty"`
	// Outcome is one of the Outcome* values once Status is QualityDone.
	Outcome string `json:"outcome,omitempty"`
	// Problems are the structural reasons for a rejection.
	Problems []string `json:"problems,omitempty"`
	// Errors and Warnings count the E and W findings the batch's own check
	// produced.
	Errors   int `json:"errors"`
	Warnings int `json:"warnings"`
	// Stats are the batch's figures for the quality score.
	Stats QualityStats `json:"stats"`
	// ContentDigest is the SHA-256 (hex) over the batch's file names and
	// digests, from which the P01 sample is seeded.
	ContentDigest string `json:"content_digest,omitempty"`
	// ReceivedAt is when the platform accepted the submission (its receipt
	// time); timeliness is judged by it.
	ReceivedAt time.Time `json:"received_at"`
	// StartedAt is when the first attempt began, FinishedAt when the batch
	// was done.
	StartedAt  *time.Time `json:"started_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}

// QualityStats are one batch's counts behind the RRS-1 §4 score.
type QualityStats struct {
	// Records is the number of data rows received, in every file.
	Records int64 `json:"records"`
	// ErrorRecords is the number of records (record type and key) with at
	// least one L or C finding of severity E.
	ErrorRecords int64 `json:"error_records"`
	// ExpectedBAL is the number of ACCT accounts with status A or F, each of
	// which must have a BAL row; L10 the L10 findings.
	ExpectedBAL int64 `json:"expected_bal"`
	L10         int64 `json:"l10"`
	// Checks is the number of S and T checks (of severity E) the batch was
	// put through; FailedChecks how many of them failed.
	Checks       int64 `json:"checks"`
	FailedChecks int64 `json:"failed_checks"`
}

// Severities of findings (RRS-1 §3).
const (
	SeverityError   = "E"
	SeverityWarning = "W"
)

// QualityFinding is one finding about one batch, as stored. Its identity is
// (Tenant, Batch, Rule, Type, Key) (RRS-1 §3).
type QualityFinding struct {
	Tenant string `json:"tenant"`
	Batch  string `json:"batch"`
	// Rule is the rule ID (L01 … P01); Severity SeverityError or
	// SeverityWarning.
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	// Type is the record type (ACCT, TXN, …, or BATCH) and Key the record's
	// key, as RRS-1 §3 defines them; Field names the field where one applies.
	Type  string `json:"type"`
	Key   string `json:"key"`
	Field string `json:"field,omitempty"`
	// Message says what is wrong without quoting any value.
	Message string `json:"message"`
	// Source is the submission whose check produced the finding: the batch
	// itself, another institution's batch (T03), or a sample answer (P01).
	Source string `json:"source"`
	// TicketID is the rectification ticket the finding opened or joined.
	TicketID string `json:"ticket_id,omitempty"`
	// FoundAt is when the finding was recorded.
	FoundAt time.Time `json:"found_at"`
}

// Ticket states (see governance's package documentation for the machine).
const (
	TicketOpen    = "open"    // waiting for a correction (or, for W, a confirmation)
	TicketOverdue = "overdue" // past its deadline; escalated
	TicketClosed  = "closed"  // corrected or confirmed; terminal
)

// Ticket resolutions.
const (
	ResolutionCorrected = "corrected" // a later version no longer shows the finding
	ResolutionConfirmed = "confirmed" // the institution confirmed a W finding's data with a signed note
)

// Ticket is a rectification ticket (RRS-1 §4): one per finding identity
// without the batch's seq — (Tenant, BusinessDate, Rule, Type, Key) — while
// it is not closed; later occurrences join it.
type Ticket struct {
	// ID is "TK-<YYYYMMDD>-<hex>", derived from the identity and the batch
	// that opened it.
	ID     string `json:"id"`
	Tenant string `json:"tenant"`
	// BusinessDate, Rule, Type and Key are the finding identity; Severity,
	// Field and Message repeat the first occurrence.
	BusinessDate string `json:"business_date"`
	Rule         string `json:"rule"`
	Severity     string `json:"severity"`
	Type         string `json:"type"`
	Key          string `json:"key"`
	Field        string `json:"field,omitempty"`
	Message      string `json:"message"`
	// State is TicketOpen, TicketOverdue or TicketClosed; Resolution is set
	// when closed.
	State      string `json:"state"`
	Resolution string `json:"resolution,omitempty"`
	// FirstBatch opened the ticket; LastBatch is the latest batch that
	// showed the finding; Occurrences counts the batches that showed it.
	FirstBatch  string `json:"first_batch"`
	LastBatch   string `json:"last_batch"`
	Occurrences int    `json:"occurrences"`
	// OpenedAt is when the ticket was opened; DueDate (YYYY-MM-DD,
	// Asia/Shanghai) is the last day to rectify and DueAt the instant it
	// ends (midnight after DueDate).
	OpenedAt time.Time `json:"opened_at"`
	DueDate  string    `json:"due_date"`
	DueAt    time.Time `json:"due_at"`
	// OverdueAt is when the ticket was found past its deadline and
	// escalated.
	OverdueAt *time.Time `json:"overdue_at,omitempty"`
	// ClosedAt and ClosedBy (a batch, or the ID of the confirmation) record
	// the closing.
	ClosedAt *time.Time `json:"closed_at,omitempty"`
	ClosedBy string     `json:"closed_by,omitempty"`
	// Answer is the institution's signed confirmation (an evidence document
	// of type ronghe.ticket-answer/v1), AnswerNote its note.
	Answer     []byte `json:"answer,omitempty"`
	AnswerNote string `json:"answer_note,omitempty"`
	// Version increases with every change; updates are conditional on it.
	Version int `json:"version"`
}

// Sample states (Sample.Status).
const (
	SampleNotRequired = "not_required" // the batch has no TXN row to sample
	SampleRequested   = "requested"    // waiting for the institution's answer
	SamplePassed      = "passed"
	SampleFailed      = "failed"
	SampleSuperseded  = "superseded" // a correction replaced the batch before an answer
)

// Sample is the P01 single-record sample of one batch.
type Sample struct {
	Tenant string `json:"tenant"`
	Batch  string `json:"batch"`
	// Seed (hex) drives the draw; it is derived from the batch's content
	// digest under a platform key, so nobody can predict it before
	// submission, and it is published in the request so the draw can be
	// repeated.
	Seed string `json:"seed"`
	// Confidence and TolerableRate are the P01 parameters (probabilities).
	Confidence    float64 `json:"confidence"`
	TolerableRate float64 `json:"tolerable_rate"`
	// Population is the number of TXN rows that could be drawn. Units is
	// the sample size n in units of money (RRS-1's monetary-unit sampling,
	// rules.Sample); when the population is no larger than n every row is
	// drawn once and Units equals Population (a census). Rows are the drawn
	// rows, in file order, each with the units that fell on it.
	Population int64       `json:"population"`
	Units      int         `json:"units"`
	Rows       []SampleRow `json:"rows"`
	// Status is one of the Sample* states.
	Status string `json:"status"`
	// RequestedAt is when the sample was drawn; DueDate and DueAt the
	// answer's deadline as for tickets.
	RequestedAt time.Time `json:"requested_at"`
	DueDate     string    `json:"due_date"`
	DueAt       time.Time `json:"due_at"`
	// Answer is the message ID of the institution's answer, AnsweredAt its
	// acceptance time.
	Answer     string     `json:"answer,omitempty"`
	AnsweredAt *time.Time `json:"answered_at,omitempty"`
	// Mismatches is the number of sampled units that fell on rows differing
	// from the answer (a row hit twice counts twice: the k of the bound);
	// UpperBound the one-sided Clopper–Pearson upper bound of the mismatch
	// rate k/Units at Confidence (the exact rate for a census); Reason
	// explains a decision.
	Mismatches int     `json:"mismatches"`
	UpperBound float64 `json:"upper_bound"`
	Reason     string  `json:"reason,omitempty"`
	// DecidedAt is when the sample passed, failed or was superseded.
	DecidedAt *time.Time `json:"decided_at,omitempty"`
	// Version increases with every change; updates are conditional on it.
	Version int `json:"version"`
}

// SampleRow is one drawn TXN row: its line in TXN.csv, its txn_id, and
// the sampled units that fell on it.
type SampleRow struct {
	Line  int    `json:"line"`
	TxnID string `json:"txn_id"`
	Hits  int    `json:"hits"`
}

// OutboxMessage is a mailbox message the governance loop owes an
// institution. It is written in the same transaction as the change it
// reports and delivered after the commit, so a crash in between delays the
// message but never loses it (it may then arrive twice).
type OutboxMessage struct {
	// ID is assigned by the store.
	ID int64 `json:"id"`
	// Tenant, Kind, Subject, RefersTo, ContentType and Body are the mailbox
	// message to deliver.
	Tenant      string `json:"tenant"`
	Kind        string `json:"kind"`
	Subject     string `json:"subject"`
	RefersTo    string `json:"refers_to,omitempty"`
	ContentType string `json:"content_type"`
	Body        []byte `json:"-"`
	// CreatedAt is when it was queued; MessageID and DeliveredAt are set
	// once the mailbox holds it.
	CreatedAt   time.Time  `json:"created_at"`
	MessageID   string     `json:"message_id,omitempty"`
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
}

// QualityChange is a set of governance changes a store applies atomically:
// all of them or none.
type QualityChange struct {
	// Quality, when set, is stored (inserted or replacing the record of its
	// tenant and batch).
	Quality *BatchQuality
	// Findings are inserted; a finding whose identity is stored already is
	// left as it is.
	Findings []*QualityFinding
	// NewTickets are inserted; an active ticket of the same identity is
	// ECONFLICT.
	NewTickets []*Ticket
	// Tickets are updated to the given values if their stored Version is
	// Version−1, else the change fails with ECONFLICT.
	Tickets []*Ticket
	// NewSamples are inserted; Samples updated like Tickets.
	NewSamples []*Sample
	Samples    []*Sample
	// Outbox are messages to deliver once the change is committed; the
	// store sets their IDs.
	Outbox []*OutboxMessage
}

// QualityFilter selects validation records.
type QualityFilter struct {
	// Tenant, when set, selects one institution.
	Tenant string
	// From and To (YYYY-MM-DD, inclusive), when set, bound the business date.
	From, To string
	// Status, when set, selects one job state.
	Status string
}

// TicketFilter selects tickets.
type TicketFilter struct {
	// Tenant, when set, selects one institution (an institution's API calls
	// always set it).
	Tenant string
	// States, when set, selects tickets in these states.
	States []string
	// BusinessDate, when set, selects one date.
	BusinessDate string
	// DueBefore, when set, selects tickets whose DueAt is not after it.
	DueBefore *time.Time
	// After is a cursor: tickets with a greater ID. Limit caps the result (0
	// means the default, 100; at most 1000).
	After string
	Limit int
}

// TicketCount is the number of tickets of one institution in one state.
type TicketCount struct {
	Tenant string `json:"tenant"`
	State  string `json:"state"`
	Count  int64  `json:"count"`
}

// SampleFilter selects samples.
type SampleFilter struct {
	Tenant string
	// Status, when set, selects one state; DueBefore samples due by then.
	Status    string
	DueBefore *time.Time
	Limit     int
}

// QualityView is everything an institution may see about the check of one
// of its batches.
type QualityView struct {
	// Quality is the validation record: status and progress of the job,
	// outcome and figures once done.
	Quality *BatchQuality `json:"quality"`
	// Findings are the findings about the batch.
	Findings []*QualityFinding `json:"findings"`
	// Sample is the batch's P01 sample, once drawn.
	Sample *Sample `json:"sample,omitempty"`
	// Messages are the mailbox messages the check produced about the batch.
	Messages []*OutboxMessage `json:"messages"`
}

// Grades of the quality score (RRS-1 §4).
const (
	GradeA = "A" // score ≥ 95
	GradeB = "B" // ≥ 85
	GradeC = "C" // ≥ 70
	GradeD = "D" // below 70
)

// QualityScore is an institution's RRS-1 §4 quality score for a calendar
// month, as of a time. The components are ratios in [0, 1], Score is in
// [0, 100]; none of them is money.
type QualityScore struct {
	Tenant string `json:"institution"`
	// Month is YYYY-MM; AsOf the instant the score was computed for.
	Month string    `json:"month"`
	AsOf  time.Time `json:"as_of"`
	// From and To (YYYY-MM-DD) are the days counted: from the month's
	// first day (or the institution's first batch, if later) to the last
	// day whose reporting deadline has passed; Days counts them (0 when
	// none has).
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	Days int    `json:"days"`
	// TimelyDays had a usable batch received by 10:00 the next day;
	// MissingDays had no usable batch at all.
	TimelyDays  int `json:"timely_days"`
	MissingDays int `json:"missing_days"`
	// Batches is the number of business dates counted with a batch (their
	// latest versions); the sums of their QualityStats follow.
	Batches      int   `json:"batches"`
	Records      int64 `json:"records"`
	ErrorRecords int64 `json:"error_records"`
	ExpectedBAL  int64 `json:"expected_bal"`
	L10          int64 `json:"l10"`
	Checks       int64 `json:"checks"`
	FailedChecks int64 `json:"failed_checks"`
	// The four components and the weighted score, rounded to 4 and 2
	// decimals; Grade is decided on the exact score.
	Timeliness   float64 `json:"timeliness"`
	Completeness float64 `json:"completeness"`
	Accuracy     float64 `json:"accuracy"`
	Consistency  float64 `json:"consistency"`
	Score        float64 `json:"score"`
	Grade        string  `json:"grade"`
	// Rank is the place in the month's league table (1 = best); 0 when the
	// score is shown alone.
	Rank int `json:"rank,omitempty"`
}

// GovernanceStore keeps the governance loop's state. Like ExchangeStore it
// is scoped by tenant: methods that take a tenant never return another
// tenant's rows, and an object of another tenant is ENOTFOUND.
type GovernanceStore interface {
	// BeginQuality records that an attempt to check a batch starts: it
	// creates the record (status QualityRunning, Attempts 1) or, when one
	// exists that is not done, sets it running and counts the attempt. It
	// returns the stored record; a done record is returned unchanged.
	BeginQuality(ctx context.Context, q *BatchQuality) (*BatchQuality, error)
	// SetQualityProgress records a running job's phase and progress.
	SetQualityProgress(ctx context.Context, tenant, batch, phase string, done, total int) error
	// FailQuality records a failed attempt: status QualityRetrying or
	// QualityFailed and the message. A done record is left as it is.
	FailQuality(ctx context.Context, tenant, batch, status, message string) error
	// FindQuality returns a batch's record.
	FindQuality(ctx context.Context, tenant, batch string) (*BatchQuality, error)
	// ListQuality lists records by business date, then tenant and seq.
	ListQuality(ctx context.Context, f QualityFilter) ([]*BatchQuality, error)
	// FirstBusinessDates returns, per tenant, the earliest business date of
	// a done record that is not superseded.
	FirstBusinessDates(ctx context.Context) (map[string]string, error)
	// UncheckedSubmissions returns the message IDs of tenant's accepted
	// submissions whose check has not finished (no record, or one neither
	// done nor failed) among those named for a business date from the
	// latest date before upTo (YYYY-MM-DD) with a finished check — or from
	// the first, when there is none — to upTo. Sample answers, which get no
	// record, may be among them; the caller tells batches by their names and
	// manifests.
	UncheckedSubmissions(ctx context.Context, tenant, upTo string) ([]string, error)

	// ApplyQuality applies a change atomically.
	ApplyQuality(ctx context.Context, c *QualityChange) error

	// ListFindings lists the findings about one batch, by rule, type and key.
	ListFindings(ctx context.Context, tenant, batch string) ([]*QualityFinding, error)

	// FindTicket returns a ticket.
	FindTicket(ctx context.Context, tenant, id string) (*Ticket, error)
	// ListTickets lists tickets by ID.
	ListTickets(ctx context.Context, f TicketFilter) ([]*Ticket, error)
	// ActiveTickets returns the open and overdue tickets of one tenant and
	// business date.
	ActiveTickets(ctx context.Context, tenant, businessDate string) ([]*Ticket, error)
	// ConfirmedTickets returns the tickets of one tenant and business date
	// closed by a confirmation.
	ConfirmedTickets(ctx context.Context, tenant, businessDate string) ([]*Ticket, error)
	// CountTickets counts tickets per tenant and state.
	CountTickets(ctx context.Context) ([]TicketCount, error)

	// FindSample returns a batch's sample.
	FindSample(ctx context.Context, tenant, batch string) (*Sample, error)
	// ListSamples lists samples by due time.
	ListSamples(ctx context.Context, f SampleFilter) ([]*Sample, error)

	// ClaimOutbox reserves up to limit undelivered messages (all tenants,
	// or only ids when given) for delivery by the caller until the given
	// time; a message reserved by someone else until later is skipped.
	ClaimOutbox(ctx context.Context, ids []int64, now, until time.Time, limit int) ([]*OutboxMessage, error)
	// OutboxDelivered records the mailbox message ID of a delivered message.
	OutboxDelivered(ctx context.Context, id int64, messageID string, at time.Time) error
	// ListOutbox lists the messages queued about one submission (RefersTo)
	// of a tenant, delivered or not.
	ListOutbox(ctx context.Context, tenant, refersTo string) ([]*OutboxMessage, error)
}
