package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/rrs"
)

// fakeGovernance keeps tickets and checks per tenant and records the
// filters it was asked for.
type fakeGovernance struct {
	mu      sync.Mutex
	tickets map[string]*ronghe.Ticket // by ID
	filters []ronghe.TicketFilter
	months  []rrs.Period
	answers [][]byte
}

func (g *fakeGovernance) View(_ context.Context, tenant, batch string) (*ronghe.QualityView, error) {
	if batch != tenant+"_20250106_1" {
		return nil, ronghe.Errorf(ronghe.ENOTFOUND, "no batch %s", batch)
	}
	return &ronghe.QualityView{Quality: &ronghe.BatchQuality{Tenant: tenant, Batch: batch, Status: ronghe.QualityRunning, Phase: "check", Done: 3, Total: 40},
		Findings: []*ronghe.QualityFinding{}, Messages: []*ronghe.OutboxMessage{}}, nil
}

func (g *fakeGovernance) Tickets(_ context.Context, f ronghe.TicketFilter) ([]*ronghe.Ticket, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.filters = append(g.filters, f)
	var out []*ronghe.Ticket
	for _, t := range g.tickets {
		if t.Tenant == f.Tenant {
			out = append(out, t)
		}
	}
	return out, nil
}

func (g *fakeGovernance) Ticket(_ context.Context, tenant, id string) (*ronghe.Ticket, error) {
	if t := g.tickets[id]; t != nil && t.Tenant == tenant {
		return t, nil
	}
	return nil, ronghe.Errorf(ronghe.ENOTFOUND, "ticket %s not found", id)
}

func (g *fakeGovernance) AnswerTicket(ctx context.Context, tenant, id string, doc []byte) (*ronghe.Ticket, error) {
	t, err := g.Ticket(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	g.answers = append(g.answers, doc)
	g.mu.Unlock()
	if t.Severity == ronghe.SeverityError {
		return nil, ronghe.Errorf(ronghe.ECONFLICT, "an E finding closes only with a correction")
	}
	c := *t
	c.State, c.Resolution = ronghe.TicketClosed, ronghe.ResolutionConfirmed
	return &c, nil
}

func (g *fakeGovernance) Score(_ context.Context, tenant string, month rrs.Period) (*ronghe.QualityScore, error) {
	g.mu.Lock()
	g.months = append(g.months, month)
	g.mu.Unlock()
	return &ronghe.QualityScore{Tenant: tenant, Month: month.String(), Score: 97.5, Grade: ronghe.GradeA}, nil
}

// withGovernance serves the env's API again with Governance wired.
func withGovernance(t *testing.T, e *env, g Governance) {
	t.Helper()
	cfg := e.srv.cfg
	cfg.Governance = g
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(srv.Handler())
	ts.TLS = e.ts.TLS
	ts.StartTLS()
	t.Cleanup(ts.Close)
	e.srv, e.ts = srv, ts
}

func TestGovernanceRoutes(t *testing.T) {
	e := newEnv(t)
	g := &fakeGovernance{tickets: map[string]*ronghe.Ticket{
		"TK-A-E": {ID: "TK-A-E", Tenant: instA, Severity: ronghe.SeverityError, State: ronghe.TicketOpen},
		"TK-A-W": {ID: "TK-A-W", Tenant: instA, Severity: ronghe.SeverityWarning, State: ronghe.TicketOverdue},
		"TK-B-W": {ID: "TK-B-W", Tenant: instB, Severity: ronghe.SeverityWarning, State: ronghe.TicketOpen},
	}}
	withGovernance(t, e, g)

	// A batch's check, to its institution only.
	st, _, b := e.do("A", "GET", "/v1/batches/"+instA+"_20250106_1/quality", nil, nil)
	var v ronghe.QualityView
	if st != 200 || json.Unmarshal(b, &v) != nil || v.Quality.Status != ronghe.QualityRunning || v.Quality.Done != 3 || v.Quality.Total != 40 {
		t.Fatalf("quality: %d %s", st, b)
	}
	st, h, b := e.do("B", "GET", "/v1/batches/"+instA+"_20250106_1/quality", nil, nil)
	e.problem(st, h, b, http.StatusNotFound, ronghe.ENOTFOUND)
	st, h, b = e.do("none", "GET", "/v1/batches/"+instA+"_20250106_1/quality", nil, nil)
	e.problem(st, h, b, http.StatusUnauthorized, ronghe.EUNAUTHORIZED)

	// Tickets: the filter is the caller's, validated.
	st, _, b = e.do("A", "GET", "/v1/tickets?state=overdue&date=2025-01-06&after=TK-0&limit=5", nil, nil)
	var list TicketList
	if st != 200 || json.Unmarshal(b, &list) != nil || len(list.Tickets) != 2 {
		t.Fatalf("tickets: %d %s", st, b)
	}
	want := ronghe.TicketFilter{Tenant: instA, States: []string{ronghe.TicketOverdue}, BusinessDate: "2025-01-06", After: "TK-0", Limit: 5}
	if got := g.filters[len(g.filters)-1]; !reflect.DeepEqual(got, want) {
		t.Fatalf("filter %+v, want %+v", got, want)
	}
	for _, bad := range []string{"state=done", "date=2025-1-6", "limit=0", "limit=1001", "limit=x"} {
		st, h, b := e.do("A", "GET", "/v1/tickets?"+bad, nil, nil)
		e.problem(st, h, b, http.StatusBadRequest, ronghe.EINVALID)
	}
	st, _, b = e.do("B", "GET", "/v1/tickets", nil, nil)
	if st != 200 || json.Unmarshal(b, &list) != nil || len(list.Tickets) != 1 || list.Tickets[0].ID != "TK-B-W" {
		t.Fatalf("B's tickets: %d %s", st, b)
	}
	st, h, b = e.do("B", "GET", "/v1/tickets/TK-A-W", nil, nil)
	e.problem(st, h, b, http.StatusNotFound, ronghe.ENOTFOUND)
	st, _, b = e.do("A", "GET", "/v1/tickets/TK-A-W", nil, nil)
	if st != 200 {
		t.Fatalf("ticket: %d %s", st, b)
	}

	// Answers: the signed document is passed as sent.
	doc := []byte(`{"payload":"e30=","signatures":[]}`)
	st, _, b = e.do("A", "POST", "/v1/tickets/TK-A-W/answer", doc, map[string]string{"Content-Type": "application/json"})
	var tk ronghe.Ticket
	if st != 200 || json.Unmarshal(b, &tk) != nil || tk.Resolution != ronghe.ResolutionConfirmed || string(g.answers[0]) != string(doc) {
		t.Fatalf("answer: %d %s", st, b)
	}
	st, h, b = e.do("A", "POST", "/v1/tickets/TK-A-E/answer", doc, map[string]string{"Content-Type": "application/json"})
	e.problem(st, h, b, http.StatusConflict, ronghe.ECONFLICT)
	st, h, b = e.do("B", "POST", "/v1/tickets/TK-A-W/answer", doc, map[string]string{"Content-Type": "application/json"})
	e.problem(st, h, b, http.StatusNotFound, ronghe.ENOTFOUND)

	// Score: the caller's own, for the month asked or the current one.
	st, _, b = e.do("A", "GET", "/v1/quality/score?month=2025-01", nil, nil)
	var sc ronghe.QualityScore
	if st != 200 || json.Unmarshal(b, &sc) != nil || sc.Tenant != instA || sc.Month != "2025-01" {
		t.Fatalf("score: %d %s", st, b)
	}
	if _, _, _ = e.do("A", "GET", "/v1/quality/score", nil, nil); g.months[len(g.months)-1] != (rrs.Period{}) {
		t.Fatalf("default month passed as %v", g.months[len(g.months)-1])
	}
	st, h, b = e.do("A", "GET", "/v1/quality/score?month=2025-13", nil, nil)
	e.problem(st, h, b, http.StatusBadRequest, ronghe.EINVALID)

	// Documented in the OpenAPI document.
	paths := loadDoc(t, e.srv)["paths"].(map[string]any)
	for _, p := range []string{"/v1/batches/{id}/quality", "/v1/tickets", "/v1/tickets/{id}", "/v1/tickets/{id}/answer", "/v1/quality/score"} {
		if paths[p] == nil {
			t.Errorf("%s is not documented", p)
		}
	}
}

func TestGovernanceRoutesOptional(t *testing.T) {
	e := newEnv(t)
	st, h, b := e.do("A", "GET", "/v1/tickets", nil, nil)
	e.problem(st, h, b, http.StatusNotFound, ronghe.ENOTFOUND)
}
