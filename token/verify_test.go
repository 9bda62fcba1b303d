package token_test

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/client"
	"github.com/jetonhq/jeton/token"
)

var ctx = context.Background()

// knownBug documents a case where token/verify.go currently disagrees with
// the expected key. The case passes when the verifier returns either the
// expected key or exactly the documented current outcome, so the suite
// stays green while the bug is open and the case tightens itself once it
// is fixed. Every known bug is listed in the test report.
type knownBug struct {
	got  string // key returned today; "" means the token is accepted today
	note string
}

type forgedCase struct {
	name  string
	tok   string // passed to Verify, unless authz is set
	authz *string
	want  string
	bug   *knownBug
}

func ptr(s string) *string { return &s }

// forgedCases builds every refused input from the reference token
// (token.MintAssetPay, m1, secret s3cret, t0, 1h).
func forgedCases(t testing.TB) []forgedCase {
	valid := mintValid(t)
	h, p, s := segments(t, valid)
	payload := claimsJSON(t, nil)
	// Sanity: the reference payload decodes to what baseClaims says.
	if pb, err := b64.DecodeString(p); err != nil || !json.Valid(pb) {
		t.Fatalf("reference payload: %v", err)
	}

	var cs []forgedCase
	add := func(name, tok, want string) { cs = append(cs, forgedCase{name: name, tok: tok, want: want}) }

	// alg "none" in several casings, empty signature (and kept signature).
	for _, alg := range []string{"none", "None", "NONE", "nOnE"} {
		nh := enc(`{"alg":"` + alg + `","userId":"m1"}`)
		add("alg "+alg+" empty signature", join(nh, p, ""), jeton.KeyTokenAlgorithm)
		add("alg "+alg+" signature kept", join(nh, p, s), jeton.KeyTokenAlgorithm)
	}
	add("alg none no userId", join(enc(`{"alg":"none"}`), p, ""), jeton.KeyTokenAlgorithm)

	// Header relabelled to another algorithm.
	for _, alg := range []string{"HS384", "HS512", "RS256", "ES256", "PS256", "EdDSA", "hs256", "HS256 ", ""} {
		relabelled := `{"alg":"` + alg + `","userId":"m1"}`
		add("alg "+alg+" HS256 signature kept", join(enc(relabelled), p, s), jeton.KeyTokenAlgorithm)
		// Correctly HMAC-SHA256-signed over the relabelled header with the real
		// secret: only the algorithm check can refuse it.
		add("alg "+alg+" re-signed HMAC-SHA256", hs256(secret1, relabelled, payload), jeton.KeyTokenAlgorithm)
	}
	add("alg HS384 re-signed HMAC-SHA384", signJSON(sha512.New384, secret1, `{"alg":"HS384","userId":"m1"}`, payload), jeton.KeyTokenAlgorithm)
	add("alg HS512 re-signed HMAC-SHA512", signJSON(sha512.New, secret1, `{"alg":"HS512","userId":"m1"}`, payload), jeton.KeyTokenAlgorithm)
	// HS256 label but a SHA-384/512 MAC: the length alone is wrong.
	add("alg HS256 with HMAC-SHA384 MAC", signJSON(sha512.New384, secret1, hdr(merchant1), payload), jeton.KeyInvalidToken)
	add("alg HS256 with HMAC-SHA512 MAC", signJSON(sha512.New, secret1, hdr(merchant1), payload), jeton.KeyInvalidToken)
	add("alg missing", hs256(secret1, `{"userId":"m1"}`, payload), jeton.KeyTokenAlgorithm)
	add("alg null", hs256(secret1, `{"alg":null,"userId":"m1"}`, payload), jeton.KeyTokenAlgorithm)
	add("alg number", hs256(secret1, `{"alg":256,"userId":"m1"}`, payload), jeton.KeyTokenAlgorithm)
	add("alg array", hs256(secret1, `{"alg":["HS256"],"userId":"m1"}`, payload), jeton.KeyTokenAlgorithm)
	add("duplicate alg, last none", join(enc(`{"alg":"HS256","userId":"m1","alg":"none"}`), p, ""), jeton.KeyTokenAlgorithm)

	// Signature removed, altered, truncated, extended.
	add("signature removed", join(h, p, ""), jeton.KeyInvalidToken)
	add("signature one char flipped", join(h, p, flipMiddle(s)), jeton.KeyInvalidToken)
	add("signature first char flipped", join(h, p, replaceAt(s, 0, map[bool]string{true: "B", false: "A"}[s[0] == 'A'])), jeton.KeyInvalidToken)
	add("signature truncated by one char (31 bytes)", join(h, p, s[:len(s)-1]), jeton.KeyInvalidToken)
	add("signature truncated by two chars (not base64url)", join(h, p, s[:len(s)-2]), jeton.KeyTokenMalformed)
	add("signature truncated to 16 bytes", join(h, p, s[:22]), jeton.KeyInvalidToken)
	add("signature extended by one byte", join(h, p, func() string { sb, _ := b64.DecodeString(s); return b64.EncodeToString(append(sb, 0)) }()), jeton.KeyInvalidToken)
	add("signature doubled", join(h, p, s+s[:len(s)-3]), jeton.KeyInvalidToken)
	add("signature all zero bytes", join(h, p, b64.EncodeToString(make([]byte, 32))), jeton.KeyInvalidToken)
	add("signature of another token", join(h, p, func() string {
		_, _, s2 := segments(t, signedClaims(t, func(c map[string]any) { c["exp"] = t0.Add(2 * time.Hour).Unix() }))
		return s2
	}()), jeton.KeyInvalidToken)
	cs = append(cs, forgedCase{
		name: "signature with non-canonical trailing bits (same bytes)",
		tok:  join(h, p, flipPaddingBits(s)),
		want: jeton.KeyTokenMalformed,
	}, forgedCase{
		name: "signature with an embedded newline (same bytes)",
		tok:  join(h, p, s[:20]+"\n"+s[20:]),
		want: jeton.KeyTokenMalformed,
	}, forgedCase{
		name: "signature with an embedded carriage return (same bytes)",
		tok:  join(h, p, s[:20]+"\r"+s[20:]),
		want: jeton.KeyTokenMalformed,
	})

	// Payload / header altered, signature kept.
	add("payload other steamID, signature kept", join(h, enc(claimsJSON(t, func(c map[string]any) { clientOf(c)["steamID"] = "76561198099999999" })), s), jeton.KeyInvalidToken)
	add("payload longer exp, signature kept", join(h, enc(claimsJSON(t, func(c map[string]any) { c["exp"] = t0.Add(24 * time.Hour).Unix() })), s), jeton.KeyInvalidToken)
	add("payload one char flipped", join(h, flipMiddle(p), s), jeton.KeyInvalidToken)
	add("header extra field, signature kept", join(enc(`{"alg":"HS256","userId":"m1","kid":"x"}`), p, s), jeton.KeyInvalidToken)
	add("header reordered, signature kept", join(enc(`{"userId":"m1","alg":"HS256"}`), p, s), jeton.KeyInvalidToken)
	add("header with whitespace, signature kept", join(enc(`{"alg": "HS256", "userId": "m1"}`), p, s), jeton.KeyInvalidToken)

	// Segment count.
	add("four segments", valid+"."+s, jeton.KeyTokenMalformed)
	add("four segments, empty last", valid+".", jeton.KeyTokenMalformed)
	add("five segments (JWE shape)", join(h, "", p, s, "tag"), jeton.KeyTokenMalformed)
	add("two segments", join(h, p), jeton.KeyTokenMalformed)
	add("one segment", h, jeton.KeyTokenMalformed)
	add("dots only", "..", jeton.KeyTokenMalformed)
	add("empty header segment", join("", p, s), jeton.KeyTokenMalformed)
	add("empty payload segment", join(h, "", s), jeton.KeyTokenMalformed)
	add("unsecured JWS with empty payload", join(enc(`{"alg":"none"}`), "", ""), jeton.KeyTokenMalformed)

	// JSON serialization of JWS instead of compact.
	add("JWS flattened JSON serialization", `{"payload":"`+p+`","protected":"`+h+`","signature":"`+s+`"}`, jeton.KeyTokenMalformed)
	add("JWS general JSON serialization", `{"payload":"`+p+`","signatures":[{"protected":"`+h+`","signature":"`+s+`"}]}`, jeton.KeyTokenMalformed)
	add("JWS JSON with dotted payload", `{"payload":"`+h+"."+p+`","protected":"`+h+`","signature":"`+s+`"}`, jeton.KeyTokenMalformed)

	// Characters outside base64url in each segment (the middle character
	// replaced). The signature is checked before the payload is decoded,
	// so a payload edit is an invalid signature.
	for _, c := range []string{"+", "/", "*", " ", "=", "%", "\x00", "é"} {
		add("header with "+c, join(replaceAt(h, len(h)/2, c), p, s), jeton.KeyTokenMalformed)
		add("payload with "+c, join(h, replaceAt(p, len(p)/2, c), s), jeton.KeyInvalidToken)
		add("signature with "+c, join(h, p, replaceAt(s, len(s)/2, c)), jeton.KeyTokenMalformed)
	}
	add("leading space", " "+valid, jeton.KeyTokenMalformed)
	add("trailing space", valid+" ", jeton.KeyTokenMalformed)

	// '=' padding on each segment.
	pad := func(seg string) string {
		n := (4 - len(seg)%4) % 4
		if n == 0 {
			n = 4
		}
		return seg + strings.Repeat("=", n)
	}
	add("header padded", join(pad(h), p, s), jeton.KeyTokenMalformed)
	add("payload padded", join(h, pad(p), s), jeton.KeyInvalidToken)
	add("signature padded", join(h, p, pad(s)), jeton.KeyTokenMalformed)
	// Padded and correctly re-signed: only decoding can refuse it.
	func() {
		ph, pp := pad(enc(hdr(merchant1))), pad(enc(payload))
		add("header padded, re-signed", ph+"."+enc(payload)+"."+macB64(sha256.New, secret1, ph+"."+enc(payload)), jeton.KeyTokenMalformed)
		add("payload padded, re-signed", h+"."+pp+"."+macB64(sha256.New, secret1, h+"."+pp), jeton.KeyTokenMalformed)
	}()

	// Merchant identity in the header.
	add("userId m2, m1's signature kept", join(enc(hdr(merchant2)), p, s), jeton.KeyInvalidToken)
	add("userId m2, signed with m1's secret", hs256(secret1, hdr(merchant2), payload), jeton.KeyInvalidToken)
	add("userId m1, signed with m2's secret", hs256(secret2, hdr(merchant1), payload), jeton.KeyInvalidToken)
	add("userId missing", hs256(secret1, `{"alg":"HS256"}`, payload), jeton.KeyTokenUnknownMerchant)
	add("userId empty", hs256(secret1, `{"alg":"HS256","userId":""}`, payload), jeton.KeyTokenUnknownMerchant)
	add("userId number", hs256(secret1, `{"alg":"HS256","userId":1}`, payload), jeton.KeyTokenUnknownMerchant)
	add("userId object", hs256(secret1, `{"alg":"HS256","userId":{"id":"m1"}}`, payload), jeton.KeyTokenUnknownMerchant)
	add("userId array", hs256(secret1, `{"alg":"HS256","userId":["m1"]}`, payload), jeton.KeyTokenUnknownMerchant)
	add("userId null", hs256(secret1, `{"alg":"HS256","userId":null}`, payload), jeton.KeyTokenUnknownMerchant)
	add("userId too long", hs256(secret1, hdr(strings.Repeat("m", 65)), payload), jeton.KeyTokenUnknownMerchant)
	add("userId unknown merchant", hs256(secret1, hdr("m3"), payload), jeton.KeyTokenUnknownMerchant)
	add("userId unknown merchant, no signature", join(enc(hdr("m3")), p, ""), jeton.KeyInvalidToken)
	add("userId case-changed", hs256(secret1, hdr("M1"), payload), jeton.KeyTokenUnknownMerchant)
	add("retired secret", hs256(retiredSecret1, hdr(merchant1), payload), jeton.KeyInvalidToken)
	add("empty secret", hs256(nil, hdr(merchant1), payload), jeton.KeyInvalidToken)

	// Header / payload not JSON objects (correctly signed).
	add("header not JSON", hs256(secret1, `alg=HS256`, payload), jeton.KeyTokenMalformed)
	add("header JSON array", hs256(secret1, `[{"alg":"HS256","userId":"m1"}]`, payload), jeton.KeyTokenMalformed)
	add("header JSON string", hs256(secret1, `"HS256"`, payload), jeton.KeyTokenMalformed)
	add("header JSON null", hs256(secret1, `null`, payload), jeton.KeyTokenMalformed)
	add("header trailing garbage", hs256(secret1, hdr(merchant1)+"x", payload), jeton.KeyTokenMalformed)
	add("payload not JSON", hs256(secret1, hdr(merchant1), `client=x`), jeton.KeyTokenMalformed)
	add("payload JSON array", hs256(secret1, hdr(merchant1), `[`+payload+`]`), jeton.KeyTokenMalformed)
	add("payload JSON null", hs256(secret1, hdr(merchant1), `null`), jeton.KeyTokenMalformed)
	add("payload truncated JSON", hs256(secret1, hdr(merchant1), payload[:len(payload)-1]), jeton.KeyTokenMalformed)
	add("payload empty object", hs256(secret1, hdr(merchant1), `{}`), jeton.KeyTokenClaimsInvalid)

	// Time claims (correctly signed).
	now := t0.Unix()
	add("exp missing", signedClaims(t, func(c map[string]any) { delete(c, "exp") }), jeton.KeyTokenClaimsInvalid)
	add("exp string", signedClaims(t, func(c map[string]any) { c["exp"] = "1750003600" }), jeton.KeyTokenClaimsInvalid)
	add("exp null", signedClaims(t, func(c map[string]any) { c["exp"] = nil }), jeton.KeyTokenClaimsInvalid)
	add("exp true", signedClaims(t, func(c map[string]any) { c["exp"] = true }), jeton.KeyTokenClaimsInvalid)
	add("exp object", signedClaims(t, func(c map[string]any) { c["exp"] = map[string]any{"$date": now + 3600} }), jeton.KeyTokenClaimsInvalid)
	add("exp huge float", signedClaims(t, func(c map[string]any) { c["exp"] = json.RawMessage(`1e300`) }), jeton.KeyTokenClaimsInvalid)
	add("exp in the past", signedClaims(t, func(c map[string]any) { c["iat"], c["exp"] = now-7200, now-3600 }), jeton.KeyTokenExpired)
	add("exp one second ago", signedClaims(t, func(c map[string]any) { c["iat"], c["exp"] = now-3601, now-1 }), jeton.KeyTokenExpired)
	add("exp equals now", signedClaims(t, func(c map[string]any) { c["iat"], c["exp"] = now-3600, now }), jeton.KeyTokenExpired)
	add("exp 10 years ahead", signedClaims(t, func(c map[string]any) { c["exp"] = t0.AddDate(10, 0, 0).Unix() }), jeton.KeyTokenLifetimeTooLong)
	add("exp max int64", signedClaims(t, func(c map[string]any) { c["exp"] = int64(math.MaxInt64) }), jeton.KeyTokenLifetimeTooLong)
	add("lifetime 24h+1s", signedClaims(t, func(c map[string]any) { c["exp"] = now + 86401 }), jeton.KeyTokenLifetimeTooLong)
	add("lifetime 24h+1s, issued earlier", signedClaims(t, func(c map[string]any) { c["iat"], c["exp"] = now-3600, now-3600+86401 }), jeton.KeyTokenLifetimeTooLong)
	add("iat 61s in the future", signedClaims(t, func(c map[string]any) { c["iat"], c["exp"] = now+61, now+3600 }), jeton.KeyTokenIssuedInFuture)
	add("iat one day in the future", signedClaims(t, func(c map[string]any) { c["iat"], c["exp"] = now+86400, now+86400+3600 }), jeton.KeyTokenIssuedInFuture)
	add("iat missing", signedClaims(t, func(c map[string]any) { delete(c, "iat") }), jeton.KeyTokenClaimsInvalid)
	add("iat string", signedClaims(t, func(c map[string]any) { c["iat"] = "1750000000" }), jeton.KeyTokenClaimsInvalid)
	add("iat null", signedClaims(t, func(c map[string]any) { c["iat"] = nil }), jeton.KeyTokenClaimsInvalid)
	add("exp before iat", signedClaims(t, func(c map[string]any) { c["iat"], c["exp"] = now+50, now+40 }), jeton.KeyTokenClaimsInvalid)
	add("exp equals iat", signedClaims(t, func(c map[string]any) { c["iat"], c["exp"] = now+30, now+30 }), jeton.KeyTokenClaimsInvalid)
	add("iat 0 (epoch), exp in 1h", signedClaims(t, func(c map[string]any) { c["iat"] = 0 }), jeton.KeyTokenLifetimeTooLong)
	cs = append(cs, forgedCase{
		name: "iat -1, exp max int64 (lifetime overflows int64)",
		tok:  signedClaims(t, func(c map[string]any) { c["iat"], c["exp"] = -1, int64(math.MaxInt64) }),
		want: jeton.KeyTokenLifetimeTooLong,
	})

	// Claims (correctly signed).
	add("merchantId other merchant", signedClaims(t, func(c map[string]any) { c["merchantId"] = merchant2 }), jeton.KeyTokenClaimsInvalid)
	add("merchantId empty", signedClaims(t, func(c map[string]any) { c["merchantId"] = "" }), jeton.KeyTokenClaimsInvalid)
	add("merchantId number", signedClaims(t, func(c map[string]any) { c["merchantId"] = 1 }), jeton.KeyTokenClaimsInvalid)
	add("clientId 129 non-ASCII characters", signedClaims(t, func(c map[string]any) { clientOf(c)["clientId"] = strings.Repeat("é", 129) }), jeton.KeyTokenClaimsInvalid)
	add("steamID 16 digits", signedClaims(t, func(c map[string]any) { clientOf(c)["steamID"] = testSteamID[:16] }), jeton.KeyTokenClaimsInvalid)
	add("steamID 18 digits", signedClaims(t, func(c map[string]any) { clientOf(c)["steamID"] = testSteamID + "0" }), jeton.KeyTokenClaimsInvalid)
	add("steamID wrong prefix", signedClaims(t, func(c map[string]any) { clientOf(c)["steamID"] = "12345678901234567" }), jeton.KeyTokenClaimsInvalid)
	add("steamID with letter", signedClaims(t, func(c map[string]any) { clientOf(c)["steamID"] = "7656119801234567x" }), jeton.KeyTokenClaimsInvalid)
	add("steamID number", signedClaims(t, func(c map[string]any) { clientOf(c)["steamID"] = json.RawMessage(testSteamID) }), jeton.KeyTokenClaimsInvalid)
	add("steamID missing", signedClaims(t, func(c map[string]any) { delete(clientOf(c), "steamID") }), jeton.KeyTokenClaimsInvalid)
	add("tradeUrl http", signedClaims(t, func(c map[string]any) { clientOf(c)["tradeUrl"] = strings.Replace(testTradeURL, "https", "http", 1) }), jeton.KeyTokenClaimsInvalid)
	add("tradeUrl short token", signedClaims(t, func(c map[string]any) { clientOf(c)["tradeUrl"] = testTradeURL[:len(testTradeURL)-1] }), jeton.KeyTokenClaimsInvalid)
	add("tradeUrl other host", signedClaims(t, func(c map[string]any) {
		clientOf(c)["tradeUrl"] = strings.Replace(testTradeURL, "steamcommunity.com", "steamcommunity.co", 1)
	}), jeton.KeyTokenClaimsInvalid)
	add("tradeUrl missing", signedClaims(t, func(c map[string]any) { delete(clientOf(c), "tradeUrl") }), jeton.KeyTokenClaimsInvalid)
	add("clientId 129 chars", signedClaims(t, func(c map[string]any) { clientOf(c)["clientId"] = strings.Repeat("x", 129) }), jeton.KeyTokenClaimsInvalid)
	add("clientId number", signedClaims(t, func(c map[string]any) { clientOf(c)["clientId"] = 123 }), jeton.KeyTokenClaimsInvalid)
	add("clientData array", signedClaims(t, func(c map[string]any) { clientOf(c)["clientData"] = []int{1} }), jeton.KeyTokenClaimsInvalid)
	add("clientData string", signedClaims(t, func(c map[string]any) { clientOf(c)["clientData"] = "x" }), jeton.KeyTokenClaimsInvalid)
	add("neither client nor sagapay", signedClaims(t, func(c map[string]any) { delete(c, "client") }), jeton.KeyTokenClaimsInvalid)
	add("client null", signedClaims(t, func(c map[string]any) { c["client"] = nil }), jeton.KeyTokenClaimsInvalid)
	add("client string", signedClaims(t, func(c map[string]any) { c["client"] = testSteamID }), jeton.KeyTokenClaimsInvalid)
	add("client and sagapay", signedClaims(t, func(c map[string]any) { c["sagapay"] = map[string]any{"externalUserId": "u1"} }), jeton.KeyTokenClaimsInvalid)
	add("sagapay without externalUserId", signedClaims(t, func(c map[string]any) {
		delete(c, "client")
		c["sagapay"] = map[string]any{"email": "a@b.c"}
	}), jeton.KeyTokenClaimsInvalid)
	add("sagapay externalUserId number", signedClaims(t, func(c map[string]any) {
		delete(c, "client")
		c["sagapay"] = map[string]any{"externalUserId": 7}
	}), jeton.KeyTokenClaimsInvalid)

	// Revocation (m1's keyring revokes revokedSteamID and revokedClientID at t0).
	add("revoked steamID, iat = revocation", signedClaims(t, func(c map[string]any) { clientOf(c)["steamID"] = revokedSteamID }), jeton.KeyTokenRevoked)
	add("revoked steamID, iat before revocation", signedClaims(t, func(c map[string]any) {
		clientOf(c)["steamID"] = revokedSteamID
		c["iat"] = now - 10
	}), jeton.KeyTokenRevoked)
	add("revoked clientId", signedClaims(t, func(c map[string]any) { clientOf(c)["clientId"] = revokedClientID }), jeton.KeyTokenRevoked)

	// Size.
	big := enc(`{"alg":"HS256","userId":"m1","pad":"` + strings.Repeat("A", 1<<20) + `"}`)
	add("1 MB header", join(big, p, s), jeton.KeyTokenMalformed)
	add("1 MB of dots", strings.Repeat(".", 1<<20), jeton.KeyTokenMalformed)
	add("just over MaxTokenLen", join(h, p, s+strings.Repeat("A", token.MaxTokenLen-len(valid)+1)), jeton.KeyTokenMalformed)

	// Empty and Authorization-header forms (through ExtractBearer).
	add("empty string to Verify", "", jeton.KeyTokenMalformed)
	add("Bearer word to Verify", "Bearer", jeton.KeyTokenMalformed)
	add("Bearer prefix passed to Verify", "Bearer "+valid, jeton.KeyTokenMalformed)
	for _, a := range []string{"", " ", "\t\r\n"} {
		cs = append(cs, forgedCase{name: "authz " + quoteName(a), authz: ptr(a), want: jeton.KeyMissingToken})
	}
	for _, a := range []string{"Bearer", "bearer", "BEARER", "Bearer ", "Bearer   \t"} {
		cs = append(cs, forgedCase{
			name: "authz " + quoteName(a), authz: ptr(a), want: jeton.KeyMissingToken,
		})
	}
	cs = append(cs,
		forgedCase{name: "authz Bearer + forged", authz: ptr("Bearer " + join(h, p, flipMiddle(s))), want: jeton.KeyInvalidToken},
		forgedCase{name: "authz Basic scheme", authz: ptr("Basic " + valid), want: jeton.KeyTokenMalformed},
		forgedCase{name: "authz Bearer twice", authz: ptr("Bearer Bearer " + valid), want: jeton.KeyTokenMalformed},
	)
	return cs
}

func quoteName(s string) string { return strings.Trim(jsonString(s), `"`) }

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func authenticate(v *token.Verifier, authz string) (*jeton.ClientToken, error) {
	tok, err := token.ExtractBearer(authz)
	if err != nil {
		return nil, err
	}
	return v.Verify(ctx, tok)
}

// TestVerifyRefusesForgedTokens: no forged or invalid token is accepted,
// and each is refused with exactly its expected key.
func TestVerifyRefusesForgedTokens(t *testing.T) {
	cases := forgedCases(t)
	names := map[string]bool{}
	for _, tc := range cases {
		if names[tc.name] {
			t.Fatalf("duplicate case name %q", tc.name)
		}
		names[tc.name] = true
	}
	// The reference token itself must be accepted, or every case is moot.
	v, _, _ := newTestVerifier(t)
	if _, err := v.Verify(ctx, mintValid(t)); err != nil {
		t.Fatalf("reference token refused: %v", err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, _, _ := newTestVerifier(t)
			var results []string
			var cachedHits int
			v.Observe = func(r string, cached bool) {
				results = append(results, r)
				if cached {
					cachedHits++
				}
			}
			call := func() (*jeton.ClientToken, error) {
				if tc.authz != nil {
					return authenticate(v, *tc.authz)
				}
				return v.Verify(ctx, tc.tok)
			}
			ct, err := call()
			if tc.bug != nil {
				got := jeton.ErrorKey(err)
				if err == nil {
					got = ""
				}
				switch got {
				case tc.want:
					t.Logf("known bug appears fixed (%s): drop its knownBug marker", tc.bug.note)
				case tc.bug.got:
					t.Logf("KNOWN BUG: want %s, got %q: %s", tc.want, got, tc.bug.note)
					return
				default:
					t.Fatalf("key = %q; want %s (known bug documents %q)", got, tc.want, tc.bug.got)
				}
			}
			assertRefused(t, ct, err, tc.want)
			// A refusal is not cached: asking again gives the same answer.
			ct, err = call()
			assertRefused(t, ct, err, tc.want)
			if v.Cached() != 0 || cachedHits != 0 {
				t.Errorf("refused token reached the cache: cached=%d hits=%d", v.Cached(), cachedHits)
			}
			if tc.want != jeton.KeyMissingToken {
				if len(results) != 2 || results[0] != tc.want || results[1] != tc.want {
					t.Errorf("Observe saw %q; want [%s %s]", results, tc.want, tc.want)
				}
			}
		})
	}
}

type wantToken struct {
	merchant string
	surface  jeton.Surface
	steamID  string
	tradeURL string
	clientID string
	extUser  string
	iat, exp int64
}

func (w wantToken) check(t *testing.T, ct *jeton.ClientToken) {
	t.Helper()
	got := wantToken{ct.MerchantID, ct.Surface, ct.SteamID, ct.TradeURL, ct.ClientID, ct.ExternalUserID, ct.IssuedAt.Unix(), ct.ExpiresAt.Unix()}
	if got != w {
		t.Errorf("token = %+v\nwant    %+v", got, w)
	}
}

func TestVerifyAcceptsValidTokens(t *testing.T) {
	now := t0.Unix()
	hour := now + 3600
	apWant := wantToken{merchant1, jeton.SurfaceAssetPay, testSteamID, testTradeURL, testClientID, "", now, hour}
	valid := mintValid(t)

	sdk, err := client.MintToken(string(secret1), merchant1, client.Client{
		SteamID: testSteamID, TradeURL: testTradeURL, ClientID: testClientID,
		ClientData: client.RawClientData(client.ClientData{KycHash: "k", Extra: map[string]any{"note": "a<b&c"}}),
	}, time.Hour, t0)
	if err != nil {
		t.Fatal(err)
	}
	sdkSaga, err := client.MintSagaPayToken(string(secret1), merchant1, "ext-1", "a@b.c", 24*time.Hour, t0)
	if err != nil {
		t.Fatal(err)
	}
	saga, _, err := token.MintSagaPay(secret1, merchant1, token.SagaClaim{ExternalUserID: "ext-2", ProviderID: "p"}, t0, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	// golang-jwt, as the seed's jose snippet makes it: header {alg,userId},
	// payload client/iat/exp and no merchantId.
	gj := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"client": map[string]any{
			"steamID": testSteamID, "tradeUrl": seedTradeURL, "clientId": testClientID,
			"clientData": map[string]any{"totalWager": 5000, "kycLevel": 2, "fiatDeposits": true, "cryptoDeposits": false},
		},
		"iat": now,
		"exp": now + 86400,
	})
	gj.Header = map[string]any{"alg": "HS256", "userId": merchant1}
	golangJWT, err := gj.SignedString(secret1)
	if err != nil {
		t.Fatal(err)
	}
	// The exact bytes jose writes (JSON.stringify key order, no escaping).
	jose := hs256(secret1, `{"alg":"HS256","userId":"m1"}`,
		`{"client":{"steamID":"76561198012345678","tradeUrl":"`+seedTradeURL+`","clientId":"user-123","clientData":{"totalWager":5000,"kycLevel":2,"fiatDeposits":true,"cryptoDeposits":false}},"iat":`+jsonInt(now)+`,"exp":`+jsonInt(now+86400)+`}`)
	seedWant := wantToken{merchant1, jeton.SurfaceAssetPay, testSteamID, seedTradeURL, testClientID, "", now, now + 86400}

	cases := []struct {
		name  string
		tok   string
		authz *string
		want  wantToken
		bug   *knownBug
	}{
		{name: "token.MintAssetPay", tok: valid, want: apWant},
		{name: "client.MintToken (Go SDK)", tok: sdk, want: apWant},
		{name: "client.MintSagaPayToken (Go SDK)", tok: sdkSaga, want: wantToken{merchant1, jeton.SurfaceSagaPay, "", "", "", "ext-1", now, now + 86400}},
		{name: "token.MintSagaPay", tok: saga, want: wantToken{merchant1, jeton.SurfaceSagaPay, "", "", "", "ext-2", now, hour}},
		{name: "golang-jwt, no merchantId", tok: golangJWT, want: seedWant},
		{name: "jose byte layout, no merchantId", tok: jose, want: seedWant},
		{name: "authz Bearer x", authz: ptr("Bearer " + valid), want: apWant},
		{name: "authz bearer x", authz: ptr("bearer " + valid), want: apWant},
		{name: "authz BEARER x", authz: ptr("BEARER " + valid), want: apWant},
		{name: "authz bare x", authz: ptr(valid), want: apWant},
		{name: "authz Bearer with tab separator", authz: ptr("Bearer\t" + valid), want: apWant},
		{name: "authz padded with spaces", authz: ptr("  Bearer   " + valid + " \r\n"), want: apWant},
		{name: "grace secret", tok: hs256(graceSecret, hdr(merchant1), claimsJSON(t, nil)), want: apWant},
		{name: "m2 with its own secret", tok: hs256(secret2, hdr(merchant2), claimsJSON(t, func(c map[string]any) { delete(c, "merchantId") })),
			want: wantToken{merchant2, jeton.SurfaceAssetPay, testSteamID, testTradeURL, testClientID, "", now, hour}},
		{name: "lifetime exactly 24h", tok: signedClaims(t, func(c map[string]any) { c["exp"] = now + 86400 }),
			want: wantToken{merchant1, jeton.SurfaceAssetPay, testSteamID, testTradeURL, testClientID, "", now, now + 86400}},
		{name: "iat exactly 60s ahead", tok: signedClaims(t, func(c map[string]any) { c["iat"] = now + 60 }),
			want: wantToken{merchant1, jeton.SurfaceAssetPay, testSteamID, testTradeURL, testClientID, "", now + 60, hour}},
		{name: "exp one second ahead", tok: signedClaims(t, func(c map[string]any) { c["iat"], c["exp"] = now-100, now+1 }),
			want: wantToken{merchant1, jeton.SurfaceAssetPay, testSteamID, testTradeURL, testClientID, "", now - 100, now + 1}},
		{name: "revoked steamID, iat one second after revocation", tok: signedClaims(t, func(c map[string]any) {
			clientOf(c)["steamID"] = revokedSteamID
			c["iat"] = now + 1
		}), want: wantToken{merchant1, jeton.SurfaceAssetPay, revokedSteamID, testTradeURL, testClientID, "", now + 1, hour}},
		{name: "revoked clientId, iat one second after revocation", tok: signedClaims(t, func(c map[string]any) {
			clientOf(c)["clientId"] = revokedClientID
			c["iat"] = now + 1
		}), want: wantToken{merchant1, jeton.SurfaceAssetPay, testSteamID, testTradeURL, revokedClientID, "", now + 1, hour}},
		{name: "merchantId null", tok: signedClaims(t, func(c map[string]any) { c["merchantId"] = nil }), want: apWant},
		{name: "clientData null", tok: signedClaims(t, func(c map[string]any) { clientOf(c)["clientData"] = nil }), want: apWant},
		{name: "clientId 128 chars", tok: signedClaims(t, func(c map[string]any) { clientOf(c)["clientId"] = strings.Repeat("x", 128) }),
			want: wantToken{merchant1, jeton.SurfaceAssetPay, testSteamID, testTradeURL, strings.Repeat("x", 128), "", now, hour}},
		{name: "clientId 128 non-ASCII chars (SDK accepts it)", tok: sdkToken(t, strings.Repeat("é", 128)),
			want: wantToken{merchant1, jeton.SurfaceAssetPay, testSteamID, testTradeURL, strings.Repeat("é", 128), "", now, hour}},
		{name: "numeric dates as floats", tok: signedClaims(t, func(c map[string]any) {
			c["iat"], c["exp"] = json.RawMessage(jsonInt(now)+".0"), json.RawMessage("1.7500036e9")
		}), want: apWant},
		{name: "unknown claims ignored", tok: signedClaims(t, func(c map[string]any) { c["nbf"], c["jti"], c["sub"] = now, "j", "s" }), want: apWant},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, _, _ := newTestVerifier(t)
			var ct *jeton.ClientToken
			var err error
			if tc.authz != nil {
				ct, err = authenticate(v, *tc.authz)
			} else {
				ct, err = v.Verify(ctx, tc.tok)
			}
			if tc.bug != nil && err != nil {
				if jeton.ErrorKey(err) != tc.bug.got {
					t.Fatalf("refused with %v; known bug documents %s", err, tc.bug.got)
				}
				t.Logf("KNOWN BUG: refused with %s: %s", jeton.ErrorKey(err), tc.bug.note)
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			tc.want.check(t, ct)
			if v.Cached() != 1 {
				t.Errorf("Cached() = %d after one accepted token; want 1", v.Cached())
			}
		})
	}
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func sdkToken(t *testing.T, clientID string) string {
	t.Helper()
	tok, err := client.MintToken(string(secret1), merchant1, client.Client{SteamID: testSteamID, TradeURL: testTradeURL, ClientID: clientID}, time.Hour, t0)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestVerifyClientDataPassedThrough(t *testing.T) {
	v, _, _ := newTestVerifier(t)
	data := json.RawMessage(`{"totalWager":5000,"kycLevel":2,"fiatDeposits":true,"cryptoDeposits":false,"note":"a<b&c"}`)
	tok, _, err := token.MintAssetPay(secret1, merchant1, token.ClientClaim{SteamID: testSteamID, TradeURL: testTradeURL, ClientData: data}, t0, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := v.Verify(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if string(ct.ClientData) != string(data) {
		t.Errorf("ClientData = %s; want %s", ct.ClientData, data)
	}
	if ct.ClientID != "" {
		t.Errorf("ClientID = %q; want empty", ct.ClientID)
	}
}

// TestSDKTokenMatchesMintAssetPay: the Go SDK and the server's minter make
// byte-identical tokens for the same inputs.
func TestSDKTokenMatchesMintAssetPay(t *testing.T) {
	datas := []json.RawMessage{
		nil,
		json.RawMessage(`{"totalWager":5000,"kycLevel":2,"fiatDeposits":true,"cryptoDeposits":false}`),
		json.RawMessage(`{"note":"a<b&c>d","u":"\u00e9"}`),
		client.RawClientData(client.ClientData{KycHash: "h", Extra: map[string]any{"z": 1, "a": "x"}}),
	}
	for i, data := range datas {
		for _, ttl := range []time.Duration{time.Second, time.Hour, 24 * time.Hour} {
			for _, clientID := range []string{"", testClientID, "é&<>"} {
				sdk, err := client.MintToken(string(secret1), merchant1, client.Client{SteamID: testSteamID, TradeURL: seedTradeURL, ClientID: clientID, ClientData: data}, ttl, t0)
				if err != nil {
					t.Fatal(err)
				}
				ours, claims, err := token.MintAssetPay(secret1, merchant1, token.ClientClaim{SteamID: testSteamID, TradeURL: seedTradeURL, ClientID: clientID, ClientData: data}, t0, ttl)
				if err != nil {
					t.Fatal(err)
				}
				if sdk != ours {
					t.Errorf("data #%d ttl %v clientId %q:\nSDK  %s\nmint %s", i, ttl, clientID, sdk, ours)
				}
				if claims.IssuedAt != t0.Unix() || claims.ExpiresAt != t0.Add(ttl).Unix() || claims.MerchantID != merchant1 {
					t.Errorf("claims = %+v", claims)
				}
			}
		}
	}
	// The SDK's payload keeps "&" in the trade URL as jose does.
	_, p, _ := segments(t, sdkToken(t, ""))
	pb, _ := b64.DecodeString(p)
	if !strings.Contains(string(pb), "&token=") {
		t.Errorf("payload escapes the trade URL: %s", pb)
	}

	sdkSaga, err := client.MintSagaPayToken(string(secret1), merchant1, "ext-1", "a@b.c", time.Hour, t0)
	if err != nil {
		t.Fatal(err)
	}
	saga, _, err := token.MintSagaPay(secret1, merchant1, token.SagaClaim{ExternalUserID: "ext-1", Email: "a@b.c"}, t0, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if sdkSaga != saga {
		t.Errorf("SagaPay:\nSDK  %s\nmint %s", sdkSaga, saga)
	}
}

// TestMintedTokensParseWithGolangJWT: interoperability the other way round.
func TestMintedTokensParseWithGolangJWT(t *testing.T) {
	tok := mintValid(t)
	parsed, err := jwt.Parse(tok, func(*jwt.Token) (any, error) { return secret1, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithTimeFunc(func() time.Time { return t0 }), jwt.WithIssuedAt())
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Header["userId"] != merchant1 || parsed.Header["alg"] != "HS256" || len(parsed.Header) != 2 {
		t.Errorf("header = %v", parsed.Header)
	}
	mc := parsed.Claims.(jwt.MapClaims)
	if c, _ := mc["client"].(map[string]any); c["steamID"] != testSteamID || c["tradeUrl"] != testTradeURL {
		t.Errorf("claims = %v", mc)
	}
}

func TestExtractBearer(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Bearer x", "x"},
		{"bearer x", "x"},
		{"BeArEr x", "x"},
		{"x", "x"},
		{"  x  ", "x"},
		{"Bearer    x\n", "x"},
		{"Bearerx", "Bearerx"},
		{"Bearer a.b.c", "a.b.c"},
		{"a.b.c", "a.b.c"},
	} {
		got, err := token.ExtractBearer(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ExtractBearer(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "   ", "\t\n"} {
		got, err := token.ExtractBearer(in)
		assertRefused(t, nil, err, jeton.KeyMissingToken)
		if got != "" {
			t.Errorf("ExtractBearer(%q) returned %q with its error", in, got)
		}
	}
}

func TestVerifyCacheHit(t *testing.T) {
	v, kr, _ := newTestVerifier(t)
	var hits, misses int
	v.Observe = func(r string, cached bool) {
		if r != token.ResultOK {
			t.Errorf("Observe(%q)", r)
		}
		if cached {
			hits++
		} else {
			misses++
		}
	}
	tok := mintValid(t)
	first, err := v.Verify(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	lookups := kr.lookups.Load()
	second, err := v.Verify(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if first != second {
		t.Errorf("second call returned a different token: %+v vs %+v", first, second)
	}
	if kr.lookups.Load() != lookups {
		t.Errorf("second call consulted the keyring")
	}
	if hits != 1 || misses != 1 || v.Cached() != 1 {
		t.Errorf("hits=%d misses=%d cached=%d; want 1 1 1", hits, misses, v.Cached())
	}
}

func TestVerifyPurgeReverifies(t *testing.T) {
	v, kr, _ := newTestVerifier(t)
	tok := mintValid(t)
	m2tok := hs256(secret2, hdr(merchant2), claimsJSON(t, func(c map[string]any) { c["merchantId"] = merchant2 }))
	for _, s := range []string{tok, m2tok} {
		if _, err := v.Verify(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	// Rotate m1's secret away: the cache still answers until Purge.
	mk := kr.get(merchant1)
	mk.Secrets = [][]byte{[]byte("brand-new-secret")}
	kr.set(mk)
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatalf("cached token refused before Purge: %v", err)
	}
	v.Purge(merchant1)
	if v.Cached() != 1 {
		t.Errorf("Cached() = %d after Purge(m1); want 1 (m2's token)", v.Cached())
	}
	ct, err := v.Verify(ctx, tok)
	assertRefused(t, ct, err, jeton.KeyInvalidToken)
	// m2's token was not purged and is still answered from the cache.
	lookups := kr.lookups.Load()
	if _, err := v.Verify(ctx, m2tok); err != nil || kr.lookups.Load() != lookups {
		t.Errorf("m2 token: err=%v, keyring consulted=%v", err, kr.lookups.Load() != lookups)
	}
}

func TestVerifyRevocationAfterPurge(t *testing.T) {
	v, kr, _ := newTestVerifier(t)
	tok := mintValid(t)
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	mk := kr.get(merchant1)
	mk.Revoked = map[string]int64{token.RevocationKey(jeton.SubjectSteamID, testSteamID): t0.Unix()}
	kr.set(mk)
	v.Purge(merchant1)
	ct, err := v.Verify(ctx, tok)
	assertRefused(t, ct, err, jeton.KeyTokenRevoked)
	// A token issued one second after the revocation is fine.
	later, _, err := token.MintAssetPay(secret1, merchant1, token.ClientClaim{SteamID: testSteamID, TradeURL: testTradeURL}, t0.Add(time.Second), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, later); err != nil {
		t.Errorf("token issued after the revocation refused: %v", err)
	}
}

func TestVerifySecretRotation(t *testing.T) {
	v, kr, _ := newTestVerifier(t)
	oldTok := hs256(secret1, hdr(merchant1), claimsJSON(t, nil))
	newSecret := []byte("rotated-s3cret")
	newTok := hs256(newSecret, hdr(merchant1), claimsJSON(t, nil))

	mk := kr.get(merchant1)
	mk.Secrets = [][]byte{newSecret, secret1} // s3cret in grace
	kr.set(mk)
	v.Purge(merchant1)
	for _, s := range []string{oldTok, newTok} {
		if _, err := v.Verify(ctx, s); err != nil {
			t.Fatalf("during grace: %v", err)
		}
	}
	mk.Secrets = [][]byte{newSecret} // s3cret retired
	kr.set(mk)
	v.Purge(merchant1)
	ct, err := v.Verify(ctx, oldTok)
	assertRefused(t, ct, err, jeton.KeyInvalidToken)
	if _, err := v.Verify(ctx, newTok); err != nil {
		t.Errorf("token of the current secret refused: %v", err)
	}
}

func TestVerifyCachedTokenExpires(t *testing.T) {
	v, _, clk := newTestVerifier(t)
	var last struct {
		r      string
		cached bool
	}
	v.Observe = func(r string, cached bool) { last.r, last.cached = r, cached }
	tok := mintValid(t) // exp = t0+1h
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	clk.Set(t0.Add(time.Hour - time.Second))
	if _, err := v.Verify(ctx, tok); err != nil || !last.cached {
		t.Fatalf("one second before exp: err=%v cached=%v", err, last.cached)
	}
	clk.Set(t0.Add(time.Hour))
	ct, err := v.Verify(ctx, tok)
	assertRefused(t, ct, err, jeton.KeyTokenExpired)
	if last.cached || last.r != jeton.KeyTokenExpired {
		t.Errorf("Observe(%q, %v); want (%s, false)", last.r, last.cached, jeton.KeyTokenExpired)
	}
	if v.Cached() != 0 {
		t.Errorf("expired token still cached: %d", v.Cached())
	}
}

func TestVerifySweep(t *testing.T) {
	v, _, clk := newTestVerifier(t)
	for i := range 10 {
		ttl := time.Duration(i+1) * time.Minute
		tok, _, err := token.MintAssetPay(secret1, merchant1, token.ClientClaim{SteamID: testSteamID, TradeURL: testTradeURL}, t0, ttl)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if v.Cached() != 10 {
		t.Fatalf("Cached() = %d; want 10", v.Cached())
	}
	clk.Set(t0.Add(5 * time.Minute)) // tokens with ttl <= 5m are expired
	v.Sweep()
	if v.Cached() != 5 {
		t.Errorf("Cached() after Sweep = %d; want 5", v.Cached())
	}
}

func TestVerifyCacheBounded(t *testing.T) {
	kr, clk := newKeyring(), newClock(t0)
	v := token.NewVerifier(kr, clk.Now, 64) // 2 per shard
	for i := range 500 {
		tok, _, err := token.MintAssetPay(secret1, merchant1, token.ClientClaim{SteamID: testSteamID, TradeURL: testTradeURL, ClientID: jsonInt(int64(i))}, t0, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatalf("token %d: %v", i, err)
		}
		if n := v.Cached(); n > 64 {
			t.Fatalf("Cached() = %d > 64 after %d tokens", n, i+1)
		}
	}
	if v.Cached() == 0 {
		t.Error("cache holds nothing")
	}
}

// A Purge during a verification must keep its result out of the cache:
// it was checked against keys that may be stale.
func TestVerifyPurgeDuringVerification(t *testing.T) {
	v, kr, _ := newTestVerifier(t)
	kr.onLookup = func(id string) { v.Purge(id) }
	if _, err := v.Verify(ctx, mintValid(t)); err != nil {
		t.Fatal(err)
	}
	if v.Cached() != 0 {
		t.Errorf("result verified across a Purge was cached")
	}
}

// A keyring failure is not a token error: it is passed through (the
// server answers 503, not 401) and nothing is cached.
func TestVerifyKeyringFailure(t *testing.T) {
	v, kr, _ := newTestVerifier(t)
	down := jeton.Errorf(jeton.KindUnavailable, jeton.KeyUnavailable, "credential service down")
	kr.err = down
	tok := mintValid(t)
	ct, err := v.Verify(ctx, tok)
	if ct != nil || jeton.AsError(err).Kind != jeton.KindUnavailable {
		t.Fatalf("Verify = %v, %v; want the keyring's unavailable error", ct, err)
	}
	// Malformed input is refused without the keyring.
	ct, err = v.Verify(ctx, "garbage")
	assertRefused(t, ct, err, jeton.KeyTokenMalformed)
	kr.err = nil
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Errorf("after recovery: %v", err)
	}
}

func TestVerifyConcurrent(t *testing.T) {
	v, _, _ := newTestVerifier(t)
	tok := mintValid(t)
	h, p, sig := segments(t, tok)
	forged := join(h, p, flipMiddle(sig))
	done := make(chan error)
	for g := range 8 {
		go func() {
			var err error
			for i := range 200 {
				if i%50 == 0 && g == 0 {
					v.Purge(merchant1)
				}
				if _, e := v.Verify(ctx, tok); e != nil {
					err = e
				}
				if _, e := v.Verify(ctx, forged); e == nil {
					err = jeton.Errorf(jeton.KindInternal, "", "forged token accepted")
				}
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
