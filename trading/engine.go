package trading

import (
	"context"
	"errors"
	"time"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/callback"
	"github.com/jetonhq/jeton/steam"
)

// idleCheck is how long a trade waiting only on an outside event (a
// sandbox control) sleeps before it is looked at again anyway.
const idleCheck = time.Hour

// advance moves one trade as far as it can go now, starting from known
// when it is that trade (as its last writer left it), else from a read.
func (s *Service) advance(ctx context.Context, id string, known jeton.Trade) error {
	t := known
	if t.ID != id {
		var err error
		if t, err = s.cfg.Store.TradeAny(ctx, id); err != nil {
			return err
		}
	}
	m, err := s.cfg.Merchants.Merchant(ctx, t.MerchantID)
	if err != nil {
		return err
	}
	switch {
	case t.Type == jeton.Withdraw && t.Status == jeton.StatusInitiated:
		return s.approve(ctx, m, t)
	case t.Type == jeton.Deposit && t.Status == jeton.StatusInitiated,
		t.Type == jeton.Withdraw && t.Status == jeton.StatusPending:
		return s.sendOffer(ctx, m, t)
	case t.Status == jeton.StatusActive || t.Status == jeton.StatusHold:
		return s.checkOffer(ctx, m, t)
	}
	// Terminal: make sure it is never looked at again.
	if !t.NextCheckAt.IsZero() {
		_, err = s.cfg.Store.UpdateTrade(ctx, t, func(t jeton.Trade) (*jeton.TradeChange, error) {
			t.NextCheckAt = time.Time{}
			return &jeton.TradeChange{Trade: t}, nil
		})
	}
	return err
}

// update changes the trade only if it is still in the status it was read
// in; otherwise another step got there first and nothing is written. fn
// may run more than once (see jeton.TradeStore), or not at all on a run
// that finds the trade moved on: reset, when given, runs first on every
// run, so flags fn sets for its caller describe only the last run.
func (s *Service) update(ctx context.Context, read jeton.Trade, from jeton.TradeStatus, reset func(), fn func(t *jeton.Trade) (*jeton.TradeChange, error)) (jeton.Trade, error) {
	return s.cfg.Store.UpdateTrade(ctx, read, func(t jeton.Trade) (*jeton.TradeChange, error) {
		if reset != nil {
			reset()
		}
		if t.Status != from {
			return nil, nil
		}
		return fn(&t)
	})
}

// approve makes one approval attempt. The attempt is claimed in the
// database first (a lease), so one instance makes it, a crash during the
// call is retried after the lease, and three failed attempts time out.
func (s *Service) approve(ctx context.Context, m jeton.Merchant, t jeton.Trade) error {
	now := s.now()
	var claimed bool
	t, err := s.update(ctx, t, jeton.StatusInitiated, func() { claimed = false }, func(t *jeton.Trade) (*jeton.TradeChange, error) {
		if t.ApprovalLease.After(now) {
			return nil, nil // in flight elsewhere
		}
		if t.ApprovalAttempts >= MaxApprovalAttempts {
			return s.failed(m, t, jeton.FailApprovalTimeout, now)
		}
		t.ApprovalAttempts++
		t.ApprovalLease = now.Add(s.cfg.ApprovalTimeout + leaseMargin)
		t.NextCheckAt = t.ApprovalLease
		claimed = true
		return &jeton.TradeChange{Trade: *t}, nil
	})
	if err != nil || !claimed {
		return err
	}
	return s.callApproval(ctx, m, t)
}

// callApproval makes the approval attempt whose lease t holds and writes
// what the verdict decides, with the attempt, in one transaction.
func (s *Service) callApproval(ctx context.Context, m jeton.Merchant, t jeton.Trade) error {
	attempt := t.ApprovalAttempts
	verdict, a, err := s.cfg.Callbacks.Approve(ctx, t, attempt)
	if err != nil {
		s.cfg.Log.Warn("approval call", "trade", t.ID, "err", err)
	}
	now := s.now()
	decide := func(t *jeton.Trade, balanceLow bool) (*jeton.TradeChange, error) {
		if t.ApprovalAttempts != attempt {
			return nil, nil
		}
		t.ApprovalLease = time.Time{}
		switch {
		case verdict == callback.Approved && balanceLow:
			return s.failed(m, t, jeton.FailBalanceLow, now)
		case verdict == callback.Approved:
			if err := t.Move(jeton.StatusPending, now); err != nil {
				return nil, err
			}
			t.NextCheckAt = now
			return s.change(m, *t, jeton.Posting{Type: jeton.PostWithdrawal, Guard: true, Memo: "withdrawal approved: funds locked",
				Entries: []jeton.Entry{{Account: jeton.AccountAvailable, Amount: -t.TotalPrice}, {Account: jeton.AccountPending, Amount: t.TotalPrice}}})
		case verdict == callback.Rejected:
			return s.failed(m, t, jeton.FailMerchantRejected, now)
		case attempt >= MaxApprovalAttempts:
			return s.failed(m, t, jeton.FailApprovalTimeout, now)
		}
		t.NextCheckAt = now.Add(time.Duration(attempt) * time.Second)
		return &jeton.TradeChange{Trade: *t}, nil
	}
	var written bool
	read := t // t is reassigned below, and is empty after a failed write
	write := func(balanceLow bool) (jeton.Trade, error) {
		// written is reset on every run: a run that decided and then lost
		// its write to a newer version must not leave it set for a run
		// that finds the trade moved on, or the attempt goes unrecorded.
		return s.update(ctx, read, jeton.StatusInitiated, func() { written = false }, func(t *jeton.Trade) (*jeton.TradeChange, error) {
			ch, err := decide(t, balanceLow)
			if ch != nil && err == nil {
				ch.Attempts, written = []jeton.CallbackAttempt{a}, true
			}
			return ch, err
		})
	}
	t, err = write(false)
	if jeton.ErrorKey(err) == jeton.KeyBalanceLow {
		t, err = write(true)
	}
	if err != nil || !written {
		// The trade moved on without this verdict (or could not be
		// written): the attempt still goes in the log.
		s.cfg.Callbacks.RecordAttempt(context.WithoutCancel(ctx), a)
	}
	if err == nil && t.Status == jeton.StatusPending {
		s.kickWith(t)
	}
	return err
}

// failed ends a trade FAILED with code, refunding a withdrawal's locked
// funds if it was already approved.
func (s *Service) failed(m jeton.Merchant, t *jeton.Trade, code string, now time.Time) (*jeton.TradeChange, error) {
	wasLocked := t.Type == jeton.Withdraw && t.Status != jeton.StatusInitiated
	if err := t.Fail(code, now); err != nil {
		return nil, err
	}
	t.NextCheckAt, t.ApprovalLease = time.Time{}, time.Time{}
	if wasLocked {
		return s.change(m, *t, refund(t, 0))
	}
	return s.change(m, *t)
}

// refund returns a withdrawal's locked funds, less penalty.
func refund(t *jeton.Trade, penalty jeton.USD) jeton.Posting {
	p := jeton.Posting{Type: jeton.PostRefund, Memo: "withdrawal refunded", Entries: []jeton.Entry{
		{Account: jeton.AccountPending, Amount: -t.TotalPrice},
		{Account: jeton.AccountAvailable, Amount: t.TotalPrice - penalty},
	}}
	if penalty > 0 {
		p.Memo = "withdrawal declined: refunded less the decline penalty"
		p.Entries = append(p.Entries, jeton.Entry{Account: jeton.AccountFees, Amount: penalty})
	}
	return p
}

// DeclinePenalty is the vendor's buyer-decline penalty: 2% of the
// withdrawal, at most $9.
func DeclinePenalty(total jeton.USD) jeton.USD { return min(total*2/100, 900) }

// sendOffer sends the trade offer and moves the trade to ACTIVE.
func (s *Service) sendOffer(ctx context.Context, m jeton.Merchant, t jeton.Trade) error {
	dir := steam.FromUser
	if t.Type == jeton.Withdraw {
		dir = steam.ToUser
	}
	items := make([]steam.Item, len(t.Items))
	for i, it := range t.Items {
		items[i] = steam.Item{ID: it.ID, AppID: it.AppID, MarketHashName: it.MarketHashName, Amount: it.Amount, Price: int64(it.Offer.Price)}
	}
	offerID, st, err := s.cfg.Backend.SendOffer(ctx, steam.Offer{TradeID: t.ID, Game: steam.Game(t.Game), Direction: dir,
		SteamID: t.ClientSteamID, TradeURL: t.ClientTradeURL, Items: items})
	from := t.Status
	if err != nil {
		now := s.now()
		_, uerr := s.update(ctx, t, from, nil, func(t *jeton.Trade) (*jeton.TradeChange, error) {
			if errors.Is(err, steam.ErrUnavailable) {
				t.NextCheckAt = now.Add(5 * time.Second)
				return &jeton.TradeChange{Trade: *t}, nil
			}
			return s.failed(m, t, jeton.FailTradeURLInvalid, now)
		})
		return errors.Join(err, uerr)
	}
	now := s.now()
	t, err = s.update(ctx, t, from, nil, func(t *jeton.Trade) (*jeton.TradeChange, error) {
		if err := t.Move(jeton.StatusActive, now); err != nil {
			return nil, err
		}
		t.OfferID = &offerID
		t.NextCheckAt = next(st, now)
		if st.State != steam.OfferPending {
			t.NextCheckAt = now // already answered: due at once, even if this instance dies now
		}
		return s.change(m, *t)
	})
	if err == nil && st.State != steam.OfferPending {
		s.kickWith(t)
	}
	return err
}

func next(st steam.OfferStatus, now time.Time) time.Time {
	if st.NextCheck.IsZero() {
		return now.Add(idleCheck)
	}
	return st.NextCheck
}

// checkOffer follows an ACTIVE or HOLD trade's offer.
func (s *Service) checkOffer(ctx context.Context, m jeton.Merchant, t jeton.Trade) error {
	if t.OfferID == nil {
		return errors.New("trade without offer")
	}
	st, err := s.cfg.Backend.OfferStatus(ctx, *t.OfferID)
	if err != nil {
		return err
	}
	now := s.now()
	hold := s.cfg.Backend.HoldPeriod(steam.Game(t.Game))
	again := false
	t, err = s.update(ctx, t, t.Status, func() { again = false }, func(t *jeton.Trade) (*jeton.TradeChange, error) {
		if t.Status == jeton.StatusActive {
			switch st.State {
			case steam.OfferPending:
				n := next(st, now)
				if n.Equal(t.NextCheckAt) {
					return nil, nil
				}
				t.NextCheckAt = n
				return &jeton.TradeChange{Trade: *t}, nil
			case steam.OfferAccepted, steam.OfferReversed:
				again = st.State == steam.OfferReversed
				if hold > 0 {
					if err := t.Move(jeton.StatusHold, now); err != nil {
						return nil, err
					}
					end := st.At.Add(hold).UTC()
					t.HoldEndDate = &end
					t.NextCheckAt = end
					if !st.NextCheck.IsZero() && st.NextCheck.Before(end) {
						t.NextCheckAt = st.NextCheck
					}
					if again {
						t.NextCheckAt = now // reversed already: REVERTED next
					}
					return s.change(m, *t, s.holdPostings(t)...)
				}
				if err := t.Move(jeton.StatusCompleted, now); err != nil {
					return nil, err
				}
				t.NextCheckAt = time.Time{}
				return s.change(m, *t, completePostings(t, false)...)
			case steam.OfferDeclined:
				if err := t.Move(jeton.StatusDeclined, now); err != nil {
					return nil, err
				}
				t.NextCheckAt = time.Time{}
				if t.Type == jeton.Withdraw {
					return s.change(m, *t, refund(t, DeclinePenalty(t.TotalPrice)))
				}
				return s.change(m, *t)
			case steam.OfferExpired:
				return s.failed(m, t, jeton.FailOfferNotAccepted, now)
			case steam.OfferFailed:
				code := st.Reason
				if code == "" {
					code = jeton.FailService
				}
				return s.failed(m, t, code, now)
			}
			return nil, nil
		}
		// HOLD
		if st.State == steam.OfferReversed {
			if err := t.Move(jeton.StatusReverted, now); err != nil {
				return nil, err
			}
			by := st.ReversedBy
			t.RevertedBy = &by
			t.NextCheckAt = time.Time{}
			return s.change(m, *t, revertPostings(t)...)
		}
		if t.HoldEndDate != nil && !now.Before(*t.HoldEndDate) {
			if err := t.Move(jeton.StatusCompleted, now); err != nil {
				return nil, err
			}
			t.NextCheckAt = time.Time{}
			return s.change(m, *t, completePostings(t, true)...)
		}
		n := *t.HoldEndDate
		if !st.NextCheck.IsZero() && st.NextCheck.Before(n) {
			n = st.NextCheck
		}
		if n.Equal(t.NextCheckAt) {
			return nil, nil
		}
		t.NextCheckAt = n
		return &jeton.TradeChange{Trade: *t}, nil
	})
	if err == nil && again {
		s.kickWith(t)
	}
	return err
}

// holdPostings credit a deposit as it enters HOLD: preCredit spendable at
// once, pendingCredit in escrow until the hold ends. Withdrawals move no
// money at HOLD: their funds stay locked until COMPLETED.
func (s *Service) holdPostings(t *jeton.Trade) []jeton.Posting {
	if t.Type != jeton.Deposit {
		return nil
	}
	pre, pending := t.Credits()
	return []jeton.Posting{{Type: jeton.PostDeposit, Memo: "deposit in hold: instant credit and escrow", Entries: nonzero(
		jeton.Entry{Account: jeton.AccountAvailable, Amount: pre},
		jeton.Entry{Account: jeton.AccountEscrow, Amount: pending},
		jeton.Entry{Account: jeton.AccountMarket, Amount: -(pre + pending)},
	)}}
}

// completePostings settle a trade at COMPLETED: a deposit's escrow becomes
// spendable (or, with no hold, the whole deposit is credited); a
// withdrawal's locked funds are paid out.
func completePostings(t *jeton.Trade, fromHold bool) []jeton.Posting {
	if t.Type == jeton.Withdraw {
		return []jeton.Posting{{Type: jeton.PostSettlement, Memo: "withdrawal completed: paid", Entries: []jeton.Entry{
			{Account: jeton.AccountPending, Amount: -t.TotalPrice}, {Account: jeton.AccountMarket, Amount: t.TotalPrice}}}}
	}
	if !fromHold {
		return []jeton.Posting{{Type: jeton.PostDeposit, Memo: "deposit completed: credited in full", Entries: []jeton.Entry{
			{Account: jeton.AccountAvailable, Amount: t.TotalPrice}, {Account: jeton.AccountMarket, Amount: -t.TotalPrice}}}}
	}
	_, pending := t.Credits()
	if pending == 0 {
		return nil
	}
	return []jeton.Posting{{Type: jeton.PostDeposit, Memo: "deposit completed: pending credit released", Entries: []jeton.Entry{
		{Account: jeton.AccountEscrow, Amount: -pending}, {Account: jeton.AccountAvailable, Amount: pending}}}}
}

// revertPostings undo a trade reversed during its hold. A withdrawal is
// refunded in full. A deposit loses its escrow; of its instant credit, the
// part the provider's collateral backed is the provider's loss, and the
// part the merchant's collateral (or a self-trade) backed is taken back
// from the merchant.
func revertPostings(t *jeton.Trade) []jeton.Posting {
	if t.Type == jeton.Withdraw {
		return []jeton.Posting{refund(t, 0)}
	}
	pre, pending := t.Credits()
	var prov jeton.USD
	if t.Source == jeton.SourceClient && t.Collateral != nil {
		prov = min(t.Collateral.Provider, pre)
	}
	merch := pre - prov
	return []jeton.Posting{{Type: jeton.PostReversal, Memo: "deposit reversed in hold", Entries: nonzero(
		jeton.Entry{Account: jeton.AccountEscrow, Amount: -pending},
		jeton.Entry{Account: jeton.AccountAvailable, Amount: -merch},
		jeton.Entry{Account: jeton.AccountProvider, Amount: -prov},
		jeton.Entry{Account: jeton.AccountMarket, Amount: pre + pending},
	)}}
}

func nonzero(es ...jeton.Entry) []jeton.Entry {
	out := es[:0]
	for _, e := range es {
		if e.Amount != 0 {
			out = append(out, e)
		}
	}
	return out
}
