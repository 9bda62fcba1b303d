package sagapay

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/payment"
)

// MaxAmount bounds every amount jeton accepts, in minor units, so sums of
// amounts cannot overflow: 10^12 minor units is ten billion of a currency.
const MaxAmount = 1_000_000_000_000

var currencyRE = regexp.MustCompile(`^([0-9]{3}|[A-Z]{3})$`)

// amountObj is an order line's amount (new schema) or itemAmount (the
// legacy shape SagaPay's own site sends), and totalOrderAmount.
type amountObj struct {
	Regular  *json.Number `json:"regular"`
	Campaign *json.Number `json:"campaign"`
	Shipping *json.Number `json:"shipping"`
	Total    *json.Number `json:"total"`
	Currency string       `json:"currency"`
}

type orderLine struct {
	ID              string       `json:"id"`
	Name            string       `json:"name"`
	Quantity        *json.Number `json:"quantity"`
	Amount          *amountObj   `json:"amount"`
	ItemAmount      *amountObj   `json:"itemAmount"`
	PurchaseOrderID string       `json:"purchaseOrderId"`
}

type orderRequest struct {
	TerminalID       string          `json:"terminal$id"`
	Type             string          `json:"type"`
	PurchaseOrderID  string          `json:"purchaseOrderId"`
	ReferenceID      string          `json:"referenceId"`
	OrderLines       []orderLine     `json:"orderLines"`
	TotalOrderAmount *amountObj      `json:"totalOrderAmount"`
	ControlFunctions *controlFuncs   `json:"controlFunctions"`
	Metadata         json.RawMessage `json:"metadata"`
}

type controlFuncs struct {
	InitiatePaymentsOptions *paymentOptions `json:"initiatePaymentsOptions"`
	CallBackURL             string          `json:"callBackUrl"`
	TipsMode                string          `json:"tipsMode"`
	AuthMode                string          `json:"authMode"`
}

type paymentOptions struct {
	PaymentMethod          string          `json:"paymentMethod"`
	Amount                 *json.Number    `json:"amount"`
	RefundProcessingParams *refundParams   `json:"refundProcessingParams"`
	PaymentMethodParams    json.RawMessage `json:"paymentMethodParams"`
}

type refundParams struct {
	PurchasePaymentID string `json:"purchasePaymentId"`
	RefundReason      string `json:"refundReason"`
	OtherReason       string `json:"otherReason"`
}

// minor parses an amount in minor units: a whole number within MaxAmount
// (negative only where allowNeg).
func minor(field string, n *json.Number, allowNeg bool) (int64, error) {
	if n == nil {
		return 0, invalid(field + " is required")
	}
	v, err := strconv.ParseInt(n.String(), 10, 64)
	if err != nil {
		if f, ferr := n.Float64(); ferr == nil && f == math.Trunc(f) && math.Abs(f) <= MaxAmount {
			v = int64(f)
		} else {
			return 0, invalid(field + " must be a whole number of minor units (e.g. 1000 for 10.00)")
		}
	}
	if v > MaxAmount || v < -MaxAmount || (!allowNeg && v < 0) {
		return 0, invalid(field + " is out of range")
	}
	return v, nil
}

// decodeLoose reads a JSON object into v, keeping unknown fields: an
// order carries much of Surfboard's schema that jeton only echoes. The
// raw bytes are returned for the echo.
func decodeLoose(r *http.Request, v any) (json.RawMessage, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, invalid("request body is too large")
		}
		return nil, invalid("cannot read request body")
	}
	if err := refuseCardNumbers(body); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return nil, invalid(ute.Field + " must be a " + ute.Type.Kind().String())
		}
		return nil, invalid("request body must be a JSON object")
	}
	if dec.More() {
		return nil, invalid("request body must be one JSON object")
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, body); err != nil {
		return nil, invalid("request body must be a JSON object")
	}
	return compact.Bytes(), nil
}

// input validates an order request and turns it into the engine's input.
func (req orderRequest) input(doc json.RawMessage) (payment.OrderInput, error) {
	in := payment.OrderInput{TerminalID: strings.TrimSpace(req.TerminalID), ReferenceID: req.ReferenceID, Type: jeton.OrderPurchase, Doc: doc}
	if in.TerminalID == "" {
		return in, invalid("terminal$id is required")
	}
	if len(req.ReferenceID) > 200 {
		return in, invalid("referenceId is at most 200 characters")
	}
	switch strings.ToLower(req.Type) {
	case "", "purchase":
	case "return":
		in.Type = jeton.OrderReturn
	default:
		return in, invalid("type must be purchase or return")
	}
	in.PurchaseOrderID = req.PurchaseOrderID
	if len(req.OrderLines) == 0 && req.TotalOrderAmount == nil {
		return in, invalid("orderLines is required")
	}
	if len(req.OrderLines) > 500 {
		return in, invalid("orderLines: at most 500 lines")
	}
	var sum int64
	for i, l := range req.OrderLines {
		f := "orderLines[" + strconv.Itoa(i) + "]"
		a := l.Amount
		if a == nil {
			a = l.ItemAmount
		}
		if strings.TrimSpace(l.ID) == "" || strings.TrimSpace(l.Name) == "" {
			return in, invalid(f + ": id and name are required")
		}
		if a == nil {
			return in, invalid(f + ".amount is required")
		}
		total, err := minor(f+".amount.total", a.Total, true)
		if err != nil {
			return in, err
		}
		if _, err := minor(f+".amount.regular", a.Regular, true); err != nil {
			return in, err
		}
		if !currencyRE.MatchString(a.Currency) {
			return in, invalid(f + ".amount.currency must be an ISO 4217 code, numeric (\"752\") or alphabetic (\"SEK\")")
		}
		if in.Currency == "" {
			in.Currency = a.Currency
		} else if a.Currency != in.Currency {
			return in, invalid(f + ".amount.currency differs from the order's other lines")
		}
		q := 1.0
		if l.Quantity != nil {
			if q, err = l.Quantity.Float64(); err != nil || q == 0 || math.Abs(q) > 1e6 {
				return in, invalid(f + ".quantity must be a non-zero number")
			}
		}
		if q < 0 || l.PurchaseOrderID != "" {
			// A return line, as the new schema writes one.
			if l.PurchaseOrderID == "" {
				return in, invalid(f + ".purchaseOrderId is required on a return line (negative quantity)")
			}
			if in.PurchaseOrderID != "" && in.PurchaseOrderID != l.PurchaseOrderID {
				return in, invalid(f + ".purchaseOrderId: one return order refunds one purchase")
			}
			in.Type, in.PurchaseOrderID = jeton.OrderReturn, l.PurchaseOrderID
		}
		sum += total // at most 500 lines of at most MaxAmount: no overflow
	}
	if in.Type == jeton.OrderReturn && sum < 0 {
		sum = -sum // a return's lines are negative in the new schema
	}
	in.Amount = sum
	if t := req.TotalOrderAmount; t != nil {
		total, err := minor("totalOrderAmount.total", t.Total, true)
		if err != nil {
			return in, err
		}
		if total < 0 {
			total = -total
		}
		in.Amount = total
		if t.Currency != "" {
			if !currencyRE.MatchString(t.Currency) || in.Currency != "" && t.Currency != in.Currency {
				return in, invalid("totalOrderAmount.currency must match the order lines' currency")
			}
			in.Currency = t.Currency
		}
	}
	if in.Currency == "" {
		return in, invalid("a currency is required (orderLines[].amount.currency or totalOrderAmount.currency)")
	}
	if in.Amount <= 0 {
		return in, invalid("the order total must be more than 0")
	}
	if in.Amount > MaxAmount {
		return in, invalid("the order total is out of range")
	}
	if in.Type == jeton.OrderReturn && in.PurchaseOrderID == "" {
		return in, invalid("purchaseOrderId is required on a return order")
	}
	if cf := req.ControlFunctions; cf != nil {
		switch cf.TipsMode {
		case "", "STANDARD", "ROUNDUP", "NONE":
			in.TipsMode = cf.TipsMode
		default:
			return in, invalid("controlFunctions.tipsMode must be STANDARD, ROUNDUP or NONE")
		}
		switch cf.AuthMode {
		case "", "AUTH", "PRE-AUTH":
		default:
			return in, invalid("controlFunctions.authMode must be AUTH or PRE-AUTH")
		}
		if cf.CallBackURL != "" {
			u, err := url.Parse(cf.CallBackURL)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(cf.CallBackURL) > 2048 {
				return in, invalid("controlFunctions.callBackUrl must be an absolute http(s) URL")
			}
			in.CallbackURL = cf.CallBackURL
		}
		if o := cf.InitiatePaymentsOptions; o != nil {
			p, err := paymentInput(o.PaymentMethod, o.Amount, o.RefundProcessingParams, "", in.Type)
			if err != nil {
				return in, err
			}
			in.Pay = &p
		}
	}
	return in, nil
}

// paymentInput validates a payment's method, amount and refund reason.
func paymentInput(method string, amount *json.Number, refund *refundParams, topReason string, typ jeton.OrderType) (payment.PaymentInput, error) {
	p := payment.PaymentInput{Method: method}
	switch method {
	case "CARD":
	case "CARD_NP":
		if typ != jeton.OrderReturn {
			return p, invalid("paymentMethod CARD_NP is for refunds (return orders) only")
		}
		reason := topReason
		if refund != nil && refund.RefundReason != "" {
			reason = refund.RefundReason
		}
		switch reason {
		case "CUSTOMER_INITIATED_RETURN", "SUSPECTED_MALFUNCTION", "SUSPECTED_FRAUD", "DUPLICATE_TRANSACTION":
		case "OTHER":
			if refund == nil || strings.TrimSpace(refund.OtherReason) == "" {
				return p, invalid("refundProcessingParams.otherReason is required when refundReason is OTHER")
			}
		case "":
			return p, invalid("refundProcessingParams.refundReason is required for CARD_NP")
		default:
			return p, invalid("refundReason must be CUSTOMER_INITIATED_RETURN, SUSPECTED_MALFUNCTION, SUSPECTED_FRAUD, DUPLICATE_TRANSACTION or OTHER")
		}
		p.RefundReason = reason
	case "":
		return p, invalid("paymentMethod is required")
	default:
		return p, invalid("paymentMethod " + method + " is not available in the sandbox; use CARD (or CARD_NP for refunds)")
	}
	if amount != nil {
		v, err := minor("amount", amount, false)
		if err != nil {
			return p, err
		}
		if v == 0 {
			return p, invalid("amount must be more than 0")
		}
		p.Amount = v
	}
	return p, nil
}

func (a *API) createOrder(w http.ResponseWriter, r *http.Request, c Caller) {
	var req orderRequest
	doc, err := decodeLoose(r, &req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	in, err := req.input(doc)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	o, p, err := a.payments.CreateOrder(r.Context(), c.payer(), in)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	d := map[string]any{"orderId": o.ID}
	if p != nil {
		d["paymentId"] = p.ID
	}
	a.ok(w, r, http.StatusCreated, d, "Order created successfully")
}

func (a *API) updateOrder(w http.ResponseWriter, r *http.Request, c Caller) {
	// Another merchant's (or user's) order is "not found" whatever the body.
	if _, err := a.payments.Order(r.Context(), c.payer(), r.PathValue("orderId")); err != nil {
		a.fail(w, r, err)
		return
	}
	var req orderRequest
	doc, err := decodeLoose(r, &req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	in, err := req.input(doc)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if in.Pay != nil {
		a.fail(w, r, invalid("controlFunctions.initiatePaymentsOptions: start the payment with POST /payments"))
		return
	}
	if _, err := a.payments.UpdateOrder(r.Context(), c.payer(), r.PathValue("orderId"), in); err != nil {
		a.fail(w, r, err)
		return
	}
	a.ok(w, r, http.StatusCreated, nil, "Order updated successfully")
}

func (a *API) getOrder(w http.ResponseWriter, r *http.Request, c Caller) {
	o, err := a.payments.Order(r.Context(), c.payer(), r.PathValue("orderId"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(o.Doc, &doc); err != nil {
		a.fail(w, r, jeton.Internal(err))
		return
	}
	adj, err := a.payments.Adjustments(r.Context(), o)
	if err != nil {
		a.fail(w, r, jeton.Internal(err))
		return
	}
	out := map[string]any{}
	for k, v := range doc {
		out[k] = v
	}
	out["orderId"] = o.ID
	out["terminal$id"] = o.TerminalID
	out["date"] = o.CreatedAt.Format(time.RFC3339Nano)
	out["orderStatus"] = string(o.Status)
	adjs := make([]map[string]string, 0, len(adj))
	for _, x := range adj {
		adjs = append(adjs, map[string]string{"adjustmentId": x.ID, "type": x.Type, "value": strconv.FormatInt(x.Amount, 10)})
	}
	out["adjustments"] = adjs
	total := map[string]any{}
	if raw, ok := doc["totalOrderAmount"]; ok {
		_ = json.Unmarshal(raw, &total)
	} else {
		total["regular"], total["currency"] = o.Amount, o.Currency
	}
	total["total"] = o.Amount + o.Tips
	out["totalOrderAmount"] = total
	a.ok(w, r, http.StatusOK, out, "Order fetched successfully")
}

func (a *API) orderStatus(w http.ResponseWriter, r *http.Request, c Caller) {
	o, err := a.payments.Order(r.Context(), c.payer(), r.PathValue("orderId"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ps, err := a.payments.OrderPayments(r.Context(), o)
	if err != nil {
		a.fail(w, r, jeton.Internal(err))
		return
	}
	pays := make([]map[string]any, 0, len(ps))
	var paid []string
	for _, p := range ps {
		pv := map[string]any{"paymentId": p.ID, "paymentStatus": string(p.Status), "paymentMethod": p.Method, "amount": p.Amount + p.Tip}
		if p.FailureReason != "" {
			pv["failureReason"] = p.FailureReason
		}
		pays = append(pays, pv)
		if p.Status == jeton.PaymentCompleted && p.Void == "" {
			paid = append(paid, p.ID)
		}
	}
	d := map[string]any{"orderStatus": string(o.Status), "payments": pays}
	var doc struct {
		OrderLines json.RawMessage `json:"orderLines"`
	}
	if json.Unmarshal(o.Doc, &doc) == nil && len(doc.OrderLines) > 0 {
		d["orderLines"] = doc.OrderLines
	}
	if o.Status == jeton.OrderPaymentCompleted || o.Status == jeton.OrderPartialPaymentCompleted {
		d["paymentIds"] = paid
		txs, _, err := a.payments.Transactions(r.Context(), c.payer(), jeton.TransactionFilter{Ref: o.ID, PerPage: 100})
		if err != nil {
			a.fail(w, r, jeton.Internal(err))
			return
		}
		views := make([]map[string]any, 0, len(txs))
		for _, t := range txs {
			views = append(views, payment.TransactionView(t))
		}
		d["transactions"] = views
	}
	a.ok(w, r, http.StatusOK, d, "Fetched order status successfully")
}

func (a *API) cancelOrder(w http.ResponseWriter, r *http.Request, c Caller) {
	if _, err := a.payments.CancelOrder(r.Context(), c.payer(), r.PathValue("orderId")); err != nil {
		a.fail(w, r, err)
		return
	}
	a.ok(w, r, http.StatusOK, nil, "Order cancelled successfully")
}

func (a *API) orderAdjustments(w http.ResponseWriter, r *http.Request, c Caller) {
	o, err := a.payments.Order(r.Context(), c.payer(), r.PathValue("orderId"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	from, to, err := dateRange(r, true)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	adj, err := a.payments.Adjustments(r.Context(), o)
	if err != nil {
		a.fail(w, r, jeton.Internal(err))
		return
	}
	out := []map[string]any{}
	for _, x := range adj {
		if !x.CreatedAt.Before(from) && x.CreatedAt.Before(to) {
			out = append(out, map[string]any{"adjustmentId": x.ID, "adjustmentType": strings.ToLower(x.Type), "amount": x.Amount})
		}
	}
	page, err := pageNumber(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	total := len(out)
	out = out[min((page-1)*PageSize, total):min(page*PageSize, total)]
	w.Header().Set("X-Page-Number", strconv.Itoa(page))
	w.Header().Set("X-Total-Items", strconv.Itoa(total))
	a.ok(w, r, http.StatusOK, out, "Adjustments fetched successfully")
}

// dateRange reads startDate and endDate (yyyy-mm-dd, UTC days; endDate
// inclusive).
func dateRange(r *http.Request, required bool) (time.Time, time.Time, error) {
	q := r.URL.Query()
	s, e := q.Get("startDate"), q.Get("endDate")
	if s == "" && e == "" && !required {
		return time.Time{}, time.Time{}, nil
	}
	from, err1 := time.Parse("2006-01-02", s)
	to, err2 := time.Parse("2006-01-02", e)
	if err1 != nil || err2 != nil {
		return from, to, invalid("Invalid date format: startDate and endDate are yyyy-mm-dd")
	}
	if to.Before(from) {
		return from, to, invalid("endDate is before startDate")
	}
	return from, to.AddDate(0, 0, 1), nil
}

// pageNumber reads X-PAGE-NUMBER (default 1).
func pageNumber(r *http.Request) (int, error) {
	p := r.Header.Get("X-PAGE-NUMBER")
	if p == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 1_000_000 {
		return 0, invalid("X-PAGE-NUMBER must be a positive integer")
	}
	return n, nil
}
