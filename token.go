package jeton

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"sync/atomic"
	"time"
)

// Surface names one of the two vendor APIs jeton serves.
type Surface string

// The two surfaces.
const (
	SurfaceAssetPay Surface = "assetpay"
	SurfaceSagaPay  Surface = "sagapay"
)

// ClientToken is a verified client token. AssetPay tokens carry the Steam
// fields; SagaPay tokens carry ExternalUserID.
type ClientToken struct {
	MerchantID string
	Surface    Surface

	SteamID    string
	TradeURL   string
	ClientID   string
	ClientData json.RawMessage

	ExternalUserID string
	Email          string
	ProviderID     string

	IssuedAt  time.Time
	ExpiresAt time.Time

	// memo holds what a surface derives once from a verified token; the
	// verifier shares one *ClientToken for every request carrying the
	// same token string, so the work is done once per token.
	memo atomic.Value
}

// Memo returns the value stored by SetMemo, or nil.
func (t *ClientToken) Memo() any { return t.memo.Load() }

// SetMemo stores a value derived from the token (always of one type).
func (t *ClientToken) SetMemo(v any) { t.memo.Store(v) }

// Sealer encrypts secrets at rest with the master key. aad binds a sealed
// value to its owner so it cannot be moved to another row.
type Sealer interface {
	Seal(plain, aad []byte) ([]byte, error)
	Open(sealed, aad []byte) ([]byte, error)
}

// NewID returns an opaque 18-hex-character id, the shape SagaPay uses for
// merchants, partners, stores and orders.
func NewID() string {
	var b [9]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("jeton: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}
