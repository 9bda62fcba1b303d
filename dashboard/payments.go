package dashboard

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/payment"
)

// TerminalControls drive the sandbox's manual terminals: the virtual
// terminal page is a tester standing at one (payment.Service).
type TerminalControls interface {
	Control(ctx context.Context, merchantID, terminalID string, apply func(*payment.Control) error) (jeton.Payment, error)
	EffectiveSetting(ctx context.Context, merchantID, kind, storeID, terminalID string, out any) error
}

// testCards are the sandbox's test cards, as the virtual terminal offers
// them.
var testCards = []string{"VISA", "MASTERCARD", "AMEX"}

type paymentsData struct {
	Transactions []jeton.Transaction
	Total        int
	Pager        pager
	Query        string
}

func (d *Dashboard) payments(w http.ResponseWriter, r *http.Request, s *session) {
	if id := strings.TrimSpace(r.URL.Query().Get("order")); id != "" {
		http.Redirect(w, r, basePath+"/orders/"+urlPath(id), http.StatusSeeOther)
		return
	}
	page := pageOf(r)
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if rs := []rune(q); len(rs) > 100 {
		q = string(rs[:100])
	}
	ts, n, err := d.cfg.Store.Transactions(r.Context(), jeton.TransactionFilter{MerchantID: s.Merchant.ID, Query: q, Page: page, PerPage: perPage})
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	d.render(w, r, s, http.StatusOK, "payments", "Orders and payments", paymentsData{Transactions: ts, Total: n, Query: q, Pager: newPager(page, n, url.Values{"q": {q}})})
}

// urlPath escapes one path segment.
func urlPath(s string) string {
	return strings.NewReplacer("/", "%2F", "?", "%3F", "#", "%23", "%", "%25").Replace(s)
}

type orderData struct {
	Order    jeton.Order
	Payments []jeton.Payment
	Receipts []jeton.Transaction
}

func (d *Dashboard) order(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	o, err := d.cfg.Store.Order(ctx, s.Merchant.ID, r.PathValue("id"))
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	ps, err := d.cfg.Store.OrderPayments(ctx, o.ID)
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	ts, _, err := d.cfg.Store.Transactions(ctx, jeton.TransactionFilter{MerchantID: s.Merchant.ID, Ref: o.ID, Page: 1, PerPage: 100})
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	d.render(w, r, s, http.StatusOK, "order", "Order "+o.ID, orderData{Order: o, Payments: ps, Receipts: ts})
}

type sandboxData struct {
	form
	Now    time.Time
	Active []jeton.Trade
}

func (d *Dashboard) sandbox(w http.ResponseWriter, r *http.Request, s *session) {
	ts, _, err := d.cfg.Store.Trades(r.Context(), jeton.TradeFilter{MerchantID: s.Merchant.ID, Limit: 100})
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	var open []jeton.Trade
	for _, t := range ts {
		if t.OfferID != nil && (t.Status == jeton.StatusActive || t.Status == jeton.StatusHold) {
			open = append(open, t)
		}
	}
	d.render(w, r, s, http.StatusOK, "sandbox", "Sandbox", sandboxData{Now: d.cfg.Sandbox.Now(), Active: open})
}

// clockSteps are the sandbox clock's offered moves.
var clockSteps = map[string]time.Duration{"1h": time.Hour, "24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour, "8d": 8 * 24 * time.Hour}

func (d *Dashboard) advanceClock(w http.ResponseWriter, r *http.Request, s *session) {
	step, ok := clockSteps[r.PostFormValue("by")]
	if !ok {
		d.fail(w, r, s, jeton.Errorf(jeton.KindInvalid, jeton.KeyValidationFailed, "choose one of the offered steps"))
		return
	}
	if err := d.cfg.Sandbox.AdvanceClock(r.Context(), step); err != nil {
		d.fail(w, r, s, err)
		return
	}
	done(w, r, "/sandbox", "clock-advanced")
}

// controlOffer accepts, declines or reverses the offer of one of the
// merchant's trades; the trade is looked up first so another merchant's
// offer cannot be touched.
func (d *Dashboard) controlOffer(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	t, err := d.cfg.Store.Trade(ctx, s.Merchant.ID, r.PostFormValue("trade"))
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	if t.OfferID == nil {
		d.fail(w, r, s, jeton.Errorf(jeton.KindConflict, jeton.KeyConflict, "this trade has no trade offer yet"))
		return
	}
	var notice string
	switch r.PathValue("action") {
	case "accept":
		err, notice = d.cfg.Sandbox.Accept(ctx, *t.OfferID), "offer-accepted"
	case "decline":
		err, notice = d.cfg.Sandbox.Decline(ctx, *t.OfferID), "offer-declined"
	case "reverse":
		by := r.PostFormValue("by")
		if by != "user" && by != "supplier" {
			by = "user"
		}
		err, notice = d.cfg.Sandbox.Reverse(ctx, *t.OfferID, by), "offer-reversed"
	default:
		err = jeton.Errorf(jeton.KindNotFound, jeton.KeyNotFound, "no such control")
	}
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	if d.cfg.Poke != nil {
		d.cfg.Poke(t.ID)
	}
	done(w, r, "/trades/"+t.ID, notice)
}

type terminalData struct {
	form
	Terminals []terminalView
	Cards     []string
}

// terminalView is one manual terminal with the payment waiting on it.
type terminalView struct {
	jeton.Terminal
	Payment *jeton.Payment
	Order   *jeton.Order
	Tips    []tipOption
}

type tipOption struct {
	Level   int
	Percent int64
	Amount  int64
}

func (d *Dashboard) terminal(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	ts, _, err := d.cfg.Store.Terminals(ctx, s.Merchant.ID, "", 1, 100)
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	data := terminalData{Cards: testCards}
	for _, t := range ts {
		if !t.Manual {
			continue
		}
		v := terminalView{Terminal: t}
		p, err := d.cfg.Store.ActivePayment(ctx, t.ID)
		switch {
		case err == nil && p.MerchantID == s.Merchant.ID:
			v.Payment = &p
			if o, err := d.cfg.Store.Order(ctx, s.Merchant.ID, p.OrderID); err == nil {
				v.Order = &o
			}
			if p.Step == "SELECT_TIP" {
				v.Tips = d.tipOptions(ctx, s, t, p)
			}
		case err != nil && jeton.AsError(err).Kind != jeton.KindNotFound:
			d.fail(w, r, s, err)
			return
		}
		data.Terminals = append(data.Terminals, v)
	}
	d.render(w, r, s, http.StatusOK, "terminal", "Virtual terminal", data)
}

// tipOptions are the terminal's effective tip levels with what each
// would add to this payment.
func (d *Dashboard) tipOptions(ctx context.Context, s *session, t jeton.Terminal, p jeton.Payment) []tipOption {
	var c payment.TipConfig
	if err := d.cfg.Payments.EffectiveSetting(ctx, s.Merchant.ID, jeton.SettingTips, t.StoreID, t.ID, &c); err != nil {
		return nil
	}
	var out []tipOption
	for i, l := range []*int64{c.TipLevel1, c.TipLevel2, c.TipLevel3} {
		if l != nil && *l > 0 {
			out = append(out, tipOption{Level: i + 1, Percent: *l, Amount: p.Amount/100**l + p.Amount%100**l/100})
		}
	}
	return out
}

func (d *Dashboard) controlTerminal(w http.ResponseWriter, r *http.Request, s *session) {
	var apply func(*payment.Control) error
	var notice string
	switch r.PathValue("action") {
	case "tip":
		level, _ := strconv.Atoi(r.PostFormValue("level"))
		amount, _ := strconv.ParseInt(r.PostFormValue("amount"), 10, 64)
		if level < 0 || level > 3 || amount < 0 || amount > 1_000_000_000 {
			d.fail(w, r, s, jeton.Errorf(jeton.KindInvalid, jeton.KeyValidationFailed, "choose a tip level 1 to 3, an amount, or no tip"))
			return
		}
		apply, notice = func(c *payment.Control) error {
			c.TipLevel, c.TipAmount, c.NoTip = level, amount, level == 0 && amount == 0
			return nil
		}, "terminal-tip"
	case "card":
		card := r.PostFormValue("card")
		ok := false
		for _, c := range testCards {
			ok = ok || c == card
		}
		if !ok {
			d.fail(w, r, s, jeton.Errorf(jeton.KindInvalid, jeton.KeyValidationFailed, "choose one of the test cards"))
			return
		}
		apply, notice = func(c *payment.Control) error { c.Card = card; return nil }, "terminal-card"
	case "cancel":
		apply, notice = func(c *payment.Control) error { c.Cancel = true; return nil }, "terminal-cancel"
	default:
		d.fail(w, r, s, jeton.Errorf(jeton.KindNotFound, jeton.KeyNotFound, "no such control"))
		return
	}
	if _, err := d.cfg.Payments.Control(r.Context(), s.Merchant.ID, r.PathValue("id"), apply); err != nil {
		d.fail(w, r, s, err)
		return
	}
	done(w, r, "/terminal", notice)
}
