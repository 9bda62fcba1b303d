package jeton

import (
	"errors"
	"fmt"
)

// Kind classifies an error for transport mapping. Only the HTTP surfaces
// turn a Kind into a status code; only KindInternal is logged as a fault.
type Kind string

// Error kinds shared by every surface.
const (
	KindInvalid      Kind = "invalid"      // bad input; nothing was stored
	KindUnauthorized Kind = "unauthorized" // missing or bad credentials
	KindForbidden    Kind = "forbidden"    // authenticated but not allowed
	KindNotFound     Kind = "not_found"    // no such thing (or not yours)
	KindConflict     Kind = "conflict"     // state conflict, duplicates
	KindRateLimited  Kind = "rate_limited" // slow down
	KindInternal     Kind = "internal"     // our fault
	KindUnavailable  Kind = "unavailable"  // dependency down, retry later
)

// Error is the application error. Key is a stable machine-readable key
// (the vendor's where one exists, e.g. INVALID_API_KEY); Message is for
// people. Fields names each rejected input field on validation errors.
type Error struct {
	Kind    Kind
	Key     string
	Message string
	Fields  map[string]string
	Details map[string]any
	Err     error // wrapped cause, never shown to clients
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Key, e.Message, e.Err)
	}
	return e.Key + ": " + e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error of the given kind and key.
func Errorf(kind Kind, key, format string, args ...any) *Error {
	return &Error{Kind: kind, Key: key, Message: fmt.Sprintf(format, args...)}
}

// Internal wraps an unexpected cause as an internal error whose message
// reveals nothing of the cause.
func Internal(err error) *Error {
	return &Error{Kind: KindInternal, Key: KeyServerError, Message: "internal server error", Err: err}
}

// AsError returns err as an *Error, wrapping unknown errors as internal.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Internal(err)
}

// ErrorKey returns the Key of err, or "" when err is not an *Error.
func ErrorKey(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Key
	}
	return ""
}

// Stable error keys. Vendor keys keep the vendor's spelling; keys of ours
// are documented in docs/errors.md with their codes.
const (
	KeyServerError      = "SERVER_ERROR"
	KeyValidationFailed = "VALIDATION_FAILED"
	KeyUnauthorized     = "UNAUTHORIZED"
	KeyForbidden        = "FORBIDDEN"
	KeyNotFound         = "NOT_FOUND"
	KeyConflict         = "CONFLICT"
	KeyRateLimited      = "RATE_LIMITED"
	KeyUnavailable      = "SERVICE_UNAVAILABLE"

	KeyMissingAPIKey      = "MISSING_API_KEY"
	KeyInvalidAPIKey      = "INVALID_API_KEY"
	KeyAPIKeyRevoked      = "API_KEY_REVOKED"
	KeyAPIKeyScopeDenied  = "API_KEY_SCOPE_DENIED"
	KeyInvalidCredentials = "INVALID_CREDENTIALS"
	KeyMerchantNotFound   = "MERCHANT_NOT_FOUND"

	// Client-token verification. MISSING_BEARER, INVALID_TOKEN and
	// TOKEN_EXPIRED are the vendor's; the others are ours.
	KeyMissingToken         = "MISSING_BEARER"
	KeyInvalidToken         = "INVALID_TOKEN" // bad signature, or signed with a retired secret
	KeyTokenExpired         = "TOKEN_EXPIRED"
	KeyTokenMalformed       = "TOKEN_MALFORMED"
	KeyTokenAlgorithm       = "TOKEN_ALGORITHM_NOT_ALLOWED"
	KeyTokenUnknownMerchant = "TOKEN_UNKNOWN_MERCHANT"
	KeyTokenLifetimeTooLong = "TOKEN_LIFETIME_TOO_LONG"
	KeyTokenRevoked         = "TOKEN_REVOKED"
	KeyTokenIssuedInFuture  = "TOKEN_ISSUED_IN_FUTURE"
	KeyTokenClaimsInvalid   = "TOKEN_CLAIMS_INVALID"
	KeyTokenWrongSurface    = "TOKEN_WRONG_SURFACE"

	// Trading keys: the vendor's trading table, then ours.
	KeyExternalIDExists   = "EXTERNAL_ID_EXISTS"
	KeyMissingItems       = "MISSING_ITEMS"
	KeyTooManyActive      = "TOO_MANY_ACTIVE_TRADES"
	KeyUserNotTradeable   = "USER_NOT_TRADEABLE"
	KeyTooManyItems       = "TOO_MANY_ITEMS"
	KeyItemsUnavailable   = "ITEMS_UNAVAILABLE"
	KeyItemsNotAccepted   = "ITEMS_NOT_ACCEPTED"
	KeyPriceChanged       = "PRICE_CHANGED"
	KeyInvalidTradeURL    = "INVALID_TRADEURL"
	KeyListingNotFound    = "LISTING_NOT_FOUND"
	KeyListingPrice       = "LISTING_PRICE_INVALID"
	KeyInvalidListingID   = "INVALID_LISTING_ID"
	KeyExceedsMaxAmount   = "EXCEEDS_MAX_AMOUNT"
	KeyInventoryFetch     = "INVENTORY_FETCH_FAILED"
	KeyTradeOfferFailed   = "TRADE_OFFER_FAILED"
	KeyTradeNotFound      = "TRADE_NOT_FOUND"
	KeyNoCallbackURL      = "MERCHANT_NO_CALLBACK_URL"
	KeyCallbackTestFailed = "CALLBACK_URL_TEST_FAILED"
	KeyTradeURLNotOwned   = "TRADE_URL_NOT_OWNED"
	KeySandboxOnly        = "SANDBOX_ONLY"
	KeyOfferNotFound      = "OFFER_NOT_FOUND"
	KeyOfferState         = "OFFER_STATE_INVALID"
	KeyDeliveryNotFound   = "DELIVERY_NOT_FOUND"
	KeyDeliveryPending    = "DELIVERY_PENDING"

	KeyProviderInvalid = "INVALID_PROVIDER"
	KeyStoreNotFound   = "STORE_NOT_FOUND"

	// SagaPay payments.
	KeyTerminalNotFound = "TERMINAL_NOT_FOUND"
	KeyTerminalTaken    = "TERMINAL_REGISTERED_ELSEWHERE"
	KeyOrderNotFound    = "ORDER_NOT_FOUND"
	KeyOrderState       = "ORDER_STATE_INVALID"
	KeyPaymentNotFound  = "PAYMENT_NOT_FOUND"
	KeyPaymentState     = "PAYMENT_STATE_INVALID"
	KeyPaymentPending   = "PAYMENT_IN_PROGRESS"
	KeyCardNumber       = "CARD_NUMBER_REFUSED"
	KeyWebhookNotFound  = "WEBHOOK_NOT_FOUND"
	KeyAmountInvalid    = "AMOUNT_INVALID"
)
