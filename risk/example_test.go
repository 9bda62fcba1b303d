package risk_test

import (
	"fmt"
	"time"

	"github.com/jetonhq/jeton/risk"
)

// The vendor's worked example: a $100 deposit with $60 of collateral
// available is credited $60 at HOLD and $40 at COMPLETED. Here a new user
// brings the $25 baseline and the merchant funds $35 more.
func ExampleModel_Split() {
	m := risk.Default()
	in := risk.Input{MerchantCollateral: 3_500, Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	fmt.Println("available:", m.Available(in))
	s := m.Split(10_000, true, in)
	fmt.Printf("preCredit %d pendingCredit %d (provider %d, merchant %d)\n",
		s.PreCredit, s.PendingCredit, s.Provider, s.Merchant)
	// Output:
	// available: 6000
	// preCredit 6000 pendingCredit 4000 (provider 2500, merchant 3500)
}

// A second deposit while the first is still in its hold: the first one's
// preCredit is exposure, so the user cannot spend the same collateral
// twice.
func ExampleModel_Split_parallel() {
	m := risk.Default()
	in := risk.Input{Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	first := m.Split(2_000, true, in)
	in.Exposure += first.PreCredit
	second := m.Split(2_000, true, in)
	fmt.Println(first.PreCredit, first.PendingCredit)
	fmt.Println(second.PreCredit, second.PendingCredit)
	// Output:
	// 2000 0
	// 500 1500
}

// A deposit that did not ask for instant credit waits for the hold in
// full.
func ExampleModel_Split_notInstant() {
	s := risk.Default().Split(10_000, false, risk.Input{MerchantCollateral: 1_000_000})
	fmt.Println(s.PreCredit, s.PendingCredit)
	// Output: 0 10000
}

// Rust deposits and merchant self-sells are credited in full with no
// collateral.
func ExampleFull() {
	fmt.Printf("%+v\n", risk.Full(25_000))
	// Output: {PreCredit:25000 PendingCredit:0 Provider:0 Merchant:0}
}

// KYC level 3 with both payment methods gives the highest wager
// threshold; with only fiat the same wager counts far less.
func ExampleModel_Provider() {
	m := risk.Default()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	both := risk.Input{Now: now, Client: risk.ClientData{
		TotalWager: 2_000_000, KYCLevel: 3, FiatDeposits: true, CryptoDeposits: true,
	}}
	fiat := both
	fiat.Client.CryptoDeposits = false
	fmt.Println(m.Provider(risk.Input{}), m.Provider(both), m.Provider(fiat))
	// Output: 2500 152500 65000
}

// Explain shows every term, for logs and support tickets. One reversal
// halves the result.
func ExampleModel_Explain() {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := risk.Default().Explain(risk.Input{Now: now,
		Client:  risk.ClientData{TotalWager: 100_000, KYCLevel: 2, FiatDeposits: true},
		History: risk.History{SettledDeposits: 300_000, SettledCount: 12, Reversals: 1, FirstSeen: now.AddDate(0, -6, 0)},
	})
	fmt.Printf("%+v\n", b)
	// Output: {Threshold:312500 Baseline:2500 Wager:10000 Settled:60000 Count:1200 Registration:0 FirstSeen:1200 Trust:74900 Capped:74900 Provider:37450}
}
