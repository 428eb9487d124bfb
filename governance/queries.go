package governance

import (
	"bytes"
	"context"
	"encoding/json"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/evidence"
	"github.com/ronghe/ronghe/rrs"
	"github.com/ronghe/ronghe/suite"
)

// View returns what an institution may see about the check of one of its
// batches: the job's status and progress, and once done the outcome,
// findings, sample and messages. A batch still arriving is
// QualityReceiving, an accepted one not yet started QualityQueued.
func (s *Service) View(ctx context.Context, tenant, batch string) (*ronghe.QualityView, error) {
	return View(ctx, s.store, s.cfg.Submissions, tenant, batch)
}

// View is Service.View over a store, for readers without the service.
func View(ctx context.Context, st ronghe.GovernanceStore, subs Submissions, tenant, batch string) (*ronghe.QualityView, error) {
	q, err := st.FindQuality(ctx, tenant, batch)
	if ronghe.ErrorCode(err) == ronghe.ENOTFOUND {
		sub, serr := subs.FindSubmission(ctx, tenant, batch)
		if serr != nil {
			return nil, serr
		}
		id, perr := rrs.ParseBatchID(batch)
		if perr != nil {
			return nil, ronghe.Errorf(ronghe.ENOTFOUND, "%s is not a batch", batch)
		}
		status := ronghe.QualityQueued
		if sub.Status != ronghe.SubmissionAccepted {
			status = ronghe.QualityReceiving
		}
		q = &ronghe.BatchQuality{Tenant: tenant, Batch: batch, BusinessDate: id.Date.String(), Seq: id.Seq, Status: status}
		if sub.AcceptedAt != nil {
			q.ReceivedAt = *sub.AcceptedAt
		}
		return &ronghe.QualityView{Quality: q, Findings: []*ronghe.QualityFinding{}, Messages: []*ronghe.OutboxMessage{}}, nil
	} else if err != nil {
		return nil, err
	}
	v := &ronghe.QualityView{Quality: q}
	if v.Findings, err = st.ListFindings(ctx, tenant, batch); err != nil {
		return nil, err
	}
	if v.Findings == nil {
		v.Findings = []*ronghe.QualityFinding{}
	}
	if smp, err := st.FindSample(ctx, tenant, batch); err == nil {
		v.Sample = smp
	} else if ronghe.ErrorCode(err) != ronghe.ENOTFOUND {
		return nil, err
	}
	if v.Messages, err = st.ListOutbox(ctx, tenant, batch); err != nil {
		return nil, err
	}
	if v.Messages == nil {
		v.Messages = []*ronghe.OutboxMessage{}
	}
	return v, nil
}

// Tickets lists tickets; an institution's call sets f.Tenant.
func (s *Service) Tickets(ctx context.Context, f ronghe.TicketFilter) ([]*ronghe.Ticket, error) {
	return s.store.ListTickets(ctx, f)
}

// Ticket returns one of tenant's tickets.
func (s *Service) Ticket(ctx context.Context, tenant, id string) (*ronghe.Ticket, error) {
	return s.store.FindTicket(ctx, tenant, id)
}

// TicketAnswer is the payload an institution signs to confirm the data of
// a W finding (疑问数据确认).
type TicketAnswer struct {
	// Type is TypeTicketAnswer.
	Type string `json:"type"`
	// Ticket, Institution, BusinessDate, Rule, RecordType and Key name the
	// ticket and its finding, so a signature cannot be replayed on another.
	Ticket       string `json:"ticket"`
	Institution  string `json:"institution"`
	BusinessDate string `json:"business_date"`
	Rule         string `json:"rule"`
	RecordType   string `json:"record_type"`
	Key          string `json:"key"`
	// Note explains why the data is right (1–2000 characters).
	Note string `json:"note"`
	// SignedAt is when the institution signed.
	SignedAt time.Time `json:"signed_at"`
}

// MaxNoteChars bounds a confirmation's note.
const MaxNoteChars = 2000

// NewTicketAnswer returns the answer payload confirming t with note.
func NewTicketAnswer(t *ronghe.Ticket, note string, at time.Time) *TicketAnswer {
	return &TicketAnswer{Type: TypeTicketAnswer, Ticket: t.ID, Institution: t.Tenant, BusinessDate: t.BusinessDate, Rule: t.Rule,
		RecordType: t.Type, Key: t.Key, Note: note, SignedAt: at.UTC()}
}

// AnswerTicket closes a W ticket of tenant with the institution's signed
// confirmation: an evidence document whose payload is a TicketAnswer naming
// the ticket and its finding, signed by one of the institution's registered
// keys valid now. Answering again with the same document returns the
// ticket; an E ticket, or one already closed otherwise, is ECONFLICT.
func (s *Service) AnswerTicket(ctx context.Context, tenant, id string, raw []byte) (*ronghe.Ticket, error) {
	t, err := s.store.FindTicket(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	if t.Resolution == ronghe.ResolutionConfirmed && bytes.Equal(t.Answer, raw) {
		return t, nil
	}
	doc, err := evidence.Parse(raw)
	if err != nil {
		return nil, err
	}
	if len(doc.Signatures) != 1 {
		return nil, ronghe.Errorf(ronghe.EINVALID, "a ticket answer carries exactly one signature")
	}
	now := s.now()
	sig := doc.Signatures[0]
	key, err := s.cfg.Keys.FindKey(ctx, tenant, sig.KeyID)
	if ronghe.ErrorCode(err) == ronghe.ENOTFOUND {
		return nil, ronghe.Errorf(ronghe.EINTEGRITY, "key %q is not registered for %s", sig.KeyID, tenant)
	} else if err != nil {
		return nil, err
	}
	if !key.ValidAt(now) {
		return nil, ronghe.Errorf(ronghe.EEXPIRED, "key %s of %s is revoked", sig.KeyID, tenant)
	}
	pub, err := suite.ParsePublicKeyPEM([]byte(key.PublicKeyPEM))
	if err != nil {
		return nil, err
	}
	var a TicketAnswer
	if err := doc.Verify(TypeTicketAnswer, []*suite.PublicKey{pub}, nil); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(doc.Payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return nil, ronghe.WrapError(ronghe.EINVALID, err, "malformed ticket answer")
	}
	switch {
	case a.Ticket != t.ID || a.Institution != tenant || a.BusinessDate != t.BusinessDate || a.Rule != t.Rule ||
		a.RecordType != t.Type || a.Key != t.Key:
		return nil, ronghe.Errorf(ronghe.EINTEGRITY, "the answer does not name ticket %s of %s and its finding", t.ID, tenant)
	case strings.TrimSpace(a.Note) == "" || utf8.RuneCountInString(a.Note) > MaxNoteChars:
		return nil, ronghe.Errorf(ronghe.EINVALID, "the note must have 1 to %d characters", MaxNoteChars)
	}
	c, err := Confirm(t, raw, a.Note, "confirmation signed by "+sig.KeyID, now)
	if err != nil {
		return nil, err
	}
	if err := s.store.ApplyQuality(ctx, &ronghe.QualityChange{Tickets: []*ronghe.Ticket{c}}); err != nil {
		return nil, err
	}
	return c, nil
}

// Score is one institution's score for a month (YYYY-MM) as of asOf.
func Score(ctx context.Context, st ronghe.GovernanceStore, tenant string, month rrs.Period, asOf time.Time) (*ronghe.QualityScore, error) {
	firsts, err := st.FirstBusinessDates(ctx)
	if err != nil {
		return nil, err
	}
	var first rrs.Date
	if d, ok := firsts[tenant]; ok {
		if first, err = rrs.ParseDate(d); err != nil {
			return nil, err
		}
	}
	qs, err := st.ListQuality(ctx, ronghe.QualityFilter{Tenant: tenant, From: month.First().String(), To: month.Last().String(),
		Status: ronghe.QualityDone})
	if err != nil {
		return nil, err
	}
	return ComputeScore(tenant, month, asOf, first, qs), nil
}

// Scores is the month's league table as of asOf: every institution whose
// first batch is on or before the month's last day, ranked.
func Scores(ctx context.Context, st ronghe.GovernanceStore, month rrs.Period, asOf time.Time) ([]*ronghe.QualityScore, error) {
	firsts, err := st.FirstBusinessDates(ctx)
	if err != nil {
		return nil, err
	}
	qs, err := st.ListQuality(ctx, ronghe.QualityFilter{From: month.First().String(), To: month.Last().String(), Status: ronghe.QualityDone})
	if err != nil {
		return nil, err
	}
	byTenant := map[string][]*ronghe.BatchQuality{}
	for _, q := range qs {
		byTenant[q.Tenant] = append(byTenant[q.Tenant], q)
	}
	var tenants []string
	for t, d := range firsts {
		if d <= month.Last().String() {
			tenants = append(tenants, t)
		}
	}
	sort.Strings(tenants)
	out := make([]*ronghe.QualityScore, 0, len(tenants))
	for _, t := range tenants {
		first, err := rrs.ParseDate(firsts[t])
		if err != nil {
			return nil, err
		}
		out = append(out, ComputeScore(t, month, asOf, first, byTenant[t]))
	}
	return LeagueTable(out), nil
}

// Score is the institution's score for a month as of now; the zero month
// is the current one (Asia/Shanghai).
func (s *Service) Score(ctx context.Context, tenant string, month rrs.Period) (*ronghe.QualityScore, error) {
	now := s.now()
	if month.Y == 0 {
		month = rrs.DateOf(now).Period()
	}
	return Score(ctx, s.store, tenant, month, now)
}

// Scores is the month's league table.
func (s *Service) Scores(ctx context.Context, month rrs.Period) ([]*ronghe.QualityScore, error) {
	return Scores(ctx, s.store, month, s.now())
}
