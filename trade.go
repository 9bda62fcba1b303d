package jeton

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// USD is an amount of US cents. jeton keeps money as integers inside and
// prints it as the vendor's dollar numbers at the edge.
type USD int64

// MarshalJSON prints dollars as JavaScript prints the number: 10.75,
// 8.6, 45.
func (u USD) MarshalJSON() ([]byte, error) { return []byte(u.String()), nil }

// String prints the amount in dollars as a JSON number.
func (u USD) String() string {
	return strconv.FormatFloat(float64(u)/100, 'f', -1, 64)
}

// UnmarshalJSON reads dollars with at most two decimals.
func (u *USD) UnmarshalJSON(b []byte) error {
	v, err := ParseUSD(string(b))
	if err != nil {
		return err
	}
	*u = v
	return nil
}

// MaxUSD bounds every amount jeton accepts: $10,000,000.00.
const MaxUSD USD = 1_000_000_000

// ParseUSD reads a non-negative decimal dollar amount with at most two
// decimals, exactly (no float rounding). Exponents are refused.
func ParseUSD(s string) (USD, error) {
	intPart, frac, dot := strings.Cut(s, ".")
	if intPart == "" || !digits(intPart) || dot && (frac == "" || !digits(frac)) {
		return 0, errors.New("must be a non-negative number in dollars")
	}
	frac = strings.TrimRight(frac, "0")
	if len(frac) > 2 {
		return 0, errors.New("must have at most two decimals")
	}
	intPart = strings.TrimLeft(intPart, "0")
	if len(intPart) > 8 {
		return 0, fmt.Errorf("must be at most %s", MaxUSD)
	}
	for len(frac) < 2 {
		frac += "0"
	}
	n, err := strconv.ParseInt(intPart+frac, 10, 64)
	if err != nil || USD(n) > MaxUSD {
		return 0, fmt.Errorf("must be at most %s", MaxUSD)
	}
	return USD(n), nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// TradeType is DEPOSIT or WITHDRAW.
type TradeType string

// Trade types, spelled as the seed spells them.
const (
	Deposit  TradeType = "DEPOSIT"
	Withdraw TradeType = "WITHDRAW"
)

// TradeSource tells trades a client started from the merchant's own.
type TradeSource string

// Trade sources.
const (
	SourceClient TradeSource = "client"
	SourceSelf   TradeSource = "self"
)

// TradeStatus is where a trade stands.
type TradeStatus string

// Trade statuses, upper-case as in the seed.
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

// Terminal reports whether nothing can follow s.
func (s TradeStatus) Terminal() bool {
	switch s {
	case StatusCompleted, StatusDeclined, StatusCanceled, StatusFailed, StatusReverted:
		return true
	}
	return false
}

// Open reports whether a trade in s still counts toward a user's
// instant-credit exposure.
func (s TradeStatus) Open() bool {
	return s == StatusInitiated || s == StatusPending || s == StatusActive || s == StatusHold
}

// transitions is the whole state machine: for each trade type, the
// statuses each status may move to. Nothing else is possible.
var transitions = map[TradeType]map[TradeStatus][]TradeStatus{
	Deposit: {
		StatusInitiated: {StatusActive, StatusFailed, StatusCanceled},
		StatusActive:    {StatusHold, StatusCompleted, StatusDeclined, StatusFailed, StatusCanceled},
		StatusHold:      {StatusCompleted, StatusReverted},
	},
	Withdraw: {
		StatusInitiated: {StatusPending, StatusFailed},
		StatusPending:   {StatusActive, StatusFailed},
		StatusActive:    {StatusHold, StatusCompleted, StatusDeclined, StatusFailed, StatusCanceled},
		StatusHold:      {StatusCompleted, StatusReverted},
	},
}

// CanMove reports whether a trade of type t may go from one status to
// another.
func CanMove(t TradeType, from, to TradeStatus) bool {
	for _, s := range transitions[t][from] {
		if s == to {
			return true
		}
	}
	return false
}

// Moves lists every allowed transition of t, for docs and tests.
func Moves(t TradeType) map[TradeStatus][]TradeStatus { return transitions[t] }

// Trade failure codes carried in Trade.Error.
const (
	FailMerchantRejected = "MERCHANT_REJECTED"
	FailApprovalTimeout  = "APPROVAL_TIMEOUT"
	FailBalanceLow       = "MERCHANT_BALANCE_LOW"
	FailOfferNotAccepted = "OFFER_NOT_ACCEPTED"
	FailListingGone      = "LISTING_UNAVAILABLE"
	FailTradeURLInvalid  = "TRADE_URL_INVALID"
	FailService          = "SERVICE_UNAVAILABLE"
)

// Offer is the price part of a trade item.
type Offer struct {
	Price     USD    `json:"price"`
	Reference string `json:"reference,omitempty"`
	Delivery  string `json:"delivery,omitempty"`
}

// TradeItem is one item of a trade, in the vendor's item shape.
type TradeItem struct {
	ID             string `json:"id"`
	AppID          int    `json:"appid"`
	Name           string `json:"name,omitempty"`
	MarketHashName string `json:"marketHashName,omitempty"`
	Type           string `json:"type,omitempty"`
	IconURL        string `json:"iconUrl,omitempty"`
	Tradable       bool   `json:"tradable"`
	Amount         int    `json:"amount"`
	Market         *int   `json:"market,omitempty"`
	Offer          Offer  `json:"offer"`
	// PurchaseStatus follows the trade on withdrawals.
	PurchaseStatus TradeStatus `json:"purchaseStatus,omitempty"`
}

// Collateral says how a deposit's instant credit was backed.
type Collateral struct {
	Merchant USD `json:"merchant"`
	Provider USD `json:"provider"`
}

// Trade is a deposit or a withdrawal of items, in the vendor's fields.
// Its JSON is the AssetPay wire form, in callbacks and replies alike.
type Trade struct {
	ID                   string      `json:"id"`
	Type                 TradeType   `json:"type"`
	Source               TradeSource `json:"source"`
	Status               TradeStatus `json:"status"`
	Game                 string      `json:"game"`
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
	Error                *string     `json:"error,omitempty"`
	CreatedAt            time.Time   `json:"createdAt"`
	UpdatedAt            time.Time   `json:"updatedAt"`

	// Version counts the trade's changes; the store refuses a write
	// based on a stale read.
	Version int `json:"-"`
	// NextCheckAt is when the engine next looks at the trade (zero: only
	// on an event).
	NextCheckAt time.Time `json:"-"`
	// ApprovalAttempts counts INITIATED approval calls made;
	// ApprovalLease is when the one in flight may be presumed dead.
	ApprovalAttempts int       `json:"-"`
	ApprovalLease    time.Time `json:"-"`
}

// ISOTime formats t as JavaScript's Date.toISOString does, the form the
// vendor's timestamps take: UTC, milliseconds, Z.
func ISOTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

type isoTime time.Time

func (t isoTime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + ISOTime(time.Time(t)) + `"`), nil
}

// MarshalJSON writes the trade in the vendor's form, times as ISO 8601
// with milliseconds.
func (t Trade) MarshalJSON() ([]byte, error) {
	type plain Trade
	var hold *isoTime
	if t.HoldEndDate != nil {
		h := isoTime(*t.HoldEndDate)
		hold = &h
	}
	v := struct {
		plain
		HoldEndDate *isoTime `json:"holdEndDate,omitempty"`
		CreatedAt   isoTime  `json:"createdAt"`
		UpdatedAt   isoTime  `json:"updatedAt"`
	}{plain(t), hold, isoTime(t.CreatedAt), isoTime(t.UpdatedAt)}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// Move changes t's status if the state machine allows it, and stamps
// UpdatedAt. It is the only way a status changes.
func (t *Trade) Move(to TradeStatus, now time.Time) error {
	if !CanMove(t.Type, t.Status, to) {
		return Errorf(KindConflict, KeyConflict, "trade %s cannot move from %s to %s", t.ID, t.Status, to)
	}
	t.Status = to
	t.UpdatedAt = now
	if t.Type == Withdraw {
		for i := range t.Items {
			t.Items[i].PurchaseStatus = to
		}
	}
	return nil
}

// Fail moves t to FAILED with a failure code.
func (t *Trade) Fail(code string, now time.Time) error {
	if err := t.Move(StatusFailed, now); err != nil {
		return err
	}
	t.Error = &code
	return nil
}

// Credits returns the deposit's instant and pending credit (0 when unset).
func (t *Trade) Credits() (pre, pending USD) {
	if t.PreCredit != nil {
		pre = *t.PreCredit
	}
	if t.PendingCredit != nil {
		pending = *t.PendingCredit
	}
	return pre, pending
}

// Wallet is a merchant's USD balances in cents. Available is spendable;
// Pending holds funds locked for withdrawals in flight; Escrow holds
// deposit credit still inside a Steam hold.
type Wallet struct {
	MerchantID string
	Available  USD
	Pending    USD
	Escrow     USD
	UpdatedAt  time.Time
}

// Ledger accounts. Merchant accounts are per merchant (the posting's);
// the others stand for the outside world, so every posting balances.
const (
	AccountAvailable = "merchant:available"
	AccountPending   = "merchant:pending"
	AccountEscrow    = "merchant:escrow"
	AccountMarket    = "world:market"   // the other side of every trade
	AccountFunding   = "world:funding"  // money paid in or out of jeton
	AccountProvider  = "world:provider" // collateral the provider backs
	AccountFees      = "world:fees"     // decline penalties
)

// Entry moves Amount into Account (negative: out of it).
type Entry struct {
	Account string `json:"account"`
	Amount  USD    `json:"amount"`
}

// KeyBalanceLow is the error key of a guarded posting the wallet cannot
// cover.
const KeyBalanceLow = "MERCHANT_BALANCE_LOW"

// Posting types, as GET /v1/ledger/transactions shows them.
const (
	PostOpening    = "ADMIN_CREDIT" // sandbox opening balance
	PostDeposit    = "DEPOSIT"      // deposit credit
	PostWithdrawal = "WITHDRAWAL"   // withdrawal funds locked or paid
	PostRefund     = "REFUND"       // withdrawal refund
	PostReversal   = "REVERSAL"     // deposit credit taken back
	PostSettlement = "INTERNAL_TRANSFER"
)

// Posting is one balanced ledger transaction: its entries sum to zero.
type Posting struct {
	ID         string
	MerchantID string
	TradeID    string
	Type       string
	Memo       string
	// Guard refuses the posting (ErrBalanceLow) if it would take the
	// merchant's available balance below zero.
	Guard     bool
	Entries   []Entry
	CreatedAt time.Time
}

// Balanced reports whether the entries sum to zero.
func (p Posting) Balanced() bool {
	var sum USD
	for _, e := range p.Entries {
		sum += e.Amount
	}
	return sum == 0 && len(p.Entries) >= 2
}

// Amount is the total moved: the sum of the positive entries.
func (p Posting) Amount() USD {
	var sum USD
	for _, e := range p.Entries {
		if e.Amount > 0 {
			sum += e.Amount
		}
	}
	return sum
}

// Apply adds the posting's merchant entries to w.
func (w *Wallet) Apply(p Posting) {
	for _, e := range p.Entries {
		switch e.Account {
		case AccountAvailable:
			w.Available += e.Amount
		case AccountPending:
			w.Pending += e.Amount
		case AccountEscrow:
			w.Escrow += e.Amount
		}
	}
}

// TradeChange is what one step of the engine writes atomically: the
// trade's new state, its ledger postings and the callbacks it causes.
type TradeChange struct {
	Trade    Trade
	Postings []Posting
	// Callbacks are stored with the change, due at once: the callbacks
	// table is the outbox the delivery workers claim from.
	Callbacks []Callback
	// Attempts are approval calls recorded with the change they decided.
	Attempts []CallbackAttempt
	// Event is recorded in the trade's timeline when the status changed.
	Event TradeStatus
}

// UserHistory is what the risk model reads about one user.
type UserHistory struct {
	SettledDeposits USD
	SettledCount    int
	Reversals       int
	FirstSeen       time.Time
	// Exposure is the preCredit of the user's open deposits.
	Exposure USD
	// ActiveDeposits counts the user's client deposits whose offer is not
	// answered yet (INITIATED or ACTIVE).
	ActiveDeposits int
	// Held are the asset ids of the user's deposits that did not fail:
	// an item in one of them is no longer the user's to deposit (Steam
	// gives a traded item a new asset id).
	Held map[string]bool
}

// TradeFilter selects trades for listing.
type TradeFilter struct {
	MerchantID string
	SteamID    string // "" for all users
	Source     TradeSource
	Type       TradeType // "" for both
	Game       string    // "" for both
	Limit      int
	Offset     int
	// Before is a cursor: only trades created strictly before it, by
	// (CreatedAt, ID).
	BeforeAt time.Time
	BeforeID string
}

// TradeEvent is one status in a trade's timeline.
type TradeEvent struct {
	TradeID string
	Seq     int
	Status  TradeStatus
	At      time.Time
}

// TradeStore keeps trades, wallets and the ledger. Every write is one
// transaction that also stores the callbacks the change causes.
type TradeStore interface {
	// CreateTrade stores a new trade with its first event, postings and
	// callbacks. The open exposure check is done by decide, inside the same
	// transaction, given the wallet and, when history is set, the user's
	// history (deposits need it; without it decide gets a zero history and
	// the write skips reading it).
	CreateTrade(ctx context.Context, merchantID, steamID string, history bool, decide func(h UserHistory, w Wallet) (TradeChange, error)) (Trade, error)
	// UpdateTrade lets change decide from read (the trade as the caller
	// last read it; with only its ID set, the store reads it) and writes
	// the result only if the trade has not changed since; otherwise it
	// reads and decides again, so change may run more than once. change
	// returning a nil *TradeChange leaves everything as it was. Guarded
	// postings are checked against the wallet in the write.
	UpdateTrade(ctx context.Context, read Trade, change func(t Trade) (*TradeChange, error)) (Trade, error)
	Trade(ctx context.Context, merchantID, id string) (Trade, error)
	// TradeByRef finds a trade by id or externalId.
	TradeByRef(ctx context.Context, merchantID, ref string) (Trade, error)
	// TradeByExternalID finds a trade by its externalId alone.
	TradeByExternalID(ctx context.Context, merchantID, externalID string) (Trade, error)
	Trades(ctx context.Context, f TradeFilter) ([]Trade, int, error)
	TradeEvents(ctx context.Context, tradeID string) ([]TradeEvent, error)
	// DueTrades returns open trades whose NextCheckAt is at or before
	// now, whole: the engine starts from them without reading each again.
	DueTrades(ctx context.Context, now time.Time, limit int) ([]Trade, error)

	// OpenWallet creates the merchant's wallet with an opening posting
	// (nil for none) if it does not exist yet.
	OpenWallet(ctx context.Context, merchantID string, opening *Posting) (Wallet, error)
	Wallet(ctx context.Context, merchantID string) (Wallet, error)
	Postings(ctx context.Context, merchantID string, f PostingFilter) ([]Posting, int, error)
	Posting(ctx context.Context, merchantID, id string) (Posting, error)
}

// PostingFilter selects ledger postings.
type PostingFilter struct {
	Type          string
	From, To      time.Time
	Limit, Offset int
}
