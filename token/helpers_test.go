package token_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/token"
)

// Fixtures shared by the token tests, fuzz targets and benchmarks.
const (
	merchant1 = "m1"
	merchant2 = "m2"

	testSteamID  = "76561198012345678"
	testTradeURL = "https://steamcommunity.com/tradeoffer/new/?partner=52079950&token=AbCdEfGh"
	// The seed's example pair: its partner is not the account of testSteamID,
	// but the seed's own jose snippet signs exactly this.
	seedTradeURL = "https://steamcommunity.com/tradeoffer/new/?partner=12345678&token=AbCdEfGh"
	testClientID = "user-123"

	// A subject revoked at t0 in the default keyring (see newKeyring).
	revokedSteamID  = "76561198000000001"
	revokedClientID = "revoked-user"
)

var (
	secret1        = []byte("s3cret")
	secret2        = []byte("an0ther-s3cret")
	graceSecret    = []byte("previous-s3cret") // m1's previous secret, still in grace
	retiredSecret1 = []byte("retired-s3cret")  // m1's secret before that, retired

	// t0 is the injected "now" of every deterministic test.
	t0 = time.Unix(1_750_000_000, 0).UTC()
)

var b64 = base64.RawURLEncoding

// clock is an injectable, movable time source.
type clock struct{ unix atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.Set(t)
	return c
}
func (c *clock) Now() time.Time          { return time.Unix(c.unix.Load(), 0).UTC() }
func (c *clock) Set(t time.Time)         { c.unix.Store(t.Unix()) }
func (c *clock) Advance(d time.Duration) { c.unix.Add(int64(d / time.Second)) }

// keyring is the in-test double of the credential service: a map of
// merchant id -> keys, swappable at run time.
type keyring struct {
	mu       sync.Mutex
	m        map[string]*token.MerchantKeys
	err      error                   // when set, every lookup fails with it
	onLookup func(merchantID string) // called inside every lookup
	lookups  atomic.Int64
}

// newKeyring registers m1 (secrets s3cret then the grace secret, 24h max,
// one revoked Steam ID and one revoked clientId) and m2 (another secret).
func newKeyring() *keyring {
	return &keyring{m: map[string]*token.MerchantKeys{
		merchant1: {
			MerchantID:  merchant1,
			Secrets:     [][]byte{secret1, graceSecret},
			MaxLifetime: 24 * time.Hour,
			Revoked: map[string]int64{
				token.RevocationKey(jeton.SubjectSteamID, revokedSteamID):   t0.Unix(),
				token.RevocationKey(jeton.SubjectClientID, revokedClientID): t0.Unix(),
			},
		},
		merchant2: {
			MerchantID:  merchant2,
			Secrets:     [][]byte{secret2},
			MaxLifetime: 24 * time.Hour,
		},
	}}
}

func (k *keyring) MerchantKeys(_ context.Context, merchantID string) (*token.MerchantKeys, error) {
	k.lookups.Add(1)
	k.mu.Lock()
	hook, err := k.onLookup, k.err
	mk, ok := k.m[merchantID]
	k.mu.Unlock()
	if hook != nil {
		hook(merchantID)
	}
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, jeton.Errorf(jeton.KindNotFound, jeton.KeyMerchantNotFound, "no merchant %q", merchantID)
	}
	return mk, nil
}

// set replaces the keys of a merchant (a copy, so a verification in flight
// keeps the old value).
func (k *keyring) set(mk token.MerchantKeys) {
	k.mu.Lock()
	k.m[mk.MerchantID] = &mk
	k.mu.Unlock()
}

func (k *keyring) get(id string) token.MerchantKeys {
	k.mu.Lock()
	defer k.mu.Unlock()
	return *k.m[id]
}

func newTestVerifier(t testing.TB) (*token.Verifier, *keyring, *clock) {
	t.Helper()
	kr, clk := newKeyring(), newClock(t0)
	return token.NewVerifier(kr, clk.Now, 0), kr, clk
}

func enc(s string) string { return b64.EncodeToString([]byte(s)) }

func macB64(h func() hash.Hash, secret []byte, input string) string {
	m := hmac.New(h, secret)
	m.Write([]byte(input))
	return b64.EncodeToString(m.Sum(nil))
}

// signJSON builds a compact JWS of the given header and payload JSON texts,
// MACed with h over the signing input.
func signJSON(h func() hash.Hash, secret []byte, headerJSON, payloadJSON string) string {
	in := enc(headerJSON) + "." + enc(payloadJSON)
	return in + "." + macB64(h, secret, in)
}

// hs256 builds a correctly HS256-signed token from raw JSON texts.
func hs256(secret []byte, headerJSON, payloadJSON string) string {
	return signJSON(sha256.New, secret, headerJSON, payloadJSON)
}

// hdr is the canonical header of a merchant.
func hdr(userID string) string { return fmt.Sprintf(`{"alg":"HS256","userId":%q}`, userID) }

// baseClaims is a valid m1 AssetPay payload at t0 with a 1h lifetime.
func baseClaims() map[string]any {
	return map[string]any{
		"merchantId": merchant1,
		"client": map[string]any{
			"steamID":  testSteamID,
			"tradeUrl": testTradeURL,
			"clientId": testClientID,
		},
		"iat": t0.Unix(),
		"exp": t0.Add(time.Hour).Unix(),
	}
}

// claimsJSON marshals baseClaims after mod edits it.
func claimsJSON(t testing.TB, mod func(c map[string]any)) string {
	t.Helper()
	c := baseClaims()
	if mod != nil {
		mod(c)
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// signedClaims is a token of m1, correctly signed with s3cret, whose
// payload is baseClaims edited by mod: only the claim checks can refuse it.
func signedClaims(t testing.TB, mod func(c map[string]any)) string {
	t.Helper()
	return hs256(secret1, hdr(merchant1), claimsJSON(t, mod))
}

func clientOf(c map[string]any) map[string]any { return c["client"].(map[string]any) }

// mintValid is the reference token: token.MintAssetPay for m1 at t0, 1h.
func mintValid(t testing.TB) string {
	t.Helper()
	tok, _, err := token.MintAssetPay(secret1, merchant1, token.ClientClaim{
		SteamID: testSteamID, TradeURL: testTradeURL, ClientID: testClientID,
	}, t0, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func segments(t testing.TB, tok string) (h, p, s string) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", tok)
	}
	return parts[0], parts[1], parts[2]
}

func join(parts ...string) string { return strings.Join(parts, ".") }

// replaceAt returns s with the byte at i replaced by r.
func replaceAt(s string, i int, r string) string { return s[:i] + r + s[i+1:] }

const b64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// flipMiddle changes one character in the middle of a segment to another
// base64url character, so the segment still decodes but to other bytes.
func flipMiddle(s string) string {
	i := len(s) / 2
	r := "A"
	if s[i] == 'A' {
		r = "B"
	}
	return replaceAt(s, i, r)
}

// flipPaddingBits changes the last character of an unpadded base64url
// segment whose length is 2 or 3 mod 4 in one of its unused low bits:
// a lenient decoder yields the same bytes.
func flipPaddingBits(s string) string {
	last := strings.IndexByte(b64Alphabet, s[len(s)-1])
	return s[:len(s)-1] + string(b64Alphabet[last^1])
}

// assertRefused checks that err is the token error key want, of kind
// Unauthorized, and that nothing was returned.
func assertRefused(t testing.TB, ct *jeton.ClientToken, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted (merchant %q, steamID %q); want %s", ct.MerchantID, ct.SteamID, want)
	}
	if ct != nil {
		t.Errorf("refusal returned a token too: %+v", ct)
	}
	var e *jeton.Error
	if !asError(err, &e) {
		t.Fatalf("error is %T (%v), not *jeton.Error", err, err)
	}
	if e.Key != want {
		t.Errorf("key = %s (%s); want %s", e.Key, e.Message, want)
	}
	if e.Kind != jeton.KindUnauthorized {
		t.Errorf("kind = %s; want %s", e.Kind, jeton.KindUnauthorized)
	}
	if e.Message == "" {
		t.Errorf("empty message for %s", e.Key)
	}
}

func asError(err error, target **jeton.Error) bool {
	e, ok := err.(*jeton.Error)
	if ok {
		*target = e
	}
	return ok
}
