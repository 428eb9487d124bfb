package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/policy"
	"github.com/ronghe/ronghe/sqlstore"
)

// stages times the parts of a report that wait — the transparency-log
// append, the query record's commit, the facts read — while on is set, so
// that a run shows where a report's latency goes.
type stages struct {
	on atomic.Bool
	mu sync.Mutex
	d  map[string][]time.Duration
}

func (s *stages) time(name string, t0 time.Time) {
	if !s.on.Load() {
		return
	}
	el := time.Since(t0)
	s.mu.Lock()
	if s.d == nil {
		s.d = map[string][]time.Duration{}
	}
	s.d[name] = append(s.d[name], el)
	s.mu.Unlock()
}

// summary is "name p50/p99 ms" for every stage timed.
func (s *stages) summary() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.d))
	for n := range s.d {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []string
	for _, n := range names {
		l := s.d[n]
		sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
		out = append(out, fmt.Sprintf("%s %.2f/%.2f", n, ms(pct(l, 0.5)), ms(pct(l, 0.99))))
	}
	return "stage p50/p99 ms: " + strings.Join(out, ", ")
}

// timedLog times the policy's log appends.
type timedLog struct {
	policy.Log
	st *stages
}

func (l timedLog) Append(ctx context.Context, leaf []byte) (uint64, error) {
	defer l.st.time("log append", time.Now())
	return l.Log.Append(ctx, leaf)
}

// timedStore times the query record's commit and the facts read.
type timedStore struct {
	*sqlstore.DB
	st *stages
}

func (s timedStore) PutQueryRecord(ctx context.Context, q *ronghe.QueryRecord) error {
	defer s.st.time("record commit", time.Now())
	return s.DB.PutQueryRecord(ctx, q)
}

func (s timedStore) FlowFacts(ctx context.Context, uscc, from, to string) (*ronghe.FlowFacts, error) {
	defer s.st.time("facts", time.Now())
	return s.DB.FlowFacts(ctx, uscc, from, to)
}
