package assetpay

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/httpserver"
	"github.com/jetonhq/jeton/internal/jsonx"
	"github.com/jetonhq/jeton/steam"
	"github.com/jetonhq/jeton/token"
)

// MaxClientDataBytes bounds clientData: it travels inside the token, and
// tokens must stay under token.MaxTokenLen.
const MaxClientDataBytes = 4096

// Warning is a non-fatal remark in a reply's data.warnings.
type Warning struct {
	Key     string `json:"key"`
	Message string `json:"message"`
}

// WarnTradeURLMismatch says a trade URL names another Steam account.
const WarnTradeURLMismatch = "TRADE_URL_NOT_OWNED"

// tradeURLWarnings explains when tradeURL's partner is not steamID's
// account: the token is valid, but no offer will be sent to that URL.
func tradeURLWarnings(steamID, tradeURL string) []Warning {
	id, err := steam.ParseSteamID(steamID)
	if err != nil {
		return nil
	}
	u, err := steam.ParseTradeURL(tradeURL)
	if err != nil || u.BelongsTo(id) {
		return nil
	}
	msg := "clientTradeUrl partner " + strconv.FormatUint(u.Partner, 10) + " is not the account of clientSteamId " + steamID
	if acc, ok := steam.AccountID(id); ok {
		msg += " (its partner is " + strconv.FormatUint(uint64(acc), 10) + ")"
	}
	msg += "; trades to this URL will be refused"
	return []Warning{{Key: WarnTradeURLMismatch, Message: msg}}
}

type authRequest struct {
	SteamID    string
	TradeURL   string
	ClientID   string
	ClientData json.RawMessage
}

// decodeObject reads a JSON object body into its top-level members.
func decodeObject(r *http.Request) (map[string]json.RawMessage, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &jeton.Error{Kind: jeton.KindInvalid, Key: jeton.KeyValidationFailed, Message: "request body too large",
				Fields: map[string]string{"body": "must be at most " + strconv.FormatInt(mbe.Limit, 10) + " bytes"}}
		}
		return nil, &jeton.Error{Kind: jeton.KindInvalid, Key: jeton.KeyValidationFailed, Message: "cannot read body", Err: err}
	}
	var m map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&m); err != nil || m == nil || dec.More() {
		return nil, &jeton.Error{Kind: jeton.KindInvalid, Key: jeton.KeyValidationFailed, Message: "body must be a JSON object",
			Fields: map[string]string{"body": "must be a JSON object"}}
	}
	return m, nil
}

func isNull(raw json.RawMessage) bool { return string(raw) == "null" }

func parseAuthRequest(m map[string]json.RawMessage) (authRequest, map[string]string) {
	var req authRequest
	bad := map[string]string{}
	for k := range m {
		switch k {
		case "clientSteamId", "clientTradeUrl", "clientId", "clientData":
		default:
			bad[k] = "is not allowed"
		}
	}
	str := func(name string, required bool) (string, bool) {
		raw, ok := m[name]
		if !ok {
			if required {
				bad[name] = "is required"
			}
			return "", false
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil || isNull(raw) {
			bad[name] = "must be a string"
			return "", false
		}
		return s, true
	}
	if s, ok := str("clientSteamId", true); ok {
		if _, err := steam.ParseSteamID(s); err != nil {
			bad["clientSteamId"] = err.Error()
		}
		req.SteamID = s
	}
	if s, ok := str("clientTradeUrl", true); ok {
		if _, err := steam.ParseTradeURL(s); err != nil {
			bad["clientTradeUrl"] = err.Error()
		}
		req.TradeURL = s
	}
	if s, ok := str("clientId", false); ok {
		if utf8.RuneCountInString(s) > 128 {
			bad["clientId"] = "must be at most 128 characters"
		}
		req.ClientID = s
	}
	if raw, ok := m["clientData"]; ok {
		cd, fieldErrs := parseClientData(raw)
		for k, v := range fieldErrs {
			bad[k] = v
		}
		req.ClientData = cd
	}
	return req, bad
}

// parseClientData types the known risk fields and keeps any other keys,
// as the seed allows. It returns the compact JSON to store.
func parseClientData(raw json.RawMessage) (json.RawMessage, map[string]string) {
	bad := map[string]string{}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		bad["clientData"] = "must be an object"
		return nil, bad
	}
	number := func(k string) (float64, bool) {
		v, ok := m[k]
		if !ok {
			return 0, false
		}
		var f float64
		if len(v) == 0 || v[0] == '"' || json.Unmarshal(v, &f) != nil || isNull(v) {
			bad["clientData."+k] = "must be a number"
			return 0, false
		}
		return f, true
	}
	if f, ok := number("totalWager"); ok && (f < 0 || math.IsInf(f, 0)) {
		bad["clientData.totalWager"] = "must be a number >= 0"
	}
	if f, ok := number("kycLevel"); ok && (f != math.Trunc(f) || f < 0 || f > 3) {
		bad["clientData.kycLevel"] = "must be an integer from 0 to 3"
	}
	for _, k := range []string{"fiatDeposits", "cryptoDeposits"} {
		if v, ok := m[k]; ok && string(v) != "true" && string(v) != "false" {
			bad["clientData."+k] = "must be a boolean"
		}
	}
	if v, ok := m["registrationDate"]; ok && !isNull(v) {
		var s string
		if json.Unmarshal(v, &s) != nil {
			bad["clientData.registrationDate"] = "must be an ISO 8601 date-time string or null"
		} else if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			bad["clientData.registrationDate"] = "must be an ISO 8601 date-time string or null"
		}
	}
	if v, ok := m["kycHash"]; ok {
		var s string
		if json.Unmarshal(v, &s) != nil || isNull(v) {
			bad["clientData.kycHash"] = "must be a string"
		}
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		bad["clientData"] = "must be an object"
		return nil, bad
	}
	if buf.Len() > MaxClientDataBytes {
		bad["clientData"] = "must be at most " + strconv.Itoa(MaxClientDataBytes) + " bytes of JSON"
	}
	return buf.Bytes(), bad
}

type authData struct {
	Token    string    `json:"token"`
	Warnings []Warning `json:"warnings,omitempty"`
}

func (a *API) authenticateClient(w http.ResponseWriter, r *http.Request, k jeton.APIKey) {
	m, err := decodeObject(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	req, bad := parseAuthRequest(m)
	if len(bad) > 0 {
		a.fail(w, r, &jeton.Error{Kind: jeton.KindInvalid, Key: jeton.KeyValidationFailed, Message: "validation failed", Fields: bad})
		return
	}
	ctx := r.Context()
	merchant, err := a.creds.Merchant(ctx, k.MerchantID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	secret, err := a.creds.SigningSecret(ctx, k.MerchantID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ttl := merchant.MaxTokenLifetime
	now := a.issueTime(r, k.MerchantID, req.SteamID, req.ClientID)
	tok, _, err := token.MintAssetPay(secret, k.MerchantID, token.ClientClaim{
		SteamID: req.SteamID, TradeURL: req.TradeURL, ClientID: req.ClientID, ClientData: req.ClientData,
	}, now, ttl)
	if err != nil {
		a.fail(w, r, jeton.Internal(err))
		return
	}
	// Durable before the reply: the risk model reads the stored clientData.
	if err := a.clients.Add(ctx, jeton.Client{MerchantID: k.MerchantID, SteamID: req.SteamID, TradeURL: req.TradeURL,
		ClientID: req.ClientID, ClientData: req.ClientData, UpdatedAt: now.UTC()}); err != nil {
		a.fail(w, r, jeton.Internal(err))
		return
	}
	a.ok(w, r, authData{Token: tok, Warnings: tradeURLWarnings(req.SteamID, req.TradeURL)})
}

// meData is what GET /client/me says of a token: whose it is and until
// when (clientData is the merchant's business and stays out of it).
type meData struct {
	MerchantID string  `json:"merchantId"`
	SteamID    string  `json:"steamID"`
	TradeURL   string  `json:"tradeUrl"`
	ClientID   *string `json:"clientId"`
	IssuedAt   string  `json:"issuedAt"`
	ExpiresAt  string  `json:"expiresAt"`
}

// meMemo is the part of a /client/me reply fixed for a token: the data
// object's fields up to expiresIn, and its warnings.
type meMemo struct {
	head     []byte // `{"merchantId":...,"expiresAt":"..."` without the closing brace
	warnings []byte // `[...]`
}

func renderMe(t *jeton.ClientToken) *meMemo {
	d := meData{
		MerchantID: t.MerchantID, SteamID: t.SteamID, TradeURL: t.TradeURL,
		IssuedAt: t.IssuedAt.Format(time.RFC3339), ExpiresAt: t.ExpiresAt.Format(time.RFC3339),
	}
	if t.ClientID != "" {
		d.ClientID = &t.ClientID
	}
	warnings := tradeURLWarnings(t.SteamID, t.TradeURL)
	if warnings == nil {
		warnings = []Warning{}
	}
	head, _ := jsonx.Marshal(d)
	w, _ := jsonx.Marshal(warnings)
	return &meMemo{head: head[:len(head)-1], warnings: w}
}

// me answers GET /client/me. The reply is assembled from a memo made once
// per token: this route is the one browsers poll, and the load test's.
func (a *API) me(w http.ResponseWriter, r *http.Request, t *jeton.ClientToken) {
	m, _ := t.Memo().(*meMemo)
	if m == nil {
		m = renderMe(t)
		t.SetMemo(m)
	}
	bp := meBufs.Get().(*[]byte)
	buf := (*bp)[:0]
	buf = append(buf, `{"requestId":"`...)
	buf = append(buf, httpserver.RequestIDOf(w, r)...) // a UUID: nothing to escape
	buf = append(buf, `","success":true,"data":`...)
	buf = append(buf, m.head...)
	buf = append(buf, `,"expiresIn":`...)
	buf = strconv.AppendInt(buf, int64(t.ExpiresAt.Sub(a.now())/time.Second), 10)
	buf = append(buf, `,"warnings":`...)
	buf = append(buf, m.warnings...)
	buf = append(buf, "}}\n"...)
	w.Header()["Content-Type"] = jsonCT
	_, _ = w.Write(buf) // copied into the connection's buffer: buf is free again
	*bp = buf
	meBufs.Put(bp)
}

var meBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

type revokeData struct {
	Revoked       bool   `json:"revoked"`
	RevokedBefore string `json:"revokedBefore"`
}

// revokeTokens ends every token of one client issued up to now ("log out
// everywhere"): by clientSteamId or by the merchant's clientId.
func (a *API) revokeTokens(w http.ResponseWriter, r *http.Request, k jeton.APIKey) {
	m, err := decodeObject(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	bad := map[string]string{}
	var kind jeton.SubjectKind
	var subject string
	for name, raw := range m {
		var s string
		if json.Unmarshal(raw, &s) != nil || isNull(raw) {
			bad[name] = "must be a string"
			continue
		}
		switch name {
		case "clientSteamId":
			if _, err := steam.ParseSteamID(s); err != nil {
				bad[name] = err.Error()
			}
			kind, subject = jeton.SubjectSteamID, s
		case "clientId":
			if s == "" || utf8.RuneCountInString(s) > 128 {
				bad[name] = "must be 1 to 128 characters"
			}
			kind, subject = jeton.SubjectClientID, s
		default:
			bad[name] = "is not allowed"
		}
	}
	if len(m) != 1 && len(bad) == 0 {
		bad["clientSteamId"] = "send exactly one of clientSteamId or clientId"
	}
	if len(bad) > 0 {
		a.fail(w, r, &jeton.Error{Kind: jeton.KindInvalid, Key: jeton.KeyValidationFailed, Message: "validation failed", Fields: bad})
		return
	}
	at, err := a.creds.RevokeTokens(r.Context(), k.MerchantID, kind, subject)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.ok(w, r, revokeData{Revoked: true, RevokedBefore: at.Format(time.RFC3339)})
}

// issueTime is now, moved just past a revocation of the same client in
// this very second (iat has whole seconds), so a token issued right after
// "log out everywhere" works.
func (a *API) issueTime(r *http.Request, merchantID, steamID, clientID string) time.Time {
	now := a.now()
	mk, err := a.creds.MerchantKeys(r.Context(), merchantID)
	if err != nil {
		return now
	}
	for _, key := range []string{token.RevocationKey(jeton.SubjectSteamID, steamID), token.RevocationKey(jeton.SubjectClientID, clientID)} {
		if before, ok := mk.Revoked[key]; ok && before >= now.Unix() {
			now = time.Unix(before+1, 0)
		}
	}
	return now
}
