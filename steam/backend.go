package steam

import (
	"context"
	"errors"
	"time"
)

// Game is a Steam app id as the AssetPay API spells it.
type Game string

// The games jeton trades.
const (
	CS2  Game = "730"
	Rust Game = "252490"
)

// Valid reports whether g is a game jeton trades.
func (g Game) Valid() bool { return g == CS2 || g == Rust }

// AppID is g as a number, as items carry it.
func (g Game) AppID() int {
	if g == Rust {
		return 252490
	}
	return 730
}

// Sticker is one sticker applied to an item.
type Sticker struct {
	Name    string `json:"name"`
	Slot    int    `json:"slot"`
	Wear    string `json:"wear,omitempty"`
	IconURL string `json:"iconUrl,omitempty"`
}

// Item is one item of an inventory or one market listing. Prices are
// integer US cents; the surfaces convert them at the edge.
type Item struct {
	// ID is the asset id in an inventory, the listing id on the market.
	ID             string
	AppID          int
	Name           string
	MarketHashName string
	Type           string
	IconURL        string
	Exterior       string
	Rarity         string
	Color          string
	Wear           string // float as a decimal string, "" when none
	PaintSeed      int
	Stickers       []Sticker
	Tradable       bool
	// MarketPrice is the reference market price, not what is paid.
	MarketPrice int64
	// Price is the offer: what jeton pays on a deposit or asks on a
	// withdrawal. Reference identifies that offer; a trade that names a
	// stale reference or price gets PRICE_CHANGED.
	Price     int64
	Reference string
	Accepted  bool
	MaxAmount int
	// Market is the marketplace source of a listing (0 in inventories).
	Market int
	// Delivery is "normal" or "auto" for listings, "" in inventories.
	Delivery string
	Amount   int
}

// Price is one row of the price list.
type Price struct {
	ItemID         string // cheapest listing id, "" when none
	MarketHashName string
	Accepted       bool
	Deposit        int64 // cents paid on a deposit, 0 when not accepted
	// WithdrawStandard and WithdrawInstant are the cheapest listing by
	// delivery, 0 when there is none.
	WithdrawStandard int64
	WithdrawInstant  int64
}

// TradeURLState is the check-tradeurl state number.
type TradeURLState int

// Trade URL states, numbered as the AssetPay API numbers them.
const (
	StateNormal          TradeURLState = 1
	StateCS2Banned       TradeURLState = 2
	StateRustBanned      TradeURLState = 3
	StateBanned          TradeURLState = 4
	StateInventoryPriv   TradeURLState = 5
	StateTradeURLInvalid TradeURLState = 6
	StateUserNotFound    TradeURLState = 7
	StateUnknownError    TradeURLState = 8
)

// TradeURLCheck is the answer of a trade URL check.
type TradeURLCheck struct {
	State   TradeURLState
	SteamID string // "" when the URL does not resolve to a user
	Message string
	// CanTrade is meaningful for states 1-4 only.
	CanTrade   bool
	EscrowDays int
	Probation  bool
}

// CanTradeGame reports whether the checked account may trade g now.
func (c TradeURLCheck) CanTradeGame(g Game) bool {
	switch c.State {
	case StateNormal:
		return c.CanTrade
	case StateCS2Banned:
		return c.CanTrade && g == Rust
	case StateRustBanned:
		return c.CanTrade && g == CS2
	}
	return false
}

// Direction says which way the items of an offer move.
type Direction string

// Offer directions.
const (
	// FromUser: the user gives items (a deposit or a sell).
	FromUser Direction = "from_user"
	// ToUser: the user receives items (a withdrawal or a buy).
	ToUser Direction = "to_user"
)

// Offer is a trade offer to send to a user.
type Offer struct {
	// TradeID makes SendOffer idempotent: a second call for the same
	// trade returns the first offer.
	TradeID   string
	Game      Game
	Direction Direction
	SteamID   string
	TradeURL  string
	Items     []Item
}

// OfferState is where a sent offer stands.
type OfferState string

// Offer states.
const (
	OfferPending  OfferState = "pending"  // sent, awaiting the user
	OfferAccepted OfferState = "accepted" // accepted; may sit in a hold
	OfferDeclined OfferState = "declined" // the user declined it
	OfferExpired  OfferState = "expired"  // never accepted in time
	OfferFailed   OfferState = "failed"   // Steam refused it
	OfferReversed OfferState = "reversed" // accepted, then reversed in the hold
)

// OfferStatus is the state of an offer and when to look again.
type OfferStatus struct {
	State OfferState
	// At is when the state was reached (accepted: the acceptance time,
	// from which the hold is counted).
	At time.Time
	// Reason is a trade failure code for failed offers, e.g.
	// STEAM_ACCOUNT_RESTRICTED.
	Reason string
	// ReversedBy is "user" or "supplier" for reversed offers.
	ReversedBy string
	// NextCheck is when the state may next change; zero means only on
	// an outside event (a sandbox control).
	NextCheck time.Time
}

// Errors a Backend returns.
var (
	ErrUnavailable     = errors.New("steam: unavailable")
	ErrListingNotFound = errors.New("steam: listing not found")
	ErrOfferNotFound   = errors.New("steam: offer not found")
	ErrItemNotFound    = errors.New("steam: item not found")
)

// Backend is what jeton needs from Steam and the marketplaces: inventories,
// listings, prices, trade URL checks and trade offers. The sandbox is one
// implementation; a real one would speak to Steam bots and suppliers.
// All times come from the backend's clock, so a sandbox can move it.
type Backend interface {
	// Now is the backend's clock: trade holds and offer windows are
	// measured on it.
	Now() time.Time
	// HoldPeriod is how long accepted offers of g stay reversible.
	HoldPeriod(g Game) time.Duration
	// Inventory returns the user's items of g and when they were read.
	Inventory(ctx context.Context, steamID string, g Game) ([]Item, time.Time, error)
	// Market returns the listings of g.
	Market(ctx context.Context, g Game) ([]Item, error)
	// Listing returns one listing by id, or ErrListingNotFound.
	Listing(ctx context.Context, g Game, listingID string) (Item, error)
	// Prices returns the price list of g.
	Prices(ctx context.Context, g Game) ([]Price, error)
	// CheckTradeURL checks the account behind a trade URL.
	CheckTradeURL(ctx context.Context, tradeURL string) (TradeURLCheck, error)
	// SendOffer sends (or, for a TradeID already sent, finds) an offer
	// and returns its id and its status now, which saves the engine an
	// OfferStatus call at once.
	SendOffer(ctx context.Context, o Offer) (string, OfferStatus, error)
	// OfferStatus reports an offer's state.
	OfferStatus(ctx context.Context, offerID string) (OfferStatus, error)
}
