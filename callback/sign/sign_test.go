package sign

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// ---- known-answer vectors (testdata/vectors.json) ----

type vectorFile struct {
	Headers []struct {
		Source, Secret, Delivery, T, Body string
		WantS, WantHeader                 string
	} `json:"assetPayHeaders"`
	BodyKeys []struct {
		Source, Secret         string
		Trade                  json.RawMessage
		WantCanonical, WantKey string
	} `json:"assetPayBodyKeys"`
	SagaPay []struct {
		Source, Secret, Body, WantSignature string
	} `json:"sagaPayWebhooks"`
}

func loadVectors(t *testing.T) vectorFile {
	t.Helper()
	raw, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectorFile
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	// Guard against a silently emptied file: the reference has 2 header,
	// 1 body-key and 1 SagaPay case, and the SDK adds one header case.
	if len(v.Headers) != 3 || len(v.BodyKeys) != 1 || len(v.SagaPay) != 1 {
		t.Fatalf("vectors.json has %d/%d/%d cases, want 3/1/1", len(v.Headers), len(v.BodyKeys), len(v.SagaPay))
	}
	return v
}

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

func TestVectorsAssetPayHeader(t *testing.T) {
	for _, c := range loadVectors(t).Headers {
		t.Run(c.Source+"/"+c.Delivery, func(t *testing.T) {
			at := mustTime(t, c.T)
			if got := ISOTime(at); got != c.T {
				t.Errorf("ISOTime = %q, want %q", got, c.T)
			}
			if got := hex.EncodeToString(headerMAC([]byte(c.Secret), c.Delivery, c.T, []byte(c.Body), nil)); got != c.WantS {
				t.Errorf("s = %s, want %s", got, c.WantS)
			}
			if got := Header(c.Delivery, at, []byte(c.Body), []byte(c.Secret)); got != c.WantHeader {
				t.Errorf("Header =\n %s\nwant\n %s", got, c.WantHeader)
			}
			d, err := VerifyHeader(c.WantHeader, []byte(c.Body), [][]byte{[]byte(c.Secret)}, at, 0)
			if err != nil {
				t.Fatalf("VerifyHeader: %v", err)
			}
			want := Delivery{ID: c.Delivery, Timestamp: c.T, Time: at, Secret: 0}
			if !reflect.DeepEqual(d, want) {
				t.Errorf("Delivery = %+v, want %+v", d, want)
			}
			if _, err := VerifyHeader(c.WantHeader, []byte(c.Body+" "), [][]byte{[]byte(c.Secret)}, at, 0); err != ReasonSignatureMismatch {
				t.Errorf("tampered body: err = %v, want %v", err, ReasonSignatureMismatch)
			}
		})
	}
}

func TestVectorsAssetPayBodyKey(t *testing.T) {
	for _, c := range loadVectors(t).BodyKeys {
		t.Run(c.Source, func(t *testing.T) {
			canon, err := Canonical(c.Trade)
			if err != nil {
				t.Fatal(err)
			}
			if string(canon) != c.WantCanonical {
				t.Errorf("Canonical =\n %s\nwant\n %s", canon, c.WantCanonical)
			}
			if again, _ := Canonical([]byte(c.WantCanonical)); string(again) != c.WantCanonical {
				t.Errorf("Canonical is not idempotent on the vector: %s", again)
			}
			key, err := BodyKey([]byte(c.Secret), c.Trade)
			if err != nil || key != c.WantKey {
				t.Errorf("BodyKey = %s, %v; want %s", key, err, c.WantKey)
			}
			secret := []byte(c.Secret)
			for _, k := range []string{c.WantKey, strings.ToUpper(c.WantKey)} {
				if !VerifyBodyKey([][]byte{secret}, c.Trade, k) {
					t.Errorf("VerifyBodyKey(%s) = false", k)
				}
			}
			if !VerifyBodyKey([][]byte{[]byte("new-secret"), secret}, c.Trade, c.WantKey) {
				t.Error("VerifyBodyKey with the vector's secret second = false")
			}
			if VerifyBodyKey([][]byte{[]byte("wrong")}, c.Trade, c.WantKey) {
				t.Error("VerifyBodyKey with a wrong secret = true")
			}
			tampered := bytes.Replace(c.Trade, []byte("10.75"), []byte("10.76"), 1)
			if VerifyBodyKey([][]byte{secret}, tampered, c.WantKey) {
				t.Error("VerifyBodyKey of a tampered trade = true")
			}
		})
	}
}

func TestVectorsSagaPay(t *testing.T) {
	for _, c := range loadVectors(t).SagaPay {
		t.Run(c.Source, func(t *testing.T) {
			secret, body := []byte(c.Secret), []byte(c.Body)
			if got := SagaPay(secret, body); got != c.WantSignature {
				t.Errorf("SagaPay = %s, want %s", got, c.WantSignature)
			}
			if !VerifySagaPay([][]byte{secret}, body, c.WantSignature) {
				t.Error("VerifySagaPay = false")
			}
			if !VerifySagaPay([][]byte{[]byte("new"), secret}, body, " "+c.WantSignature+" ") {
				t.Error("VerifySagaPay with rotation and spaces = false")
			}
			for name, bad := range map[string]struct {
				secrets [][]byte
				body    []byte
				sig     string
			}{
				"wrong secret":  {[][]byte{[]byte("other")}, body, c.WantSignature},
				"no secret":     {nil, body, c.WantSignature},
				"empty secret":  {[][]byte{{}}, body, c.WantSignature},
				"tampered body": {[][]byte{secret}, append(bytes.Clone(body), ' '), c.WantSignature},
				"unpadded":      {[][]byte{secret}, body, strings.TrimRight(c.WantSignature, "=")},
				"url alphabet":  {[][]byte{secret}, body, strings.NewReplacer("+", "-", "/", "_").Replace(c.WantSignature)},
				"hex":           {[][]byte{secret}, body, strings.Repeat("ab", 64)},
				"empty":         {[][]byte{secret}, body, ""},
			} {
				if VerifySagaPay(bad.secrets, bad.body, bad.sig) {
					t.Errorf("%s: VerifySagaPay = true", name)
				}
			}
		})
	}
}

// ---- AssetPay header: round trips, tampering, parsing ----

var (
	curSecret  = []byte("sk_live_current_0123456789")
	prevSecret = []byte("sk_live_previous_9876543210")
	t0         = time.Date(2026, 3, 11, 10, 0, 0, 123456789, time.UTC)
	body0      = []byte(`{"trade":{"id":"t-9","type":"withdraw","status":"initiated","totalPrice":12.5}}`)
)

func TestHeaderRoundTrip(t *testing.T) {
	for _, id := range []string{"dlv_1", "3f6c8e2a-9b41-4d7e-a0c5-1b2d3e4f5a6b", "a=b"} {
		for _, body := range [][]byte{body0, {}, []byte("not json at all \x00\xff")} {
			h := Header(id, t0, body, curSecret)
			d, err := VerifyHeader(h, body, [][]byte{curSecret}, t0, DefaultTolerance)
			if err != nil {
				t.Fatalf("%q: %v", h, err)
			}
			if d.ID != id || d.Timestamp != "2026-03-11T10:00:00.123Z" || !d.Time.Equal(t0.Truncate(time.Millisecond)) || d.Secret != 0 {
				t.Errorf("Delivery = %+v", d)
			}
		}
	}
	h := Header("x", t0, body0, curSecret, prevSecret, []byte("third is ignored"))
	if strings.Count(h, ",s") != 2 || !strings.Contains(h, ",s1=") {
		t.Errorf("Header with three secrets = %s", h)
	}
	if h := Header("x", t0, body0); h != "t=2026-03-11T10:00:00.123Z,id=x" {
		t.Errorf("Header without secrets = %s", h)
	}
}

func TestHeaderRotation(t *testing.T) {
	h := Header("dlv", t0, body0, curSecret, prevSecret)
	for _, c := range []struct {
		name    string
		secrets [][]byte
		want    int
	}{
		{"receiver has both", [][]byte{curSecret, prevSecret}, 0},
		{"receiver has only the new", [][]byte{curSecret}, 0},
		{"receiver has only the old: s1-only match", [][]byte{prevSecret}, 0},
		{"old matches second", [][]byte{[]byte("unrelated"), prevSecret}, 1},
		{"empty secrets skipped", [][]byte{{}, nil, prevSecret}, 2},
	} {
		d, err := VerifyHeader(h, body0, c.secrets, t0, 0)
		if err != nil || d.Secret != c.want {
			t.Errorf("%s: Secret = %d, err = %v; want %d", c.name, d.Secret, err, c.want)
		}
	}
	// s from an unknown secret, s1 good: the SDK test's rotation case.
	s1 := hex.EncodeToString(headerMAC(prevSecret, "dlv", ISOTime(t0), body0, nil))
	h = "t=" + ISOTime(t0) + ",id=dlv,s=" + strings.Repeat("0", 64) + ",s1=" + s1
	if _, err := VerifyHeader(h, body0, [][]byte{curSecret, prevSecret}, t0, 0); err != nil {
		t.Errorf("s1-only header: %v", err)
	}
	if _, err := VerifyHeader(h, body0, [][]byte{curSecret}, t0, 0); err != ReasonSignatureMismatch {
		t.Errorf("s1-only header without the old secret: %v", err)
	}
	// The roles may be swapped (old in s, new in s1); any-any matching allows it.
	h = Header("dlv", t0, body0, prevSecret, curSecret)
	if _, err := VerifyHeader(h, body0, [][]byte{curSecret}, t0, 0); err != nil {
		t.Errorf("swapped roles: %v", err)
	}
}

func TestVerifyHeaderFailures(t *testing.T) {
	ts := ISOTime(t0)
	good := hex.EncodeToString(headerMAC(curSecret, "dlv", ts, body0, nil))
	other := hex.EncodeToString(headerMAC(curSecret, "dlv", ts, body0[1:], nil))
	pre := "t=" + ts + ",id=dlv,"
	secrets := [][]byte{curSecret}
	cases := []struct {
		name   string
		header string
		body   []byte
		now    time.Time
		tol    time.Duration
		want   error
	}{
		{"ok", pre + "s=" + good, body0, t0, 0, nil},
		{"uppercase hex", pre + "s=" + strings.ToUpper(good), body0, t0, 0, nil},
		{"spaces around = and ,", " t = " + ts + " ,  id =dlv , s= " + good + " ", body0, t0, 0, nil},
		{"tabs and NBSP trimmed", "t=" + ts + "\t,id=\u00a0dlv,s=" + good, body0, t0, 0, nil},
		{"segments without = ignored", "v2," + pre + "junk,s=" + good + ",", body0, t0, 0, nil},
		{"unknown keys ignored", pre + "v1=" + other + ",s=" + good + ",x=y", body0, t0, 0, nil},
		{"keys are case-sensitive", "T=" + ts + ",id=dlv,s=" + good, body0, t0, 0, ReasonMalformed},
		{"offset timestamp", "t=2026-03-11T11:00:00.123+01:00,id=dlv,s=" + good, body0, t0, 0, ReasonSignatureMismatch},

		{"missing header", "", body0, t0, 0, ReasonMissingHeader},
		{"blank header", " ", body0, t0, 0, ReasonMalformed},
		{"missing id", "t=" + ts + ",s=" + good, body0, t0, 0, ReasonMalformed},
		{"empty id", "t=" + ts + ",id=,s=" + good, body0, t0, 0, ReasonMalformed},
		{"missing t", "id=dlv,s=" + good, body0, t0, 0, ReasonMalformed},
		{"empty t", "t= ,id=dlv,s=" + good, body0, t0, 0, ReasonMalformed},
		{"unparseable t", "t=yesterday,id=dlv,s=" + good, body0, t0, 0, ReasonMalformed},
		{"epoch t", "t=1773223200,id=dlv,s=" + good, body0, t0, 0, ReasonMalformed},
		{"missing s", pre + "x=1", body0, t0, 0, ReasonMalformed},
		{"bad hex", pre + "s=" + strings.Repeat("zz", 32), body0, t0, 0, ReasonMalformed},
		{"63 hex chars", pre + "s=" + good[:63], body0, t0, 0, ReasonMalformed},
		{"65 hex chars", pre + "s=" + good + "0", body0, t0, 0, ReasonMalformed},
		{"short hex", pre + "s=abc123", body0, t0, 0, ReasonMalformed},
		{"base64 instead of hex", pre + "s=" + SagaPay(curSecret, body0), body0, t0, 0, ReasonMalformed},
		{"bad s ignored when s1 is good", pre + "s=nothex,s1=" + good, body0, t0, 0, nil},
		{"bad s1 ignored when s is good", pre + "s=" + good + ",s1=" + good[:63], body0, t0, 0, nil},

		{"duplicate s: last wins (good last)", pre + "s=" + other + ",s=" + good, body0, t0, 0, nil},
		{"duplicate s: last wins (good first)", pre + "s=" + good + ",s=" + other, body0, t0, 0, ReasonSignatureMismatch},
		{"duplicate s: invalid last hides good", pre + "s=" + good + ",s=xyz", body0, t0, 0, ReasonMalformed},
		{"duplicate id: last wins", "t=" + ts + ",id=evil,id=dlv,s=" + good, body0, t0, 0, nil},
		{"duplicate id: wrong last", "t=" + ts + ",id=dlv,id=evil,s=" + good, body0, t0, 0, ReasonSignatureMismatch},
		{"duplicate t: last wins", "t=2020-01-01T00:00:00.000Z,t=" + ts + ",id=dlv,s=" + good, body0, t0, 0, nil},

		{"one byte of body changed", pre + "s=" + good, bytes.Replace(body0, []byte("12.5"), []byte("12.6"), 1), t0, 0, ReasonSignatureMismatch},
		{"body re-serialised", pre + "s=" + good, append(bytes.Clone(body0), '\n'), t0, 0, ReasonSignatureMismatch},
		{"wrong id", "t=" + ts + ",id=dlv2,s=" + good, body0, t0, 0, ReasonSignatureMismatch},
		{"other t within tolerance", "t=2026-03-11T10:00:00.124Z,id=dlv,s=" + good, body0, t0, 0, ReasonSignatureMismatch},

		{"300 s old: ok", pre + "s=" + good, body0, t0.Add(300 * time.Second), 0, nil},
		{"300 s early: ok", pre + "s=" + good, body0, t0.Add(-300 * time.Second), 0, nil},
		{"301 s old", pre + "s=" + good, body0, t0.Add(301 * time.Second), 0, ReasonTimestampOutOfRange},
		{"301 s in the future", pre + "s=" + good, body0, t0.Add(-301 * time.Second), 0, ReasonTimestampOutOfRange},
		{"1 ms past the limit", pre + "s=" + good, body0, t0.Truncate(time.Millisecond).Add(300*time.Second + time.Millisecond), 0, ReasonTimestampOutOfRange},
		{"custom tolerance", pre + "s=" + good, body0, t0.Add(11 * time.Second), 10 * time.Second, ReasonTimestampOutOfRange},
		{"custom tolerance, inside", pre + "s=" + good, body0, t0.Add(-9 * time.Second), 10 * time.Second, nil},
		{"negative tolerance is the default", pre + "s=" + good, body0, t0.Add(299 * time.Second), -1, nil},
		{"timestamp checked before the HMAC", pre + "s=" + other, body0, t0.Add(time.Hour), 0, ReasonTimestampOutOfRange},
		{"far past", "t=0001-01-01T00:00:00.000Z,id=dlv,s=" + good, body0, t0, 0, ReasonTimestampOutOfRange},
		{"far future", "t=9999-12-31T23:59:59.999Z,id=dlv,s=" + good, body0, t0, 0, ReasonTimestampOutOfRange},
	}
	for _, c := range cases {
		d, err := VerifyHeader(c.header, c.body, secrets, c.now, c.tol)
		if err != c.want {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
		if err != nil && d != (Delivery{}) {
			t.Errorf("%s: failed verification returned %+v", c.name, d)
		}
		if err == nil && d.ID != "dlv" {
			t.Errorf("%s: ID = %q", c.name, d.ID)
		}
	}

	// Every single-byte change anywhere in the body is caught.
	h := pre + "s=" + good
	for i := range body0 {
		b := bytes.Clone(body0)
		b[i] ^= 1
		if _, err := VerifyHeader(h, b, secrets, t0, 0); err != ReasonSignatureMismatch {
			t.Fatalf("byte %d flipped: err = %v", i, err)
		}
	}
	if _, err := VerifyHeader(h, body0, [][]byte{[]byte("wrong")}, t0, 0); err != ReasonSignatureMismatch {
		t.Errorf("wrong secret: %v", err)
	}
	for _, s := range [][][]byte{nil, {}, {nil}, {{}}} {
		if _, err := VerifyHeader(h, body0, s, t0, 0); err != ErrNoSecret {
			t.Errorf("secrets %v: err = %v, want ErrNoSecret", s, err)
		}
	}
	// Reasons work as errors.
	_, err := VerifyHeader("t=x", body0, secrets, t0, 0)
	var r Reason
	if !errors.Is(err, ReasonMalformed) || !errors.As(err, &r) || string(r) != "malformed" {
		t.Errorf("err = %#v", err)
	}
}

func TestReasonStrings(t *testing.T) {
	// These are the vendor SDK's WebhookFailureReason values; merchants
	// may match on them, so they must not change.
	for r, want := range map[Reason]string{
		ReasonMissingHeader:       "missing_header",
		ReasonMalformed:           "malformed",
		ReasonTimestampOutOfRange: "timestamp_out_of_range",
		ReasonSignatureMismatch:   "signature_mismatch",
		ReasonInvalidJSON:         "invalid_json",
	} {
		if string(r) != want || r.Error() != "sign: "+want {
			t.Errorf("%q / %q, want %q", string(r), r.Error(), want)
		}
	}
}

func TestISOTime(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	for _, c := range []struct {
		in   time.Time
		want string
	}{
		{time.Date(2026, 3, 11, 10, 0, 0, 0, time.UTC), "2026-03-11T10:00:00.000Z"},
		{time.Date(2026, 3, 11, 10, 0, 0, 999999999, time.UTC), "2026-03-11T10:00:00.999Z"}, // truncated, not rounded
		{time.Date(2026, 3, 11, 11, 0, 0, 5000000, cet), "2026-03-11T10:00:00.005Z"},
		{time.Date(2027, 1, 1, 0, 30, 0, 0, cet), "2026-12-31T23:30:00.000Z"},
		{time.Unix(0, 0), "1970-01-01T00:00:00.000Z"},
		{time.UnixMilli(-1), "1969-12-31T23:59:59.999Z"},
		{time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), "0000-01-01T00:00:00.000Z"},
		{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), "+010000-01-01T00:00:00.000Z"},
		{time.UnixMilli(8.64e15), "+275760-09-13T00:00:00.000Z"},
		{time.Date(-1, 6, 1, 0, 0, 0, 0, time.UTC), "-000001-06-01T00:00:00.000Z"},
	} {
		if got := ISOTime(c.in); got != c.want {
			t.Errorf("ISOTime(%v) = %s, want %s", c.in, got, c.want)
		}
	}
}

// ---- Explain ----

func TestExplain(t *testing.T) {
	ts := ISOTime(t0)
	h := Header("dlv", t0, body0, curSecret)
	both := [][]byte{curSecret, prevSecret}
	cases := []struct {
		name     string
		header   string
		body     []byte
		secrets  [][]byte
		now      time.Time
		ok       bool
		reason   Reason
		contains []string
	}{
		{"valid", h, body0, both, t0, true, "", []string{"valid", "s= matches the current secret"}},
		{"valid with previous", Header("dlv", t0, body0, prevSecret), body0, both, t0, true, "", []string{"s= matches the previous secret", "keep it"}},
		{"valid via s1", Header("dlv", t0, body0, []byte("x"), curSecret), body0, [][]byte{curSecret}, t0, true, "", []string{"s1= matches the secret"}},
		{"no secret", h, body0, [][]byte{{}}, t0, false, "", []string{"no API secret"}},
		{"missing header", "", body0, both, t0, false, ReasonMissingHeader, []string{"X-AssetPay-Signature", "test"}},
		{"missing id", "t=" + ts + ",s=" + strings.Repeat("a", 64), body0, both, t0, false, ReasonMalformed, []string{"no id="}},
		{"missing everything", "hello", body0, both, t0, false, ReasonMalformed, []string{"no t=", "no id=", "no s="}},
		{"bad t", "t=yesterday,id=x,s=" + strings.Repeat("a", 64), body0, both, t0, false, ReasonMalformed, []string{`t="yesterday" is not an ISO 8601 timestamp`}},
		{"63 chars", "t=" + ts + ",id=x,s=" + strings.Repeat("a", 63), body0, both, t0, false, ReasonMalformed, []string{"s= is 63 characters long, not 64"}},
		{"not hex", "t=" + ts + ",id=x,s=" + strings.Repeat("g", 64), body0, both, t0, false, ReasonMalformed, []string{"s= has characters that are not hex digits"}},
		{"old", h, body0, both, t0.Add(412 * time.Second), false, ReasonTimestampOutOfRange, []string{"the timestamp is 412 s old; the limit is 300 s", "signature itself is valid"}},
		{"future", h, body0, both, t0.Add(-300500 * time.Millisecond), false, ReasonTimestampOutOfRange, []string{"300.5 s in the future; the limit is 300 s"}},
		{"old and wrong", h, body0, [][]byte{prevSecret}, t0.Add(time.Hour), false, ReasonTimestampOutOfRange, []string{"3600 s old", "does not match either"}},
		{"wrong secret, two configured", h, body0, [][]byte{[]byte("a"), []byte("b")}, t0, false, ReasonSignatureMismatch,
			[]string{"the signature matches neither the current nor the previous secret: either the secret is wrong or the body was altered after signing"}},
		{"wrong secret, one configured", h, body0, [][]byte{prevSecret}, t0, false, ReasonSignatureMismatch, []string{"does not match the secret"}},
		{"body gained a newline", h, append(bytes.Clone(body0), '\r', '\n'), both, t0, false, ReasonSignatureMismatch, []string{"whitespace around the body"}},
		{"not JSON", Header("dlv", t0, []byte("not json"), curSecret), []byte("not json"), both, t0, false, ReasonInvalidJSON, []string{"not valid JSON"}},
	}
	hexRun := regexp.MustCompile(`[0-9a-fA-F]{16,}`)
	for _, c := range cases {
		d := Explain(c.header, c.body, c.secrets, c.now)
		if d.OK != c.ok || d.Reason != c.reason {
			t.Errorf("%s: OK=%v Reason=%q, want %v %q (%s)", c.name, d.OK, d.Reason, c.ok, c.reason, d.Message)
		}
		for _, want := range c.contains {
			if !strings.Contains(d.Message, want) {
				t.Errorf("%s: message %q lacks %q", c.name, d.Message, want)
			}
		}
		// Never leak a signature: no long hex run, and none of the
		// signatures any configured secret would produce.
		if m := hexRun.FindString(d.Message); m != "" {
			t.Errorf("%s: message contains hex %q", c.name, m)
		}
		for _, s := range c.secrets {
			for _, body := range [][]byte{c.body, body0} {
				for _, id := range []string{"dlv", "x"} {
					sig := headerMAC(s, id, ts, body, nil)
					for _, enc := range []string{hex.EncodeToString(sig), hex.EncodeToString(sig)[:8]} {
						if strings.Contains(d.Message, enc) {
							t.Errorf("%s: message leaks a signature", c.name)
						}
					}
				}
			}
		}
		if c.ok != (d.Delivery != Delivery{}) {
			t.Errorf("%s: Delivery = %+v", c.name, d.Delivery)
		}
		// Explain and VerifyHeader agree on the reason.
		if c.reason != ReasonInvalidJSON && c.reason != "" {
			if _, err := VerifyHeader(c.header, c.body, c.secrets, c.now, 0); err != c.reason {
				t.Errorf("%s: VerifyHeader says %v, Explain %q", c.name, err, c.reason)
			}
		}
	}
}

// ---- AssetPay body key ----

func TestBodyKey(t *testing.T) {
	trade := []byte(`{"id":"t-1","items":[{"offer":{"price":1.1,"reference":"r"},"id":"a"}],"totalPrice":1.1}`)
	key, err := BodyKey(curSecret, trade)
	if err != nil {
		t.Fatal(err)
	}
	canon := `{"id":"t-1","items":[{"id":"a","offer":{"price":1.1,"reference":"r"}}],"totalPrice":1.1}`
	mac := hmac.New(sha256.New, curSecret)
	mac.Write([]byte(canon))
	if want := hex.EncodeToString(mac.Sum(nil)); key != want {
		t.Errorf("BodyKey = %s, want %s", key, want)
	}
	// Whitespace, key order and number spelling do not matter.
	pretty := []byte("{\n  \"totalPrice\": 1.10,\n  \"items\": [ { \"id\": \"a\", \"offer\": { \"reference\": \"r\", \"price\": 11e-1 } } ],\n  \"id\": \"t-1\"\n}")
	if !VerifyBodyKey([][]byte{prevSecret, curSecret}, pretty, key) {
		t.Error("pretty-printed trade does not verify")
	}
	for name, c := range map[string]struct {
		secrets [][]byte
		trade   []byte
		key     string
	}{
		"wrong secret":     {[][]byte{prevSecret}, trade, key},
		"no secrets":       {nil, trade, key},
		"empty secret":     {[][]byte{{}}, trade, key},
		"changed price":    {[][]byte{curSecret}, bytes.Replace(trade, []byte("1.1,"), []byte("1.2,"), 1), key},
		"changed array":    {[][]byte{curSecret}, bytes.Replace(trade, []byte(`[{`), []byte(`[null,{`), 1), key},
		"63 hex":           {[][]byte{curSecret}, trade, key[:63]},
		"not hex":          {[][]byte{curSecret}, trade, strings.Repeat("x", 64)},
		"empty key":        {[][]byte{curSecret}, trade, ""},
		"invalid JSON":     {[][]byte{curSecret}, trade[1:], key},
		"trailing data":    {[][]byte{curSecret}, append(bytes.Clone(trade), '1'), key},
		"whole body given": {[][]byte{curSecret}, []byte(`{"payload":{"trade":` + string(trade) + `}}`), key},
	} {
		if VerifyBodyKey(c.secrets, c.trade, c.key) {
			t.Errorf("%s: VerifyBodyKey = true", name)
		}
	}
	if _, err := BodyKey(nil, trade); err != ErrNoSecret {
		t.Errorf("BodyKey(nil secret): %v", err)
	}
	if _, err := BodyKey(curSecret, []byte(`{"a":`)); err == nil {
		t.Error("BodyKey of invalid JSON: no error")
	}
}

// A whole older-API callback, signed and then verified the way a merchant
// would: pull payload.trade out as raw bytes, then check payload.key.
func TestBodyKeyCallbackRoundTrip(t *testing.T) {
	trade := json.RawMessage(`{"id":"t-3","status":"COMPLETED","totalPrice":45,"preCredit":8.6}`)
	key, err := BodyKey(curSecret, trade)
	if err != nil {
		t.Fatal(err)
	}
	type payload struct {
		Trade     json.RawMessage `json:"trade"`
		Event     string          `json:"event"`
		Timestamp string          `json:"timestamp"`
		Key       string          `json:"key"`
	}
	body, err := json.Marshal(map[string]payload{"payload": {trade, "COMPLETED", ISOTime(t0), key}})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]payload
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	p := got["payload"]
	if !VerifyBodyKey([][]byte{curSecret}, p.Trade, p.Key) {
		t.Errorf("callback %s does not verify", body)
	}
}

// ---- canonical JSON ----

func TestJSNumber(t *testing.T) {
	// Expected values are what Node prints for String(JSON.parse(in)).
	for _, c := range []struct{ in, want string }{
		{"0", "0"},
		{"-0", "0"},
		{"-0.0", "0"},
		{"1", "1"},
		{"10.75", "10.75"},
		{"8.6", "8.6"},
		{"0.1", "0.1"},
		{"1e21", "1e+21"},
		{"1e-7", "1e-7"},
		{"1.5e-7", "1.5e-7"},
		{"123456789012345680000", "123456789012345680000"},
		{"5e-324", "5e-324"},
		{"1.7976931348623157e308", "1.7976931348623157e+308"},
		{"100000", "100000"},
		{"0.000001", "0.000001"},
		{"1234.5", "1234.5"},
		{"-1.5", "-1.5"},
		{"1e20", "100000000000000000000"},
		{"999999999999999999999", "1e+21"},
		{"9.999999999999999e20", "999999999999999900000"},
		{"0.30000000000000004", "0.30000000000000004"},
		{"9007199254740993", "9007199254740992"},
		{"1.2e-6", "0.0000012"},
		{"123e-20", "1.23e-18"},
		{"-1e-7", "-1e-7"},
		{"4.35", "4.35"},
		{"0.0000001", "1e-7"},
		{"1.5e300", "1.5e+300"},
		{"2e-323", "2e-323"},
		{"1E+2", "100"},
		{"0.00001234", "0.00001234"},
		{"1e-400", "0"},
		{"123456789.123456789", "123456789.12345679"},
		{"2.2250738585072014e-308", "2.2250738585072014e-308"},
		{"1e100", "1e+100"},
		{"25.5e5", "2550000"},
		{"45.0", "45"},
	} {
		got, err := Canonical([]byte(c.in))
		if err != nil || string(got) != c.want {
			t.Errorf("%s: got %s, %v; want %s", c.in, got, err, c.want)
		}
	}
	if got := string(appendJSNumber(nil, math.Copysign(0, -1))); got != "0" {
		t.Errorf("-0 = %s", got)
	}
	if got := string(appendJSNumber(nil, math.SmallestNonzeroFloat64)); got != "5e-324" {
		t.Errorf("min denormal = %s", got)
	}
	if got := string(appendJSNumber(nil, -math.MaxFloat64)); got != "-1.7976931348623157e+308" {
		t.Errorf("-max = %s", got)
	}
}

func TestCanonical(t *testing.T) {
	// Expected values are what a JavaScript canonicalize (Object.keys
	// sorted, JSON.stringify for leaves) prints for JSON.parse(in).
	for _, c := range []struct{ in, want string }{
		{`{"b":1,"a":{"d":[3,{"z":true,"y":null}],"c":"x"}}`, `{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}`},
		{`[{"b":2,"a":1},[],{},"",0.5,-0,1E2]`, `[{"a":1,"b":2},[],{},"",0.5,0,100]`},
		{`{"s":"quote\" backslash\\ slash\/ tab\t nl\n cr\r bs\b ff\f nul\u0000 us\u001f del\u007f"}`,
			`{"s":"quote\" backslash\\ slash/ tab\t nl\n cr\r bs\b ff\f nul\u0000 us\u001f del` + "\x7f" + `"}`},
		{`{"html":"<a href='x'>&amp;</a>","u2028":"\u2028\u2029","é":"café ünïcödé 日本 😀","emoji":"\ud83d\ude00"}`,
			"{\"emoji\":\"😀\",\"html\":\"<a href='x'>&amp;</a>\",\"u2028\":\"\u2028\u2029\",\"é\":\"café ünïcödé 日本 😀\"}"},
		{`{"10":"ten","9":"nine","B":"upper","a":"lower","_":"under","":"empty","aa":1,"a\u0000":2}`,
			`{"":"empty","10":"ten","9":"nine","B":"upper","_":"under","a":"lower","a\u0000":2,"aa":1}`},
		{`{"a":1,"a":2}`, `{"a":2}`},
		{" \n {\n  \"x\" : [ 1 , 2.50 , 3e0 ] \t}\r\n", `{"x":[1,2.5,3]}`},
		{`"just a string"`, `"just a string"`},
		{`"\u00E9\u00e9"`, `"éé"`},
		{`"\u001F\u000b"`, `"\u001f\u000b"`},
		{`true`, `true`},
		{`false`, `false`},
		{`null`, `null`},
		{`12.0`, `12`},
		{`{"deep":[[[[{"k":[{"b":0,"a":-0.0}]}]]]]}`, `{"deep":[[[[{"k":[{"a":0,"b":0}]}]]]]}`},
		{`{"\u00e9":1,"e\u0301":2,"z":3}`, "{\"e\u0301\":2,\"z\":3,\"é\":1}"},
	} {
		got, err := Canonical([]byte(c.in))
		if err != nil || string(got) != c.want {
			t.Errorf("Canonical(%s)\n got %s, %v\nwant %s", c.in, got, err, c.want)
		}
	}
}

func TestCanonicalEdges(t *testing.T) {
	// Keys sort by UTF-8 bytes. JavaScript would put "😀" (UTF-16 D83D)
	// before "\uffff"; documented in Canonical, and no trade key does this.
	if got, _ := Canonical([]byte(`{"😀":1,"\uffff":2}`)); string(got) != "{\"\uffff\":2,\"😀\":1}" {
		t.Errorf("got %s", got)
	}
	// Invalid UTF-8 and lone surrogates become U+FFFD.
	if got, _ := Canonical([]byte("\"a\xffb\\ud800c\"")); string(got) != "\"a\ufffdb\ufffdc\"" {
		t.Errorf("got %q", got)
	}
	for _, in := range []string{"", " ", "{", `{"a":}`, "1 2", "[1]]", "nul", "01", "1.", "+1", "NaN", "'a'", `{"a":1,}`, "1e400", "-1e400", `[1e999]`} {
		if got, err := Canonical([]byte(in)); err == nil {
			t.Errorf("Canonical(%q) = %s, want an error", in, got)
		}
	}
	// appendJSString copes with invalid UTF-8 it is handed directly.
	if got := string(appendJSString(nil, "\xe2\x82x")); got != "\"\ufffd\ufffdx\"" {
		t.Errorf("got %q", got)
	}
}

func FuzzCanonical(f *testing.F) {
	for _, s := range []string{
		`{"externalId":null,"game":"730","items":[{"id":"a1","offer":{"price":10.75}}],"totalPrice":10.75}`,
		`[1e21,1e-7,-0,5e-324,1.7976931348623157e308,0.1,123456789012345680000]`,
		`{"b":{"d":[],"c":{}},"a":"\u0000\n\"\\<>&\u2028😀é"}`,
		`"\ud800"`, "\"\xff\"", `{"a":1,"a":2}`, `1e400`, ` 7 `, `[`, `{"":""}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := Canonical(in)
		if err != nil {
			var v any
			if json.Unmarshal(in, &v) == nil {
				t.Fatalf("Canonical(%q) failed (%v) but the input parses", in, err)
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("Canonical(%q) = %q, not valid JSON", in, out)
		}
		again, err := Canonical(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", in, out, again, err)
		}
		var a, b any
		if err := json.Unmarshal(in, &a); err != nil {
			t.Fatalf("Canonical accepted %q, which does not parse: %v", in, err)
		}
		if err := json.Unmarshal(out, &b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("value changed: %q -> %q", in, out)
		}
	})
}

// ---- benchmarks ----

func BenchmarkHeader(b *testing.B) {
	body := bytes.Repeat(body0, 8) // about 700 bytes, a typical trade callback
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		_ = Header("3f6c8e2a-9b41-4d7e-a0c5-1b2d3e4f5a6b", t0, body, curSecret, prevSecret)
	}
}

func BenchmarkVerifyHeader(b *testing.B) {
	h := Header("dlv", t0, body0, curSecret, prevSecret)
	secrets := [][]byte{curSecret, prevSecret}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := VerifyHeader(h, body0, secrets, t0, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBodyKey(b *testing.B) {
	trade := []byte(`{"id":"trade-uuid","type":"DEPOSIT","status":"COMPLETED","game":"730","totalPrice":10.75,"preCredit":8.6,"pendingCredit":2.15,"isInstant":true,"items":[{"id":"a1","offer":{"price":10.75,"reference":"ref_1"}}],"holdEndDate":"2026-03-11T10:00:00.000Z","externalId":null}`)
	b.SetBytes(int64(len(trade)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := BodyKey(curSecret, trade); err != nil {
			b.Fatal(err)
		}
	}
}
