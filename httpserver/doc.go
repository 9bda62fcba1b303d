// Package httpserver is what both vendor surfaces share: request ids,
// CORS for browser-facing routes, metrics, access logs, health checks,
// body limits, the served OpenAPI document, and mounting the surfaces'
// routes on one mux.
package httpserver
