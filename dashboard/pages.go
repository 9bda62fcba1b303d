package dashboard

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jetonhq/jeton"
)

// pageRoutes are the signed-in pages; each handler reads and writes only
// the session's merchant.
func (d *Dashboard) pageRoutes() []pageRoute {
	return []pageRoute{
		{"GET", "/{$}", d.overview},
		{"GET", "/keys", d.keys},
		{"POST", "/keys", d.createKey},
		{"POST", "/keys/{id}/rotate", d.rotateKey},
		{"POST", "/keys/{id}/revoke", d.revokeKey},
		{"POST", "/keys/lifetime", d.setLifetime},
		{"POST", "/secret/rotate", d.rotateSecret},
		{"GET", "/providers", d.providers},
		{"POST", "/providers", d.createProvider},
		{"POST", "/providers/{id}/revoke", d.revokeProvider},

		{"GET", "/callbacks", d.callbacks},
		{"POST", "/callbacks/url", d.setCallbackURL},
		{"POST", "/callbacks/ping", d.pingCallback},
		{"POST", "/callbacks/verify", d.verifyCallback},
		{"GET", "/callbacks/{id}", d.callbackDetail},
		{"POST", "/callbacks/{id}/redeliver", d.redeliver},
		{"GET", "/webhooks", d.needs(pay, d.webhooks)},
		{"POST", "/webhooks", d.needs(pay, d.createWebhook)},
		{"POST", "/webhooks/{id}/delete", d.needs(pay, d.deleteWebhook)},
		{"POST", "/webhooks/{id}/test", d.needs(pay, d.testWebhook)},
		{"POST", "/webhooks/deliveries/{id}/redeliver", d.needs(pay, d.redeliverWebhook)},

		{"GET", "/trades", d.trades},
		{"GET", "/trades/{id}", d.trade},
		{"GET", "/wallet", d.wallet},
		{"GET", "/risk", d.risk},
		{"POST", "/risk/collateral", d.setCollateral},

		{"GET", "/payments", d.needs(pay, d.payments)},
		{"GET", "/orders/{id}", d.needs(pay, d.order)},

		{"GET", "/sandbox", d.needs(sbx, d.sandbox)},
		{"POST", "/sandbox/clock", d.needs(sbx, d.advanceClock)},
		{"POST", "/sandbox/offers/{action}", d.needs(sbx, d.controlOffer)},
		{"GET", "/terminal", d.needs(sbx|pay, d.terminal)},
		{"POST", "/terminal/{id}/{action}", d.needs(sbx|pay, d.controlTerminal)},
	}
}

// part is an optional part of jeton that some pages need.
type part int

const (
	pay part = 1 << iota // the SagaPay payments engine (sandbox mode)
	sbx                  // the simulated Steam (sandbox mode)
)

// needs answers 404 with a reason instead of h when a part h needs is not
// running.
func (d *Dashboard) needs(p part, h func(http.ResponseWriter, *http.Request, *session)) func(http.ResponseWriter, *http.Request, *session) {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		switch {
		case p&sbx != 0 && d.cfg.Sandbox == nil:
			d.status(w, r, s, http.StatusNotFound, "Sandbox controls exist only in sandbox mode.")
		case p&pay != 0 && d.cfg.Payments == nil:
			d.status(w, r, s, http.StatusNotFound, "SagaPay payments run only in sandbox mode: jeton has no card processor outside it.")
		default:
			h(w, r, s)
		}
	}
}

type overviewData struct {
	Merchant   jeton.Merchant
	Wallet     *jeton.Wallet
	Keys       int
	Lifetime   string
	Providers  int
	WalletNote string
}

func (d *Dashboard) overview(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	keys, err := d.cfg.Creds.Keys(ctx, s.Merchant.ID)
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	active := 0
	now := d.cfg.Now()
	for _, k := range keys {
		if k.ActiveAt(now) {
			active++
		}
	}
	ps, err := d.cfg.Store.Providers(ctx, s.Merchant.ID)
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	live := 0
	for _, p := range ps {
		if p.RevokedAt == nil || now.Before(*p.RevokedAt) {
			live++
		}
	}
	data := overviewData{Merchant: s.Merchant, Keys: active, Providers: live, Lifetime: s.Merchant.MaxTokenLifetime.String()}
	if wal, err := d.wallet0(r, s); err == nil {
		data.Wallet = &wal
	}
	d.render(w, r, s, http.StatusOK, "overview", "Overview", data)
}

// wallet0 reads the merchant's wallet, opening it first when the trading
// engine runs (so a new sandbox merchant sees its opening balance).
func (d *Dashboard) wallet0(r *http.Request, s *session) (jeton.Wallet, error) {
	if d.cfg.Wallets != nil {
		return d.cfg.Wallets.Wallet(r.Context(), s.Merchant.ID)
	}
	return d.cfg.Store.Wallet(r.Context(), s.Merchant.ID)
}

type keysData struct {
	Keys     []keyRow
	Scopes   []jeton.Scope
	Lifetime int64 // minutes
	Graces   []grace
}

type keyRow struct {
	jeton.APIKey
	Active bool
}

// grace is an option of a rotation's grace period.
type grace struct {
	Value string
	Label string
	Dur   time.Duration
}

var graces = []grace{{"0", "none: the old one stops now", 0}, {"1h", "1 hour", time.Hour},
	{"24h", "24 hours", 24 * time.Hour}, {"168h", "7 days", 7 * 24 * time.Hour}}

func parseGrace(v string) (time.Duration, error) {
	for _, g := range graces {
		if g.Value == v {
			return g.Dur, nil
		}
	}
	return 0, jeton.Errorf(jeton.KindInvalid, jeton.KeyValidationFailed, "grace: choose one of the listed periods")
}

func (d *Dashboard) keys(w http.ResponseWriter, r *http.Request, s *session) {
	ks, err := d.cfg.Creds.Keys(r.Context(), s.Merchant.ID)
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	now := d.cfg.Now()
	rows := make([]keyRow, len(ks))
	for i, k := range ks {
		rows[i] = keyRow{APIKey: k, Active: k.ActiveAt(now)}
	}
	d.render(w, r, s, http.StatusOK, "keys", "API keys", keysData{Keys: rows, Scopes: jeton.Scopes, Graces: graces,
		Lifetime: int64(s.Merchant.MaxTokenLifetime / time.Minute)})
}

// shown is a credential displayed once, right after it is made.
type shown struct {
	Title  string
	Label  string
	Value  string
	Extra  [][2]string
	Note   string
	Back   string
	BackTo string
}

func (d *Dashboard) showOnce(w http.ResponseWriter, r *http.Request, s *session, v shown) {
	d.render(w, r, s, http.StatusOK, "shown", v.Title, v)
}

func (d *Dashboard) createKey(w http.ResponseWriter, r *http.Request, s *session) {
	scopes, err := jeton.ParseScopes(strings.Join(r.PostForm["scope"], ","))
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	plain, k, err := d.cfg.Creds.CreateKey(r.Context(), s.Merchant.ID, scopes)
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	d.cfg.Log.Info("dashboard: api key created", "merchant", s.Merchant.ID, "key", k.ID, "user", s.User.ID)
	d.showOnce(w, r, s, shown{Title: "New API key", Label: "API key", Value: plain,
		Extra: [][2]string{{"Key ID", k.ID}, {"Scopes", joinScopes(k.Scopes)}},
		Note:  "Copy the key now: jeton keeps only its hash and cannot show it again.", Back: "/keys", BackTo: "API keys"})
}

func joinScopes(ss []jeton.Scope) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return strings.Join(out, ", ")
}

func (d *Dashboard) rotateKey(w http.ResponseWriter, r *http.Request, s *session) {
	g, err := parseGrace(r.PostFormValue("grace"))
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	plain, k, err := d.cfg.Creds.RotateKey(r.Context(), s.Merchant.ID, r.PathValue("id"), g)
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	d.cfg.Log.Info("dashboard: api key rotated", "merchant", s.Merchant.ID, "old", r.PathValue("id"), "key", k.ID, "user", s.User.ID)
	note := "Copy the key now: jeton keeps only its hash. The old key stops working now."
	if g > 0 {
		note = "Copy the key now: jeton keeps only its hash. The old key keeps working for " + g.String() + ", then stops."
	}
	d.showOnce(w, r, s, shown{Title: "Rotated API key", Label: "New API key", Value: plain,
		Extra: [][2]string{{"Key ID", k.ID}, {"Replaces", r.PathValue("id")}, {"Scopes", joinScopes(k.Scopes)}},
		Note:  note, Back: "/keys", BackTo: "API keys"})
}

func (d *Dashboard) revokeKey(w http.ResponseWriter, r *http.Request, s *session) {
	if err := d.cfg.Creds.RevokeKey(r.Context(), s.Merchant.ID, r.PathValue("id")); err != nil {
		d.fail(w, r, s, err)
		return
	}
	d.cfg.Log.Info("dashboard: api key revoked", "merchant", s.Merchant.ID, "key", r.PathValue("id"), "user", s.User.ID)
	done(w, r, "/keys", "key-revoked")
}

func (d *Dashboard) setLifetime(w http.ResponseWriter, r *http.Request, s *session) {
	m, err := strconv.Atoi(r.PostFormValue("minutes"))
	if err != nil {
		d.fail(w, r, s, jeton.Errorf(jeton.KindInvalid, jeton.KeyValidationFailed, "the lifetime is a whole number of minutes"))
		return
	}
	if err := d.cfg.Creds.SetMaxTokenLifetime(r.Context(), s.Merchant.ID, time.Duration(m)*time.Minute); err != nil {
		d.fail(w, r, s, err)
		return
	}
	done(w, r, "/keys", "lifetime-saved")
}

func (d *Dashboard) rotateSecret(w http.ResponseWriter, r *http.Request, s *session) {
	g, err := parseGrace(r.PostFormValue("grace"))
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	plain, err := d.cfg.Creds.RotateSecret(r.Context(), s.Merchant.ID, g)
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	d.cfg.Log.Info("dashboard: api secret rotated", "merchant", s.Merchant.ID, "user", s.User.ID)
	note := "Copy the secret now: it is stored sealed and not shown again. Tokens signed with the old secret stop verifying now."
	if g > 0 {
		note = "Copy the secret now: it is stored sealed and not shown again. For " + g.String() +
			" tokens signed with the old secret still verify, and callbacks carry both signatures (s and s1)."
	}
	d.showOnce(w, r, s, shown{Title: "New API secret", Label: "API secret", Value: plain, Note: note, Back: "/keys", BackTo: "API keys"})
}

type providersData struct {
	Providers []providerRow
}

type providerRow struct {
	jeton.Provider
	Active bool
}

func (d *Dashboard) providers(w http.ResponseWriter, r *http.Request, s *session) {
	ps, err := d.cfg.Store.Providers(r.Context(), s.Merchant.ID)
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	now := d.cfg.Now()
	rows := make([]providerRow, len(ps))
	for i, p := range ps {
		rows[i] = providerRow{Provider: p, Active: p.RevokedAt == nil || now.Before(*p.RevokedAt)}
	}
	d.render(w, r, s, http.StatusOK, "providers", "Providers", providersData{Providers: rows})
}

func (d *Dashboard) createProvider(w http.ResponseWriter, r *http.Request, s *session) {
	id, cert, err := d.cfg.Creds.CreateProvider(r.Context(), s.Merchant.ID)
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	d.showOnce(w, r, s, shown{Title: "New provider", Label: "providerCertificate", Value: cert,
		Extra: [][2]string{{"providerId", id}},
		Note:  "Copy the certificate now: jeton keeps only its hash. SagaPay's token route takes both values.", Back: "/providers", BackTo: "Providers"})
}

func (d *Dashboard) revokeProvider(w http.ResponseWriter, r *http.Request, s *session) {
	if err := d.cfg.Store.RevokeProvider(r.Context(), s.Merchant.ID, r.PathValue("id"), d.cfg.Now().UTC()); err != nil {
		d.fail(w, r, s, err)
		return
	}
	done(w, r, "/providers", "provider-revoked")
}
