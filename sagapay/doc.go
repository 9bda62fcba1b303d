// Package sagapay serves the SagaPay API surface, which is Surfboard
// Payments' API under SagaPay's name: no version prefix, merchant
// credentials in the API-KEY, API-SECRET and MERCHANT-ID headers, client
// tokens as Authorization: Bearer, and the envelope
// {status: "SUCCESS"|"ERROR", data, message}.
package sagapay
