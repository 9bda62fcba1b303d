package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// AssetPay's trading surface: the types its replies and callbacks carry,
// the /client routes an end user calls with a client token (type
// AssetPay), and the /secure and /v1 routes a merchant calls with its API
// key (methods of API).

// TradeType is DEPOSIT or WITHDRAW.
type TradeType string

// Trade types, as the API spells them.
const (
	TypeDeposit  TradeType = "DEPOSIT"
	TypeWithdraw TradeType = "WITHDRAW"
)

// TradeStatus is where a trade stands; see docs/trades.md for the state
// machines.
type TradeStatus string

// Trade statuses, upper-case as the API sends them.
const (
	StatusInitiated TradeStatus = "INITIATED"
	StatusPending   TradeStatus = "PENDING"
	StatusActive    TradeStatus = "ACTIVE"
	StatusHold      TradeStatus = "HOLD"
	StatusCompleted TradeStatus = "COMPLETED"
	StatusDeclined  TradeStatus = "DECLINED"
	StatusCanceled  TradeStatus = "CANCELED"
	StatusFailed    TradeStatus = "FAILED"
	StatusReverted  TradeStatus = "REVERTED"
)

// Terminal reports whether nothing can follow s, so a poller knows when
// to stop.
func (s TradeStatus) Terminal() bool {
	switch s {
	case StatusCompleted, StatusDeclined, StatusCanceled, StatusFailed, StatusReverted:
		return true
	}
	return false
}

// Trade.Error values a merchant backend acts on.
const (
	// FailMerchantRejected: your backend rejected the approval call.
	FailMerchantRejected = "MERCHANT_REJECTED"
	// FailApprovalTimeout: no usable answer to three approval attempts.
	FailApprovalTimeout = "APPROVAL_TIMEOUT"
	// FailBalanceLow: approved, but the merchant wallet could not pay.
	FailBalanceLow = "MERCHANT_BALANCE_LOW"
)

// Trade is a deposit or withdrawal as replies and callbacks carry it.
type Trade struct {
	ID                   string      `json:"id"`
	Type                 TradeType   `json:"type"`
	Source               string      `json:"source"` // client or self
	Status               TradeStatus `json:"status"`
	Game                 string      `json:"game"` // 730 (CS2) or 252490 (Rust)
	MerchantID           string      `json:"merchantId"`
	ClientUserID         string      `json:"clientUserId"`
	ClientSteamID        string      `json:"clientSteamID"`
	ClientTradeURL       string      `json:"clientTradeUrl"`
	Items                []TradeItem `json:"items"`
	TotalPrice           USD         `json:"totalPrice"`
	PreCredit            *USD        `json:"preCredit,omitempty"`
	PendingCredit        *USD        `json:"pendingCredit,omitempty"`
	IsInstant            *bool       `json:"isInstant,omitempty"`
	Collateral           *Collateral `json:"collateral,omitempty"`
	ExternalID           *string     `json:"externalId"`
	ExternalClientUserID *string     `json:"externalClientUserId"`
	OfferID              *string     `json:"offerID,omitempty"`
	HoldEndDate          *time.Time  `json:"holdEndDate,omitempty"`
	RevertedBy           *string     `json:"revertedBy,omitempty"`
	Error                *string     `json:"error,omitempty"` // why it FAILED, e.g. FailMerchantRejected
	CreatedAt            time.Time   `json:"createdAt"`
	UpdatedAt            time.Time   `json:"updatedAt"`
}

// IsApproval reports whether t is what an approval call carries: a
// withdrawal still waiting in INITIATED for the merchant's verdict.
func (t Trade) IsApproval() bool { return t.Type == TypeWithdraw && t.Status == StatusInitiated }

// TradeItem is one item of a trade.
type TradeItem struct {
	ID             string      `json:"id"`
	AppID          int         `json:"appid"`
	Name           string      `json:"name,omitempty"`
	MarketHashName string      `json:"marketHashName,omitempty"`
	Type           string      `json:"type,omitempty"`
	IconURL        string      `json:"iconUrl,omitempty"`
	Tradable       bool        `json:"tradable"`
	Amount         int         `json:"amount"`
	Market         *int        `json:"market,omitempty"`
	Offer          ItemOffer   `json:"offer"`
	PurchaseStatus TradeStatus `json:"purchaseStatus,omitempty"` // withdrawals: follows the trade
}

// Collateral says how a deposit's instant credit was backed.
type Collateral struct {
	Merchant USD `json:"merchant"`
	Provider USD `json:"provider"`
}

// Item is an inventory item or a market listing.
type Item struct {
	ID             string          `json:"id"`
	AppID          int             `json:"appid"`
	ContextID      *int            `json:"contextid,omitempty"`
	Name           string          `json:"name"`
	MarketHashName string          `json:"marketHashName"`
	Type           string          `json:"type"`
	IconURL        string          `json:"iconUrl"`
	Tradable       bool            `json:"tradable"`
	Accepted       *bool           `json:"accepted,omitempty"` // inventory: whether it can be deposited
	MarketPrice    USD             `json:"marketPrice"`
	Market         *int            `json:"market,omitempty"` // listings: the market to withdraw from
	Offer          ItemOffer       `json:"offer"`
	Exterior       string          `json:"exterior,omitempty"`
	Wear           string          `json:"wear,omitempty"`
	Rarity         string          `json:"rarity,omitempty"`
	Color          string          `json:"color,omitempty"`
	PaintSeed      *int            `json:"paintSeed,omitempty"`
	Stickers       json.RawMessage `json:"stickers,omitempty"`
	Amount         int             `json:"amount"`
}

// ItemOffer is an item's price: what a deposit credits, or what a
// withdrawal of a listing costs.
type ItemOffer struct {
	Price     USD    `json:"price"`
	Reference string `json:"reference,omitempty"`
	MaxAmount *int   `json:"maxAmount,omitempty"`
	Delivery  string `json:"delivery,omitempty"`
}

// WithdrawItem is the withdrawal request item for a market listing: its
// id, market and offer, which the server checks against the listing.
func (it Item) WithdrawItem() TradeItemRequest {
	return TradeItemRequest{ItemID: it.ID, Market: it.Market, Offer: &OfferRequest{Price: it.Offer.Price, Reference: it.Offer.Reference}}
}

// DepositItem is the deposit request item for an inventory item.
func (it Item) DepositItem() TradeItemRequest { return TradeItemRequest{ItemID: it.ID} }

// Inventory is the data of GET /client/inventory and /secure/inventory.
type Inventory struct {
	Inventory  []Item `json:"inventory"`
	Count      int    `json:"count"`
	UpdatedAt  string `json:"updatedAt"`
	Collateral USD    `json:"collateral"` // client route, CS2: instant credit available to the user
}

// Market is the data of GET /client/market and /secure/market.
type Market struct {
	Items []Item `json:"items"`
	Count int    `json:"count"`
}

// Suggestion is one answer of the market's name search.
type Suggestion struct {
	ID             string `json:"id"`
	MarketHashName string `json:"marketHashName"`
	IconURL        string `json:"iconUrl"`
	Rarity         string `json:"rarity,omitempty"`
	RarityColor    string `json:"rarityColor,omitempty"`
	ItemType       string `json:"itemType,omitempty"`
}

// ItemQuery filters and pages inventories and markets; zero fields are
// left to the server's defaults.
type ItemQuery struct {
	Game               string // "730" (CS2, the default) or "252490" (Rust)
	Search             string
	Sort               string // relevance, popularity, priceAsc, priceDesc, nameAsc, nameDesc
	MinPrice, MaxPrice USD    // 0: no bound
	Page               int
	PerPage            int  // -1: everything
	AcceptedOnly       bool // inventories: only items that can be deposited
	TradeURL           string
}

func (q ItemQuery) values() url.Values {
	v := url.Values{}
	set(v, "game", q.Game)
	set(v, "search", q.Search)
	set(v, "sort", q.Sort)
	if q.MinPrice != 0 {
		v.Set("minPrice", q.MinPrice.String())
	}
	if q.MaxPrice != 0 {
		v.Set("maxPrice", q.MaxPrice.String())
	}
	setInt(v, "page", q.Page)
	setInt(v, "perPage", q.PerPage)
	if q.AcceptedOnly {
		v.Set("acceptedOnly", "true")
	}
	set(v, "tradeUrl", q.TradeURL)
	return v
}

// ListingQuery selects the listings of one item (GET .../market/item).
type ListingQuery struct {
	Game     string
	ItemID   string // a market hash name or an item id
	Delivery string // any, normal, auto
	Page     int
	PerPage  int
}

func (q ListingQuery) values() url.Values {
	v := url.Values{}
	set(v, "game", q.Game)
	set(v, "itemId", q.ItemID)
	set(v, "delivery", q.Delivery)
	setInt(v, "page", q.Page)
	setInt(v, "perPage", q.PerPage)
	return v
}

// TradeRequest is the body of a deposit, withdrawal, sell or buy.
type TradeRequest struct {
	Items      []TradeItemRequest `json:"items"`
	Game       string             `json:"game,omitempty"`
	ExternalID string             `json:"externalId,omitempty"` // your unique id; the trade is found by it too
	IsInstant  *bool              `json:"isInstant,omitempty"`
	TradeURL   string             `json:"tradeUrl,omitempty"` // sell and buy only: the counterparty
}

// TradeItemRequest is one item of a TradeRequest. Withdrawals name the
// listing's market and offer (see Item.WithdrawItem); deposits only the
// item id.
type TradeItemRequest struct {
	ItemID string        `json:"itemId"`
	Market *int          `json:"market,omitempty"`
	Offer  *OfferRequest `json:"offer,omitempty"`
	Price  *USD          `json:"price,omitempty"`
	Amount int           `json:"amount,omitempty"`
}

// OfferRequest is the listing offer a withdrawal accepts.
type OfferRequest struct {
	Price     USD    `json:"price"`
	Reference string `json:"reference"`
}

// TradeQuery filters trade lists.
type TradeQuery struct {
	Type   TradeType
	Game   string
	Page   int    // client list
	Limit  int    // both lists
	Cursor string // merchant list: NextCursor of the previous page
}

func (q TradeQuery) values() url.Values {
	v := url.Values{}
	set(v, "type", string(q.Type))
	set(v, "game", q.Game)
	setInt(v, "page", q.Page)
	setInt(v, "limit", q.Limit)
	set(v, "cursor", q.Cursor)
	return v
}

// ClientTrades is the data of GET /client/trades.
type ClientTrades struct {
	Trades []Trade `json:"trades"`
	Count  int     `json:"count"`
}

// TradePage is the data of GET /secure/trades: the merchant's own trades
// (sell and buy), newest first; NextCursor is nil on the last page.
type TradePage struct {
	Items      []Trade `json:"items"`
	NextCursor *string `json:"nextCursor"`
}

// AssetPay calls AssetPay's /client routes as one end user, with a client
// token: what a browser does, here from Go. Tokens usually wraps
// MintedTokens or API.AssetPayTokenSource.
type AssetPay struct {
	BaseURL string
	HTTP    *http.Client
	Tokens  *CachedTokenSource
}

func (c *AssetPay) call(ctx context.Context, method, path string, body, out any) error {
	_, err := tokenSend(ctx, &API{BaseURL: c.BaseURL, HTTP: c.HTTP}, c.Tokens, method, path, nil, body, out)
	return err
}

// Me describes the current token (GET /client/me).
func (c *AssetPay) Me(ctx context.Context) (Me, error) {
	var out Me
	err := c.call(ctx, "GET", "/client/me", nil, &out)
	return out, err
}

// Inventory lists the user's Steam inventory with deposit prices.
func (c *AssetPay) Inventory(ctx context.Context, q ItemQuery) (Inventory, error) {
	var out Inventory
	err := c.call(ctx, "GET", withQuery("/client/inventory", q.values()), nil, &out)
	return out, err
}

// Market lists what the user can withdraw.
func (c *AssetPay) Market(ctx context.Context, q ItemQuery) (Market, error) {
	var out Market
	err := c.call(ctx, "GET", withQuery("/client/market", q.values()), nil, &out)
	return out, err
}

// MarketItem lists one item's listings, cheapest first.
func (c *AssetPay) MarketItem(ctx context.Context, q ListingQuery) ([]Item, error) {
	var out []Item
	err := c.call(ctx, "GET", withQuery("/client/market/item", q.values()), nil, &out)
	return out, err
}

// MarketSuggestions completes an item name for a search box.
func (c *AssetPay) MarketSuggestions(ctx context.Context, game, q string) ([]Suggestion, error) {
	var out []Suggestion
	v := url.Values{}
	set(v, "game", game)
	set(v, "q", q)
	err := c.call(ctx, "GET", withQuery("/client/market/suggestions", v), nil, &out)
	return out, err
}

// Deposit starts a deposit of the user's items; it is announced to the
// merchant by status callbacks from INITIATED on.
func (c *AssetPay) Deposit(ctx context.Context, req TradeRequest) (Trade, error) {
	var out Trade
	err := c.call(ctx, "POST", "/client/trading/deposit", req, &out)
	return out, err
}

// Withdraw starts a withdrawal of market listings. It waits in INITIATED
// until the merchant's backend approves it (see CallbackHandler).
func (c *AssetPay) Withdraw(ctx context.Context, req TradeRequest) (Trade, error) {
	var out Trade
	err := c.call(ctx, "POST", "/client/trading/withdraw", req, &out)
	return out, err
}

// Trades lists the user's trades, newest first.
func (c *AssetPay) Trades(ctx context.Context, q TradeQuery) (ClientTrades, error) {
	var out ClientTrades
	err := c.call(ctx, "GET", withQuery("/client/trades", q.values()), nil, &out)
	return out, err
}

// Trade reads one of the user's trades.
func (c *AssetPay) Trade(ctx context.Context, id string) (Trade, error) {
	var out Trade
	err := c.call(ctx, "GET", "/client/trades/"+url.PathEscape(id), nil, &out)
	return out, err
}

// ---- merchant routes (api-key) ----

func (a *API) keyHeader() http.Header { return http.Header{"Api-Key": {a.APIKey}} }

func (a *API) key(ctx context.Context, method, path string, body, out any) error {
	return a.do(ctx, method, path, a.keyHeader(), body, out)
}

// TradeURLCheck is the data of POST /secure/check-tradeurl.
type TradeURLCheck struct {
	State    int    `json:"state"`
	SteamID  string `json:"steamid,omitempty"`
	Message  string `json:"message"`
	CanTrade *bool  `json:"canTrade,omitempty"`
	Reason   *struct {
		EscrowDays int  `json:"escrowDays"`
		Probation  bool `json:"probation"`
	} `json:"reason,omitempty"`
}

// CheckTradeURL asks whether a trade URL can receive trade offers now.
func (a *API) CheckTradeURL(ctx context.Context, tradeURL string, forceRefresh bool) (TradeURLCheck, error) {
	body := map[string]any{"tradeurl": tradeURL}
	if forceRefresh {
		body["forceRefresh"] = true
	}
	var out TradeURLCheck
	err := a.key(ctx, "POST", "/secure/check-tradeurl", body, &out)
	return out, err
}

// Price is one row of GET /secure/prices.
type Price struct {
	ItemID         *string        `json:"itemId"`
	MarketHashName string         `json:"marketHashName"`
	Accepted       bool           `json:"accepted"`
	Deposit        USD            `json:"deposit"`
	Withdraw       WithdrawPrices `json:"withdraw"`
}

// WithdrawPrices is what withdrawing an item costs. CS2 rows carry both;
// Rust rows carry one number, which lands in Standard.
type WithdrawPrices struct {
	Standard *USD `json:"standard"`
	Instant  *USD `json:"instant"`
}

// UnmarshalJSON reads either the CS2 object or Rust's single number.
func (w *WithdrawPrices) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if strings.HasPrefix(s, "{") {
		type plain WithdrawPrices
		return json.Unmarshal(b, (*plain)(w))
	}
	if s == "null" {
		return nil
	}
	var u USD
	if err := u.UnmarshalJSON(b); err != nil {
		return err
	}
	w.Standard = &u
	return nil
}

// Prices lists deposit and withdrawal prices of a game's items.
func (a *API) Prices(ctx context.Context, game string) ([]Price, error) {
	v := url.Values{}
	set(v, "game", game)
	var out []Price
	err := a.key(ctx, "GET", withQuery("/secure/prices", v), nil, &out)
	return out, err
}

// Inventory reads any user's inventory by trade URL (q.TradeURL).
func (a *API) Inventory(ctx context.Context, q ItemQuery) (Inventory, error) {
	var out Inventory
	err := a.key(ctx, "GET", withQuery("/secure/inventory", q.values()), nil, &out)
	return out, err
}

// Market lists the market as the merchant sees it.
func (a *API) Market(ctx context.Context, q ItemQuery) (Market, error) {
	var out Market
	err := a.key(ctx, "GET", withQuery("/secure/market", q.values()), nil, &out)
	return out, err
}

// MarketItem lists one item's listings, cheapest first.
func (a *API) MarketItem(ctx context.Context, q ListingQuery) ([]Item, error) {
	var out []Item
	err := a.key(ctx, "GET", withQuery("/secure/market/item", q.values()), nil, &out)
	return out, err
}

// MarketSuggestions completes an item name.
func (a *API) MarketSuggestions(ctx context.Context, game, q string) ([]Suggestion, error) {
	v := url.Values{}
	set(v, "game", game)
	set(v, "q", q)
	var out []Suggestion
	err := a.key(ctx, "GET", withQuery("/secure/market/suggestions", v), nil, &out)
	return out, err
}

// Trades lists the merchant's own trades (sell and buy), newest first;
// follow NextCursor for the next page.
func (a *API) Trades(ctx context.Context, q TradeQuery) (TradePage, error) {
	var out TradePage
	err := a.key(ctx, "GET", withQuery("/secure/trades", q.values()), nil, &out)
	return out, err
}

// Trade reads any trade of the merchant, its users' included, by id or by
// the externalId given when it was started.
func (a *API) Trade(ctx context.Context, ref string) (Trade, error) {
	var out Trade
	err := a.key(ctx, "GET", "/secure/trades/"+url.PathEscape(ref), nil, &out)
	return out, err
}

// TradesByRef reads up to 100 trades by id or externalId in one call;
// refs that match nothing are left out, not an error.
func (a *API) TradesByRef(ctx context.Context, refs ...string) ([]Trade, error) {
	if len(refs) > 100 {
		return nil, errors.New("client: at most 100 refs a call")
	}
	if len(refs) == 1 {
		t, err := a.Trade(ctx, refs[0])
		var e *Error
		if errors.As(err, &e) && e.Key == "TRADE_NOT_FOUND" {
			return []Trade{}, nil
		}
		if err != nil {
			return nil, err
		}
		return []Trade{t}, nil
	}
	esc := make([]string, len(refs))
	for i, r := range refs {
		esc[i] = url.PathEscape(r)
	}
	var out []Trade
	err := a.key(ctx, "GET", "/secure/trades/"+strings.Join(esc, ","), nil, &out)
	return out, err
}

// Sell deposits items of a Steam account the merchant names (TradeURL)
// into the merchant's own wallet.
func (a *API) Sell(ctx context.Context, req TradeRequest) (Trade, error) {
	var out Trade
	err := a.key(ctx, "POST", "/secure/sell", req, &out)
	return out, err
}

// Buy withdraws listings to a Steam account the merchant names
// (TradeURL). Like every withdrawal it waits for the approval call.
func (a *API) Buy(ctx context.Context, req TradeRequest) (Trade, error) {
	var out Trade
	err := a.key(ctx, "POST", "/secure/buy", req, &out)
	return out, err
}

// Balance is the merchant wallet (GET /v1/wallets/me/balance).
type Balance struct {
	Balance        USD    `json:"balance"`        // spendable
	PendingBalance USD    `json:"pendingBalance"` // locked for withdrawals in flight
	EscrowBalance  USD    `json:"escrowBalance"`  // deposit credit still in a Steam hold
	Currency       string `json:"currency"`
}

// Balance reads the merchant's wallet.
func (a *API) Balance(ctx context.Context) (Balance, error) {
	var out Balance
	err := a.key(ctx, "GET", "/v1/wallets/me/balance", nil, &out)
	return out, err
}

// LedgerTransaction is one ledger posting with its double-entry lines.
type LedgerTransaction struct {
	ID     string `json:"id"`
	Type   string `json:"type"`
	Status string `json:"status"`
	Amount struct {
		USD    USD     `json:"usd"` // the effect on the whole wallet
		Crypto string  `json:"crypto"`
		Token  *string `json:"token"`
		Chain  *string `json:"chain"`
	} `json:"amount"`
	Fee        USD     `json:"fee"`
	Address    *string `json:"address"`
	TxnHash    *string `json:"txnHash"`
	Timestamps struct {
		Created   string  `json:"created"`
		Completed *string `json:"completed"`
		Updated   string  `json:"updated"`
	} `json:"timestamps"`
	TradeID *string       `json:"tradeId"`
	Memo    string        `json:"memo"`
	Entries []LedgerEntry `json:"entries"`
}

// LedgerEntry moves Amount into Account (negative: out of it).
type LedgerEntry struct {
	Account string `json:"account"`
	Amount  USD    `json:"amount"`
}

// LedgerPage is the data of GET /v1/ledger/transactions.
type LedgerPage struct {
	Items      []LedgerTransaction `json:"items"`
	Pagination struct {
		Page       int `json:"page"`
		Limit      int `json:"limit"`
		Total      int `json:"total"`
		TotalPages int `json:"totalPages"`
	} `json:"pagination"`
}

// LedgerQuery filters the ledger.
type LedgerQuery struct {
	Type               string // e.g. DEPOSIT, WITHDRAWAL, REFUND
	Status             string
	StartDate, EndDate time.Time
	Limit, Offset      int
}

// LedgerTransactions lists the merchant's ledger postings.
func (a *API) LedgerTransactions(ctx context.Context, q LedgerQuery) (LedgerPage, error) {
	v := url.Values{}
	set(v, "type", q.Type)
	set(v, "status", q.Status)
	if !q.StartDate.IsZero() {
		v.Set("startDate", q.StartDate.UTC().Format(time.RFC3339))
	}
	if !q.EndDate.IsZero() {
		v.Set("endDate", q.EndDate.UTC().Format(time.RFC3339))
	}
	setInt(v, "limit", q.Limit)
	setInt(v, "offset", q.Offset)
	var out LedgerPage
	err := a.key(ctx, "GET", withQuery("/v1/ledger/transactions", v), nil, &out)
	return out, err
}

// LedgerTransaction reads one ledger posting.
func (a *API) LedgerTransaction(ctx context.Context, id string) (LedgerTransaction, error) {
	var out LedgerTransaction
	err := a.key(ctx, "GET", "/v1/ledger/transactions/"+url.PathEscape(id), nil, &out)
	return out, err
}

// ---- callback URL and delivery log ----

// CallbackDelivery is a status callback in the delivery log.
type CallbackDelivery struct {
	DeliveryID    string            `json:"deliveryId"`
	MerchantID    string            `json:"merchantId"`
	TradeID       string            `json:"tradeId"`
	Kind          string            `json:"kind"`
	Event         string            `json:"event"`
	Trade         Trade             `json:"trade"` // as it was at the change
	CreatedAt     time.Time         `json:"createdAt"`
	State         string            `json:"state"` // pending, delivered or failed
	Attempts      int               `json:"attempts"`
	LastAttemptAt *time.Time        `json:"lastAttemptAt"`
	NextAttemptAt *time.Time        `json:"nextAttemptAt,omitempty"`
	AttemptLog    []DeliveryAttempt `json:"attemptLog,omitempty"` // only from Callback
}

// DeliveryAttempt is one HTTP call jeton made to a merchant's URL.
type DeliveryAttempt struct {
	DeliveryID string    `json:"deliveryId"`
	TradeID    string    `json:"tradeId"`
	Kind       string    `json:"kind"`
	Event      string    `json:"event"`
	Attempt    int       `json:"attempt"`
	URL        string    `json:"url"`
	StatusCode int       `json:"statusCode"` // 0: no answer
	Outcome    string    `json:"outcome"`
	Error      string    `json:"error,omitempty"`
	At         time.Time `json:"at"`
	LatencyMs  float64   `json:"latencyMs,omitempty"`
}

// CallbackURLResult is the answer to SetCallbackURL: the URL saved and
// the test ping that let it be saved.
type CallbackURLResult struct {
	CallbackURL string          `json:"callbackUrl"`
	Test        DeliveryAttempt `json:"test"`
}

// SetCallbackURL saves the URL that receives callbacks and approval
// calls. jeton first pings it unsigned; it is saved only on a 2xx within
// 8 s (else CALLBACK_URL_TEST_FAILED, with Details saying what happened).
func (a *API) SetCallbackURL(ctx context.Context, callbackURL string) (CallbackURLResult, error) {
	var out CallbackURLResult
	err := a.key(ctx, "PUT", "/secure/callback-url", map[string]string{"url": callbackURL}, &out)
	return out, err
}

// CallbackList is the data of GET /secure/callbacks.
type CallbackList struct {
	Items []CallbackDelivery `json:"items"`
	Count int                `json:"count"` // all matches, not just this page
}

// Callbacks lists status callbacks, newest first; tradeID "" for all.
func (a *API) Callbacks(ctx context.Context, tradeID string, limit, offset int) (CallbackList, error) {
	v := url.Values{}
	set(v, "tradeId", tradeID)
	setInt(v, "limit", limit)
	setInt(v, "offset", offset)
	var out CallbackList
	err := a.key(ctx, "GET", withQuery("/secure/callbacks", v), nil, &out)
	return out, err
}

// Callback reads one status callback with its attempt log.
func (a *API) Callback(ctx context.Context, deliveryID string) (CallbackDelivery, error) {
	var out CallbackDelivery
	err := a.key(ctx, "GET", "/secure/callbacks/"+url.PathEscape(deliveryID), nil, &out)
	return out, err
}

// RedeliverCallback sends a delivered or failed callback again under the
// same delivery id, with a fresh schedule (DELIVERY_PENDING while one is
// still running).
func (a *API) RedeliverCallback(ctx context.Context, deliveryID string) (CallbackDelivery, error) {
	var out CallbackDelivery
	err := a.key(ctx, "POST", "/secure/callbacks/"+url.PathEscape(deliveryID)+"/redeliver", nil, &out)
	return out, err
}

// ---- sandbox controls ----

// Sandbox trade actions for SandboxTrade.
const (
	SandboxAccept          = "accept"
	SandboxDecline         = "decline"
	SandboxReverse         = "reverse"
	SandboxReverseSupplier = "reverse-supplier"
)

// SandboxTrade plays the Steam side of a trade's offer in sandbox mode
// (accept, decline, reverse), so tests need no real Steam.
func (a *API) SandboxTrade(ctx context.Context, tradeID, action string) (Trade, error) {
	var out Trade
	err := a.key(ctx, "POST", "/secure/sandbox/trades/"+url.PathEscape(tradeID)+"/"+url.PathEscape(action), nil, &out)
	return out, err
}

// AdvanceSandboxClock moves the sandbox clock ahead, e.g. past a trade
// hold, and returns the sandbox's new time.
func (a *API) AdvanceSandboxClock(ctx context.Context, d time.Duration) (time.Time, error) {
	var out struct {
		Now time.Time `json:"now"`
	}
	err := a.key(ctx, "POST", "/secure/sandbox/clock/advance", map[string]int64{"seconds": int64(d / time.Second)}, &out)
	return out.Now, err
}

// ---- helpers ----

func set(v url.Values, k, s string) {
	if s != "" {
		v.Set(k, s)
	}
}

func setInt(v url.Values, k string, n int) {
	if n != 0 {
		v.Set(k, strconv.Itoa(n))
	}
}

func withQuery(path string, v url.Values) string {
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}
