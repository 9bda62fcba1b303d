// Package assetpay serves the AssetPay API surface (/auth, /client,
// /secure, /v1, /health) with the vendor's envelope
// {requestId, success, data} and error table.
package assetpay
