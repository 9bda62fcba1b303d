package risk

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"
)

// now is the decision time of every worked example.
var now = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestDefault(t *testing.T) {
	m := Default()
	if got := m.Provider(Input{}); got != 2_500 {
		t.Errorf("Provider(empty) = %d, want 2500 (the $25 baseline)", got)
	}
	if got := m.Provider(Input{Now: now}); got != m.Baseline {
		t.Errorf("Provider(only Now) = %d, want Baseline %d", got, m.Baseline)
	}
	// The thresholds rise with the level, and the largest bonus total
	// stays under Max only when the settled cap is not reached, so that
	// Max is a real ceiling.
	for k := 1; k < 4; k++ {
		if m.WagerThresholds[k] < m.WagerThresholds[k-1] {
			t.Errorf("WagerThresholds not rising at level %d", k)
		}
	}
	top := m.Explain(Input{Now: now, Client: ClientData{
		TotalWager: math.MaxInt64, KYCLevel: 3, FiatDeposits: true, CryptoDeposits: true,
		RegistrationDate: now.AddDate(-10, 0, 0)},
		History: History{SettledDeposits: math.MaxInt64, SettledCount: math.MaxInt, FirstSeen: now.AddDate(-10, 0, 0)}})
	if top.Trust <= m.Max || top.Provider != m.Max {
		t.Errorf("best user: %+v, want Trust above Max and Provider == Max %d", top, m.Max)
	}
}

func TestThreshold(t *testing.T) {
	m := Default()
	for _, tc := range []struct {
		c    ClientData
		want int64
	}{
		{ClientData{}, 50_000},
		{ClientData{KYCLevel: 1}, 100_000},
		{ClientData{KYCLevel: 2}, 250_000},
		{ClientData{KYCLevel: 3}, 500_000},
		{ClientData{KYCLevel: 0, FiatDeposits: true}, 62_500},
		{ClientData{KYCLevel: 0, FiatDeposits: true, CryptoDeposits: true}, 75_000},
		{ClientData{KYCLevel: 2, FiatDeposits: true, CryptoDeposits: true}, 375_000},
		{ClientData{KYCLevel: 3, CryptoDeposits: true}, 625_000},
		{ClientData{KYCLevel: 3, FiatDeposits: true, CryptoDeposits: true}, 1_500_000},
		{ClientData{KYCLevel: 7, FiatDeposits: true, CryptoDeposits: true}, 1_500_000}, // clamped to 3
		{ClientData{KYCLevel: -1}, 50_000},                                             // clamped to 0
	} {
		if got := m.Threshold(tc.c); got != tc.want {
			t.Errorf("Threshold(%+v) = %d, want %d", tc.c, got, tc.want)
		}
	}
	// A misconfigured lower threshold at a higher level does not lower it.
	m.WagerThresholds = [4]int64{10, 50, 20, -5}
	if got := m.Threshold(ClientData{KYCLevel: 3}); got != 50 {
		t.Errorf("non-monotone thresholds: got %d, want 50", got)
	}
}

func TestProviderTable(t *testing.T) {
	m := Default()
	for _, tc := range []struct {
		name string
		in   Input
		want int64
	}{
		{"empty", Input{}, 2_500},
		{"wager under threshold", Input{Client: ClientData{TotalWager: 30_000}}, 2_500 + 3_000},
		{"wager over KYC0 threshold", Input{Client: ClientData{TotalWager: 1_000_000}}, 2_500 + 5_000},
		{"KYC3 both methods", Input{Client: ClientData{TotalWager: 2_000_000, KYCLevel: 3, FiatDeposits: true, CryptoDeposits: true}}, 2_500 + 150_000},
		{"KYC3 fiat only", Input{Client: ClientData{TotalWager: 2_000_000, KYCLevel: 3, FiatDeposits: true}}, 2_500 + 62_500},
		{"settled value", Input{History: History{SettledDeposits: 50_000}}, 2_500 + 10_000},
		{"settled value capped", Input{History: History{SettledDeposits: 10_000_000}}, 2_500 + 200_000},
		{"settled count", Input{History: History{SettledCount: 7}}, 2_500 + 700},
		{"settled count capped", Input{History: History{SettledCount: 1_000}}, 2_500 + 5_000},
		{"registered 59 days", Input{Now: now, Client: ClientData{RegistrationDate: now.Add(-59 * 24 * time.Hour)}}, 2_500 + 100},
		{"registered 60 days", Input{Now: now, Client: ClientData{RegistrationDate: now.Add(-60 * 24 * time.Hour)}}, 2_500 + 200},
		{"registered 10 years", Input{Now: now, Client: ClientData{RegistrationDate: now.AddDate(-10, 0, 0)}}, 2_500 + 2_400},
		{"registered in the future", Input{Now: now, Client: ClientData{RegistrationDate: now.AddDate(1, 0, 0)}}, 2_500},
		{"registration without Now", Input{Client: ClientData{RegistrationDate: now.AddDate(-1, 0, 0)}}, 2_500},
		{"first seen 6 months", Input{Now: now, History: History{FirstSeen: now.AddDate(0, -6, 0)}}, 2_500 + 1_200},
		{"first seen 5 years", Input{Now: now, History: History{FirstSeen: now.AddDate(-5, 0, 0)}}, 2_500 + 4_800},
		{"one reversal", Input{History: History{Reversals: 1}}, 1_250},
		{"three reversals", Input{History: History{Reversals: 3}}, 312},
		{"reversal after a good history", Input{History: History{SettledDeposits: 300_000, SettledCount: 12, Reversals: 1}}, (2_500 + 60_000 + 1_200) / 2},
		{"many reversals", Input{History: History{Reversals: math.MaxInt}}, 0},
		{"negative inputs are 0", Input{Client: ClientData{TotalWager: -5}, History: History{SettledDeposits: -5, SettledCount: -5, Reversals: -5}}, 2_500},
		{"huge inputs hit Max", Input{Now: now, Client: ClientData{TotalWager: math.MaxInt64, KYCLevel: math.MaxInt, FiatDeposits: true, CryptoDeposits: true, RegistrationDate: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)},
			History: History{SettledDeposits: math.MaxInt64, SettledCount: math.MaxInt, FirstSeen: time.Date(-100000, 1, 1, 0, 0, 0, 0, time.UTC)}}, 250_000},
		{"huge inputs, one reversal", Input{Client: ClientData{TotalWager: math.MaxInt64, KYCLevel: 3, FiatDeposits: true, CryptoDeposits: true},
			History: History{SettledDeposits: math.MaxInt64, SettledCount: math.MaxInt, Reversals: 1}}, 125_000},
		{"merchant collateral and exposure do not matter", Input{MerchantCollateral: 1_000_000, Exposure: 1_000_000}, 2_500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := m.Provider(tc.in); got != tc.want {
				t.Errorf("Provider = %d, want %d (%+v)", got, tc.want, m.Explain(tc.in))
			}
		})
	}
}

func TestSplitTable(t *testing.T) {
	m := Default()
	for _, tc := range []struct {
		name    string
		total   int64
		instant bool
		in      Input
		want    Split
	}{
		// The vendor's example: $100 with $60 available.
		{"vendor example", 10_000, true, Input{MerchantCollateral: 3_500}, Split{6_000, 4_000, 2_500, 3_500}},
		{"covered in full", 2_000, true, Input{}, Split{2_000, 0, 2_000, 0}},
		{"exactly available", 2_500, true, Input{}, Split{2_500, 0, 2_500, 0}},
		{"not instant", 10_000, false, Input{MerchantCollateral: 1_000_000}, Split{0, 10_000, 0, 0}},
		{"zero total", 0, true, Input{}, Split{}},
		{"negative total", -1, true, Input{}, Split{}},
		{"exposure eats provider first", 10_000, true, Input{MerchantCollateral: 10_000, Exposure: 2_000}, Split{10_000, 0, 500, 9_500}},
		{"exposure beyond provider", 10_000, true, Input{MerchantCollateral: 10_000, Exposure: 4_000}, Split{8_500, 1_500, 0, 8_500}},
		{"exposure beyond everything", 10_000, true, Input{MerchantCollateral: 1_000, Exposure: 1_000_000}, Split{0, 10_000, 0, 0}},
		{"negative merchant and exposure are 0", 10_000, true, Input{MerchantCollateral: -5_000, Exposure: -5_000}, Split{2_500, 7_500, 2_500, 0}},
		{"huge merchant collateral", math.MaxInt64, true, Input{MerchantCollateral: math.MaxInt64}, Split{math.MaxInt64, 0, 2_500, math.MaxInt64 - 2_500}},
		{"one reversal", 10_000, true, Input{History: History{Reversals: 1}}, Split{1_250, 8_750, 1_250, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := m.Split(tc.total, tc.instant, tc.in); got != tc.want {
				t.Errorf("Split(%d, %v) = %+v, want %+v", tc.total, tc.instant, got, tc.want)
			}
		})
	}
	if got, want := Full(10_000), (Split{PreCredit: 10_000}); got != want {
		t.Errorf("Full = %+v, want %+v", got, want)
	}
	if got := Full(-1); got != (Split{}) {
		t.Errorf("Full(-1) = %+v, want zero", got)
	}
}

func TestArithmetic(t *testing.T) {
	const M = math.MaxInt64
	for _, tc := range []struct{ a, b, add, mul, bps int64 }{
		{0, 0, 0, 0, 0},
		{3, 4, 7, 12, 0},
		{10_000, 5_000, 15_000, 50_000_000, 5_000},
		{M, 1, M, M, M / 10_000},
		{M, 10_000, M, M, M},
		{M, 5_000, M, M, M / 2},
		{M, 9_999, M, M, int64(uint64(M)/10_000*9_999 + uint64(M)%10_000*9_999/10_000)},
		{M, M, M, M, M},
		{1 << 32, 1 << 31, 1<<32 + 1<<31, M, 922_337_203_685_477}, // 2^63 overflows int64 but not 128 bits
	} {
		if got := satAdd(tc.a, tc.b); got != tc.add {
			t.Errorf("satAdd(%d, %d) = %d, want %d", tc.a, tc.b, got, tc.add)
		}
		if got := satMul(tc.a, tc.b); got != tc.mul {
			t.Errorf("satMul(%d, %d) = %d, want %d", tc.a, tc.b, got, tc.mul)
		}
		if got := mulBps(tc.a, tc.b); got != tc.bps {
			t.Errorf("mulBps(%d, %d) = %d, want %d", tc.a, tc.b, got, tc.bps)
		}
	}
	if got := cut(1<<62, math.MaxInt, 9_999); got != 0 {
		t.Errorf("cut with keep 9999 and MaxInt reversals = %d, want 0", got)
	}
	if got := cut(100, 5, 10_000); got != 100 {
		t.Errorf("cut with keep 100%% = %d, want 100", got)
	}
}

// ---- property tests ----

// up adds d >= 0 to v, saturating.
func up(v, d int64) int64 {
	if v > math.MaxInt64-d {
		return math.MaxInt64
	}
	return v + d
}

func upInt(v, d int) int {
	if v > math.MaxInt-d {
		return math.MaxInt
	}
	return v + d
}

// money draws an amount in cents, mostly realistic, sometimes zero,
// negative or near the int64 limits.
func money(r *rand.Rand) int64 {
	switch r.IntN(10) {
	case 0:
		return 0
	case 1:
		return -r.Int64N(1_000_000) - 1
	case 2:
		return math.MaxInt64 - r.Int64N(1_000)
	case 3:
		return r.Int64()
	case 4, 5:
		return r.Int64N(10_000)
	default:
		return r.Int64N(5_000_000)
	}
}

func count(r *rand.Rand) int {
	switch r.IntN(8) {
	case 0:
		return 0
	case 1:
		return -r.IntN(10) - 1
	case 2:
		return math.MaxInt - r.IntN(10)
	default:
		return r.IntN(60)
	}
}

func date(r *rand.Rand, now time.Time) time.Time {
	switch r.IntN(10) {
	case 0, 1:
		return time.Time{}
	case 2:
		return time.Time{}.Add(time.Duration(r.Int64N(1_000)) + 1)
	case 3:
		return now.Add(time.Duration(r.Int64N(int64(365 * 24 * time.Hour)))) // future
	default:
		return now.Add(-time.Duration(r.Int64N(int64(5 * 365 * 24 * time.Hour))))
	}
}

// delta draws a non-negative increase.
func delta(r *rand.Rand) int64 {
	if r.IntN(5) == 0 {
		return r.Int64()
	}
	return r.Int64N(1_000_000)
}

func older(r *rand.Rand, t time.Time) time.Time {
	if t.IsZero() {
		return time.Date(2000+r.IntN(30), 1, 1, 0, 0, 0, 0, time.UTC) // unknown -> known
	}
	o := t.Add(-time.Duration(r.Int64N(int64(10 * 365 * 24 * time.Hour))))
	if o.IsZero() {
		return t
	}
	return o
}

func randomInput(r *rand.Rand) Input {
	n := now.Add(time.Duration(r.Int64N(int64(365*24*time.Hour))) - 180*24*time.Hour)
	if r.IntN(20) == 0 {
		n = time.Time{}
	}
	return Input{
		Client: ClientData{
			TotalWager:       money(r),
			KYCLevel:         r.IntN(10) - 3,
			FiatDeposits:     r.IntN(2) == 0,
			CryptoDeposits:   r.IntN(2) == 0,
			RegistrationDate: date(r, n),
		},
		History: History{
			SettledDeposits: money(r),
			SettledCount:    count(r),
			Reversals:       min(max(count(r)%8, 0), 8) * r.IntN(2),
			FirstSeen:       date(r, n),
		},
		MerchantCollateral: money(r),
		Exposure:           money(r),
		Now:                n,
	}
}

// randomModel is Default half the time and otherwise any numbers at
// all, negative and huge included: the properties hold for every Model.
func randomModel(r *rand.Rand) Model {
	if r.IntN(2) == 0 {
		return Default()
	}
	bps := func() int64 {
		switch r.IntN(6) {
		case 0:
			return -r.Int64N(20_000)
		case 1:
			return r.Int64()
		default:
			return r.Int64N(30_000)
		}
	}
	m := Model{
		Baseline: money(r), Max: money(r), WagerBps: bps(),
		PaymentMethodBps: bps(), FullyVerifiedBps: bps(),
		SettledBps: bps(), SettledCap: money(r), PerSettled: money(r), PerSettledCap: money(r),
		RegistrationPerMonth: money(r), RegistrationCap: money(r),
		FirstSeenPerMonth: money(r), FirstSeenCap: money(r),
		ReversalKeepBps: r.Int64N(12_000) - 1_000,
	}
	for k := range m.WagerThresholds {
		m.WagerThresholds[k] = money(r)
	}
	return m
}

const cases = 20_000

func TestProviderProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(20260101, 1))
	for i := 0; i < cases; i++ {
		m := randomModel(r)
		in := randomInput(r)
		p := m.Provider(in)
		if p < 0 || p > max(m.Max, 0) {
			t.Fatalf("case %d: Provider = %d outside [0, %d]\nmodel %+v\ninput %+v", i, p, m.Max, m, in)
		}
		if b := m.Explain(in); b.Provider != p || b.Capped < b.Provider || b.Trust < b.Capped {
			t.Fatalf("case %d: inconsistent breakdown %+v for Provider %d", i, b, p)
		}
		if got, want := m.Provider(Input{Now: in.Now}), min(max(m.Baseline, 0), max(m.Max, 0)); got != want {
			t.Fatalf("case %d: empty input gives %d, want Baseline %d", i, got, want)
		}

		// Each favourable input, raised alone, never lowers Provider.
		better := []struct {
			name string
			f    func(*Input)
		}{
			{"TotalWager", func(x *Input) { x.Client.TotalWager = up(x.Client.TotalWager, delta(r)) }},
			{"KYCLevel", func(x *Input) { x.Client.KYCLevel = upInt(x.Client.KYCLevel, r.IntN(5)) }},
			{"FiatDeposits", func(x *Input) { x.Client.FiatDeposits = true }},
			{"CryptoDeposits", func(x *Input) { x.Client.CryptoDeposits = true }},
			{"RegistrationDate", func(x *Input) { x.Client.RegistrationDate = older(r, x.Client.RegistrationDate) }},
			{"SettledDeposits", func(x *Input) { x.History.SettledDeposits = up(x.History.SettledDeposits, delta(r)) }},
			{"SettledCount", func(x *Input) { x.History.SettledCount = upInt(x.History.SettledCount, int(delta(r)%1_000)) }},
			{"FirstSeen", func(x *Input) { x.History.FirstSeen = older(r, x.History.FirstSeen) }},
			{"MerchantCollateral", func(x *Input) { x.MerchantCollateral = up(x.MerchantCollateral, delta(r)) }},
			{"fewer Reversals", func(x *Input) { x.History.Reversals = max(x.History.Reversals-1-r.IntN(3), 0) }},
			{"less Exposure", func(x *Input) { x.Exposure = max(x.Exposure-delta(r), -1) }},
		}
		all := in
		for _, b := range better {
			in2 := in
			b.f(&in2)
			b.f(&all)
			if p2 := m.Provider(in2); p2 < p {
				t.Fatalf("case %d: raising %s lowered Provider %d -> %d\nmodel %+v\nbefore %+v\nafter  %+v", i, b.name, p, p2, m, in, in2)
			}
			if a, a2 := m.Available(in), m.Available(in2); a2 < a {
				t.Fatalf("case %d: raising %s lowered Available %d -> %d\nmodel %+v\nbefore %+v\nafter  %+v", i, b.name, a, a2, m, in, in2)
			}
		}
		if pa := m.Provider(all); pa < p {
			t.Fatalf("case %d: raising everything lowered Provider %d -> %d", i, p, pa)
		}

		// Reversals and exposure never raise anything.
		worse := in
		worse.History.Reversals = upInt(worse.History.Reversals, 1+r.IntN(3))
		if p2 := m.Provider(worse); p2 > p {
			t.Fatalf("case %d: more Reversals raised Provider %d -> %d", i, p, p2)
		} else if p > 1 && p2 == p && max(m.ReversalKeepBps, 0) < 10_000 {
			t.Fatalf("case %d: a reversal did not cut Provider %d (keep %d)", i, p, m.ReversalKeepBps)
		}
		worse = in
		worse.Exposure = up(worse.Exposure, delta(r))
		if m.Provider(worse) != p {
			t.Fatalf("case %d: Exposure changed Provider", i)
		}
		if a, a2 := m.Available(in), m.Available(worse); a2 > a {
			t.Fatalf("case %d: more Exposure raised Available %d -> %d", i, a, a2)
		}
		if a := m.Available(in); a < 0 {
			t.Fatalf("case %d: Available = %d < 0", i, a)
		}
	}
}

func TestSplitProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(20260101, 2))
	for i := 0; i < cases; i++ {
		m := randomModel(r)
		in := randomInput(r)
		total := money(r)
		instant := r.IntN(4) != 0
		s := m.Split(total, instant, in)
		if total <= 0 {
			if s != (Split{}) {
				t.Fatalf("case %d: Split(%d) = %+v, want zero", i, total, s)
			}
			continue
		}
		check := func(s Split, total int64, instant bool, in Input) {
			t.Helper()
			provider := m.Provider(in)
			if s.PreCredit+s.PendingCredit != total || s.PreCredit < 0 || s.PreCredit > total || s.PendingCredit < 0 {
				t.Fatalf("case %d: Split(%d) = %+v breaks pre+pending == total", i, total, s)
			}
			if s.Provider+s.Merchant != s.PreCredit || s.Provider < 0 || s.Merchant < 0 {
				t.Fatalf("case %d: Split(%d) = %+v: backing does not add up", i, total, s)
			}
			if !instant && s.PreCredit != 0 {
				t.Fatalf("case %d: not instant but PreCredit %d", i, s.PreCredit)
			}
			if instant && s.PreCredit != min(total, m.Available(in)) {
				t.Fatalf("case %d: PreCredit %d, want min(%d, %d)", i, s.PreCredit, total, m.Available(in))
			}
			if s.Provider > max(provider-max(in.Exposure, 0), 0) || s.Merchant > max(in.MerchantCollateral, 0) {
				t.Fatalf("case %d: %+v backs more than the collateral left (provider %d, merchant %d, exposure %d)",
					i, s, provider, in.MerchantCollateral, in.Exposure)
			}
		}
		check(s, total, instant, in)

		// More available collateral (more merchant collateral, less
		// exposure, a better user) or a larger total never lowers
		// PreCredit.
		more := in
		more.MerchantCollateral = up(more.MerchantCollateral, delta(r))
		more.Exposure = max(more.Exposure-delta(r), -1)
		more.History.SettledDeposits = up(more.History.SettledDeposits, delta(r))
		s2 := m.Split(total, instant, more)
		check(s2, total, instant, more)
		if s2.PreCredit < s.PreCredit {
			t.Fatalf("case %d: more collateral lowered PreCredit %d -> %d", i, s.PreCredit, s2.PreCredit)
		}
		bigger := up(total, delta(r))
		s3 := m.Split(bigger, instant, in)
		check(s3, bigger, instant, in)
		if s3.PreCredit < s.PreCredit {
			t.Fatalf("case %d: larger total lowered PreCredit %d -> %d", i, s.PreCredit, s3.PreCredit)
		}
		if f := Full(total); f.PreCredit != total || f.PendingCredit != 0 || f.Provider != 0 || f.Merchant != 0 {
			t.Fatalf("case %d: Full(%d) = %+v", i, total, f)
		}
	}
}

// ---- docs/risk-model.md ----

// usd renders cents as the docs write money: $1,234.56.
func usd(c int64) string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	d := fmt.Sprint(c / 100)
	for i := len(d) - 3; i > 0; i -= 3 {
		d = d[:i] + "," + d[i:]
	}
	return fmt.Sprintf("%s$%s.%02d", sign, d, c%100)
}

// pct renders basis points as a percentage: 2,500 -> 25%.
func pct(bps int64) string {
	if bps%100 == 0 {
		return fmt.Sprintf("%d%%", bps/100)
	}
	return fmt.Sprintf("%d.%02d%%", bps/100, bps%100)
}

func TestUSD(t *testing.T) {
	for c, want := range map[int64]string{0: "$0.00", 5: "$0.05", 2_500: "$25.00", 37_450: "$374.50", 150_000_000: "$1,500,000.00", -1_250: "-$12.50"} {
		if got := usd(c); got != want {
			t.Errorf("usd(%d) = %q, want %q", c, got, want)
		}
	}
}

// docExample is one worked example of docs/risk-model.md.
type docExample struct {
	name    string
	total   int64
	instant bool
	full    bool // Rust or self-sell
	in      Input
}

var (
	regular = Input{Now: now,
		Client:  ClientData{TotalWager: 100_000, KYCLevel: 2, FiatDeposits: true},
		History: History{SettledDeposits: 300_000, SettledCount: 12, FirstSeen: time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)},
	}
	regularReversed = func() Input { in := regular; in.History.Reversals = 1; return in }()
	regularSecond   = func() Input { in := regular; in.Exposure = 50_000; return in }()
	verified        = Input{Now: now, Client: ClientData{TotalWager: 2_000_000, KYCLevel: 3, FiatDeposits: true, CryptoDeposits: true,
		RegistrationDate: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}}
	verifiedFiat = func() Input { in := verified; in.Client.CryptoDeposits = false; return in }()
	whale        = Input{Now: now,
		Client:  ClientData{TotalWager: 5_000_000, KYCLevel: 3, FiatDeposits: true, CryptoDeposits: true, RegistrationDate: time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)},
		History: History{SettledDeposits: 2_000_000, SettledCount: 80, FirstSeen: time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
)

var docExamples = []docExample{
	{name: "1 new user", total: 10_000, instant: true, in: Input{Now: now}},
	{name: "2 vendor", total: 10_000, instant: true, in: Input{Now: now, MerchantCollateral: 3_500}},
	{name: "3 verified", total: 120_000, instant: true, in: verified},
	{name: "3 verified fiat only", total: 120_000, instant: true, in: verifiedFiat},
	{name: "4 regular", total: 50_000, instant: true, in: regular},
	{name: "4 regular reversed", total: 50_000, instant: true, in: regularReversed},
	{name: "5 parallel first", total: 50_000, instant: true, in: regular},
	{name: "5 parallel second", total: 40_000, instant: true, in: regularSecond},
	{name: "6 merchant first", total: 8_000, instant: true, in: Input{Now: now, MerchantCollateral: 10_000}},
	{name: "6 merchant second", total: 8_000, instant: true, in: Input{Now: now, MerchantCollateral: 10_000, Exposure: 8_000}},
	{name: "7 not instant", total: 10_000, instant: false, in: regular},
	{name: "8 rust", total: 25_000, full: true},
	{name: "9 capped", total: 300_000, instant: true, in: whale},
}

// terms renders the provider collateral line of an example: the terms
// that are not zero, their sum, the cap and the reversal cut.
func terms(m Model, in Input) string {
	b := m.Explain(in)
	line := "Provider collateral: " + usd(b.Baseline) + " baseline"
	for _, t := range []struct {
		v    int64
		name string
	}{
		{b.Wager, "wager (counted up to the " + usd(b.Threshold) + " threshold)"},
		{b.Settled, "settled value"},
		{b.Count, "settled count"},
		{b.Registration, "registration age"},
		{b.FirstSeen, "first-seen age"},
	} {
		if t.v != 0 {
			line += " + " + usd(t.v) + " " + t.name
		}
	}
	line += " = "
	if b.Capped < b.Trust {
		line += usd(b.Trust) + ", capped at Max: "
	}
	if r := max(in.History.Reversals, 0); r > 0 {
		line += fmt.Sprintf("%s, after %d reversal(s): ", usd(b.Capped), r)
	}
	return line + "**" + usd(b.Provider) + "**"
}

// result renders the credit line of an example.
func result(m Model, e docExample) string {
	var s Split
	var available int64
	if e.full {
		s = Full(e.total)
	} else {
		s = m.Split(e.total, e.instant, e.in)
		available = m.Available(e.in)
	}
	head := "Available " + usd(available)
	if e.full {
		head = "Credited in full"
	} else if !e.instant {
		head += ", not instant"
	}
	return fmt.Sprintf("%s → preCredit **%s**, pendingCredit **%s**, collateral {provider %s, merchant %s}",
		head, usd(s.PreCredit), usd(s.PendingCredit), usd(s.Provider), usd(s.Merchant))
}

func TestDocs(t *testing.T) {
	raw, err := os.ReadFile("../docs/risk-model.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	m := Default()

	// The defaults table.
	rows := [][2]string{
		{"Baseline", usd(m.Baseline)},
		{"Max", usd(m.Max)},
		{"WagerBps", pct(m.WagerBps)},
		{"WagerThresholds[0]", usd(m.WagerThresholds[0])},
		{"WagerThresholds[1]", usd(m.WagerThresholds[1])},
		{"WagerThresholds[2]", usd(m.WagerThresholds[2])},
		{"WagerThresholds[3]", usd(m.WagerThresholds[3])},
		{"PaymentMethodBps", "+" + pct(m.PaymentMethodBps)},
		{"FullyVerifiedBps", "×" + fmt.Sprint(m.FullyVerifiedBps/10_000)},
		{"SettledBps", pct(m.SettledBps)},
		{"SettledCap", usd(m.SettledCap)},
		{"PerSettled", usd(m.PerSettled)},
		{"PerSettledCap", usd(m.PerSettledCap)},
		{"RegistrationPerMonth", usd(m.RegistrationPerMonth)},
		{"RegistrationCap", usd(m.RegistrationCap)},
		{"FirstSeenPerMonth", usd(m.FirstSeenPerMonth)},
		{"FirstSeenCap", usd(m.FirstSeenCap)},
		{"ReversalKeepBps", pct(m.ReversalKeepBps)},
	}
	if m.FullyVerifiedBps%10_000 != 0 {
		t.Fatal("FullyVerifiedBps is no longer a whole multiple; update this test and the docs")
	}
	for _, row := range rows {
		if want := fmt.Sprintf("| `%s` | %s |", row[0], row[1]); !strings.Contains(doc, want) {
			t.Errorf("docs/risk-model.md lacks the defaults row %q", want)
		}
	}

	// Every worked example, recomputed.
	for _, e := range docExamples {
		if !e.full && !strings.Contains(doc, terms(m, e.in)) {
			t.Errorf("example %q: docs lack the provider line\n%s", e.name, terms(m, e.in))
		}
		if !strings.Contains(doc, result(m, e)) {
			t.Errorf("example %q: docs lack the result line\n%s", e.name, result(m, e))
		}
	}
	// The parallel examples chain: the second deposit's exposure is the
	// first one's preCredit.
	for _, pair := range [][2]int{{6, 7}, {8, 9}} {
		first, second := docExamples[pair[0]], docExamples[pair[1]]
		if got := m.Split(first.total, true, first.in).PreCredit; second.in.Exposure != first.in.Exposure+got {
			t.Errorf("example %q: exposure %d, want %d", second.name, second.in.Exposure, first.in.Exposure+got)
		}
	}
}

// TestPrintDocExamples prints the lines TestDocs looks for, to paste
// into the docs after a deliberate change: go test -run PrintDoc -v.
func TestPrintDocExamples(t *testing.T) {
	if !testing.Verbose() {
		t.Skip("run with -v to print")
	}
	m := Default()
	for _, e := range docExamples {
		t.Logf("%s\n  %s\n  %s", e.name, terms(m, e.in), result(m, e))
	}
}
