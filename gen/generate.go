package gen

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/rrs"
)

// Generate builds the region described by cfg and writes it to cfg.OutDir,
// which must be empty or not exist yet (ECONFLICT otherwise):
// one RRS-1 batch per institution and day (<inst_code>_<YYYYMMDD>_1, a
// directory or a .zip), region.json, truth/labels.jsonl and
// truth/defects.jsonl. Days are simulated one after another (balances carry
// over and a payment between banks touches both); each day's batches are
// written in parallel while the next day is simulated. Memory is bounded by
// the number of accounts and one day's transactions, never by the total.
func Generate(ctx context.Context, cfg Config) (*Summary, error) {
	cfg, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	g, err := buildRegion(cfg)
	if err != nil {
		return nil, errRegion(err)
	}
	L, err := newLayouts(rrs.Current())
	if err != nil {
		return nil, err
	}
	// Never mix two regions: batches of an earlier run with other dates or
	// banks would silently join this one.
	if ents, err := os.ReadDir(cfg.OutDir); err == nil && len(ents) > 0 {
		return nil, ronghe.Errorf(ronghe.ECONFLICT, "gen: output directory %s is not empty", cfg.OutDir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "gen: read output directory")
	}
	if err := os.MkdirAll(filepath.Join(cfg.OutDir, "truth"), 0o755); err != nil {
		return nil, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "gen: create output directory")
	}
	if err := writeRegionFile(filepath.Join(cfg.OutDir, "region.json"), g); err != nil {
		return nil, err
	}
	truth, err := newTruthWriter(filepath.Join(cfg.OutDir, "truth", "defects.jsonl"))
	if err != nil {
		return nil, err
	}
	defer truth.abort()

	sum := &Summary{Rows: map[rrs.Type]int64{}, Institutions: len(g.insts), Enterprises: len(g.ents),
		Accounts: len(g.accts), People: cfg.People, Start: cfg.Start, End: cfg.Start.AddDays(cfg.Days - 1)}
	s := newSim(g)
	pl := newPlanner(g, L)
	tb := newTables(g)
	nInst := len(g.insts)

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	workers := max(1, min(runtime.GOMAXPROCS(0), nInst))
	type task struct {
		dd *dayData
		b  int
	}
	tasks := make(chan task, 2*nInst)
	free := make(chan *dayData, 6)
	for i := 0; i < cap(free); i++ {
		free <- newDayData(g)
	}
	pending := make(map[*dayData]*atomic.Int32)
	for i := 0; i < cap(free); i++ {
		dd := <-free
		pending[dd] = &atomic.Int32{}
		free <- dd
	}
	var (
		mu      sync.Mutex
		done    int
		total   = nInst * cfg.Days
		wg      sync.WaitGroup
		rowsArr [len(ctlFilesArr)]int64
	)
	for k := 0; k < workers; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bw := newBatchWriter(g, L, tb)
			for tk := range tasks {
				if ctx.Err() == nil {
					st, err := bw.writeBatch(tk.b, tk.dd)
					if err != nil {
						cancel(err)
					} else {
						mu.Lock()
						for i, n := range st.rows {
							rowsArr[i] += n
						}
						sum.Bytes += st.bytes
						if tk.dd.plan[tk.b] != nil && tk.dd.plan[tk.b].omit {
							sum.Omitted++
						} else {
							sum.Batches++
						}
						done++
						if cfg.Progress != nil {
							cfg.Progress(done, total)
						}
						mu.Unlock()
					}
				}
				if pending[tk.dd].Add(-1) == 0 {
					free <- tk.dd
				}
			}
		}()
	}
	var simErr error
	for t := int32(0); t < int32(cfg.Days); t++ {
		var dd *dayData
		select {
		case dd = <-free:
		case <-ctx.Done():
		}
		if dd == nil {
			break
		}
		shift := pl.beforeDay(t)
		held, moved := s.simulateDay(t, dd, shift, pl.volume())
		pl.afterSim(t, held, moved)
		if err := pl.planDay(dd, truth); err != nil {
			simErr = err
			free <- dd
			break
		}
		pending[dd].Store(int32(nInst))
		for b := 0; b < nInst; b++ {
			tasks <- task{dd: dd, b: b}
		}
	}
	close(tasks)
	wg.Wait()
	if simErr != nil {
		cancel(simErr)
	}
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return nil, err
	} else if err != nil {
		return nil, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "gen: cancelled")
	}
	if err := pl.finish(truth); err != nil {
		return nil, err
	}
	if err := truth.close(); err != nil {
		return nil, err
	}
	if err := writeLabels(filepath.Join(cfg.OutDir, "truth", "labels.jsonl"), g, s); err != nil {
		return nil, err
	}
	for i, t := range ctlFilesArr {
		sum.Rows[t] = rowsArr[i]
	}
	sum.Defects, sum.Findings = pl.injected, truth.lines
	slog.Debug("gen: region written", "dir", cfg.OutDir, "batches", sum.Batches, "txn_rows", sum.Rows[rrs.TXN], "bytes", sum.Bytes)
	return sum, nil
}

func newDayData(g *region) *dayData {
	n := len(g.insts)
	return &dayData{
		legs:   make([][]leg, n),
		fxp:    make([][]fxpRow, n),
		plan:   make([]*batchPlan, n),
		status: make([]byte, len(g.accts)),
		bal:    make([]balSnap, len(g.accts)),
	}
}
