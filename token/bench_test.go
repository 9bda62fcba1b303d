package token_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jetonhq/jeton/token"
)

// The benchmarks use the common production shape: one merchant with one
// current secret (no grace secret) and no revocations, and an AssetPay
// token with steamID, tradeUrl and clientId, as the Go SDK mints it.

func benchKeyring() *keyring {
	return &keyring{m: map[string]*token.MerchantKeys{
		merchant1: {MerchantID: merchant1, Secrets: [][]byte{secret1}, MaxLifetime: 24 * time.Hour},
	}}
}

// benchToken is the i-th distinct token; every one has the same length.
func benchToken(b *testing.B, i int) string {
	tok, _, err := token.MintAssetPay(secret1, merchant1, token.ClientClaim{
		SteamID: testSteamID, TradeURL: testTradeURL, ClientID: fmt.Sprintf("user-%09d", i),
	}, t0, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	return tok
}

// cpuMeter reports the process CPU time per op as "cpu-ns/op" (see
// processCPU). Call start right after b.ResetTimer and stop before any
// untimed work.
type cpuMeter struct {
	b     *testing.B
	start time.Duration
}

func startCPU(b *testing.B) *cpuMeter { return &cpuMeter{b: b, start: processCPU()} }

func (m *cpuMeter) stop() {
	if d := processCPU() - m.start; d > 0 {
		m.b.ReportMetric(float64(d)/float64(m.b.N), "cpu-ns/op")
	}
}

// BenchmarkFloor is the least work any first-seen verification must do:
// split, base64url-decode header, payload and signature, unmarshal the
// header and the claims into plain structs, HMAC-SHA256 the signing input
// and compare. Nothing else.
func BenchmarkFloor(b *testing.B) {
	type floorHeader struct {
		Alg    string `json:"alg"`
		UserID string `json:"userId"`
	}
	type floorClaims struct {
		MerchantID string `json:"merchantId"`
		Client     struct {
			SteamID  string `json:"steamID"`
			TradeURL string `json:"tradeUrl"`
			ClientID string `json:"clientId"`
		} `json:"client"`
		IssuedAt  int64 `json:"iat"`
		ExpiresAt int64 `json:"exp"`
	}
	tok := benchToken(b, 0)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU(b)
	defer cpu.stop()
	for range b.N {
		d1 := strings.IndexByte(tok, '.')
		d2 := d1 + 1 + strings.IndexByte(tok[d1+1:], '.')
		hb, err1 := b64.DecodeString(tok[:d1])
		pb, err2 := b64.DecodeString(tok[d1+1 : d2])
		sig, err3 := b64.DecodeString(tok[d2+1:])
		if err1 != nil || err2 != nil || err3 != nil {
			b.Fatal(err1, err2, err3)
		}
		var h floorHeader
		var c floorClaims
		if err := json.Unmarshal(hb, &h); err != nil {
			b.Fatal(err)
		}
		if err := json.Unmarshal(pb, &c); err != nil {
			b.Fatal(err)
		}
		mac := hmac.New(sha256.New, secret1)
		mac.Write([]byte(tok[:d2]))
		if !hmac.Equal(mac.Sum(nil), sig) {
			b.Fatal("bad signature")
		}
		if h.UserID != merchant1 || c.Client.SteamID != testSteamID {
			b.Fatalf("decoded %+v %+v", h, c)
		}
	}
}

// BenchmarkVerifyFirstSeen verifies b.N distinct tokens, each once, so
// every call misses the cache. Minting happens before the timer starts.
func BenchmarkVerifyFirstSeen(b *testing.B) {
	toks := make([]string, b.N)
	for i := range toks {
		toks[i] = benchToken(b, i)
	}
	clk := newClock(t0)
	v := token.NewVerifier(benchKeyring(), clk.Now, 0)
	hits := 0
	v.Observe = func(_ string, cached bool) {
		if cached {
			hits++
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU(b)
	for i := range b.N {
		if _, err := v.Verify(ctx, toks[i]); err != nil {
			b.Fatal(err)
		}
	}
	cpu.stop()
	b.StopTimer()
	if hits != 0 {
		b.Fatalf("%d cache hits in a first-seen benchmark", hits)
	}
}

// BenchmarkVerifyCached verifies one token over and over: the cache path.
func BenchmarkVerifyCached(b *testing.B) {
	tok := benchToken(b, 0)
	clk := newClock(t0)
	v := token.NewVerifier(benchKeyring(), clk.Now, 0)
	if _, err := v.Verify(ctx, tok); err != nil {
		b.Fatal(err)
	}
	misses := 0
	v.Observe = func(_ string, cached bool) {
		if !cached {
			misses++
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU(b)
	for range b.N {
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
	cpu.stop()
	b.StopTimer()
	if misses != 0 {
		b.Fatalf("%d cache misses in a cached benchmark", misses)
	}
}
