// Package sign signs and verifies the callbacks jeton sends to merchants.
//
// Both sides live here on purpose: the gateway signs with these functions
// and the merchant SDK verifies with the same ones, so the two can never
// drift apart. It imports only the standard library.
//
// Three schemes exist, one per vendor API jeton speaks:
//
//   - AssetPay body key (the older "co" API). The callback body is
//     {"payload":{"trade":T,"event":"STATUS","timestamp":"ISO","key":"HEX"}}
//     and key is the lowercase hex HMAC-SHA256, keyed with the merchant's
//     API secret, of [Canonical] JSON of T. See [BodyKey] and
//     [VerifyBodyKey].
//
//   - AssetPay signature header (the newer "gg" API):
//     X-AssetPay-Signature: t=ISO,id=DELIVERY,s=HEX[,s1=HEX], where s is
//     the lowercase hex HMAC-SHA256 of DELIVERY + "." + ISO + "." + raw body
//     and s1, present while a secret rotates, is the same under the previous
//     secret. See [Header], [VerifyHeader] and, for the dashboard,
//     [Explain]. Verification follows the vendor's TypeScript SDK
//     (verifyWebhook) rule for rule, including its failure reasons.
//
//   - SagaPay webhook: x-webhook-signature is the padded standard base64 of
//     HMAC-SHA512(webhook secret, raw body). See [SagaPay] and
//     [VerifySagaPay].
//
// Every verifier takes a list of secrets (current first, then the previous
// one during rotation), skips empty ones so a missing configuration can
// never become a key anyone can compute, and compares in constant time
// against all of them without stopping at the first match.
package sign
