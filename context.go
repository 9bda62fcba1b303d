package jeton

import "context"

type backgroundKey struct{}

// Background marks ctx as work no one is waiting on (the engine's
// steps, callback delivery), so a store with one writer may run it after
// the work of requests and approval decisions, which someone is waiting
// on. Everything unmarked counts as waited on.
func Background(ctx context.Context) context.Context {
	return context.WithValue(ctx, backgroundKey{}, true)
}

// IsBackground reports whether ctx was marked by Background.
func IsBackground(ctx context.Context) bool {
	b, _ := ctx.Value(backgroundKey{}).(bool)
	return b
}
