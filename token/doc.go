// Package token mints and verifies client tokens for both surfaces.
//
// A client token is a compact JWT, HS256, signed with the merchant's API
// secret, whose protected header is {"alg":"HS256","userId":"<merchant id>"}
// as the AssetPay seed's jose snippet makes it. AssetPay tokens carry a
// "client" claim (steamID, tradeUrl, clientId?, clientData?); SagaPay tokens
// carry a "sagapay" claim (externalUserId, email?, providerId).
//
// The verifier is written against the standard library rather than a JWT
// library so that every way a token can be wrong maps to one stable error
// key, and so that the hot path (a token seen before) is a map lookup.
package token
