package payment

import (
	"sync"
	"time"
)

// ttlCache keeps values for a short while: what every payment reads but
// hardly ever changes (a merchant's webhook endpoints and settings, its
// terminals). A change made through this instance drops its entry at
// once; one made through another instance shows within the TTL.
type ttlCache[V any] struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]ttlEntry[V]
}

type ttlEntry[V any] struct {
	v   V
	exp time.Time
}

func newTTLCache[V any](ttl time.Duration) *ttlCache[V] {
	return &ttlCache[V]{ttl: ttl, m: map[string]ttlEntry[V]{}}
}

// get returns the cached value of key, or loads and caches it.
func (c *ttlCache[V]) get(key string, load func() (V, error)) (V, error) {
	now := time.Now()
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if ok && now.Before(e.exp) {
		return e.v, nil
	}
	v, err := load()
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	if len(c.m) > 10000 { // bounded: drop everything rather than grow
		clear(c.m)
	}
	c.m[key] = ttlEntry[V]{v: v, exp: now.Add(c.ttl)}
	c.mu.Unlock()
	return v, nil
}

// drop forgets key.
func (c *ttlCache[V]) drop(key string) {
	c.mu.Lock()
	delete(c.m, key)
	c.mu.Unlock()
}
