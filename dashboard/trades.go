package dashboard

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/risk"
)

const perPage = 50

// pageOf reads ?page= (1-based).
func pageOf(r *http.Request) int {
	p, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || p < 1 || p > maxPage {
		return 1
	}
	return p
}

// maxPage bounds how deep a list pages (an OFFSET of 100,000 rows).
const maxPage = 2000

// pager is the previous/next links of a list.
type pager struct {
	Page, Pages int
	Prev, Next  string // hrefs, "" at either end
}

// newPager builds the links; filters are the list's other query values,
// kept on every page.
func newPager(page, total int, filters url.Values) pager {
	p := pager{Page: page, Pages: min(max((total+perPage-1)/perPage, 1), maxPage)}
	link := func(n int) string {
		q := url.Values{}
		for k, v := range filters {
			if len(v) > 0 && v[0] != "" {
				q.Set(k, v[0])
			}
		}
		q.Set("page", strconv.Itoa(n))
		return "?" + q.Encode()
	}
	if page > 1 {
		p.Prev = link(page - 1)
	}
	if page < p.Pages {
		p.Next = link(page + 1)
	}
	return p
}

type tradesData struct {
	Trades []jeton.Trade
	Total  int
	Type   string
	Pager  pager
}

func (d *Dashboard) trades(w http.ResponseWriter, r *http.Request, s *session) {
	typ := strings.ToUpper(r.URL.Query().Get("type"))
	if typ != string(jeton.Deposit) && typ != string(jeton.Withdraw) {
		typ = ""
	}
	page := pageOf(r)
	ts, n, err := d.cfg.Store.Trades(r.Context(), jeton.TradeFilter{MerchantID: s.Merchant.ID, Type: jeton.TradeType(typ),
		Limit: perPage, Offset: (page - 1) * perPage})
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	d.render(w, r, s, http.StatusOK, "trades", "Trades", tradesData{Trades: ts, Total: n, Type: typ, Pager: newPager(page, n, url.Values{"type": {typ}})})
}

type tradeData struct {
	Trade     jeton.Trade
	Events    []jeton.TradeEvent
	Callbacks []jeton.Callback
	Offer     string
	CanAnswer bool // the offer is still waiting for the user
	CanRevert bool // the trade is in its hold
}

func (d *Dashboard) trade(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	t, err := d.cfg.Store.Trade(ctx, s.Merchant.ID, r.PathValue("id"))
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	evs, err := d.cfg.Store.TradeEvents(ctx, t.ID)
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	cbs, _, err := d.cfg.Store.Callbacks(ctx, s.Merchant.ID, t.ID, 100, 0)
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	data := tradeData{Trade: t, Events: evs, Callbacks: cbs}
	if t.OfferID != nil && d.cfg.Sandbox != nil {
		data.Offer = *t.OfferID
		data.CanAnswer = t.Status == jeton.StatusActive
		data.CanRevert = t.Status == jeton.StatusHold
	}
	d.render(w, r, s, http.StatusOK, "trade", "Trade "+t.ID, data)
}

type walletData struct {
	Wallet   jeton.Wallet
	Postings []jeton.Posting
	Total    int
	Pager    pager
}

func (d *Dashboard) wallet(w http.ResponseWriter, r *http.Request, s *session) {
	wal, err := d.wallet0(r, s)
	if err != nil && jeton.AsError(err).Kind != jeton.KindNotFound {
		d.fail(w, r, s, err)
		return
	}
	page := pageOf(r)
	ps, n, err := d.cfg.Store.Postings(r.Context(), s.Merchant.ID, jeton.PostingFilter{Limit: perPage, Offset: (page - 1) * perPage})
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	d.render(w, r, s, http.StatusOK, "wallet", "Wallet and ledger", walletData{Wallet: wal, Postings: ps, Total: n, Pager: newPager(page, n, nil)})
}

type riskData struct {
	form
	Model      risk.Model
	Collateral jeton.USD
	// The calculator's inputs and answer.
	Try       riskTry
	Breakdown *risk.Breakdown
	Available int64
}

// riskTry is a what-if user for the calculator.
type riskTry struct {
	Wager     string
	KYC       int
	Fiat      bool
	Crypto    bool
	Settled   string
	Count     int
	Reversals int
}

func (d *Dashboard) risk(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	data := riskData{Model: *d.cfg.Risk, Collateral: s.Merchant.Collateral}
	if q.Has("wager") {
		data.Try = riskTry{Wager: q.Get("wager"), Settled: q.Get("settled"), Fiat: q.Get("fiat") != "", Crypto: q.Get("crypto") != ""}
		data.Try.KYC, _ = strconv.Atoi(q.Get("kyc"))
		data.Try.Count, _ = strconv.Atoi(q.Get("count"))
		data.Try.Reversals, _ = strconv.Atoi(q.Get("reversals"))
		wager, err1 := jeton.ParseUSD(orZero(data.Try.Wager))
		settled, err2 := jeton.ParseUSD(orZero(data.Try.Settled))
		switch {
		case err1 != nil || err2 != nil:
			data.Err = "Amounts are dollars with at most two decimals."
		case data.Try.KYC < 0 || data.Try.KYC > 3 || data.Try.Count < 0 || data.Try.Reversals < 0 || data.Try.Count > 1_000_000 || data.Try.Reversals > 1000:
			data.Err = "KYC level is 0 to 3; counts are not negative."
		default:
			in := risk.Input{
				Client:             risk.ClientData{TotalWager: int64(wager), KYCLevel: data.Try.KYC, FiatDeposits: data.Try.Fiat, CryptoDeposits: data.Try.Crypto},
				History:            risk.History{SettledDeposits: int64(settled), SettledCount: data.Try.Count, Reversals: data.Try.Reversals},
				MerchantCollateral: int64(s.Merchant.Collateral),
				Now:                d.cfg.Now(),
			}
			b := d.cfg.Risk.Explain(in)
			data.Breakdown = &b
			data.Available = d.cfg.Risk.Available(in)
		}
	}
	code := http.StatusOK
	if data.Err != "" {
		code = http.StatusBadRequest
	}
	d.render(w, r, s, code, "risk", "Risk model", data)
}

func orZero(s string) string {
	if strings.TrimSpace(s) == "" {
		return "0"
	}
	return strings.TrimSpace(s)
}

func (d *Dashboard) setCollateral(w http.ResponseWriter, r *http.Request, s *session) {
	amt, err := jeton.ParseUSD(strings.TrimSpace(r.PostFormValue("collateral")))
	if err != nil {
		d.render(w, r, s, http.StatusBadRequest, "risk", "Risk model", riskData{form: form{Err: "Collateral " + err.Error() + "."},
			Model: *d.cfg.Risk, Collateral: s.Merchant.Collateral})
		return
	}
	if err := d.cfg.Store.SetMerchantCollateral(r.Context(), s.Merchant.ID, amt); err != nil {
		d.fail(w, r, s, err)
		return
	}
	d.cfg.Creds.Forget(s.Merchant.ID)
	done(w, r, "/risk", "collateral-saved")
}
