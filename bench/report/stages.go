package main

import (
	"context"
	"fmt"
	"slices"
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
	on       atomic.Bool
	mu       sync.Mutex
	d        map[string][]time.Duration
	appended []time.Time // when each log append returned
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
	i, err := l.Log.Append(ctx, leaf)
	if l.st.on.Load() {
		l.st.mu.Lock()
		l.st.appended = append(l.st.appended, time.Now())
		l.st.mu.Unlock()
	}
	return i, err
}

// batches estimates the log's batches from when appends return: those of
// one batch return together, batches at least the sequencing of one apart.
func (s *stages) batches() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := slices.Clone(s.appended)
	if len(t) == 0 {
		return "no appends"
	}
	slices.SortFunc(t, func(a, b time.Time) int { return a.Compare(b) })
	n := 1
	for i := 1; i < len(t); i++ {
		if t[i].Sub(t[i-1]) > 300*time.Microsecond {
			n++
		}
	}
	return fmt.Sprintf("log: %d appends in about %d batches (%.1f a batch)", len(t), n, float64(len(t))/float64(n))
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
