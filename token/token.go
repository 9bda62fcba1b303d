package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/internal/jsonx"
)

// ClientClaim is the AssetPay "client" claim, in the vendor SDK's key order.
type ClientClaim struct {
	SteamID    string          `json:"steamID"`
	TradeURL   string          `json:"tradeUrl"`
	ClientData json.RawMessage `json:"clientData,omitempty"`
	ClientID   string          `json:"clientId,omitempty"`
}

// SagaClaim is the "sagapay" claim of a SagaPay client token.
type SagaClaim struct {
	ExternalUserID string `json:"externalUserId"`
	Email          string `json:"email,omitempty"`
	ProviderID     string `json:"providerId,omitempty"`
}

// Claims is a token payload. Exactly one of Client and SagaPay is set.
type Claims struct {
	MerchantID string       `json:"merchantId,omitempty"`
	Client     *ClientClaim `json:"client,omitempty"`
	SagaPay    *SagaClaim   `json:"sagapay,omitempty"`
	IssuedAt   int64        `json:"iat"`
	ExpiresAt  int64        `json:"exp"`
}

type header struct {
	Alg    string `json:"alg"`
	UserID string `json:"userId"`
}

var b64 = base64.RawURLEncoding

// Sign makes a compact HS256 token for merchantID with the given claims.
// The header is {"alg":"HS256","userId":merchantID}, as the seed's jose
// snippet and the vendor SDK make it.
func Sign(secret []byte, merchantID string, c Claims) (string, error) {
	h, err := jsonx.Marshal(header{Alg: "HS256", UserID: merchantID})
	if err != nil {
		return "", err
	}
	p, err := jsonx.Marshal(c)
	if err != nil {
		return "", err
	}
	n := b64.EncodedLen(len(h)) + 1 + b64.EncodedLen(len(p))
	buf := make([]byte, n, n+1+b64.EncodedLen(sha256.Size))
	b64.Encode(buf, h)
	buf[b64.EncodedLen(len(h))] = '.'
	b64.Encode(buf[b64.EncodedLen(len(h))+1:], p)
	mac := hmac.New(sha256.New, secret)
	mac.Write(buf)
	sum := mac.Sum(nil)
	buf = append(buf, '.')
	buf = b64.AppendEncode(buf, sum)
	return string(buf), nil
}

// MintAssetPay signs an AssetPay client token valid for ttl from now.
func MintAssetPay(secret []byte, merchantID string, client ClientClaim, now time.Time, ttl time.Duration) (string, Claims, error) {
	c := Claims{MerchantID: merchantID, Client: &client, IssuedAt: now.Unix(), ExpiresAt: now.Add(ttl).Unix()}
	s, err := Sign(secret, merchantID, c)
	return s, c, err
}

// MintSagaPay signs a SagaPay client token valid for ttl from now.
func MintSagaPay(secret []byte, merchantID string, saga SagaClaim, now time.Time, ttl time.Duration) (string, Claims, error) {
	c := Claims{MerchantID: merchantID, SagaPay: &saga, IssuedAt: now.Unix(), ExpiresAt: now.Add(ttl).Unix()}
	s, err := Sign(secret, merchantID, c)
	return s, c, err
}

// ToDomain converts verified claims to the domain's ClientToken.
func (c Claims) ToDomain(merchantID string) *jeton.ClientToken {
	t := &jeton.ClientToken{
		MerchantID: merchantID,
		IssuedAt:   time.Unix(c.IssuedAt, 0).UTC(),
		ExpiresAt:  time.Unix(c.ExpiresAt, 0).UTC(),
	}
	if c.Client != nil {
		t.Surface = jeton.SurfaceAssetPay
		t.SteamID, t.TradeURL, t.ClientID, t.ClientData = c.Client.SteamID, c.Client.TradeURL, c.Client.ClientID, c.Client.ClientData
	}
	if c.SagaPay != nil {
		t.Surface = jeton.SurfaceSagaPay
		t.ExternalUserID, t.Email, t.ProviderID = c.SagaPay.ExternalUserID, c.SagaPay.Email, c.SagaPay.ProviderID
	}
	return t
}

// numericDate parses a JWT NumericDate (a JSON number of seconds).
func numericDate(raw json.RawMessage) (int64, bool) {
	if len(raw) == 0 || raw[0] == '"' || raw[0] == '{' || raw[0] == '[' || raw[0] == 'n' || raw[0] == 't' || raw[0] == 'f' {
		return 0, false
	}
	if v, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
		return v, true
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f != f || f > 1e15 || f < -1e15 {
		return 0, false
	}
	return int64(f), true
}
