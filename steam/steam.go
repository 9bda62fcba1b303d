// Package steam parses Steam identities: SteamID64 values and trade URLs,
// exactly as the AssetPay API's patterns accept them.
package steam

import (
	"errors"
	"strconv"
	"strings"
)

// idBase is the SteamID64 of account 0 in the public universe; a user's
// SteamID64 is idBase + their 32-bit account id (the trade URL "partner").
const idBase uint64 = 76561197960265728

// Errors returned by the parsers.
var (
	ErrSteamID  = errors.New("must be a SteamID64: 17 digits starting with 76561")
	ErrTradeURL = errors.New("must be https://steamcommunity.com/tradeoffer/new/?partner=<1-10 digits>&token=<8 characters A-Z a-z 0-9 _ ->")
)

// ParseSteamID checks s against ^76561\d{12}$ and returns its value.
func ParseSteamID(s string) (uint64, error) {
	if len(s) != 17 || !strings.HasPrefix(s, "76561") || !allDigits(s) {
		return 0, ErrSteamID
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, ErrSteamID
	}
	return v, nil
}

// AccountID returns the 32-bit account id of a SteamID64, and false when
// the id lies outside the individual-account range.
func AccountID(steamID uint64) (uint32, bool) {
	if steamID < idBase || steamID-idBase > 0xFFFFFFFF {
		return 0, false
	}
	return uint32(steamID - idBase), true
}

// TradeURL is a parsed Steam trade offer URL.
type TradeURL struct {
	Partner uint64 // the account id the URL names
	Token   string
}

const tradePrefix = "https://steamcommunity.com/tradeoffer/new/?partner="

// ParseTradeURL checks s against the vendor's pattern
// ^https://steamcommunity\.com/tradeoffer/new/\?partner=\d{1,10}&token=[A-Za-z0-9_-]{8}$.
func ParseTradeURL(s string) (TradeURL, error) {
	if !strings.HasPrefix(s, tradePrefix) {
		return TradeURL{}, ErrTradeURL
	}
	rest := s[len(tradePrefix):]
	amp := strings.IndexByte(rest, '&')
	if amp < 1 || amp > 10 || !allDigits(rest[:amp]) {
		return TradeURL{}, ErrTradeURL
	}
	partner, err := strconv.ParseUint(rest[:amp], 10, 64)
	if err != nil {
		return TradeURL{}, ErrTradeURL
	}
	rest = rest[amp:]
	if !strings.HasPrefix(rest, "&token=") {
		return TradeURL{}, ErrTradeURL
	}
	tok := rest[len("&token="):]
	if len(tok) != 8 {
		return TradeURL{}, ErrTradeURL
	}
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return TradeURL{}, ErrTradeURL
		}
	}
	return TradeURL{Partner: partner, Token: tok}, nil
}

// BelongsTo reports whether the trade URL names the account of steamID.
func (t TradeURL) BelongsTo(steamID uint64) bool {
	acc, ok := AccountID(steamID)
	return ok && uint64(acc) == t.Partner
}

// PartnerOf returns the trade URL partner value for a SteamID64.
func PartnerOf(steamID uint64) (uint32, bool) { return AccountID(steamID) }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return len(s) > 0
}

// SteamID returns the SteamID64 of the account the URL names ("" when the
// partner is outside the 32-bit account range).
func (t TradeURL) SteamID() string {
	if t.Partner > 0xFFFFFFFF {
		return ""
	}
	return strconv.FormatUint(idBase+t.Partner, 10)
}
