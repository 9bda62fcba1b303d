// Package sandbox is jeton's test mode: a simulated Steam and marketplace
// implementing steam.Backend, so that deposits, withdrawals, holds and
// reversals run on one machine without network, the way a card
// processor's test mode runs payments without a bank.
//
// Inventories, listings and prices are generated deterministically from
// an embedded catalog (catalog/cs2.tsv and catalog/rust.tsv: real market
// hash names with plausible prices): the same Steam ID has the same items
// in every process, and every listing id resolves in every process.
//
// Offers, testers' controls and the sandbox clock are kept in a
// jeton.SandboxStore, so several instances sharing a database agree, and
// an offer's state is computed from the stored offer, its control, the
// Config and the clock alone. What happens to an offer is chosen by the
// trade URL token (the test values, see the Token constants), e.g.
//
//	https://steamcommunity.com/tradeoffer/new/?partner=52079950&token=decline0
//
// is Steam ID 76561198012345678 declining every offer. Any other token is
// a healthy account that accepts after Config.AcceptAfter; a CS2 offer is
// then held for Config.Hold (7 days by default) and may be reversed by a
// control (Reverse) or by the revuser0 and revsupp0 tokens halfway
// through the hold. AdvanceClock moves the shared clock so holds and
// offer windows can run out at once.
//
// docs/sandbox.md has the full table of test values.
package sandbox
