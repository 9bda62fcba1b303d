// Package client is jeton's Go SDK for merchants' backends: mint client
// tokens locally (exactly as the AssetPay seed's jose snippet and the
// vendor SDK do), call both API surfaces with typed errors, and verify and
// answer what jeton sends back.
//
// The client token a merchant mints here is accepted everywhere a token
// from POST /auth/authenticate-client is.
//
// The pieces:
//
//   - Tokens: [MintToken] and [MintSagaPayToken] sign one token;
//     [MintedTokens], [MintedSagaPayTokens], [API.AssetPayTokenSource] and
//     [API.SagaPayTokenSource] are token sources, and [CachedTokenSource]
//     reuses a token until shortly before it expires.
//   - AssetPay: [API] calls the merchant routes (/secure, /v1) with the API
//     key; [AssetPay] calls the /client routes as one end user with a
//     token. Prices are [USD], whole cents read exactly.
//   - SagaPay: [SagaPay] calls orders, payments and transactions, with a
//     user's token or, from [API.SagaPay], the merchant's credentials;
//     terminals, webhook endpoints and the webhook delivery log are
//     methods of [API].
//   - Callbacks: [VerifyAssetPayCallback] (the X-AssetPay-Signature
//     header), [VerifyAssetPayBodyKey] (payload.key) and
//     [VerifySagaPayWebhook] (x-webhook-signature) wrap callback/sign, the
//     functions jeton signs with; failures carry the vendor SDK's reason
//     words ([ReasonOf]). [CallbackHandler] is a whole callback URL:
//     it acknowledges the test ping, answers approval calls from an
//     [ApprovalFunc] and applies status callbacks with a [StatusFunc];
//     [SagaPayWebhookHandler] is a webhook endpoint.
//
// Every error the server answers is an [*Error]; branch on its Key.
package client
