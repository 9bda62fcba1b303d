package token

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"hash"
	"hash/maphash"
	"io"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

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

// validSignature reports whether sig is the HMAC-SHA256 of input under one
// of the secrets. Keyed HMAC states are pooled per secret, which saves
// their setup (two SHA-256 blocks and seven allocations) on every call.
func (v *Verifier) validSignature(secrets [][]byte, input string, sig []byte) bool {
	ok := false
	var sum [sha256.Size]byte
	for _, secret := range secrets {
		p, found := v.macs.Load(string(secret))
		if !found {
			secret := bytes.Clone(secret)
			p, _ = v.macs.LoadOrStore(string(secret), &sync.Pool{New: func() any { return hmac.New(sha256.New, secret) }})
		}
		pool := p.(*sync.Pool)
		mac := pool.Get().(hash.Hash)
		mac.Reset()
		_, _ = io.WriteString(mac, input)
		if hmac.Equal(mac.Sum(sum[:0]), sig) {
			ok = true
		}
		pool.Put(mac)
	}
	return ok
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

	macs   sync.Map // secret -> *sync.Pool of keyed HMACs
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
	if len(h) >= 6 && strings.EqualFold(h[:6], "bearer") && (len(h) == 6 || h[6] == ' ' || h[6] == '\t') {
		h = strings.TrimSpace(h[6:])
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
	v.macs.Clear() // drop keyed states of secrets that may be retired
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

// Bounds on iat and exp: no arithmetic on them can overflow, and no
// token claims a date before 1970 or after the year 5000.
const maxDate = 95_617_584_000

// b64s decodes strictly: the unused bits of the last character must be
// zero, so one signature has one spelling.
var b64s = base64.RawURLEncoding.Strict()

// claimsIn is a decoded payload before its checks.
type claimsIn struct {
	merchantID *string
	client     *ClientClaim
	sagapay    *SagaClaim
	iat, exp   int64
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
	// The base64 decoder skips CR and LF; a token has neither.
	if strings.IndexByte(tok, '\n') >= 0 || strings.IndexByte(tok, '\r') >= 0 {
		return nil, fail(jeton.KeyTokenMalformed, "client token contains a line break")
	}
	hSeg, pSeg, sSeg := tok[:d1], tok[d1+1:d2], tok[d2+1:]
	if hSeg == "" || pSeg == "" {
		return nil, fail(jeton.KeyTokenMalformed, "client token has an empty segment")
	}

	hb, err := b64s.DecodeString(hSeg)
	if err != nil {
		return nil, fail(jeton.KeyTokenMalformed, "client token header is not base64url")
	}
	merchantID, err := headerMerchant(hb)
	if err != nil {
		return nil, err
	}
	if sSeg == "" {
		return nil, fail(jeton.KeyInvalidToken, "client token signature is missing")
	}
	var sigBuf [48]byte
	if b64s.DecodedLen(len(sSeg)) > len(sigBuf) {
		return nil, fail(jeton.KeyInvalidToken, "client token signature is invalid; fetch a new token")
	}
	n, err := b64s.Decode(sigBuf[:], []byte(sSeg))
	if err != nil {
		// A signature of the wrong length is just wrong; a 32-byte one
		// spelled with stray trailing bits is a second spelling of the
		// same bytes, which a token (a cache key) must not have.
		if raw, err := base64.RawURLEncoding.DecodeString(sSeg); err == nil && len(raw) != sha256.Size {
			return nil, fail(jeton.KeyInvalidToken, "client token signature is invalid; fetch a new token")
		}
		return nil, fail(jeton.KeyTokenMalformed, "client token signature is not canonical base64url")
	}
	sig := sigBuf[:n]
	keys, err := v.keys.MerchantKeys(ctx, merchantID)
	if err != nil {
		if e := jeton.AsError(err); e.Kind == jeton.KindNotFound {
			return nil, fail(jeton.KeyTokenUnknownMerchant, "client token names an unknown merchant")
		}
		return nil, err
	}
	if len(sig) != sha256.Size || !v.validSignature(keys.Secrets, tok[:d2], sig) {
		return nil, fail(jeton.KeyInvalidToken, "client token signature is invalid; fetch a new token")
	}

	pb, err := b64s.DecodeString(pSeg)
	if err != nil {
		return nil, fail(jeton.KeyTokenMalformed, "client token payload is not base64url")
	}
	in, err := decodeClaims(pb)
	if err != nil {
		return nil, err
	}
	return checkClaims(in, merchantID, keys, now)
}

// headerMerchant reads the merchant ID from a protected header that must
// be exactly {"alg":"HS256","userId":"<id>"} in meaning. The common
// spelling (jose's, the SDKs') is matched literally; anything else is
// decoded as JSON for a precise error.
func headerMerchant(hb []byte) (string, error) {
	const pre, post = `{"alg":"HS256","userId":"`, `"}`
	if len(hb) > len(pre)+len(post) && string(hb[:len(pre)]) == pre && string(hb[len(hb)-len(post):]) == post {
		id := hb[len(pre) : len(hb)-len(post)]
		if len(id) <= 64 && bytes.IndexByte(id, '"') < 0 && bytes.IndexByte(id, '\\') < 0 {
			return string(id), nil
		}
	}
	var h struct {
		Alg    json.RawMessage `json:"alg"`
		UserID json.RawMessage `json:"userId"`
	}
	if err := json.Unmarshal(hb, &h); err != nil || !isObject(hb) {
		return "", fail(jeton.KeyTokenMalformed, "client token header is not a JSON object")
	}
	var alg string
	if json.Unmarshal(h.Alg, &alg) != nil || alg != "HS256" {
		return "", fail(jeton.KeyTokenAlgorithm, "client token algorithm must be HS256")
	}
	var merchantID string
	if json.Unmarshal(h.UserID, &merchantID) != nil || merchantID == "" || len(merchantID) > 64 {
		return "", fail(jeton.KeyTokenUnknownMerchant, "client token header userId must be your merchant ID")
	}
	return merchantID, nil
}

// fastClaims decodes a well-formed payload in one pass; iat and exp start
// at a sentinel so that a missing one is noticed.
type fastClaims struct {
	MerchantID *string      `json:"merchantId"`
	Client     *ClientClaim `json:"client"`
	SagaPay    *SagaClaim   `json:"sagapay"`
	IssuedAt   int64        `json:"iat"`
	ExpiresAt  int64        `json:"exp"`
}

const absent = math.MinInt64

// decodeClaims decodes the payload: one typed pass for the usual shape,
// and a slower member-by-member pass to name what is wrong otherwise.
func decodeClaims(pb []byte) (claimsIn, error) {
	fc := fastClaims{IssuedAt: absent, ExpiresAt: absent}
	if json.Unmarshal(pb, &fc) == nil && fc.IssuedAt != absent && fc.ExpiresAt != absent &&
		(fc.Client == nil) != (fc.SagaPay == nil) && isObject(pb) {
		return claimsIn{merchantID: fc.MerchantID, client: fc.Client, sagapay: fc.SagaPay, iat: fc.IssuedAt, exp: fc.ExpiresAt}, nil
	}
	var rc struct {
		MerchantID json.RawMessage `json:"merchantId"`
		Client     json.RawMessage `json:"client"`
		SagaPay    json.RawMessage `json:"sagapay"`
		IssuedAt   json.RawMessage `json:"iat"`
		ExpiresAt  json.RawMessage `json:"exp"`
	}
	if err := json.Unmarshal(pb, &rc); err != nil || !isObject(pb) {
		return claimsIn{}, fail(jeton.KeyTokenMalformed, "client token payload is not a JSON object")
	}
	var in claimsIn
	var ok bool
	if in.exp, ok = numericDate(rc.ExpiresAt); !ok {
		return in, fail(jeton.KeyTokenClaimsInvalid, "client token needs a numeric exp claim")
	}
	if in.iat, ok = numericDate(rc.IssuedAt); !ok {
		return in, fail(jeton.KeyTokenClaimsInvalid, "client token needs a numeric iat claim")
	}
	if present(rc.MerchantID) {
		var mid string
		if json.Unmarshal(rc.MerchantID, &mid) != nil {
			return in, fail(jeton.KeyTokenClaimsInvalid, "client token merchantId claim must be a string")
		}
		in.merchantID = &mid
	}
	switch {
	case isObject(rc.Client) && !present(rc.SagaPay):
		var cc ClientClaim
		if json.Unmarshal(rc.Client, &cc) != nil {
			return in, fail(jeton.KeyTokenClaimsInvalid, "client token client claim has wrong types")
		}
		in.client = &cc
	case isObject(rc.SagaPay) && !present(rc.Client):
		var sc SagaClaim
		if json.Unmarshal(rc.SagaPay, &sc) != nil {
			return in, fail(jeton.KeyTokenClaimsInvalid, "client token sagapay claim has wrong types")
		}
		in.sagapay = &sc
	default:
		return in, fail(jeton.KeyTokenClaimsInvalid, "client token needs a client claim (AssetPay) or a sagapay claim (SagaPay)")
	}
	return in, nil
}

func present(raw json.RawMessage) bool { return len(raw) > 0 && string(raw) != "null" }

// checkClaims applies the time, lifetime, identity and revocation rules.
func checkClaims(in claimsIn, merchantID string, keys *MerchantKeys, now time.Time) (*jeton.ClientToken, error) {
	iat, exp := in.iat, in.exp
	if iat < -maxDate || iat > maxDate {
		return nil, fail(jeton.KeyTokenClaimsInvalid, "client token iat must be a Unix time in seconds")
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
	if exp > maxDate || exp-iat > int64(keys.MaxLifetime/time.Second) { // |iat| <= maxDate: no overflow
		return nil, fail(jeton.KeyTokenLifetimeTooLong, "client token lifetime exceeds the merchant maximum of "+keys.MaxLifetime.String())
	}
	if in.merchantID != nil && *in.merchantID != merchantID {
		return nil, fail(jeton.KeyTokenClaimsInvalid, "client token merchantId claim does not match the header userId")
	}
	c := Claims{MerchantID: merchantID, IssuedAt: iat, ExpiresAt: exp, Client: in.client, SagaPay: in.sagapay}
	if cc := in.client; cc != nil {
		if _, err := steam.ParseSteamID(cc.SteamID); err != nil {
			return nil, fail(jeton.KeyTokenClaimsInvalid, "client token client.steamID "+err.Error())
		}
		if _, err := steam.ParseTradeURL(cc.TradeURL); err != nil {
			return nil, fail(jeton.KeyTokenClaimsInvalid, "client token client.tradeUrl "+err.Error())
		}
		if len(cc.ClientID) > 128 && utf8.RuneCountInString(cc.ClientID) > 128 {
			return nil, fail(jeton.KeyTokenClaimsInvalid, "client token client.clientId is longer than 128 characters")
		}
		if len(cc.ClientData) > 0 && !isObject(cc.ClientData) && !bytes.Equal(cc.ClientData, []byte("null")) {
			return nil, fail(jeton.KeyTokenClaimsInvalid, "client token client.clientData must be an object")
		}
	}
	if sc := in.sagapay; sc != nil && (sc.ExternalUserID == "" || len(sc.ExternalUserID) > 128) {
		return nil, fail(jeton.KeyTokenClaimsInvalid, "client token sagapay claim needs an externalUserId")
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

func isObject(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}
