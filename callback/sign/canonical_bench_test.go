package sign

// Benchmarks of the two canonicalisation paths on a trade body as jeton
// signs it: compare the two in one run (go test -bench Canonical).

import "testing"

var benchRaw = []byte(`{"id":"c7e0159e-619f-4bc7-a6f3-dccc0760f17c","type":"DEPOSIT","source":"client","status":"INITIATED","game":"730","merchantId":"13072d8edf0917165d","clientUserId":"cu_4e16282b7042c96e8e47","clientSteamID":"76561198000000004","clientTradeUrl":"https://steamcommunity.com/tradeoffer/new/?partner=39734276\u0026token=abcdEF12","items":[{"id":"124919674349610","appid":730,"name":"Operation Bravo Case","marketHashName":"Operation Bravo Case","type":"Base Grade Container","iconUrl":"sandbox/730/operation-bravo-case","tradable":true,"amount":1,"offer":{"price":50.6,"reference":"1f8534e0d9f9"}}],"totalPrice":50.6,"preCredit":25,"pendingCredit":25.6,"isInstant":true,"collateral":{"merchant":0,"provider":25},"externalId":null,"externalClientUserId":"u-76561198000000004","createdAt":"2026-11-25T23:55:56.484Z","updatedAt":"2026-11-25T23:55:56.484Z"}`)

func BenchmarkCanonicalGeneral(b *testing.B) {
	for b.Loop() {
		canonicalGeneral(benchRaw)
	}
}

func BenchmarkCanonicalFast(b *testing.B) {
	for b.Loop() {
		canonicalFast(benchRaw)
	}
}
