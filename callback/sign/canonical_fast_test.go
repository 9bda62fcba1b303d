package sign

import (
	"bytes"
	"testing"
)

// FuzzCanonicalFast holds the fast path to the general one: whatever
// input the fast path accepts, the general path must accept too and
// write the same bytes.
func FuzzCanonicalFast(f *testing.F) {
	for _, s := range []string{
		`{"id":"c7e0159e","type":"DEPOSIT","items":[{"id":"1249","appid":730,"offer":{"price":50.6,"reference":"1f85"}}],"totalPrice":50.6,"preCredit":25,"isInstant":true,"externalId":null}`,
		`{"b":1,"a":[1,2,{"d":null,"c":true}],"é":"ü","z":-0,"y":1e21,"x":0.0000001,"w":123456789012345678,"v":1.5e-7,"u":-12.50}`,
		`{"a":1,"a":2}`, `{"k":"with \"escape\""}`, `{"\u0061":1,"a":2}`, `{"u":"\ud800 \u0026 \u00e9 \/"}`, `{"k":"line\nbreak"}`, "{\"k\":\"\xff\"}", `[1,]`, `{"a" 1}`,
		`  {"a" : [ ] , "b" : { } }  `, `007`, `-`, `1.`, `.5`, `1e`, `1e400`, `"\u2028"`, `[true,false,null]`, `tru`, `{} x`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		fast, ok := canonicalFast(raw)
		if !ok {
			return
		}
		general, err := canonicalGeneral(raw)
		if err != nil {
			t.Fatalf("fast path accepted %q, general path refused it: %v", raw, err)
		}
		if !bytes.Equal(fast, general) {
			t.Fatalf("%q:\nfast    %s\ngeneral %s", raw, fast, general)
		}
	})
}

// TestCanonicalFastTakesJetonJSON: the bodies jeton signs take the fast
// path (otherwise it saves nothing).
func TestCanonicalFastTakesJetonJSON(t *testing.T) {
	raw := []byte(`{"id":"c7e0159e-619f","type":"DEPOSIT","status":"HOLD","items":[{"id":"124919674349610","appid":730,"name":"Operation Bravo Case","offer":{"price":50.6,"reference":"1f8534e0d9f9"}}],"totalPrice":50.6,"preCredit":25,"pendingCredit":25.6,"isInstant":true,"collateral":{"merchant":0,"provider":25},"externalId":null,"createdAt":"2026-11-25T23:55:56.484Z",
"clientTradeUrl":"https://steamcommunity.com/tradeoffer/new/?partner=39734276\u0026token=abcdEF12","note":"\u003cb\u003e \u2028 \"q\" \\ \t"}`)
	fast, ok := canonicalFast(raw)
	if !ok {
		t.Fatal("a trade body did not take the fast path")
	}
	general, err := canonicalGeneral(raw)
	if err != nil || !bytes.Equal(fast, general) {
		t.Fatalf("fast %s\ngeneral %s (%v)", fast, general, err)
	}
	if !bytes.Contains(fast, []byte(`partner=39734276&token`)) || !bytes.Contains(fast, []byte(`"<b> \u2028`[:5])) {
		t.Fatalf("escapes not rewritten as JSON.stringify writes them: %s", fast)
	}
}
