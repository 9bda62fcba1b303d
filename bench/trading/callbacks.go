package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/callback"
	"github.com/jetonhq/jeton/callback/sign"
	"github.com/jetonhq/jeton/credential"
	"github.com/jetonhq/jeton/sqlstore"
	"github.com/jetonhq/jeton/trading"
	"github.com/jetonhq/jeton/vault"
)

// The callbacks benchmark runs jeton's callback pipeline in this process,
// wired as cmd/jeton/app.go wireTrading wires it (the store, the
// credential service, and callback.Service's dispatcher kicked by the
// store's commits), and delivers to the receiver process.
//
// Each callback is enqueued the way the engine enqueues a deposit's
// INITIATED callback: callback.Status builds the stored callback, and
// sqlstore's CreateTrade writes it in the same transaction as the new
// trade. The dispatcher then claims it, signs the body, POSTs it with the
// X-AssetPay-Signature header and records the attempt in the store.

// callbackWorkers is app.go's default CallbackWorkers: concurrent
// deliveries per instance. The floor sends with the same concurrency.
const callbackWorkers = 200

type cbConfig struct {
	n, warmup, producers, concurrency int
	profileDir, stamp                 string
}

type cbResult struct {
	backend   string
	n         int
	bodyBytes int

	floorRate float64
	floorWall time.Duration
	floorCPU  cpuUse // self = sender, procs[0] = receiver

	streamRate  float64 // N / (last receipt - first enqueue)
	streamWall  time.Duration
	streamEnq   float64 // enqueue rate during the streaming run
	durableWall time.Duration
	streamCPU   cpuUse // self = jeton (pipeline and producers), procs[0] = receiver

	backlogEnq  float64 // enqueue rate with the workers stopped
	backlogRate float64
	backlogWall time.Duration
	backlogCPU  cpuUse

	delivered, attempts, settled, stored  int64
	failedAttempts                        int64 // attempts that did not deliver (retried on the schedule)
	dups, distinct                        int64
	floorRetried                          int64 // floor requests sent again after a transport error
	floorConns, streamConns, backlogConns int64 // connections the receiver accepted
	warnings                              int
	profiles                              []string
}

// cbEnv is the wired pipeline over one store.
type cbEnv struct {
	db         *sqlstore.DB
	check      *sql.DB // a separate handle for counting rows
	creds      *credential.Service
	cb         *callback.Service
	merchantID string
	secrets    [][]byte
	cancel     context.CancelFunc
	// stopWorkers stops the dispatcher and returns once it has.
	stopWorkers func()
}

// startWorkers runs the dispatcher until stopWorkers.
func (e *cbEnv) startWorkers() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.cb.Run(ctx)
	}()
	e.stopWorkers = func() { cancel(); <-done }
}

func openCallbacks(ctx context.Context, backend, dir string, pg *pgDatabase, url string, log *slog.Logger) (*cbEnv, error) {
	e := &cbEnv{}
	var err error
	if backend == "postgres" {
		e.db, err = sqlstore.OpenPostgres(ctx, pg.url)
		if err == nil {
			e.check, err = sql.Open("pgx", pg.url)
		}
	} else {
		e.db, err = sqlstore.OpenSQLite(dir)
		if err == nil {
			e.check, err = sql.Open("sqlite", "file:"+filepath.Join(dir, sqlstore.SQLiteFile)+"?mode=ro&_pragma=busy_timeout(10000)")
		}
	}
	if err != nil {
		return nil, err
	}
	if err := e.db.Migrate(ctx); err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	v, err := vault.New(key)
	if err != nil {
		return nil, err
	}
	e.creds = credential.New(e.db, v, nil, log)
	if err := e.creds.Prime(ctx); err != nil {
		return nil, err
	}
	nm, err := e.creds.CreateMerchant(ctx, "bench callbacks", "", nil)
	if err != nil {
		return nil, err
	}
	e.merchantID = nm.Merchant.ID
	if err := e.db.SetCallbackURL(ctx, e.merchantID, url); err != nil {
		return nil, err
	}
	e.creds.Forget(e.merchantID)
	if _, err := e.db.OpenWallet(ctx, e.merchantID, nil); err != nil {
		return nil, err
	}
	if e.secrets, err = e.creds.CallbackSecrets(ctx, e.merchantID); err != nil {
		return nil, err
	}
	e.cb = callback.New(e.db, e.creds, nil, log, nil)
	e.cb.Workers = callbackWorkers
	e.db.OnCallbacks(e.cb.Due)
	runCtx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	go e.creds.Run(runCtx, time.Second)
	e.startWorkers()
	return e, nil
}

func (e *cbEnv) close() {
	if e.stopWorkers != nil {
		e.stopWorkers()
	}
	if e.cancel != nil {
		e.cancel()
	}
	if e.cb != nil {
		e.cb.Close()
	}
	if e.check != nil {
		e.check.Close()
	}
	if e.db != nil {
		e.db.Close()
	}
}

// benchTrade is a client deposit of one item as the engine creates it,
// for user i (every trade has its own user, so the store's per-user
// history reads stay small, as they are for most real users).
func benchTrade(merchantID string, i int, now time.Time) jeton.Trade {
	steamID := uint64(76561198000000000) + uint64(i)
	pre, pending, instant := jeton.USD(1), jeton.USD(0), true
	ext := fmt.Sprintf("user-%d", i)
	return jeton.Trade{
		ID: trading.NewTradeID(), Type: jeton.Deposit, Source: jeton.SourceClient, Status: jeton.StatusInitiated, Game: "730",
		MerchantID: merchantID, ClientUserID: fmt.Sprintf("cu_%020x", steamID), ClientSteamID: fmt.Sprint(steamID),
		ClientTradeURL: fmt.Sprintf("https://steamcommunity.com/tradeoffer/new/?partner=%d&token=AbCdEfGh", steamID-76561197960265728),
		Items: []jeton.TradeItem{{
			ID: trading.NewTradeID(), AppID: 730, Name: "SCAR-20 | Sand Mesh", MarketHashName: "SCAR-20 | Sand Mesh (Battle-Scarred)",
			Type: "Consumer Grade Sniper Rifle", IconURL: "sandbox/730/scar-20-sand-mesh-battle-scarred", Tradable: true, Amount: 1,
			Offer: jeton.Offer{Price: 1, Reference: "9fe71ac8384f", Delivery: "normal"},
		}},
		TotalPrice: 1, PreCredit: &pre, PendingCredit: &pending, IsInstant: &instant,
		Collateral:           &jeton.Collateral{Merchant: 0, Provider: 1},
		ExternalClientUserID: &ext,
		CreatedAt:            now, UpdatedAt: now,
	}
}

// createOne writes trade i with its INITIATED callback in one
// transaction, as the engine's Deposit does through trading.change.
func (e *cbEnv) createOne(ctx context.Context, i int) error {
	t := benchTrade(e.merchantID, i, time.Now().UTC().Truncate(time.Microsecond))
	_, err := e.db.CreateTrade(ctx, e.merchantID, t.ClientSteamID, false, func(jeton.UserHistory, jeton.Wallet) (jeton.TradeChange, error) {
		c, err := callback.Status(t, t.UpdatedAt)
		if err != nil {
			return jeton.TradeChange{}, err
		}
		return jeton.TradeChange{Trade: t, Event: t.Status, Callbacks: []jeton.Callback{c}}, nil
	})
	return err
}

// enqueue writes trades from..from+n-1 with p concurrent producers and
// returns when the last one committed.
func (e *cbEnv) enqueue(ctx context.Context, from, n, p int) (time.Time, time.Time, error) {
	var next atomic.Int64
	next.Store(int64(from))
	end := int64(from + n)
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	start := time.Now()
	for range p {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= end || ctx.Err() != nil {
					return
				}
				if err := e.createOne(ctx, int(i)); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	return start, time.Now(), firstErr
}

type storeCounts struct{ delivered, attempts, settled, stored, failed int64 }

func (e *cbEnv) counts(ctx context.Context) (storeCounts, error) {
	var c storeCounts
	q := func(dst *int64, query string) error {
		return e.check.QueryRowContext(ctx, query).Scan(dst)
	}
	if err := q(&c.delivered, `SELECT COUNT(*) FROM callbacks WHERE state = 'delivered'`); err != nil {
		return c, err
	}
	if err := q(&c.attempts, `SELECT COUNT(*) FROM callback_attempts WHERE kind = 'status' AND outcome = 'delivered'`); err != nil {
		return c, err
	}
	if err := q(&c.settled, `SELECT COUNT(*) FROM callbacks WHERE next_at IS NULL`); err != nil {
		return c, err
	}
	if err := q(&c.failed, `SELECT COUNT(*) FROM callback_attempts WHERE kind = 'status' AND outcome <> 'delivered'`); err != nil {
		return c, err
	}
	err := q(&c.stored, `SELECT COUNT(*) FROM callbacks`)
	return c, err
}

// waitDurable polls the store until total callbacks are delivered, their
// attempts recorded and none is due any more.
func (e *cbEnv) waitDurable(ctx context.Context, total int64, deadline time.Time) (storeCounts, time.Time, error) {
	for {
		c, err := e.counts(ctx)
		if err != nil {
			return c, time.Now(), err
		}
		if c.delivered >= total && c.attempts >= total && c.settled >= total {
			return c, time.Now(), nil
		}
		if time.Now().After(deadline) {
			return c, time.Now(), fmt.Errorf("store: %d delivered, %d attempts, %d of %d callbacks settled, want %d by the deadline",
				c.delivered, c.attempts, c.settled, c.stored, total)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// floorRequest is one pre-built raw POST: a callback body of the same
// shape and size as jeton's, signed with its own delivery id.
type floorRequest struct {
	body []byte
	sig  string
}

func buildFloor(merchantID string, secrets [][]byte, n int) ([]floorRequest, error) {
	out := make([]floorRequest, n)
	for i := range out {
		t := benchTrade(merchantID, 1_000_000+i, time.Now().UTC().Truncate(time.Microsecond))
		raw, err := json.Marshal(t)
		if err != nil {
			return nil, err
		}
		body, err := callback.Body(raw, string(t.Status), t.UpdatedAt, secrets[0])
		if err != nil {
			return nil, err
		}
		out[i] = floorRequest{body: body, sig: sign.Header(callback.NewDeliveryID(), time.Now(), body, secrets...)}
	}
	return out, nil
}

// floorClient is configured as callback.New configures jeton's client.
func floorClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	tr.MaxConnsPerHost = 0
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// sendFloor POSTs reqs to url from c concurrent senders, with the
// headers jeton's callback sender sets. A request that fails in transport
// is sent again (at most 3 times) and counted in retried.
func sendFloor(ctx context.Context, client *http.Client, url string, reqs []floorRequest, c int, retried *atomic.Int64) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(len(reqs)) || ctx.Err() != nil {
					return
				}
				r := reqs[i]
				var resp *http.Response
				var err error
				for try := 0; ; try++ {
					var req *http.Request
					req, err = http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(r.body))
					if err != nil {
						break
					}
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("User-Agent", "jeton-callbacks/1")
					req.Header.Set(sign.AssetPayHeader, r.sig)
					if resp, err = client.Do(req); err == nil || try == 2 || ctx.Err() != nil {
						break
					}
					retried.Add(1)
				}
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				var b [512]byte
				for {
					if _, err := resp.Body.Read(b[:]); err != nil {
						break
					}
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					once.Do(func() { firstErr = fmt.Errorf("floor: HTTP %d", resp.StatusCode) })
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// waitTime bounds a wait for n callbacks: generous, but finite.
func waitTime(n int) time.Duration { return 60*time.Second + time.Duration(n)*time.Second/200 }

func runCallbacks(ctx context.Context, cfg cbConfig, backend, work string, pg *pgDatabase, rp *recvProc, say func(string, ...any)) (*cbResult, error) {
	res := &cbResult{backend: backend, n: cfg.n}
	cbURL := rp.base + "/callbacks"
	logPath := filepath.Join(work, "callbacks-"+backend+".log")
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer lf.Close()
	log := slog.New(slog.NewJSONHandler(lf, &slog.HandlerOptions{Level: slog.LevelWarn}))

	say("callbacks %s: wiring the store, credential service and callback dispatcher", backend)
	e, err := openCallbacks(ctx, backend, filepath.Join(work, "callbacks-"+backend), pg, cbURL, log)
	if err != nil {
		if e != nil {
			e.close()
		}
		return nil, fmt.Errorf("callbacks %s: %w", backend, err)
	}
	defer e.close()

	// Floor: the same bodies, raw, to the same receiver, with the same
	// concurrency as jeton's callback workers. The pipeline is idle.
	say("callbacks %s: floor, %d raw POSTs from %d senders", backend, cfg.n, cfg.concurrency)
	floorReqs, err := buildFloor(e.merchantID, e.secrets, cfg.n+cfg.warmup)
	if err != nil {
		return nil, err
	}
	res.bodyBytes = len(floorReqs[0].body)
	fc := floorClient()
	var retried atomic.Int64
	if err := sendFloor(ctx, fc, cbURL, floorReqs[:cfg.warmup], cfg.concurrency, &retried); err != nil {
		return nil, err
	}
	retried.Store(0)
	if err := rp.reset(); err != nil {
		return nil, err
	}
	a := takeSnap(rp.pid)
	t0 := time.Now()
	if err := sendFloor(ctx, fc, cbURL, floorReqs[cfg.warmup:], cfg.concurrency, &retried); err != nil {
		return nil, err
	}
	st, err := rp.waitCount(int64(cfg.n), time.Now().Add(waitTime(cfg.n)))
	b := takeSnap(rp.pid)
	if err != nil {
		return nil, err
	}
	res.floorRetried, res.floorConns = retried.Load(), st.Conns
	res.floorWall = unixNano(st.Last).Sub(t0)
	res.floorRate = float64(cfg.n) / res.floorWall.Seconds()
	res.floorCPU = between(a, b)
	fc.CloseIdleConnections()
	floorReqs = nil
	say("callbacks %s: floor %.0f/s", backend, res.floorRate)

	// Warm-up: connections, prepared statements, caches.
	say("callbacks %s: warm-up, %d callbacks", backend, cfg.warmup)
	if err := rp.reset(); err != nil {
		return nil, err
	}
	if _, _, err := e.enqueue(ctx, 0, cfg.warmup, cfg.producers); err != nil {
		return nil, err
	}
	if _, err := rp.waitCount(int64(cfg.warmup), time.Now().Add(waitTime(cfg.warmup))); err != nil {
		return nil, err
	}
	if _, _, err := e.waitDurable(ctx, int64(cfg.warmup), time.Now().Add(waitTime(cfg.warmup))); err != nil {
		return nil, err
	}
	total := int64(cfg.warmup)

	// Streaming: producers enqueue as fast as the store takes the trade
	// changes while the workers deliver.
	say("callbacks %s: streaming, %d callbacks enqueued by %d producers while delivered", backend, cfg.n, cfg.producers)
	if err := rp.reset(); err != nil {
		return nil, err
	}
	var first, lastEnq time.Time
	st, res.streamCPU, err = measured(cfg, "callbacks-stream-"+backend, res, rp, func() (err error) {
		first, lastEnq, err = e.enqueue(ctx, cfg.warmup, cfg.n, cfg.producers)
		return err
	})
	if err != nil {
		return nil, err
	}
	total += int64(cfg.n)
	res.streamWall = unixNano(st.Last).Sub(first)
	res.streamRate = float64(cfg.n) / res.streamWall.Seconds()
	res.streamEnq = float64(cfg.n) / lastEnq.Sub(first).Seconds()
	res.dups, res.distinct, res.streamConns = st.Dups, st.Distinct, st.Conns
	c, done, err := e.waitDurable(ctx, total, time.Now().Add(waitTime(cfg.n)))
	if err != nil {
		return nil, err
	}
	res.durableWall = done.Sub(first)
	say("callbacks %s: streaming %.0f/s (enqueue %.0f/s)", backend, res.streamRate, res.streamEnq)

	// Backlog: the same number enqueued with the workers stopped, then
	// delivered from a standing start.
	say("callbacks %s: backlog, %d callbacks enqueued with the workers stopped, then delivered", backend, cfg.n)
	e.stopWorkers()
	first, lastEnq, err = e.enqueue(ctx, cfg.warmup+cfg.n, cfg.n, cfg.producers)
	if err != nil {
		return nil, err
	}
	res.backlogEnq = float64(cfg.n) / lastEnq.Sub(first).Seconds()
	if err := rp.reset(); err != nil {
		return nil, err
	}
	st, res.backlogCPU, err = measured(cfg, "callbacks-backlog-"+backend, res, rp, func() error {
		t0 = time.Now()
		e.startWorkers()
		return nil
	})
	if err != nil {
		return nil, err
	}
	total += int64(cfg.n)
	res.backlogWall = unixNano(st.Last).Sub(t0)
	res.backlogRate = float64(cfg.n) / res.backlogWall.Seconds()
	res.dups += st.Dups
	res.backlogConns = st.Conns
	c, _, err = e.waitDurable(ctx, total, time.Now().Add(waitTime(cfg.n)))
	if err != nil {
		return nil, err
	}
	res.delivered, res.attempts, res.settled, res.stored, res.failedAttempts = c.delivered, c.attempts, c.settled, c.stored, c.failed
	say("callbacks %s: backlog drained at %.0f/s", backend, res.backlogRate)
	lf.Sync()
	if b, err := os.ReadFile(logPath); err == nil {
		res.warnings = bytes.Count(b, []byte("\n"))
	}
	return res, nil
}

// measured runs start between two CPU snapshots, under a profile when
// asked for, and waits until the receiver has counted cfg.n callbacks.
func measured(cfg cbConfig, name string, res *cbResult, rp *recvProc, start func() error) (recvStats, cpuUse, error) {
	stop := startProfile(cfg, name, res)
	defer stop()
	a := takeSnap(rp.pid)
	if err := start(); err != nil {
		return recvStats{}, cpuUse{}, err
	}
	st, err := rp.waitCount(int64(cfg.n), time.Now().Add(waitTime(cfg.n)))
	return st, between(a, takeSnap(rp.pid)), err
}

// startProfile starts a CPU profile of this process when asked to.
func startProfile(cfg cbConfig, name string, res *cbResult) func() {
	if cfg.profileDir == "" {
		return func() {}
	}
	path := filepath.Join(cfg.profileDir, name+"-"+cfg.stamp+".pprof")
	f, err := os.Create(path)
	if err != nil {
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return func() {}
	}
	res.profiles = append(res.profiles, path)
	return func() { pprof.StopCPUProfile(); f.Close() }
}
