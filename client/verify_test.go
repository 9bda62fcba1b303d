package client

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jetonhq/jeton/callback/sign"
)

const testTrade = `{"id":"t-1","type":"DEPOSIT","source":"client","status":"HOLD","game":"730","merchantId":"m-1",` +
	`"clientUserId":"cu_1","clientSteamID":"76561198012345678","clientTradeUrl":"https://steamcommunity.com/tradeoffer/new/?partner=52079950\u0026token=abcd1234",` +
	`"items":[{"id":"313002063427121","appid":730,"tradable":true,"amount":1,"offer":{"price":53.36,"reference":"r1"}}],` +
	`"totalPrice":53.36,"preCredit":25,"pendingCredit":28.36,"externalId":null,"externalClientUserId":null,` +
	`"holdEndDate":"2026-03-18T10:00:01.870Z","createdAt":"2026-03-11T09:59:58.120Z","updatedAt":"2026-03-11T10:00:01.904Z"}`

// callbackFor builds a status callback body as jeton does, its key under
// keySecret.
func callbackFor(t *testing.T, trade string, keySecret []byte) []byte {
	t.Helper()
	key, err := sign.BodyKey(keySecret, []byte(trade))
	if err != nil {
		t.Fatal(err)
	}
	var tr struct{ Status string }
	if err := json.Unmarshal([]byte(trade), &tr); err != nil {
		t.Fatal(err)
	}
	return []byte(`{"payload":{"trade":` + trade + `,"event":"` + tr.Status + `","timestamp":"2026-03-11T10:00:01.904Z","key":"` + key + `"}}`)
}

func TestVerifyAssetPayCallback(t *testing.T) {
	cur, prev := []byte("sk_current"), []byte("sk_previous")
	sent := time.Date(2026, 3, 11, 10, 0, 1, 931e6, time.UTC)
	body := callbackFor(t, testTrade, cur)
	good := sign.Header("d-1", sent, body, cur)
	rotating := sign.Header("d-1", sent, body, cur, prev)
	cases := []struct {
		name    string
		header  string
		body    []byte
		secrets [][]byte
		now     time.Time
		tol     time.Duration
		reason  sign.Reason // "" means verified
		noCfg   bool        // sign.ErrNoSecret
		secret  int         // matching secret when verified
	}{
		{name: "good signature", header: good, body: body, secrets: [][]byte{cur}, now: sent.Add(time.Second)},
		{name: "good, both secrets held", header: good, body: body, secrets: [][]byte{cur, prev}, now: sent},
		{name: "wrong secret", header: good, body: body, secrets: [][]byte{[]byte("sk_wrong")}, now: sent, reason: sign.ReasonSignatureMismatch},
		{name: "previous secret only, no rotation", header: good, body: body, secrets: [][]byte{prev}, now: sent, reason: sign.ReasonSignatureMismatch},
		{name: "altered body", header: good, body: []byte(strings.Replace(string(body), `"HOLD"`, `"COMPLETED"`, 2)), secrets: [][]byte{cur}, now: sent, reason: sign.ReasonSignatureMismatch},
		{name: "whitespace added", header: good, body: append(append([]byte{}, body...), '\n'), secrets: [][]byte{cur}, now: sent, reason: sign.ReasonSignatureMismatch},
		{name: "stale timestamp", header: good, body: body, secrets: [][]byte{cur}, now: sent.Add(301 * time.Second), reason: sign.ReasonTimestampOutOfRange},
		{name: "future timestamp", header: good, body: body, secrets: [][]byte{cur}, now: sent.Add(-301 * time.Second), reason: sign.ReasonTimestampOutOfRange},
		{name: "at the tolerance", header: good, body: body, secrets: [][]byte{cur}, now: sent.Add(300 * time.Second)},
		{name: "custom tolerance", header: good, body: body, secrets: [][]byte{cur}, now: sent.Add(61 * time.Second), tol: time.Minute, reason: sign.ReasonTimestampOutOfRange},
		{name: "rotation s1, old secret held", header: rotating, body: body, secrets: [][]byte{prev}, now: sent},
		{name: "rotation s1, both held", header: rotating, body: body, secrets: [][]byte{cur, prev}, now: sent},
		{name: "rotation, previous listed first", header: rotating, body: body, secrets: [][]byte{[]byte("sk_x"), prev}, now: sent, secret: 1},
		{name: "missing header", header: "", body: body, secrets: [][]byte{cur}, now: sent, reason: sign.ReasonMissingHeader},
		{name: "malformed header", header: "t=yesterday,id=d-1,s=abc", body: body, secrets: [][]byte{cur}, now: sent, reason: sign.ReasonMalformed},
		{name: "no delivery id", header: strings.Replace(good, "id=d-1", "id=", 1), body: body, secrets: [][]byte{cur}, now: sent, reason: sign.ReasonMalformed},
		{name: "no secret configured", header: good, body: body, secrets: [][]byte{nil, {}}, now: sent, noCfg: true},
		{name: "signed but not JSON", header: sign.Header("d-1", sent, []byte("nope"), cur), body: []byte("nope"), secrets: [][]byte{cur}, now: sent, reason: sign.ReasonInvalidJSON},
		{name: "signed JSON without a trade", header: sign.Header("d-1", sent, []byte(`{"withdrawal":{}}`), cur), body: []byte(`{"withdrawal":{}}`), secrets: [][]byte{cur}, now: sent, reason: ReasonNotACallback},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cb, err := VerifyAssetPayCallback(c.header, c.body, c.secrets, c.now, c.tol)
			switch {
			case c.noCfg:
				if !errors.Is(err, sign.ErrNoSecret) || ReasonOf(err) != "" {
					t.Fatalf("want ErrNoSecret, got %v", err)
				}
			case c.reason != "":
				if ReasonOf(err) != c.reason || !errors.Is(err, c.reason) {
					t.Fatalf("want %s, got %v", c.reason, err)
				}
				if cb.DeliveryID != "" || cb.Trade.ID != "" {
					t.Errorf("a refused callback came back filled in: %+v", cb)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if cb.DeliveryID != "d-1" || !cb.SentAt.Equal(sent) || cb.Secret != c.secret || cb.Event != "HOLD" {
					t.Errorf("delivery: %+v", cb)
				}
				tr := cb.Trade
				if tr.ID != "t-1" || tr.Status != StatusHold || tr.TotalPrice != 5336 || *tr.PreCredit != 2500 || *tr.PendingCredit != 2836 ||
					tr.HoldEndDate == nil || tr.ExternalID != nil || len(tr.Items) != 1 || tr.Items[0].Offer.Price != 5336 ||
					!strings.Contains(tr.ClientTradeURL, "&token=") || cb.IsApproval() {
					t.Errorf("trade: %+v", tr)
				}
				if string(cb.RawTrade) != testTrade {
					t.Errorf("raw trade not kept as received")
				}
			}
		})
	}
}

// The test vector of docs/callbacks.md verifies, header and body key.
func TestDocsVector(t *testing.T) {
	body := []byte(`{"payload":{"trade":{"id":"695f7476-414d-4433-bd8a-2514ca3959d9","type":"DEPOSIT","source":"client","status":"HOLD","game":"730","merchantId":"b88ecbc2fba6d35def","clientUserId":"cu_e1569ebef06fde864c16","clientSteamID":"76561198012345678","clientTradeUrl":"https://steamcommunity.com/tradeoffer/new/?partner=52079950\u0026token=abcd1234","items":[{"id":"313002063427121","appid":730,"name":"AWP | Wildfire","marketHashName":"AWP | Wildfire (Field-Tested)","type":"Covert Sniper Rifle","iconUrl":"sandbox/730/awp-wildfire-field-tested","tradable":true,"amount":1,"offer":{"price":53.36,"reference":"1bdf51bd7e23"}}],"totalPrice":53.36,"preCredit":25,"pendingCredit":28.36,"isInstant":true,"collateral":{"merchant":0,"provider":25},"externalId":"dep-1001","externalClientUserId":"user-42","offerID":"sbx_69f6b1ebcaacdb0c","holdEndDate":"2026-03-18T10:00:01.870Z","createdAt":"2026-03-11T09:59:58.120Z","updatedAt":"2026-03-11T10:00:01.904Z"},"event":"HOLD","timestamp":"2026-03-11T10:00:01.904Z","key":"82ab498ccaca74c234cf1b97b5247235a30331808554d4df140eb43bd4449489"}}`)
	header := "t=2026-03-11T10:00:01.931Z,id=efb2b87f-f197-4e64-9848-3e55fea8e199,s=3c85b36dd8c5c1b082a31e3258f54245387d24d1d1d8de9c50e0a51173969b20"
	secrets := [][]byte{[]byte("sk_docs_example_secret_do_not_use")}
	now := time.Date(2026, 3, 11, 10, 2, 0, 0, time.UTC)
	cb, err := VerifyAssetPayCallback(header, body, secrets, now, 0)
	if err != nil {
		t.Fatal(err)
	}
	if cb.DeliveryID != "efb2b87f-f197-4e64-9848-3e55fea8e199" || cb.Trade.Collateral.Provider != 2500 || *cb.Trade.ExternalID != "dep-1001" {
		t.Errorf("parsed: %+v", cb)
	}
	if _, err := VerifyAssetPayBodyKey(body, secrets); err != nil {
		t.Errorf("body key: %v", err)
	}
	rot := header + ",s1=ae0155879e285169250189d799b6fc5596c29c391086c34c6b722ee2195b8b07"
	if cb, err := VerifyAssetPayCallback(rot, body, [][]byte{[]byte("sk_docs_previous_secret")}, now, 0); err != nil || cb.Secret != 0 {
		t.Errorf("rotation form with the previous secret: %v", err)
	}
}

func TestVerifyAssetPayBodyKey(t *testing.T) {
	cur, prev := []byte("sk_current"), []byte("sk_previous")
	body := callbackFor(t, testTrade, cur)
	// The same trade, reformatted and with keys reordered, has the same
	// canonical form and so the same key.
	var m map[string]any
	_ = json.Unmarshal([]byte(testTrade), &m)
	pretty, _ := json.MarshalIndent(m, "", "  ")
	key, _ := sign.BodyKey(cur, []byte(testTrade))
	reformatted := []byte(`{"payload": {"key": "` + key + `", "trade": ` + string(pretty) + `, "event": "HOLD"}}`)
	cases := []struct {
		name    string
		body    []byte
		secrets [][]byte
		reason  sign.Reason
		secret  int
	}{
		{name: "good key", body: body, secrets: [][]byte{cur}},
		{name: "reformatted body", body: reformatted, secrets: [][]byte{cur}},
		{name: "current second in the list", body: body, secrets: [][]byte{prev, cur}, secret: 1},
		{name: "wrong secret", body: body, secrets: [][]byte{prev}, reason: ReasonBodyKeyMismatch},
		{name: "altered trade", body: []byte(strings.Replace(string(body), "53.36,\"preCredit", "63.36,\"preCredit", 1)), secrets: [][]byte{cur}, reason: ReasonBodyKeyMismatch},
		{name: "no key", body: []byte(`{"payload":{"trade":` + testTrade + `,"event":"HOLD"}}`), secrets: [][]byte{cur}, reason: ReasonBodyKeyMismatch},
		{name: "not JSON", body: []byte(`{"payload":`), secrets: [][]byte{cur}, reason: sign.ReasonInvalidJSON},
		{name: "a test ping", body: []byte(`{"test":true}`), secrets: [][]byte{cur}, reason: ReasonNotACallback},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cb, err := VerifyAssetPayBodyKey(c.body, c.secrets)
			if c.reason != "" {
				if ReasonOf(err) != c.reason {
					t.Fatalf("want %s, got %v", c.reason, err)
				}
				return
			}
			if err != nil || cb.Trade.ID != "t-1" || cb.Secret != c.secret || cb.DeliveryID != "" {
				t.Fatalf("%+v %v", cb, err)
			}
		})
	}
	if _, err := VerifyAssetPayBodyKey(body, nil); !errors.Is(err, sign.ErrNoSecret) {
		t.Errorf("no secrets: %v", err)
	}
}

func TestParsePing(t *testing.T) {
	for _, c := range []struct {
		header, body string
		ping         bool
	}{
		{"", `{"test":true,"merchantId":"m","timestamp":"2026-03-11T09:58:00.894Z"}`, true},
		{"", `{"test":false}`, false},
		{"", `{"test":"true"}`, false},
		{"", `[true]`, false},
		{"t=x,id=y,s=z", `{"test":true}`, false}, // signed: not the ping
	} {
		p, ok := ParsePing(c.header, []byte(c.body))
		if ok != c.ping || ok && p.MerchantID != "m" {
			t.Errorf("%q %q: %v %+v", c.header, c.body, ok, p)
		}
	}
}

func TestVerifySagaPayWebhook(t *testing.T) {
	secret, other := []byte("whsec_a"), []byte("whsec_b")
	body := []byte(`{"eventType":"order.terminal.event","metadata":{"eventId":"e","created":1,"retryAttempt":2,"terminalId":"tm","webhookEventId":"w"},"data":{"orderId":"o","terminalTransactionStatus":"AWAITING_CARD"}}`)
	sig := sign.SagaPay(secret, body)
	cases := []struct {
		name    string
		sig     string
		body    []byte
		secrets [][]byte
		reason  sign.Reason
		noCfg   bool
	}{
		{name: "good signature", sig: sig, body: body, secrets: [][]byte{secret}},
		{name: "one of several endpoint secrets", sig: sig, body: body, secrets: [][]byte{other, secret}},
		{name: "surrounding spaces", sig: " " + sig + " ", body: body, secrets: [][]byte{secret}},
		{name: "wrong secret", sig: sig, body: body, secrets: [][]byte{other}, reason: sign.ReasonSignatureMismatch},
		{name: "altered body", sig: sig, body: []byte(strings.Replace(string(body), "AWAITING_CARD", "AUTHORIZED", 1)), secrets: [][]byte{secret}, reason: sign.ReasonSignatureMismatch},
		{name: "missing header", sig: "", body: body, secrets: [][]byte{secret}, reason: sign.ReasonMissingHeader},
		{name: "not base64", sig: "!!!", body: body, secrets: [][]byte{secret}, reason: sign.ReasonMalformed},
		{name: "hex, not base64 of 64 bytes", sig: strings.Repeat("ab", 32), body: body, secrets: [][]byte{secret}, reason: sign.ReasonMalformed},
		{name: "signed but not JSON", sig: sign.SagaPay(secret, []byte("x")), body: []byte("x"), secrets: [][]byte{secret}, reason: sign.ReasonInvalidJSON},
		{name: "no secret", sig: sig, body: body, secrets: [][]byte{{}}, noCfg: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w, err := VerifySagaPayWebhook(c.sig, c.body, c.secrets)
			switch {
			case c.noCfg:
				if !errors.Is(err, sign.ErrNoSecret) {
					t.Fatalf("want ErrNoSecret, got %v", err)
				}
			case c.reason != "":
				if ReasonOf(err) != c.reason {
					t.Fatalf("want %s, got %v", c.reason, err)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				ev, err := w.Event()
				if err != nil || w.EventType != "order.terminal.event" || w.Metadata.WebhookEventID != "w" || w.Metadata.RetryAttempt != 2 ||
					w.Metadata.TerminalID != "tm" || ev.OrderID != "o" || ev.TerminalTransactionStatus != "AWAITING_CARD" {
					t.Errorf("%+v %+v %v", w, ev, err)
				}
			}
		})
	}
}

func TestSecrets(t *testing.T) {
	got := Secrets("sk_a", "", "sk_b")()
	if len(got) != 2 || string(got[0]) != "sk_a" || string(got[1]) != "sk_b" {
		t.Errorf("%q", got)
	}
	if len(Secrets("")()) != 0 {
		t.Error("an empty secret was kept")
	}
}
