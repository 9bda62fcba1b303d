package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// API calls a jeton server (or anything speaking the same APIs).
type API struct {
	BaseURL    string       // e.g. http://127.0.0.1:8080
	APIKey     string       // ap_... (AssetPay api-key; SagaPay API-KEY)
	APISecret  string       // SagaPay API-SECRET
	MerchantID string       // SagaPay MERCHANT-ID
	HTTP       *http.Client // default: 30 s timeout
}

// Error is an error answered by the server. Key is stable; branch on it.
type Error struct {
	Status    int               // HTTP status
	Code      int               // AssetPay numeric code (0 on SagaPay)
	Key       string            // e.g. INVALID_API_KEY, TOKEN_EXPIRED
	Message   string            // for people; wording may change
	Fields    map[string]string // per-field reasons on VALIDATION_FAILED
	Details   map[string]any    // extra facts, e.g. what a callback URL's test ping got
	RequestID string
}

// Error says what the server answered, key first, for logs.
func (e *Error) Error() string {
	return fmt.Sprintf("jeton: %d %s: %s", e.Status, e.Key, e.Message)
}

func (a *API) httpClient() *http.Client {
	if a.HTTP != nil {
		return a.HTTP
	}
	return &http.Client{Timeout: 30 * time.Second}
}

// do sends a request and decodes the reply's data into out.
func (a *API) do(ctx context.Context, method, path string, hdr http.Header, body, out any) error {
	_, err := a.send(ctx, method, path, hdr, body, out)
	return err
}

// send is do that also returns the reply's headers, for the routes that
// page with X-Page-Number and X-Total-Items.
func (a *API) send(ctx context.Context, method, path string, hdr http.Header, body, out any) (http.Header, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(a.BaseURL, "/")+path, rd)
	if err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.httpClient().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return resp.Header, err
	}
	var env struct {
		RequestID string          `json:"requestId"`
		Success   *bool           `json:"success"`
		Status    string          `json:"status"`
		Message   string          `json:"message"`
		Key       string          `json:"key"`
		Data      json.RawMessage `json:"data"`
		Error     *struct {
			Code    int               `json:"code"`
			Key     string            `json:"key"`
			Message string            `json:"message"`
			Fields  map[string]string `json:"fields"`
			Details map[string]any    `json:"details"`
		} `json:"error"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return resp.Header, &Error{Status: resp.StatusCode, Key: "SDK_INVALID_RESPONSE", Message: "reply is not JSON", RequestID: resp.Header.Get("X-Request-Id")}
	}
	if env.RequestID == "" {
		env.RequestID = resp.Header.Get("X-Request-Id")
	}
	switch {
	case env.Error != nil:
		return resp.Header, &Error{Status: resp.StatusCode, Code: env.Error.Code, Key: env.Error.Key, Message: env.Error.Message,
			Fields: env.Error.Fields, Details: env.Error.Details, RequestID: env.RequestID}
	case env.Status == "ERROR" || resp.StatusCode >= 400:
		return resp.Header, &Error{Status: resp.StatusCode, Key: env.Key, Message: env.Message, RequestID: env.RequestID}
	}
	if out != nil && len(env.Data) > 0 && string(env.Data) != "null" {
		return resp.Header, json.Unmarshal(env.Data, out)
	}
	return resp.Header, nil
}

// AuthenticateRequest is the body of POST /auth/authenticate-client.
type AuthenticateRequest struct {
	ClientSteamID  string          `json:"clientSteamId"`
	ClientTradeURL string          `json:"clientTradeUrl"`
	ClientID       string          `json:"clientId,omitempty"`
	ClientData     json.RawMessage `json:"clientData,omitempty"`
}

// Warning is a non-fatal remark the server attached to a reply.
type Warning struct {
	Key     string `json:"key"`
	Message string `json:"message"`
}

// AuthenticateResult is the data of POST /auth/authenticate-client.
type AuthenticateResult struct {
	Token    string    `json:"token"`
	Warnings []Warning `json:"warnings"`
}

// AuthenticateClient gets an AssetPay client token from the server.
func (a *API) AuthenticateClient(ctx context.Context, req AuthenticateRequest) (AuthenticateResult, error) {
	var out AuthenticateResult
	err := a.do(ctx, "POST", "/auth/authenticate-client", http.Header{"Api-Key": {a.APIKey}}, req, &out)
	return out, err
}

// Me describes a client token (GET /client/me).
type Me struct {
	MerchantID string    `json:"merchantId"`
	SteamID    string    `json:"steamID"`
	TradeURL   string    `json:"tradeUrl"`
	ClientID   *string   `json:"clientId"`
	ExpiresAt  time.Time `json:"expiresAt"`
	ExpiresIn  int64     `json:"expiresIn"`
	Warnings   []Warning `json:"warnings"`
}

// ClientMe calls GET /client/me with a client token.
func (a *API) ClientMe(ctx context.Context, clientToken string) (Me, error) {
	var out Me
	err := a.do(ctx, "GET", "/client/me", http.Header{"Authorization": {"Bearer " + clientToken}}, nil, &out)
	return out, err
}

// RevokeClientTokens ends every token of one Steam user issued up to now
// (needs an ADMIN key).
func (a *API) RevokeClientTokens(ctx context.Context, steamID string) error {
	return a.do(ctx, "POST", "/secure/clients/revoke-tokens", http.Header{"Api-Key": {a.APIKey}}, map[string]string{"clientSteamId": steamID}, nil)
}

// SagaPayTokenRequest is the body of POST /partners/{partnerId}/token.
type SagaPayTokenRequest struct {
	ProviderID          string `json:"providerId"`
	ProviderCertificate string `json:"providerCertificate"`
	ExternalUserID      string `json:"externalUserId"`
	Email               string `json:"email,omitempty"`
}

// SagaPayToken is a SagaPay client token; ValidUntil is its lifetime in
// seconds, as a string, as Surfboard sends it.
type SagaPayToken struct {
	Token      string `json:"token"`
	ValidUntil string `json:"validUntil"`
}

func (a *API) sagaHeaders() http.Header {
	return http.Header{"Api-Key": {a.APIKey}, "Api-Secret": {a.APISecret}, "Merchant-Id": {a.MerchantID}}
}

// SagaPayToken gets a SagaPay client token for one of your users.
func (a *API) SagaPayToken(ctx context.Context, partnerID string, req SagaPayTokenRequest) (SagaPayToken, error) {
	var out SagaPayToken
	err := a.do(ctx, "POST", "/partners/"+partnerID+"/token", a.sagaHeaders(), req, &out)
	return out, err
}
