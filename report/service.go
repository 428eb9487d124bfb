package report

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/evidence"
	"github.com/ronghe/ronghe/policy"
	"github.com/ronghe/ronghe/suite"
	"golang.org/x/time/rate"
)

// Authorizer decides and records queries (policy.Service): granted is
// called on the caller's goroutine once the query is decided and granted,
// before it is recorded.
type Authorizer interface {
	AuthorizeThen(ctx context.Context, q policy.Query, granted func()) (*ronghe.QueryRecord, *ronghe.Authorization, error)
}

// Config wires a Service.
type Config struct {
	Policy  Authorizer
	Store   ronghe.FlowStore
	Signers []suite.Signer
	// Disputes, when set, marks the data open disputes affect.
	Disputes DisputeSource
	// RatePerSecond and Burst limit each institution's report requests;
	// zero means 50/s with a burst of 100.
	RatePerSecond float64
	Burst         int
	Now           func() time.Time
	Logger        *slog.Logger
}

// Service answers institutions' flow report requests.
type Service struct {
	cfg      Config
	mu       sync.Mutex
	limiters map[string]*rate.Limiter
}

// New returns a report service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.RatePerSecond == 0 {
		cfg.RatePerSecond, cfg.Burst = 50, 100
	}
	return &Service{cfg: cfg, limiters: map[string]*rate.Limiter{}}
}

// Request is an institution's request for an enterprise's flow report.
type Request struct {
	Enterprise      string `json:"enterprise"`
	AuthorizationID string `json:"authorization_id"`
	Purpose         string `json:"purpose"`
	From            string `json:"from"`
	To              string `json:"to"`
}

func (s *Service) limiter(inst string) *rate.Limiter {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.limiters[inst]
	if l == nil {
		l = rate.NewLimiter(rate.Limit(s.cfg.RatePerSecond), s.cfg.Burst)
		s.limiters[inst] = l
	}
	return l
}

// FlowReport authorizes, records and answers one request: the report,
// signed by the platform. A request without a valid, matching authorization
// is refused (EFORBIDDEN, the same message whatever the reason) and recorded
// all the same.
func (s *Service) FlowReport(ctx context.Context, inst string, req Request) (*evidence.Signed, *Report, error) {
	if !s.limiter(inst).Allow() {
		return nil, nil, ronghe.Errorf(ronghe.ERATELIMIT, "too many report requests from %s; slow down", inst)
	}
	w, err := ParseWindow(req.From, req.To)
	if err != nil {
		return nil, nil, err
	}
	// The facts are read while the granted query is logged and recorded —
	// the transparency-log append dominates a report's time — and used only
	// once it is recorded. They are read only after the query is decided:
	// the authorization lookup, which the log append waits for, does not
	// queue behind them for the processor and the store's connections, and
	// a refusal reads nothing, so it takes as long whatever the
	// enterprise's data.
	from, to := w.From.First().String(), w.To.Last().String()
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var read chan facts
	rec, auth, err := s.cfg.Policy.AuthorizeThen(ctx, policy.Query{Institution: inst, Enterprise: req.Enterprise,
		AuthorizationID: req.AuthorizationID, Purpose: req.Purpose, Scope: ronghe.ScopeFlowReport}, func() {
		read = make(chan facts, 1)
		go func() { read <- s.facts(fctx, req.Enterprise, from, to) }()
	})
	if err != nil {
		return nil, nil, err
	}
	var fs facts
	if read != nil {
		fs = <-read
	} else {
		fs = s.facts(ctx, req.Enterprise, from, to)
	}
	if fs.err != nil {
		return nil, nil, fs.err
	}
	r := Compute(fs.facts, req.Enterprise, w, s.cfg.Now())
	if s.cfg.Disputes != nil {
		MarkDisputes(r, fs.facts, fs.disputes)
	}
	r.ID, r.Grantee, r.AuthorizationID, r.Purpose = rec.ID, inst, auth.ID, auth.Purpose
	signed, err := evidence.Sign(r, s.cfg.Signers...)
	if err != nil {
		return nil, nil, err
	}
	return signed, r, nil
}

// facts is what a report is computed from.
type facts struct {
	facts    *ronghe.FlowFacts
	disputes []*ronghe.Dispute
	err      error
}

// facts reads an enterprise's aggregates and open disputes over a range.
func (s *Service) facts(ctx context.Context, enterprise, from, to string) facts {
	f, err := s.cfg.Store.FlowFacts(ctx, enterprise, from, to)
	if err != nil {
		return facts{err: err}
	}
	var ds []*ronghe.Dispute
	if s.cfg.Disputes != nil {
		if ds, err = s.cfg.Disputes.OpenDisputes(ctx, enterprise, from, to); err != nil {
			return facts{err: err}
		}
	}
	return facts{facts: f, disputes: ds}
}
