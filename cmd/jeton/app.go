package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"sync/atomic"
	"time"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/assetpay"
	"github.com/jetonhq/jeton/callback"
	"github.com/jetonhq/jeton/credential"
	"github.com/jetonhq/jeton/dashboard"
	"github.com/jetonhq/jeton/httpserver"
	"github.com/jetonhq/jeton/internal/batch"
	"github.com/jetonhq/jeton/payment"
	"github.com/jetonhq/jeton/risk"
	"github.com/jetonhq/jeton/sagapay"
	"github.com/jetonhq/jeton/sandbox"
	"github.com/jetonhq/jeton/sqlstore"
	"github.com/jetonhq/jeton/steam"
	"github.com/jetonhq/jeton/terminal"
	"github.com/jetonhq/jeton/token"
	"github.com/jetonhq/jeton/trading"
	"github.com/jetonhq/jeton/vault"
)

// openStore opens and migrates the store and loads the master key.
func openStore(ctx context.Context, f storeFlags) (*sqlstore.DB, *vault.Vault, error) {
	key, err := masterKey(f)
	if err != nil {
		return nil, nil, err
	}
	v, err := vault.New(key)
	if err != nil {
		return nil, nil, err
	}
	db, err := sqlstore.Open(ctx, f.DatabaseURL, f.Data)
	if err != nil {
		return nil, nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, v, nil
}

func masterKey(f storeFlags) ([]byte, error) {
	if f.MasterKeyFile != "" {
		return vault.LoadFile(f.MasterKeyFile)
	}
	if s := os.Getenv("JETON_MASTER_KEY"); s != "" {
		return vault.ParseKey(s)
	}
	if f.DatabaseURL != "" {
		return nil, errors.New("with --database-url, give the master key with --master-key-file or JETON_MASTER_KEY (the same key on every instance)")
	}
	return vault.LoadOrCreate(f.Data)
}

// app is one wired server.
type app struct {
	store    *sqlstore.DB
	creds    *credential.Service
	verifier *token.Verifier
	clients  *batch.Batcher[jeton.Client]
	server   *httpserver.Server
	metrics  *httpserver.Metrics
	log      *slog.Logger

	sandbox   *sandbox.Sandbox // nil outside sandbox mode
	callbacks *callback.Service
	engine    *trading.Service
	payments  *payment.Service // nil outside sandbox mode
	// delivered is closed when the callback dispatcher has stopped;
	// running says run started it.
	delivered chan struct{}
	running   atomic.Bool
}

type appConfig struct {
	Now            func() time.Time
	AllowedOrigins []string
	AccessLog      bool
	Log            *slog.Logger
	// Sandbox turns on the simulated Steam and the trading routes.
	Sandbox     bool
	AcceptAfter time.Duration // sandbox offers accepted after this (0: by control)
	// TerminalAfter is how long a sandbox terminal takes to act on a
	// new payment (0: at once).
	TerminalAfter time.Duration
	Hold          time.Duration // sandbox CS2 hold (0: 7 days)
	// CallbackWorkers bounds concurrent callback deliveries per instance.
	CallbackWorkers int
	// CallbackClient makes the calls to merchants (nil: a pooled client).
	CallbackClient *http.Client
	// TrustedProxies forward the client address to the dashboard's
	// sign-in throttle.
	TrustedProxies []netip.Prefix
	// StatusTimeout and ApprovalTimeout bound one call to a merchant
	// (0: the callback package's defaults, 15 s and 10 s).
	StatusTimeout, ApprovalTimeout time.Duration
}

// newApp wires every part over an open store.
func newApp(ctx context.Context, db *sqlstore.DB, sealer jeton.Sealer, cfg appConfig) (*app, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	a := &app{store: db, log: cfg.Log, delivered: make(chan struct{})}
	a.creds = credential.New(db, sealer, cfg.Now, cfg.Log)
	if err := a.creds.Prime(ctx); err != nil {
		return nil, fmt.Errorf("read credential events: %w", err)
	}
	a.metrics = httpserver.NewMetrics()
	a.verifier = token.NewVerifier(a.creds, cfg.Now, 0)
	a.verifier.Observe = a.metrics.ObserveToken
	a.creds.OnChange = a.verifier.Purge
	a.clients = batch.New(256, db.UpsertClients)
	a.server = httpserver.New(httpserver.Config{
		AllowedOrigins: cfg.AllowedOrigins, AccessLog: cfg.AccessLog, Ready: db.Ping, Log: cfg.Log,
	}, a.metrics)
	ap := assetpay.New(a.creds, a.verifier, a.clients, cfg.Now, cfg.Log)
	if err := a.wireTrading(db, cfg, ap); err != nil {
		return nil, err
	}
	a.server.Mount(ap.Routes()...)
	sp := sagapay.New(a.creds, a.verifier, db, cfg.Now, cfg.Log)
	if cfg.Sandbox {
		// The sandbox's virtual terminals are the only card processor.
		a.payments = payment.New(payment.Config{Store: db, Processor: terminal.New(), Sealer: sealer, After: cfg.TerminalAfter,
			Now: cfg.Now, Log: cfg.Log})
		a.callbacks.Webhooks = a.payments
		sp.WithPayments(a.payments, a.callbacks)
	}
	a.server.Mount(sp.Routes()...)
	dash, err := a.dashboard(db, cfg)
	if err != nil {
		return nil, err
	}
	a.server.Mount(dash.Routes()...)
	return a, nil
}

// dashboard wires the merchant dashboard over the same services the APIs
// use; the sandbox's pages appear only in sandbox mode.
func (a *app) dashboard(db *sqlstore.DB, cfg appConfig) (*dashboard.Dashboard, error) {
	dc := dashboard.Config{Store: db, Creds: a.creds, Callbacks: a.callbacks, Now: cfg.Now, Log: cfg.Log, TrustedProxies: cfg.TrustedProxies}
	if a.payments != nil {
		dc.Payments = a.payments
	}
	if a.engine != nil {
		dc.Wallets = a.engine
	}
	if a.sandbox != nil {
		dc.Sandbox, dc.Poke = controls{a.sandbox}, a.engine.Poke
	}
	return dashboard.New(dc)
}

// wireTrading builds the callback sender and, in sandbox mode, the
// simulated Steam and the trading engine.
func (a *app) wireTrading(db *sqlstore.DB, cfg appConfig, ap *assetpay.API) error {
	a.callbacks = callback.New(db, a.creds, cfg.CallbackClient, cfg.Log, nil)
	if cfg.StatusTimeout > 0 {
		a.callbacks.StatusTimeout = cfg.StatusTimeout
	}
	if cfg.ApprovalTimeout > 0 {
		a.callbacks.ApprovalTimeout = cfg.ApprovalTimeout
	}
	if cfg.CallbackWorkers > 0 {
		a.callbacks.Workers = cfg.CallbackWorkers
	}
	db.OnCallbacks(a.callbacks.Due)
	if !cfg.Sandbox {
		return nil
	}
	a.sandbox = sandbox.New(db, sandbox.Config{AcceptAfter: cfg.AcceptAfter, Hold: cfg.Hold, Now: cfg.Now})
	a.engine = trading.New(trading.Config{
		Store: db, Backend: a.sandbox, Callbacks: a.callbacks, Merchants: a.creds, Risk: risk.Default(),
		OpeningBalance: trading.SandboxBalance, ApprovalTimeout: a.callbacks.ApprovalTimeout, Log: cfg.Log,
	})
	ap.WithTrading(&assetpay.Trading{Engine: a.engine, Backend: a.sandbox, Store: db, Callbacks: a.callbacks, Sandbox: controls{a.sandbox}})
	return nil
}

// controls adapts the sandbox's levers to the routes and the dashboard;
// errors come back as jeton errors.
type controls struct{ s *sandbox.Sandbox }

// Accept, Decline and Reverse answer a sandbox offer.
func (c controls) Accept(ctx context.Context, id string) error {
	_, err := c.s.Accept(ctx, id)
	return controlError(err)
}

func (c controls) Decline(ctx context.Context, id string) error {
	_, err := c.s.Decline(ctx, id)
	return controlError(err)
}

func (c controls) Reverse(ctx context.Context, id, by string) error {
	_, err := c.s.Reverse(ctx, id, by)
	return controlError(err)
}

func (c controls) AdvanceClock(ctx context.Context, d time.Duration) error {
	_, err := c.s.AdvanceClock(ctx, d)
	return controlError(err)
}

func (c controls) Now() time.Time { return c.s.Now() }

// controlError turns the sandbox's errors into jeton errors.
func controlError(err error) error {
	var je *jeton.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &je):
		return je
	case errors.Is(err, steam.ErrOfferNotFound):
		return jeton.Errorf(jeton.KindNotFound, jeton.KeyOfferNotFound, "the sandbox has no such offer")
	case errors.Is(err, steam.ErrUnavailable):
		return jeton.Errorf(jeton.KindUnavailable, jeton.KeyUnavailable, "the sandbox is unavailable; try again")
	}
	return jeton.Errorf(jeton.KindConflict, jeton.KeyOfferState, "%v", err)
}

// run keeps caches in step with the store and delivers callbacks until
// ctx ends.
func (a *app) run(ctx context.Context) {
	go a.creds.Run(ctx, time.Second)
	a.running.Store(true)
	go func() {
		defer close(a.delivered)
		a.callbacks.Run(ctx)
	}()
	if a.payments != nil {
		go a.payments.Run(ctx)
	}
	if a.engine != nil {
		if err := a.sandbox.Refresh(ctx); err != nil {
			a.log.Warn("sandbox clock", "err", err)
		}
		go a.engine.Run(ctx)
		go func() {
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					if err := a.sandbox.Refresh(ctx); err != nil && ctx.Err() == nil {
						a.log.Warn("sandbox clock", "err", err)
					}
				}
			}
		}()
	}
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.verifier.Sweep()
			if _, err := a.store.DeleteExpiredSessions(ctx, time.Now()); err != nil && ctx.Err() == nil {
				a.log.Warn("sweep dashboard sessions", "err", err)
			}
		}
	}
}

// close drains pending writes, then closes the store.
func (a *app) close() {
	if a.running.Load() {
		// Attempts under way finish (each is bounded); one that outlasts
		// this wait goes unrecorded and is made again after its lease.
		select {
		case <-a.delivered:
		case <-time.After(10 * time.Second):
			a.log.Warn("callback attempts still under way at shutdown")
		}
	}
	a.callbacks.Close()
	a.clients.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.creds.FlushUsage(ctx); err != nil {
		a.log.Error("flush api key usage", "err", err)
	}
	a.store.Close()
}
