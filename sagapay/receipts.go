package sagapay

import (
	"encoding/json"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/payment"
)

// Receipts, capture and reports.

type captureRequest struct {
	Amount *json.Number `json:"amount"`
}

func (a *API) capturePayment(w http.ResponseWriter, r *http.Request, c Caller) {
	var req captureRequest
	if r.ContentLength != 0 {
		if err := decode(r, &req); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	var amount int64
	if req.Amount != nil {
		v, err := minor("amount", req.Amount, false)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if v == 0 {
			a.fail(w, r, invalid("amount must be more than 0"))
			return
		}
		amount = v
	}
	if err := a.payments.Capture(r.Context(), c.payer(), r.PathValue("paymentId"), amount); err != nil {
		a.fail(w, r, err)
		return
	}
	a.ok(w, r, http.StatusCreated, nil, "Payment captured successfully")
}

func (a *API) captureStatus(w http.ResponseWriter, r *http.Request, c Caller) {
	p, err := a.payments.Payment(r.Context(), c.payer(), r.PathValue("paymentId"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	st := p.Capture
	if st == "" {
		st = "SUCCESS" // captured with the sale
	}
	a.ok(w, r, http.StatusOK, map[string]string{"captureStatus": st}, "Capture status fetched successfully.")
}

// reports answers the merchant's settlement reports: one a day (or a
// month, with reportType=MONTHLY) of the transactions in the range,
// 100 a page, newest first. A client token's report covers its own
// transactions.
func (a *API) reports(w http.ResponseWriter, r *http.Request, c Caller) {
	m, err := a.creds.Merchant(r.Context(), c.MerchantID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if r.PathValue("partnerId") != m.PartnerID {
		a.fail(w, r, jeton.Errorf(jeton.KindNotFound, jeton.KeyNotFound, "Partner not found"))
		return
	}
	if err := ownPath(r, c.MerchantID); err != nil {
		a.fail(w, r, err)
		return
	}
	page, err := pageNumber(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	from, to, err := dateRange(r, false)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	monthly := false
	switch r.URL.Query().Get("reportType") {
	case "", "DAILY":
	case "MONTHLY":
		monthly = true
	default:
		a.fail(w, r, invalid("reportType must be DAILY or MONTHLY"))
		return
	}
	rows, err := a.payments.Report(r.Context(), c.payer(), from, to, monthly)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	total := len(rows)
	rows = rows[min((page-1)*PageSize, total):min(page*PageSize, total)]
	out := make([]map[string]any, 0, len(rows))
	for _, x := range rows {
		last := x.End.AddDate(0, 0, -1)
		out = append(out, map[string]any{"payoutId": x.PayoutID, "merchantId": c.MerchantID,
			"transactionStartDate": x.Start.Format("2006-01-02"), "transactionEndDate": last.Format("2006-01-02"),
			"settlementDate": x.End.Format("2006-01-02"), "reportType": x.Type,
			"url":       "/transactions?startDate=" + x.Start.Format("2006-01-02") + "&endDate=" + last.Format("2006-01-02"),
			"totalSale": x.TotalSale, "totalRefund": x.TotalRefund, "fee": x.Fee, "payout": x.Payout,
			"totalTips": x.Tips, "transactionCount": x.Count})
	}
	w.Header().Set("X-Page-Number", strconv.Itoa(page))
	w.Header().Set("X-Total-Items", strconv.Itoa(total))
	a.ok(w, r, http.StatusOK, out, "Settlement reports fetched successfully")
}

// publicBase is the address customers reach jeton at: PublicURL when
// set, else the request's own host.
func (a *API) publicBase(r *http.Request) string {
	if a.PublicURL != "" {
		return strings.TrimSuffix(a.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (a *API) receiptLink(w http.ResponseWriter, r *http.Request, c Caller) {
	t, err := a.payments.Receipt(r.Context(), c.payer(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.ok(w, r, http.StatusOK, map[string]string{"receiptURL": a.publicBase(r) + "/receipt/" + t.ReceiptKey}, "Receipt URL fetched successfully.")
}

type emailRequest struct {
	Email string `json:"email"`
}

func (a *API) emailReceipt(w http.ResponseWriter, r *http.Request, c Caller) {
	t, err := a.payments.Receipt(r.Context(), c.payer(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var req emailRequest
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if !plausibleEmail(req.Email) {
		a.fail(w, r, invalid("email is required and must be a valid email address"))
		return
	}
	link := a.publicBase(r) + "/receipt/" + t.ReceiptKey
	if err := a.payments.SendReceipt(r.Context(), t, "email", req.Email, map[string]any{"subject": "Your receipt", "receiptURL": link,
		"amount": t.Amount, "currency": t.Currency}); err != nil {
		a.fail(w, r, jeton.Internal(err))
		return
	}
	a.ok(w, r, http.StatusOK, nil, "Email Sent")
}

type printRequest struct {
	TemplateID string `json:"templateId"`
	TerminalID string `json:"terminalId"`
	Language   string `json:"language"`
}

func (a *API) printReceipt(w http.ResponseWriter, r *http.Request, c Caller) {
	t, err := a.payments.Receipt(r.Context(), c.payer(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var req printRequest
	if r.ContentLength != 0 {
		if err := decode(r, &req); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	switch req.Language {
	case "", "sv", "da", "fi", "en":
	default:
		a.fail(w, r, invalid("language must be sv, da, fi or en"))
		return
	}
	term := t.TerminalID
	if req.TerminalID != "" {
		if _, err := a.payments.Terminal(r.Context(), c.MerchantID, req.TerminalID); err != nil {
			a.fail(w, r, err)
			return
		}
		term = req.TerminalID
	}
	if err := a.payments.SendReceipt(r.Context(), t, "print", term, map[string]any{"language": req.Language, "amount": t.Amount,
		"currency": t.Currency, "transactionId": t.ID}); err != nil {
		a.fail(w, r, jeton.Internal(err))
		return
	}
	a.ok(w, r, http.StatusOK, nil, "PNG Receipt printed successfully.")
}

// sandboxOutbox lists the receipts the sandbox emailed or printed.
func (a *API) sandboxOutbox(w http.ResponseWriter, r *http.Request, k jeton.APIKey, m jeton.Merchant) {
	ms, err := a.payments.Outbox(r.Context(), m.ID)
	if err != nil {
		a.fail(w, r, jeton.Internal(err))
		return
	}
	out := make([]map[string]any, 0, len(ms))
	for _, x := range ms {
		out = append(out, map[string]any{"id": x.ID, "kind": x.Kind, "target": x.Target, "transactionId": x.Ref, "body": x.Body,
			"createdAt": x.CreatedAt.Format(time.RFC3339Nano)})
	}
	a.ok(w, r, http.StatusOK, out, "Sandbox outbox fetched successfully")
}

var receiptPage = template.Must(template.New("receipt").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Receipt {{.TxID}}</title>
<style>
body{margin:0;background:{{.Background}};font-family:{{.Font}};color:#1b1b1b}
main{max-width:28rem;margin:2rem auto;background:#fff;border-radius:{{.Radius}};overflow:hidden;box-shadow:0 1px 4px #0002}
header{background:{{.Brand}};color:#fff;padding:1rem 1.25rem}
header img{max-height:3rem;display:block;margin-bottom:.5rem}
dl{display:grid;grid-template-columns:auto 1fr;gap:.4rem 1rem;padding:1rem 1.25rem;margin:0}
dt{color:#555}dd{margin:0;text-align:right}
.total{font-size:1.4rem;font-weight:600;color:{{.Accent}}}
footer{background:{{.Footer}};padding:.75rem 1.25rem;font-size:.85rem;color:#333}
.void{color:#b00020;font-weight:600}
</style></head>
<body><main>
<header>{{if .Logo}}<img src="{{.Logo}}" alt="{{.Merchant}}">{{end}}<h1>{{.Merchant}}</h1><p>{{.Store}}</p></header>
<dl>
<dt>{{.Kind}}</dt><dd class="total" data-testid="total">{{.Total}}</dd>
{{if .Tip}}<dt>Tip</dt><dd data-testid="tip">{{.Tip}}</dd>{{end}}
<dt>Card</dt><dd>{{.Card}}</dd>
<dt>Date</dt><dd>{{.Date}}</dd>
<dt>Transaction</dt><dd>{{.TxID}}</dd>
<dt>Reference</dt><dd>{{.RRN}}</dd>
{{if .Voided}}<dt>Status</dt><dd class="void">Voided</dd>{{end}}
</dl>
<footer>Thank you. Sandbox receipt served by jeton.</footer>
</main></body></html>
`))

// minorText formats minor units with two decimals and the currency.
func minorText(v int64, currency string) string {
	neg := ""
	if v < 0 {
		neg, v = "-", -v
	}
	return neg + strconv.FormatInt(v/100, 10) + "." + strconv.FormatInt(v%100/10, 10) + strconv.FormatInt(v%10, 10) + " " + currency
}

// receiptView serves the receipt page a link points to, in the store's
// (or terminal's) branding. Its address is unguessable; it shows the last
// four digits of the card and nothing of the customer.
func (a *API) receiptView(w http.ResponseWriter, r *http.Request) {
	if a.payments == nil {
		http.NotFound(w, r)
		return
	}
	t, err := a.payments.ReceiptByKey(r.Context(), r.PathValue("key"))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	var b payment.Branding
	if err := a.payments.EffectiveSetting(r.Context(), t.MerchantID, jeton.SettingBranding, t.StoreID, t.TerminalID, &b); err != nil {
		a.log.ErrorContext(r.Context(), "receipt branding", "err", err)
	}
	pick := func(v *string, def string) string {
		if v != nil && *v != "" {
			return *v
		}
		return def
	}
	merchant, store := "", ""
	if m, err := a.creds.Merchant(r.Context(), t.MerchantID); err == nil {
		merchant = m.Name
	}
	if s, err := a.store.SagaStore(r.Context(), t.MerchantID, t.StoreID); err == nil {
		store = s.Name
	}
	radius := map[string]string{"PILL": "1.5rem", "EDGY": "0", "ROUNDED": ".5rem"}[pick(b.RectShape, "ROUNDED")]
	font := map[string]string{"serif": "Georgia, serif", "mono": "ui-monospace, monospace"}[pick(b.FontType, "")]
	if font == "" {
		font = "system-ui, sans-serif"
	}
	kind := "Paid"
	if t.Type == jeton.OrderReturn {
		kind = "Refunded"
	}
	card := strings.TrimSpace(t.Card.Brand + " •••• " + t.Card.TruncatedPan)
	d := map[string]any{"Merchant": merchant, "Store": store, "TxID": t.ID, "RRN": t.RRN, "Kind": kind,
		"Total": minorText(t.Amount, t.Currency), "Card": card, "Date": t.CreatedAt.Format("2006-01-02 15:04 MST"), "Voided": t.Voided,
		"Background": template.CSS(pick(b.BackgroundColor, "#f4f4f5")), "Brand": template.CSS(pick(b.BrandColor, "#1f2937")),
		"Accent": template.CSS(pick(b.AccentColor, "#1f2937")), "Footer": template.CSS(pick(b.FooterColor, "#e5e7eb")),
		"Radius": template.CSS(radius), "Font": template.CSS(font), "Logo": pick(b.LogoURL, "")}
	if t.Tip > 0 {
		d["Tip"] = minorText(t.Tip, t.Currency)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src https:")
	if err := receiptPage.Execute(w, d); err != nil {
		a.log.ErrorContext(r.Context(), "receipt page", "err", err)
	}
}
