package main

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// In-process benchmarks of the two hot routes through the whole handler
// chain (middleware, auth, store). bench/run.sh measures them over real
// TCP against a floor; these are for profiling:
//
//	JETON_BENCH_NOLOG=1 go test -run '^$' -bench . -cpuprofile cpu.prof ./cmd/jeton

func benchMerchant(b *testing.B, e *env) string {
	nm, err := e.app.creds.CreateMerchant(b.Context(), "bench", "", nil)
	if err != nil {
		b.Fatal(err)
	}
	return nm.APIKey
}

func BenchmarkAuthenticateClient(b *testing.B) {
	e := newEnv(b, "sqlite")
	key := benchMerchant(b, e)
	var n atomic.Int64
	b.SetParallelism(32) // like 64 connections: the group commit needs company
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1) % 10000
			body := fmt.Sprintf(`{"clientSteamId":"765611980000%05d","clientTradeUrl":"https://steamcommunity.com/tradeoffer/new/?partner=52079950&token=AbCdEfGh","clientId":"user-%d","clientData":{"totalWager":5000,"kycLevel":2,"fiatDeposits":true,"cryptoDeposits":false}}`, i, i)
			req := httptest.NewRequest("POST", "/auth/authenticate-client", strings.NewReader(body))
			req.Header.Set("api-key", key)
			w := httptest.NewRecorder()
			e.app.server.ServeHTTP(w, req)
			if w.Code != 200 {
				b.Fatal(w.Body.String())
			}
		}
	})
}

func BenchmarkClientMe(b *testing.B) {
	e := newEnv(b, "sqlite")
	key := benchMerchant(b, e)
	req := httptest.NewRequest("POST", "/auth/authenticate-client", strings.NewReader(`{"clientSteamId":"76561198012345678","clientTradeUrl":"https://steamcommunity.com/tradeoffer/new/?partner=52079950&token=AbCdEfGh","clientId":"user-1"}`))
	req.Header.Set("api-key", key)
	w := httptest.NewRecorder()
	e.app.server.ServeHTTP(w, req)
	body := w.Body.Bytes()
	i := bytes.Index(body, []byte(`"token":"`)) + len(`"token":"`)
	tok := string(body[i : i+bytes.IndexByte(body[i:], '"')])
	e.remember(tok)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("GET", "/client/me", nil)
			req.Header.Set("Authorization", tok)
			w := httptest.NewRecorder()
			e.app.server.ServeHTTP(w, req)
			if w.Code != 200 {
				b.Fatal(w.Body.String())
			}
		}
	})
}
