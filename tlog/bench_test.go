package tlog

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// benchmarkAppend runs b.N operations from 32 concurrent callers; each does op
// and the latency of every op is collected to report p50/p99.
func benchmarkAppend(b *testing.B, op func(ctx context.Context, l *Log, i int) error) {
	const concurrency = 32
	k := newTestKeys(b)
	l := openTestLog(b, k, b.TempDir())
	ctx := context.Background()

	var next atomic.Int64
	lat := make([][]time.Duration, concurrency)
	var wg sync.WaitGroup
	var failed atomic.Value
	b.ResetTimer()
	start := time.Now()
	cpu0 := cpuTime()
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				t0 := time.Now()
				if err := op(ctx, l, i); err != nil {
					failed.Store(err)
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	if err, ok := failed.Load().(error); ok {
		b.Fatal(err)
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	pct := func(p float64) float64 {
		return float64(all[int(float64(len(all)-1)*p)].Microseconds()) / 1000
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "appends/s")
	b.ReportMetric(pct(0.50), "p50_ms")
	b.ReportMetric(pct(0.99), "p99_ms")
	// CPU per append (the whole process, every thread): what an append
	// costs whatever else the machine runs.
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu_us/op")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkAppendAwait measures Append followed by AwaitCheckpoint: the time
// until a caller holds an index and a published checkpoint covering it.
func BenchmarkAppendAwait(b *testing.B) {
	benchmarkAppend(b, func(ctx context.Context, l *Log, i int) error {
		idx, err := l.AppendEvent(ctx, testEvent(i))
		if err != nil {
			return err
		}
		_, _, err = l.AwaitCheckpoint(ctx, idx)
		return err
	})
}

// BenchmarkRecord measures a full receipt: append, await, inclusion proof.
func BenchmarkRecord(b *testing.B) {
	benchmarkAppend(b, func(ctx context.Context, l *Log, i int) error {
		_, err := Record(ctx, l, l, testEvent(i))
		return err
	})
}

// BenchmarkAppend measures sequencing alone (index known, no checkpoint wait).
func BenchmarkAppend(b *testing.B) {
	benchmarkAppend(b, func(ctx context.Context, l *Log, i int) error {
		_, err := l.AppendEvent(ctx, testEvent(i))
		return err
	})
}
