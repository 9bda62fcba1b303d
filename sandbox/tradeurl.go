package sandbox

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jetonhq/jeton/steam"
)

// Test values: trade URL tokens (the 8 characters after "&token=") that
// make the sandbox answer like a troubled Steam account, the way a card
// processor's test card numbers make it decline. They match exactly and
// case-sensitively ("Banned00" is an ordinary token). Any other token is
// a healthy account whose offers the user accepts.
const (
	// TokenCS2Banned: check-tradeurl state 2 (CS2Banned, canTrade true:
	// Rust only); CS2 offers fail USER_TRADE_RESTRICTED, Rust offers
	// behave normally.
	TokenCS2Banned = "cs2ban00"
	// TokenRustBanned: state 3 (RustBanned, canTrade true: CS2 only);
	// Rust offers fail USER_TRADE_RESTRICTED, CS2 offers behave normally.
	TokenRustBanned = "rustban0"
	// TokenBanned: state 4 (Banned, canTrade false); offers fail
	// USER_TRADE_RESTRICTED.
	TokenBanned = "banned00"
	// TokenPrivate: state 5 (InventoryPrivate); offers fail
	// USER_INVENTORY_PRIVATE.
	TokenPrivate = "private0"
	// TokenInvalid: state 6 (TradeUrlInvalid, no steamid); offers fail
	// TRADE_URL_INVALID.
	TokenInvalid = "invalid0"
	// TokenNotFound: state 7 (UserNotFound, no steamid); offers fail
	// USER_NOT_FOUND.
	TokenNotFound = "notfound"
	// TokenUnknownError: state 8 (UnknownError, no steamid); offers fail
	// SERVICE_UNAVAILABLE.
	TokenUnknownError = "unknown0"
	// TokenEscrow: state 1 with canTrade false and escrowDays 7 (no
	// mobile authenticator); offers fail USER_ESCROW.
	TokenEscrow = "escrow07"
	// TokenProbation: state 1 with canTrade false and probation true;
	// offers fail USER_TRADE_RESTRICTED.
	TokenProbation = "probat00"
	// TokenDecline: a normal account (state 1) whose user declines
	// offers AcceptAfter after they are sent.
	TokenDecline = "decline0"
	// TokenExpire: a normal account whose user never answers: offers
	// expire OfferWindow after they are sent.
	TokenExpire = "expire00"
	// TokenFail: a normal account, but Steam refuses the offer at once:
	// failed with STEAM_ACCOUNT_RESTRICTED (SendOffer itself succeeds).
	TokenFail = "fail0000"
	// TokenReverseUser: offers are accepted as usual, then reversed by
	// the user halfway through the CS2 hold. Rust offers (no hold) stay
	// accepted.
	TokenReverseUser = "revuser0"
	// TokenReverseSupplier: as TokenReverseUser, reversed by the
	// supplier.
	TokenReverseSupplier = "revsupp0"
)

// Trade failure codes that failed sandbox offers carry in
// steam.OfferStatus.Reason, spelled as the vendor spells them so the
// engine can copy them into the trade's error unchanged.
const (
	// ReasonTradeURLInvalid: invalid0, or a trade URL that belongs to
	// another account than the offer's Steam ID.
	ReasonTradeURLInvalid = "TRADE_URL_INVALID"
	// ReasonAccountRestricted: fail0000, Steam refused the offer.
	ReasonAccountRestricted = "STEAM_ACCOUNT_RESTRICTED"
	// ReasonUserRestricted: banned00, probat00, and cs2ban00 / rustban0
	// for the banned game.
	ReasonUserRestricted = "USER_TRADE_RESTRICTED"
	// ReasonInventoryPrivate: private0.
	ReasonInventoryPrivate = "USER_INVENTORY_PRIVATE"
	// ReasonEscrow: escrow07, trades would be held by Steam.
	ReasonEscrow = "USER_ESCROW"
	// ReasonUserNotFound: notfound.
	ReasonUserNotFound = "USER_NOT_FOUND"
	// ReasonServiceUnavailable: unknown0, Steam did not answer.
	ReasonServiceUnavailable = "SERVICE_UNAVAILABLE"
)

// accountBase is the SteamID64 of account 0; partner = steamID - base.
const accountBase uint64 = 76561197960265728

// TradeURLFor builds the trade URL of steamID with the given token, so
// tests and docs can write a test value for any account. It fails when
// steamID is not an individual SteamID64 or the token is not 8 URL-safe
// characters.
func TradeURLFor(steamID, token string) (string, error) {
	id, err := steam.ParseSteamID(steamID)
	if err != nil {
		return "", fmt.Errorf("%w: %q", ErrInvalidSteamID, steamID)
	}
	acc, ok := steam.AccountID(id)
	if !ok {
		return "", fmt.Errorf("%w: %q is not an individual account", ErrInvalidSteamID, steamID)
	}
	u := "https://steamcommunity.com/tradeoffer/new/?partner=" + strconv.FormatUint(uint64(acc), 10) + "&token=" + token
	if _, err := steam.ParseTradeURL(u); err != nil {
		return "", err
	}
	return u, nil
}

// CheckTradeURL answers check-tradeurl from the URL alone: the steamid is
// the partner's SteamID64 and the state is chosen by the token's test
// value. A URL that does not parse is state 6. It never fails.
func (s *Sandbox) CheckTradeURL(_ context.Context, tradeURL string) (steam.TradeURLCheck, error) {
	t, err := steam.ParseTradeURL(tradeURL)
	if err != nil || t.Partner > 0xFFFFFFFF {
		return steam.TradeURLCheck{State: steam.StateTradeURLInvalid, Message: "Trade URL is invalid"}, nil
	}
	sid := strconv.FormatUint(accountBase+t.Partner, 10)
	c := steam.TradeURLCheck{State: steam.StateNormal, SteamID: sid, Message: "OK", CanTrade: true}
	switch t.Token {
	case TokenCS2Banned:
		c.State, c.Message = steam.StateCS2Banned, "Account is trade banned in CS2; it can trade Rust only"
	case TokenRustBanned:
		c.State, c.Message = steam.StateRustBanned, "Account is trade banned in Rust; it can trade CS2 only"
	case TokenBanned:
		c.State, c.Message, c.CanTrade = steam.StateBanned, "Account is trade banned", false
	case TokenPrivate:
		c = steam.TradeURLCheck{State: steam.StateInventoryPriv, SteamID: sid, Message: "Inventory is private"}
	case TokenInvalid:
		c = steam.TradeURLCheck{State: steam.StateTradeURLInvalid, Message: "Trade URL is invalid or was changed"}
	case TokenNotFound:
		c = steam.TradeURLCheck{State: steam.StateUserNotFound, Message: "User not found"}
	case TokenUnknownError:
		c = steam.TradeURLCheck{State: steam.StateUnknownError, Message: "Steam did not answer; try again later"}
	case TokenEscrow:
		c.CanTrade, c.EscrowDays, c.Message = false, 7, "Trades are held for 7 days: no mobile authenticator"
	case TokenProbation:
		c.CanTrade, c.Probation, c.Message = false, true, "Account is on trade probation"
	}
	return c, nil
}

// behaviour is what the simulated user and Steam do with an offer.
type behaviour struct {
	fail      string // failure code: the offer fails at once
	decline   bool   // declined at AcceptAfter
	expire    bool   // never answered; expires at OfferWindow
	reverseBy string // "user" or "supplier": reversed halfway through the hold
}

// behaviourOf decides an offer's fate from its token and game.
func behaviourOf(token string, g steam.Game) behaviour {
	switch token {
	case TokenCS2Banned:
		if g == steam.CS2 {
			return behaviour{fail: ReasonUserRestricted}
		}
	case TokenRustBanned:
		if g == steam.Rust {
			return behaviour{fail: ReasonUserRestricted}
		}
	case TokenBanned, TokenProbation:
		return behaviour{fail: ReasonUserRestricted}
	case TokenPrivate:
		return behaviour{fail: ReasonInventoryPrivate}
	case TokenInvalid:
		return behaviour{fail: ReasonTradeURLInvalid}
	case TokenNotFound:
		return behaviour{fail: ReasonUserNotFound}
	case TokenUnknownError:
		return behaviour{fail: ReasonServiceUnavailable}
	case TokenEscrow:
		return behaviour{fail: ReasonEscrow}
	case TokenFail:
		return behaviour{fail: ReasonAccountRestricted}
	case TokenDecline:
		return behaviour{decline: true}
	case TokenExpire:
		return behaviour{expire: true}
	case TokenReverseUser:
		return behaviour{reverseBy: ByUser}
	case TokenReverseSupplier:
		return behaviour{reverseBy: BySupplier}
	}
	return behaviour{}
}
