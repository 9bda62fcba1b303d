// Package risk decides how much of a CS2 deposit is credited to the
// merchant at once (preCredit) and how much waits for the end of Steam's
// 7-day trade-protection hold (pendingCredit).
//
// The vendor's rule, which jeton follows, is
//
//	availableCollateral = (providerCollateral + merchantCollateral) − activeExposure
//	preCredit           = min(totalPrice, availableCollateral), never negative
//	pendingCredit       = totalPrice − preCredit
//
// providerCollateral is what jeton itself is willing to risk on the user.
// [Model.Provider] computes it from the merchant-sent clientData and the
// user's own history with jeton:
//
//	trust = Baseline
//	      + WagerBps   × min(totalWager, threshold(kycLevel, fiat, crypto))
//	      + min(SettledBps × settled value, SettledCap)
//	      + min(PerSettled × settled count, PerSettledCap)
//	      + min(RegistrationPerMonth × months since registrationDate, RegistrationCap)
//	      + min(FirstSeenPerMonth × months since jeton first saw the user, FirstSeenCap)
//	provider = min(trust, Max) × ReversalKeepBps^reversals  (each step rounded down)
//
// Wager only counts up to a threshold, so a user cannot buy instant credit
// by wagering alone; the threshold rises with the KYC level, with each
// payment method the merchant has seen, and most with KYC level 3 plus
// both fiat and crypto deposits. A reversal (the user taking the skins
// back during the hold, which leaves the merchant with a credit it cannot
// recover) halves the collateral with the default model, every time.
//
// merchantCollateral is extra the merchant funds for its own users.
// activeExposure is the sum of preCredit over the user's trades that are
// still INITIATED, ACTIVE or HOLD (ESCROW too, where the vendor uses it);
// the caller sums it, so that parallel deposits cannot spend the same
// collateral twice.
//
// Rust deposits (no hold) and merchant self-sells are credited in full:
// see [Full].
//
// All money is int64 US cents and every result is computed with integer
// arithmetic (rates are basis points, 10,000 = 100%). Inputs are clamped
// and sums and products saturate, so no input can overflow. Every result
// is monotone: more of a favourable input never lowers the collateral, and
// more reversals or exposure never raise it.
//
// docs/risk-model.md explains the model to merchants with worked examples;
// the tests recompute every one of them.
package risk
