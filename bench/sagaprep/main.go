// Command sagaprep readies a running jeton for the POST /payments load
// test of bench/run.sh: for the merchant whose credentials it is given,
// it creates a store, a virtual terminal and a client token for one user,
// then that user's orders, and writes the token and the order ids (one a
// line) for bench/wrk/payments.lua. Not part of the measured run.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	var (
		base     = flag.String("base", "", "jeton base URL, e.g. http://127.0.0.1:8080")
		mid      = flag.String("merchant", "", "merchant id")
		partner  = flag.String("partner", "", "partner id")
		key      = flag.String("key", "", "API key with the ADMIN and CORE_ACCESS scopes")
		secret   = flag.String("secret", "", "API secret")
		provider = flag.String("provider", "", "provider id")
		cert     = flag.String("cert", "", "provider certificate")
		n        = flag.Int("orders", 60000, "orders to create")
		out      = flag.String("out", "orders.txt", "file for the order ids")
		tokOut   = flag.String("token-out", "token.txt", "file for the client token")
	)
	flag.Parse()
	if err := run(*base, *mid, *partner, *key, *secret, *provider, *cert, *n, *out, *tokOut); err != nil {
		fmt.Fprintln(os.Stderr, "sagaprep:", err)
		os.Exit(1)
	}
}

var hc = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

// call sends a JSON request and decodes the reply's data.
func call(method, url string, hdr map[string]string, body any, out any) error {
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(method, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, raw)
	}
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return err
	}
	return json.Unmarshal(env.Data, out)
}

func run(base, mid, partner, key, secret, provider, cert string, n int, out, tokOut string) error {
	admin := map[string]string{"API-KEY": key, "API-SECRET": secret, "MERCHANT-ID": mid}
	var st struct {
		StoreID string `json:"storeId"`
	}
	if err := call("POST", base+"/partners/"+partner+"/merchants/"+mid+"/stores", admin, map[string]any{"storeName": "Bench",
		"phoneNumber": map[string]any{"code": "+46", "number": "701234567"},
		"address":     map[string]any{"addressLine1": "1", "city": "Stockholm", "countryCode": "SE", "postalCode": "111 51"}}, &st); err != nil {
		return err
	}
	var tm struct {
		TerminalID string `json:"terminalId"`
	}
	if err := call("POST", base+"/merchants/"+mid+"/stores/"+st.StoreID+"/devices", admin, map[string]any{"registrationIdentifier": "777777"}, &tm); err != nil {
		return err
	}
	var tok struct {
		Token string `json:"token"`
	}
	if err := call("POST", base+"/partners/"+partner+"/token", admin, map[string]any{"providerId": provider, "providerCertificate": cert,
		"externalUserId": "bench-user"}, &tok); err != nil {
		return err
	}
	user := map[string]string{"Authorization": "Bearer " + tok.Token}
	ids := make([]string, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	start := time.Now()
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				amount := 1000 + i%500*100 // approved amounts (no test endings)
				var o struct {
					OrderID string `json:"orderId"`
				}
				err := call("POST", base+"/orders", user, map[string]any{"terminal$id": tm.TerminalID, "referenceId": fmt.Sprint("bench-", i),
					"orderLines": []any{map[string]any{"id": "1", "name": "Item", "amount": map[string]any{"regular": amount, "total": amount, "currency": "752"}}}}, &o)
				if err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
				ids[i] = o.OrderID
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return first
	}
	fmt.Fprintf(os.Stderr, "sagaprep: %d orders in %.1f s\n", n, time.Since(start).Seconds())
	var buf bytes.Buffer
	for _, id := range ids {
		buf.WriteString(id + "\n")
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o600); err != nil {
		return err
	}
	return os.WriteFile(tokOut, []byte(tok.Token), 0o600)
}
