package httpapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/evidence"
	"github.com/ronghe/ronghe/rrs"
)

// Governance is the quality loop as institutions see it
// (*governance.Service): the check of their batches, their rectification
// tickets and their monthly score. Every method is scoped to the tenant.
type Governance interface {
	View(ctx context.Context, tenant, batch string) (*ronghe.QualityView, error)
	Tickets(ctx context.Context, f ronghe.TicketFilter) ([]*ronghe.Ticket, error)
	Ticket(ctx context.Context, tenant, id string) (*ronghe.Ticket, error)
	AnswerTicket(ctx context.Context, tenant, id string, doc []byte) (*ronghe.Ticket, error)
	// Score's zero month means the current one.
	Score(ctx context.Context, tenant string, month rrs.Period) (*ronghe.QualityScore, error)
}

// TicketList is one page of an institution's tickets, by ID.
type TicketList struct {
	Tickets []*ronghe.Ticket `json:"tickets"`
}

// governanceRoutes declares the routes of the quality loop.
func (s *Server) governanceRoutes() []route {
	if s.cfg.Governance == nil {
		return nil
	}
	ticketDoc := map[string]string{"id": "the ticket's ID (TK-<YYYYMMDD>-<hex>)"}
	return []route{
		{
			method: "GET", path: "/v1/batches/{id}/quality", id: "getBatchQuality", tag: "quality", auth: true,
			summary: "The check of a batch: job status, progress, outcome, findings, sample",
			description: "Every accepted batch is checked by a background job against the RRS-1 rule book and the history of the batches " +
				"before it. status is receiving (files still arriving), queued, running (phase and done/total give the progress), retrying " +
				"(last_error says why) or done; once done, outcome is accepted, accepted_with_warnings, rejected (structurally unusable: a " +
				"missing or unreadable file, a T01 control-total mismatch; it is not used) or superseded (a later version was checked first). " +
				"findings name the tickets they opened; sample is the P01 sample to answer; messages are the signed mailbox messages sent.",
			pathDocs:  map[string]string{"id": "the batch name <inst_code>_<YYYYMMDD>_<seq>"},
			responses: []response{jsonResponse[ronghe.QualityView](200, "the check")},
			problems:  []int{404},
			handle:    s.getBatchQuality,
		},
		{
			method: "GET", path: "/v1/tickets", id: "listTickets", tag: "quality", auth: true,
			summary: "The institution's rectification tickets (整改)",
			description: "One ticket per finding identity (business date, rule, record type, key) until it is closed. A ticket is open " +
				"until its due date (5 business days, Asia/Shanghai), then overdue and escalated; it closes when a correction batch " +
				"no longer shows the finding, or, for a W finding, with a signed confirmation.",
			params: []param{
				{name: "state", in: "query", description: "open, overdue or closed; all when absent", schema: map[string]any{"type": "string", "enum": []string{ronghe.TicketOpen, ronghe.TicketOverdue, ronghe.TicketClosed}}},
				{name: "date", in: "query", description: "business date YYYY-MM-DD", schema: stringSchema},
				{name: "after", in: "query", description: "cursor: tickets with a greater ID", schema: stringSchema},
				{name: "limit", in: "query", description: "at most this many (default 100, at most 1000)", schema: integerSchema},
			},
			responses: []response{jsonResponse[TicketList](200, "by ID")},
			problems:  []int{400},
			handle:    s.listTickets,
		},
		{
			method: "GET", path: "/v1/tickets/{id}", id: "getTicket", tag: "quality", auth: true,
			summary:   "One rectification ticket",
			pathDocs:  ticketDoc,
			responses: []response{jsonResponse[ronghe.Ticket](200, "the ticket")},
			problems:  []int{404},
			handle:    s.getTicket,
		},
		{
			method: "POST", path: "/v1/tickets/{id}/answer", id: "answerTicket", tag: "quality", auth: true,
			summary: "Confirm the data of a W finding (疑问数据确认)",
			description: "The institution's signed confirmation: an evidence document of type ronghe.ticket-answer/v1 naming the ticket, " +
				"the institution, business_date, rule, record_type and key of its finding, a note (1–2000 characters) and signed_at, signed " +
				"by one of the institution's registered keys. It closes a W ticket as confirmed; an E finding closes only with a correction " +
				"batch (409). Sending the same document again returns the ticket.",
			pathDocs:  ticketDoc,
			request:   &body{contentType: "application/json", typ: typeOf[evidence.Signed]()},
			responses: []response{jsonResponse[ronghe.Ticket](200, "the closed ticket")},
			problems:  []int{400, 403, 404, 409, 422},
			handle:    s.answerTicket,
		},
		{
			method: "GET", path: "/v1/quality/score", id: "getQualityScore", tag: "quality", auth: true,
			summary: "The institution's RRS-1 §4 quality score for a month",
			description: "Timeliness, completeness, accuracy and consistency, the weighted score and its grade, as of now, over the days " +
				"of the month whose reporting deadline (10:00 the next day, Asia/Shanghai) has passed. Only the institution's own score; " +
				"the league table is the supervisor's (ronghe quality scores).",
			params:    []param{{name: "month", in: "query", description: "YYYY-MM; the current month (Asia/Shanghai) when absent", schema: stringSchema}},
			responses: []response{jsonResponse[ronghe.QualityScore](200, "the score")},
			problems:  []int{400},
			handle:    s.getQualityScore,
		},
	}
}

func (s *Server) getBatchQuality(w http.ResponseWriter, r *http.Request) error {
	tenant, err := tenantFrom(r.Context())
	if err != nil {
		return err
	}
	v, err := s.cfg.Governance.View(r.Context(), tenant, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, r, http.StatusOK, v)
}

func (s *Server) listTickets(w http.ResponseWriter, r *http.Request) error {
	tenant, err := tenantFrom(r.Context())
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := ronghe.TicketFilter{Tenant: tenant, After: q.Get("after")}
	switch st := q.Get("state"); st {
	case "":
	case ronghe.TicketOpen, ronghe.TicketOverdue, ronghe.TicketClosed:
		f.States = []string{st}
	default:
		return ronghe.Errorf(ronghe.EINVALID, "state must be open, overdue or closed")
	}
	if d := q.Get("date"); d != "" {
		if _, err := rrs.ParseDate(d); err != nil {
			return ronghe.Errorf(ronghe.EINVALID, "date must be YYYY-MM-DD")
		}
		f.BusinessDate = d
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			return ronghe.Errorf(ronghe.EINVALID, "limit must be 1..1000")
		}
		f.Limit = n
	}
	ts, err := s.cfg.Governance.Tickets(r.Context(), f)
	if err != nil {
		return err
	}
	if ts == nil {
		ts = []*ronghe.Ticket{}
	}
	return writeJSON(w, r, http.StatusOK, TicketList{Tickets: ts})
}

func (s *Server) getTicket(w http.ResponseWriter, r *http.Request) error {
	tenant, err := tenantFrom(r.Context())
	if err != nil {
		return err
	}
	t, err := s.cfg.Governance.Ticket(r.Context(), tenant, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, r, http.StatusOK, t)
}

func (s *Server) answerTicket(w http.ResponseWriter, r *http.Request) error {
	tenant, err := tenantFrom(r.Context())
	if err != nil {
		return err
	}
	raw, err := readBody(w, r)
	if err != nil {
		return err
	}
	t, err := s.cfg.Governance.AnswerTicket(r.Context(), tenant, r.PathValue("id"), raw)
	if err != nil {
		return err
	}
	return writeJSON(w, r, http.StatusOK, t)
}

func (s *Server) getQualityScore(w http.ResponseWriter, r *http.Request) error {
	tenant, err := tenantFrom(r.Context())
	if err != nil {
		return err
	}
	var month rrs.Period // zero: the current month
	if m := r.URL.Query().Get("month"); m != "" {
		if month, err = rrs.ParsePeriod(m); err != nil {
			return ronghe.Errorf(ronghe.EINVALID, "month must be YYYY-MM")
		}
	}
	sc, err := s.cfg.Governance.Score(r.Context(), tenant, month)
	if err != nil {
		return err
	}
	return writeJSON(w, r, http.StatusOK, sc)
}
