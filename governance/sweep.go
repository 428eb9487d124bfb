package governance

import (
	"context"
	"fmt"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/internal/periodic"
)

// Sweep applies the deadlines that have passed: every open ticket past its
// due time becomes overdue and is escalated (one notice per institution,
// listed to the supervisor), every requested sample past its due time fails
// as unanswered. Then it delivers the messages still owed. Several
// processes may sweep at once: each change is conditional on the version it
// read, so a ticket is escalated once.
func (s *Service) Sweep(ctx context.Context) error {
	now := s.now()
	after := ""
	for {
		ts, err := s.store.ListTickets(ctx, ronghe.TicketFilter{States: []string{ronghe.TicketOpen}, DueBefore: &now, After: after, Limit: 500})
		if err != nil {
			return err
		}
		if len(ts) == 0 {
			break
		}
		after = ts[len(ts)-1].ID
		byTenant := map[string][]*ronghe.Ticket{}
		var order []string
		for _, t := range ts {
			if byTenant[t.Tenant] == nil {
				order = append(order, t.Tenant)
			}
			byTenant[t.Tenant] = append(byTenant[t.Tenant], t)
		}
		for _, tenant := range order {
			if err := s.escalate(ctx, tenant, byTenant[tenant], now); err != nil {
				if ronghe.ErrorCode(err) != ronghe.ECONFLICT {
					return err
				}
				s.log.InfoContext(ctx, "governance: tickets changed while escalating; next sweep", "tenant", tenant)
			}
		}
	}
	samples, err := s.store.ListSamples(ctx, ronghe.SampleFilter{Status: ronghe.SampleRequested, DueBefore: &now, Limit: 1000})
	if err != nil {
		return err
	}
	for _, smp := range samples {
		upd := *smp
		upd.Status, upd.Reason, upd.DecidedAt, upd.Version = ronghe.SampleFailed, "not answered by the due date "+smp.DueDate, &now, smp.Version+1
		ch := &ronghe.QualityChange{Samples: []*ronghe.Sample{&upd}, Outbox: []*ronghe.OutboxMessage{sampleResult(&upd, nil, now)}}
		if err := s.store.ApplyQuality(ctx, ch); err != nil && ronghe.ErrorCode(err) != ronghe.ECONFLICT {
			return err
		}
	}
	s.deliver(ctx, nil)
	return nil
}

// escalate marks a tenant's tickets overdue and queues one notice.
func (s *Service) escalate(ctx context.Context, tenant string, ts []*ronghe.Ticket, now time.Time) error {
	ch := &ronghe.QualityChange{}
	var overdue []*ronghe.Ticket
	for _, t := range ts {
		o, err := MarkOverdue(t, now)
		if err != nil {
			continue
		}
		ch.Tickets = append(ch.Tickets, o)
		overdue = append(overdue, o)
	}
	if len(overdue) == 0 {
		return nil
	}
	ch.Outbox = append(ch.Outbox, jsonMessage(tenant, KindEscalation,
		fmt.Sprintf("整改逾期 %d rectification tickets are overdue", len(overdue)), "",
		&Escalation{Type: TypeEscalation, Tickets: ticketNotices(overdue),
			Message: "These findings were not rectified by their due date. They are escalated and listed to the supervisor; " +
				"submit a correction batch (batch_seq + 1) that no longer shows them, or confirm a W finding's data with a signed answer."}, now))
	return s.store.ApplyQuality(ctx, ch)
}

// Start runs Sweep now and then every SweepInterval until ctx ends or the
// returned stop function is called; stop waits for a running sweep.
func (s *Service) Start(ctx context.Context) (stop func()) {
	return periodic.Start(ctx, s.cfg.SweepInterval, func(ctx context.Context) {
		if err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "governance: sweep", "err", err)
		}
	})
}
