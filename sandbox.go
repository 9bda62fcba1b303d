package jeton

import (
	"context"
	"time"
)

// SandboxOffer is a trade offer of the simulated Steam. It is stored so
// that every instance sharing the database sees the same offers, controls
// and clock, and so that a restart forgets nothing.
type SandboxOffer struct {
	ID        string
	TradeID   string
	Game      string
	Direction string
	SteamID   string
	TradeURL  string
	CreatedAt time.Time // on the sandbox clock
	// Control is a tester's decision ("accept", "decline", "reverse"),
	// "" when none; ControlAt is when it was made (sandbox clock).
	Control   string
	ControlAt time.Time
}

// SandboxStore keeps the simulated Steam's state.
type SandboxStore interface {
	// SaveSandboxOffer stores o unless an offer for o.TradeID exists,
	// and returns the stored offer.
	SaveSandboxOffer(ctx context.Context, o SandboxOffer) (SandboxOffer, error)
	// SandboxOffer returns an offer by id (KindNotFound when none).
	SandboxOffer(ctx context.Context, id string) (SandboxOffer, error)
	// SetSandboxControl records a tester's decision on an offer.
	SetSandboxControl(ctx context.Context, id, control string, at time.Time) error
	// SandboxClock returns how far the sandbox clock runs ahead of the
	// real one.
	SandboxClock(ctx context.Context) (time.Duration, error)
	// AdvanceSandboxClock moves the sandbox clock forward by d and
	// returns the new offset.
	AdvanceSandboxClock(ctx context.Context, d time.Duration) (time.Duration, error)
}
