package token

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/steam"
)

// MaxTokenLen bounds the token string; anything longer is refused before
// any decoding (a 1 MB header costs nothing).
const MaxTokenLen = 8 << 10

// MaxFutureIat is how far in the future iat may be (clock skew).
const MaxFutureIat = 60 * time.Second

// MerchantKeys is what verification needs to know about one merchant.
type MerchantKeys struct {
	MerchantID  string
	Secrets     [][]byte // valid now: current first, then the previous one in grace
	MaxLifetime time.Duration
	// Revoked maps "kind:subject" to the last revoked iat (Unix seconds).
	Revoked map[string]int64
}

// Keyring supplies merchant keys. It returns a *jeton.Error of kind
// NotFound for an unknown merchant.
type Keyring interface {
	MerchantKeys(ctx context.Context, merchantID string) (*MerchantKeys, error)
}

// Result labels for metrics, one per outcome.
const ResultOK = "ok"

// Verifier checks client tokens and remembers the ones it has accepted
// until they expire or their merchant's credentials change.
type Verifier struct {
	keys Keyring
	now  func() time.Time
	// Observe, when set, is told the result of every verification
	// ("ok" or the error key) and whether the cache answered.
	Observe func(result string, cached bool)

	seed   maphash.Seed
	shards [cacheShards]shard
	epoch  atomic.Uint64
	max    int
}

const cacheShards = 32

type shard struct {
	mu sync.RWMutex
	m  map[string]*jeton.ClientToken
}

// NewVerifier makes a verifier. now may be nil (time.Now); maxCached bounds
// the cache (0 = 100,000 tokens).
func NewVerifier(keys Keyring, now func() time.Time, maxCached int) *Verifier {
	if now == nil {
		now = time.Now
	}
	if maxCached <= 0 {
		maxCached = 100_000
	}
	v := &Verifier{keys: keys, now: now, seed: maphash.MakeSeed(), max: maxCached / cacheShards}
	if v.max < 1 {
		v.max = 1
	}
	for i := range v.shards {
		v.shards[i].m = make(map[string]*jeton.ClientToken)
	}
	return v
}

func (v *Verifier) shard(tok string) *shard {
	return &v.shards[maphash.String(v.seed, tok)%cacheShards]
}

func fail(key, msg string) error {
	return &jeton.Error{Kind: jeton.KindUnauthorized, Key: key, Message: msg}
}

// ExtractBearer takes the token from an Authorization header value: either
// the bare token (the AssetPay docs' form) or "Bearer <token>".
func ExtractBearer(h string) (string, error) {
	h = strings.TrimSpace(h)
	if h == "" {
		return "", fail(jeton.KeyMissingToken, "missing client token: send it in the Authorization header")
	}
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		h = strings.TrimSpace(h[7:])
		if h == "" {
			return "", fail(jeton.KeyMissingToken, "missing client token after Bearer")
		}
	}
	return h, nil
}

// Verify checks tok and returns its claims. Errors are *jeton.Error with
// one of the token keys; no input makes it panic.
func (v *Verifier) Verify(ctx context.Context, tok string) (*jeton.ClientToken, error) {
	now := v.now()
	sh := v.shard(tok)
	sh.mu.RLock()
	ct := sh.m[tok]
	sh.mu.RUnlock()
	if ct != nil {
		if now.Before(ct.ExpiresAt) {
			v.observe(ResultOK, true)
			return ct, nil
		}
		sh.mu.Lock()
		delete(sh.m, tok)
		sh.mu.Unlock()
	}
	epoch := v.epoch.Load()
	ct, err := v.verify(ctx, tok, now)
	if err != nil {
		v.observe(jeton.ErrorKey(err), false)
		return nil, err
	}
	v.observe(ResultOK, false)
	sh.mu.Lock()
	// Do not cache what was verified against keys that changed meanwhile.
	if v.epoch.Load() == epoch {
		if len(sh.m) >= v.max {
			v.sweepLocked(sh, now, true)
		}
		sh.m[tok] = ct
	}
	sh.mu.Unlock()
	return ct, nil
}

func (v *Verifier) observe(result string, cached bool) {
	if v.Observe != nil {
		v.Observe(result, cached)
	}
}

// Purge forgets every cached token of a merchant; call it when its
// secrets, keys or revocations change.
func (v *Verifier) Purge(merchantID string) {
	v.epoch.Add(1)
	for i := range v.shards {
		sh := &v.shards[i]
		sh.mu.Lock()
		for k, ct := range sh.m {
			if ct.MerchantID == merchantID {
				delete(sh.m, k)
			}
		}
		sh.mu.Unlock()
	}
}

// Sweep drops expired entries; the server runs it periodically.
func (v *Verifier) Sweep() {
	now := v.now()
	for i := range v.shards {
		sh := &v.shards[i]
		sh.mu.Lock()
		v.sweepLocked(sh, now, false)
		sh.mu.Unlock()
	}
}

func (v *Verifier) sweepLocked(sh *shard, now time.Time, full bool) {
	for k, ct := range sh.m {
		if !now.Before(ct.ExpiresAt) {
			delete(sh.m, k)
		}
	}
	if full && len(sh.m) >= v.max {
		clear(sh.m) // still full of live tokens: start over rather than grow
	}
}

// Cached returns how many tokens the cache holds.
func (v *Verifier) Cached() int {
	n := 0
	for i := range v.shards {
		v.shards[i].mu.RLock()
		n += len(v.shards[i].m)
		v.shards[i].mu.RUnlock()
	}
	return n
}

type rawClaims struct {
	MerchantID json.RawMessage `json:"merchantId"`
	Client     json.RawMessage `json:"client"`
	SagaPay    json.RawMessage `json:"sagapay"`
	IssuedAt   json.RawMessage `json:"iat"`
	ExpiresAt  json.RawMessage `json:"exp"`
}

type rawHeader struct {
	Alg    json.RawMessage `json:"alg"`
	UserID json.RawMessage `json:"userId"`
}

func (v *Verifier) verify(ctx context.Context, tok string, now time.Time) (*jeton.ClientToken, error) {
	if len(tok) > MaxTokenLen {
		return nil, fail(jeton.KeyTokenMalformed, "client token is too long")
	}
	d1 := strings.IndexByte(tok, '.')
	if d1 < 0 {
		return nil, fail(jeton.KeyTokenMalformed, "client token must be a compact JWT: header.payload.signature")
	}
	d2 := strings.IndexByte(tok[d1+1:], '.')
	if d2 < 0 {
		return nil, fail(jeton.KeyTokenMalformed, "client token must be a compact JWT: header.payload.signature")
	}
	d2 += d1 + 1
	if strings.IndexByte(tok[d2+1:], '.') >= 0 {
		return nil, fail(jeton.KeyTokenMalformed, "client token has too many segments")
	}
	hSeg, pSeg, sSeg := tok[:d1], tok[d1+1:d2], tok[d2+1:]
	if hSeg == "" || pSeg == "" {
		return nil, fail(jeton.KeyTokenMalformed, "client token has an empty segment")
	}

	hb, err := b64.DecodeString(hSeg)
	if err != nil {
		return nil, fail(jeton.KeyTokenMalformed, "client token header is not base64url")
	}
	var h rawHeader
	if err := json.Unmarshal(hb, &h); err != nil || !isObject(hb) {
		return nil, fail(jeton.KeyTokenMalformed, "client token header is not a JSON object")
	}
	var alg string
	if json.Unmarshal(h.Alg, &alg) != nil || alg != "HS256" {
		return nil, fail(jeton.KeyTokenAlgorithm, "client token algorithm must be HS256")
	}
	var merchantID string
	if json.Unmarshal(h.UserID, &merchantID) != nil || merchantID == "" || len(merchantID) > 64 {
		return nil, fail(jeton.KeyTokenUnknownMerchant, "client token header userId must be your merchant ID")
	}
	if sSeg == "" {
		return nil, fail(jeton.KeyInvalidToken, "client token signature is missing")
	}
	sig, err := b64.DecodeString(sSeg)
	if err != nil {
		return nil, fail(jeton.KeyTokenMalformed, "client token signature is not base64url")
	}
	keys, err := v.keys.MerchantKeys(ctx, merchantID)
	if err != nil {
		if e := jeton.AsError(err); e.Kind == jeton.KindNotFound {
			return nil, fail(jeton.KeyTokenUnknownMerchant, "client token names an unknown merchant")
		}
		return nil, err
	}
	if len(sig) != sha256.Size || !validSignature(keys.Secrets, tok[:d2], sig) {
		return nil, fail(jeton.KeyInvalidToken, "client token signature is invalid; fetch a new token")
	}

	pb, err := b64.DecodeString(pSeg)
	if err != nil {
		return nil, fail(jeton.KeyTokenMalformed, "client token payload is not base64url")
	}
	var rc rawClaims
	if err := json.Unmarshal(pb, &rc); err != nil || !isObject(pb) {
		return nil, fail(jeton.KeyTokenMalformed, "client token payload is not a JSON object")
	}
	exp, ok := numericDate(rc.ExpiresAt)
	if !ok {
		return nil, fail(jeton.KeyTokenClaimsInvalid, "client token needs a numeric exp claim")
	}
	iat, ok := numericDate(rc.IssuedAt)
	if !ok {
		return nil, fail(jeton.KeyTokenClaimsInvalid, "client token needs a numeric iat claim")
	}
	nowS := now.Unix()
	if iat > nowS+int64(MaxFutureIat/time.Second) {
		return nil, fail(jeton.KeyTokenIssuedInFuture, "client token iat is in the future; check your server clock")
	}
	if exp <= nowS {
		return nil, fail(jeton.KeyTokenExpired, "client token has expired; fetch a new one")
	}
	if exp <= iat {
		return nil, fail(jeton.KeyTokenClaimsInvalid, "client token exp must be after iat")
	}
	if exp-iat > int64(keys.MaxLifetime/time.Second) {
		return nil, fail(jeton.KeyTokenLifetimeTooLong, "client token lifetime exceeds the merchant maximum of "+keys.MaxLifetime.String())
	}
	if len(rc.MerchantID) > 0 && !bytes.Equal(rc.MerchantID, []byte("null")) {
		var mid string
		if json.Unmarshal(rc.MerchantID, &mid) != nil || mid != merchantID {
			return nil, fail(jeton.KeyTokenClaimsInvalid, "client token merchantId claim does not match the header userId")
		}
	}
	c := Claims{MerchantID: merchantID, IssuedAt: iat, ExpiresAt: exp}
	switch {
	case isObject(rc.Client) && len(rc.SagaPay) == 0:
		var cc ClientClaim
		if json.Unmarshal(rc.Client, &cc) != nil {
			return nil, fail(jeton.KeyTokenClaimsInvalid, "client token client claim has wrong types")
		}
		if _, err := steam.ParseSteamID(cc.SteamID); err != nil {
			return nil, fail(jeton.KeyTokenClaimsInvalid, "client token client.steamID "+err.Error())
		}
		if _, err := steam.ParseTradeURL(cc.TradeURL); err != nil {
			return nil, fail(jeton.KeyTokenClaimsInvalid, "client token client.tradeUrl "+err.Error())
		}
		if len(cc.ClientID) > 128 {
			return nil, fail(jeton.KeyTokenClaimsInvalid, "client token client.clientId is longer than 128 characters")
		}
		if len(cc.ClientData) > 0 && !isObject(cc.ClientData) && !bytes.Equal(cc.ClientData, []byte("null")) {
			return nil, fail(jeton.KeyTokenClaimsInvalid, "client token client.clientData must be an object")
		}
		c.Client = &cc
	case isObject(rc.SagaPay) && len(rc.Client) == 0:
		var sc SagaClaim
		if json.Unmarshal(rc.SagaPay, &sc) != nil || sc.ExternalUserID == "" {
			return nil, fail(jeton.KeyTokenClaimsInvalid, "client token sagapay claim needs an externalUserId")
		}
		c.SagaPay = &sc
	default:
		return nil, fail(jeton.KeyTokenClaimsInvalid, "client token needs a client claim (AssetPay) or a sagapay claim (SagaPay)")
	}
	if revoked(keys.Revoked, c, iat) {
		return nil, fail(jeton.KeyTokenRevoked, "client token was revoked; fetch a new one")
	}
	return c.ToDomain(merchantID), nil
}

func revoked(r map[string]int64, c Claims, iat int64) bool {
	if len(r) == 0 {
		return false
	}
	check := func(kind jeton.SubjectKind, subject string) bool {
		if subject == "" {
			return false
		}
		before, ok := r[RevocationKey(kind, subject)]
		return ok && iat <= before
	}
	if c.Client != nil {
		return check(jeton.SubjectSteamID, c.Client.SteamID) || check(jeton.SubjectClientID, c.Client.ClientID)
	}
	return c.SagaPay != nil && check(jeton.SubjectExternalUserID, c.SagaPay.ExternalUserID)
}

// RevocationKey is the MerchantKeys.Revoked map key of a subject.
func RevocationKey(kind jeton.SubjectKind, subject string) string {
	return string(kind) + ":" + subject
}

func validSignature(secrets [][]byte, signingInput string, sig []byte) bool {
	ok := false
	for _, s := range secrets {
		mac := hmac.New(sha256.New, s)
		mac.Write([]byte(signingInput))
		if hmac.Equal(mac.Sum(nil), sig) {
			ok = true
		}
	}
	return ok
}

func isObject(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}
