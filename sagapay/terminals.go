package sagapay

import (
	"crypto/rand"
	"encoding/binary"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/payment"
	"github.com/jetonhq/jeton/terminal"
)

// Sandbox terminals. A real terminal shows a 6-digit code on its screen;
// in the sandbox every 6-digit code is the screen of a virtual terminal,
// and registering it creates that terminal. Codes are documented in
// docs/sagapay.md: 000000 shows on no terminal (so registering it fails),
// and a serial number (letters and digits, 8 to 32) registers a SurfPad.

var (
	sixDigits = regexp.MustCompile(`^[0-9]{6}$`)
	serialRE  = regexp.MustCompile(`^[A-Za-z0-9-]{8,32}$`)
)

type deviceRequest struct {
	RegistrationIdentifier string `json:"registrationIdentifier"`
	TerminalName           string `json:"terminalName"`
}

func (a *API) registerDevice(w http.ResponseWriter, r *http.Request, k jeton.APIKey, m jeton.Merchant) {
	var req deviceRequest
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	code := strings.TrimSpace(req.RegistrationIdentifier)
	typ := "checkoutX"
	switch {
	case code == "000000":
		a.fail(w, r, jeton.Errorf(jeton.KindNotFound, jeton.KeyTerminalNotFound, "No terminal shows this registration code"))
		return
	case sixDigits.MatchString(code):
	case serialRE.MatchString(code):
		typ = "surfpad"
	default:
		a.fail(w, r, invalid("registrationIdentifier must be the 6-digit code on the terminal's screen or its serial number"))
		return
	}
	if len(req.TerminalName) > 100 {
		a.fail(w, r, invalid("terminalName is at most 100 characters"))
		return
	}
	st, err := a.store.SagaStore(r.Context(), m.ID, r.PathValue("storeId"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	name := req.TerminalName
	if name == "" {
		name = "Sandbox terminal " + code
	}
	t := jeton.Terminal{ID: jeton.NewID(), MerchantID: m.ID, StoreID: st.ID, Name: name, Type: typ, Serial: code,
		Manual: sixDigits.MatchString(code) && code[0] == '9', Status: "REGISTERED", CreatedAt: a.now().UTC()}
	got, created, err := a.payments.RegisterTerminal(r.Context(), t)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	status := "REGISTERED"
	if !created {
		if got.MerchantID != m.ID {
			a.fail(w, r, jeton.Errorf(jeton.KindConflict, jeton.KeyTerminalTaken, "This terminal is registered to another merchant"))
			return
		}
		status = "ALREADY_REGISTERED"
	}
	a.ok(w, r, http.StatusCreated, map[string]string{"terminalId": got.ID, "registrationStatus": status}, "Terminal registered successfully")
}

// registrationCode hands out a code a terminal app registers with: in the
// sandbox, any unused 6-digit code.
func (a *API) registrationCode(w http.ResponseWriter, r *http.Request, k jeton.APIKey, m jeton.Merchant) {
	if _, err := a.store.SagaStore(r.Context(), m.ID, r.PathValue("storeId")); err != nil {
		a.fail(w, r, err)
		return
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	code := strconv.Itoa(100000 + int(binary.BigEndian.Uint32(b[:])%900000))
	a.ok(w, r, http.StatusOK, map[string]string{"registrationCode": code,
		"registrationLink": "jeton-sandbox://terminal/register?code=" + code}, "Registration Code Generated Successfully")
}

func terminalView(t jeton.Terminal) map[string]any {
	return map[string]any{"terminalId": t.ID, "terminalType": t.Type, "terminalName": t.Name, "storeId": t.StoreID,
		"serialNo": t.Serial, "terminalStatus": t.Status, "terminalPaymentMethods": []string{"CARD"},
		"startDate": t.CreatedAt.Format("2006-01-02"), "linkedTerminalId": nil, "softwareVersion": "sandbox",
		"deviceVendor": "jeton", "deviceModel": "virtual"}
}

func (a *API) getTerminal(w http.ResponseWriter, r *http.Request, k jeton.APIKey, m jeton.Merchant) {
	t, err := a.payments.Terminal(r.Context(), m.ID, r.PathValue("terminalId"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.ok(w, r, http.StatusOK, terminalView(t), "Terminal records fetched successfully")
}

func (a *API) listTerminals(w http.ResponseWriter, r *http.Request, k jeton.APIKey, m jeton.Merchant) {
	page, err := pageNumber(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	storeID := r.PathValue("storeId")
	if storeID != "" {
		if _, err := a.store.SagaStore(r.Context(), m.ID, storeID); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	ts, total, err := a.payments.Terminals(r.Context(), m.ID, storeID, page, PageSize)
	if err != nil {
		a.fail(w, r, jeton.Internal(err))
		return
	}
	out := make([]map[string]any, 0, len(ts))
	for _, t := range ts {
		out = append(out, terminalView(t))
	}
	w.Header().Set("X-Page-Number", strconv.Itoa(page))
	w.Header().Set("X-Total-Items", strconv.Itoa(total))
	a.ok(w, r, http.StatusOK, out, "Terminal records fetched successfully")
}

type tipControl struct {
	TipLevel  int   `json:"tipLevel"`
	TipAmount int64 `json:"tipAmount"`
	NoTip     bool  `json:"noTip"`
}

type cardControl struct {
	Card string `json:"card"`
}

// control applies a sandbox control to the payment under way on a manual
// terminal and answers that payment.
func (a *API) control(w http.ResponseWriter, r *http.Request, m jeton.Merchant, apply func(*payment.Control) error) {
	p, err := a.payments.Control(r.Context(), m.ID, r.PathValue("terminalId"), apply)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.ok(w, r, http.StatusOK, paymentView(p), "Control applied")
}

func (a *API) controlTip(w http.ResponseWriter, r *http.Request, k jeton.APIKey, m jeton.Merchant) {
	var req tipControl
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	set := 0
	for _, b := range []bool{req.TipLevel != 0, req.TipAmount != 0, req.NoTip} {
		if b {
			set++
		}
	}
	switch {
	case set != 1:
		a.fail(w, r, invalid("give one of tipLevel (1 to 3), tipAmount (minor units) or noTip"))
		return
	case req.TipLevel < 0 || req.TipLevel > 3:
		a.fail(w, r, invalid("tipLevel is 1, 2 or 3"))
		return
	case req.TipAmount < 0 || req.TipAmount > MaxAmount:
		a.fail(w, r, invalid("tipAmount is out of range"))
		return
	}
	a.control(w, r, m, func(c *payment.Control) error {
		c.TipLevel, c.TipAmount, c.NoTip = req.TipLevel, req.TipAmount, req.NoTip
		return nil
	})
}

func (a *API) controlCard(w http.ResponseWriter, r *http.Request, k jeton.APIKey, m jeton.Merchant) {
	var req cardControl
	if r.ContentLength != 0 {
		if err := decode(r, &req); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	if req.Card == "" {
		req.Card = "VISA"
	}
	if _, ok := terminal.Cards[req.Card]; !ok {
		a.fail(w, r, invalid("card is one of the sandbox's test cards: VISA, MASTERCARD or AMEX"))
		return
	}
	a.control(w, r, m, func(c *payment.Control) error {
		c.Card = req.Card
		return nil
	})
}

func (a *API) controlCancel(w http.ResponseWriter, r *http.Request, k jeton.APIKey, m jeton.Merchant) {
	a.control(w, r, m, func(c *payment.Control) error {
		c.Cancel = true
		return nil
	})
}
