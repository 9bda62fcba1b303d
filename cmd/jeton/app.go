package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/assetpay"
	"github.com/jetonhq/jeton/credential"
	"github.com/jetonhq/jeton/httpserver"
	"github.com/jetonhq/jeton/internal/batch"
	"github.com/jetonhq/jeton/sagapay"
	"github.com/jetonhq/jeton/sqlstore"
	"github.com/jetonhq/jeton/token"
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
}

type appConfig struct {
	Now            func() time.Time
	AllowedOrigins []string
	AccessLog      bool
	Log            *slog.Logger
}

// newApp wires every part over an open store.
func newApp(ctx context.Context, db *sqlstore.DB, sealer jeton.Sealer, cfg appConfig) (*app, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	a := &app{store: db, log: cfg.Log}
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
	a.server.Mount(assetpay.New(a.creds, a.verifier, a.clients, cfg.Now, cfg.Log).Routes()...)
	a.server.Mount(sagapay.New(a.creds, a.verifier, db, cfg.Now, cfg.Log).Routes()...)
	return a, nil
}

// run keeps caches in step with the store until ctx ends.
func (a *app) run(ctx context.Context) {
	go a.creds.Run(ctx, time.Second)
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.verifier.Sweep()
		}
	}
}

// close drains pending writes, then closes the store.
func (a *app) close() {
	a.clients.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.creds.FlushUsage(ctx); err != nil {
		a.log.Error("flush api key usage", "err", err)
	}
	a.store.Close()
}
