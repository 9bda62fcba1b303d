package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/callback/sign"
	"github.com/jetonhq/jeton/payment"
	"github.com/jetonhq/jeton/sqlstore"
)

// TestCrashDuringPayments kills the real server with SIGKILL again and
// again while 300 clients pay concurrently on a sandbox terminal, and
// proves afterwards that every payment a client was told about is
// terminal with the outcome its test amount decides, that each completed
// payment has exactly one transaction, that every webhook stored reached
// the merchant's receiver (signed), and that the reports equal the
// transactions and what the clients paid. JETON_CRASH_PAYMENTS (default
// 300) and JETON_CRASH_KILLS (default 5) size it.
func TestCrashDuringPayments(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary under load")
	}
	crashBackends(t, runPaymentCrash)
}

// hookLog is the merchant's webhook receiver in the crash test.
type hookLog struct {
	secret []byte
	mu     sync.Mutex
	ids    map[string]int    // webhookEventId -> receipts
	events map[string]string // paymentId -> the last terminal event type received
	bad    atomic.Int64
}

func (h *hookLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if !sign.VerifySagaPay([][]byte{h.secret}, body, r.Header.Get("x-webhook-signature")) {
		h.bad.Add(1)
		w.WriteHeader(400)
		return
	}
	var env struct {
		EventType string         `json:"eventType"`
		Metadata  map[string]any `json:"metadata"`
		Data      map[string]any `json:"data"`
	}
	_ = json.Unmarshal(body, &env)
	h.mu.Lock()
	h.ids[env.Metadata["webhookEventId"].(string)]++
	if pid, ok := env.Data["paymentId"].(string); ok {
		switch env.EventType {
		case "order.paymentcompleted", "order.paymentfailed", "order.paymentcancelled":
			h.events[pid] = env.EventType
		}
	}
	h.mu.Unlock()
}

// crashPayment is one payment a client was told about.
type crashPayment struct {
	order, payment string
	amount         int64
}

func runPaymentCrash(t *testing.T, args, env []string, open func() (*sqlstore.DB, error)) {
	n := envInt("JETON_CRASH_PAYMENTS", 300)
	kills := envInt("JETON_CRASH_KILLS", 5)
	// Terminals take 2 s and the clients start over 5 s, so payments are
	// in flight through every kill.
	srv := newCrashServer(t, append(args, "--sandbox-terminal-after", "2s"), env)
	srv.start()
	demo := bannerValues(t, srv.logs.String())
	mid, partner, key, secret := demo["merchant"], demo["partner"], demo["key"], demo["secret"]
	provider, cert := demo["provider"], demo["cert"]

	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	c := &crashClient{base: "http://" + srv.addr, hc: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	h := map[string]string{"API-KEY": key, "API-SECRET": secret, "MERCHANT-ID": mid}
	must := func(r crashReply, err error) map[string]any {
		t.Helper()
		if err != nil || r.status >= 300 {
			t.Fatalf("setup: %v %d %v", err, r.status, r.body)
		}
		return r.data()
	}
	store := must(c.send(ctx, "POST", "/partners/"+partner+"/merchants/"+mid+"/stores", h, storeBody()))["storeId"].(string)
	term := must(c.send(ctx, "POST", "/merchants/"+mid+"/stores/"+store+"/devices", h, map[string]any{"registrationIdentifier": "424242"}))["terminalId"].(string)
	hooks := &hookLog{ids: map[string]int{}, events: map[string]string{}}
	hookLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hookSrv := &http.Server{Handler: hooks}
	go hookSrv.Serve(hookLn)
	t.Cleanup(func() { hookSrv.Close() })
	wh := must(c.send(ctx, "POST", "/merchants/"+mid+"/webhooks", h, map[string]any{"url": "http://" + hookLn.Addr().String() + "/hooks"}))
	hooks.secret = []byte(wh["secret"].(string))

	// Tokens for 30 users, shared by their clients.
	tokens := make([]string, 30)
	for i := range tokens {
		tokens[i] = "Bearer " + must(c.send(ctx, "POST", "/partners/"+partner+"/token", h,
			map[string]any{"providerId": provider, "providerCertificate": cert, "externalUserId": fmt.Sprint("crash-user-", i)}))["token"].(string)
	}

	killed := make(chan int)
	go func() {
		k := 0
		defer func() { killed <- k }()
		for k < kills && ctx.Err() == nil {
			d, _ := rand.Int(rand.Reader, big.NewInt(1200))
			time.Sleep(700*time.Millisecond + time.Duration(d.Int64())*time.Millisecond)
			srv.kill()
			k++
			srv.start()
		}
	}()

	var mu sync.Mutex
	var paid []crashPayment
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, _ := rand.Int(rand.Reader, big.NewInt(5000))
			time.Sleep(time.Duration(d.Int64()) * time.Millisecond)
			// Approvals, with a decline or a cancellation now and then.
			amount := int64(1000 + 100*i)
			switch i % 10 {
			case 3:
				amount += 51 // Insufficient funds
			case 7:
				amount += 91 // cancelled on the terminal
			}
			hdr := map[string]string{"Authorization": tokens[i%len(tokens)]}
			var orderID string
			for orderID == "" {
				r, err := c.send(ctx, "POST", "/orders", hdr, map[string]any{"terminal$id": term, "referenceId": fmt.Sprint("crash-", i),
					"orderLines": []any{map[string]any{"id": "1", "name": "Item", "amount": map[string]any{"regular": amount, "total": amount, "currency": "752"}}}})
				if err != nil {
					return
				}
				if r.status == 201 {
					orderID = r.data()["orderId"].(string)
				} else {
					t.Errorf("create order %d: %d %v", i, r.status, r.body)
					return
				}
			}
			for {
				r, err := c.send(ctx, "POST", "/payments", hdr, map[string]any{"orderId": orderID, "paymentMethod": "CARD"})
				if err != nil {
					return
				}
				var pid string
				switch {
				case r.status == 201:
					pid = r.data()["paymentId"].(string)
				case r.status == 409:
					// Started before a crash took the reply: find it.
					s, err := c.send(ctx, "GET", "/orders/"+orderID+"/status", hdr, nil)
					if err != nil {
						return
					}
					if ps, _ := s.data()["payments"].([]any); len(ps) > 0 {
						pid = ps[0].(map[string]any)["paymentId"].(string)
					}
				default:
					t.Errorf("payment %d: %d %v", i, r.status, r.body)
					return
				}
				if pid == "" {
					continue
				}
				mu.Lock()
				paid = append(paid, crashPayment{order: orderID, payment: pid, amount: amount})
				mu.Unlock()
				return
			}
		}()
	}
	wg.Wait()
	nKills := <-killed
	t.Logf("%d payments acknowledged, %d kills", len(paid), nKills)
	if len(paid) != n {
		t.Fatalf("%d of %d payments acknowledged", len(paid), n)
	}

	db, err := open()
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		openPayments := 0
		for _, p := range paid {
			got, err := db.Payment(ctx, mid, p.payment)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Status.Terminal() {
				openPayments++
			}
		}
		ws, _, err := db.WebhookDeliveries(ctx, mid, "", 1_000_000, 0)
		if err != nil {
			t.Fatal(err)
		}
		pending := 0
		for _, w := range ws {
			if w.State == jeton.CallbackPending {
				pending++
			}
		}
		if openPayments == 0 && pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d payments not terminal, %d webhooks pending", openPayments, pending)
		}
		time.Sleep(500 * time.Millisecond)
	}
	srv.stop()

	// Every payment ended as its test amount says, completed ones with
	// exactly one transaction of their amount.
	var want int64
	for _, p := range paid {
		got, _ := db.Payment(ctx, mid, p.payment)
		exp := jeton.PaymentCompleted
		switch p.amount % 100 {
		case 51:
			exp = jeton.PaymentFailed
		case 91:
			exp = jeton.PaymentCancelled
		}
		if got.Status != exp {
			t.Errorf("payment %s of %d: %s (%s), want %s", p.payment, p.amount, got.Status, got.FailureReason, exp)
		}
		txs, total, err := db.Transactions(ctx, jeton.TransactionFilter{MerchantID: mid, Ref: p.payment, PerPage: 10})
		if err != nil {
			t.Fatal(err)
		}
		if exp == jeton.PaymentCompleted {
			want += p.amount
			if total != 1 || txs[0].Amount != p.amount {
				t.Errorf("payment %s: %d transactions %+v", p.payment, total, txs)
			}
			o, _ := db.Order(ctx, mid, p.order)
			if o.Status != jeton.OrderPaymentCompleted || o.Paid != p.amount {
				t.Errorf("order %s: %s paid %d of %d", p.order, o.Status, o.Paid, p.amount)
			}
		} else if total != 0 {
			t.Errorf("payment %s (%s) has %d transactions", p.payment, got.Status, total)
		}
		hooks.mu.Lock()
		ev := hooks.events[p.payment]
		hooks.mu.Unlock()
		wantEv := map[jeton.PaymentStatus]string{jeton.PaymentCompleted: "order.paymentcompleted", jeton.PaymentFailed: "order.paymentfailed",
			jeton.PaymentCancelled: "order.paymentcancelled"}[exp]
		if ev != wantEv {
			t.Errorf("payment %s: final webhook %q, want %q", p.payment, ev, wantEv)
		}
	}
	// Every stored webhook was delivered and received.
	ws, stored, err := db.WebhookDeliveries(ctx, mid, "", 1_000_000, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		hooks.mu.Lock()
		got := hooks.ids[w.DeliveryID]
		hooks.mu.Unlock()
		if w.State != jeton.CallbackDelivered || got == 0 {
			t.Errorf("webhook %s (%s): %s, received %d times", w.DeliveryID, w.Event, w.State, got)
		}
	}
	if hooks.bad.Load() != 0 {
		t.Errorf("%d webhooks failed signature verification", hooks.bad.Load())
	}
	// The report equals the transactions and what the clients paid.
	svc := payment.New(payment.Config{Store: db})
	rs, err := svc.Report(ctx, payment.Caller{MerchantID: mid}, time.Time{}, time.Time{}, true)
	if err != nil {
		t.Fatal(err)
	}
	var sales int64
	for _, r := range rs {
		sales += r.TotalSale
	}
	if sales != want {
		t.Errorf("reported sales %d, paid %d", sales, want)
	}
	t.Logf("%d webhooks stored, all delivered; sales %d", stored, sales)
}
