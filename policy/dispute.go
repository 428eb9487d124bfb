package policy

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/evidence"
	"github.com/ronghe/ronghe/rrs"
	"github.com/ronghe/ronghe/suite"
	"github.com/ronghe/ronghe/tlog"
)

// Signed document types of disputes (异议).
const (
	// TypeDispute is the enterprise's dispute.
	TypeDispute = "ronghe.dispute/v1"
	// TypeDisputeAnswer is the reporting institution's answer.
	TypeDisputeAnswer = "ronghe.dispute-answer/v1"
)

// Mailbox kinds of the messages disputes send institutions.
const (
	// MailboxDispute delivers a new dispute to the reporting institution.
	MailboxDispute = "dispute.registered"
)

// DisputeAnswerDays is the time the reporting institution has to answer
// (RRS-1 §6: "within 20 days"), in calendar days: the day of registration
// does not count, the deadline is the end of the 20th day after it,
// Asia/Shanghai, and it is not moved off weekends or holidays (see
// docs/rrs-decisions.md, Disputes).
const DisputeAnswerDays = 20

// Limits on what a dispute says.
const (
	// MaxDisputeMonths is the longest range one dispute may cover, the
	// longest flow report window.
	MaxDisputeMonths = 24
	// MaxReasonRunes and MaxAnswerRunes bound the free texts.
	MaxReasonRunes = 500
	MaxAnswerRunes = 2000
)

// DisputeDeadline returns the end of the 20th calendar day after the
// Asia/Shanghai business day on which a dispute was registered.
func DisputeDeadline(registered time.Time) time.Time {
	d := registered.In(rrs.Shanghai)
	return time.Date(d.Year(), d.Month(), d.Day()+DisputeAnswerDays+1, 0, 0, 0, 0, rrs.Shanghai).UTC()
}

// DisputeDoc is the payload an enterprise signs to dispute data an
// institution reported about it. It names either a Month or a range of
// business dates From–To.
type DisputeDoc struct {
	Type        string `json:"type"`
	Enterprise  string `json:"enterprise"`
	Institution string `json:"institution"`
	// Month is YYYY-MM; From and To are YYYY-MM-DD. Exactly one form.
	Month string `json:"month,omitempty"`
	From  string `json:"from,omitempty"`
	To    string `json:"to,omitempty"`
	// RecordClass is TXN, BAL or ACCT.
	RecordClass string `json:"record_class"`
	// Currency optionally narrows the dispute to one currency.
	Currency string `json:"currency,omitempty"`
	// Reason explains what is wrong, for the institution.
	Reason string `json:"reason"`
	// SignedAt is when the enterprise signed; its key must be valid then.
	SignedAt time.Time `json:"signed_at"`
}

// DisputeAnswerDoc is the payload a reporting institution signs to answer a
// dispute.
type DisputeAnswerDoc struct {
	Type        string `json:"type"`
	Institution string `json:"institution"`
	DisputeID   string `json:"dispute_id"`
	// Outcome is ronghe.AnswerConfirmed or ronghe.AnswerCorrected.
	Outcome string `json:"outcome"`
	// Text explains the outcome to the enterprise.
	Text     string    `json:"text"`
	SignedAt time.Time `json:"signed_at"`
}

// DisputeNotice is the body of the mailbox message that delivers a dispute
// to the reporting institution.
type DisputeNotice struct {
	DisputeID   string    `json:"dispute_id"`
	Enterprise  string    `json:"enterprise"`
	From        string    `json:"from"`
	To          string    `json:"to"`
	RecordClass string    `json:"record_class"`
	Currency    string    `json:"currency,omitempty"`
	Reason      string    `json:"reason"`
	Registered  time.Time `json:"registered_at"`
	Deadline    time.Time `json:"deadline"`
	// Document is the enterprise's signed dispute, as filed.
	Document json.RawMessage `json:"document"`
	// AnswerWith says how to answer.
	AnswerWith string `json:"answer_with"`
}

// Mailbox delivers platform-signed messages to an institution's mailbox
// (exchange.Service.Deliver).
type Mailbox interface {
	Deliver(ctx context.Context, tenant, kind, subject, refersTo, contentType string, body []byte) (*ronghe.MailboxMessage, error)
}

// DisputeConfig wires the dispute service.
type DisputeConfig struct {
	// Policy verifies the enterprises' documents; its keys, institutions,
	// log, clock and logger serve the disputes too.
	Policy *Service
	// Store keeps the disputes.
	Store ronghe.DisputeStore
	// Mailbox delivers new disputes to the reporting institutions; nil
	// leaves the service read-only (the operator's listing).
	Mailbox Mailbox
}

// Disputes registers enterprises' disputes, delivers them to the reporting
// institutions with their deadline, resolves them by correction batch or
// signed answer, and tells the flow reports which data is disputed.
type Disputes struct {
	cfg DisputeConfig
	p   *Service
}

// NewDisputes returns the dispute service.
func NewDisputes(cfg DisputeConfig) *Disputes {
	return &Disputes{cfg: cfg, p: cfg.Policy}
}

// Party is who asks: an enterprise or an institution (exactly one set).
// Each sees only its own disputes; another's is not found.
type Party struct {
	Enterprise  string
	Institution string
}

func (p Party) filter() (ronghe.DisputeFilter, error) {
	if (p.Enterprise == "") == (p.Institution == "") {
		return ronghe.DisputeFilter{}, ronghe.Errorf(ronghe.EFORBIDDEN, "disputes are read by their enterprise or their institution")
	}
	return ronghe.DisputeFilter{Enterprise: p.Enterprise, Institution: p.Institution}, nil
}

func (p Party) owns(d *ronghe.Dispute) bool {
	return (p.Enterprise != "" && d.Enterprise == p.Enterprise) || (p.Institution != "" && d.Institution == p.Institution)
}

// Status filters of List besides the stored statuses.
const (
	// StatusOverdue selects open disputes past their deadline.
	StatusOverdue = "overdue"
)

// File verifies, registers, logs and delivers the enterprise's signed
// dispute. Filing the same document again returns the registered dispute,
// and delivers it if an earlier attempt could not.
func (s *Disputes) File(ctx context.Context, enterprise string, raw []byte) (*ronghe.Dispute, error) {
	var d DisputeDoc
	doc, ent, err := s.p.verifyEnterpriseDoc(ctx, enterprise, TypeDispute, raw, &d, func() time.Time { return d.SignedAt })
	if err != nil {
		return nil, err
	}
	digest := suite.Digest(ent.Suite, doc.Payload)
	id := "DP" + hex.EncodeToString(digest[:12])
	if existing, err := s.cfg.Store.FindDispute(ctx, id); err == nil && existing.Enterprise == enterprise {
		return s.deliver(ctx, existing)
	}
	from, to, err := s.checkDispute(ctx, enterprise, &d)
	if err != nil {
		return nil, err
	}
	now := s.p.cfg.Now().UTC()
	index, err := s.p.cfg.Log.Append(ctx, tlog.Event{Kind: tlog.KindDisputeRegistered, Tenant: enterprise, MessageID: id, Digest: digest, Time: now}.Leaf())
	if err != nil {
		return nil, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "transparency log unavailable; file the dispute again later")
	}
	dp := &ronghe.Dispute{
		ID: id, Enterprise: enterprise, Institution: d.Institution, From: from, To: to, RecordClass: d.RecordClass,
		Currency: d.Currency, Reason: strings.TrimSpace(d.Reason), Document: raw, Digest: digest, KeyID: doc.Signatures[0].KeyID,
		RegisteredAt: now, LogIndex: index, Deadline: DisputeDeadline(now), Status: ronghe.DisputeOpen,
	}
	if err := s.cfg.Store.PutDispute(ctx, dp); err != nil {
		if ronghe.ErrorCode(err) != ronghe.ECONFLICT {
			return nil, err
		}
		// Filed twice at once: the other request registered it.
		if dp, err = s.cfg.Store.FindDispute(ctx, id); err != nil {
			return nil, err
		}
	} else {
		s.p.cfg.Logger.InfoContext(ctx, "dispute registered", "id", id, "enterprise", enterprise, "institution", d.Institution,
			"from", from, "to", to, "class", d.RecordClass, "deadline", dp.Deadline, "log_index", index)
	}
	return s.deliver(ctx, dp)
}

// deliver puts a registered dispute in the institution's mailbox unless it
// is already there. A dispute is answered for only once delivered, so a
// failed delivery is an error the enterprise sees (and retries by filing the
// same document again).
func (s *Disputes) deliver(ctx context.Context, d *ronghe.Dispute) (*ronghe.Dispute, error) {
	if d.MailboxID != "" {
		return s.view(d), nil
	}
	if s.cfg.Mailbox == nil {
		return nil, ronghe.Errorf(ronghe.EUNAVAILABLE, "disputes cannot be delivered by this process")
	}
	body, err := json.Marshal(DisputeNotice{
		DisputeID: d.ID, Enterprise: d.Enterprise, From: d.From, To: d.To, RecordClass: d.RecordClass, Currency: d.Currency,
		Reason: d.Reason, Registered: d.RegisteredAt, Deadline: d.Deadline, Document: json.RawMessage(d.Document),
		AnswerWith: "POST /v1/disputes/" + d.ID + "/answer with a signed " + TypeDisputeAnswer + ", or submit a correction batch for a disputed date",
	})
	if err != nil {
		return nil, err
	}
	subject := fmt.Sprintf("异议 dispute %s: %s disputes %s %s–%s; answer by %s", d.ID, d.Enterprise, d.RecordClass, d.From, d.To,
		d.Deadline.In(rrs.Shanghai).Add(-time.Nanosecond).Format("2006-01-02"))
	msg, err := s.cfg.Mailbox.Deliver(ctx, d.Institution, MailboxDispute, subject, "", "application/json", body)
	if err != nil {
		s.p.cfg.Logger.WarnContext(ctx, "dispute not delivered", "id", d.ID, "institution", d.Institution, "err", err)
		return nil, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "dispute "+d.ID+" is registered but could not be delivered yet; file the same document again")
	}
	if err := s.cfg.Store.SetDisputeDelivered(ctx, d.ID, msg.ID); err != nil {
		return nil, err
	}
	d.MailboxID = msg.ID
	return s.view(d), nil
}

// checkDispute checks what a dispute says and returns its date range.
func (s *Disputes) checkDispute(ctx context.Context, enterprise string, d *DisputeDoc) (from, to string, err error) {
	switch {
	case d.Enterprise != enterprise:
		return "", "", ronghe.Errorf(ronghe.EFORBIDDEN, "the document disputes for %s, not for the signing enterprise", d.Enterprise)
	case d.RecordClass != ronghe.RecordClassTXN && d.RecordClass != ronghe.RecordClassBAL && d.RecordClass != ronghe.RecordClassACCT:
		return "", "", ronghe.Errorf(ronghe.EINVALID, "record_class must be %s, %s or %s", ronghe.RecordClassTXN, ronghe.RecordClassBAL, ronghe.RecordClassACCT)
	case d.Currency != "" && !rrs.ValidCurrency(d.Currency):
		return "", "", ronghe.Errorf(ronghe.EINVALID, "currency %q is not an ISO 4217 code", d.Currency)
	case strings.TrimSpace(d.Reason) == "":
		return "", "", ronghe.Errorf(ronghe.EINVALID, "a dispute needs a reason")
	case utf8.RuneCountInString(d.Reason) > MaxReasonRunes:
		return "", "", ronghe.Errorf(ronghe.EINVALID, "the reason is longer than %d characters", MaxReasonRunes)
	}
	var first, last rrs.Date
	switch {
	case d.Month != "" && d.From == "" && d.To == "":
		p, err := rrs.ParsePeriod(d.Month)
		if err != nil {
			return "", "", ronghe.Errorf(ronghe.EINVALID, "month %q is not YYYY-MM", d.Month)
		}
		first, last = p.First(), p.Last()
	case d.Month == "" && d.From != "" && d.To != "":
		if first, err = rrs.ParseDate(d.From); err != nil {
			return "", "", ronghe.Errorf(ronghe.EINVALID, "from %q is not YYYY-MM-DD", d.From)
		}
		if last, err = rrs.ParseDate(d.To); err != nil {
			return "", "", ronghe.Errorf(ronghe.EINVALID, "to %q is not YYYY-MM-DD", d.To)
		}
	default:
		return "", "", ronghe.Errorf(ronghe.EINVALID, "a dispute names either a month or a from–to range of business dates")
	}
	today := rrs.DateOf(s.p.cfg.Now())
	switch {
	case last.Before(first):
		return "", "", ronghe.Errorf(ronghe.EINVALID, "the range ends before it starts")
	case first.After(today):
		return "", "", ronghe.Errorf(ronghe.EINVALID, "nothing has been reported for dates after today")
	case (last.Y-first.Y)*12+int(last.M)-int(first.M) >= MaxDisputeMonths:
		return "", "", ronghe.Errorf(ronghe.EINVALID, "one dispute covers at most %d months", MaxDisputeMonths)
	}
	if last.After(today) {
		last = today // the current month: disputed up to today
	}
	inst, err := s.p.cfg.Institutions.FindInstitution(ctx, d.Institution)
	if ronghe.ErrorCode(err) == ronghe.ENOTFOUND || (err == nil && inst.Kind == ronghe.KindOperator) {
		return "", "", ronghe.Errorf(ronghe.EINVALID, "%s is not a reporting institution", d.Institution)
	} else if err != nil {
		return "", "", err
	}
	return first.String(), last.String(), nil
}

// Answer verifies and records the institution's signed answer, which
// resolves the dispute; it is logged and the enterprise reads it with its
// disputes. Answering again with the same document returns the dispute.
func (s *Disputes) Answer(ctx context.Context, institution, id string, raw []byte) (*ronghe.Dispute, error) {
	d, err := s.cfg.Store.FindDispute(ctx, id)
	if err != nil || d.Institution != institution {
		return nil, ronghe.Errorf(ronghe.ENOTFOUND, "dispute not found")
	}
	var a DisputeAnswerDoc
	doc, inst, err := s.verifyInstitutionDoc(ctx, institution, raw, &a)
	if err != nil {
		return nil, err
	}
	switch {
	case a.Institution != institution:
		return nil, ronghe.Errorf(ronghe.EFORBIDDEN, "the answer is signed for %s, not for the answering institution", a.Institution)
	case a.DisputeID != id:
		return nil, ronghe.Errorf(ronghe.EINVALID, "the answer is for dispute %s, not %s", a.DisputeID, id)
	case a.Outcome != ronghe.AnswerConfirmed && a.Outcome != ronghe.AnswerCorrected:
		return nil, ronghe.Errorf(ronghe.EINVALID, "outcome must be %s or %s", ronghe.AnswerConfirmed, ronghe.AnswerCorrected)
	case strings.TrimSpace(a.Text) == "":
		return nil, ronghe.Errorf(ronghe.EINVALID, "an answer explains its outcome")
	case utf8.RuneCountInString(a.Text) > MaxAnswerRunes:
		return nil, ronghe.Errorf(ronghe.EINVALID, "the answer is longer than %d characters", MaxAnswerRunes)
	}
	digest := suite.Digest(inst.Suite, doc.Payload)
	if d.Status == ronghe.DisputeResolved {
		if d.Answer != nil && string(d.Answer.Digest) == string(digest) {
			return s.view(d), nil
		}
		return nil, ronghe.Errorf(ronghe.ECONFLICT, "dispute %s is already resolved (%s)", id, d.Resolution)
	}
	now := s.p.cfg.Now().UTC()
	index, err := s.p.cfg.Log.Append(ctx, tlog.Event{Kind: tlog.KindDisputeResolved, Tenant: d.Enterprise, MessageID: id, Digest: digest, Time: now}.Leaf())
	if err != nil {
		return nil, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "transparency log unavailable; answer again later")
	}
	ans := &ronghe.DisputeAnswer{Outcome: a.Outcome, Text: strings.TrimSpace(a.Text), Document: raw, Digest: digest, KeyID: doc.Signatures[0].KeyID, At: now}
	err = s.cfg.Store.ResolveDispute(ctx, id, &ronghe.DisputeResolution{How: ronghe.ResolvedByAnswer, At: now, LogIndex: index, Answer: ans})
	if err != nil && ronghe.ErrorCode(err) != ronghe.ECONFLICT {
		return nil, err
	}
	if d, err = s.cfg.Store.FindDispute(ctx, id); err != nil {
		return nil, err
	}
	if d.Answer == nil || string(d.Answer.Digest) != string(digest) {
		// A correction (or another answer) resolved it first.
		return nil, ronghe.Errorf(ronghe.ECONFLICT, "dispute %s is already resolved (%s)", id, d.Resolution)
	}
	s.p.cfg.Logger.InfoContext(ctx, "dispute answered", "id", id, "institution", institution, "outcome", a.Outcome, "late", now.After(d.Deadline), "log_index", index)
	return s.view(d), nil
}

// verifyInstitutionDoc checks a dispute answer's single signature under a key
// the institution registered, valid at signing and now.
func (s *Disputes) verifyInstitutionDoc(ctx context.Context, code string, raw []byte, a *DisputeAnswerDoc) (*evidence.Signed, *ronghe.Institution, error) {
	inst, err := s.p.cfg.Institutions.FindInstitution(ctx, code)
	if err != nil {
		return nil, nil, err
	}
	doc, err := evidence.Parse(raw)
	if err != nil {
		return nil, nil, err
	}
	if len(doc.Signatures) != 1 {
		return nil, nil, ronghe.Errorf(ronghe.EINVALID, "the answer must carry exactly one signature, the institution's")
	}
	key, err := s.p.cfg.Keys.FindKey(ctx, code, doc.Signatures[0].KeyID)
	if ronghe.ErrorCode(err) == ronghe.ENOTFOUND {
		return nil, nil, ronghe.Errorf(ronghe.EINTEGRITY, "key %s is not registered for institution %s", doc.Signatures[0].KeyID, code)
	} else if err != nil {
		return nil, nil, err
	}
	pub, err := suite.ParsePublicKeyPEM([]byte(key.PublicKeyPEM))
	if err != nil {
		return nil, nil, err
	}
	if err := doc.Verify(TypeDisputeAnswer, []*suite.PublicKey{pub}, a); err != nil {
		return nil, nil, err
	}
	if !key.ValidAt(a.SignedAt) || !key.ValidAt(s.p.cfg.Now()) {
		return nil, nil, ronghe.Errorf(ronghe.EEXPIRED, "key %s of %s is not valid at signing time or now", key.ID, code)
	}
	return doc, inst, nil
}

// ResolveByCorrection resolves the open disputes about institution's data
// for date that were registered before the correction batch was accepted:
// the pipeline calls it once the batch (seq > 1) has replaced the earlier
// version in the aggregates. It is idempotent; it returns the disputes it
// resolved.
func (s *Disputes) ResolveByCorrection(ctx context.Context, institution, date, batch, messageID string, acceptedAt time.Time) ([]*ronghe.Dispute, error) {
	var resolved []*ronghe.Dispute
	for {
		list, err := s.cfg.Store.ListDisputes(ctx, ronghe.DisputeFilter{Institution: institution, Status: ronghe.DisputeOpen,
			From: date, To: date, RegisteredBefore: acceptedAt, Limit: correctionPage})
		if err != nil {
			return resolved, err
		}
		done, err := s.resolveByCorrection(ctx, list, institution, date, batch, messageID)
		resolved = append(resolved, done...)
		if err != nil || len(list) < correctionPage {
			return resolved, err
		}
	}
}

// correctionPage is how many disputes ResolveByCorrection resolves per
// listing; resolved ones drop out of the next.
const correctionPage = 500

func (s *Disputes) resolveByCorrection(ctx context.Context, list []*ronghe.Dispute, institution, date, batch, messageID string) ([]*ronghe.Dispute, error) {
	var resolved []*ronghe.Dispute
	for _, d := range list {
		now := s.p.cfg.Now().UTC()
		body, _ := json.Marshal(map[string]string{"dispute_id": d.ID, "resolution": ronghe.ResolvedByCorrection, "batch": batch, "message_id": messageID})
		index, err := s.p.cfg.Log.Append(ctx, tlog.Event{Kind: tlog.KindDisputeResolved, Tenant: d.Enterprise, MessageID: d.ID,
			Digest: suite.Digest(ronghe.SuiteGM, body), Time: now}.Leaf())
		if err != nil {
			return resolved, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "transparency log unavailable")
		}
		err = s.cfg.Store.ResolveDispute(ctx, d.ID, &ronghe.DisputeResolution{How: ronghe.ResolvedByCorrection, At: now, LogIndex: index,
			CorrectionBatch: batch, CorrectionMessageID: messageID})
		if ronghe.ErrorCode(err) == ronghe.ECONFLICT {
			continue // answered meanwhile
		} else if err != nil {
			return resolved, err
		}
		s.p.cfg.Logger.InfoContext(ctx, "dispute resolved by correction", "id", d.ID, "institution", institution, "date", date, "batch", batch, "log_index", index)
		if d, err = s.cfg.Store.FindDispute(ctx, d.ID); err != nil {
			return resolved, err
		}
		resolved = append(resolved, s.view(d))
	}
	return resolved, nil
}

// List returns the party's disputes, newest first; status is "", "open",
// "resolved" or "overdue".
func (s *Disputes) List(ctx context.Context, who Party, status string, limit int) ([]*ronghe.Dispute, error) {
	f, err := who.filter()
	if err != nil {
		return nil, err
	}
	f.Limit = limit
	return s.list(ctx, f, status)
}

// All lists every dispute f selects, for the operator; status as in List.
func (s *Disputes) All(ctx context.Context, f ronghe.DisputeFilter, status string) ([]*ronghe.Dispute, error) {
	return s.list(ctx, f, status)
}

func (s *Disputes) list(ctx context.Context, f ronghe.DisputeFilter, status string) ([]*ronghe.Dispute, error) {
	switch status {
	case "":
	case ronghe.DisputeOpen, ronghe.DisputeResolved:
		f.Status = status
	case StatusOverdue:
		// Deadline ≤ now, at the microsecond precision the store keeps.
		f.Status, f.DeadlineBefore = ronghe.DisputeOpen, s.p.cfg.Now().Truncate(time.Microsecond).Add(time.Microsecond)
	default:
		return nil, ronghe.Errorf(ronghe.EINVALID, "status must be open, resolved or overdue")
	}
	list, err := s.cfg.Store.ListDisputes(ctx, f)
	if err != nil {
		return nil, err
	}
	for _, d := range list {
		s.view(d)
	}
	return list, nil
}

// Find returns one of the party's disputes; another party's is not found.
func (s *Disputes) Find(ctx context.Context, who Party, id string) (*ronghe.Dispute, error) {
	if _, err := who.filter(); err != nil {
		return nil, err
	}
	d, err := s.cfg.Store.FindDispute(ctx, id)
	if err != nil || !who.owns(d) {
		return nil, ronghe.Errorf(ronghe.ENOTFOUND, "dispute not found")
	}
	return s.view(d), nil
}

// OpenDisputes returns the enterprise's open disputes whose dates overlap
// [from, to]: what a flow report over those dates marks as disputed.
func (s *Disputes) OpenDisputes(ctx context.Context, enterprise, from, to string) ([]*ronghe.Dispute, error) {
	list, err := s.cfg.Store.ListDisputes(ctx, ronghe.DisputeFilter{Enterprise: enterprise, Status: ronghe.DisputeOpen, From: from, To: to, Limit: 1000})
	if err != nil {
		return nil, err
	}
	for _, d := range list {
		s.view(d)
	}
	return list, nil
}

// view fills the computed fields of a dispute read from the store.
func (s *Disputes) view(d *ronghe.Dispute) *ronghe.Dispute {
	d.Overdue = d.OverdueAt(s.p.cfg.Now())
	return d
}
