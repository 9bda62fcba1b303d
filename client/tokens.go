package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
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

// SagaPay calls SagaPay's operational routes as one end user, with a
// client token: what a browser or app does, here from Go.
type SagaPay struct {
	BaseURL string
	HTTP    *http.Client
	Tokens  *CachedTokenSource
}

// call makes one request with the current token; on TOKEN_EXPIRED it
// gets a new token and tries once more.
func (s *SagaPay) call(ctx context.Context, method, path string, body, out any) error {
	api := &API{BaseURL: s.BaseURL, HTTP: s.HTTP}
	for try := 0; ; try++ {
		t, err := s.Tokens.Token(ctx)
		if err != nil {
			return err
		}
		err = api.do(ctx, method, path, http.Header{"Authorization": {"Bearer " + t.Value}}, body, out)
		var e *Error
		if try == 0 && errors.As(err, &e) && e.Key == "TOKEN_EXPIRED" {
			s.Tokens.Invalidate(t)
			continue
		}
		return err
	}
}

// OrderCreated is the answer to CreateOrder.
type OrderCreated struct {
	OrderID   string `json:"orderId"`
	PaymentID string `json:"paymentId,omitempty"`
}

// CreateOrder creates an order (Surfboard's body, e.g. a map or your own
// struct with terminal$id, orderLines and totalOrderAmount).
func (s *SagaPay) CreateOrder(ctx context.Context, order any) (OrderCreated, error) {
	var out OrderCreated
	err := s.call(ctx, "POST", "/orders", order, &out)
	return out, err
}

// PaymentRequest is the body of POST /payments.
type PaymentRequest struct {
	OrderID       string `json:"orderId"`
	PaymentMethod string `json:"paymentMethod"`
	TerminalID    string `json:"terminalId,omitempty"`
	Amount        int64  `json:"amount,omitempty"`
}

// InitiatePayment starts a payment on an order and returns its id.
func (s *SagaPay) InitiatePayment(ctx context.Context, req PaymentRequest) (string, error) {
	var out struct {
		PaymentID string `json:"paymentId"`
	}
	err := s.call(ctx, "POST", "/payments", req, &out)
	return out.PaymentID, err
}

// PaymentStatus is the answer to GET /payments/{id}/status.
type PaymentStatus struct {
	PaymentStatus string `json:"paymentStatus"`
	TransactionID string `json:"transactionId,omitempty"`
	FailureReason string `json:"failureReason,omitempty"`
}

// PaymentStatus reads a payment's status.
func (s *SagaPay) PaymentStatus(ctx context.Context, paymentID string) (PaymentStatus, error) {
	var out PaymentStatus
	err := s.call(ctx, "GET", "/payments/"+paymentID+"/status", nil, &out)
	return out, err
}

// OrderStatus reads an order's status, payments and transactions.
func (s *SagaPay) OrderStatus(ctx context.Context, orderID string) (json.RawMessage, error) {
	var out json.RawMessage
	err := s.call(ctx, "GET", "/orders/"+orderID+"/status", nil, &out)
	return out, err
}
