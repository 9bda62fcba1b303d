package token_test

import (
	"crypto/sha256"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/steam"
	"github.com/jetonhq/jeton/token"
)

// FuzzVerify feeds each input three ways:
//
//  1. as a raw token to Verifier.Verify,
//  2. as an Authorization header value to ExtractBearer (then Verify),
//  3. as a payload JSON text, correctly signed with m1's secret under
//     {"alg":"HS256","userId":"m1"}: this gets past the signature check, so
//     the fuzzer explores the claim checks.
//
// For every call: no panic, and the result is either a token or a
// *jeton.Error of kind Unauthorized with a non-empty key. Every accepted
// token is m1's, is valid at the fuzz clock, and re-verifies to the same
// token (from the cache).
func FuzzVerify(f *testing.F) {
	valid, _, err := token.MintAssetPay(secret1, merchant1, token.ClientClaim{SteamID: testSteamID, TradeURL: testTradeURL, ClientID: testClientID}, t0, time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	h, p, s := segments(f, valid)
	for _, seed := range []string{
		valid,
		"Bearer " + valid,
		"bearer  " + valid + "\n",
		join(enc(`{"alg":"none","userId":"m1"}`), p, ""),
		join(enc(`{"alg":"HS384","userId":"m1"}`), p, s),
		join(enc(hdr(merchant2)), p, s),
		join(h, p, s[:len(s)-1]),
		valid + "." + s,
		`{"payload":"` + p + `","protected":"` + h + `","signature":"` + s + `"}`,
		"Bearer",
		"",
		"..",
		// Payload texts for the signed mode.
		`{"merchantId":"m1","client":{"steamID":"76561198012345678","tradeUrl":"` + testTradeURL + `","clientId":"user-123"},"iat":1750000000,"exp":1750003600}`,
		`{"client":{"steamID":"76561198012345678","tradeUrl":"` + seedTradeURL + `","clientData":{"totalWager":5000}},"iat":1750000000,"exp":1750086400}`,
		`{"sagapay":{"externalUserId":"u1","email":"a@b.c"},"iat":1750000000.5,"exp":1.7500036e9}`,
		`{"client":{"steamID":"76561198000000001","tradeUrl":"` + testTradeURL + `"},"iat":1750000001,"exp":1750003600}`,
	} {
		f.Add(seed)
	}

	clk := newClock(t0)
	v := token.NewVerifier(newKeyring(), clk.Now, 4096)
	signedHeader := enc(hdr(merchant1))

	f.Fuzz(func(t *testing.T, in string) {
		// ExtractBearer's contract.
		tok, err := token.ExtractBearer(in)
		if err != nil {
			checkRefusal(t, "ExtractBearer", in, nil, err)
			if jeton.ErrorKey(err) != jeton.KeyMissingToken {
				t.Fatalf("ExtractBearer(%q): key %s; want %s", in, jeton.ErrorKey(err), jeton.KeyMissingToken)
			}
		} else if tok == "" || tok != strings.TrimSpace(tok) || !strings.Contains(in, tok) {
			t.Fatalf("ExtractBearer(%q) = %q", in, tok)
		}

		inputs := []string{in}
		if err == nil && tok != in {
			inputs = append(inputs, tok)
		}
		for _, x := range inputs {
			ct, err := v.Verify(ctx, x)
			checkVerify(t, v, clk, x, ct, err, false)
		}

		signingInput := signedHeader + "." + b64.EncodeToString([]byte(in))
		signed := signingInput + "." + macB64(sha256.New, secret1, signingInput)
		ct, err := v.Verify(ctx, signed)
		checkVerify(t, v, clk, signed, ct, err, true)
		if err == nil {
			// The verifier only accepts a payload that is a JSON object.
			var obj map[string]json.RawMessage
			if json.Unmarshal([]byte(in), &obj) != nil {
				t.Fatalf("accepted a payload that is not a JSON object: %q", in)
			}
		}
	})
}

func checkRefusal(t *testing.T, what, in string, ct *jeton.ClientToken, err error) {
	t.Helper()
	e, ok := err.(*jeton.Error)
	if !ok {
		t.Fatalf("%s(%q): error %T %v is not a *jeton.Error", what, in, err, err)
	}
	if e.Key == "" || e.Kind != jeton.KindUnauthorized {
		t.Fatalf("%s(%q): error key %q kind %q; want a key of kind %s", what, in, e.Key, e.Kind, jeton.KindUnauthorized)
	}
	if ct != nil {
		t.Fatalf("%s(%q): returned a token with its error", what, in)
	}
}

func checkVerify(t *testing.T, v *token.Verifier, clk *clock, tok string, ct *jeton.ClientToken, err error, signedMode bool) {
	t.Helper()
	if err != nil {
		checkRefusal(t, "Verify", tok, ct, err)
		// Refusals are deterministic (and never cached).
		ct2, err2 := v.Verify(ctx, tok)
		if ct2 != nil || jeton.ErrorKey(err2) != jeton.ErrorKey(err) {
			t.Fatalf("Verify(%q) refused with %s, then %v/%v", tok, jeton.ErrorKey(err), ct2, err2)
		}
		return
	}
	if ct == nil {
		t.Fatalf("Verify(%q) returned neither token nor error", tok)
	}
	if ct.MerchantID != merchant1 {
		t.Fatalf("Verify(%q) accepted a token of merchant %q", tok, ct.MerchantID)
	}
	iat, exp := ct.IssuedAt.Unix(), ct.ExpiresAt.Unix()
	if iat < 0 && exp > math.MaxInt64+iat {
		// Regression guard: exp-iat once overflowed and passed the lifetime
		// check.
		t.Fatalf("accepted iat=%d exp=%d: the lifetime check overflowed", iat, exp)
	}
	// Round trip: the header really names m1 and the signature is m1's.
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("accepted %q with %d segments", tok, len(parts))
	}
	if !signedMode && !signedByM1(parts) {
		t.Fatalf("accepted %q whose signature is not m1's", tok)
	}
	if ct2, err := v.Verify(ctx, tok); err != nil || ct2 != ct {
		t.Fatalf("re-verifying %q gave %v, %v", tok, ct2, err)
	}
	now := clk.Now()
	if !now.Before(ct.ExpiresAt) {
		t.Fatalf("accepted %q: expired at %v", tok, ct.ExpiresAt)
	}
	if ct.IssuedAt.After(now.Add(token.MaxFutureIat)) {
		t.Fatalf("accepted %q: issued at %v, in the future", tok, ct.IssuedAt)
	}
	if exp-iat <= 0 || exp-iat > int64(24*time.Hour/time.Second) {
		t.Fatalf("accepted %q: lifetime %ds", tok, exp-iat)
	}
	switch ct.Surface {
	case jeton.SurfaceAssetPay:
		if _, err := steam.ParseSteamID(ct.SteamID); err != nil {
			t.Fatalf("accepted steamID %q", ct.SteamID)
		}
		if _, err := steam.ParseTradeURL(ct.TradeURL); err != nil {
			t.Fatalf("accepted tradeUrl %q", ct.TradeURL)
		}
		if utf8.RuneCountInString(ct.ClientID) > 128 || ct.ExternalUserID != "" {
			t.Fatalf("accepted client %+v", ct)
		}
	case jeton.SurfaceSagaPay:
		if ct.ExternalUserID == "" || ct.SteamID != "" {
			t.Fatalf("accepted sagapay %+v", ct)
		}
	default:
		t.Fatalf("accepted a token of surface %q", ct.Surface)
	}
	if ct.SteamID == revokedSteamID && iat <= t0.Unix() {
		t.Fatalf("accepted a revoked steamID at iat %d", iat)
	}
	if ct.ClientID == revokedClientID && iat <= t0.Unix() {
		t.Fatalf("accepted a revoked clientId at iat %d", iat)
	}
	if !signedMode {
		if sig, _ := b64.DecodeString(parts[2]); b64.EncodeToString(sig) != parts[2] {
			// Regression guard: signatures once decoded leniently, so several
			// spellings verified.
			t.Fatalf("accepted a non-canonical signature encoding %q", parts[2])
		}
	}
}

// signedByM1 reports whether the signature segment decodes (leniently) to
// the HMAC of the signing input under one of m1's secrets. Non-canonical
// encodings of a genuine signature are the known malleability bug.
func signedByM1(parts []string) bool {
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		return false
	}
	in := parts[0] + "." + parts[1]
	for _, secret := range [][]byte{secret1, graceSecret} {
		want, _ := b64.DecodeString(macB64(sha256.New, secret, in))
		if string(want) == string(sig) {
			return true
		}
	}
	return false
}
