package steam_test

import (
	"errors"
	"math"
	"regexp"
	"strconv"
	"testing"

	"github.com/jetonhq/jeton/steam"
)

// The vendor's patterns, the reference the parsers must agree with.
var (
	steamIDPattern  = regexp.MustCompile(`^76561\d{12}$`)
	tradeURLPattern = regexp.MustCompile(`^https://steamcommunity\.com/tradeoffer/new/\?partner=\d{1,10}&token=[A-Za-z0-9_-]{8}$`)
)

func FuzzParseSteamID(f *testing.F) {
	for _, s := range []string{
		"76561198012345678",
		"76561197960265728",
		"76561197960265727",
		"76561202255233023",
		"76561202255233024",
		"76561999999999999",
		"7656119801234567",
		"765611980123456789",
		"76561198012345678\n",
		"７6561198012345678",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := steam.ParseSteamID(s)
		match := steamIDPattern.MatchString(s)
		if match != (err == nil) {
			t.Fatalf("ParseSteamID(%q) err=%v but pattern match=%v", s, err, match)
		}
		if err != nil {
			if !errors.Is(err, steam.ErrSteamID) || id != 0 {
				t.Fatalf("ParseSteamID(%q) = %d, %v; want 0, ErrSteamID", s, id, err)
			}
			return
		}
		if strconv.FormatUint(id, 10) != s {
			t.Fatalf("ParseSteamID(%q) = %d: does not round-trip", s, id)
		}
		checkAccount(t, id)
	})
}

// checkAccount: AccountID, PartnerOf and BelongsTo agree for a SteamID64.
func checkAccount(t *testing.T, id uint64) {
	t.Helper()
	acc, ok := steam.AccountID(id)
	if pacc, pok := steam.PartnerOf(id); pacc != acc || pok != ok {
		t.Fatalf("PartnerOf(%d) = %d, %v; AccountID = %d, %v", id, pacc, pok, acc, ok)
	}
	inRange := id >= idBase && id-idBase <= math.MaxUint32
	if ok != inRange {
		t.Fatalf("AccountID(%d) ok=%v; in range=%v", id, ok, inRange)
	}
	if !ok {
		if acc != 0 {
			t.Fatalf("AccountID(%d) = %d with ok=false", id, acc)
		}
		return
	}
	if idBase+uint64(acc) != id {
		t.Fatalf("AccountID(%d) = %d does not add back up", id, acc)
	}
	u := tradePrefix + strconv.FormatUint(uint64(acc), 10) + "&token=AbCdEfGh"
	tu, err := steam.ParseTradeURL(u)
	if err != nil {
		t.Fatalf("trade URL of account %d: %v", acc, err)
	}
	if !tu.BelongsTo(id) {
		t.Fatalf("%s does not belong to %d", u, id)
	}
	if tu.BelongsTo(id+1) || tu.BelongsTo(id-1) {
		t.Fatalf("%s belongs to a neighbour of %d", u, id)
	}
}

func FuzzParseTradeURL(f *testing.F) {
	for _, s := range []string{
		tradePrefix + "12345678&token=AbCdEfGh",
		tradePrefix + "52079950&token=AbCdEfGh",
		tradePrefix + "0&token=________",
		tradePrefix + "4294967295&token=--------",
		tradePrefix + "4294967296&token=Zz09-_aA",
		tradePrefix + "9999999999&token=AbCdEfGh",
		tradePrefix + "12345678901&token=AbCdEfGh",
		tradePrefix + "12345678&token=AbCdEfG",
		tradePrefix + "12345678&token=AbCdEfGh\n",
		"http://steamcommunity.com/tradeoffer/new/?partner=12345678&token=AbCdEfGh",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tu, err := steam.ParseTradeURL(s)
		match := tradeURLPattern.MatchString(s)
		if match != (err == nil) {
			t.Fatalf("ParseTradeURL(%q) err=%v but pattern match=%v", s, err, match)
		}
		if err != nil {
			if !errors.Is(err, steam.ErrTradeURL) || tu != (steam.TradeURL{}) {
				t.Fatalf("ParseTradeURL(%q) = %+v, %v; want zero, ErrTradeURL", s, tu, err)
			}
			return
		}
		// The parsed fields rebuild the URL (modulo leading zeros in partner).
		digits := s[len(tradePrefix) : len(s)-len("&token=")-8]
		if p, perr := strconv.ParseUint(digits, 10, 64); perr != nil || p != tu.Partner {
			t.Fatalf("ParseTradeURL(%q).Partner = %d; digits say %s", s, tu.Partner, digits)
		}
		if s[len(s)-8:] != tu.Token {
			t.Fatalf("ParseTradeURL(%q).Token = %q", s, tu.Token)
		}
		if tu.Partner > 9999999999 {
			t.Fatalf("partner %d has more than 10 digits", tu.Partner)
		}
		// BelongsTo: exactly the SteamID64 idBase+Partner, and only when the
		// partner is a 32-bit account id.
		if tu.Partner <= math.MaxUint32 {
			id := idBase + tu.Partner
			if !tu.BelongsTo(id) {
				t.Fatalf("%+v does not belong to its own SteamID %d", tu, id)
			}
			if _, err := steam.ParseSteamID(strconv.FormatUint(id, 10)); err != nil {
				t.Fatalf("SteamID %d of partner %d does not parse: %v", id, tu.Partner, err)
			}
			if tu.BelongsTo(id+1) || tu.BelongsTo(id-1) || tu.BelongsTo(tu.Partner) {
				t.Fatalf("%+v belongs to an id other than %d", tu, id)
			}
			checkAccount(t, id)
		} else {
			for _, id := range []uint64{idBase + tu.Partner&math.MaxUint32, idBase + tu.Partner, tu.Partner, idBase} {
				if tu.BelongsTo(id) {
					t.Fatalf("%+v (partner beyond 32 bits) belongs to %d", tu, id)
				}
			}
		}
	})
}
