package risk

import (
	"math"
	"math/bits"
	"time"
)

// Month is the length of one month of account age: exactly 30 days, so
// that an age bonus does not depend on the calendar or the time zone.
const Month = 30 * 24 * time.Hour

// bpsOne is 100% in basis points.
const bpsOne = 10_000

// ClientData is what the merchant tells us about its user (AssetPay's
// clientData). Missing values are the zero value and give the baseline.
// kycHash is not an input: jeton does not use it.
type ClientData struct {
	// TotalWager is what the user has wagered with the merchant, in cents
	// (the API sends USD; convert at the edge). It raises trust up to
	// the user's wager threshold.
	TotalWager int64
	// KYCLevel is 0 to 3; higher levels raise the wager threshold. Values
	// outside 0..3 are clamped.
	KYCLevel int
	// FiatDeposits and CryptoDeposits say the user has paid the merchant
	// by that method; each raises the wager threshold, and both together
	// with KYC level 3 raise it the most.
	FiatDeposits, CryptoDeposits bool
	// RegistrationDate is when the user registered with the merchant;
	// older accounts get a small bonus. The zero time means unknown.
	RegistrationDate time.Time
}

// History is what jeton itself has seen of the user, which the merchant
// cannot inflate.
type History struct {
	// SettledDeposits is the value in cents of the user's completed
	// deposits: skins that stayed through the whole hold.
	SettledDeposits int64
	// SettledCount is the number of those completed deposits.
	SettledCount int
	// Reversals is the number of deposits the user reversed during the
	// hold; each cuts the provider collateral hard.
	Reversals int
	// FirstSeen is when jeton first saw the user; the zero time means
	// never (a new user).
	FirstSeen time.Time
}

// Input is everything one decision depends on, so that a decision can be
// recomputed and explained later from what was stored.
type Input struct {
	// Client is what the merchant sent about the user.
	Client ClientData
	// History is what jeton has seen of the user.
	History History
	// MerchantCollateral is the extra collateral, in cents, that the
	// merchant funds for its users (0 when it funds none).
	MerchantCollateral int64
	// Exposure is the sum of preCredit, in cents, over the user's trades
	// still INITIATED, ACTIVE or HOLD: collateral already in use.
	Exposure int64
	// Now is the time of the decision; ages are measured up to it. The
	// zero time gives no age bonus.
	Now time.Time
}

// Model holds the numbers of the provider risk model, so that an operator
// can tune them without touching the formula. Money is in cents, rates in
// basis points (10,000 = 100%). Negative values count as 0. The zero Model
// extends no credit at all; start from [Default].
type Model struct {
	// Baseline is the collateral of a user we know nothing about.
	// Default 2,500 ($25).
	Baseline int64
	// Max caps the provider collateral (before reversals), so that no
	// combination of inputs risks more than this on one user.
	// Default 250,000 ($2,500).
	Max int64

	// WagerBps is the share of the counted wager that becomes collateral.
	// Default 1,000 (10%).
	WagerBps int64
	// WagerThresholds[k] is the most wager, in cents, that counts at KYC
	// level k before payment methods. A level never gets less than a
	// lower one. Default $500, $1,000, $2,500 and $5,000.
	WagerThresholds [4]int64
	// PaymentMethodBps raises the threshold for each of fiat and crypto
	// deposits, because a user who has paid by a method is easier to
	// trace. Default 2,500 (+25% each).
	PaymentMethodBps int64
	// FullyVerifiedBps multiplies the threshold once more when the user
	// has KYC level 3 and both payment methods; values under 10,000 count
	// as 10,000 (it never lowers the threshold). Default 20,000 (×2).
	FullyVerifiedBps int64

	// SettledBps is the share of settled deposit value that becomes
	// collateral: a user who left skins through the hold before is likely
	// to again. Default 2,000 (20%).
	SettledBps int64
	// SettledCap caps the settled-value bonus. Default 200,000 ($2,000).
	SettledCap int64
	// PerSettled is the bonus per completed deposit, rewarding a habit
	// rather than one large deposit. Default 100 ($1).
	PerSettled int64
	// PerSettledCap caps the per-deposit bonus. Default 5,000 ($50).
	PerSettledCap int64

	// RegistrationPerMonth is the bonus per full Month since the
	// merchant-reported registration date. Default 100 ($1).
	RegistrationPerMonth int64
	// RegistrationCap caps the registration bonus. Default 2,400 ($24,
	// reached after two years).
	RegistrationCap int64
	// FirstSeenPerMonth is the bonus per full Month since jeton first saw
	// the user; it is worth more than registration because jeton saw it
	// itself. Default 200 ($2).
	FirstSeenPerMonth int64
	// FirstSeenCap caps the first-seen bonus. Default 4,800 ($48, reached
	// after two years).
	FirstSeenCap int64

	// ReversalKeepBps is the share of provider collateral a user keeps
	// per reversal, applied once per reversal and rounded down each time.
	// Values are clamped to 0..10,000. Default 5,000 (each reversal
	// halves it).
	ReversalKeepBps int64
}

// Default returns the model jeton ships with; docs/risk-model.md lists
// and explains the same numbers.
func Default() Model {
	return Model{
		Baseline:             2_500,
		Max:                  250_000,
		WagerBps:             1_000,
		WagerThresholds:      [4]int64{50_000, 100_000, 250_000, 500_000},
		PaymentMethodBps:     2_500,
		FullyVerifiedBps:     20_000,
		SettledBps:           2_000,
		SettledCap:           200_000,
		PerSettled:           100,
		PerSettledCap:        5_000,
		RegistrationPerMonth: 100,
		RegistrationCap:      2_400,
		FirstSeenPerMonth:    200,
		FirstSeenCap:         4_800,
		ReversalKeepBps:      5_000,
	}
}

// Breakdown is the provider collateral term by term, so that a decision
// can be logged and explained to a merchant.
type Breakdown struct {
	// Threshold is the user's wager threshold: wager above it is ignored.
	Threshold int64
	// The terms, each already capped.
	Baseline, Wager, Settled, Count, Registration, FirstSeen int64
	// Trust is the sum of the terms (saturating at math.MaxInt64).
	Trust int64
	// Capped is min(Trust, Max).
	Capped int64
	// Provider is Capped after the reversal cut: the provider collateral.
	Provider int64
}

// Threshold is the most wager, in cents, that counts toward trust for c:
// the level's threshold, raised by PaymentMethodBps per payment method,
// then multiplied by FullyVerifiedBps for KYC level 3 with both methods.
// It never decreases when the KYC level rises or a method is added.
func (m Model) Threshold(c ClientData) int64 {
	level := min(max(c.KYCLevel, 0), 3)
	var t int64
	for k := 0; k <= level; k++ {
		t = max(t, nonneg(m.WagerThresholds[k]))
	}
	methods := int64(0)
	if c.FiatDeposits {
		methods++
	}
	if c.CryptoDeposits {
		methods++
	}
	t = mulBps(t, satAdd(bpsOne, satMul(methods, nonneg(m.PaymentMethodBps))))
	if level == 3 && c.FiatDeposits && c.CryptoDeposits {
		t = mulBps(t, max(m.FullyVerifiedBps, bpsOne))
	}
	return t
}

// Explain computes the provider collateral for in and shows every term.
// Only in.Client, in.History and in.Now matter to it.
func (m Model) Explain(in Input) Breakdown {
	var b Breakdown
	b.Threshold = m.Threshold(in.Client)
	b.Baseline = nonneg(m.Baseline)
	b.Wager = mulBps(min(nonneg(in.Client.TotalWager), b.Threshold), nonneg(m.WagerBps))
	b.Settled = min(mulBps(nonneg(in.History.SettledDeposits), nonneg(m.SettledBps)), nonneg(m.SettledCap))
	b.Count = min(satMul(int64(max(in.History.SettledCount, 0)), nonneg(m.PerSettled)), nonneg(m.PerSettledCap))
	b.Registration = min(satMul(months(in.Client.RegistrationDate, in.Now), nonneg(m.RegistrationPerMonth)), nonneg(m.RegistrationCap))
	b.FirstSeen = min(satMul(months(in.History.FirstSeen, in.Now), nonneg(m.FirstSeenPerMonth)), nonneg(m.FirstSeenCap))
	b.Trust = satAdd(b.Baseline, satAdd(b.Wager, satAdd(b.Settled, satAdd(b.Count, satAdd(b.Registration, b.FirstSeen)))))
	b.Capped = min(b.Trust, nonneg(m.Max))
	b.Provider = cut(b.Capped, in.History.Reversals, min(nonneg(m.ReversalKeepBps), bpsOne))
	return b
}

// Provider is the provider collateral for in, in cents: what jeton risks
// on this user before merchant collateral and exposure. It is in
// [0, Max], and exactly Baseline (if Baseline <= Max) for an empty Input.
func (m Model) Provider(in Input) int64 { return m.Explain(in).Provider }

// Available is the user's instant-credit headroom in cents: provider plus
// merchant collateral minus exposure, never below 0. It is what the
// inventory's collateral field shows.
func (m Model) Available(in Input) int64 {
	return avail(m.Provider(in), nonneg(in.MerchantCollateral), nonneg(in.Exposure))
}

// Split is how one deposit is credited, in cents: what the merchant gets
// at HOLD, what it gets at COMPLETED, and which collateral backs the
// instant part (the trade's collateral{provider, merchant}).
type Split struct {
	// PreCredit is credited when the trade enters HOLD; PendingCredit
	// when it reaches COMPLETED. They add up to the deposit's total.
	PreCredit, PendingCredit int64
	// Provider and Merchant back PreCredit: Provider+Merchant == PreCredit.
	Provider, Merchant int64
}

// Split credits a CS2 deposit of total cents: PreCredit is
// min(total, Available(in)), or 0 when the deposit is not instant, and
// PendingCredit is the rest. Exposure uses up provider collateral first;
// the provider backs what is left of it and the merchant backs the rest.
// A negative total is a caller's error and gives the zero Split.
func (m Model) Split(total int64, instant bool, in Input) Split {
	if total <= 0 {
		return Split{}
	}
	if !instant {
		return Split{PendingCredit: total}
	}
	provider := m.Provider(in)
	exposure := nonneg(in.Exposure)
	pre := min(total, avail(provider, nonneg(in.MerchantCollateral), exposure))
	byProvider := min(pre, max(provider-exposure, 0))
	return Split{
		PreCredit:     pre,
		PendingCredit: total - pre,
		Provider:      byProvider,
		Merchant:      pre - byProvider,
	}
}

// Full is the split of a deposit credited in full at once with no
// collateral: Rust deposits (Rust has no trade hold) and merchant
// self-sells (the merchant trusts itself). A negative total gives the
// zero Split.
func Full(total int64) Split {
	return Split{PreCredit: max(total, 0)}
}

// avail is provider + merchant − exposure, saturating, never below 0.
func avail(provider, merchant, exposure int64) int64 {
	return max(satAdd(provider, merchant)-exposure, 0)
}

// cut keeps keepBps of v once per reversal, rounding down each time.
func cut(v int64, reversals int, keepBps int64) int64 {
	if keepBps >= bpsOne {
		return v
	}
	// v strictly falls each round while it is positive, so the loop
	// ends after a bounded number of rounds whatever reversals is.
	for i := 0; i < reversals && v > 0; i++ {
		v = mulBps(v, keepBps)
	}
	return v
}

// months is the number of full Months from t to now; 0 when t is the
// zero time (unknown) or not before now.
func months(t, now time.Time) int64 {
	if t.IsZero() || !t.Before(now) {
		return 0
	}
	return int64(now.Sub(t) / Month) // Sub saturates
}

// nonneg clamps v at 0.
func nonneg(v int64) int64 { return max(v, 0) }

// satAdd is a+b for a, b >= 0, saturating at math.MaxInt64.
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// satMul is a×b for a, b >= 0, saturating at math.MaxInt64.
func satMul(a, b int64) int64 {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi != 0 || lo > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(lo)
}

// mulBps is a×bps/10,000 rounded down for a, bps >= 0, exact in 128
// bits and saturating at math.MaxInt64.
func mulBps(a, bps int64) int64 {
	hi, lo := bits.Mul64(uint64(a), uint64(bps))
	if hi >= bpsOne {
		return math.MaxInt64
	}
	q, _ := bits.Div64(hi, lo, bpsOne)
	if q > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(q)
}
