package client

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jetonhq/jeton/internal/jsonx"
)

// MaxTTL is the longest lifetime a client token may have (24 hours).
const MaxTTL = 24 * time.Hour

// ClientData is the risk model's input about one user. Every field is
// optional; Extra keys are passed through as the seed allows.
type ClientData struct {
	TotalWager       *float64       `json:"totalWager,omitempty"`
	RegistrationDate *time.Time     `json:"registrationDate,omitempty"`
	KycHash          string         `json:"kycHash,omitempty"`
	KycLevel         *int           `json:"kycLevel,omitempty"`
	FiatDeposits     *bool          `json:"fiatDeposits,omitempty"`
	CryptoDeposits   *bool          `json:"cryptoDeposits,omitempty"`
	Extra            map[string]any `json:"-"`
}

// MarshalJSON merges Extra with the typed fields (typed fields win).
func (d ClientData) MarshalJSON() ([]byte, error) {
	type plain ClientData
	b, err := json.Marshal(plain(d))
	if err != nil || len(d.Extra) == 0 {
		return b, err
	}
	m := map[string]any{}
	for k, v := range d.Extra {
		m[k] = v
	}
	var typed map[string]any
	if err := json.Unmarshal(b, &typed); err != nil {
		return nil, err
	}
	for k, v := range typed {
		m[k] = v
	}
	return json.Marshal(m)
}

// Client identifies the end user an AssetPay token is for.
type Client struct {
	SteamID    string          // SteamID64, 17 digits starting 76561
	TradeURL   string          // the user's Steam trade URL
	ClientID   string          // your id for the user (optional, <= 128 characters)
	ClientData json.RawMessage // optional; see ClientData and RawClientData
}

// RawClientData encodes d for Client.ClientData.
func RawClientData(d ClientData) json.RawMessage {
	b, _ := json.Marshal(d)
	return b
}

type clientClaim struct {
	SteamID    string          `json:"steamID"`
	TradeURL   string          `json:"tradeUrl"`
	ClientData json.RawMessage `json:"clientData,omitempty"`
	ClientID   string          `json:"clientId,omitempty"`
}

type sagaClaim struct {
	ExternalUserID string `json:"externalUserId"`
	Email          string `json:"email,omitempty"`
	ProviderID     string `json:"providerId,omitempty"`
}

// claims is the token payload in the vendor SDK's key order.
type claims struct {
	MerchantID string       `json:"merchantId"`
	Client     *clientClaim `json:"client,omitempty"`
	SagaPay    *sagaClaim   `json:"sagapay,omitempty"`
	IssuedAt   int64        `json:"iat"`
	ExpiresAt  int64        `json:"exp"`
}

var (
	steamIDPattern  = regexp.MustCompile(`^76561\d{12}$`)
	tradeURLPattern = regexp.MustCompile(`^https://steamcommunity\.com/tradeoffer/new/\?partner=\d{1,10}&token=[A-Za-z0-9_-]{8}$`)
)

// ErrInvalidClient is returned for a client that jeton would refuse.
var ErrInvalidClient = errors.New("client: invalid client")

func signToken(secret, merchantID string, c claims) (string, error) {
	if secret == "" || merchantID == "" {
		return "", errors.New("client: API secret and merchant ID are required")
	}
	// Encode as JavaScript's JSON.stringify does (no HTML escaping, so a
	// trade URL's "&" stays as jose writes it), then sign with golang-jwt.
	h, err := jsonx.Marshal(struct {
		Alg    string `json:"alg"`
		UserID string `json:"userId"`
	}{"HS256", merchantID})
	if err != nil {
		return "", err
	}
	p, err := jsonx.Marshal(c)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(h) + "." + enc.EncodeToString(p)
	sig, err := jwt.SigningMethodHS256.Sign(input, []byte(secret))
	if err != nil {
		return "", err
	}
	return input + "." + enc.EncodeToString(sig), nil
}

func checkTTL(ttl time.Duration) error {
	if ttl <= 0 || ttl > MaxTTL || ttl%time.Second != 0 {
		return errors.New("client: ttl must be whole seconds between 1s and 24h")
	}
	return nil
}

// MintToken signs an AssetPay client token locally with the merchant's
// API secret, valid for ttl (at most 24h) from now. The result is the
// token the seed's jose snippet makes, plus the merchantId claim that the
// vendor SDK adds.
func MintToken(apiSecret, merchantID string, c Client, ttl time.Duration, now time.Time) (string, error) {
	if err := checkTTL(ttl); err != nil {
		return "", err
	}
	switch {
	case !steamIDPattern.MatchString(c.SteamID):
		return "", errors.Join(ErrInvalidClient, errors.New("steamID must match ^76561\\d{12}$"))
	case !tradeURLPattern.MatchString(c.TradeURL):
		return "", errors.Join(ErrInvalidClient, errors.New("tradeUrl must be a https://steamcommunity.com/tradeoffer/new/?partner=...&token=... URL"))
	case utf8.RuneCountInString(c.ClientID) > 128:
		return "", errors.Join(ErrInvalidClient, errors.New("clientId must be at most 128 characters"))
	}
	return signToken(apiSecret, merchantID, claims{
		MerchantID: merchantID,
		Client:     &clientClaim{SteamID: c.SteamID, TradeURL: c.TradeURL, ClientData: c.ClientData, ClientID: c.ClientID},
		IssuedAt:   now.Unix(), ExpiresAt: now.Add(ttl).Unix(),
	})
}

// MintSagaPayToken signs a SagaPay client token for one of your users
// locally; jeton accepts it as it accepts POST /partners/{id}/token's.
func MintSagaPayToken(apiSecret, merchantID, externalUserID, email string, ttl time.Duration, now time.Time) (string, error) {
	if err := checkTTL(ttl); err != nil {
		return "", err
	}
	if externalUserID == "" || len(externalUserID) > 128 {
		return "", errors.Join(ErrInvalidClient, errors.New("externalUserId must be 1 to 128 characters"))
	}
	return signToken(apiSecret, merchantID, claims{
		MerchantID: merchantID, SagaPay: &sagaClaim{ExternalUserID: externalUserID, Email: email},
		IssuedAt: now.Unix(), ExpiresAt: now.Add(ttl).Unix(),
	})
}
