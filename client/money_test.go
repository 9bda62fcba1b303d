package client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"
)

func TestUSD(t *testing.T) {
	for _, c := range []struct {
		in   string
		want USD
		err  bool
		out  string
	}{
		{in: "53.36", want: 5336, out: "53.36"},
		{in: "8.6", want: 860, out: "8.6"},
		{in: "45", want: 4500, out: "45"},
		{in: "0", want: 0, out: "0"},
		{in: "-1.5", want: -150, out: "-1.5"},
		{in: "0.07", want: 7, out: "0.07"},
		{in: "1e2", want: 10000, out: "100"},
		{in: `"12.34"`, want: 1234, out: "12.34"},
		{in: "10000000", want: 1_000_000_000, out: "10000000"},
		{in: "0.001", err: true},
		{in: `"abc"`, err: true},
		{in: "1e30", err: true},
	} {
		var u USD
		err := json.Unmarshal([]byte(c.in), &u)
		if c.err {
			if err == nil {
				t.Errorf("%s: no error, got %d", c.in, u)
			}
			continue
		}
		if err != nil || u != c.want {
			t.Errorf("%s: %d %v, want %d", c.in, u, err, c.want)
			continue
		}
		b, _ := json.Marshal(u)
		if string(b) != c.out {
			t.Errorf("%s: marshals as %s, want %s", c.in, b, c.out)
		}
	}
	var p struct{ P *USD }
	if err := json.Unmarshal([]byte(`{"P":null}`), &p); err != nil || p.P != nil {
		t.Errorf("null: %v %v", p.P, err)
	}
}

func TestWithdrawPrices(t *testing.T) {
	var rows []Price
	err := json.Unmarshal([]byte(`[{"itemId":null,"marketHashName":"a","accepted":true,"deposit":1.5,"withdraw":{"standard":2,"instant":null}},`+
		`{"itemId":"i","marketHashName":"b","accepted":false,"deposit":0,"withdraw":3.25},{"marketHashName":"c","withdraw":null}]`), &rows)
	if err != nil {
		t.Fatal(err)
	}
	if *rows[0].Withdraw.Standard != 200 || rows[0].Withdraw.Instant != nil || rows[0].Deposit != 150 {
		t.Errorf("CS2 row: %+v", rows[0])
	}
	if *rows[1].Withdraw.Standard != 325 || rows[1].Withdraw.Instant != nil || *rows[1].ItemID != "i" {
		t.Errorf("Rust row: %+v", rows[1])
	}
	if rows[2].Withdraw.Standard != nil {
		t.Errorf("null row: %+v", rows[2])
	}
}

func TestTokenExpiry(t *testing.T) {
	issued := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	tok, err := MintToken("sk", "m", Client{SteamID: "76561198012345678", TradeURL: "https://steamcommunity.com/tradeoffer/new/?partner=52079950&token=AbCdEfGh"}, 2*time.Hour, issued)
	if err != nil {
		t.Fatal(err)
	}
	exp, err := TokenExpiry(tok)
	if err != nil || !exp.Equal(issued.Add(2*time.Hour)) {
		t.Errorf("%v %v", exp, err)
	}
	for _, bad := range []string{"", "a.b", "a.!!!.c", "a." + base64.RawURLEncoding.EncodeToString([]byte(`{"iat":1}`)) + ".c"} {
		if _, err := TokenExpiry(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestMintedTokenSources(t *testing.T) {
	ctx := context.Background()
	before := time.Now().Truncate(time.Second)
	tok, err := MintedSagaPayTokens("sk", "m", "user-1", "", 10*time.Minute).Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	exp, _ := TokenExpiry(tok.Value)
	if !exp.Equal(tok.Expiry) || tok.Expiry.Before(before.Add(10*time.Minute)) {
		t.Errorf("expiry %v, exp claim %v", tok.Expiry, exp)
	}
	if _, err := MintedTokens("sk", "m", Client{SteamID: "1"}, time.Hour).Token(ctx); err == nil {
		t.Error("an invalid client was minted")
	}
	if _, err := MintedSagaPayTokens("sk", "m", "u", "", 25*time.Hour).Token(ctx); err == nil {
		t.Error("a token over 24h was minted")
	}
}
