package main

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"

	"github.com/jetonhq/jeton/callback"
	"github.com/jetonhq/jeton/sqlstore"
)

// The River ceiling is a second reference for the callbacks benchmark:
// River alone on a fresh jeton store, with the River configuration jeton
// uses, inserting one job per transaction (River's own Insert) from the
// same number of producers, worked by a worker that does nothing. Job
// args are as large as a Deliver job's. No callback row, no trade, no
// HTTP, no attempt record: what any design with one River job per
// callback and one transaction per job can reach on this machine.

type noopArgs struct {
	Pad string `json:"pad"`
}

func (noopArgs) Kind() string { return "bench.noop" }

func (noopArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: callback.Queue, MaxAttempts: callback.MaxAttempts}
}

type noopWorker struct {
	river.WorkerDefaults[noopArgs]
	done *atomic.Int64
}

func (w *noopWorker) Work(context.Context, *river.Job[noopArgs]) error {
	w.done.Add(1)
	return nil
}

type riverResult struct {
	backend             string
	n, argBytes         int
	streamRate, backlog float64
}

func runRiverCeiling(ctx context.Context, cfg cbConfig, backend, dir string, pg *pgDatabase, argBytes int) (*riverResult, error) {
	url := ""
	if backend == "postgres" {
		url = pg.url
	}
	db, err := sqlstore.Open(ctx, url, dir)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return nil, err
	}
	var done atomic.Int64
	workers := river.NewWorkers()
	river.AddWorker(workers, &noopWorker{done: &done})
	c, err := db.Jobs(riverConfig(workers, slog.New(slog.DiscardHandler)))
	if err != nil {
		return nil, err
	}
	args := noopArgs{Pad: strings.Repeat("x", argBytes)}
	insert := func(k int) (time.Duration, error) {
		var next atomic.Int64
		var wg sync.WaitGroup
		var once sync.Once
		var firstErr error
		t0 := time.Now()
		for range cfg.producers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(k) && ctx.Err() == nil {
					if _, err := c.Insert(ctx, args, nil); err != nil {
						once.Do(func() { firstErr = err })
						return
					}
				}
			}()
		}
		wg.Wait()
		return time.Since(t0), firstErr
	}
	wait := func(target int64) error {
		deadline := time.Now().Add(waitTime(cfg.n))
		for done.Load() < target {
			if time.Now().After(deadline) || ctx.Err() != nil {
				return errTimedOut
			}
			time.Sleep(2 * time.Millisecond)
		}
		return nil
	}
	stop := func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = c.Stop(sctx)
		cancel()
	}
	if err := c.Start(ctx); err != nil {
		return nil, err
	}
	defer stop()
	if _, err := insert(cfg.warmup); err != nil {
		return nil, err
	}
	if err := wait(int64(cfg.warmup)); err != nil {
		return nil, err
	}
	res := &riverResult{backend: backend, n: cfg.n, argBytes: argBytes}
	t0 := time.Now()
	if _, err := insert(cfg.n); err != nil {
		return nil, err
	}
	if err := wait(int64(cfg.warmup + cfg.n)); err != nil {
		return nil, err
	}
	res.streamRate = float64(cfg.n) / time.Since(t0).Seconds()
	stop()
	if _, err := insert(cfg.n); err != nil {
		return nil, err
	}
	t0 = time.Now()
	if err := c.Start(ctx); err != nil {
		return nil, err
	}
	if err := wait(int64(cfg.warmup + 2*cfg.n)); err != nil {
		return nil, err
	}
	res.backlog = float64(cfg.n) / time.Since(t0).Seconds()
	return res, nil
}

type timedOut struct{}

func (timedOut) Error() string { return "River ceiling: jobs not worked by the deadline" }

var errTimedOut error = timedOut{}
