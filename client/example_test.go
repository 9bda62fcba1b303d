package client_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/jetonhq/jeton/client"
)

// Mint a client token on your backend, as the seed's jose snippet does,
// and hand it to the user's browser.
func ExampleMintToken() {
	issued := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	tok, err := client.MintToken("sk_test_secret", "44be2994231949c436", client.Client{
		SteamID:  "76561198012345678",
		TradeURL: "https://steamcommunity.com/tradeoffer/new/?partner=52079950&token=AbCdEfGh",
		ClientID: "user-123",
	}, 24*time.Hour, issued)
	if err != nil {
		panic(err)
	}
	parts := strings.Split(tok, ".")
	fmt.Println(len(parts), parts[0])
	// Output: 3 eyJhbGciOiJIUzI1NiIsInVzZXJJZCI6IjQ0YmUyOTk0MjMxOTQ5YzQzNiJ9
}

// A token longer than 24 hours is refused before it is signed.
func ExampleMintToken_tooLong() {
	_, err := client.MintToken("sk_test_secret", "44be2994231949c436", client.Client{
		SteamID:  "76561198012345678",
		TradeURL: "https://steamcommunity.com/tradeoffer/new/?partner=52079950&token=AbCdEfGh",
	}, 10*365*24*time.Hour, time.Now())
	fmt.Println(err)
	// Output: client: ttl must be whole seconds between 1s and 24h
}
