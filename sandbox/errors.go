package sandbox

import "github.com/jetonhq/jeton"

// Errors of the sandbox. They are *jeton.Error values so that the HTTP
// surfaces map them to a status without a table of their own; compare
// with errors.Is (they are returned wrapped with details) and never
// modify them.
var (
	// ErrInvalidSteamID: the Steam ID is not a SteamID64, so there is no
	// inventory to generate.
	ErrInvalidSteamID = &jeton.Error{Kind: jeton.KindInvalid, Key: jeton.KeyValidationFailed, Message: "sandbox: not a SteamID64 (17 digits starting with 76561)"}
	// ErrInvalidGame: the game is neither CS2 (730) nor Rust (252490).
	ErrInvalidGame = &jeton.Error{Kind: jeton.KindInvalid, Key: jeton.KeyValidationFailed, Message: "sandbox: game must be 730 or 252490"}
	// ErrInvalidOffer: SendOffer was given an offer Steam could not even
	// be asked to send (no trade id, bad trade URL or Steam ID, no items).
	ErrInvalidOffer = &jeton.Error{Kind: jeton.KindInvalid, Key: jeton.KeyValidationFailed, Message: "sandbox: invalid offer"}
	// ErrNotPending: Accept or Decline on an offer that is no longer
	// awaiting the user.
	ErrNotPending = &jeton.Error{Kind: jeton.KindConflict, Key: jeton.KeyConflict, Message: "sandbox: the offer is not pending"}
	// ErrNotReversible: Reverse on an offer that is not accepted, has no
	// hold (Rust), or whose hold has ended.
	ErrNotReversible = &jeton.Error{Kind: jeton.KindConflict, Key: jeton.KeyConflict, Message: "sandbox: the offer is not accepted inside its hold"}
	// ErrInvalidReverser: Reverse was told a party other than "user" or
	// "supplier".
	ErrInvalidReverser = &jeton.Error{Kind: jeton.KindInvalid, Key: jeton.KeyValidationFailed, Message: `sandbox: a reversal is by "user" or "supplier"`}
	// ErrClockStep: AdvanceClock was asked for a step outside (0,
	// MaxClockStep].
	ErrClockStep = &jeton.Error{Kind: jeton.KindInvalid, Key: jeton.KeyValidationFailed, Message: "sandbox: the clock moves forward by more than 0 and at most 365 days"}
)
