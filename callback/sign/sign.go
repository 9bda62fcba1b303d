package sign

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// AssetPayHeader names the header that carries the [gg] signature, so the
// sender and the SDK spell it the same way (lookups are case-insensitive).
const AssetPayHeader = "X-AssetPay-Signature"

// SagaPayHeader names the header that carries the SagaPay signature, as the
// vendor's docs spell it.
const SagaPayHeader = "x-webhook-signature"

// DefaultTolerance is how far, either way, a header's t may be from now
// before the delivery is refused as a replay: the vendor SDK's default.
const DefaultTolerance = 300 * time.Second

// ErrNoSecret is returned when no non-empty secret is given. It is a
// configuration error, not a property of the delivery, so it is not a
// [Reason]: an empty secret would be a key anyone can compute.
var ErrNoSecret = errors.New("sign: no secret configured")

// Reason says why [VerifyHeader] refused a delivery. Its values are exactly
// the vendor SDK's failure reasons, so a merchant's handler can answer 401
// with the same words whichever SDK it uses. A Reason is an error, and
// VerifyHeader returns these values as is, so errors.Is and == both work.
type Reason string

// The failure reasons, in the order the checks run.
const (
	// ReasonMissingHeader: the signature header is absent or empty.
	ReasonMissingHeader Reason = "missing_header"
	// ReasonMalformed: t or id is missing, t is not a timestamp, or
	// there is no s or s1 of exactly 64 hex characters.
	ReasonMalformed Reason = "malformed"
	// ReasonTimestampOutOfRange: t is further from now than the
	// tolerance, in either direction. Checked before any HMAC.
	ReasonTimestampOutOfRange Reason = "timestamp_out_of_range"
	// ReasonSignatureMismatch: no secret matches s or s1.
	ReasonSignatureMismatch Reason = "signature_mismatch"
	// ReasonInvalidJSON: the signature is good but the body is not JSON.
	// Only [Explain] reports it; VerifyHeader does not parse the body,
	// the caller does.
	ReasonInvalidJSON Reason = "invalid_json"
)

// Error implements error, so a Reason can be returned and compared as one.
func (r Reason) Error() string { return "sign: " + string(r) }

// ---- AssetPay body key ([co]) ----

// BodyKey returns payload.key for an older-API callback: the lowercase hex
// HMAC-SHA256, keyed with the API secret, of [Canonical](trade). trade is
// the JSON of the trade object alone, not the whole body. An empty secret
// is refused with [ErrNoSecret] rather than signed with.
func BodyKey(secret []byte, trade []byte) (string, error) {
	if len(secret) == 0 {
		return "", ErrNoSecret
	}
	canon, err := Canonical(trade)
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(canon)
	return hex.EncodeToString(mac.Sum(nil)), nil
}

// VerifyBodyKey reports whether key is the body key of trade under any of
// the secrets. key is 64 hex characters in either case; trade is the raw
// JSON of payload.trade as received (its formatting does not matter, it is
// canonicalised first). Empty secrets are skipped; the comparison is
// constant time and checks every secret.
func VerifyBodyKey(secrets [][]byte, trade []byte, key string) bool {
	want, ok := decodeHex64(key)
	if !ok {
		return false
	}
	canon, err := Canonical(trade)
	if err != nil {
		return false
	}
	matched := false
	var sum [sha256.Size]byte
	for _, secret := range secrets {
		if len(secret) == 0 {
			continue
		}
		mac := hmac.New(sha256.New, secret)
		mac.Write(canon)
		if hmac.Equal(mac.Sum(sum[:0]), want) {
			matched = true
		}
	}
	return matched
}

// ---- AssetPay signature header ([gg]) ----

// ISOTime formats t as JavaScript's Date.prototype.toISOString does
// (2026-03-11T10:00:00.000Z: UTC, milliseconds truncated to exactly three
// digits, Z), because the signed t must be byte-identical to what the
// vendor's own signer emits. Years outside 0..9999 use the expanded form
// (+275760-09-13T00:00:00.000Z), as JavaScript does.
func ISOTime(t time.Time) string {
	t = t.UTC()
	y := t.Year()
	if 0 <= y && y <= 9999 {
		return t.Format("2006-01-02T15:04:05.000Z")
	}
	sign := "+"
	if y < 0 {
		sign, y = "-", -y
	}
	return fmt.Sprintf("%s%06d", sign, y) + t.Format("-01-02T15:04:05.000Z")
}

// Header returns the X-AssetPay-Signature value for one delivery:
// t=<ISOTime(t)>,id=<deliveryID>,s=<hex>, plus ,s1=<hex> when a second
// secret is given (the previous secret, during rotation). Further secrets
// are ignored. body is the exact bytes that will be sent.
//
// deliveryID must be printable ASCII without commas or surrounding
// spaces (a UUID is): the verifier splits on commas and trims, and Node
// reads header bytes as Latin-1, so anything else would verify differently
// there. An empty secret yields a signature no verifier accepts.
func Header(deliveryID string, t time.Time, body []byte, secrets ...[]byte) string {
	ts := ISOTime(t)
	b := make([]byte, 0, len("t=,id=,s=,s1=")+len(ts)+len(deliveryID)+4*sha256.Size)
	b = append(b, "t="...)
	b = append(b, ts...)
	b = append(b, ",id="...)
	b = append(b, deliveryID...)
	var sum [sha256.Size]byte
	for i, secret := range secrets[:min(2, len(secrets))] {
		if i == 0 {
			b = append(b, ",s="...)
		} else {
			b = append(b, ",s1="...)
		}
		b = hex.AppendEncode(b, headerMAC(secret, deliveryID, ts, body, sum[:0]))
	}
	return string(b)
}

// Delivery is what a verified header vouches for.
type Delivery struct {
	// ID is the delivery id (id=). Ordinary events keep it across
	// retries, so it is their dedupe key; approvals get a new one per
	// attempt and must be deduped on the trade id instead.
	ID string
	// Timestamp is t= exactly as sent, the string that was signed.
	Timestamp string
	// Time is Timestamp parsed, to the millisecond.
	Time time.Time
	// Secret is the index in secrets of the secret that matched. 1 means
	// deliveries still come signed with the previous secret only, so it
	// cannot be dropped yet.
	Secret int
}

// VerifyHeader checks an X-AssetPay-Signature header against the raw body
// exactly as the vendor SDK's verifyWebhook does, and returns the delivery
// it vouches for, or the zero Delivery and a [Reason] (or [ErrNoSecret]).
//
// In order: an empty header is [ReasonMissingHeader]. The header is split
// on "," and each part on its first "=", both sides trimmed; only t, id, s
// and s1 count, a repeated key keeps its last value, and s or s1 other than
// exactly 64 hex characters (either case) is ignored. A missing t or id,
// no usable s or s1, or a t that is not an RFC 3339 timestamp (the ISO 8601
// form Date.toISOString writes; JavaScript's Date.parse also takes looser
// forms, which no AssetPay sender uses) is [ReasonMalformed]. A t more than
// tolerance away from now, either way, is [ReasonTimestampOutOfRange];
// tolerance <= 0 means [DefaultTolerance]. Last, every non-empty secret is
// tried against both s and s1 in constant time, and no match is
// [ReasonSignatureMismatch].
//
// The body is not parsed; a caller that then fails to parse it should
// answer as for [ReasonInvalidJSON].
func VerifyHeader(header string, body []byte, secrets [][]byte, now time.Time, tolerance time.Duration) (Delivery, error) {
	if !hasSecret(secrets) {
		return Delivery{}, ErrNoSecret
	}
	if header == "" {
		return Delivery{}, ReasonMissingHeader
	}
	p := parseHeader(header)
	if len(p.problems) > 0 {
		return Delivery{}, ReasonMalformed
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	if outOfRange(now, p.at, tolerance) {
		return Delivery{}, ReasonTimestampOutOfRange
	}
	idx, _ := p.match(secrets, body)
	if idx < 0 {
		return Delivery{}, ReasonSignatureMismatch
	}
	return Delivery{ID: p.id, Timestamp: p.t, Time: p.at, Secret: idx}, nil
}

// Diagnosis is the dashboard's answer to "why does my endpoint refuse this
// callback?". It names the check that fails and says why in plain words,
// and never contains a computed signature, so it cannot be used to forge
// one.
type Diagnosis struct {
	// OK is true when the callback would be accepted.
	OK bool
	// Reason is the vendor SDK's reason for refusing it, or "" when OK
	// or when no secret is configured.
	Reason Reason
	// Message explains Reason (or success) to a person.
	Message string
	// Delivery is set only when OK.
	Delivery Delivery
}

// Explain runs the checks of [VerifyHeader] with [DefaultTolerance] on a
// pasted header and body and says which one fails and why, so a merchant
// can tell a clock problem from a wrong secret from a body that was edited
// on the way. Unlike VerifyHeader it goes on after a timestamp failure to
// say whether the signature itself is good, and after a good signature it
// checks that the body is JSON, as the SDK does. Messages describe the
// pasted values, never the expected signature.
func Explain(header string, body []byte, secrets [][]byte, now time.Time) Diagnosis {
	n := 0
	for _, s := range secrets {
		if len(s) > 0 {
			n++
		}
	}
	if n == 0 {
		return Diagnosis{Message: "no API secret is configured, so no callback can be verified"}
	}
	if header == "" {
		return Diagnosis{Reason: ReasonMissingHeader, Message: "there is no " + AssetPayHeader +
			" header, or it is empty; only the unsigned {\"test\": true} ping is sent without one"}
	}
	p := parseHeader(header)
	if len(p.problems) > 0 {
		return Diagnosis{Reason: ReasonMalformed, Message: "the " + AssetPayHeader +
			" header is malformed: " + strings.Join(p.problems, "; ")}
	}
	idx, which := p.match(secrets, body)
	if outOfRange(now, p.at, DefaultTolerance) {
		d := now.Truncate(time.Millisecond).Sub(p.at)
		age := "old"
		if d < 0 {
			age = "in the future"
		}
		msg := fmt.Sprintf("the timestamp is %s s %s; the limit is %s s", seconds(d), age, seconds(DefaultTolerance))
		if idx >= 0 {
			msg += " (the signature itself is valid: this is a replayed or long-delayed delivery, or a clock is off)"
		} else {
			msg += " (and the signature does not match either)"
		}
		return Diagnosis{Reason: ReasonTimestampOutOfRange, Message: msg}
	}
	if idx < 0 {
		var msg string
		switch n {
		case 1:
			msg = "the signature does not match the secret"
		case 2:
			msg = "the signature matches neither the current nor the previous secret"
		default:
			msg = fmt.Sprintf("the signature matches none of the %d secrets", n)
		}
		msg += ": either the secret is wrong or the body was altered after signing"
		if trimmed := bytes.TrimSpace(body); len(trimmed) != len(body) {
			if i, _ := p.match(secrets, trimmed); i >= 0 {
				msg += "; it does match once the whitespace around the body is removed, so something added it after signing"
			}
		}
		msg += " (verify the raw request bytes, never re-serialised JSON)"
		return Diagnosis{Reason: ReasonSignatureMismatch, Message: msg}
	}
	if !json.Valid(body) {
		return Diagnosis{Reason: ReasonInvalidJSON, Message: "the signature is valid but the body is not valid JSON"}
	}
	msg := fmt.Sprintf("the callback is valid: %s= matches the %s", which, secretName(idx, n))
	if idx > 0 {
		msg += "; deliveries are still signed with an older secret, so keep it configured until they stop"
	}
	return Diagnosis{OK: true, Message: msg,
		Delivery: Delivery{ID: p.id, Timestamp: p.t, Time: p.at, Secret: idx}}
}

// parsedHeader is one X-AssetPay-Signature value, split up.
type parsedHeader struct {
	t, id string
	at    time.Time
	sigs  []namedSig
	// problems lists why the header is malformed; empty when it is not.
	problems []string
}

type namedSig struct {
	name string // "s" or "s1"
	mac  []byte
}

// parseHeader follows the SDK: split on ",", then on the first "=", trim
// both sides as String.prototype.trim does, last value wins.
func parseHeader(header string) parsedHeader {
	var p parsedHeader
	var s, s1 string
	var hasS, hasS1 bool
	for seg := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(seg, "=")
		if !ok {
			continue
		}
		v = jsTrim(v)
		switch jsTrim(k) {
		case "t":
			p.t = v
		case "id":
			p.id = v
		case "s":
			s, hasS = v, true
		case "s1":
			s1, hasS1 = v, true
		}
	}
	if p.t == "" {
		p.problems = append(p.problems, "it has no t= timestamp")
	} else if at, err := time.Parse(time.RFC3339, p.t); err != nil {
		p.problems = append(p.problems, fmt.Sprintf("t=%s is not an ISO 8601 timestamp like 2026-03-11T10:00:00.000Z", clip(p.t)))
	} else {
		p.at = at.Truncate(time.Millisecond) // a JavaScript Date holds milliseconds
	}
	if p.id == "" {
		p.problems = append(p.problems, "it has no id= delivery id")
	}
	var bad []string
	for _, c := range []struct {
		name, v string
		has     bool
	}{{"s", s, hasS}, {"s1", s1, hasS1}} {
		if !c.has {
			continue
		}
		if mac, ok := decodeHex64(c.v); ok {
			p.sigs = append(p.sigs, namedSig{c.name, mac})
		} else {
			if len(c.v) == 2*sha256.Size {
				bad = append(bad, c.name+"= has characters that are not hex digits")
			} else {
				bad = append(bad, fmt.Sprintf("%s= is %d characters long, not 64", c.name, len(c.v)))
			}
		}
	}
	if len(p.sigs) == 0 {
		if len(bad) == 0 {
			p.problems = append(p.problems, "it has no s= signature")
		} else {
			p.problems = append(p.problems, "it has no usable signature: "+strings.Join(bad, ", "))
		}
	}
	return p
}

// match tries every non-empty secret against every signature in the
// header, without stopping early, and returns the index of the first
// secret that matched and the name of the signature it matched, or -1.
func (p *parsedHeader) match(secrets [][]byte, body []byte) (int, string) {
	found, which := -1, ""
	var sum [sha256.Size]byte
	for i, secret := range secrets {
		if len(secret) == 0 {
			continue
		}
		want := headerMAC(secret, p.id, p.t, body, sum[:0])
		for _, sig := range p.sigs {
			if hmac.Equal(want, sig.mac) && found < 0 {
				found, which = i, sig.name
			}
		}
	}
	return found, which
}

// headerMAC appends HMAC-SHA256(secret, id + "." + t + "." + body) to dst.
func headerMAC(secret []byte, id, t string, body, dst []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	_, _ = io.WriteString(mac, id)
	_, _ = mac.Write([]byte{'.'})
	_, _ = io.WriteString(mac, t)
	_, _ = mac.Write([]byte{'.'})
	_, _ = mac.Write(body)
	return mac.Sum(dst)
}

// ---- SagaPay ----

// SagaPay returns the x-webhook-signature value for a SagaPay webhook: the
// padded standard base64 of HMAC-SHA512(webhook secret, raw body).
func SagaPay(secret, body []byte) string {
	mac := hmac.New(sha512.New, secret)
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// VerifySagaPay reports whether sig is the SagaPay signature of the raw
// body under any of the secrets. sig must be padded standard base64 of 64
// bytes (surrounding spaces are ignored). Empty secrets are skipped; the
// comparison is constant time and checks every secret.
func VerifySagaPay(secrets [][]byte, body []byte, sig string) bool {
	got, err := base64.StdEncoding.Strict().DecodeString(strings.TrimSpace(sig))
	if err != nil || len(got) != sha512.Size {
		return false
	}
	matched := false
	var sum [sha512.Size]byte
	for _, secret := range secrets {
		if len(secret) == 0 {
			continue
		}
		mac := hmac.New(sha512.New, secret)
		mac.Write(body)
		if hmac.Equal(mac.Sum(sum[:0]), got) {
			matched = true
		}
	}
	return matched
}

// ---- helpers ----

// decodeHex64 decodes exactly 64 hex characters of either case.
func decodeHex64(s string) ([]byte, bool) {
	if len(s) != 2*sha256.Size {
		return nil, false
	}
	b, err := hex.DecodeString(s)
	return b, err == nil
}

func hasSecret(secrets [][]byte) bool {
	for _, s := range secrets {
		if len(s) > 0 {
			return true
		}
	}
	return false
}

// outOfRange reports whether at is more than tol away from now, in whole
// milliseconds as JavaScript's Date.now() counts them.
func outOfRange(now, at time.Time, tol time.Duration) bool {
	d := now.Truncate(time.Millisecond).Sub(at) // Sub saturates instead of overflowing
	return d > tol || d < -tol
}

// jsTrim trims what String.prototype.trim trims: Unicode space separators,
// tab, vertical tab, form feed, BOM and line terminators. (unicode.IsSpace
// differs: it trims U+0085 and keeps U+FEFF.)
func jsTrim(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		switch r {
		case '\t', '\n', '\v', '\f', '\r', '\u2028', '\u2029', '\ufeff':
			return true
		}
		return unicode.Is(unicode.Zs, r)
	})
}

// seconds writes |d| in seconds, to the millisecond, without trailing zeros.
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Abs().Round(time.Millisecond).Seconds(), 'f', -1, 64)
}

func secretName(idx, n int) string {
	switch {
	case n == 1:
		return "secret"
	case idx == 0:
		return "current secret"
	case idx == 1:
		return "previous secret"
	default:
		return fmt.Sprintf("secret number %d", idx+1)
	}
}

// clip quotes a pasted value for a message, cut to a readable length.
func clip(s string) string {
	const limit = 40
	if len(s) > limit {
		return strconv.Quote(s[:limit]) + "…"
	}
	return strconv.Quote(s)
}
