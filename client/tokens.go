package client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Token is a client token with its expiry.
type Token struct {
	Value  string
	Expiry time.Time
}

// TokenSource hands out client tokens, in the spirit of
// golang.org/x/oauth2's TokenSource.
type TokenSource interface {
	Token(ctx context.Context) (Token, error)
}

// TokenSourceFunc adapts a function to TokenSource.
type TokenSourceFunc func(ctx context.Context) (Token, error)

// Token calls f.
func (f TokenSourceFunc) Token(ctx context.Context) (Token, error) { return f(ctx) }

// CachedTokenSource reuses a token until Early before its expiry, then
// gets a new one from Source. It is safe for concurrent use: callers
// waiting on a refresh share it.
type CachedTokenSource struct {
	Source TokenSource
	// Early is how long before expiry a token is refreshed (default one
	// minute, or a tenth of the token's lifetime if that is shorter).
	Early time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time

	mu  sync.Mutex
	tok Token
	got time.Time // when tok was fetched
}

// NewCachedTokenSource wraps src.
func NewCachedTokenSource(src TokenSource) *CachedTokenSource { return &CachedTokenSource{Source: src} }

func (c *CachedTokenSource) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Token returns the cached token, refreshed when it is close to expiry.
func (c *CachedTokenSource) Token(ctx context.Context) (Token, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok.Value != "" && c.now().Before(c.tok.Expiry.Add(-c.early())) {
		return c.tok, nil
	}
	got := c.now()
	t, err := c.Source.Token(ctx)
	if err != nil {
		return Token{}, err
	}
	c.tok, c.got = t, got
	return t, nil
}

// early is how long before its expiry the cached token is replaced.
func (c *CachedTokenSource) early() time.Duration {
	e := c.Early
	if e <= 0 {
		e = time.Minute
	}
	return min(e, c.tok.Expiry.Sub(c.got)/10)
}

// Invalidate drops the cached token if it is still bad, so the next
// Token gets a new one (after the server answered TOKEN_EXPIRED, say).
func (c *CachedTokenSource) Invalidate(bad Token) {
	c.mu.Lock()
	if c.tok.Value == bad.Value {
		c.tok = Token{}
	}
	c.mu.Unlock()
}

// SagaPayTokenSource gets SagaPay client tokens for one user from your
// backend's credentials (POST /partners/{partnerId}/token). Its tokens
// expire validUntil seconds after they were fetched.
func (a *API) SagaPayTokenSource(partnerID string, req SagaPayTokenRequest) TokenSource {
	return TokenSourceFunc(func(ctx context.Context) (Token, error) {
		start := time.Now()
		t, err := a.SagaPayToken(ctx, partnerID, req)
		if err != nil {
			return Token{}, err
		}
		secs, err := strconv.ParseInt(t.ValidUntil, 10, 64)
		if err != nil || secs <= 0 {
			return Token{}, errors.New("jeton: validUntil is not a number of seconds: " + t.ValidUntil)
		}
		return Token{Value: t.Token, Expiry: start.Add(time.Duration(secs) * time.Second)}, nil
	})
}

// SagaPay calls SagaPay's operational routes (orders, payments,
// transactions, receipts). Built as a literal with Tokens, it acts as one
// end user with a client token, what a browser or app does, here from Go;
// from [API.SagaPay] it acts as the merchant with its API credentials,
// which may also void, capture and refund.
type SagaPay struct {
	BaseURL string
	HTTP    *http.Client
	Tokens  *CachedTokenSource

	creds *API // set by API.SagaPay: merchant credentials instead of Tokens
}

// SagaPay returns a SagaPay caller that authenticates with the merchant's
// API credentials (API-KEY, API-SECRET, MERCHANT-ID) instead of a client
// token, so a backend uses the same methods its users' apps do.
func (a *API) SagaPay() *SagaPay {
	return &SagaPay{BaseURL: a.BaseURL, HTTP: a.HTTP, creds: a}
}

// call makes one request; see send.
func (s *SagaPay) call(ctx context.Context, method, path string, body, out any) error {
	_, err := s.send(ctx, method, path, nil, body, out)
	return err
}

// send makes one request with the merchant's credentials or the current
// token; on TOKEN_EXPIRED it gets a new token and tries once more.
func (s *SagaPay) send(ctx context.Context, method, path string, hdr http.Header, body, out any) (http.Header, error) {
	if s.creds != nil {
		h := s.creds.sagaHeaders()
		for k, v := range hdr {
			h[k] = v
		}
		return s.creds.send(ctx, method, path, h, body, out)
	}
	return tokenSend(ctx, &API{BaseURL: s.BaseURL, HTTP: s.HTTP}, s.Tokens, method, path, hdr, body, out)
}

// tokenSend makes one request with the current token from tokens; on
// TOKEN_EXPIRED (the server's clock may run ahead of ours) it drops the
// token, gets a new one and tries once more.
func tokenSend(ctx context.Context, api *API, tokens *CachedTokenSource, method, path string, hdr http.Header, body, out any) (http.Header, error) {
	if tokens == nil {
		return nil, errors.New("client: no token source (set Tokens)")
	}
	for try := 0; ; try++ {
		t, err := tokens.Token(ctx)
		if err != nil {
			return nil, err
		}
		h := http.Header{"Authorization": {"Bearer " + t.Value}}
		for k, v := range hdr {
			h[k] = v
		}
		rh, err := api.send(ctx, method, path, h, body, out)
		var e *Error
		if try == 0 && errors.As(err, &e) && e.Key == "TOKEN_EXPIRED" {
			tokens.Invalidate(t)
			continue
		}
		return rh, err
	}
}

// MintedTokens is a TokenSource that mints AssetPay client tokens for one
// user locally with the API secret, each valid for ttl (at most 24h), so a
// backend needs no round trip per token. Wrap it in a CachedTokenSource to
// reuse each token until shortly before it expires.
func MintedTokens(apiSecret, merchantID string, c Client, ttl time.Duration) TokenSource {
	return TokenSourceFunc(func(context.Context) (Token, error) {
		now := time.Now()
		tok, err := MintToken(apiSecret, merchantID, c, ttl, now)
		if err != nil {
			return Token{}, err
		}
		return Token{Value: tok, Expiry: time.Unix(now.Unix(), 0).Add(ttl)}, nil
	})
}

// MintedSagaPayTokens is MintedTokens for SagaPay: tokens for one end user
// (externalUserID) minted locally, as POST /partners/{id}/token would
// issue them.
func MintedSagaPayTokens(apiSecret, merchantID, externalUserID, email string, ttl time.Duration) TokenSource {
	return TokenSourceFunc(func(context.Context) (Token, error) {
		now := time.Now()
		tok, err := MintSagaPayToken(apiSecret, merchantID, externalUserID, email, ttl, now)
		if err != nil {
			return Token{}, err
		}
		return Token{Value: tok, Expiry: time.Unix(now.Unix(), 0).Add(ttl)}, nil
	})
}

// AssetPayTokenSource gets AssetPay client tokens for one user from
// POST /auth/authenticate-client, for a backend that prefers not to hold
// the API secret. Each token's expiry is read from its exp claim.
func (a *API) AssetPayTokenSource(req AuthenticateRequest) TokenSource {
	return TokenSourceFunc(func(ctx context.Context) (Token, error) {
		res, err := a.AuthenticateClient(ctx, req)
		if err != nil {
			return Token{}, err
		}
		exp, err := TokenExpiry(res.Token)
		if err != nil {
			return Token{}, err
		}
		return Token{Value: res.Token, Expiry: exp}, nil
	})
}

// TokenExpiry reads the exp claim of a client token without verifying it
// (only the server can), so a caller knows when to fetch the next one.
func TokenExpiry(token string) (time.Time, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}, errors.New("client: not a JWT")
	}
	p, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}, errors.New("client: token payload is not base64url")
	}
	var c struct {
		Exp *int64 `json:"exp"`
	}
	if err := json.Unmarshal(p, &c); err != nil || c.Exp == nil {
		return time.Time{}, errors.New("client: token has no exp claim")
	}
	return time.Unix(*c.Exp, 0), nil
}
