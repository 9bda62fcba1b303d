package sandbox

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/steam"
)

// Defaults of Config, exported so that the serve command's flags and the
// documentation quote the same numbers as the code.
const (
	// DefaultAcceptAfter is how long the simulated user takes to accept an
	// offer; it is the default of --sandbox-accept-after. Config's zero
	// AcceptAfter does NOT mean this: it means "only by control".
	DefaultAcceptAfter = 2 * time.Second
	// DefaultHold is Steam's CS2 trade-protection window.
	DefaultHold = 7 * 24 * time.Hour
	// DefaultOfferWindow is how long an unaccepted offer lives.
	DefaultOfferWindow = 10 * time.Minute
	// MaxClockStep bounds one AdvanceClock call, so a typo cannot throw
	// the shared clock years ahead.
	MaxClockStep = 365 * 24 * time.Hour
)

// Config tunes the simulated Steam. The zero value is valid: offers are
// then accepted only by control, with the default hold and offer window.
type Config struct {
	// AcceptAfter is how long after it is sent an offer is accepted (or,
	// for the decline test value, declined) by the simulated user. 0 means
	// never on its own: offers wait, without expiring, for a control
	// (Accept or Decline). Negative counts as 0. DefaultAcceptAfter (2s)
	// is the server's default.
	AcceptAfter time.Duration
	// Hold is the CS2 trade-protection window during which an accepted
	// offer can be reversed. 0 means DefaultHold (7 days); a negative
	// value means no hold at all. Rust never has a hold.
	Hold time.Duration
	// OfferWindow is how long an offer may stay unaccepted before it
	// expires. 0 (or negative) means DefaultOfferWindow (10 minutes). An
	// AcceptAfter of OfferWindow or more makes every offer expire.
	OfferWindow time.Duration
	// Now is the real clock the sandbox clock runs ahead of; nil means
	// time.Now. Tests inject a fake one.
	Now func() time.Time
}

// Sandbox is the simulated Steam: a steam.Backend whose inventories,
// market and prices are generated deterministically from embedded data
// and whose offers, controls and clock live in a jeton.SandboxStore, so
// that every instance sharing the store agrees. It is safe for
// concurrent use.
type Sandbox struct {
	store       jeton.SandboxStore
	acceptAfter time.Duration
	hold        time.Duration
	offerWindow time.Duration
	now         func() time.Time
	offset      atomic.Int64 // sandbox clock minus real clock, nanoseconds
	w           *world
}

var _ steam.Backend = (*Sandbox)(nil)

// New returns a sandbox over store. The clock offset starts at zero: call
// Refresh once before serving (and then periodically) so that the
// instance picks up a clock advanced earlier or by another instance.
func New(store jeton.SandboxStore, cfg Config) *Sandbox {
	s := &Sandbox{
		store:       store,
		acceptAfter: max(cfg.AcceptAfter, 0),
		hold:        cfg.Hold,
		offerWindow: cfg.OfferWindow,
		now:         cfg.Now,
		w:           builtinWorld(),
	}
	switch {
	case s.hold == 0:
		s.hold = DefaultHold
	case s.hold < 0:
		s.hold = 0
	}
	if s.offerWindow <= 0 {
		s.offerWindow = DefaultOfferWindow
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// Now is the sandbox clock: the real clock plus the offset testers moved
// it by. Holds, offer windows and inventory timestamps are all read on it.
func (s *Sandbox) Now() time.Time {
	return s.now().Add(time.Duration(s.offset.Load()))
}

// ClockOffset reports how far the sandbox clock runs ahead of the real
// one, as this instance last saw it; the control routes show it.
func (s *Sandbox) ClockOffset() time.Duration { return time.Duration(s.offset.Load()) }

// HoldPeriod is how long accepted offers of g stay reversible: the
// configured hold for CS2, none for Rust.
func (s *Sandbox) HoldPeriod(g steam.Game) time.Duration {
	if g == steam.CS2 {
		return s.hold
	}
	return 0
}

// Refresh re-reads the clock offset from the store, so that a clock
// advanced through another instance reaches this one. The server calls it
// every second.
func (s *Sandbox) Refresh(ctx context.Context) error {
	off, err := s.store.SandboxClock(ctx)
	if err != nil {
		return fmt.Errorf("sandbox: read clock: %w", err)
	}
	s.raiseOffset(off)
	return nil
}

// AdvanceClock moves the shared sandbox clock forward by d (0 < d ≤
// MaxClockStep), so testers can run out holds and offer windows without
// waiting, and returns the new sandbox time.
func (s *Sandbox) AdvanceClock(ctx context.Context, d time.Duration) (time.Time, error) {
	if d <= 0 || d > MaxClockStep {
		return time.Time{}, fmt.Errorf("%w: got %s", ErrClockStep, d)
	}
	off, err := s.store.AdvanceSandboxClock(ctx, d)
	if err != nil {
		return time.Time{}, fmt.Errorf("sandbox: advance clock: %w", err)
	}
	s.raiseOffset(off)
	return s.Now(), nil
}

// raiseOffset stores off unless the cached offset is already larger. The
// store's offset only moves forward, so a larger cached value means this
// read raced with a newer advance; keeping the larger one stops the clock
// from stepping back until the next Refresh.
func (s *Sandbox) raiseOffset(off time.Duration) {
	for {
		cur := s.offset.Load()
		if int64(off) <= cur || s.offset.CompareAndSwap(cur, int64(off)) {
			return
		}
	}
}

// stamp is the sandbox time as stored: UTC, whole milliseconds, no
// monotonic reading, so it survives any store unchanged.
func (s *Sandbox) stamp() time.Time {
	return s.Now().UTC().Truncate(time.Millisecond)
}
