// Command smallmsg is the small-message benchmark: it starts a real
// `ronghe serve` (TLS 1.3, mutual TLS, embedded SQLite, local blobs, Tessera
// log) in a fresh data directory, onboards -banks institutions with
// `ronghe admin institution add`, and then makes -n submissions of one
// -size byte file each from -concurrency goroutines through the real client
// (client.Client.Submit: hash, sign, POST the manifest, tus upload, complete,
// fetch the receipt and verify it against the pinned platform keys). Every
// submission's latency is recorded; it prints receipted messages per second
// and the latency percentiles, with the server's CPU time and peak RSS.
//
//	go build -o /tmp/ronghe ./cmd/ronghe
//	go run ./bench/cmd/smallmsg -ronghe /tmp/ronghe -n 100000
//
// bench/small-messages.sh runs it together with the peer figure (Tessera's
// own append rate, from the tlog benchmark, in the same run).
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/client"
)

type config struct {
	ronghe      string
	work        string
	addr        string
	banks       int
	n           int
	concurrency int
	size        int
	suite       string
	keep        bool
	asJSON      bool
	progress    time.Duration
	serverArgs  string
	perf        string
	cpuprofile  string
	clientprof  string
	maxTime     time.Duration
}

// Result is what one run measured.
type Result struct {
	Requested    int     `json:"requested"`
	Stopped      string  `json:"stopped,omitempty"`
	Submissions  int     `json:"submissions"`
	Failed       int64   `json:"failed"`
	Banks        int     `json:"banks"`
	Suite        string  `json:"suite"`
	Concurrency  int     `json:"concurrency"`
	Bytes        int     `json:"bytes_per_file"`
	Seconds      float64 `json:"seconds"`
	PerSecond    float64 `json:"messages_per_s"`
	P50ms        float64 `json:"p50_ms"`
	P90ms        float64 `json:"p90_ms"`
	P99ms        float64 `json:"p99_ms"`
	P999ms       float64 `json:"p999_ms"`
	Maxms        float64 `json:"max_ms"`
	ServerCPU    float64 `json:"server_cpu_s"`
	ServerPeakMB float64 `json:"server_peak_rss_mb"`
	ClientCPU    float64 `json:"client_cpu_s"`
	FirstError   string  `json:"first_error,omitempty"`
}

func main() {
	var c config
	flag.StringVar(&c.ronghe, "ronghe", "bin/ronghe", "the ronghe binary to run")
	flag.StringVar(&c.work, "work", "", "scratch directory (default: a new temporary directory, removed afterwards)")
	flag.StringVar(&c.addr, "listen", "127.0.0.1:18700", "address for ronghe serve")
	flag.IntVar(&c.banks, "banks", 8, "institutions to onboard; submissions are spread over them")
	flag.IntVar(&c.n, "n", 100000, "submissions")
	flag.IntVar(&c.concurrency, "concurrency", 32, "submissions in flight")
	flag.IntVar(&c.size, "size", 1024, "bytes of the one file of each submission")
	flag.StringVar(&c.suite, "suite", "mixed", "suite of the banks: INTL, GM or mixed (alternating)")
	flag.BoolVar(&c.keep, "keep", false, "keep the scratch directory")
	flag.BoolVar(&c.asJSON, "json", false, "print the result as JSON")
	flag.DurationVar(&c.progress, "progress", 10*time.Second, "progress line interval on stderr (0: none)")
	flag.StringVar(&c.serverArgs, "server-args", "", "extra space-separated arguments for ronghe serve")
	flag.StringVar(&c.cpuprofile, "cpuprofile", "", "have the server write its Go CPU profile here (RONGHE_CPUPROFILE; covers the whole server run)")
	flag.DurationVar(&c.maxTime, "max-time", 0, "stop starting submissions after this long and report those made (0: no limit)")
	flag.StringVar(&c.clientprof, "clientprofile", "", "write this program's (the clients') Go CPU profile of the submissions here")
	flag.StringVar(&c.perf, "perf", "", "record the server's CPU profile with `perf record -g` into this file during the submissions")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := run(ctx, c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "smallmsg:", err)
		os.Exit(1)
	}
	if c.asJSON {
		json.NewEncoder(os.Stdout).Encode(res)
	} else {
		fmt.Printf("small messages: %d submissions of %d B, %d banks (%s), concurrency %d\n", res.Submissions, res.Bytes, res.Banks, res.Suite, res.Concurrency)
		if res.Stopped != "" {
			fmt.Printf("  stopped early (%s) after %d of %d\n", res.Stopped, res.Submissions, res.Requested)
		}
		fmt.Printf("  %.0f receipted messages/s (%.1f s); latency p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, p99.9 %.1f ms, max %.1f ms\n",
			res.PerSecond, res.Seconds, res.P50ms, res.P90ms, res.P99ms, res.P999ms, res.Maxms)
		fmt.Printf("  server CPU %.1f s (%.2f ms/message), peak RSS %.0f MB; client CPU %.1f s (%.2f ms/message); failed %d\n",
			res.ServerCPU, res.ServerCPU*1000/float64(res.Submissions), res.ServerPeakMB, res.ClientCPU, res.ClientCPU*1000/float64(res.Submissions), res.Failed)
		if res.FirstError != "" {
			fmt.Printf("  first error: %s\n", res.FirstError)
		}
	}
	if res.Failed > 0 {
		os.Exit(1)
	}
}

func run(ctx context.Context, c config) (*Result, error) {
	if c.banks < 1 || c.n < 1 || c.concurrency < 1 {
		return nil, errors.New("-banks, -n and -concurrency must be positive")
	}
	bin, err := filepath.Abs(c.ronghe)
	if err != nil {
		return nil, err
	}
	work := c.work
	if work == "" {
		if work, err = os.MkdirTemp("", "ronghe-smallmsg-"); err != nil {
			return nil, err
		}
	} else if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, err
	}
	if !c.keep {
		defer os.RemoveAll(work)
	}
	data := filepath.Join(work, "data")
	if err := os.RemoveAll(data); err != nil {
		return nil, err
	}

	srv, err := startServer(ctx, bin, data, c.addr, work, c.cpuprofile, strings.Fields(c.serverArgs))
	if err != nil {
		return nil, err
	}
	defer srv.stop()

	// Onboard the banks.
	suites := make([]ronghe.Suite, c.banks)
	clients := make([]*client.Client, c.banks)
	codes := make([]string, c.banks)
	for b := range c.banks {
		switch c.suite {
		case "INTL":
			suites[b] = ronghe.SuiteINTL
		case "GM":
			suites[b] = ronghe.SuiteGM
		case "mixed":
			suites[b] = []ronghe.Suite{ronghe.SuiteINTL, ronghe.SuiteGM}[b%2]
		default:
			return nil, fmt.Errorf("-suite must be INTL, GM or mixed, not %q", c.suite)
		}
		codes[b] = fmt.Sprintf("BENCHB%08d", b+1)
		prof := filepath.Join(work, "profiles", codes[b])
		cmd := exec.CommandContext(ctx, bin, "admin", "institution", "add", "--data", data, "--code", codes[b],
			"--name", "Bench bank "+strconv.Itoa(b+1), "--suite", string(suites[b]), "--server", "https://"+c.addr, "--out", prof)
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("onboarding %s: %v: %s", codes[b], err, out)
		}
		p, err := client.LoadProfile(prof)
		if err != nil {
			return nil, err
		}
		if clients[b], err = client.New(p); err != nil {
			return nil, err
		}
	}

	// One batch directory per submission: <code>_<YYYYMMDD>_<seq>/TXN.csv
	// with -size random bytes, made before the clock starts.
	fmt.Fprintf(os.Stderr, "smallmsg: writing %d batch directories\n", c.n)
	batches := filepath.Join(work, "batches")
	paths := make([]string, c.n)
	if err := parallel(c.n, 8, func(i int) error {
		b := i % c.banks
		k := i / c.banks // the bank's k-th submission
		date := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, k/9999)
		dir := filepath.Join(batches, fmt.Sprintf("%s_%s_%d", codes[b], date.Format("20060102"), k%9999+1))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		buf := make([]byte, c.size)
		rand.Read(buf)
		paths[i] = dir
		return os.WriteFile(filepath.Join(dir, "TXN.csv"), buf, 0o644)
	}); err != nil {
		return nil, err
	}

	// Warm the connections (TLS handshakes, HTTP/2) outside the clock.
	for _, cl := range clients {
		if _, err := cl.Platform(ctx); err != nil {
			return nil, fmt.Errorf("server not answering: %w", err)
		}
	}

	fmt.Fprintf(os.Stderr, "smallmsg: %d submissions at concurrency %d\n", c.n, c.concurrency)
	if c.perf != "" {
		stopPerf, err := perfRecord(c.perf, srv.cmd.Process.Pid)
		if err != nil {
			return nil, err
		}
		defer stopPerf()
	}
	if c.clientprof != "" {
		f, err := os.Create(c.clientprof)
		if err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	cpu0 := clientCPU()
	var next, done, failed atomic.Int64
	var firstErr atomic.Value
	lat := make([][]time.Duration, c.concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	stopProgress := make(chan struct{})
	if c.progress > 0 {
		go func() {
			t := time.NewTicker(c.progress)
			defer t.Stop()
			last, lastT := int64(0), start
			for {
				select {
				case <-stopProgress:
					return
				case now := <-t.C:
					d := done.Load()
					fmt.Fprintf(os.Stderr, "smallmsg: %d/%d done, %.0f/s now, %d failed\n", d, c.n, float64(d-last)/now.Sub(lastT).Seconds(), failed.Load())
					last, lastT = d, now
				}
			}
		}()
	}
	for w := range c.concurrency {
		wg.Go(func() {
			for ctx.Err() == nil && (c.maxTime <= 0 || time.Since(start) < c.maxTime) {
				i := int(next.Add(1)) - 1
				if i >= c.n {
					return
				}
				t0 := time.Now()
				res, err := clients[i%c.banks].Submit(ctx, paths[i], client.SubmitOptions{})
				d := time.Since(t0)
				if err == nil && !res.Verified {
					err = errors.New("receipt not verified (no pinned platform keys)")
				}
				if err != nil && ctx.Err() != nil {
					return // interrupted: not a failure of the submission
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("%s: %v", filepath.Base(paths[i]), err))
					continue
				}
				lat[w] = append(lat[w], d)
				done.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stopProgress)
	stopped := ""
	if ctx.Err() != nil {
		stopped = "interrupted"
	} else if int(done.Load()+failed.Load()) < c.n {
		stopped = "max-time reached"
	}
	res := &Result{
		Requested: c.n, Stopped: stopped,
		Submissions: int(done.Load() + failed.Load()), Failed: failed.Load(), Banks: c.banks, Suite: c.suite, Concurrency: c.concurrency, Bytes: c.size,
		Seconds: elapsed.Seconds(), PerSecond: float64(done.Load()) / elapsed.Seconds(),
		ClientCPU: clientCPU() - cpu0,
	}
	if e, ok := firstErr.Load().(string); ok {
		res.FirstError = e
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) > 0 {
		pct := func(p float64) float64 { return float64(all[int(float64(len(all)-1)*p)].Microseconds()) / 1000 }
		res.P50ms, res.P90ms, res.P99ms, res.P999ms, res.Maxms = pct(0.50), pct(0.90), pct(0.99), pct(0.999), pct(1)
	}
	res.ServerCPU, res.ServerPeakMB = srv.usage()
	return res, nil
}

// server is a running `ronghe serve`.
type server struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func startServer(ctx context.Context, bin, data, addr, work, cpuprofile string, extra []string) (*server, error) {
	logf, err := os.Create(filepath.Join(work, "serve.log"))
	if err != nil {
		return nil, err
	}
	args := append([]string{"serve", "--data", data, "--listen", addr}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Stderr = logf
	if cpuprofile != "" {
		abs, err := filepath.Abs(cpuprofile)
		if err != nil {
			return nil, err
		}
		cmd.Env = append(os.Environ(), "RONGHE_CPUPROFILE="+abs)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, done: make(chan struct{})}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		once := false
		for sc.Scan() {
			if !once && strings.Contains(sc.Text(), "listening") {
				close(ready)
				once = true
			}
		}
	}()
	go func() { cmd.Wait(); logf.Close(); close(s.done) }()
	select {
	case <-ready:
		fmt.Fprintf(os.Stderr, "smallmsg: ronghe serve pid %d on %s (log %s)\n", cmd.Process.Pid, addr, logf.Name())
		return s, nil
	case <-s.done:
		return nil, fmt.Errorf("ronghe serve exited; see %s", logf.Name())
	case <-time.After(30 * time.Second):
		s.stop()
		return nil, errors.New("ronghe serve did not start within 30 s")
	case <-ctx.Done():
		s.stop()
		return nil, ctx.Err()
	}
}

// usage returns the server's CPU seconds so far and its peak RSS in MB.
func (s *server) usage() (cpu, peakMB float64) {
	pid := s.cmd.Process.Pid
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// Fields after the parenthesised command name; utime and stime are
		// the 14th and 15th fields of the whole line, in clock ticks (100/s).
		if i := strings.LastIndexByte(string(b), ')'); i > 0 {
			f := strings.Fields(string(b[i+1:]))
			if len(f) > 13 {
				u, _ := strconv.ParseFloat(f[11], 64)
				st, _ := strconv.ParseFloat(f[12], 64)
				cpu = (u + st) / 100
			}
		}
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
				peakMB = kb / 1024
			}
		}
	}
	return cpu, peakMB
}

func (s *server) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(40 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

// perfRecord starts `perf record` on pid and returns the function that stops
// it and waits for the file to be written.
func perfRecord(out string, pid int) (func(), error) {
	cmd := exec.Command("perf", "record", "-F", "499", "-g", "-o", out, "-p", strconv.Itoa(pid))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("perf: %w", err)
	}
	return func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}, nil
}

// clientCPU returns this process's CPU seconds so far.
func clientCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

// parallel runs f(0..n-1) on workers goroutines and returns the first error.
func parallel(n, workers int, f func(i int) error) error {
	var next atomic.Int64
	var first error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}
