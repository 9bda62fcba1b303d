package sagapay

import (
	"testing"

	"github.com/jetonhq/jeton"
)

func TestRefuseCardNumbers(t *testing.T) {
	refused := []string{
		`{"referenceId":"4111111111111111"}`,
		`{"customer":{"person":{"name":{"firstName":"4111 1111 1111 1111"}}}}`,
		`{"metadata":{"pan":"5555-5555-5555-4444"}}`,
		`{"metadata":{"pan":4111111111111111}}`,
		`{"orderLines":[{"description":"card 378282246310005 on file"}]}`,
	}
	for _, b := range refused {
		if err := refuseCardNumbers([]byte(b)); jeton.ErrorKey(err) != jeton.KeyCardNumber {
			t.Errorf("%s: got %v, want %s", b, err, jeton.KeyCardNumber)
		}
	}
	allowed := []string{
		`{"referenceId":"4111111111111112"}`, // fails Luhn
		`{"referenceId":"123456789012"}`,     // 12 digits
		`{"orderId":"411111111111111111"}`,   // an id field
		`{"terminal$id":"4111111111111111"}`, // an id field
		`{"amount":{"total":1000,"regular":1000}}`,
		`{"phoneNumber":{"code":"+46","number":"701234567"}}`,
		`{"referenceId":"41111111111111111111111"}`, // 23 digits: no card
		`not json`,
	}
	for _, b := range allowed {
		if err := refuseCardNumbers([]byte(b)); err != nil {
			t.Errorf("%s: refused: %v", b, err)
		}
	}
}
