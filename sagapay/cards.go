package sagapay

import (
	"bytes"
	"encoding/json"

	"github.com/jetonhq/jeton"
)

// jeton never stores a card number: a request body that holds one, in
// any field, is refused before anything is stored. A card number here is
// a string or number of 13 to 19 digits (spaces and dashes between them
// allowed) that passes the Luhn check. The ids jeton issues are not
// checked: an 18-digit id can pass the Luhn check by chance.

// idFields are the fields that carry ids jeton issued.
var idFields = map[string]bool{
	"terminal$id": true, "terminalId": true, "orderId": true, "paymentId": true, "purchaseOrderId": true,
	"purchasePaymentId": true, "transactionId": true, "storeId": true, "merchantId": true,
}

// refuseCardNumbers scans a raw JSON body for card numbers.
func refuseCardNumbers(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil // not JSON: the decoder that follows says so
	}
	if holdsCard(v) {
		return jeton.Errorf(jeton.KindInvalid, jeton.KeyCardNumber,
			"the request holds what looks like a card number; jeton never takes card numbers: the card is presented on the terminal")
	}
	return nil
}

func holdsCard(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if !idFields[k] && holdsCard(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if holdsCard(e) {
				return true
			}
		}
	case string:
		return cardLike(x)
	case json.Number:
		return cardLike(x.String())
	}
	return false
}

// cardLike reports whether s contains a run that is a card number.
func cardLike(s string) bool {
	digits := make([]byte, 0, 24)
	check := func() bool {
		ok := len(digits) >= 13 && len(digits) <= 19 && luhn(digits)
		digits = digits[:0]
		return ok
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits = append(digits, c)
		case (c == ' ' || c == '-') && len(digits) > 0:
		default:
			if check() {
				return true
			}
		}
	}
	return check()
}

func luhn(d []byte) bool {
	sum := 0
	for i := len(d) - 1; i >= 0; i-- {
		v := int(d[i] - '0')
		if (len(d)-1-i)%2 == 1 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return sum%10 == 0
}
