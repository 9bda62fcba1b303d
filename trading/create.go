package trading

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/risk"
	"github.com/jetonhq/jeton/steam"
)

// syncSet is a set safe for concurrent use.
type syncSet struct{ m sync.Map }

func (s *syncSet) has(k string) bool { _, ok := s.m.Load(k); return ok }

// add reports whether k was not yet in the set.
func (s *syncSet) add(k string) bool { _, loaded := s.m.LoadOrStore(k, struct{}{}); return !loaded }
func (s *syncSet) del(k string)      { s.m.Delete(k) }

// Party is who a trade is for: a client (from a client token) or the
// merchant itself (a self-trade with a trade URL).
type Party struct {
	MerchantID string
	Source     jeton.TradeSource
	SteamID    string
	TradeURL   string
	ClientID   string
	ClientData json.RawMessage
}

// ItemRef is one requested item. Price and Reference are checked against
// the current offer when HasOffer is set.
type ItemRef struct {
	ItemID    string
	Market    *int
	HasOffer  bool
	Price     jeton.USD
	Reference string
	Amount    int
}

// Request is a deposit or withdrawal request.
type Request struct {
	Party
	Game       steam.Game
	Items      []ItemRef
	ExternalID string
	IsInstant  bool
}

// countItems refuses an empty or oversized item list.
func countItems(items []ItemRef, most int, kind string) error {
	if len(items) == 0 {
		return errf(jeton.KindInvalid, jeton.KeyMissingItems, "items must not be empty")
	}
	if len(items) > most {
		return errf(jeton.KindInvalid, jeton.KeyTooManyItems, "at most %d items per %s", most, kind)
	}
	return nil
}

func invalid(field, msg string) error {
	return &jeton.Error{Kind: jeton.KindInvalid, Key: jeton.KeyValidationFailed, Message: field + ": " + msg, Fields: map[string]string{field: msg}}
}

// checkParty refuses a trade whose trade URL is not the user's own, or
// whose account cannot trade the game, before anything is created.
func (s *Service) checkParty(ctx context.Context, p Party, g steam.Game) error {
	id, err := steam.ParseSteamID(p.SteamID)
	if err != nil {
		return errf(jeton.KindInvalid, jeton.KeyInvalidTradeURL, "the client's Steam ID is not valid")
	}
	u, err := steam.ParseTradeURL(p.TradeURL)
	if err != nil {
		return errf(jeton.KindInvalid, jeton.KeyInvalidTradeURL, "the trade URL is not valid")
	}
	if !u.BelongsTo(id) {
		return errf(jeton.KindInvalid, jeton.KeyInvalidTradeURL, "the trade URL belongs to another Steam account than %s; no offer is sent to it", p.SteamID)
	}
	chk, err := s.cfg.Backend.CheckTradeURL(ctx, p.TradeURL)
	if err != nil {
		return errf(jeton.KindUnavailable, jeton.KeyUnavailable, "Steam is unavailable; retry shortly")
	}
	if chk.State == steam.StateTradeURLInvalid || chk.State == steam.StateUserNotFound {
		return errf(jeton.KindInvalid, jeton.KeyInvalidTradeURL, "the trade URL does not resolve to a Steam user")
	}
	if !chk.CanTradeGame(g) {
		return errf(jeton.KindInvalid, jeton.KeyUserNotTradeable, "the Steam account cannot trade this game now (%s)", chk.Message)
	}
	return nil
}

func (s *Service) base(p Party, typ jeton.TradeType, g steam.Game, externalID string) jeton.Trade {
	now := s.now()
	t := jeton.Trade{
		ID: NewTradeID(), Type: typ, Source: p.Source, Status: jeton.StatusInitiated, Game: string(g), MerchantID: p.MerchantID,
		ClientUserID: clientUserID(p.MerchantID, p.SteamID), ClientSteamID: p.SteamID, ClientTradeURL: p.TradeURL,
		CreatedAt: now, UpdatedAt: now, NextCheckAt: now,
	}
	if externalID != "" {
		t.ExternalID = &externalID
	}
	if p.ClientID != "" {
		c := p.ClientID
		t.ExternalClientUserID = &c
	}
	return t
}

// Deposit starts a deposit (a client's, or a self-sell): the user gives
// items, jeton credits the merchant.
func (s *Service) Deposit(ctx context.Context, r Request) (jeton.Trade, error) {
	if err := s.admit(ctx, r, MaxDepositItems, "deposit"); err != nil {
		return jeton.Trade{}, err
	}
	if err := s.checkParty(ctx, r.Party, r.Game); err != nil {
		return jeton.Trade{}, err
	}
	inv, _, err := s.cfg.Backend.Inventory(ctx, r.SteamID, r.Game)
	if err != nil {
		return jeton.Trade{}, errf(jeton.KindUnavailable, jeton.KeyInventoryFetch, "the inventory could not be read; retry shortly")
	}
	byID := make(map[string]steam.Item, len(inv))
	for _, it := range inv {
		byID[it.ID] = it
	}
	t := s.base(r.Party, jeton.Deposit, r.Game, r.ExternalID)
	seen := map[string]bool{}
	for i, ref := range r.Items {
		it, ok := byID[ref.ItemID]
		if !ok || seen[ref.ItemID] {
			return jeton.Trade{}, &jeton.Error{Kind: jeton.KindInvalid, Key: jeton.KeyItemsUnavailable,
				Message: fmt.Sprintf("item %s is not in the user's inventory", ref.ItemID), Details: map[string]any{"itemId": ref.ItemID, "index": i}}
		}
		seen[ref.ItemID] = true
		if !it.Tradable || !it.Accepted {
			return jeton.Trade{}, &jeton.Error{Kind: jeton.KindInvalid, Key: jeton.KeyItemsNotAccepted,
				Message: fmt.Sprintf("item %s is not accepted", ref.ItemID), Details: map[string]any{"itemId": ref.ItemID}}
		}
		amount := max(ref.Amount, 1)
		if amount > max(it.MaxAmount, 1) {
			return jeton.Trade{}, errf(jeton.KindInvalid, jeton.KeyExceedsMaxAmount, "item %s: at most %d", ref.ItemID, max(it.MaxAmount, 1))
		}
		if ref.HasOffer && (jeton.USD(it.Price) != ref.Price || ref.Reference != "" && ref.Reference != it.Reference) {
			return jeton.Trade{}, &jeton.Error{Kind: jeton.KindConflict, Key: jeton.KeyPriceChanged,
				Message: fmt.Sprintf("the offer for item %s changed; fetch the inventory again", ref.ItemID),
				Details: map[string]any{"itemId": ref.ItemID, "price": jeton.USD(it.Price), "reference": it.Reference}}
		}
		t.Items = append(t.Items, tradeItem(it, amount))
		t.TotalPrice += jeton.USD(it.Price) * jeton.USD(amount)
	}
	m, err := s.cfg.Merchants.Merchant(ctx, r.MerchantID)
	if err != nil {
		return jeton.Trade{}, err
	}
	if err := s.openWallet(ctx, r.MerchantID); err != nil {
		return jeton.Trade{}, err
	}
	out, err := s.cfg.Store.CreateTrade(ctx, r.MerchantID, r.SteamID, true, func(h jeton.UserHistory, _ jeton.Wallet) (jeton.TradeChange, error) {
		for i, it := range t.Items {
			if h.Held[it.ID] {
				return jeton.TradeChange{}, &jeton.Error{Kind: jeton.KindInvalid, Key: jeton.KeyItemsUnavailable,
					Message: fmt.Sprintf("item %s is already in another deposit", it.ID), Details: map[string]any{"itemId": it.ID, "index": i}}
			}
		}
		if r.Source == jeton.SourceClient && h.ActiveDeposits >= MaxActiveDeposits {
			return jeton.TradeChange{}, errf(jeton.KindRateLimited, jeton.KeyTooManyActive,
				"the user already has %d deposits waiting on their trade offer; wait for one to finish", h.ActiveDeposits)
		}
		var sp risk.Split
		if r.Source == jeton.SourceSelf || r.Game == steam.Rust {
			sp = risk.Full(int64(t.TotalPrice))
		} else {
			sp = s.cfg.Risk.Split(int64(t.TotalPrice), r.IsInstant, s.riskInput(m, r.ClientData, h))
		}
		pre, pending := jeton.USD(sp.PreCredit), jeton.USD(sp.PendingCredit)
		instant := r.IsInstant
		t.PreCredit, t.PendingCredit, t.IsInstant = &pre, &pending, &instant
		t.Collateral = &jeton.Collateral{Merchant: jeton.USD(sp.Merchant), Provider: jeton.USD(sp.Provider)}
		ch, err := s.change(m, t)
		if err != nil {
			return jeton.TradeChange{}, err
		}
		return *ch, nil
	})
	if err != nil {
		return jeton.Trade{}, err
	}
	s.kickWith(out)
	return out, nil
}

func tradeItem(it steam.Item, amount int) jeton.TradeItem {
	ti := jeton.TradeItem{ID: it.ID, AppID: it.AppID, Name: it.Name, MarketHashName: it.MarketHashName, Type: it.Type,
		IconURL: it.IconURL, Tradable: it.Tradable, Amount: amount,
		Offer: jeton.Offer{Price: jeton.USD(it.Price), Reference: it.Reference, Delivery: it.Delivery}}
	if it.Market != 0 {
		mk := it.Market
		ti.Market = &mk
	}
	return ti
}

// Withdraw starts a withdrawal (a client's, or a self-buy): jeton buys
// the listings for the user once the merchant approves.
func (s *Service) Withdraw(ctx context.Context, r Request) (jeton.Trade, error) {
	if err := s.admit(ctx, r, MaxWithdrawItems, "withdrawal"); err != nil {
		return jeton.Trade{}, err
	}
	m, err := s.cfg.Merchants.Merchant(ctx, r.MerchantID)
	if err != nil {
		return jeton.Trade{}, err
	}
	if m.CallbackURL == "" {
		// Set through another instance a moment ago?
		if m, err = s.cfg.Merchants.FreshMerchant(ctx, r.MerchantID); err != nil {
			return jeton.Trade{}, err
		}
	}
	if m.CallbackURL == "" {
		return jeton.Trade{}, errf(jeton.KindInvalid, jeton.KeyNoCallbackURL, "withdrawals need the merchant's approval callback: set a callback URL first")
	}
	if err := s.checkParty(ctx, r.Party, r.Game); err != nil {
		return jeton.Trade{}, err
	}
	t := s.base(r.Party, jeton.Withdraw, r.Game, r.ExternalID)
	seen := map[string]bool{}
	for _, ref := range r.Items {
		if seen[ref.ItemID] {
			return jeton.Trade{}, invalid("items", "listing "+ref.ItemID+" is named twice")
		}
		seen[ref.ItemID] = true
		it, err := s.cfg.Backend.Listing(ctx, r.Game, ref.ItemID)
		if errors.Is(err, steam.ErrListingNotFound) {
			return jeton.Trade{}, &jeton.Error{Kind: jeton.KindNotFound, Key: jeton.KeyListingNotFound,
				Message: "listing " + ref.ItemID + " not found", Details: map[string]any{"itemId": ref.ItemID}}
		}
		if err != nil {
			return jeton.Trade{}, errf(jeton.KindUnavailable, jeton.KeyUnavailable, "the market is unavailable; retry shortly")
		}
		if ref.Market != nil && *ref.Market != it.Market {
			return jeton.Trade{}, &jeton.Error{Kind: jeton.KindInvalid, Key: jeton.KeyInvalidListingID,
				Message: "listing " + ref.ItemID + " is not on market " + strconv.Itoa(*ref.Market), Details: map[string]any{"itemId": ref.ItemID, "market": it.Market}}
		}
		if ref.HasOffer && (ref.Price != jeton.USD(it.Price) || ref.Reference != "" && ref.Reference != it.Reference) {
			return jeton.Trade{}, &jeton.Error{Kind: jeton.KindConflict, Key: jeton.KeyPriceChanged,
				Message: fmt.Sprintf("listing %s is now %s; fetch the listing again", ref.ItemID, jeton.USD(it.Price)),
				Details: map[string]any{"itemId": ref.ItemID, "price": jeton.USD(it.Price), "reference": it.Reference}}
		}
		ti := tradeItem(it, max(ref.Amount, 1))
		ti.PurchaseStatus = jeton.StatusInitiated
		t.Items = append(t.Items, ti)
		t.TotalPrice += jeton.USD(it.Price) * jeton.USD(ti.Amount)
	}
	if err := s.openWallet(ctx, r.MerchantID); err != nil {
		return jeton.Trade{}, err
	}
	out, err := s.cfg.Store.CreateTrade(ctx, r.MerchantID, r.SteamID, false, func(_ jeton.UserHistory, w jeton.Wallet) (jeton.TradeChange, error) {
		// The first approval attempt is claimed with the trade itself, so
		// the call goes out as soon as the trade is stored, with no write
		// between. Its lease starts now, at the write, not when the
		// request began.
		t.ApprovalAttempts = 1
		t.ApprovalLease = s.now().Add(s.cfg.ApprovalTimeout + leaseMargin)
		t.NextCheckAt = t.ApprovalLease
		if w.Available < t.TotalPrice {
			return jeton.TradeChange{}, &jeton.Error{Kind: jeton.KindInvalid, Key: jeton.KeyBalanceLow,
				Message: "the merchant's balance cannot cover this withdrawal"}
		}
		ch, err := s.change(m, t)
		if err != nil {
			return jeton.TradeChange{}, err
		}
		return *ch, nil
	})
	if err != nil {
		return jeton.Trade{}, err
	}
	// The request replies at once; the call outlives it. Should this
	// process die first, the lease runs out and the engine makes the
	// attempt again as attempt 2.
	go func() {
		if err := s.callApproval(context.WithoutCancel(ctx), m, out); err != nil {
			s.cfg.Log.Warn("approval", "trade", out.ID, "err", err)
		}
	}()
	return out, nil
}

// admit makes the checks every trade request passes first: the item
// count, then EXTERNAL_ID_EXISTS before anything else about the items, so
// a client retrying a request it already made learns that it was made.
// The unique index still decides a race.
func (s *Service) admit(ctx context.Context, r Request, maxItems int, what string) error {
	if err := countItems(r.Items, maxItems, what); err != nil {
		return err
	}
	if r.ExternalID == "" {
		return nil
	}
	_, err := s.cfg.Store.TradeByExternalID(ctx, r.MerchantID, r.ExternalID)
	if err == nil {
		return jeton.Errorf(jeton.KindConflict, jeton.KeyExternalIDExists, "a trade with this externalId already exists")
	}
	return nil
}
