package dashboard

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/credential"
	"github.com/jetonhq/jeton/httpserver"
	"github.com/jetonhq/jeton/risk"
)

// Store is what the dashboard reads and writes directly. Every method
// takes the merchant ID from the session, never from the request.
type Store interface {
	jeton.UserStore
	Merchant(ctx context.Context, id string) (jeton.Merchant, error)
	Providers(ctx context.Context, merchantID string) ([]jeton.Provider, error)
	RevokeProvider(ctx context.Context, merchantID, id string, at time.Time) error

	Trades(ctx context.Context, f jeton.TradeFilter) ([]jeton.Trade, int, error)
	Trade(ctx context.Context, merchantID, id string) (jeton.Trade, error)
	TradeEvents(ctx context.Context, tradeID string) ([]jeton.TradeEvent, error)
	Wallet(ctx context.Context, merchantID string) (jeton.Wallet, error)
	Postings(ctx context.Context, merchantID string, f jeton.PostingFilter) ([]jeton.Posting, int, error)

	SetCallbackURL(ctx context.Context, merchantID, url string) error
	SetMerchantCollateral(ctx context.Context, merchantID string, amount jeton.USD) error
	Callbacks(ctx context.Context, merchantID, tradeID string, limit, offset int) ([]jeton.Callback, int, error)
	Callback(ctx context.Context, merchantID, deliveryID string) (jeton.Callback, error)
	CallbackAttempts(ctx context.Context, merchantID, deliveryID string) ([]jeton.CallbackAttempt, error)
	RecentAttempts(ctx context.Context, merchantID string, limit int) ([]jeton.CallbackAttempt, error)

	Order(ctx context.Context, merchantID, id string) (jeton.Order, error)
	OrderPayments(ctx context.Context, orderID string) ([]jeton.Payment, error)
	Transactions(ctx context.Context, f jeton.TransactionFilter) ([]jeton.Transaction, int, error)
	Terminals(ctx context.Context, merchantID, storeID string, page, perPage int) ([]jeton.Terminal, int, error)
	ActivePayment(ctx context.Context, terminalID string) (jeton.Payment, error)
	SagaStores(ctx context.Context, merchantID string, page, perPage int) ([]jeton.SagaStore, int, error)
	WebhookDeliveries(ctx context.Context, merchantID, orderID string, limit, offset int) ([]jeton.Callback, int, error)
}

// Callbacks sends test pings and redeliveries (callback.Service).
type Callbacks interface {
	Ping(ctx context.Context, merchantID, url string) (jeton.CallbackAttempt, bool)
	Redeliver(ctx context.Context, c jeton.Callback) error
}

// Wallets opens a merchant's wallet on first sight (trading.Service), so
// a new sandbox merchant sees its opening balance.
type Wallets interface {
	Wallet(ctx context.Context, merchantID string) (jeton.Wallet, error)
}

// Sandbox is the tester's levers on the simulated Steam.
type Sandbox interface {
	Accept(ctx context.Context, offerID string) error
	Decline(ctx context.Context, offerID string) error
	Reverse(ctx context.Context, offerID, by string) error
	AdvanceClock(ctx context.Context, d time.Duration) error
	Now() time.Time
}

// Config wires the dashboard. Store, Creds and Callbacks are required;
// the rest are optional and their pages say so when absent.
type Config struct {
	Store     Store
	Creds     *credential.Service
	Callbacks Callbacks
	// Payments drives SagaPay webhooks and the virtual terminal; nil
	// outside sandbox mode, where jeton has no card processor.
	Payments Payments
	Wallets  Wallets
	// Sandbox is nil outside sandbox mode. Poke has the trading engine
	// look at a trade at once, after a control answered its offer.
	Sandbox Sandbox
	Poke    func(tradeID string)
	// Risk is the provider model the risk page explains (default
	// risk.Default()).
	Risk *risk.Model
	Now  func() time.Time
	Log  *slog.Logger
	// SessionTTL is how long a sign-in lasts (default 12 h).
	SessionTTL time.Duration
	// LockAfter wrong passwords in a row lock an account for LockFor
	// (defaults 5 and 15 min).
	LockAfter int
	LockFor   time.Duration
	// IPAttempts failed sign-ins from one client address within
	// IPWindow throttle further tries from it (defaults 20 and 15 min).
	IPAttempts int
	IPWindow   time.Duration
	// TrustedProxies are the reverse proxies in front of jeton: for a
	// request from one of them, the client address the throttle counts is
	// the last X-Forwarded-For hop that is not a trusted proxy. Empty:
	// the connection's address.
	TrustedProxies []netip.Prefix
}

// Dashboard serves /dashboard.
type Dashboard struct {
	cfg      Config
	pages    map[string]*template.Template
	throttle *throttle // per client address
	unknown  *throttle // per email without an account: they lock like accounts
	accounts [64]sync.Mutex
	static   http.Handler
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Session cookie names. The pre-session cookie carries the CSRF seed of
// the sign-in and setup forms.
const (
	sessionCookie = "jeton_session"
	preCookie     = "jeton_pre"
	basePath      = "/dashboard"
)

// New builds the dashboard and parses its templates.
func New(cfg Config) (*Dashboard, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Risk == nil {
		m := risk.Default()
		cfg.Risk = &m
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.LockAfter <= 0 {
		cfg.LockAfter = 5
	}
	if cfg.LockFor <= 0 {
		cfg.LockFor = 15 * time.Minute
	}
	if cfg.IPAttempts <= 0 {
		cfg.IPAttempts = 20
	}
	if cfg.IPWindow <= 0 {
		cfg.IPWindow = 15 * time.Minute
	}
	d := &Dashboard{cfg: cfg, pages: map[string]*template.Template{}, throttle: newThrottle(cfg.IPAttempts, cfg.IPWindow),
		unknown: newThrottle(cfg.LockAfter, cfg.LockFor)}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, err
		}
		d.pages[name] = t
	}
	sub, _ := fs.Sub(staticFS, "static")
	d.static = http.StripPrefix(basePath+"/static/", http.FileServerFS(sub))
	return d, nil
}

// Routes lists the dashboard's routes, all marked as pages so the API's
// OpenAPI document leaves them out.
func (d *Dashboard) Routes() []httpserver.Route {
	type rt struct {
		method, path string
		h            http.HandlerFunc
	}
	routes := []rt{
		{"GET", "", d.redirectHome},
		{"GET", "/static/", d.serveStatic},
		{"GET", "/login", d.public(d.loginPage)},
		{"POST", "/login", d.public(d.login)},
		{"GET", "/setup", d.public(d.setupPage)},
		{"POST", "/setup", d.public(d.setup)},
		{"POST", "/logout", d.signedIn(d.logout)},
	}
	for _, p := range d.pageRoutes() {
		routes = append(routes, rt{p.method, p.path, d.signedIn(p.h)})
	}
	cop := http.NewCrossOriginProtection()
	out := make([]httpserver.Route, len(routes))
	for i, r := range routes {
		out[i] = httpserver.Route{Method: r.method, Path: basePath + r.path, Page: true,
			Handler: secureHeaders(cop.Handler(r.h))}
	}
	return out
}

type pageRoute struct {
	method, path string
	h            func(http.ResponseWriter, *http.Request, *session)
}

func (d *Dashboard) redirectHome(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, basePath+"/", http.StatusSeeOther)
}

func (d *Dashboard) serveStatic(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=3600")
	d.static.ServeHTTP(w, r)
}

// secureHeaders keeps pages out of frames and caches and allows only
// the dashboard's own scripts and styles.
func secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if !strings.HasPrefix(r.URL.Path, basePath+"/static/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// session is a signed-in request's user and merchant.
type session struct {
	jeton.Session
	User     jeton.User
	Merchant jeton.Merchant
	CSRF     string
}

// secure says whether cookies get the Secure flag: behind TLS, or behind
// a proxy that says it terminated TLS (a header that can only add the
// flag, never remove it).
func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: basePath, MaxAge: maxAge,
		HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteStrictMode})
}

// signedIn loads the session; GETs without one go to the sign-in page,
// other methods get 401. Every non-GET must carry the session's CSRF
// token.
func (d *Dashboard) signedIn(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !validUTF8(r) {
			d.status(w, r, nil, http.StatusBadRequest, "The address or form is not valid UTF-8.")
			return
		}
		s, err := d.loadSession(r)
		if err != nil {
			if jeton.AsError(err).Kind != jeton.KindNotFound {
				d.fail(w, r, nil, err)
				return
			}
			if safeMethod(r) {
				http.Redirect(w, r, basePath+"/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			d.status(w, r, nil, http.StatusUnauthorized, "Your session has ended. Sign in again.")
			return
		}
		if !safeMethod(r) && !sameToken(r.PostFormValue("csrf"), s.CSRF) {
			d.status(w, r, s, http.StatusForbidden, "The form's security token is missing or wrong. Reload the page and try again.")
			return
		}
		h(w, r, s)
	}
}

func (d *Dashboard) loadSession(r *http.Request) (*session, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil, jeton.Errorf(jeton.KindNotFound, jeton.KeyNotFound, "no session")
	}
	ctx := r.Context()
	s, err := d.cfg.Store.Session(ctx, hashToken(c.Value), d.cfg.Now())
	if err != nil {
		return nil, err
	}
	u, err := d.cfg.Store.User(ctx, s.UserID)
	if err != nil {
		return nil, err
	}
	m, err := d.cfg.Store.Merchant(ctx, s.MerchantID)
	if err != nil {
		return nil, err
	}
	return &session{Session: s, User: u, Merchant: m, CSRF: csrfFor(c.Value)}, nil
}

// public serves the sign-in and setup forms: a pre-session cookie seeds
// their CSRF token, and POSTs must echo it.
func (d *Dashboard) public(h func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		pre := ""
		if c, err := r.Cookie(preCookie); err == nil {
			pre = c.Value
		}
		if !safeMethod(r) {
			if pre == "" || !sameToken(r.PostFormValue("csrf"), csrfFor(pre)) {
				d.status(w, r, nil, http.StatusForbidden, "The form's security token is missing or wrong. Reload the page and try again.")
				return
			}
		} else if pre == "" {
			pre, _ = newToken()
			setCookie(w, r, preCookie, pre, 3600)
		}
		h(w, r, csrfFor(pre))
	}
}

// safeMethod: GET and HEAD change nothing and need no CSRF token.
func safeMethod(r *http.Request) bool {
	return r.Method == http.MethodGet || r.Method == http.MethodHead
}

// validUTF8 refuses paths, queries and forms that are not UTF-8 (which
// PostgreSQL would refuse as text).
func validUTF8(r *http.Request) bool {
	if !utf8.ValidString(r.URL.Path) || !utf8.ValidString(r.URL.RawQuery) {
		return false
	}
	if !safeMethod(r) {
		if err := r.ParseForm(); err != nil {
			return false
		}
		for k, vs := range r.PostForm {
			if !utf8.ValidString(k) {
				return false
			}
			for _, v := range vs {
				if !utf8.ValidString(v) {
					return false
				}
			}
		}
	}
	q, _ := url.QueryUnescape(r.URL.RawQuery)
	return utf8.ValidString(q)
}

// clientAddr is the address the sign-in throttle counts: the
// connection's, or behind a trusted proxy the nearest untrusted
// X-Forwarded-For hop (the rest of that header can be forged). IPv6
// addresses count by /64, the block one client usually holds.
func (d *Dashboard) clientAddr(r *http.Request) string {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	addr := ap.Addr().Unmap()
	if d.trusted(addr) {
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break
			}
			addr = a.Unmap()
			if !d.trusted(addr) {
				break
			}
		}
	}
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

func (d *Dashboard) trusted(a netip.Addr) bool {
	for _, p := range d.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// view is what every page template gets.
type view struct {
	Title   string
	Nav     string
	S       *session
	CSRF    string
	Sandbox bool
	// Payments says the SagaPay pages exist (sandbox mode).
	Payments bool
	Notice   string
	Error    string
	Data     any
}

func (d *Dashboard) render(w http.ResponseWriter, r *http.Request, s *session, code int, page, title string, data any) {
	v := view{Title: title, Nav: page, S: s, Sandbox: d.cfg.Sandbox != nil, Payments: d.cfg.Payments != nil, Data: data, Notice: notices[r.URL.Query().Get("done")]}
	if s != nil {
		v.CSRF = s.CSRF
	}
	if pd, ok := data.(pageData); ok {
		v.Error, v.CSRF = pd.err(), firstNonEmpty(pd.csrf(), v.CSRF)
	}
	t := d.pages[page]
	if t == nil {
		d.cfg.Log.Error("dashboard: no template", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	if err := t.Execute(w, v); err != nil {
		d.cfg.Log.Error("dashboard: render", "page", page, "err", err)
	}
}

// pageData lets a page's data carry a form error and the CSRF token of
// a public page.
type pageData interface {
	err() string
	csrf() string
}

// form is embedded by page data that has a form error to show.
type form struct {
	Err   string
	Token string
}

func (f form) err() string  { return f.Err }
func (f form) csrf() string { return f.Token }

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// status renders a plain message page with an HTTP status.
func (d *Dashboard) status(w http.ResponseWriter, r *http.Request, s *session, code int, msg string) {
	d.render(w, r, s, code, "message", http.StatusText(code), form{Err: msg})
}

// fail shows an error: jeton errors by their message and status, others
// as an internal error that is logged (without request data).
func (d *Dashboard) fail(w http.ResponseWriter, r *http.Request, s *session, err error) {
	e := jeton.AsError(err)
	code := http.StatusInternalServerError
	switch e.Kind {
	case jeton.KindInvalid:
		code = http.StatusBadRequest
	case jeton.KindNotFound:
		code = http.StatusNotFound
	case jeton.KindConflict:
		code = http.StatusConflict
	case jeton.KindForbidden, jeton.KindUnauthorized:
		code = http.StatusForbidden
	case jeton.KindRateLimited:
		code = http.StatusTooManyRequests
	}
	msg := e.Message
	if code == http.StatusInternalServerError {
		if !errors.Is(err, context.Canceled) {
			d.cfg.Log.Error("dashboard", "route", r.Pattern, "err", err)
		}
		msg = "Something went wrong on our side; it has been logged."
	}
	d.status(w, r, s, code, msg)
}

// done redirects after a successful form (post/redirect/get) with a
// notice code that names no secret.
func done(w http.ResponseWriter, r *http.Request, path, notice string) {
	http.Redirect(w, r, basePath+path+"?done="+notice, http.StatusSeeOther)
}

// notices are the messages a redirect's done code shows.
var notices = map[string]string{
	"key-revoked":       "The API key is revoked. Requests with it are refused from now on.",
	"provider-revoked":  "The provider is revoked.",
	"callback-saved":    "The callback URL answered the test ping and is saved.",
	"callback-cleared":  "The callback URL is cleared; no callbacks will be sent.",
	"redelivered":       "The callback is queued for delivery again.",
	"collateral-saved":  "The merchant collateral is saved; new trades use it.",
	"lifetime-saved":    "The longest client-token lifetime is saved.",
	"clock-advanced":    "The sandbox clock moved forward.",
	"offer-accepted":    "The trade offer is accepted.",
	"offer-declined":    "The trade offer is declined.",
	"offer-reversed":    "The trade is reversed.",
	"webhook-deleted":   "The webhook endpoint is deleted.",
	"terminal-tip":      "The tip is chosen on the terminal.",
	"terminal-card":     "The test card is presented on the terminal.",
	"terminal-cancel":   "The payment is cancelled on the terminal.",
	"signed-out":        "You are signed out.",
	"webhook-tested":    "A test webhook was sent; see the delivery log.",
	"password-set":      "Your password is set and you are signed in.",
	"callback-tested":   "The test ping was sent; see the delivery log below.",
	"webhook-redeliver": "The webhook is queued for delivery again.",
}
