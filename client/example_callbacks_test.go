package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/jetonhq/jeton/callback/sign"
	"github.com/jetonhq/jeton/client"
)

// A trade as jeton's callbacks carry it (shortened).
const exampleTrade = `{"id":"695f7476-414d-4433-bd8a-2514ca3959d9","type":"WITHDRAW","source":"client","status":"INITIATED",` +
	`"game":"730","merchantId":"b88ecbc2fba6d35def","clientUserId":"cu_e1569ebef06fde864c16","clientSteamID":"76561198012345678",` +
	`"clientTradeUrl":"https://steamcommunity.com/tradeoffer/new/?partner=52079950\u0026token=abcd1234","items":[],` +
	`"totalPrice":53.36,"externalId":"wd-1001","externalClientUserId":"user-42",` +
	`"createdAt":"2026-03-11T09:59:58.120Z","updatedAt":"2026-03-11T09:59:58.120Z"}`

// Verify a callback in your handler: the X-AssetPay-Signature header
// against the raw body, then use the parsed trade. Here the callback is
// built and signed with callback/sign, exactly as jeton builds it.
func ExampleVerifyAssetPayCallback() {
	secret := []byte("sk_test_secret")
	sent := time.Date(2026, 3, 11, 10, 0, 1, 931e6, time.UTC)

	// What jeton sends: the body with payload.key, and the header.
	key, _ := sign.BodyKey(secret, []byte(exampleTrade))
	body := []byte(`{"payload":{"trade":` + exampleTrade + `,"event":"INITIATED","timestamp":"2026-03-11T10:00:01.904Z","key":"` + key + `"}}`)
	header := sign.Header("efb2b87f-f197-4e64-9848-3e55fea8e199", sent, body, secret)

	// What your handler does, with the current secret (and the previous
	// one during a rotation).
	now := sent.Add(2 * time.Second) // time.Now() in production
	cb, err := client.VerifyAssetPayCallback(header, body, [][]byte{secret}, now, 0)
	if err != nil {
		fmt.Println("401", string(client.ReasonOf(err)))
		return
	}
	fmt.Println(cb.DeliveryID, cb.Trade.Type, cb.Trade.Status, cb.Trade.TotalPrice, cb.IsApproval())

	// One byte changed on the way, or a wrong secret, or an old replay:
	// refused, with the vendor SDK's reason word.
	tampered := []byte(strings.Replace(string(body), "53.36", "5.36", 1))
	_, err = client.VerifyAssetPayCallback(header, tampered, [][]byte{secret}, now, 0)
	fmt.Println(string(client.ReasonOf(err)))
	_, err = client.VerifyAssetPayCallback(header, body, [][]byte{secret}, now.Add(10*time.Minute), 0)
	fmt.Println(string(client.ReasonOf(err)))
	// Output:
	// efb2b87f-f197-4e64-9848-3e55fea8e199 WITHDRAW INITIATED 53.36 true
	// signature_mismatch
	// timestamp_out_of_range
}

// During a secret rotation jeton signs with both secrets (s= and s1=), so
// a backend still holding only the previous secret keeps verifying.
// Secret says which one matched: 1 means drop the old one later.
func ExampleVerifyAssetPayCallback_rotation() {
	current, previous := []byte("sk_new"), []byte("sk_old")
	sent := time.Date(2026, 3, 11, 10, 0, 0, 0, time.UTC)
	key, _ := sign.BodyKey(current, []byte(exampleTrade))
	body := []byte(`{"payload":{"trade":` + exampleTrade + `,"event":"INITIATED","timestamp":"2026-03-11T10:00:00.000Z","key":"` + key + `"}}`)
	header := sign.Header("a-delivery", sent, body, current, previous)

	for _, held := range [][][]byte{{current, previous}, {previous}, {[]byte("sk_other")}} {
		cb, err := client.VerifyAssetPayCallback(header, body, held, sent, 0)
		if err != nil {
			fmt.Println("refused:", string(client.ReasonOf(err)))
			continue
		}
		fmt.Println("verified with secret", cb.Secret)
	}
	// Output:
	// verified with secret 0
	// verified with secret 0
	// refused: signature_mismatch
}

// Older integrations check payload.key, the HMAC of the trade's canonical
// JSON, without the header.
func ExampleVerifyAssetPayBodyKey() {
	secret := []byte("sk_test_secret")
	key, _ := sign.BodyKey(secret, []byte(exampleTrade))
	body := []byte(`{"payload":{"trade":` + exampleTrade + `,"event":"INITIATED","timestamp":"2026-03-11T10:00:01.904Z","key":"` + key + `"}}`)

	cb, err := client.VerifyAssetPayBodyKey(body, [][]byte{secret})
	fmt.Println(cb.Trade.ID, cb.Event, err)
	_, err = client.VerifyAssetPayBodyKey(body, [][]byte{[]byte("sk_wrong")})
	fmt.Println(string(client.ReasonOf(err)))
	// Output:
	// 695f7476-414d-4433-bd8a-2514ca3959d9 INITIATED <nil>
	// body_key_mismatch
}

// The callback URL of a merchant backend: approval calls are answered
// from your decision function, status callbacks applied, the test ping
// acknowledged, and anything unsigned or forged refused with 401.
func ExampleCallbackHandler() {
	secret := "sk_test_secret"
	h := &client.CallbackHandler{
		Secrets: client.Secrets(secret), // current, then previous during a rotation
		Approve: func(ctx context.Context, t client.Trade) (bool, string, error) {
			// Take t.TotalPrice from the user once per t.ID, and give the
			// same verdict on every attempt.
			if t.TotalPrice > client.Dollars(50, 0) {
				return false, "over the user's limit", nil
			}
			return true, "", nil
		},
		Status: func(ctx context.Context, c client.AssetPayCallback) error {
			fmt.Println("apply", c.Trade.Status, "of", c.Trade.ID[:8]) // dedupe on c.DeliveryID
			return nil
		},
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	post := func(body []byte, header string) {
		req, _ := http.NewRequest("POST", srv.URL, strings.NewReader(string(body)))
		if header != "" {
			req.Header.Set(sign.AssetPayHeader, header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		fmt.Println(resp.StatusCode, strings.TrimSpace(string(b)))
	}
	// What jeton sends (see ExampleVerifyAssetPayCallback).
	call := func(trade, secret string) ([]byte, string) {
		var t struct{ Status string }
		_ = json.Unmarshal([]byte(trade), &t)
		key, _ := sign.BodyKey([]byte(secret), []byte(trade))
		body := []byte(`{"payload":{"trade":` + trade + `,"event":"` + t.Status + `","timestamp":"2026-03-11T10:00:00.000Z","key":"` + key + `"}}`)
		return body, sign.Header("d-1", time.Now(), body, []byte(secret))
	}

	post([]byte(`{"test":true,"merchantId":"b88ecbc2fba6d35def","timestamp":"2026-03-11T09:58:00.894Z"}`), "")
	post(call(exampleTrade, secret))                                                 // $53.36: over the limit
	post(call(strings.Replace(exampleTrade, "53.36", "20", 1), secret))              // approved
	post(call(strings.Replace(exampleTrade, `"INITIATED"`, `"PENDING"`, 1), secret)) // a status callback
	post(call(exampleTrade, "sk_forged"))                                            // wrong secret
	post([]byte(`{"payload":{"trade":`+exampleTrade+`,"event":"INITIATED"}}`), "")   // unsigned
	// Output:
	// 200 {"ok":true}
	// 200 {"action":"reject","reason":"over the user's limit"}
	// 200 {"action":"approve"}
	// apply PENDING of 695f7476
	// 200 {"ok":true}
	// 401 signature_mismatch
	// 401 missing_header
}

// ApprovalHandler is the short form when only approvals matter here.
func ExampleApprovalHandler() {
	h := client.ApprovalHandler(client.Secrets("sk_test_secret"), func(ctx context.Context, t client.Trade) (bool, string, error) {
		return t.ExternalID != nil && strings.HasPrefix(*t.ExternalID, "wd-"), "unknown withdrawal", nil
	})
	key, _ := sign.BodyKey([]byte("sk_test_secret"), []byte(exampleTrade))
	body := `{"payload":{"trade":` + exampleTrade + `,"event":"INITIATED","timestamp":"2026-03-11T10:00:00.000Z","key":"` + key + `"}}`
	req := httptest.NewRequest("POST", "/assetpay/callback", strings.NewReader(body))
	req.Header.Set(sign.AssetPayHeader, sign.Header("d-2", time.Now(), []byte(body), []byte("sk_test_secret")))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Body.String())
	// Output: 200 {"action":"approve"}
}

// Verify a SagaPay webhook with the endpoint's secret, as
// CreateWebhookEndpoint returned it.
func ExampleVerifySagaPayWebhook() {
	secret := []byte("whsec_test")
	body := []byte(`{"eventType":"order.paymentcompleted","metadata":{"eventId":"e-1","created":1764126000000,"retryAttempt":0,"webhookEventId":"w-1"},` +
		`"data":{"orderId":"o-1","merchantId":"m-1","paymentId":"p-1","paymentStatus":"PAYMENT_COMPLETED","amount":"4500"}}`)
	signature := sign.SagaPay(secret, body) // what jeton puts in x-webhook-signature

	wh, err := client.VerifySagaPayWebhook(signature, body, [][]byte{secret})
	if err != nil {
		fmt.Println("401", string(client.ReasonOf(err)))
		return
	}
	ev, _ := wh.Event()
	fmt.Println(wh.EventType, wh.Metadata.WebhookEventID, ev.OrderID, ev.PaymentStatus)

	_, err = client.VerifySagaPayWebhook(signature, body, [][]byte{[]byte("whsec_other")})
	fmt.Println(string(client.ReasonOf(err)))
	// Output:
	// order.paymentcompleted w-1 o-1 PAYMENT_COMPLETED
	// signature_mismatch
}

// Mint tokens locally and reuse each until shortly before it expires: a
// CachedTokenSource over MintedTokens is what AssetPay.Tokens wants.
func ExampleMintedTokens() {
	src := client.NewCachedTokenSource(client.MintedTokens("sk_test_secret", "44be2994231949c436", client.Client{
		SteamID:  "76561198012345678",
		TradeURL: "https://steamcommunity.com/tradeoffer/new/?partner=52079950&token=AbCdEfGh",
	}, time.Hour))
	a, _ := src.Token(context.Background())
	b, _ := src.Token(context.Background())
	exp, _ := client.TokenExpiry(a.Value)
	fmt.Println(a.Value == b.Value, exp.Equal(a.Expiry), a.Expiry.Sub(time.Now()) > 59*time.Minute)
	// Output: true true true
}

// Amounts are whole cents, read exactly from the API's dollar numbers.
func ExampleUSD() {
	var p struct {
		Price client.USD `json:"price"`
	}
	_ = json.Unmarshal([]byte(`{"price": 53.36}`), &p)
	fmt.Println(int64(p.Price), p.Price, p.Price+client.Dollars(0, 64))
	// Output: 5336 53.36 54
}
