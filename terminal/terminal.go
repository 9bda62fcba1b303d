// Package terminal is the sandbox's card side: virtual payment terminals
// that walk Surfboard's terminal events and an acquirer that answers by
// documented test amounts, so every payment flow runs with no card and no
// network. It implements payment.Processor. It never sees a card number:
// a sandbox card is a brand and four digits.
package terminal

import (
	"context"
	"time"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/payment"
)

// Test amounts: the last two digits of a payment's amount in minor units
// decide what the sandbox acquirer does, like a card network's test
// cards. Any other amount is approved.
const (
	DeclineInsufficientFunds = 51 // PAYMENT_FAILED "Insufficient funds"
	DeclineExpiredCard       = 52 // PAYMENT_FAILED "Expired card"
	DeclineDoNotHonour       = 53 // PAYMENT_FAILED "Do not honour"
	DeclineWrongPIN          = 54 // three wrong PINs, then PAYMENT_FAILED "PIN tries exceeded"
	CancelOnTerminal         = 91 // the customer cancels on the terminal: PAYMENT_CANCELLED
	CancelTimeout            = 92 // no card presented in time: PAYMENT_CANCELLED "Timeout"
)

// Tip is the tip the sandbox's customer picks on the tip screen: the
// first tip level (a percentage of the amount, rounded down), or, in
// ROUNDUP mode, what rounds the amount up to a whole unit (100 minor
// units).
func Tip(p payment.TipPrompt, amount int64) int64 {
	switch {
	case p.Mode == "ROUNDUP":
		return (100 - amount%100) % 100
	case len(p.Levels) > 0:
		return amount/100*p.Levels[0] + amount%100*p.Levels[0]/100
	}
	return 0
}

// PINThreshold is the amount from which the sandbox card asks for a PIN
// (contactless below it, chip and PIN above).
const PINThreshold = 50000

// Sandbox is the sandbox processor.
type Sandbox struct{}

// New returns the sandbox processor.
func New() *Sandbox { return &Sandbox{} }

var _ payment.Processor = (*Sandbox)(nil)

// Card is the sandbox's test card: a Visa debit ending 0010.
var Card = jeton.Card{Brand: "VISA", Label: "Visa Debit", TruncatedPan: "0010", Usage: "Debit", EntryMode: "07"}

// Step runs a payment on a virtual terminal from the card prompt to the
// acquirer's answer, by the test amounts.
func (s *Sandbox) Step(_ context.Context, in payment.StepInput) (payment.Outcome, error) {
	if in.Terminal.Manual {
		return manual(in)
	}
	p := in.Payment
	var out payment.Outcome
	if in.Tip != nil {
		out.Events = append(out.Events, "SELECT_TIP")
		out.Tip = Tip(*in.Tip, p.Amount)
	}
	out.Events = append(out.Events, "AWAITING_CARD")
	return present(out, p, Card), nil
}

// Lifecycle is how long a manual terminal waits for its tester before the
// payment is cancelled with "Timeout" (Surfboard's default 180 s).
const Lifecycle = 180 * time.Second

// Cards are the sandbox's test cards by brand; VISA is the default.
var Cards = map[string]jeton.Card{
	"VISA":       Card,
	"MASTERCARD": {Brand: "MASTERCARD", Label: "Mastercard Credit", TruncatedPan: "0028", Usage: "Credit", EntryMode: "07"},
	"AMEX":       {Brand: "AMEX", Label: "American Express", TruncatedPan: "0005", Usage: "Credit", EntryMode: "07"},
}

// manual runs a payment on a terminal a tester drives with the sandbox
// controls: the tip screen and the card prompt wait for them.
func manual(in payment.StepInput) (payment.Outcome, error) {
	p, c := in.Payment, in.Control
	deadline := p.CreatedAt.Add(Lifecycle)
	var out payment.Outcome
	wait := func(step string) (payment.Outcome, error) {
		if !in.Now.Before(deadline) {
			out.Cancelled = "Timeout"
			return out, nil
		}
		if p.Step != step {
			out.Events = append(out.Events, step)
		}
		out.Wait, out.Until = true, deadline
		return out, nil
	}
	if c.Cancel {
		out.Cancelled = "Cancelled on the terminal"
		return out, nil
	}
	if in.Tip != nil && !c.TipChosen() {
		return wait("SELECT_TIP")
	}
	if c.Card == "" {
		return wait("AWAITING_CARD")
	}
	if in.Tip != nil {
		out.Tip = chosenTip(*in.Tip, c, p.Amount)
	}
	if p.Step == "SELECT_TIP" {
		out.Events = append(out.Events, "AWAITING_CARD")
	}
	card, ok := Cards[c.Card]
	if !ok {
		card = Card
	}
	return present(out, p, card), nil
}

// chosenTip is the tip a tester picked on the tip screen.
func chosenTip(t payment.TipPrompt, c payment.Control, amount int64) int64 {
	switch {
	case c.NoTip:
		return 0
	case c.TipAmount > 0:
		return min(c.TipAmount, amount)
	case t.Mode == "ROUNDUP":
		return Tip(t, amount)
	case c.TipLevel > 0 && c.TipLevel <= len(t.Levels):
		pct := t.Levels[c.TipLevel-1]
		return amount/100*pct + amount%100*pct/100
	}
	return 0
}

// present runs the card from its presentation to the acquirer's answer,
// by the test amounts.
func present(out payment.Outcome, p jeton.Payment, card jeton.Card) payment.Outcome {
	cents := p.Amount % 100
	if cents < 0 {
		cents = -cents
	}
	switch cents {
	case CancelOnTerminal:
		out.Cancelled = "Cancelled on the terminal"
		return out
	case CancelTimeout:
		out.Cancelled = "Timeout"
		return out
	}
	out.Events = append(out.Events, "CARD_PRESENTED")
	if p.Amount >= PINThreshold {
		card.EntryMode = "05" // chip
		out.Events = append(out.Events, "ENTER_PIN")
	}
	out.Card = &card
	if cents == DeclineWrongPIN {
		out.Events = append(out.Events, "WRONG_PIN", "WRONG_PIN", "WRONG_PIN")
		out.Declined = "PIN tries exceeded"
		return out
	}
	out.Events = append(out.Events, "AUTHORIZING")
	switch cents {
	case DeclineInsufficientFunds:
		out.Declined = "Insufficient funds"
	case DeclineExpiredCard:
		out.Declined = "Expired card"
	case DeclineDoNotHonour:
		out.Declined = "Do not honour"
	default:
		out.Events = append(out.Events, "AUTHORIZED")
		out.Approved = true
	}
	return out
}
