// Command report benchmarks the enterprise flow report (RRS-1 §5): 24-month
// reports at concurrency 32 from the platform's aggregates through the
// in-process report service — authorization, query record and its
// transparency-log entry, the store, the figures, the platform's Ed25519 and
// SM2 signatures — on SQLite, beside the peer: the same report computed ad
// hoc with DuckDB over Parquet of the raw ACCT, TXN and BAL rows
// (report/reporttest, the SQL the tests prove every figure with). Both are
// measured in the same run on the same synthetic region. See bench/report.sh.
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/evidence"
	"github.com/ronghe/ronghe/policy"
	"github.com/ronghe/ronghe/report"
	"github.com/ronghe/ronghe/report/reporttest"
	"github.com/ronghe/ronghe/rrs"
	"github.com/ronghe/ronghe/sqlstore"
	"github.com/ronghe/ronghe/suite"
	"github.com/ronghe/ronghe/tlog"
	"golang.org/x/sync/errgroup"
)

// figures is what one side measured.
type figures struct {
	Reports  int     `json:"reports"`
	Seconds  float64 `json:"seconds"`
	PerSec   float64 `json:"reports_per_s"`
	P50ms    float64 `json:"p50_ms"`
	P99ms    float64 `json:"p99_ms"`
	MaxMs    float64 `json:"max_ms"`
	Errors   int     `json:"errors"`
	Parallel int     `json:"concurrency"`
	// CPUms is the process's CPU time (user and system, all threads) per
	// report: what a report costs whatever else the machine is running.
	CPUms float64 `json:"cpu_ms_per_report"`
}

type result struct {
	Enterprises   int     `json:"enterprises"`
	Institutions  int     `json:"institutions"`
	TXNRows       int64   `json:"txn_rows"`
	BALRows       int64   `json:"bal_rows"`
	Batches       int64   `json:"batches"`
	Months        int     `json:"months"`
	Window        string  `json:"window"`
	Authorized    int     `json:"authorized_enterprises"`
	BuildSeconds  float64 `json:"build_seconds"`
	LakeSeconds   float64 `json:"parquet_seconds"`
	StoreBytes    int64   `json:"store_bytes"`
	ParquetBytes  int64   `json:"parquet_bytes"`
	Checked       int     `json:"reports_checked_against_peer"`
	Ronghe        figures `json:"ronghe"`
	Peer          figures `json:"peer_duckdb_parquet"`
	GOMAXPROCS    int     `json:"gomaxprocs"`
	Work          string  `json:"work"`
	Preaggregated bool    `json:"store_reused"`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench/report:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	enterprises := fs.Int("enterprises", 10_000, "enterprises in the region")
	txnRows := fs.Int64("txn", 1_000_000, "TXN rows over the whole period")
	institutions := fs.Int("institutions", 10, "reporting banks")
	months := fs.Int("months", 24, "months of data, ending with the report window")
	authorized := fs.Int("authorized", 2000, "enterprises onboarded with an authorization; reports pick among them")
	concurrency := fs.Int("concurrency", 32, "reports in flight")
	duration := fs.Duration("duration", 20*time.Second, "how long to request reports from the platform")
	peerDuration := fs.Duration("peer-duration", 20*time.Second, "how long to compute reports with the peer; 0 skips the peer (development runs)")
	check := fs.Int("check", 50, "reports compared figure by figure with the peer before timing")
	work := fs.String("work", "", "work directory (default: a temporary one, removed unless -keep); an existing one with a built region is reused")
	keep := fs.Bool("keep", false, "keep the work directory")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	verbose := fs.Bool("v", false, "progress on stderr")
	cpuProfile := fs.String("cpuprofile", "", "write a Go CPU profile of the timed platform phase to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger := slog.New(slog.DiscardHandler)
	progress := func(format string, a ...any) {
		if *verbose {
			fmt.Fprintf(os.Stderr, ">> "+format+"\n", a...)
		}
	}
	slog.SetDefault(logger)
	dir := *work
	if dir == "" {
		tmp, err := os.MkdirTemp("", "ronghe-bench-report-")
		if err != nil {
			return err
		}
		dir = tmp
		if !*keep {
			defer os.RemoveAll(tmp)
		}
	}
	start := rrs.Date{Y: 2023, M: 1, D: 1}
	end := rrs.Period{Y: start.Y + (*months-1)/12, M: time.Month((*months-1)%12 + 1)}
	g := &region{enterprises: *enterprises, institutions: *institutions, txnRows: *txnRows, start: start,
		days: end.Last().DaysSince(start) + 1, seed: 20250101}
	res := &result{Enterprises: g.enterprises, Institutions: g.institutions, Months: *months, Work: dir, GOMAXPROCS: runtime.GOMAXPROCS(0)}
	// The report window: the last 24 months (all of them when fewer).
	first := end
	for i := 1; i < min(*months, report.MaxMonths); i++ {
		if first.M == 1 {
			first = rrs.Period{Y: first.Y - 1, M: 12}
		} else {
			first.M--
		}
	}
	w, err := report.ParseWindow(first.String(), end.String())
	if err != nil {
		return err
	}
	res.Window = w.From.String() + "/" + w.To.String()

	// 1. The region and its aggregates, unless the work directory has them.
	dbPath := filepath.Join(dir, "ronghe.db")
	lake := filepath.Join(dir, "lake")
	meta := filepath.Join(dir, "region.json")
	if b, err := os.ReadFile(meta); err == nil {
		var prev result
		if err := json.Unmarshal(b, &prev); err != nil {
			return err
		}
		if prev.Enterprises != g.enterprises || prev.Institutions != g.institutions || prev.Months != *months {
			return fmt.Errorf("%s holds another region (%d enterprises, %d banks, %d months)", dir, prev.Enterprises, prev.Institutions, prev.Months)
		}
		res.TXNRows, res.BALRows, res.Batches, res.BuildSeconds, res.LakeSeconds = prev.TXNRows, prev.BALRows, prev.Batches, prev.BuildSeconds, prev.LakeSeconds
		res.Preaggregated = true
		progress("reusing the region in %s", dir)
	} else {
		if err := build(ctx, g, dir, dbPath, lake, res, progress); err != nil {
			return err
		}
		b, _ := json.Marshal(res)
		if err := os.WriteFile(meta, b, 0o644); err != nil {
			return err
		}
	}
	res.StoreBytes = sizeOf(dbPath) + sizeOf(dbPath+"-wal")
	for _, t := range []string{"acct", "txn", "bal"} {
		res.ParquetBytes += sizeOf(filepath.Join(lake, t+".parquet"))
	}

	// 2. The platform's side: store, log, policy, disputes, report service.
	db, err := sqlstore.Open(ctx, "sqlite:"+dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	smKey, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	logDir := filepath.Join(dir, fmt.Sprintf("log-%d", time.Now().UnixNano()))
	lg, err := tlog.Open(ctx, tlog.Config{Dir: logDir, Origin: "ronghe.bench/log", Ed25519: edKey, SM2: smKey})
	if err != nil {
		return err
	}
	defer os.RemoveAll(logDir)
	defer lg.Close()
	edSigner, err := suite.GenerateKey(ronghe.SuiteINTL)
	if err != nil {
		return err
	}
	smSigner, err := suite.GenerateKey(ronghe.SuiteGM)
	if err != nil {
		return err
	}
	st := &stages{}
	pol := policy.New(policy.Config{Store: timedStore{db, st}, Keys: db, Institutions: db, Log: timedLog{lg, st}, Logger: logger})
	disputes := policy.NewDisputes(policy.DisputeConfig{Policy: pol, Store: db})
	svc := report.New(report.Config{Policy: pol, Store: timedStore{db, st}, Signers: []suite.Signer{edSigner, smSigner}, Disputes: disputes,
		RatePerSecond: 1e9, Burst: 1 << 30, Logger: logger})
	bank := fmt.Sprintf("BQ%012d", time.Now().UnixNano()%1e12)
	if err := db.CreateInstitution(ctx, &ronghe.Institution{Code: bank, Name: "基准测试银行", Kind: ronghe.KindBank, Suite: ronghe.SuiteGM, Status: ronghe.StatusActive}); err != nil {
		return err
	}
	progress("onboarding %d enterprises with an authorization for %s", *authorized, bank)
	sample, auths, err := authorize(ctx, db, pol, g, bank, *authorized)
	if err != nil {
		return err
	}
	res.Authorized = len(sample)

	// 3. The peer: DuckDB over the Parquet files.
	duck, err := sql.Open("duckdb", "")
	if err != nil {
		return err
	}
	defer duck.Close()
	duck.SetMaxOpenConns(*concurrency)
	if err := reporttest.UseParquet(ctx, duck, lake); err != nil {
		return err
	}

	// 4. Both compute the same figures.
	ask := func(ctx context.Context, i int) (*report.Report, error) {
		uscc := sample[i]
		signed, r, err := svc.FlowReport(ctx, bank, report.Request{Enterprise: uscc, AuthorizationID: auths[uscc],
			Purpose: ronghe.PurposeLoanApplication, From: w.From.String(), To: w.To.String()})
		if err != nil {
			return nil, err
		}
		_ = signed.Marshal() // what the API sends
		return r, nil
	}
	progress("checking %d reports figure by figure against the peer", *check)
	for i := 0; i < *check && i < len(sample); i++ {
		r, err := ask(ctx, i*len(sample)/max(*check, 1))
		if err != nil {
			return err
		}
		p, err := reporttest.Peer(ctx, duck, r.Enterprise, w)
		if err != nil {
			return err
		}
		if diffs := reporttest.Compare(r, p); len(diffs) > 0 {
			return fmt.Errorf("report of %s differs from the peer:\n%s", r.Enterprise, strings.Join(diffs, "\n"))
		}
		res.Checked++
	}

	// 5. Timed: ours, then the peer.
	progress("timing the platform: %s at concurrency %d", *duration, *concurrency)
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	st.on.Store(true)
	res.Ronghe = measure(ctx, *concurrency, *duration, len(sample), func(ctx context.Context, i int) error {
		_, err := ask(ctx, i)
		return err
	})
	st.on.Store(false)
	pprof.StopCPUProfile()
	progress("%s", st.summary())
	progress("%s", st.batches())
	if *peerDuration > 0 {
		progress("timing the peer: %s at concurrency %d", *peerDuration, *concurrency)
		res.Peer = measure(ctx, *concurrency, *peerDuration, len(sample), func(ctx context.Context, i int) error {
			_, err := reporttest.Peer(ctx, duck, sample[i], w)
			return err
		})
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	fmt.Fprintf(stdout, "region: %d enterprises, %d banks, %d TXN rows, %d BAL rows in %d batches over %d months; aggregates %s (SQLite), Parquet %s\n",
		res.Enterprises, res.Institutions, res.TXNRows, res.BALRows, res.Batches, res.Months, human(res.StoreBytes), human(res.ParquetBytes))
	fmt.Fprintf(stdout, "window %s (24 months), %d authorized enterprises, %d reports equal the peer in every figure, GOMAXPROCS %d\n",
		res.Window, res.Authorized, res.Checked, res.GOMAXPROCS)
	fmt.Fprintf(stdout, "%-44s %10s %9s %9s %9s %8s %12s\n", "", "reports/s", "p50 ms", "p99 ms", "max ms", "reports", "CPU ms each")
	for _, row := range []struct {
		name string
		f    figures
	}{{"ronghe (aggregates, policy, log, signatures)", res.Ronghe}, {"peer (DuckDB ad hoc over Parquet)", res.Peer}} {
		fmt.Fprintf(stdout, "%-44s %10.0f %9.2f %9.2f %9.2f %8d %12.3f\n", row.name, row.f.PerSec, row.f.P50ms, row.f.P99ms, row.f.MaxMs, row.f.Reports, row.f.CPUms)
	}
	if res.Ronghe.Errors+res.Peer.Errors > 0 {
		return fmt.Errorf("%d errors (ours %d, peer %d)", res.Ronghe.Errors+res.Peer.Errors, res.Ronghe.Errors, res.Peer.Errors)
	}
	return nil
}

// build synthesizes the region, applies every batch to the aggregates as
// the pipeline's flows stage does (report.Aggregate, then ReplaceFlowDay),
// and writes the raw rows to Parquet with DuckDB.
func build(ctx context.Context, g *region, dir, dbPath, lake string, res *result, progress func(string, ...any)) error {
	batches := filepath.Join(dir, "batches")
	if err := os.MkdirAll(lake, 0o755); err != nil {
		return err
	}
	// Building is not what is measured: without an fsync per applied batch
	// it takes minutes instead of hours. The timed phase reopens the store
	// with the platform's settings (synchronous FULL).
	db, err := sqlstore.Open(ctx, "sqlite:"+dbPath+"?_pragma=synchronous(OFF)")
	if err != nil {
		return err
	}
	defer db.Close()
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return err
	}
	keyer, err := report.NewKeyer(secret)
	if err != nil {
		return err
	}
	began := time.Now()
	progress("synthesizing %d enterprises, %d TXN rows over %d days and applying them to the aggregates", g.enterprises, g.txnRows, g.days)
	work := make(chan string, 64)
	eg, ectx := errgroup.WithContext(ctx)
	var applied atomic.Int64
	for range 2 {
		eg.Go(func() error {
			for p := range work {
				b, err := rrs.OpenBatch(p, rrs.UTF8)
				if err != nil {
					return err
				}
				day, err := report.Aggregate(ectx, b, report.Lineage{MessageID: filepath.Base(p), LogIndex: 1}, keyer, time.Now())
				b.Close()
				if err != nil {
					return err
				}
				if _, err := db.ReplaceFlowDay(ectx, day); err != nil {
					return err
				}
				if n := applied.Add(1); n%1000 == 0 {
					progress("%d batches applied", n)
				}
			}
			return nil
		})
	}
	txn, bal, err := g.synthesize(ectx, batches, func(p string) error {
		select {
		case work <- p:
			return nil
		case <-ectx.Done():
			return ectx.Err()
		}
	})
	close(work)
	if werr := eg.Wait(); err == nil {
		err = werr
	}
	if err != nil {
		return err
	}
	res.TXNRows, res.BALRows, res.Batches = txn, bal, applied.Load()
	res.BuildSeconds = time.Since(began).Seconds()
	progress("built in %.0fs; writing Parquet with DuckDB", res.BuildSeconds)
	began = time.Now()
	duck, err := sql.Open("duckdb", filepath.Join(dir, "duck.db"))
	if err != nil {
		return err
	}
	defer duck.Close()
	if err := reporttest.CSVToParquet(ctx, duck, filepath.Join(batches, "*_*_1"), lake); err != nil {
		return err
	}
	res.LakeSeconds = time.Since(began).Seconds()
	return nil
}

// authorize onboards n enterprises spread over the region, each with a key
// and a registered authorization for the bank, as the enterprises would.
func authorize(ctx context.Context, db *sqlstore.DB, pol *policy.Service, g *region, bank string, n int) ([]string, map[string]string, error) {
	n = min(n, g.enterprises)
	sample := make([]string, n)
	auths := map[string]string{}
	var mu sync.Mutex
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(32)
	now := time.Now().UTC()
	for i := range n {
		e := int(int64(i) * int64(g.enterprises) / int64(n))
		uscc := g.uscc(e)
		sample[i] = uscc
		eg.Go(func() error {
			if err := db.CreateEnterprise(ectx, &ronghe.Enterprise{USCC: uscc, Name: fmt.Sprintf("合成企业%07d有限公司", e), Suite: ronghe.SuiteINTL,
				Status: ronghe.StatusActive, CreatedAt: now}); err != nil && ronghe.ErrorCode(err) != ronghe.ECONFLICT {
				return err
			}
			k, err := suite.GenerateKey(ronghe.SuiteINTL)
			if err != nil {
				return err
			}
			pemBytes, err := k.PublicKey().MarshalPEM()
			if err != nil {
				return err
			}
			if err := db.RegisterKey(ectx, &ronghe.Key{ID: k.PublicKey().Fingerprint(), Owner: uscc, Suite: ronghe.SuiteINTL,
				PublicKeyPEM: string(pemBytes), ValidFrom: now.Add(-time.Minute)}); err != nil {
				return err
			}
			doc, err := evidence.Sign(policy.AuthorizationDoc{Type: policy.TypeAuthorization, Enterprise: uscc, Grantee: bank,
				Purpose: ronghe.PurposeLoanApplication, Scope: []string{ronghe.ScopeFlowReport}, NotBefore: now.Add(-time.Minute),
				NotAfter: now.AddDate(0, 6, 0), Nonce: fmt.Sprint(e), SignedAt: now}, k)
			if err != nil {
				return err
			}
			a, err := pol.Register(ectx, uscc, doc.Marshal())
			if err != nil {
				return err
			}
			mu.Lock()
			auths[uscc] = a.ID
			mu.Unlock()
			return nil
		})
	}
	return sample, auths, eg.Wait()
}

// measure runs op at the given concurrency for d (at least concurrency
// calls), each on a random enterprise of the sample, and returns the rate
// and latency percentiles.
func measure(ctx context.Context, concurrency int, d time.Duration, n int, op func(context.Context, int) error) figures {
	var mu sync.Mutex
	var lat []time.Duration
	var errs int
	var firstErr error
	deadline := time.Now().Add(d)
	began := time.Now()
	cpu0 := cpuTime()
	var wg sync.WaitGroup
	for w := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := mrand.New(mrand.NewPCG(uint64(w), 42))
			var mine []time.Duration
			for first := true; first || time.Now().Before(deadline); first = false {
				if ctx.Err() != nil {
					break
				}
				t0 := time.Now()
				err := op(ctx, rng.IntN(n))
				el := time.Since(t0)
				if err != nil {
					mu.Lock()
					errs++
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					continue
				}
				mine = append(mine, el)
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(began)
	cpu := cpuTime() - cpu0
	if firstErr != nil && !errors.Is(firstErr, context.Canceled) {
		fmt.Fprintln(os.Stderr, "bench/report: first error:", firstErr)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	f := figures{Reports: len(lat), Seconds: elapsed.Seconds(), Errors: errs, Parallel: concurrency}
	if len(lat) > 0 {
		f.PerSec = float64(len(lat)) / elapsed.Seconds()
		f.P50ms = ms(pct(lat, 0.50))
		f.P99ms = ms(pct(lat, 0.99))
		f.MaxMs = ms(lat[len(lat)-1])
		f.CPUms = math.Round(float64(cpu.Microseconds())/float64(len(lat))) / 1000
	}
	return f
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func pct(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return math.Round(float64(d.Microseconds())/10) / 100 }

func sizeOf(p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return st.Size()
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d KiB", n>>10)
}
