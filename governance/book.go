package governance

import (
	"context"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/rrs"
)

// ticketBook collects the ticket transitions of one change: it reads the
// tickets of each (institution, date) once, applies the state machine, and
// emits each changed ticket once with its version one above the stored one.
type ticketBook struct {
	s   *Service
	ch  *ronghe.QualityChange
	now time.Time

	actives   map[string]map[Identity]*ronghe.Ticket // tenant|date → active tickets
	confirmed map[string]map[Identity]*ronghe.Ticket // tenant|date → tickets closed by confirmation
	stored    map[string]int                         // ticket ID → stored version (changed tickets)
	changed   map[string]*ronghe.Ticket
	order     []string
	touched   map[string]bool // tickets the change's findings showed

	// opened, joined and closed list ticket IDs per tenant, for reports.
	opened, joined, closed map[string][]string
}

func newTicketBook(s *Service, ch *ronghe.QualityChange, now time.Time) *ticketBook {
	return &ticketBook{s: s, ch: ch, now: now, actives: map[string]map[Identity]*ronghe.Ticket{},
		confirmed: map[string]map[Identity]*ronghe.Ticket{}, stored: map[string]int{}, changed: map[string]*ronghe.Ticket{},
		touched: map[string]bool{}, opened: map[string][]string{}, joined: map[string][]string{}, closed: map[string][]string{}}
}

func (b *ticketBook) load(ctx context.Context, tenant, date string) (map[Identity]*ronghe.Ticket, error) {
	k := tenant + "|" + date
	if m, ok := b.actives[k]; ok {
		return m, nil
	}
	ts, err := b.s.store.ActiveTickets(ctx, tenant, date)
	if err != nil {
		return nil, err
	}
	cs, err := b.s.store.ConfirmedTickets(ctx, tenant, date)
	if err != nil {
		return nil, err
	}
	m, c := map[Identity]*ronghe.Ticket{}, map[Identity]*ronghe.Ticket{}
	for _, t := range ts {
		m[ticketIdentity(t)] = t
	}
	for _, t := range cs {
		c[ticketIdentity(t)] = t
	}
	b.actives[k], b.confirmed[k] = m, c
	return m, nil
}

// active returns the active tickets of a tenant and date as the change
// leaves them so far.
func (b *ticketBook) active(ctx context.Context, tenant, date string) ([]*ronghe.Ticket, error) {
	m, err := b.load(ctx, tenant, date)
	if err != nil {
		return nil, err
	}
	out := make([]*ronghe.Ticket, 0, len(m))
	for _, t := range m {
		out = append(out, t)
	}
	return out, nil
}

// update records t's new value.
func (b *ticketBook) update(old, t *ronghe.Ticket) {
	if _, ok := b.stored[t.ID]; !ok {
		if isNew := b.changed[t.ID] != nil; !isNew {
			b.stored[t.ID] = old.Version
			b.order = append(b.order, t.ID)
		}
	}
	b.changed[t.ID] = t
}

// record opens or joins the ticket of finding f on batch id of tenant, and
// sets f.TicketID. It adds f to the change.
func (b *ticketBook) record(ctx context.Context, tenant string, id rrs.BatchID, f *ronghe.QualityFinding) error {
	m, err := b.load(ctx, tenant, id.Date.String())
	if err != nil {
		return err
	}
	idn := identityOf(tenant, id, f.Rule, f.Type, f.Key)
	b.ch.Findings = append(b.ch.Findings, f)
	if t := m[idn]; t != nil {
		f.TicketID = t.ID
		b.touched[t.ID] = true
		j, err := JoinTicket(t, f.Batch)
		if err != nil {
			return err
		}
		if j != nil {
			b.update(t, j)
			m[idn] = j
			b.joined[tenant] = append(b.joined[tenant], t.ID)
		}
		return nil
	}
	if c := b.confirmed[tenant+"|"+id.Date.String()][idn]; c != nil && f.Severity == ronghe.SeverityWarning {
		f.TicketID = c.ID // the institution confirmed this data before
		return nil
	}
	t := NewTicket(idn, f.Severity, f.Field, f.Message, f.Batch, b.now, b.s.cfg.Calendar, b.s.cfg.DeadlineDays)
	f.TicketID = t.ID
	b.touched[t.ID] = true
	m[idn] = t
	b.changed[t.ID] = t
	b.ch.NewTickets = append(b.ch.NewTickets, t)
	b.opened[tenant] = append(b.opened[tenant], t.ID)
	return nil
}

// close closes an active ticket as corrected by batch.
func (b *ticketBook) close(t *ronghe.Ticket, batch string) {
	c, err := CloseCorrected(t, batch, b.now)
	if err != nil {
		return // closed already in this change
	}
	b.update(t, c)
	delete(b.actives[t.Tenant+"|"+t.BusinessDate], ticketIdentity(t))
	b.closed[t.Tenant] = append(b.closed[t.Tenant], t.ID)
}

// finish puts the changed stored tickets into the change, each one version
// above the stored one; new tickets are inserted with their final state.
func (b *ticketBook) finish() {
	isNew := map[string]bool{}
	for i, t := range b.ch.NewTickets {
		isNew[t.ID] = true
		final := *b.changed[t.ID]
		final.Version = 1
		b.ch.NewTickets[i] = &final
	}
	for _, id := range b.order {
		if isNew[id] {
			continue
		}
		t := *b.changed[id]
		t.Version = b.stored[id] + 1
		b.ch.Tickets = append(b.ch.Tickets, &t)
	}
}
