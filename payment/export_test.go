package payment

import (
	"context"
	"math"
	"testing"
)

// Advance lets tests drive a payment step by step.
func Advance(s *Service, ctx context.Context, id string) error { return s.advance(ctx, id) }

func TestAddOverflow(t *testing.T) {
	for _, c := range []struct {
		a, b int64
		ok   bool
	}{{1, 2, true}, {math.MaxInt64, 0, true}, {math.MaxInt64, 1, false}, {math.MinInt64, -1, false}, {math.MinInt64, 1, true},
		{math.MaxInt64 - 5, 5, true}, {-5, math.MinInt64 + 5, true}, {-6, math.MinInt64 + 5, false}} {
		if got, ok := add(c.a, c.b); ok != c.ok || ok && got != c.a+c.b {
			t.Errorf("add(%d, %d) = %d, %v", c.a, c.b, got, ok)
		}
	}
}
