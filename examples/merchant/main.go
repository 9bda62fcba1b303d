// Command merchant is a small skin-gaming shop built on jeton, as an
// example of a whole integration: its own users and balance ledger, a
// backend that mints client tokens, approves or rejects withdrawals by
// balance and books deposits and refunds from verified callbacks, and a
// web page that uses the browser SDK (sdk/js) to show the inventory and
// the market and to deposit and withdraw.
//
// Against a jeton in sandbox mode, with the demo merchant it printed:
//
//	export JETON_MERCHANT_ID=... JETON_API_KEY=ap_... JETON_API_SECRET=sk_...
//	go run ./examples/merchant
//
// then open http://127.0.0.1:8090. See README.md in this folder.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/jetonhq/jeton/client"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(log, os.Args[1:]); err != nil {
		log.Error("merchant stopped", "err", err)
		os.Exit(1)
	}
}

// config is the command line; credentials come from the environment
// only, so they never show in a process list or a shell history.
type config struct {
	jetonURL, addr, publicURL, dataFile string
	merchantID, apiKey, apiSecret       string
}

func parse(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("merchant", flag.ContinueOnError)
	fs.StringVar(&c.jetonURL, "jeton", envOr("JETON_URL", "http://127.0.0.1:8080"), "jeton's base URL, for this backend and the browser (env JETON_URL)")
	fs.StringVar(&c.addr, "addr", envOr("MERCHANT_ADDR", "127.0.0.1:8090"), "listen address (env MERCHANT_ADDR)")
	fs.StringVar(&c.publicURL, "public-url", os.Getenv("MERCHANT_PUBLIC_URL"), "this shop's URL as jeton reaches it, for the callback URL (env MERCHANT_PUBLIC_URL; default http://<addr>)")
	fs.StringVar(&c.dataFile, "data", envOr("MERCHANT_DATA", "merchant-data.json"), "the ledger's JSON file (env MERCHANT_DATA)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	c.merchantID, c.apiKey, c.apiSecret = os.Getenv("JETON_MERCHANT_ID"), os.Getenv("JETON_API_KEY"), os.Getenv("JETON_API_SECRET")
	if c.merchantID == "" || c.apiKey == "" || c.apiSecret == "" {
		return c, errors.New("set JETON_MERCHANT_ID, JETON_API_KEY and JETON_API_SECRET (the demo merchant jeton printed on its first start)")
	}
	c.jetonURL = strings.TrimRight(c.jetonURL, "/")
	return c, nil
}

func run(log *slog.Logger, args []string) error {
	c, err := parse(args)
	if err != nil {
		return err
	}
	users := demoUsers()
	ledger, err := OpenLedger(c.dataFile, users)
	if err != nil {
		return err
	}
	srv := &server{users: users, ledger: ledger, merchantID: c.merchantID, apiSecret: c.apiSecret,
		jetonURL: c.jetonURL, log: log, now: time.Now, sessions: map[string]string{}}

	// Listen first: saving the callback URL makes jeton ping it, and the
	// URL is saved only if the ping is answered.
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	public := c.publicURL
	if public == "" {
		public = "http://" + reachable(ln.Addr().(*net.TCPAddr))
	}
	public = strings.TrimRight(public, "/")
	srv.secure = strings.HasPrefix(public, "https://")
	hs := &http.Server{Handler: srv.routes(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	log.Info("merchant listening", "url", public)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	api := &client.API{BaseURL: c.jetonURL, APIKey: c.apiKey}
	if err := setCallbackURL(ctx, log, api, public+"/jeton/callback"); err != nil {
		_ = hs.Close()
		return err
	}
	for _, u := range users {
		a, _ := ledger.Account(u.Name)
		fmt.Fprintf(os.Stderr, "demo user %-6s password %-11s balance $%s\n", u.Name, u.Password, a.Balance)
	}
	fmt.Fprintf(os.Stderr, "open %s/\n", public)

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return hs.Shutdown(sctx)
}

// setCallbackURL points jeton's callbacks at this backend, retrying for a
// while in case jeton is still starting.
func setCallbackURL(ctx context.Context, log *slog.Logger, api *client.API, callbackURL string) error {
	var err error
	for attempt := 1; attempt <= 10; attempt++ {
		var res client.CallbackURLResult
		if res, err = api.SetCallbackURL(ctx, callbackURL); err == nil {
			log.Info("callback URL set", "url", res.CallbackURL)
			return nil
		}
		var je *client.Error
		if errors.As(err, &je) && je.Status != http.StatusServiceUnavailable && je.Key != "CALLBACK_URL_TEST_FAILED" {
			break // a wrong key or URL: waiting will not help
		}
		log.Warn("cannot set the callback URL yet", "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
	return fmt.Errorf("setting the callback URL in jeton at %s: %w", api.BaseURL, err)
}

// reachable turns a listen address into one a local jeton can call:
// a wildcard address (":8090") becomes 127.0.0.1.
func reachable(a *net.TCPAddr) string {
	if a.IP == nil || a.IP.IsUnspecified() {
		return fmt.Sprintf("127.0.0.1:%d", a.Port)
	}
	return a.String()
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
