package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/dashboard"
)

type serveCmd struct {
	storeFlags
	Addr            string        `name:"addr" env:"JETON_ADDR" default:"127.0.0.1:8080" help:"Address to listen on."`
	Sandbox         bool          `name:"sandbox" env:"JETON_SANDBOX" default:"true" negatable:"" help:"Sandbox mode: simulated Steam and payment terminals; a demo merchant on first start."`
	AcceptAfter     time.Duration `name:"sandbox-accept-after" env:"JETON_SANDBOX_ACCEPT_AFTER" default:"2s" help:"Sandbox: simulated users accept trade offers this long after they are sent (0 = only by a sandbox control)."`
	TerminalAfter   time.Duration `name:"sandbox-terminal-after" env:"JETON_SANDBOX_TERMINAL_AFTER" default:"2s" help:"Sandbox: virtual payment terminals take the card this long after a payment starts (0 = at once)."`
	Hold            time.Duration `name:"sandbox-hold" env:"JETON_SANDBOX_HOLD" default:"168h" help:"Sandbox: how long accepted CS2 trades stay reversible (Steam trade protection)."`
	AllowedOrigins  []string      `name:"allowed-origins" env:"JETON_ALLOWED_ORIGINS" help:"Origins allowed to call client routes from browsers (comma-separated). Default: any origin, without credentials."`
	AccessLog       bool          `name:"access-log" env:"JETON_ACCESS_LOG" help:"Log one line per request (method, route, status, duration; never headers or bodies)."`
	LogFormat       string        `name:"log-format" env:"JETON_LOG_FORMAT" default:"text" enum:"text,json" help:"Log format: text or json."`
	LogLevel        string        `name:"log-level" env:"JETON_LOG_LEVEL" default:"info" enum:"debug,info,warn,error" help:"Lowest level logged."`
	PprofAddr       string        `name:"pprof-addr" env:"JETON_PPROF_ADDR" help:"Serve Go's net/http/pprof on this address (e.g. 127.0.0.1:6060) for profiling; off by default."`
	TrustedProxies  []string      `name:"trusted-proxies" env:"JETON_TRUSTED_PROXIES" help:"Reverse proxies in front of jeton (comma-separated addresses or CIDRs): the dashboard's sign-in throttle counts the client address they forward in X-Forwarded-For."`
	ShutdownTimeout time.Duration `name:"shutdown-timeout" env:"JETON_SHUTDOWN_TIMEOUT" default:"15s" help:"How long in-flight requests may take to finish on SIGINT/SIGTERM."`
}

func newLogger(format, level string, w io.Writer) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// defaultGOGC trades memory for CPU: the live heap is a few MB, so the Go
// default (100) collects very often under load; 400 keeps the heap well
// under 100 MB while spending far less CPU on collection. GOGC overrides it.
const defaultGOGC = 400

func (c *serveCmd) Run() error {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGOGC)
	}
	log := newLogger(c.LogFormat, c.LogLevel, os.Stderr)
	slog.SetDefault(log)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	proxies, err := parsePrefixes(splitList(c.TrustedProxies))
	if err != nil {
		return fmt.Errorf("--trusted-proxies: %w", err)
	}
	db, sealer, err := openStore(ctx, c.storeFlags)
	if err != nil {
		return err
	}
	a, err := newApp(ctx, db, sealer, appConfig{AllowedOrigins: splitList(c.AllowedOrigins), AccessLog: c.AccessLog, Log: log,
		Sandbox: c.Sandbox, AcceptAfter: c.AcceptAfter, Hold: holdFlag(c.Hold), TerminalAfter: c.TerminalAfter, TrustedProxies: proxies})
	if err != nil {
		db.Close()
		return err
	}
	defer a.close()

	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.Addr, err)
	}
	if c.Sandbox {
		if err := firstStart(ctx, a, "http://"+ln.Addr().String(), os.Stdout); err != nil {
			ln.Close()
			return err
		}
	}
	// One read deadline per request (headers and the bounded body share
	// it) and no write deadline: replies are small, idle connections are
	// closed by IdleTimeout, and each deadline costs a timer per request.
	srv := &http.Server{
		Handler:           a.server,
		ReadHeaderTimeout: 15 * time.Second,
		ReadTimeout:       15 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if c.PprofAddr != "" {
		pln, err := net.Listen("tcp", c.PprofAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("pprof: listen on %s: %w", c.PprofAddr, err)
		}
		defer pln.Close()
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		log.Info("pprof listening", "addr", pln.Addr().String())
		go func() { _ = http.Serve(pln, mux) }()
	}
	runCtx, cancelRun := context.WithCancel(context.Background())
	defer cancelRun()
	go a.run(runCtx)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	store := "sqlite " + c.Data
	if c.DatabaseURL != "" {
		store = "postgres"
	}
	log.Info("jeton listening", "addr", ln.Addr().String(), "store", store, "sandbox", c.Sandbox, "version", version)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", c.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), c.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown", "err", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	cancelRun()
	log.Info("stopped")
	return nil
}

func splitList(in []string) []string {
	var out []string
	for _, s := range in {
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// firstStart creates the demo merchant on an empty store and prints, once,
// everything needed to try both APIs.
// parsePrefixes reads addresses and CIDRs (a bare address is its /32 or
// /128).
func parsePrefixes(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not an address or CIDR", s)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// demoOwner is the sign-in email of the demo merchant's dashboard owner.
const demoOwner = "owner@demo.example"

func firstStart(ctx context.Context, a *app, base string, out io.Writer) error {
	ms, err := a.store.Merchants(ctx)
	if err != nil {
		return err
	}
	if len(ms) > 0 {
		return nil
	}
	nm, err := a.creds.CreateMerchant(ctx, "Demo merchant", "", []jeton.Scope{jeton.ScopeCoreAccess, jeton.ScopeReadOnly, jeton.ScopeAdmin})
	if err != nil {
		return err
	}
	_, setup, err := dashboard.NewUser(ctx, a.store, a.store, nm.Merchant.ID, demoOwner, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(out, `
================================================================================
 jeton sandbox: a demo merchant was created. This is shown ONCE; keep it.
================================================================================
 merchant ID           %s
 partner ID            %s
 API key               %s   (scopes CORE_ACCESS, READ_ONLY, ADMIN)
 API secret            %s
 provider ID           %s
 provider certificate  %s

 AssetPay: get a client token, then call /client/me with it
   curl -s %s/auth/authenticate-client \
     -H 'Content-Type: application/json' -H 'api-key: %s' \
     -d '{"clientSteamId":"76561198012345678","clientTradeUrl":"https://steamcommunity.com/tradeoffer/new/?partner=52079950&token=AbCdEfGh","clientId":"user-123"}'
   curl -s %s/client/me -H 'Authorization: <token>'

 SagaPay: get a client token for one of your users
   curl -s %s/partners/%s/token \
     -H 'Content-Type: application/json' \
     -H 'API-KEY: %s' -H 'API-SECRET: %s' -H 'MERCHANT-ID: %s' \
     -d '{"providerId":"%s","providerCertificate":"%s","externalUserId":"user-123"}'

 Dashboard: choose the password of %s (the link works once, for 72 hours)
   %s
================================================================================

`, nm.Merchant.ID, nm.Merchant.PartnerID, nm.APIKey, nm.APISecret, nm.ProviderID, nm.ProviderCertificate,
		base, nm.APIKey, base,
		base, nm.Merchant.PartnerID, nm.APIKey, nm.APISecret, nm.Merchant.ID, nm.ProviderID, nm.ProviderCertificate,
		demoOwner, dashboard.SetupURL(base, setup))
	return nil
}

type migrateCmd struct {
	storeFlags
}

func (c *migrateCmd) Run() error {
	ctx := context.Background()
	db, _, err := openStore(ctx, c.storeFlags)
	if err != nil {
		return err
	}
	defer db.Close()
	v, err := db.Version(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("migrated %s database to version %d\n", db.Dialect(), v)
	return nil
}

// holdFlag maps --sandbox-hold 0 ("no hold") to the sandbox's negative.
func holdFlag(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
