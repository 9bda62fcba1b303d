package main

import (
	"crypto/subtle"
	"time"

	"github.com/jetonhq/jeton/client"
)

// User is one of the merchant's own users. A real shop keeps them in its
// database with hashed passwords; this demo has a fixed few.
type User struct {
	Name     string
	Password string // demo only: printed at start, compared in constant time
	SteamID  string // SteamID64
	TradeURL string // must belong to SteamID: partner = SteamID64 − 76561197960265728
	Opening  client.USD
	// ClientData is what the shop knows about the user; jeton's risk model
	// turns it into instant credit on CS2 deposits (docs/risk-model.md).
	ClientData client.ClientData
}

// demoUsers are the users of the demo shop. alice starts with nothing,
// so her first withdrawal is rejected until a deposit credits her; bob
// starts with $25.
func demoUsers() []User {
	wager, kyc := 1200.0, 1
	registered := time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC)
	yes, no := true, false
	return []User{
		{
			Name: "alice", Password: "alice-demo",
			SteamID:  "76561198012345678",
			TradeURL: "https://steamcommunity.com/tradeoffer/new/?partner=52079950&token=AliceTr8",
			ClientData: client.ClientData{TotalWager: &wager, KycLevel: &kyc, RegistrationDate: &registered,
				FiatDeposits: &yes, CryptoDeposits: &no},
		},
		{
			Name: "bob", Password: "bob-demo",
			SteamID:  "76561198087654321",
			TradeURL: "https://steamcommunity.com/tradeoffer/new/?partner=127388593&token=BobTrade",
			Opening:  client.Dollars(25, 0),
		},
	}
}

// findUser returns the user with this name and password, or nil.
func findUser(users []User, name, password string) *User {
	for i, u := range users {
		if u.Name == name && subtle.ConstantTimeCompare([]byte(u.Password), []byte(password)) == 1 {
			return &users[i]
		}
	}
	return nil
}
