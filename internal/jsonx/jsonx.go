// Package jsonx encodes JSON as JavaScript's JSON.stringify does: no HTML
// escaping (a trade URL's "&" stays "&") and no trailing newline. Tokens
// must match what jose makes byte for byte, and replies read better so.
package jsonx

import (
	"bytes"
	"encoding/json"
)

// Marshal encodes v without HTML escaping.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
