package assetpay

import (
	"net/http"

	"github.com/jetonhq/jeton"
)

// ErrorCode is a row of the AssetPay error table.
type ErrorCode struct {
	Code   int
	Status int
}

// Codes maps error keys to the vendor's numeric codes and HTTP statuses:
// the seed-era [co] table for general and trading errors, the current
// [gg] table for authentication and API keys, and 3000-3099 for keys of
// jeton's own (docs/errors.md lists them all).
var Codes = map[string]ErrorCode{
	"SERVER_ERROR":        {1000, http.StatusInternalServerError},
	"VALIDATION_FAILED":   {1001, http.StatusBadRequest},
	"UNAUTHORIZED":        {1002, http.StatusUnauthorized},
	"FORBIDDEN":           {1003, http.StatusForbidden},
	"NOT_FOUND":           {1004, http.StatusNotFound},
	"CONFLICT":            {1005, http.StatusConflict},
	"UNPROCESSABLE":       {1006, http.StatusUnprocessableEntity},
	"RATE_LIMITED":        {1007, http.StatusTooManyRequests},
	"SERVICE_UNAVAILABLE": {1008, http.StatusServiceUnavailable},
	"SYSTEM_MAINTENANCE":  {1009, http.StatusServiceUnavailable},

	"INVALID_CREDENTIALS":      {1101, http.StatusUnauthorized},
	"INVALID_TOKEN":            {1102, http.StatusUnauthorized},
	"MISSING_BEARER":           {1108, http.StatusUnauthorized},
	"TOKEN_INVALID_OR_EXPIRED": {1110, http.StatusUnauthorized},
	"TOKEN_EXPIRED":            {1111, http.StatusUnauthorized},
	"ACCOUNT_DISABLED":         {1301, http.StatusForbidden},
	"MISSING_API_KEY":          {1900, http.StatusUnauthorized},
	"INVALID_API_KEY":          {1901, http.StatusUnauthorized},
	"API_KEY_REVOKED":          {1902, http.StatusUnauthorized},
	"API_KEY_SCOPE_DENIED":     {1903, http.StatusForbidden},

	jeton.KeyTokenMalformed:       {3001, http.StatusUnauthorized},
	jeton.KeyTokenAlgorithm:       {3002, http.StatusUnauthorized},
	jeton.KeyTokenUnknownMerchant: {3003, http.StatusUnauthorized},
	jeton.KeyTokenLifetimeTooLong: {3004, http.StatusUnauthorized},
	jeton.KeyTokenRevoked:         {3005, http.StatusUnauthorized},
	jeton.KeyTokenIssuedInFuture:  {3006, http.StatusUnauthorized},
	jeton.KeyTokenClaimsInvalid:   {3007, http.StatusUnauthorized},
	jeton.KeyTokenWrongSurface:    {3008, http.StatusUnauthorized},
	jeton.KeyMerchantNotFound:     {3010, http.StatusNotFound},
	jeton.KeyProviderInvalid:      {3011, http.StatusBadRequest},
	jeton.KeyStoreNotFound:        {3012, http.StatusNotFound},

	"EXTERNAL_ID_EXISTS":       {1, http.StatusConflict},
	"MISSING_ITEMS":            {2, http.StatusBadRequest},
	"INVENTORY_FETCH_FAILED":   {3, http.StatusInternalServerError},
	"TRADE_OFFER_FAILED":       {5, http.StatusInternalServerError},
	"TOO_MANY_ACTIVE_TRADES":   {6, http.StatusTooManyRequests},
	"USER_NOT_TRADEABLE":       {7, http.StatusBadRequest},
	"TOO_MANY_ITEMS":           {8, http.StatusBadRequest},
	"ITEMS_UNAVAILABLE":        {9, http.StatusBadRequest},
	"ITEMS_NOT_ACCEPTED":       {10, http.StatusBadRequest},
	"PRICE_CHANGED":            {11, http.StatusConflict},
	"MERCHANT_BALANCE_LOW":     {12, http.StatusBadRequest},
	"INVALID_TRADEURL":         {14, http.StatusBadRequest},
	"LISTING_NOT_FOUND":        {15, http.StatusNotFound},
	"LISTING_PRICE_INVALID":    {16, http.StatusBadRequest},
	"INVALID_LISTING_ID":       {17, http.StatusBadRequest},
	"EXCEEDS_MAX_AMOUNT":       {20, http.StatusBadRequest},
	"TRADE_NOT_FOUND":          {3013, http.StatusNotFound},
	"MERCHANT_NO_CALLBACK_URL": {3014, http.StatusBadRequest},
	"CALLBACK_URL_TEST_FAILED": {3015, http.StatusBadRequest},
	"SANDBOX_ONLY":             {3016, http.StatusForbidden},
	"OFFER_NOT_FOUND":          {3017, http.StatusNotFound},
	"OFFER_STATE_INVALID":      {3018, http.StatusConflict},
	"DELIVERY_NOT_FOUND":       {3019, http.StatusNotFound},
	"DELIVERY_PENDING":         {3020, http.StatusConflict},
}

// byKind is the fallback row for a key the table lacks.
var byKind = map[jeton.Kind]string{
	jeton.KindInvalid:      "VALIDATION_FAILED",
	jeton.KindUnauthorized: "UNAUTHORIZED",
	jeton.KindForbidden:    "FORBIDDEN",
	jeton.KindNotFound:     "NOT_FOUND",
	jeton.KindConflict:     "CONFLICT",
	jeton.KindRateLimited:  "RATE_LIMITED",
	jeton.KindInternal:     "SERVER_ERROR",
	jeton.KindUnavailable:  "SERVICE_UNAVAILABLE",
}

// lookup returns the code row of an error, falling back on its kind.
func lookup(e *jeton.Error) (string, ErrorCode) {
	if c, ok := Codes[e.Key]; ok {
		return e.Key, c
	}
	k := byKind[e.Kind]
	if k == "" {
		k = "SERVER_ERROR"
	}
	c := Codes[k]
	if e.Key != "" {
		return e.Key, c
	}
	return k, c
}
