package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/steam"
)

// Parties that can reverse an accepted offer, as steam.OfferStatus's
// ReversedBy and Reverse's by spell them.
const (
	// ByUser: the user reversed the trade (e.g. a chargeback-like Steam
	// trade reversal).
	ByUser = "user"
	// BySupplier: the marketplace supplier reversed it.
	BySupplier = "supplier"
)

// Controls as stored in jeton.SandboxOffer.Control. A reversal records
// its party after a colon, because the store keeps one control per offer
// and the reversed status must still name who reversed.
const (
	controlAccept          = "accept"
	controlDecline         = "decline"
	controlReverse         = "reverse" // bare, as another writer might store it: by the user
	controlReversePrefix   = controlReverse + ":"
	controlReverseUser     = controlReversePrefix + ByUser
	controlReverseSupplier = controlReversePrefix + BySupplier
)

// offerIDPrefix starts every sandbox offer id.
const offerIDPrefix = "sbx_"

// SendOffer stores the offer (or, when an offer for o.TradeID exists,
// returns that one's id) and returns its id and status. An offer that names a
// troubled account by its trade URL token, or whose trade URL belongs to
// another account than o.SteamID, is still stored and reports failed, so
// the trade records why; only an offer that cannot be sent at all
// (ErrInvalidOffer) is refused.
func (s *Sandbox) SendOffer(ctx context.Context, o steam.Offer) (string, steam.OfferStatus, error) {
	switch {
	case o.TradeID == "":
		return "", steam.OfferStatus{}, fmt.Errorf("%w: no trade id", ErrInvalidOffer)
	case !o.Game.Valid():
		return "", steam.OfferStatus{}, fmt.Errorf("%w: game %q", ErrInvalidOffer, string(o.Game))
	case o.Direction != steam.FromUser && o.Direction != steam.ToUser:
		return "", steam.OfferStatus{}, fmt.Errorf("%w: direction %q", ErrInvalidOffer, string(o.Direction))
	case len(o.Items) == 0:
		return "", steam.OfferStatus{}, fmt.Errorf("%w: no items", ErrInvalidOffer)
	}
	if _, err := steam.ParseSteamID(o.SteamID); err != nil {
		return "", steam.OfferStatus{}, fmt.Errorf("%w: steam id %q", ErrInvalidOffer, o.SteamID)
	}
	if _, err := steam.ParseTradeURL(o.TradeURL); err != nil {
		return "", steam.OfferStatus{}, fmt.Errorf("%w: trade URL: %v", ErrInvalidOffer, err)
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", steam.OfferStatus{}, fmt.Errorf("sandbox: offer id: %w", err)
	}
	saved, err := s.store.SaveSandboxOffer(ctx, jeton.SandboxOffer{
		ID:        offerIDPrefix + hex.EncodeToString(b[:]),
		TradeID:   o.TradeID,
		Game:      string(o.Game),
		Direction: string(o.Direction),
		SteamID:   o.SteamID,
		TradeURL:  o.TradeURL,
		CreatedAt: s.stamp(),
	})
	if err != nil {
		return "", steam.OfferStatus{}, fmt.Errorf("%w: save offer: %w", steam.ErrUnavailable, err)
	}
	return saved.ID, s.status(saved, s.Now()), nil
}

// OfferStatus reports where an offer stands on the sandbox clock. It is
// computed from the stored offer, its control and the configuration
// alone, so every instance answers the same; steam.ErrOfferNotFound for
// an unknown id.
func (s *Sandbox) OfferStatus(ctx context.Context, offerID string) (steam.OfferStatus, error) {
	o, err := s.load(ctx, offerID)
	if err != nil {
		return steam.OfferStatus{}, err
	}
	return s.status(o, s.Now()), nil
}

// Accept makes the user accept a pending offer now, as a tester would on
// the user's behalf; ErrNotPending once it has been answered, expired or
// failed.
func (s *Sandbox) Accept(ctx context.Context, offerID string) (steam.OfferStatus, error) {
	return s.answer(ctx, offerID, controlAccept)
}

// Decline makes the user decline a pending offer now; ErrNotPending once
// it has been answered, expired or failed.
func (s *Sandbox) Decline(ctx context.Context, offerID string) (steam.OfferStatus, error) {
	return s.answer(ctx, offerID, controlDecline)
}

func (s *Sandbox) answer(ctx context.Context, offerID, control string) (steam.OfferStatus, error) {
	o, err := s.load(ctx, offerID)
	if err != nil {
		return steam.OfferStatus{}, err
	}
	at := s.stamp()
	if st := s.status(o, at); st.State != steam.OfferPending {
		return st, fmt.Errorf("%w: offer %s is %s", ErrNotPending, offerID, st.State)
	}
	return s.control(ctx, o, control, at)
}

// Reverse reverses an accepted offer now, by ByUser or BySupplier, as
// Steam or the supplier would during the hold; ErrNotReversible when the
// offer is not accepted, has no hold (Rust) or its hold has ended, and
// ErrInvalidReverser for any other party.
func (s *Sandbox) Reverse(ctx context.Context, offerID, by string) (steam.OfferStatus, error) {
	if by != ByUser && by != BySupplier {
		return steam.OfferStatus{}, fmt.Errorf("%w: got %q", ErrInvalidReverser, by)
	}
	o, err := s.load(ctx, offerID)
	if err != nil {
		return steam.OfferStatus{}, err
	}
	at := s.stamp()
	st := s.status(o, at)
	hold := s.HoldPeriod(steam.Game(o.Game))
	if st.State != steam.OfferAccepted || hold <= 0 || !at.Before(st.At.Add(hold)) {
		why := string(st.State)
		if st.State == steam.OfferAccepted {
			why = "past its hold"
			if hold <= 0 {
				why = "without a hold"
			}
		}
		return st, fmt.Errorf("%w: offer %s is %s", ErrNotReversible, offerID, why)
	}
	return s.control(ctx, o, controlReversePrefix+by, at)
}

func (s *Sandbox) control(ctx context.Context, o jeton.SandboxOffer, control string, at time.Time) (steam.OfferStatus, error) {
	if err := s.store.SetSandboxControl(ctx, o.ID, control, at); err != nil {
		return steam.OfferStatus{}, fmt.Errorf("sandbox: store control: %w", err)
	}
	o.Control, o.ControlAt = control, at
	return s.status(o, at), nil
}

// load reads an offer, mapping the store's not-found to
// steam.ErrOfferNotFound and its other failures to steam.ErrUnavailable.
func (s *Sandbox) load(ctx context.Context, offerID string) (jeton.SandboxOffer, error) {
	if !strings.HasPrefix(offerID, offerIDPrefix) {
		return jeton.SandboxOffer{}, steam.ErrOfferNotFound
	}
	o, err := s.store.SandboxOffer(ctx, offerID)
	if err != nil {
		var je *jeton.Error
		if errors.As(err, &je) && je.Kind == jeton.KindNotFound {
			return jeton.SandboxOffer{}, steam.ErrOfferNotFound
		}
		return jeton.SandboxOffer{}, fmt.Errorf("%w: load offer: %w", steam.ErrUnavailable, err)
	}
	return o, nil
}

// status is the heart of the sandbox: the state of o at now, from its
// token, its control and the configuration.
//
// An offer fails at CreatedAt when its token says so. Otherwise a control
// decides when there is one. Without one, it stays pending until
// CreatedAt+AcceptAfter, where the user accepts it (or declines it, for
// the decline value) — unless that is not before CreatedAt+OfferWindow,
// or the token is the expire value, in which case it expires at the
// window; with AcceptAfter 0 it stays pending until a control. An
// accepted CS2 offer with a reversal value is reversed at At+Hold/2.
func (s *Sandbox) status(o jeton.SandboxOffer, now time.Time) steam.OfferStatus {
	g := steam.Game(o.Game)
	b := behaviour{fail: ReasonTradeURLInvalid}
	if t, err := steam.ParseTradeURL(o.TradeURL); err == nil {
		if id, err := steam.ParseSteamID(o.SteamID); err == nil && t.BelongsTo(id) {
			b = behaviourOf(t.Token, g)
		}
	}
	created := o.CreatedAt
	if b.fail != "" {
		return steam.OfferStatus{State: steam.OfferFailed, At: created, Reason: b.fail}
	}
	switch o.Control {
	case controlAccept:
		return s.accepted(g, b, o.ControlAt, now)
	case controlDecline:
		return steam.OfferStatus{State: steam.OfferDeclined, At: o.ControlAt}
	case controlReverseUser, controlReverseSupplier, controlReverse:
		by := strings.TrimPrefix(o.Control, controlReversePrefix)
		if by == controlReverse {
			by = ByUser
		}
		return steam.OfferStatus{State: steam.OfferReversed, At: o.ControlAt, ReversedBy: by}
	}
	var end time.Time
	state := steam.OfferExpired
	switch {
	case b.expire || s.acceptAfter >= s.offerWindow:
		end = created.Add(s.offerWindow)
	case s.acceptAfter > 0:
		end = created.Add(s.acceptAfter)
		state = steam.OfferAccepted
		if b.decline {
			state = steam.OfferDeclined
		}
	}
	// With AcceptAfter 0 (and no expire value) end stays zero: the offer
	// waits for a control.
	if end.IsZero() || now.Before(end) {
		return steam.OfferStatus{State: steam.OfferPending, At: created, NextCheck: end}
	}
	if state == steam.OfferAccepted {
		return s.accepted(g, b, end, now)
	}
	return steam.OfferStatus{State: state, At: end}
}

// accepted is the status of an offer accepted at at: reversed halfway
// through the hold when its token says so, else accepted for good (a
// control may still reverse it inside the hold).
func (s *Sandbox) accepted(g steam.Game, b behaviour, at, now time.Time) steam.OfferStatus {
	hold := s.HoldPeriod(g)
	if b.reverseBy == "" || hold <= 0 {
		return steam.OfferStatus{State: steam.OfferAccepted, At: at}
	}
	rev := at.Add(hold / 2)
	if now.Before(rev) {
		return steam.OfferStatus{State: steam.OfferAccepted, At: at, NextCheck: rev}
	}
	return steam.OfferStatus{State: steam.OfferReversed, At: rev, ReversedBy: b.reverseBy}
}
