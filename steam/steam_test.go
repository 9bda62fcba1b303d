package steam_test

import (
	"errors"
	"math"
	"testing"

	"github.com/jetonhq/jeton/steam"
)

// idBase is the SteamID64 of account 0 (public universe, individual).
const idBase uint64 = 76561197960265728

const tradePrefix = "https://steamcommunity.com/tradeoffer/new/?partner="

func TestParseSteamID(t *testing.T) {
	valid := []struct {
		in   string
		want uint64
	}{
		{"76561198012345678", 76561198012345678},
		{"76561197960265728", idBase},
		{"76561000000000000", 76561000000000000},
		{"76561999999999999", 76561999999999999},
		{"76561202255233023", idBase + math.MaxUint32},
	}
	for _, tc := range valid {
		got, err := steam.ParseSteamID(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseSteamID(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	invalid := []string{
		"",
		"7656119801234567",   // 16 digits
		"765611980123456789", // 18 digits
		"12345678901234567",  // wrong prefix
		"76560198012345678",  // prefix off by one
		"7656119801234567a",
		"7656119801234567 ",
		" 7656119801234567",
		"76561198012345678\n",
		"+7656119801234567",
		"-7656119801234567",
		"0x76561198012345",
		"7656119801234567.",
		"765611980123456e1",
		"７6561198012345678", // fullwidth 7
		"76561198012345６78", // fullwidth 6
		"٧6561198012345678", // Arabic-Indic digit
		"76561_98012345678",
		"76561198012345678 ",
		"76561198012345678\x00",
	}
	for _, in := range invalid {
		got, err := steam.ParseSteamID(in)
		if !errors.Is(err, steam.ErrSteamID) || got != 0 {
			t.Errorf("ParseSteamID(%q) = %d, %v; want 0, ErrSteamID", in, got, err)
		}
	}
}

func TestParseTradeURL(t *testing.T) {
	valid := []struct {
		in      string
		partner uint64
		token   string
	}{
		{tradePrefix + "12345678&token=AbCdEfGh", 12345678, "AbCdEfGh"},
		{tradePrefix + "52079950&token=AbCdEfGh", 52079950, "AbCdEfGh"},
		{tradePrefix + "0&token=abcdefgh", 0, "abcdefgh"},
		{tradePrefix + "1&token=________", 1, "________"},
		{tradePrefix + "4294967295&token=--------", math.MaxUint32, "--------"},
		{tradePrefix + "9999999999&token=Zz09-_aA", 9999999999, "Zz09-_aA"}, // 10 digits, beyond 32 bits: the pattern allows it
		{tradePrefix + "0000000001&token=00000000", 1, "00000000"},
	}
	for _, tc := range valid {
		got, err := steam.ParseTradeURL(tc.in)
		if err != nil || got.Partner != tc.partner || got.Token != tc.token {
			t.Errorf("ParseTradeURL(%q) = %+v, %v; want partner %d token %q", tc.in, got, err, tc.partner, tc.token)
		}
	}
	invalid := []string{
		"",
		tradePrefix,
		"http://steamcommunity.com/tradeoffer/new/?partner=12345678&token=AbCdEfGh",
		"https://www.steamcommunity.com/tradeoffer/new/?partner=12345678&token=AbCdEfGh",
		"https://steamcommunity.co/tradeoffer/new/?partner=12345678&token=AbCdEfGh",
		"https://steamcommunityxcom/tradeoffer/new/?partner=12345678&token=AbCdEfGh",
		"https://SteamCommunity.com/tradeoffer/new/?partner=12345678&token=AbCdEfGh",
		"https://steamcommunity.com/tradeoffer/new?partner=12345678&token=AbCdEfGh",
		"https://steamcommunity.com/tradeoffer/new/?token=AbCdEfGh&partner=12345678",
		tradePrefix + "&token=AbCdEfGh",            // no partner digits
		tradePrefix + "12345678901&token=AbCdEfGh", // 11 digits
		tradePrefix + "-1&token=AbCdEfGh",
		tradePrefix + "+1&token=AbCdEfGh",
		tradePrefix + "1 &token=AbCdEfGh",
		tradePrefix + "１&token=AbCdEfGh",         // fullwidth digit
		tradePrefix + "12345678&token=AbCdEfG",   // 7
		tradePrefix + "12345678&token=AbCdEfGhi", // 9
		tradePrefix + "12345678&token=AbCd.fGh",
		tradePrefix + "12345678&token=AbCd+fGh",
		tradePrefix + "12345678&token=AbCd fGh",
		tradePrefix + "12345678&token=AbCdEfGé",
		tradePrefix + "12345678&token=AbCdEfGh/",
		tradePrefix + "12345678&token=AbCdEfGh&x=1",
		tradePrefix + "12345678&token=AbCdEfGh#x",
		tradePrefix + "12345678&token=AbCdEfGh\n",
		tradePrefix + "12345678&amp;token=AbCdEfGh",
		tradePrefix + "12345678&Token=AbCdEfGh",
		tradePrefix + "12345678&&token=AbCdEfGh",
		tradePrefix + "12345678",
		tradePrefix + "12345678&token=",
		" " + tradePrefix + "12345678&token=AbCdEfGh",
	}
	for _, in := range invalid {
		got, err := steam.ParseTradeURL(in)
		if !errors.Is(err, steam.ErrTradeURL) || got != (steam.TradeURL{}) {
			t.Errorf("ParseTradeURL(%q) = %+v, %v; want zero, ErrTradeURL", in, got, err)
		}
	}
}

func TestAccountID(t *testing.T) {
	for _, tc := range []struct {
		id   uint64
		acc  uint32
		ok   bool
		name string
	}{
		{76561198012345678, 52079950, true, "seed steamID"},
		{idBase, 0, true, "account 0"},
		{idBase + 1, 1, true, "account 1"},
		{idBase + math.MaxUint32, math.MaxUint32, true, "last account"},
		{idBase + math.MaxUint32 + 1, 0, false, "past the last account"},
		{idBase - 1, 0, false, "below the base"},
		{76561000000000000, 0, false, "lowest 76561 id"},
		{76561999999999999, 0, false, "highest 76561 id"},
		{0, 0, false, "zero"},
		{math.MaxUint64, 0, false, "max uint64"},
	} {
		acc, ok := steam.AccountID(tc.id)
		if acc != tc.acc || ok != tc.ok {
			t.Errorf("%s: AccountID(%d) = %d, %v; want %d, %v", tc.name, tc.id, acc, ok, tc.acc, tc.ok)
		}
		pacc, pok := steam.PartnerOf(tc.id)
		if pacc != acc || pok != ok {
			t.Errorf("%s: PartnerOf(%d) = %d, %v; AccountID says %d, %v", tc.name, tc.id, pacc, pok, acc, ok)
		}
	}
}

func TestBelongsTo(t *testing.T) {
	for _, tc := range []struct {
		name    string
		url     string
		steamID uint64
		want    bool
	}{
		{"own trade URL", tradePrefix + "52079950&token=AbCdEfGh", 76561198012345678, true},
		{"seed pair does not belong", tradePrefix + "12345678&token=AbCdEfGh", 76561198012345678, false},
		{"seed partner's own id", tradePrefix + "12345678&token=AbCdEfGh", idBase + 12345678, true},
		{"next account", tradePrefix + "52079950&token=AbCdEfGh", 76561198012345679, false},
		{"previous account", tradePrefix + "52079950&token=AbCdEfGh", 76561198012345677, false},
		{"account 0", tradePrefix + "0&token=AbCdEfGh", idBase, true},
		{"partner 0, id below base", tradePrefix + "0&token=AbCdEfGh", idBase - 1, false},
		{"last account", tradePrefix + "4294967295&token=AbCdEfGh", idBase + math.MaxUint32, true},
		// A 10-digit partner beyond 32 bits must not be truncated onto an account.
		{"partner 2^32 + 52079950", tradePrefix + "4347047246&token=AbCdEfGh", 76561198012345678, false},
		{"partner 2^32", tradePrefix + "4294967296&token=AbCdEfGh", idBase, false},
		{"partner 2^32, id past range", tradePrefix + "4294967296&token=AbCdEfGh", idBase + math.MaxUint32 + 1, false},
		{"id zero", tradePrefix + "0&token=AbCdEfGh", 0, false},
	} {
		tu, err := steam.ParseTradeURL(tc.url)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := tu.BelongsTo(tc.steamID); got != tc.want {
			t.Errorf("%s: %+v.BelongsTo(%d) = %v; want %v", tc.name, tu, tc.steamID, got, tc.want)
		}
	}
}

// TestParsedSteamIDsHaveAccounts: every id ParseSteamID accepts either
// maps to an account whose trade URL belongs to it, or has no account.
func TestParsedSteamIDsHaveAccounts(t *testing.T) {
	for _, s := range []string{"76561198012345678", "76561197960265728", "76561202255233023", "76561202255233024", "76561197960265727"} {
		id, err := steam.ParseSteamID(s)
		if err != nil {
			t.Fatal(err)
		}
		acc, ok := steam.AccountID(id)
		inRange := id >= idBase && id-idBase <= math.MaxUint32
		if ok != inRange {
			t.Errorf("AccountID(%d) ok=%v; in range=%v", id, ok, inRange)
		}
		if ok && idBase+uint64(acc) != id {
			t.Errorf("AccountID(%d) = %d does not add back up", id, acc)
		}
	}
}
