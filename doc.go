// Package jeton is the domain of the jeton gateway: merchants, their
// credentials, client tokens and the errors every surface speaks.
//
// It imports only the standard library. Adapters (sqlstore, assetpay,
// sagapay, httpserver, ...) implement or consume the interfaces declared
// here, never each other; cmd/jeton wires the concrete types together.
package jeton
