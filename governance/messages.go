package governance

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ronghe/ronghe"
)

// Mailbox message kinds the governance loop sends.
const (
	KindReport        = "quality.report"         // a batch's outcome and figures (JSON)
	KindProblems      = "quality.problems"       // a batch's findings (CSV)
	KindNotice        = "quality.notice"         // findings on a batch found by another institution's batch (JSON)
	KindSampleRequest = "quality.sample-request" // the P01 sample to answer (JSON)
	KindSampleResult  = "quality.sample-result"  // the P01 verdict (JSON)
	KindEscalation    = "quality.escalation"     // tickets past their deadline (JSON)
	KindAnswerRefused = "quality.answer-refused" // a sample answer that answers nothing open (JSON)
)

// Payload types of the JSON messages; each body carries its type.
const (
	TypeReport        = "ronghe.quality-report/v1"
	TypeNotice        = "ronghe.quality-notice/v1"
	TypeSampleRequest = "ronghe.sample-request/v1"
	TypeSampleResult  = "ronghe.sample-result/v1"
	TypeEscalation    = "ronghe.escalation/v1"
	TypeAnswerRefused = "ronghe.answer-refused/v1"
	// TypeTicketAnswer is the institution's signed confirmation of a W
	// finding (POST /v1/tickets/{id}/answer).
	TypeTicketAnswer = "ronghe.ticket-answer/v1"
)

// MaxProblemRows caps the problem list sent in one message; the full list
// stays available at GET /v1/batches/{id}/quality.
const MaxProblemRows = 100_000

// Report is the body of a quality.report message.
type Report struct {
	Type         string              `json:"type"`
	Batch        string              `json:"batch"`
	BusinessDate string              `json:"business_date"`
	Seq          int                 `json:"seq"`
	Outcome      string              `json:"outcome"`
	Problems     []string            `json:"problems,omitempty"`
	Errors       int                 `json:"errors"`
	Warnings     int                 `json:"warnings"`
	ByRule       map[string]int      `json:"by_rule"`
	Stats        ronghe.QualityStats `json:"stats"`
	// ProblemsListed is how many findings the quality.problems message
	// lists (all of them up to MaxProblemRows).
	ProblemsListed int `json:"problems_listed"`
	// TicketsOpened, TicketsJoined and TicketsClosed are the tickets this
	// batch opened, showed again and closed.
	TicketsOpened []string `json:"tickets_opened"`
	TicketsJoined []string `json:"tickets_joined"`
	TicketsClosed []string `json:"tickets_closed"`
	// Sample is the P01 sample drawn (see the quality.sample-request
	// message), if any.
	Sample    *SampleSummary `json:"sample,omitempty"`
	CheckedAt time.Time      `json:"checked_at"`
}

// SampleSummary names a sample in a report.
type SampleSummary struct {
	Status  string `json:"status"`
	Size    int    `json:"size"`
	DueDate string `json:"due_date,omitempty"`
}

// SampleRequest is the body of a quality.sample-request message.
type SampleRequest struct {
	Type          string             `json:"type"`
	Batch         string             `json:"batch"`
	Seed          string             `json:"seed"`
	Confidence    float64            `json:"confidence"`
	TolerableRate float64            `json:"tolerable_rate"`
	Population    int64              `json:"population"`
	Units         int                `json:"units"`
	Size          int                `json:"size"`
	DueDate       string             `json:"due_date"`
	Rows          []ronghe.SampleRow `json:"rows"`
	// How says how to answer.
	How string `json:"how"`
}

// SampleResult is the body of a quality.sample-result message.
type SampleResult struct {
	Type          string        `json:"type"`
	Batch         string        `json:"batch"`
	Answer        string        `json:"answer,omitempty"`
	Status        string        `json:"status"`
	Size          int           `json:"size"`
	Units         int           `json:"units"`
	Mismatches    int           `json:"mismatches"`
	UpperBound    float64       `json:"upper_bound"`
	TolerableRate float64       `json:"tolerable_rate"`
	Reason        string        `json:"reason"`
	Rows          []RowMismatch `json:"rows,omitempty"`
}

// RowMismatch is one sampled row that differs from the source copy: the
// names of the fields that differ (never their values), or Missing when the
// answer has no copy of it.
type RowMismatch struct {
	TxnID    string   `json:"txn_id"`
	Fields   []string `json:"fields"`
	Missing  bool     `json:"missing,omitempty"`
	TicketID string   `json:"ticket_id,omitempty"`
}

// Escalation is the body of a quality.escalation message.
type Escalation struct {
	Type    string         `json:"type"`
	Message string         `json:"message"`
	Tickets []TicketNotice `json:"tickets"`
}

// TicketNotice names a ticket in a message.
type TicketNotice struct {
	ID           string `json:"id"`
	BusinessDate string `json:"business_date"`
	Rule         string `json:"rule"`
	Severity     string `json:"severity"`
	Type         string `json:"type"`
	Key          string `json:"key"`
	DueDate      string `json:"due_date"`
	Batch        string `json:"batch"`
}

// Notice is the body of a quality.notice message: findings on one of the
// institution's batches produced when another institution's batch of the
// same day arrived (T03).
type Notice struct {
	Type     string                   `json:"type"`
	Batch    string                   `json:"batch"`
	Message  string                   `json:"message"`
	Findings []*ronghe.QualityFinding `json:"findings"`
}

// AnswerRefused is the body of a quality.answer-refused message.
type AnswerRefused struct {
	Type     string `json:"type"`
	Answer   string `json:"answer"`
	RefersTo string `json:"refers_to"`
	Reason   string `json:"reason"`
}

func jsonMessage(tenant, kind, subject, refersTo string, v any, now time.Time) *ronghe.OutboxMessage {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic(fmt.Sprintf("governance: encode %s: %v", kind, err)) // plain structs cannot fail
	}
	return &ronghe.OutboxMessage{Tenant: tenant, Kind: kind, Subject: subject, RefersTo: refersTo,
		ContentType: "application/json", Body: b, CreatedAt: now}
}

// problemsCSV renders findings as CSV (header first), at most
// MaxProblemRows of them.
func problemsCSV(fs []*ronghe.QualityFinding) ([]byte, int) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{"rule", "severity", "batch", "type", "key", "field", "message", "ticket_id"})
	n := 0
	for _, f := range fs {
		if n == MaxProblemRows {
			break
		}
		w.Write([]string{f.Rule, f.Severity, f.Batch, f.Type, f.Key, f.Field, f.Message, f.TicketID})
		n++
	}
	w.Flush()
	return buf.Bytes(), n
}

func byRule(fs []*ronghe.QualityFinding) map[string]int {
	m := map[string]int{}
	for _, f := range fs {
		m[f.Rule]++
	}
	return m
}

func ticketNotices(ts []*ronghe.Ticket) []TicketNotice {
	out := make([]TicketNotice, 0, len(ts))
	for _, t := range ts {
		out = append(out, TicketNotice{ID: t.ID, BusinessDate: t.BusinessDate, Rule: t.Rule, Severity: t.Severity, Type: t.Type,
			Key: t.Key, DueDate: t.DueDate, Batch: t.LastBatch})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func answerHow(batch string) string {
	return strings.Join([]string{
		"Put the source-system copy of each listed row (same txn_id, every TXN field) in a file TXN.csv with the TXN header,",
		"in a directory of its own, and submit it as a sample answer before the end of the due date (Asia/Shanghai):",
		"ronghe submit --kind " + ronghe.MessageSampleAnswer + " --refers-to " + batch + " --message-id " + batch + ".P01 DIR.",
		"Every row that differs from the reported row is a P01 finding naming the fields; the batch passes when the one-sided 95 %",
		"Clopper-Pearson upper bound of the mismatch rate (in sampled units of money) is at most the tolerable rate.",
		"No answer by the due date fails the sample.",
	}, " ")
}
