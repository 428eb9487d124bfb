package governance

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/rrs"
)

// Identity is a finding's identity without the batch's seq: what a ticket
// tracks across the versions of one institution's business date.
type Identity struct {
	Tenant, BusinessDate, Rule, Type, Key string
}

// identityOf returns the ticket identity of a finding on batch id.
func identityOf(tenant string, id rrs.BatchID, rule, typ, key string) Identity {
	return Identity{Tenant: tenant, BusinessDate: id.Date.String(), Rule: rule, Type: typ, Key: key}
}

// ticketIdentity returns a ticket's identity.
func ticketIdentity(t *ronghe.Ticket) Identity {
	return Identity{Tenant: t.Tenant, BusinessDate: t.BusinessDate, Rule: t.Rule, Type: t.Type, Key: t.Key}
}

// TicketID derives a ticket's ID from its identity and the batch that
// opened it: "TK-<YYYYMMDD>-<16 hex>". IDs sort by business date.
func TicketID(idn Identity, batch string) string {
	h := sha256.Sum256([]byte(strings.Join([]string{idn.Tenant, idn.BusinessDate, idn.Rule, idn.Type, idn.Key, batch}, "\x00")))
	return "TK-" + strings.ReplaceAll(idn.BusinessDate, "-", "") + "-" + hex.EncodeToString(h[:8])
}

// The ticket state machine (RRS-1 §4):
//
//	            finding (no active ticket)
//	                    │
//	                    ▼
//	   ┌──────────── open ───────────┐ deadline passes
//	   │ later finding: joined       │ (escalation notice,
//	   │                             ▼  listed to the supervisor)
//	   │                         overdue ── later finding: joined
//	   │                             │
//	   │  corrected: a later, non-rejected version of the batch
//	   │  no longer shows the finding (T03: the counterparty's
//	   │  batch no longer mismatches; P01: the row now equals the
//	   │  institution's source copy)
//	   │  confirmed (W only): a signed note confirms the data
//	   ▼                             ▼
//	   └──────────► closed ◄─────────┘   (terminal)
//
// A closed ticket never reopens: the finding showing again opens a new
// ticket, except a W finding whose data the institution confirmed before.
// Each transition below returns a new value with Version increased, or an
// error if the transition is not allowed from the ticket's state.

// NewTicket opens a ticket for a finding first shown by batch, at now, due
// days business days later.
func NewTicket(idn Identity, severity, field, message, batch string, now time.Time, cal *Calendar, days int) *ronghe.Ticket {
	due, dueAt := cal.Deadline(now, days)
	return &ronghe.Ticket{
		ID: TicketID(idn, batch), Tenant: idn.Tenant, BusinessDate: idn.BusinessDate, Rule: idn.Rule, Severity: severity,
		Type: idn.Type, Key: idn.Key, Field: field, Message: message, State: ronghe.TicketOpen,
		FirstBatch: batch, LastBatch: batch, Occurrences: 1, OpenedAt: now, DueDate: due.String(), DueAt: dueAt, Version: 1,
	}
}

func active(t *ronghe.Ticket) bool {
	return t.State == ronghe.TicketOpen || t.State == ronghe.TicketOverdue
}

func next(t *ronghe.Ticket) *ronghe.Ticket {
	c := *t
	c.Version++
	return &c
}

// JoinTicket records that batch shows the ticket's finding again. It
// returns nil when batch is the one the ticket last saw (nothing changes).
// The deadline is not moved: a repeated finding does not buy time.
func JoinTicket(t *ronghe.Ticket, batch string) (*ronghe.Ticket, error) {
	if !active(t) {
		return nil, ronghe.Errorf(ronghe.ECONFLICT, "ticket %s is %s; a closed ticket is not joined", t.ID, t.State)
	}
	if t.LastBatch == batch {
		return nil, nil
	}
	c := next(t)
	c.LastBatch = batch
	c.Occurrences++
	return c, nil
}

// MarkOverdue moves an open ticket past its deadline to overdue.
func MarkOverdue(t *ronghe.Ticket, now time.Time) (*ronghe.Ticket, error) {
	switch {
	case t.State != ronghe.TicketOpen:
		return nil, ronghe.Errorf(ronghe.ECONFLICT, "ticket %s is %s, not open", t.ID, t.State)
	case now.Before(t.DueAt):
		return nil, ronghe.Errorf(ronghe.ECONFLICT, "ticket %s is due at %s, not yet", t.ID, t.DueAt.Format(time.RFC3339))
	}
	c := next(t)
	c.State = ronghe.TicketOverdue
	at := now
	c.OverdueAt = &at
	return c, nil
}

// CloseCorrected closes an active ticket because batch no longer shows its
// finding.
func CloseCorrected(t *ronghe.Ticket, batch string, now time.Time) (*ronghe.Ticket, error) {
	if !active(t) {
		return nil, ronghe.Errorf(ronghe.ECONFLICT, "ticket %s is already closed", t.ID)
	}
	c := next(t)
	c.State, c.Resolution, c.ClosedBy = ronghe.TicketClosed, ronghe.ResolutionCorrected, batch
	at := now
	c.ClosedAt = &at
	return c, nil
}

// Confirm closes an active W ticket with the institution's signed
// confirmation. An E finding is closed only by a correction.
func Confirm(t *ronghe.Ticket, answer []byte, note, by string, now time.Time) (*ronghe.Ticket, error) {
	switch {
	case t.Severity != ronghe.SeverityWarning:
		return nil, ronghe.Errorf(ronghe.ECONFLICT, "ticket %s is an error (E) finding: it closes only when a correction batch no longer shows it", t.ID)
	case !active(t):
		return nil, ronghe.Errorf(ronghe.ECONFLICT, "ticket %s is already closed (%s)", t.ID, t.Resolution)
	}
	c := next(t)
	c.State, c.Resolution, c.ClosedBy = ronghe.TicketClosed, ronghe.ResolutionConfirmed, by
	c.Answer, c.AnswerNote = answer, note
	at := now
	c.ClosedAt = &at
	return c, nil
}
