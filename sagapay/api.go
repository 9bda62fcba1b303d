package sagapay

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/credential"
	"github.com/jetonhq/jeton/httpserver"
	"github.com/jetonhq/jeton/payment"
	"github.com/jetonhq/jeton/token"
)

// DefaultTokenTTL is the lifetime of tokens from POST /partners/{id}/token,
// Surfboard's "3600"; a merchant's lower maximum shortens it.
const DefaultTokenTTL = time.Hour

// API is the SagaPay surface.
type API struct {
	creds    *credential.Service
	verifier *token.Verifier
	store    jeton.Store
	payments *payment.Service
	webhooks WebhookTester
	now      func() time.Time
	log      *slog.Logger
	// TokenTTL is the lifetime of issued tokens (default DefaultTokenTTL).
	TokenTTL time.Duration
	// PublicURL is where customers reach jeton, for receipt links
	// (default: the host the request came to).
	PublicURL string
}

// New makes the surface. now may be nil.
func New(creds *credential.Service, verifier *token.Verifier, store jeton.Store, now func() time.Time, log *slog.Logger) *API {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &API{creds: creds, verifier: verifier, store: store, now: now, log: log, TokenTTL: DefaultTokenTTL}
}

// WebhookTester sends an endpoint's test.webhook.
type WebhookTester interface {
	TestWebhook(ctx context.Context, merchantID string, e jeton.WebhookEndpoint, secret []byte) jeton.CallbackAttempt
}

// WithPayments adds the payment routes (orders, payments, transactions,
// terminals, webhooks); without it they answer 503.
func (a *API) WithPayments(p *payment.Service, w WebhookTester) *API {
	a.payments, a.webhooks = p, w
	return a
}

// Routes returns every route of the surface.
func (a *API) Routes() []httpserver.Route {
	ro, rw := jeton.ScopeReadOnly, jeton.ScopeCoreAccess
	admin := func(scope jeton.Scope, h adminHandler) http.Handler { return a.admin(scope, a.needPaymentsAdmin(h)) }
	op := func(scope jeton.Scope, h callerHandler) http.Handler { return a.operational(scope, a.needPayments(h)) }
	return []httpserver.Route{
		{Method: "POST", Path: "/partners/{partnerId}/token", Handler: a.admin(jeton.ScopeCoreAccess, a.createToken)},
		{Method: "POST", Path: "/partners/{partnerId}/token/revoke", Handler: a.admin(jeton.ScopeAdmin, a.revokeTokens)},
		{Method: "GET", Path: "/client-tokens/me", Handler: a.operational(ro, a.me), Browser: true},
		// Merchants under the partner; {target} is any merchant of the
		// caller's partner (a merchant id or an application id).
		{Method: "POST", Path: "/partners/{partnerId}/merchants", Handler: a.admin(jeton.ScopeAdmin, a.onboard)},
		{Method: "GET", Path: "/partners/{partnerId}/merchants", Handler: a.admin(jeton.ScopeAdmin, a.listMerchants)},
		{Method: "GET", Path: "/partners/{partnerId}/merchants/{target}", Handler: a.admin(jeton.ScopeAdmin, a.getMerchant)},
		{Method: "GET", Path: "/partners/{partnerId}/merchants/{target}/status", Handler: a.admin(jeton.ScopeAdmin, a.applicationStatus)},
		{Method: "POST", Path: "/partners/{partnerId}/merchants/{merchantId}/stores", Handler: a.admin(jeton.ScopeAdmin, a.createStore)},
		{Method: "GET", Path: "/partners/{partnerId}/merchants/{merchantId}/stores", Handler: a.admin(jeton.ScopeAdmin, a.listStores)},
		{Method: "GET", Path: "/partners/{partnerId}/merchants/{merchantId}/stores/{storeId}", Handler: a.admin(jeton.ScopeAdmin, a.getStore)},

		// Terminals (administration).
		{Method: "POST", Path: "/merchants/{merchantId}/stores/{storeId}/devices", Handler: admin(jeton.ScopeAdmin, a.registerDevice)},
		{Method: "GET", Path: "/merchants/{merchantId}/stores/{storeId}/device-registration", Handler: admin(jeton.ScopeAdmin, a.registrationCode)},
		{Method: "GET", Path: "/merchants/{merchantId}/stores/{storeId}/terminals", Handler: admin(jeton.ScopeAdmin, a.listTerminals)},
		{Method: "GET", Path: "/merchants/{merchantId}/terminals", Handler: admin(jeton.ScopeAdmin, a.listTerminals)},
		{Method: "GET", Path: "/terminals/{terminalId}", Handler: admin(jeton.ScopeAdmin, a.getTerminal)},
		// Webhook endpoints (administration).
		{Method: "POST", Path: "/merchants/{merchantId}/webhooks", Handler: admin(jeton.ScopeAdmin, a.createWebhook)},
		{Method: "GET", Path: "/merchants/{merchantId}/webhooks", Handler: admin(jeton.ScopeAdmin, a.listWebhooks)},
		{Method: "DELETE", Path: "/merchants/{merchantId}/webhooks/{webhookId}", Handler: admin(jeton.ScopeAdmin, a.deleteWebhook)},
		{Method: "POST", Path: "/merchants/{merchantId}/webhooks/{webhookId}/test", Handler: admin(jeton.ScopeAdmin, a.testWebhook)},
		{Method: "GET", Path: "/merchants/{merchantId}/webhooks/deliveries", Handler: admin(jeton.ScopeReadOnly, a.webhookDeliveries)},
		{Method: "GET", Path: "/merchants/{merchantId}/webhooks/deliveries/{deliveryId}", Handler: admin(jeton.ScopeReadOnly, a.webhookDelivery)},
		{Method: "POST", Path: "/merchants/{merchantId}/webhooks/deliveries/{deliveryId}/redeliver", Handler: admin(jeton.ScopeCoreAccess, a.redeliverWebhook)},

		// Tips and branding: set by administrators, read by client tokens too.
		{Method: "PATCH", Path: "/merchants/{merchantId}/tips", Handler: admin(jeton.ScopeAdmin, a.patchTips)},
		{Method: "GET", Path: "/merchants/{merchantId}/tips", Handler: op(ro, a.getTips), Browser: true},
		{Method: "PATCH", Path: "/merchants/{merchantId}/stores/{storeId}/tips", Handler: admin(jeton.ScopeAdmin, a.patchTips)},
		{Method: "GET", Path: "/merchants/{merchantId}/stores/{storeId}/tips", Handler: op(ro, a.getTips), Browser: true},
		{Method: "PATCH", Path: "/merchants/{merchantId}/stores/{storeId}/terminals/{terminalId}/tips", Handler: admin(jeton.ScopeAdmin, a.patchTips)},
		{Method: "GET", Path: "/merchants/{merchantId}/stores/{storeId}/terminals/{terminalId}/tips", Handler: op(ro, a.getTips), Browser: true},
		{Method: "PATCH", Path: "/merchants/{merchantId}/branding", Handler: admin(jeton.ScopeAdmin, a.patchBranding)},
		{Method: "GET", Path: "/merchants/{merchantId}/branding", Handler: op(ro, a.getBranding), Browser: true},
		{Method: "DELETE", Path: "/merchants/{merchantId}/branding", Handler: admin(jeton.ScopeAdmin, a.deleteBranding)},
		{Method: "PATCH", Path: "/merchants/{merchantId}/stores/{storeId}/branding", Handler: admin(jeton.ScopeAdmin, a.patchBranding)},
		{Method: "GET", Path: "/merchants/{merchantId}/stores/{storeId}/branding", Handler: op(ro, a.getBranding), Browser: true},
		{Method: "DELETE", Path: "/merchants/{merchantId}/stores/{storeId}/branding", Handler: admin(jeton.ScopeAdmin, a.deleteBranding)},
		{Method: "PATCH", Path: "/merchants/{merchantId}/stores/{storeId}/terminals/{terminalId}/branding", Handler: admin(jeton.ScopeAdmin, a.patchBranding)},
		{Method: "GET", Path: "/merchants/{merchantId}/stores/{storeId}/terminals/{terminalId}/branding", Handler: op(ro, a.getBranding), Browser: true},
		{Method: "DELETE", Path: "/merchants/{merchantId}/stores/{storeId}/terminals/{terminalId}/branding", Handler: admin(jeton.ScopeAdmin, a.deleteBranding)},

		// Receipts and reports (client tokens too); the receipt page
		// itself needs no credentials: its address is unguessable.
		{Method: "GET", Path: "/receipts/{id}/link", Handler: op(ro, a.receiptLink), Browser: true},
		{Method: "PUT", Path: "/receipts/{id}/email", Handler: op(rw, a.emailReceipt), Browser: true},
		{Method: "PUT", Path: "/receipts/{id}/print", Handler: op(rw, a.printReceipt), Browser: true},
		{Method: "GET", Path: "/receipt/{key}", Handler: http.HandlerFunc(a.receiptView), Browser: true},
		{Method: "GET", Path: "/partners/{partnerId}/merchants/{merchantId}/reports", Handler: op(ro, a.reports), Browser: true},
		{Method: "GET", Path: "/sandbox/outbox", Handler: admin(jeton.ScopeReadOnly, a.sandboxOutbox)},
		{Method: "POST", Path: "/sandbox/terminals/{terminalId}/tip", Handler: admin(jeton.ScopeCoreAccess, a.controlTip)},
		{Method: "POST", Path: "/sandbox/terminals/{terminalId}/card", Handler: admin(jeton.ScopeCoreAccess, a.controlCard)},
		{Method: "POST", Path: "/sandbox/terminals/{terminalId}/cancel", Handler: admin(jeton.ScopeCoreAccess, a.controlCancel)},
		{Method: "POST", Path: "/payments/{paymentId}/capture", Handler: op(rw, a.capturePayment), Browser: true},
		{Method: "GET", Path: "/payments/{paymentId}/capture", Handler: op(ro, a.captureStatus), Browser: true},

		// Orders, payments and transactions (client tokens too).
		{Method: "POST", Path: "/orders", Handler: op(rw, a.createOrder), Browser: true},
		{Method: "GET", Path: "/orders/{orderId}", Handler: op(ro, a.getOrder), Browser: true},
		{Method: "PUT", Path: "/orders/{orderId}", Handler: op(rw, a.updateOrder), Browser: true},
		{Method: "DELETE", Path: "/orders/{orderId}", Handler: op(rw, a.cancelOrder), Browser: true},
		{Method: "GET", Path: "/orders/{orderId}/status", Handler: op(ro, a.orderStatus), Browser: true},
		{Method: "GET", Path: "/orders/{orderId}/adjustments", Handler: op(ro, a.orderAdjustments), Browser: true},
		{Method: "POST", Path: "/payments", Handler: op(rw, a.initiatePayment), Browser: true},
		{Method: "GET", Path: "/payments/{paymentId}", Handler: op(ro, a.getPayment), Browser: true},
		{Method: "GET", Path: "/payments/{paymentId}/status", Handler: op(ro, a.paymentStatus), Browser: true},
		{Method: "DELETE", Path: "/payments/{paymentId}", Handler: op(rw, a.cancelPayment), Browser: true},
		{Method: "PUT", Path: "/payments/{paymentId}/void", Handler: op(rw, a.voidPayment), Browser: true},
		{Method: "POST", Path: "/payments/{paymentId}/void", Handler: op(rw, a.voidPayment), Browser: true},
		{Method: "GET", Path: "/transactions", Handler: op(ro, a.transactions), Browser: true},
		{Method: "GET", Path: "/transactions/search", Handler: op(ro, a.transactions), Browser: true},
		{Method: "GET", Path: "/transactions/{id}/list", Handler: op(ro, a.transactions), Browser: true},
	}
}

var errNoPayments = jeton.Errorf(jeton.KindUnavailable, jeton.KeyUnavailable,
	"payments need a card processor; this server has none (run jeton serve in sandbox mode)")

func (a *API) needPayments(h callerHandler) callerHandler {
	return func(w http.ResponseWriter, r *http.Request, c Caller) {
		if a.payments == nil {
			a.fail(w, r, errNoPayments)
			return
		}
		h(w, r, c)
	}
}

func (a *API) needPaymentsAdmin(h adminHandler) adminHandler {
	return func(w http.ResponseWriter, r *http.Request, k jeton.APIKey, m jeton.Merchant) {
		if a.payments == nil {
			a.fail(w, r, errNoPayments)
			return
		}
		h(w, r, k, m)
	}
}

// Caller is who makes an operational request: the merchant (API
// credentials) or one of its end users (client token).
type Caller struct {
	MerchantID string
	Key        *jeton.APIKey      // set for API credentials
	Token      *jeton.ClientToken // set for client tokens
}

type adminHandler func(w http.ResponseWriter, r *http.Request, k jeton.APIKey, m jeton.Merchant)
type callerHandler func(w http.ResponseWriter, r *http.Request, c Caller)

func hasCredentials(r *http.Request) bool {
	return r.Header.Get("API-KEY") != "" || r.Header.Get("API-SECRET") != "" || r.Header.Get("MERCHANT-ID") != ""
}

// admin guards an administrative route: API credentials with scope, and
// a 403 for client tokens, which the seed forbids here.
func (a *API) admin(scope jeton.Scope, h adminHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hasCredentials(r) && r.Header.Get("Authorization") != "" {
			raw, err := token.ExtractBearer(r.Header.Get("Authorization"))
			if err == nil {
				_, err = a.verifier.Verify(r.Context(), raw)
			}
			if err != nil {
				a.fail(w, r, err)
				return
			}
			a.fail(w, r, jeton.Errorf(jeton.KindForbidden, jeton.KeyForbidden, "Client-side tokens cannot be used for administrative tasks; use your API credentials"))
			return
		}
		k, err := a.creds.AuthenticateMerchant(r.Context(), r.Header.Get("API-KEY"), r.Header.Get("API-SECRET"), r.Header.Get("MERCHANT-ID"))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if err := credential.RequireScope(k, scope); err != nil {
			a.fail(w, r, err)
			return
		}
		m, err := a.creds.Merchant(r.Context(), k.MerchantID)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		// Ids in the path must be the caller's own; anything else is
		// "not found", so ids of other merchants leak nothing.
		if p := r.PathValue("partnerId"); p != "" && p != m.PartnerID {
			a.fail(w, r, jeton.Errorf(jeton.KindNotFound, jeton.KeyNotFound, "Partner not found"))
			return
		}
		if p := r.PathValue("merchantId"); p != "" && p != m.ID {
			a.fail(w, r, jeton.Errorf(jeton.KindNotFound, jeton.KeyMerchantNotFound, "Merchant not found"))
			return
		}
		h(w, r, k, m)
	})
}

// operational guards a route that client tokens may use as well as API
// credentials (orders, payments, transactions, tips, ...); an API key
// needs scope.
func (a *API) operational(scope jeton.Scope, h callerHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hasCredentials(r) {
			k, err := a.creds.AuthenticateMerchant(r.Context(), r.Header.Get("API-KEY"), r.Header.Get("API-SECRET"), r.Header.Get("MERCHANT-ID"))
			if err != nil {
				a.fail(w, r, err)
				return
			}
			if err := credential.RequireScope(k, scope); err != nil {
				a.fail(w, r, err)
				return
			}
			h(w, r, Caller{MerchantID: k.MerchantID, Key: &k})
			return
		}
		raw, err := token.ExtractBearer(r.Header.Get("Authorization"))
		if err != nil {
			a.fail(w, r, jeton.Errorf(jeton.KindUnauthorized, jeton.KeyUnauthorized, "Unauthorized access. Please provide valid credentials to access this endpoint."))
			return
		}
		t, err := a.verifier.Verify(r.Context(), raw)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if t.Surface != jeton.SurfaceSagaPay {
			a.fail(w, r, jeton.Errorf(jeton.KindUnauthorized, jeton.KeyTokenWrongSurface, "this is an AssetPay client token; fetch a SagaPay token from POST /partners/{partnerId}/token"))
			return
		}
		h(w, r, Caller{MerchantID: t.MerchantID, Token: t})
	})
}

type tokenRequest struct {
	ProviderID          string `json:"providerId"`
	ProviderCertificate string `json:"providerCertificate"`
	ExternalUserID      string `json:"externalUserId"`
	Email               string `json:"email"`
}

type tokenData struct {
	Token      string `json:"token"`
	ValidUntil string `json:"validUntil"`
}

func (a *API) createToken(w http.ResponseWriter, r *http.Request, k jeton.APIKey, m jeton.Merchant) {
	var req tokenRequest
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	switch {
	case req.ProviderID == "":
		a.fail(w, r, invalid("providerId is required"))
		return
	case req.ProviderCertificate == "":
		a.fail(w, r, invalid("providerCertificate is required"))
		return
	case strings.TrimSpace(req.ExternalUserID) == "" || len(req.ExternalUserID) > 128:
		a.fail(w, r, invalid("externalUserId is required (at most 128 characters)"))
		return
	case req.Email != "" && !plausibleEmail(req.Email):
		a.fail(w, r, invalid("email is not a valid email address"))
		return
	}
	if err := a.creds.VerifyProvider(r.Context(), m.ID, req.ProviderID, req.ProviderCertificate); err != nil {
		a.fail(w, r, err) // 400 INVALID_PROVIDER, as Surfboard's "Invalid providerId"
		return
	}
	secret, err := a.creds.SigningSecret(r.Context(), m.ID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ttl := a.TokenTTL
	if m.MaxTokenLifetime < ttl {
		ttl = m.MaxTokenLifetime
	}
	now := a.issueTime(r, m.ID, req.ExternalUserID)
	tok, _, err := token.MintSagaPay(secret, m.ID, token.SagaClaim{ExternalUserID: req.ExternalUserID, Email: req.Email, ProviderID: req.ProviderID}, now, ttl)
	if err != nil {
		a.fail(w, r, jeton.Internal(err))
		return
	}
	a.ok(w, r, http.StatusOK, tokenData{Token: tok, ValidUntil: itoa(int64(ttl / time.Second))}, "Auth token fetched successfully")
}

// issueTime is now, moved just past a revocation of the same user in this
// very second, so a token minted right after "log out everywhere" works.
func (a *API) issueTime(r *http.Request, merchantID, externalUserID string) time.Time {
	now := a.now()
	if mk, err := a.creds.MerchantKeys(r.Context(), merchantID); err == nil {
		if before, ok := mk.Revoked[token.RevocationKey(jeton.SubjectExternalUserID, externalUserID)]; ok && before >= now.Unix() {
			now = time.Unix(before+1, 0)
		}
	}
	return now
}

type revokeRequest struct {
	ExternalUserID string `json:"externalUserId"`
}

func (a *API) revokeTokens(w http.ResponseWriter, r *http.Request, k jeton.APIKey, m jeton.Merchant) {
	var req revokeRequest
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if req.ExternalUserID == "" || len(req.ExternalUserID) > 128 {
		a.fail(w, r, invalid("externalUserId is required (at most 128 characters)"))
		return
	}
	at, err := a.creds.RevokeTokens(r.Context(), m.ID, jeton.SubjectExternalUserID, req.ExternalUserID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.ok(w, r, http.StatusOK, map[string]string{"revokedBefore": at.Format(time.RFC3339)}, "Tokens revoked")
}

type meData struct {
	MerchantID     string  `json:"merchantId"`
	ExternalUserID string  `json:"externalUserId"`
	Email          *string `json:"email"`
	ExpiresAt      string  `json:"expiresAt"`
	ValidUntil     string  `json:"validUntil"`
}

func (a *API) me(w http.ResponseWriter, r *http.Request, c Caller) {
	if c.Token == nil {
		a.fail(w, r, jeton.Errorf(jeton.KindInvalid, jeton.KeyValidationFailed, "this route describes a client token; call it with Authorization: Bearer <token>"))
		return
	}
	t := c.Token
	d := meData{MerchantID: t.MerchantID, ExternalUserID: t.ExternalUserID, ExpiresAt: t.ExpiresAt.Format(time.RFC3339),
		ValidUntil: itoa(int64(t.ExpiresAt.Sub(a.now()) / time.Second))}
	if t.Email != "" {
		d.Email = &t.Email
	}
	a.ok(w, r, http.StatusOK, d, "Token is valid")
}

func plausibleEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	return len(s) <= 254 && at > 0 && at < len(s)-1 && !strings.ContainsAny(s, " \t\r\n<>") && strings.Contains(s[at:], ".")
}

func invalid(msg string) error {
	return jeton.Errorf(jeton.KindInvalid, jeton.KeyValidationFailed, "%s", msg)
}
