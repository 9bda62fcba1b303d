package assetpay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/callback"
	"github.com/jetonhq/jeton/steam"
	"github.com/jetonhq/jeton/trading"
)

// Trading is what the trading routes need beyond credentials.
type Trading struct {
	Engine    *trading.Service
	Backend   steam.Backend
	Store     TradingStore
	Callbacks CallbackSender
	// Sandbox is nil outside sandbox mode; its routes then answer 403.
	Sandbox SandboxControls
}

// TradingStore is the read side the routes use.
type TradingStore interface {
	jeton.TradeStore
	jeton.CallbackStore
}

// CallbackSender pings a callback URL and redelivers callbacks.
type CallbackSender interface {
	Ping(ctx context.Context, merchantID, url string) (jeton.CallbackAttempt, bool)
	Redeliver(ctx context.Context, c jeton.Callback) error
}

// SandboxControls are the tester's levers on the simulated Steam.
type SandboxControls interface {
	Accept(ctx context.Context, offerID string) error
	Decline(ctx context.Context, offerID string) error
	Reverse(ctx context.Context, offerID, by string) error
	AdvanceClock(ctx context.Context, d time.Duration) error
}

// WithTrading adds the trading routes.
func (a *API) WithTrading(t *Trading) *API {
	a.trading = t
	return a
}

func (a *API) tradingRoutes() []Route {
	if a.trading == nil {
		return nil
	}
	read, core := jeton.ScopeReadOnly, jeton.ScopeCoreAccess
	return []Route{
		{"GET", "/client/inventory", a.withToken(a.clientInventory), true},
		{"GET", "/client/market", a.withToken(func(w http.ResponseWriter, r *http.Request, _ *jeton.ClientToken) { a.market(w, r) }), true},
		{"GET", "/client/market/item", a.withToken(func(w http.ResponseWriter, r *http.Request, _ *jeton.ClientToken) { a.marketItem(w, r) }), true},
		{"GET", "/client/market/suggestions", a.withToken(func(w http.ResponseWriter, r *http.Request, _ *jeton.ClientToken) { a.suggestions(w, r) }), true},
		{"POST", "/client/trading/deposit", a.withToken(a.clientDeposit), true},
		{"POST", "/client/trading/withdraw", a.withToken(a.clientWithdraw), true},
		{"GET", "/client/trades", a.withToken(a.clientTrades), true},
		{"GET", "/client/trades/{id}", a.withToken(a.clientTrade), true},

		{"POST", "/secure/check-tradeurl", a.withKey(core, a.checkTradeURL), false},
		{"GET", "/secure/prices", a.withKey(read, a.prices), false},
		{"GET", "/secure/inventory", a.withKey(read, a.secureInventory), false},
		{"GET", "/secure/market", a.withKey(read, func(w http.ResponseWriter, r *http.Request, _ jeton.APIKey) { a.market(w, r) }), false},
		{"GET", "/secure/market/item", a.withKey(read, func(w http.ResponseWriter, r *http.Request, _ jeton.APIKey) { a.marketItem(w, r) }), false},
		{"GET", "/secure/market/suggestions", a.withKey(read, func(w http.ResponseWriter, r *http.Request, _ jeton.APIKey) { a.suggestions(w, r) }), false},
		{"GET", "/secure/trades", a.withKey(read, a.secureTrades), false},
		{"GET", "/secure/trades/{ref}", a.withKey(read, a.secureTrade), false},
		{"POST", "/secure/sell", a.withKey(core, a.sell), false},
		{"POST", "/secure/buy", a.withKey(core, a.buy), false},
		{"PUT", "/secure/callback-url", a.withKey(core, a.setCallbackURL), false},
		{"GET", "/secure/callbacks", a.withKey(read, a.listCallbacks), false},
		{"GET", "/secure/callbacks/{deliveryId}", a.withKey(read, a.getCallback), false},
		{"POST", "/secure/callbacks/{deliveryId}/redeliver", a.withKey(core, a.redeliver), false},
		{"POST", "/secure/sandbox/trades/{id}/{action}", a.withKey(core, a.sandboxTrade), false},
		{"POST", "/secure/sandbox/clock/advance", a.withKey(core, a.sandboxClock), false},

		{"GET", "/v1/wallets/me/balance", a.withKey(read, a.balance), false},
		{"GET", "/v1/ledger/transactions", a.withKey(read, a.ledger), false},
		{"GET", "/v1/ledger/transactions/{id}", a.withKey(read, a.ledgerEntry), false},
	}
}

// Route is a compact route row.
type Route struct {
	Method, Path string
	Handler      http.Handler
	Browser      bool
}

// query reads and validates the query parameters of the trading routes.
type query struct {
	r      *http.Request
	fields map[string]string
}

func newQuery(r *http.Request) *query { return &query{r: r, fields: map[string]string{}} }

func (q *query) bad(name, why string) { q.fields[name] = why }

func (q *query) str(name string, max int) string {
	v := q.r.URL.Query().Get(name)
	if len(v) > max {
		q.bad(name, fmt.Sprintf("must be at most %d characters", max))
	}
	return v
}

func (q *query) int(name string, def, lo, hi int) int {
	v := q.r.URL.Query().Get(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		q.bad(name, fmt.Sprintf("must be an integer from %d to %d", lo, hi))
		return def
	}
	return n
}

func (q *query) usd(name string) (jeton.USD, bool) {
	v := q.r.URL.Query().Get(name)
	if v == "" {
		return 0, false
	}
	u, err := jeton.ParseUSD(v)
	if err != nil {
		q.bad(name, err.Error())
		return 0, false
	}
	return u, true
}

func (q *query) game() steam.Game {
	v := q.r.URL.Query().Get("game")
	if v == "" {
		return steam.CS2
	}
	g := steam.Game(v)
	if !g.Valid() {
		q.bad("game", `must be "730" (CS2) or "252490" (Rust)`)
		return steam.CS2
	}
	return g
}

func (q *query) oneOf(name, def string, allowed ...string) string {
	v := q.r.URL.Query().Get(name)
	if v == "" {
		return def
	}
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	q.bad(name, "must be one of "+strings.Join(allowed, ", "))
	return def
}

func (q *query) err() error {
	if len(q.fields) == 0 {
		return nil
	}
	return &jeton.Error{Kind: jeton.KindInvalid, Key: jeton.KeyValidationFailed, Message: "invalid query", Fields: q.fields}
}

// ItemView is an item as the inventory and market replies show it.
type ItemView struct {
	ID             string          `json:"id"`
	AppID          int             `json:"appid"`
	ContextID      *int            `json:"contextid,omitempty"`
	Name           string          `json:"name"`
	MarketHashName string          `json:"marketHashName"`
	Type           string          `json:"type"`
	IconURL        string          `json:"iconUrl"`
	Tradable       bool            `json:"tradable"`
	Accepted       *bool           `json:"accepted,omitempty"`
	MarketPrice    jeton.USD       `json:"marketPrice"`
	Market         *int            `json:"market,omitempty"`
	Offer          OfferView       `json:"offer"`
	Exterior       string          `json:"exterior,omitempty"`
	Wear           string          `json:"wear,omitempty"`
	Rarity         string          `json:"rarity,omitempty"`
	Color          string          `json:"color,omitempty"`
	PaintSeed      *int            `json:"paintSeed,omitempty"`
	Stickers       []steam.Sticker `json:"stickers,omitempty"`
	Amount         int             `json:"amount"`
}

// OfferView is an item's offer.
type OfferView struct {
	Price     jeton.USD `json:"price"`
	Reference string    `json:"reference"`
	MaxAmount *int      `json:"maxAmount,omitempty"`
	Delivery  string    `json:"delivery,omitempty"`
}

func view(it steam.Item, listing bool) ItemView {
	v := ItemView{ID: it.ID, AppID: it.AppID, Name: it.Name, MarketHashName: it.MarketHashName, Type: it.Type, IconURL: it.IconURL,
		Tradable: it.Tradable, MarketPrice: jeton.USD(it.MarketPrice), Exterior: it.Exterior, Wear: it.Wear, Rarity: it.Rarity,
		Color: it.Color, Stickers: it.Stickers, Amount: max(it.Amount, 1),
		Offer: OfferView{Price: jeton.USD(it.Price), Reference: it.Reference}}
	if it.PaintSeed != 0 {
		ps := it.PaintSeed
		v.PaintSeed = &ps
	}
	if listing {
		mk := it.Market
		v.Market = &mk
		v.Offer.Delivery = it.Delivery
	} else {
		two := 2
		v.ContextID = &two
		acc := it.Accepted
		v.Accepted = &acc
		mx := max(it.MaxAmount, 1)
		v.Offer.MaxAmount = &mx
	}
	return v
}

// filterItems applies search, price bounds, sort and paging.
func filterItems(items []steam.Item, q *query, listing bool, perPageName string) ([]ItemView, int) {
	search := strings.ToLower(q.str("search", 100))
	minP, hasMin := q.usd("minPrice")
	maxP, hasMax := q.usd("maxPrice")
	sortBy := q.oneOf("sort", "relevance", "relevance", "popularity", "priceAsc", "priceDesc", "nameAsc", "nameDesc", "price_asc", "price_desc")
	page := q.int("page", 1, 1, 1_000_000)
	perPage := q.int(perPageName, 50, -1, 1000)
	if perPage == 0 {
		q.bad(perPageName, "must be -1 (everything) or from 1 to 1000")
	}
	var out []steam.Item
	for _, it := range items {
		if search != "" && !strings.Contains(strings.ToLower(it.MarketHashName), search) {
			continue
		}
		if hasMin && jeton.USD(it.Price) < minP || hasMax && jeton.USD(it.Price) > maxP {
			continue
		}
		out = append(out, it)
	}
	switch sortBy {
	case "priceAsc", "price_asc":
		sort.SliceStable(out, func(i, j int) bool { return out[i].Price < out[j].Price })
	case "priceDesc", "price_desc":
		sort.SliceStable(out, func(i, j int) bool { return out[i].Price > out[j].Price })
	case "nameAsc":
		sort.SliceStable(out, func(i, j int) bool { return out[i].MarketHashName < out[j].MarketHashName })
	case "nameDesc":
		sort.SliceStable(out, func(i, j int) bool { return out[i].MarketHashName > out[j].MarketHashName })
	}
	count := len(out)
	if perPage > 0 {
		from := min((page-1)*perPage, len(out))
		out = out[from:min(from+perPage, len(out))]
	}
	views := make([]ItemView, len(out))
	for i, it := range out {
		views[i] = view(it, listing)
	}
	return views, count
}

type inventoryData struct {
	Inventory  []ItemView `json:"inventory"`
	Count      int        `json:"count"`
	UpdatedAt  string     `json:"updatedAt"`
	Collateral jeton.USD  `json:"collateral"`
}

func (a *API) inventory(w http.ResponseWriter, r *http.Request, merchantID, steamID string, clientData json.RawMessage, withCollateral bool, q *query) {
	g := q.game()
	acceptedOnly := q.r.URL.Query().Get("acceptedOnly") == "true"
	perName := "perPage"
	if q.r.URL.Query().Has("limit") {
		perName = "limit"
	}
	items, updated, err := a.trading.Engine.Inventory(r.Context(), merchantID, steamID, g)
	if err != nil {
		a.fail(w, r, jeton.Errorf(jeton.KindUnavailable, jeton.KeyInventoryFetch, "the inventory could not be read; retry shortly"))
		return
	}
	if acceptedOnly {
		kept := items[:0:0]
		for _, it := range items {
			if it.Accepted {
				kept = append(kept, it)
			}
		}
		items = kept
	}
	views, count := filterItems(items, q, false, perName)
	if err := q.err(); err != nil {
		a.fail(w, r, err)
		return
	}
	var coll jeton.USD
	if withCollateral && g == steam.CS2 {
		if coll, err = a.trading.Engine.Collateral(r.Context(), merchantID, steamID, clientData); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	if views == nil {
		views = []ItemView{}
	}
	a.ok(w, r, inventoryData{Inventory: views, Count: count, UpdatedAt: jeton.ISOTime(updated), Collateral: coll})
}

func (a *API) clientInventory(w http.ResponseWriter, r *http.Request, t *jeton.ClientToken) {
	a.inventory(w, r, t.MerchantID, t.SteamID, t.ClientData, true, newQuery(r))
}

func (a *API) secureInventory(w http.ResponseWriter, r *http.Request, k jeton.APIKey) {
	q := newQuery(r)
	u := r.URL.Query().Get("tradeUrl")
	tu, err := steam.ParseTradeURL(u)
	if err != nil {
		a.fail(w, r, &jeton.Error{Kind: jeton.KindInvalid, Key: jeton.KeyValidationFailed, Message: "tradeUrl: " + err.Error(), Fields: map[string]string{"tradeUrl": err.Error()}})
		return
	}
	a.inventory(w, r, k.MerchantID, tu.SteamID(), nil, false, q)
}

// listings reads the market of g, answering 503 itself when it cannot.
func (a *API) listings(w http.ResponseWriter, r *http.Request, g steam.Game) ([]steam.Item, bool) {
	items, err := a.trading.Backend.Market(r.Context(), g)
	if err != nil {
		a.fail(w, r, jeton.Errorf(jeton.KindUnavailable, jeton.KeyUnavailable, "the market is unavailable; retry shortly"))
		return nil, false
	}
	return items, true
}

type marketData struct {
	Items []ItemView `json:"items"`
	Count int        `json:"count"`
}

func (a *API) market(w http.ResponseWriter, r *http.Request) {
	q := newQuery(r)
	g := q.game()
	items, ok := a.listings(w, r, g)
	if !ok {
		return
	}
	views, count := filterItems(items, q, true, "perPage")
	if err := q.err(); err != nil {
		a.fail(w, r, err)
		return
	}
	if views == nil {
		views = []ItemView{}
	}
	a.ok(w, r, marketData{Items: views, Count: count})
}

func (a *API) marketItem(w http.ResponseWriter, r *http.Request) {
	q := newQuery(r)
	g := q.game()
	id := q.str("itemId", 256)
	if id == "" {
		id = q.str("marketHashName", 256)
	}
	if id == "" {
		q.bad("itemId", "is required: a market hash name or an item id")
	}
	delivery := q.oneOf("delivery", "any", "any", "normal", "auto", "standard", "instant")
	page := q.int("page", 1, 1, 1_000_000)
	perPage := q.int("perPage", 50, 1, 100)
	if err := q.err(); err != nil {
		a.fail(w, r, err)
		return
	}
	items, ok := a.listings(w, r, g)
	if !ok {
		return
	}
	want := map[string]string{"normal": "normal", "standard": "normal", "auto": "auto", "instant": "auto"}[delivery]
	var out []ItemView
	for _, it := range items {
		if it.MarketHashName != id && it.ID != id {
			continue
		}
		if want != "" && it.Delivery != want {
			continue
		}
		out = append(out, view(it, true))
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Offer.Price < out[j].Offer.Price })
	from := min((page-1)*perPage, len(out))
	out = out[from:min(from+perPage, len(out))]
	if out == nil {
		out = []ItemView{}
	}
	a.ok(w, r, out)
}

type suggestion struct {
	ID             string `json:"id"`
	MarketHashName string `json:"marketHashName"`
	IconURL        string `json:"iconUrl"`
	Rarity         string `json:"rarity,omitempty"`
	RarityColor    string `json:"rarityColor,omitempty"`
	ItemType       string `json:"itemType,omitempty"`
}

func (a *API) suggestions(w http.ResponseWriter, r *http.Request) {
	q := newQuery(r)
	g := q.game()
	term := strings.ToLower(q.str("q", 100))
	if err := q.err(); err != nil {
		a.fail(w, r, err)
		return
	}
	items, ok := a.listings(w, r, g)
	if !ok {
		return
	}
	seen := map[string]bool{}
	out := []suggestion{}
	for _, it := range items {
		if seen[it.MarketHashName] || term != "" && !strings.Contains(strings.ToLower(it.MarketHashName), term) {
			continue
		}
		seen[it.MarketHashName] = true
		out = append(out, suggestion{ID: it.MarketHashName, MarketHashName: it.MarketHashName, IconURL: it.IconURL, Rarity: it.Rarity, RarityColor: it.Color, ItemType: it.Type})
		if len(out) == 20 {
			break
		}
	}
	a.ok(w, r, out)
}

// tradeBody is a deposit, withdrawal, sell or buy request body.
type tradeBody struct {
	Items      []itemBody      `json:"items"`
	Game       json.RawMessage `json:"game"`
	ExternalID *string         `json:"externalId"`
	IsInstant  *bool           `json:"isInstant"`
	TradeURL   *string         `json:"tradeUrl"`
}

type itemBody struct {
	ItemID string      `json:"itemId"`
	Market *int        `json:"market"`
	Offer  *offerBody  `json:"offer"`
	Price  json.Number `json:"price"`
	Amount *int        `json:"amount"`
}

type offerBody struct {
	Price     json.Number `json:"price"`
	Reference *string     `json:"reference"`
	// Delivery (market) and MaxAmount (inventory) are shown with an
	// offer; they are accepted back and ignored, so a client can send the
	// offer exactly as it was shown.
	Delivery  json.RawMessage `json:"delivery"`
	MaxAmount json.RawMessage `json:"maxAmount"`
}

// decodeTrade reads and validates a trade body; withdraw asks for the
// [co] withdrawal item form, self for the tradeUrl of self-trades.
func decodeTrade(r *http.Request, withdraw, self bool) (trading.Request, error) {
	var req trading.Request
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return req, jeton.Errorf(jeton.KindInvalid, jeton.KeyValidationFailed, "the body could not be read")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	var b tradeBody
	if err := dec.Decode(&b); err != nil {
		msg := err.Error()
		msg = strings.TrimPrefix(msg, "json: ")
		return req, &jeton.Error{Kind: jeton.KindInvalid, Key: jeton.KeyValidationFailed, Message: "body: " + msg, Fields: map[string]string{"body": msg}}
	}
	f := map[string]string{}
	req.Game = steam.CS2
	if len(b.Game) > 0 && string(b.Game) != "null" {
		var gs string
		if json.Unmarshal(b.Game, &gs) != nil {
			var gn json.Number
			if json.Unmarshal(b.Game, &gn) == nil {
				gs = gn.String()
			}
		}
		req.Game = steam.Game(gs)
		if !req.Game.Valid() {
			f["game"] = `must be "730" (CS2) or "252490" (Rust)`
		}
	}
	if b.ExternalID != nil {
		switch {
		case *b.ExternalID == "" || len(*b.ExternalID) > 128:
			f["externalId"] = "must be 1 to 128 characters"
		case strings.Contains(*b.ExternalID, ","):
			f["externalId"] = "must not contain a comma"
		default:
			req.ExternalID = *b.ExternalID
		}
	}
	req.IsInstant = b.IsInstant == nil || *b.IsInstant
	if self {
		if b.TradeURL == nil {
			f["tradeUrl"] = "is required"
		} else if tu, err := steam.ParseTradeURL(*b.TradeURL); err != nil {
			f["tradeUrl"] = err.Error()
		} else {
			req.TradeURL, req.SteamID = *b.TradeURL, tu.SteamID()
		}
	} else if b.TradeURL != nil {
		f["tradeUrl"] = "is not allowed here: the trade URL comes from the client token"
	}
	if b.Items == nil {
		f["items"] = "is required"
	}
	for i, it := range b.Items {
		p := fmt.Sprintf("items.%d.", i)
		ref := trading.ItemRef{ItemID: it.ItemID, Market: it.Market}
		if n := len(it.ItemID); n < 5 || n > 256 {
			f[p+"itemId"] = "must be 5 to 256 characters"
		}
		if it.Amount != nil {
			if *it.Amount < 1 || *it.Amount > 10000 {
				f[p+"amount"] = "must be from 1 to 10000"
			}
			ref.Amount = *it.Amount
		}
		price, hasPrice := it.Price, it.Price != ""
		if it.Offer != nil {
			if it.Offer.Price == "" {
				f[p+"offer.price"] = "is required"
			}
			if it.Offer.Reference == nil || len(*it.Offer.Reference) < 1 || len(*it.Offer.Reference) > 256 {
				f[p+"offer.reference"] = "is required: 1 to 256 characters"
			} else {
				ref.Reference = *it.Offer.Reference
			}
			price, hasPrice = it.Offer.Price, it.Offer.Price != ""
		}
		if hasPrice {
			u, err := jeton.ParseUSD(price.String())
			if err != nil {
				f[p+"offer.price"] = err.Error()
			} else if withdraw && u > 100_000*100 {
				f[p+"offer.price"] = "must be at most 100000"
			}
			ref.Price, ref.HasOffer = u, true
		}
		if withdraw && !self {
			if it.Market == nil {
				f[p+"market"] = "is required"
			}
			if it.Offer == nil && !hasPrice {
				f[p+"offer"] = "is required: {price, reference} of the listing"
			}
		}
		req.Items = append(req.Items, ref)
	}
	if len(f) > 0 {
		return req, &jeton.Error{Kind: jeton.KindInvalid, Key: jeton.KeyValidationFailed, Message: "invalid body", Fields: f}
	}
	return req, nil
}

func (a *API) startTrade(w http.ResponseWriter, r *http.Request, p trading.Party, withdraw bool) {
	req, err := decodeTrade(r, withdraw, p.Source == jeton.SourceSelf)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if p.Source == jeton.SourceSelf {
		p.SteamID, p.TradeURL = req.SteamID, req.TradeURL
	}
	req.Party = p
	var t jeton.Trade
	if withdraw {
		t, err = a.trading.Engine.Withdraw(r.Context(), req)
	} else {
		t, err = a.trading.Engine.Deposit(r.Context(), req)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.ok(w, r, t)
}

func clientParty(t *jeton.ClientToken) trading.Party {
	return trading.Party{MerchantID: t.MerchantID, Source: jeton.SourceClient, SteamID: t.SteamID, TradeURL: t.TradeURL, ClientID: t.ClientID, ClientData: t.ClientData}
}

func (a *API) clientDeposit(w http.ResponseWriter, r *http.Request, t *jeton.ClientToken) {
	a.startTrade(w, r, clientParty(t), false)
}

func (a *API) clientWithdraw(w http.ResponseWriter, r *http.Request, t *jeton.ClientToken) {
	a.startTrade(w, r, clientParty(t), true)
}

func (a *API) sell(w http.ResponseWriter, r *http.Request, k jeton.APIKey) {
	a.startTrade(w, r, trading.Party{MerchantID: k.MerchantID, Source: jeton.SourceSelf}, false)
}

func (a *API) buy(w http.ResponseWriter, r *http.Request, k jeton.APIKey) {
	a.startTrade(w, r, trading.Party{MerchantID: k.MerchantID, Source: jeton.SourceSelf}, true)
}

type tradesData struct {
	Trades []jeton.Trade `json:"trades"`
	Count  int           `json:"count"`
}

func (q *query) tradeType() jeton.TradeType {
	switch v := q.r.URL.Query().Get("type"); strings.ToUpper(v) {
	case "":
		return ""
	case "DEPOSIT":
		return jeton.Deposit
	case "WITHDRAW":
		return jeton.Withdraw
	default:
		q.bad("type", "must be DEPOSIT or WITHDRAW")
		return ""
	}
}

func (a *API) clientTrades(w http.ResponseWriter, r *http.Request, t *jeton.ClientToken) {
	q := newQuery(r)
	f := jeton.TradeFilter{MerchantID: t.MerchantID, SteamID: t.SteamID, Source: jeton.SourceClient, Type: q.tradeType()}
	if r.URL.Query().Has("game") {
		f.Game = string(q.game())
	}
	page := q.int("page", 1, 1, 1_000_000)
	f.Limit = q.int("limit", 10, 1, 100)
	f.Offset = (page - 1) * f.Limit
	if err := q.err(); err != nil {
		a.fail(w, r, err)
		return
	}
	ts, n, err := a.trading.Store.Trades(r.Context(), f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if ts == nil {
		ts = []jeton.Trade{}
	}
	a.ok(w, r, tradesData{Trades: ts, Count: n})
}

func (a *API) clientTrade(w http.ResponseWriter, r *http.Request, t *jeton.ClientToken) {
	tr, err := a.trading.Store.Trade(r.Context(), t.MerchantID, r.PathValue("id"))
	if err == nil && (tr.Source != jeton.SourceClient || tr.ClientSteamID != t.SteamID) {
		err = jeton.Errorf(jeton.KindNotFound, jeton.KeyTradeNotFound, "trade not found")
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.ok(w, r, tr)
}

type cursorData struct {
	Items      []jeton.Trade `json:"items"`
	NextCursor *string       `json:"nextCursor"`
}

func (a *API) secureTrades(w http.ResponseWriter, r *http.Request, k jeton.APIKey) {
	q := newQuery(r)
	f := jeton.TradeFilter{MerchantID: k.MerchantID, Source: jeton.SourceSelf, Type: q.tradeType()}
	if r.URL.Query().Has("game") {
		f.Game = string(q.game())
	}
	f.Limit = q.int("limit", 20, 1, 100)
	if c := r.URL.Query().Get("cursor"); c != "" {
		at, id, ok := decodeCursor(c)
		if !ok {
			q.bad("cursor", "is not a cursor this API returned")
		}
		f.BeforeAt, f.BeforeID = at, id
	}
	if err := q.err(); err != nil {
		a.fail(w, r, err)
		return
	}
	ts, _, err := a.trading.Store.Trades(r.Context(), f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := cursorData{Items: ts}
	if ts == nil {
		out.Items = []jeton.Trade{}
	}
	if len(ts) == f.Limit {
		c := encodeCursor(ts[len(ts)-1])
		out.NextCursor = &c
	}
	a.ok(w, r, out)
}

func encodeCursor(t jeton.Trade) string {
	return strconv.FormatInt(t.CreatedAt.UnixMicro(), 36) + "." + t.ID
}

func decodeCursor(c string) (time.Time, string, bool) {
	at, id, ok := strings.Cut(c, ".")
	n, err := strconv.ParseInt(at, 36, 64)
	if !ok || err != nil || id == "" {
		return time.Time{}, "", false
	}
	return time.UnixMicro(n).UTC(), id, true
}

func (a *API) secureTrade(w http.ResponseWriter, r *http.Request, k jeton.APIKey) {
	refs := strings.Split(r.PathValue("ref"), ",")
	if len(refs) > 100 {
		a.fail(w, r, &jeton.Error{Kind: jeton.KindInvalid, Key: jeton.KeyValidationFailed, Message: "at most 100 refs", Fields: map[string]string{"tradeId": "at most 100 comma-separated refs"}})
		return
	}
	if len(refs) == 1 {
		t, err := a.trading.Store.TradeByRef(r.Context(), k.MerchantID, refs[0])
		if err != nil {
			a.fail(w, r, err)
			return
		}
		a.ok(w, r, t)
		return
	}
	out := []jeton.Trade{}
	seen := map[string]bool{}
	for _, ref := range refs {
		if ref == "" || seen[ref] {
			continue
		}
		seen[ref] = true
		t, err := a.trading.Store.TradeByRef(r.Context(), k.MerchantID, ref)
		if jeton.ErrorKey(err) == jeton.KeyTradeNotFound {
			continue
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		out = append(out, t)
	}
	a.ok(w, r, out)
}

type checkData struct {
	State    int         `json:"state"`
	SteamID  string      `json:"steamid,omitempty"`
	Message  string      `json:"message"`
	CanTrade *bool       `json:"canTrade,omitempty"`
	Reason   *checkWhyNo `json:"reason,omitempty"`
}

type checkWhyNo struct {
	EscrowDays int  `json:"escrowDays"`
	Probation  bool `json:"probation"`
}

func (a *API) checkTradeURL(w http.ResponseWriter, r *http.Request, k jeton.APIKey) {
	var b struct {
		TradeURL     *string `json:"tradeurl"`
		ForceRefresh *bool   `json:"forceRefresh"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil || b.TradeURL == nil {
		a.fail(w, r, &jeton.Error{Kind: jeton.KindInvalid, Key: jeton.KeyValidationFailed, Message: "tradeurl: is required", Fields: map[string]string{"tradeurl": "is required (note the lower-case u)"}})
		return
	}
	c, err := a.trading.Backend.CheckTradeURL(r.Context(), *b.TradeURL)
	if err != nil {
		a.fail(w, r, jeton.Errorf(jeton.KindUnavailable, jeton.KeyUnavailable, "Steam is unavailable; retry shortly"))
		return
	}
	out := checkData{State: int(c.State), SteamID: c.SteamID, Message: c.Message}
	if c.State >= steam.StateNormal && c.State <= steam.StateBanned {
		ct := c.CanTrade
		out.CanTrade = &ct
		if !ct {
			out.Reason = &checkWhyNo{EscrowDays: c.EscrowDays, Probation: c.Probation}
		}
	}
	a.ok(w, r, out)
}

type priceRow struct {
	ItemID         *string   `json:"itemId"`
	MarketHashName string    `json:"marketHashName"`
	Accepted       bool      `json:"accepted"`
	Deposit        jeton.USD `json:"deposit"`
	Withdraw       any       `json:"withdraw"`
}

type withdrawPrices struct {
	Standard *jeton.USD `json:"standard"`
	Instant  *jeton.USD `json:"instant"`
}

func (a *API) prices(w http.ResponseWriter, r *http.Request, k jeton.APIKey) {
	q := newQuery(r)
	g := q.game()
	if err := q.err(); err != nil {
		a.fail(w, r, err)
		return
	}
	ps, err := a.trading.Backend.Prices(r.Context(), g)
	if err != nil {
		a.fail(w, r, jeton.Errorf(jeton.KindUnavailable, jeton.KeyUnavailable, "prices are unavailable; retry shortly"))
		return
	}
	usd := func(c int64) *jeton.USD {
		if c == 0 {
			return nil
		}
		u := jeton.USD(c)
		return &u
	}
	out := make([]priceRow, len(ps))
	for i, p := range ps {
		row := priceRow{MarketHashName: p.MarketHashName, Accepted: p.Accepted, Deposit: jeton.USD(p.Deposit)}
		if p.ItemID != "" {
			id := p.ItemID
			row.ItemID = &id
		}
		if g == steam.Rust {
			row.Withdraw = usd(min64nz(p.WithdrawStandard, p.WithdrawInstant))
		} else {
			row.Withdraw = withdrawPrices{Standard: usd(p.WithdrawStandard), Instant: usd(p.WithdrawInstant)}
		}
		out[i] = row
	}
	a.ok(w, r, out)
}

func min64nz(a, b int64) int64 {
	switch {
	case a == 0:
		return b
	case b == 0:
		return a
	}
	return min(a, b)
}

type balanceData struct {
	Balance        jeton.USD `json:"balance"`
	PendingBalance jeton.USD `json:"pendingBalance"`
	EscrowBalance  jeton.USD `json:"escrowBalance"`
	Currency       string    `json:"currency"`
}

func (a *API) balance(w http.ResponseWriter, r *http.Request, k jeton.APIKey) {
	wl, err := a.trading.Engine.Wallet(r.Context(), k.MerchantID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.ok(w, r, balanceData{Balance: wl.Available, PendingBalance: wl.Pending, EscrowBalance: wl.Escrow, Currency: "USD"})
}

// LedgerItem is a ledger posting in the vendor's transaction shape, with
// its double-entry lines.
type LedgerItem struct {
	ID         string        `json:"id"`
	Type       string        `json:"type"`
	Status     string        `json:"status"`
	Amount     ledgerAmount  `json:"amount"`
	Fee        jeton.USD     `json:"fee"`
	Address    *string       `json:"address"`
	TxnHash    *string       `json:"txnHash"`
	Timestamps ledgerTimes   `json:"timestamps"`
	TradeID    *string       `json:"tradeId"`
	Memo       string        `json:"memo"`
	Entries    []jeton.Entry `json:"entries"`
}

type ledgerAmount struct {
	USD    jeton.USD `json:"usd"`
	Crypto string    `json:"crypto"`
	Token  *string   `json:"token"`
	Chain  *string   `json:"chain"`
}

type ledgerTimes struct {
	Created   string  `json:"created"`
	Completed *string `json:"completed"`
	Updated   string  `json:"updated"`
}

// walletEffect is what a posting did to the merchant's whole wallet
// (available + pending + escrow), as docs/trades.md defines amount.usd.
func walletEffect(p jeton.Posting) jeton.USD {
	var w jeton.Wallet
	w.Apply(p)
	return w.Available + w.Pending + w.Escrow
}

func ledgerItem(p jeton.Posting) LedgerItem {
	at := jeton.ISOTime(p.CreatedAt)
	it := LedgerItem{ID: p.ID, Type: p.Type, Status: "COMPLETED", Amount: ledgerAmount{USD: walletEffect(p), Crypto: "0"},
		Timestamps: ledgerTimes{Created: at, Completed: &at, Updated: at}, Memo: p.Memo, Entries: p.Entries}
	for _, e := range p.Entries {
		if e.Account == jeton.AccountFees {
			it.Fee += e.Amount
		}
	}
	if p.TradeID != "" {
		id := p.TradeID
		it.TradeID = &id
	}
	return it
}

type ledgerData struct {
	Items      []LedgerItem `json:"items"`
	Pagination pagination   `json:"pagination"`
}

type pagination struct {
	Page       int `json:"page"`
	Limit      int `json:"limit"`
	Total      int `json:"total"`
	TotalPages int `json:"totalPages"`
}

func (a *API) ledger(w http.ResponseWriter, r *http.Request, k jeton.APIKey) {
	q := newQuery(r)
	f := jeton.PostingFilter{Limit: q.int("limit", 50, 1, 100), Offset: q.int("offset", 0, 0, 1<<30)}
	f.Type = q.oneOf("type", "", jeton.PostOpening, jeton.PostDeposit, jeton.PostWithdrawal, jeton.PostRefund, jeton.PostReversal, jeton.PostSettlement, "ADMIN_DEBIT")
	for name, dst := range map[string]*time.Time{"startDate": &f.From, "endDate": &f.To} {
		if v := r.URL.Query().Get(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				q.bad(name, "must be an ISO 8601 date-time")
			}
			*dst = t
		}
	}
	if st := r.URL.Query().Get("status"); st != "" && st != "COMPLETED" {
		// Every posting is final: other statuses match nothing.
		f.Type = "\x00none"
	}
	if err := q.err(); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.trading.Engine.EnsureWallet(r.Context(), k.MerchantID); err != nil {
		a.fail(w, r, err)
		return
	}
	ps, total, err := a.trading.Store.Postings(r.Context(), k.MerchantID, f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	items := make([]LedgerItem, len(ps))
	for i, p := range ps {
		items[i] = ledgerItem(p)
	}
	a.ok(w, r, ledgerData{Items: items, Pagination: pagination{Page: f.Offset/f.Limit + 1, Limit: f.Limit, Total: total, TotalPages: (total + f.Limit - 1) / f.Limit}})
}

func (a *API) ledgerEntry(w http.ResponseWriter, r *http.Request, k jeton.APIKey) {
	p, err := a.trading.Store.Posting(r.Context(), k.MerchantID, r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.ok(w, r, ledgerItem(p))
}

type callbackURLData struct {
	CallbackURL string                `json:"callbackUrl"`
	Test        jeton.CallbackAttempt `json:"test"`
}

func (a *API) setCallbackURL(w http.ResponseWriter, r *http.Request, k jeton.APIKey) {
	var b struct {
		URL *string `json:"url"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil || b.URL == nil {
		a.fail(w, r, &jeton.Error{Kind: jeton.KindInvalid, Key: jeton.KeyValidationFailed, Message: "url: is required", Fields: map[string]string{"url": "is required"}})
		return
	}
	if err := callback.ValidURL(*b.URL); err != nil {
		a.fail(w, r, &jeton.Error{Kind: jeton.KindInvalid, Key: jeton.KeyValidationFailed, Message: "url: " + err.Error(), Fields: map[string]string{"url": err.Error()}})
		return
	}
	at, ok := a.trading.Callbacks.Ping(r.Context(), k.MerchantID, *b.URL)
	if !ok {
		a.fail(w, r, &jeton.Error{Kind: jeton.KindInvalid, Key: jeton.KeyCallbackTestFailed,
			Message: "the callback URL did not answer the test ping with a 2xx within 8 s; it was not saved",
			Details: map[string]any{"statusCode": at.StatusCode, "error": at.Error}})
		return
	}
	if err := a.trading.Store.SetCallbackURL(r.Context(), k.MerchantID, *b.URL); err != nil {
		a.fail(w, r, err)
		return
	}
	a.creds.Forget(k.MerchantID)
	a.ok(w, r, callbackURLData{CallbackURL: *b.URL, Test: at})
}

type callbackList struct {
	Items []jeton.Callback `json:"items"`
	Count int              `json:"count"`
}

func (a *API) listCallbacks(w http.ResponseWriter, r *http.Request, k jeton.APIKey) {
	q := newQuery(r)
	limit := q.int("limit", 50, 1, 100)
	offset := q.int("offset", 0, 0, 1<<30)
	tradeID := q.str("tradeId", 64)
	if err := q.err(); err != nil {
		a.fail(w, r, err)
		return
	}
	cs, n, err := a.trading.Store.Callbacks(r.Context(), k.MerchantID, tradeID, limit, offset)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if cs == nil {
		cs = []jeton.Callback{}
	}
	a.ok(w, r, callbackList{Items: cs, Count: n})
}

type callbackDetail struct {
	jeton.Callback
	AttemptLog []attemptView `json:"attemptLog"`
}

type attemptView struct {
	jeton.CallbackAttempt
	LatencyMs float64 `json:"latencyMs"`
}

func (a *API) getCallback(w http.ResponseWriter, r *http.Request, k jeton.APIKey) {
	c, err := a.trading.Store.Callback(r.Context(), k.MerchantID, r.PathValue("deliveryId"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	as, err := a.trading.Store.CallbackAttempts(r.Context(), k.MerchantID, c.DeliveryID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := callbackDetail{Callback: c, AttemptLog: make([]attemptView, len(as))}
	for i, at := range as {
		out.AttemptLog[i] = attemptView{CallbackAttempt: at, LatencyMs: float64(at.Latency.Microseconds()) / 1000}
	}
	a.ok(w, r, out)
}

func (a *API) redeliver(w http.ResponseWriter, r *http.Request, k jeton.APIKey) {
	c, err := a.trading.Store.Callback(r.Context(), k.MerchantID, r.PathValue("deliveryId"))
	if err == nil {
		err = a.trading.Callbacks.Redeliver(r.Context(), c)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	c.State = jeton.CallbackPending
	a.ok(w, r, c)
}

func (a *API) sandboxTrade(w http.ResponseWriter, r *http.Request, k jeton.APIKey) {
	if a.trading.Sandbox == nil {
		a.fail(w, r, jeton.Errorf(jeton.KindForbidden, jeton.KeySandboxOnly, "sandbox controls exist only in sandbox mode"))
		return
	}
	ctx := r.Context()
	var act func(offerID string) error
	switch r.PathValue("action") {
	case "accept":
		act = func(id string) error { return a.trading.Sandbox.Accept(ctx, id) }
	case "decline":
		act = func(id string) error { return a.trading.Sandbox.Decline(ctx, id) }
	case "reverse", "reverse-user":
		act = func(id string) error { return a.trading.Sandbox.Reverse(ctx, id, "user") }
	case "reverse-supplier":
		act = func(id string) error { return a.trading.Sandbox.Reverse(ctx, id, "supplier") }
	default:
		a.fail(w, r, &jeton.Error{Kind: jeton.KindNotFound, Key: jeton.KeyNotFound, Message: "sandbox actions are accept, decline, reverse, reverse-supplier"})
		return
	}
	t, err := a.trading.Store.Trade(ctx, k.MerchantID, r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if t.OfferID == nil {
		a.fail(w, r, jeton.Errorf(jeton.KindConflict, jeton.KeyOfferState, "trade %s has no offer yet (status %s)", t.ID, t.Status))
		return
	}
	if err := act(*t.OfferID); err != nil {
		a.fail(w, r, sandboxError(err))
		return
	}
	a.trading.Engine.Poke(t.ID)
	a.ok(w, r, t)
}

// sandboxError gives a sandbox control's failure its stable key: the
// sandbox's own errors keep theirs, a missing offer is 404, an outage 503,
// and a refused move of the offer 409.
func sandboxError(err error) error {
	// The controls answer jeton errors (cmd/jeton maps the sandbox's); a
	// conflict gets the offer-state key this route documents.
	var je *jeton.Error
	switch {
	case errors.As(err, &je) && je.Kind == jeton.KindConflict:
		return jeton.Errorf(jeton.KindConflict, jeton.KeyOfferState, "%v", err)
	case errors.As(err, &je):
		return je
	}
	return jeton.Errorf(jeton.KindConflict, jeton.KeyOfferState, "%v", err)
}

func (a *API) sandboxClock(w http.ResponseWriter, r *http.Request, k jeton.APIKey) {
	if a.trading.Sandbox == nil {
		a.fail(w, r, jeton.Errorf(jeton.KindForbidden, jeton.KeySandboxOnly, "sandbox controls exist only in sandbox mode"))
		return
	}
	var b struct {
		Seconds *int64 `json:"seconds"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil || b.Seconds == nil || *b.Seconds < 1 || *b.Seconds > 365*86400 {
		a.fail(w, r, &jeton.Error{Kind: jeton.KindInvalid, Key: jeton.KeyValidationFailed, Message: "seconds: must be from 1 to 31536000 (365 days)", Fields: map[string]string{"seconds": "must be from 1 to 31536000 (365 days)"}})
		return
	}
	if err := a.trading.Sandbox.AdvanceClock(r.Context(), time.Duration(*b.Seconds)*time.Second); err != nil {
		a.fail(w, r, err)
		return
	}
	a.ok(w, r, map[string]string{"now": jeton.ISOTime(a.trading.Backend.Now())})
}
