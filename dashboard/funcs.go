package dashboard

import (
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"time"

	"github.com/jetonhq/jeton"
)

func itoa(n int) string { return strconv.Itoa(n) }

// funcs are the templates' formatting helpers.
var funcs = template.FuncMap{
	"usd": func(v jeton.USD) string { return cents(int64(v)) },
	// minor prints an amount in minor units with its currency.
	"minor": func(v int64, currency string) string {
		neg := ""
		if v < 0 {
			neg, v = "-", -v
		}
		return fmt.Sprintf("%s%d.%02d %s", neg, v/100, v%100, currency)
	},
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"whenp": func(t *time.Time) string {
		if t == nil {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"ms": func(d time.Duration) string {
		return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64) + " ms"
	},
	"scopes":  joinScopes,
	"dollars": func(v jeton.USD) string { return v.String() },
	"cents":   cents,
	// bps prints basis points as a percentage (2500 → 25%).
	"bps":       func(v int64) string { return strconv.FormatFloat(float64(v)/100, 'f', -1, 64) + "%" },
	"add64":     func(a, b int64) int64 { return a + b },
	"kycLevels": func() []int { return []int{0, 1, 2, 3} },
	"join":      strings.Join,
	"add":       func(a, b int) int { return a + b },
	"sub":       func(a, b int) int { return a - b },
	"lower": func(s any) string {
		return strings.ToLower(fmt.Sprint(s))
	},
}

// cents prints an amount of US cents as dollars ($12.05).
func cents(v int64) string {
	neg := ""
	if v < 0 {
		neg, v = "-", -v
	}
	return fmt.Sprintf("%s$%d.%02d", neg, v/100, v%100)
}
