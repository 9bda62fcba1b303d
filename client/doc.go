// Package client is jeton's Go SDK for merchants' backends: mint client
// tokens locally (exactly as the AssetPay seed's jose snippet and the
// vendor SDK do), and call both API surfaces with typed errors.
//
// The client token a merchant mints here is accepted everywhere a token
// from POST /auth/authenticate-client is.
package client
