package sandbox

import (
	"context"
	"sync"
	"time"

	"github.com/jetonhq/jeton"
)

// memStore is a unit-test fake of jeton.SandboxStore: a map and a mutex.
// The SQL store has its own conformance tests.
type memStore struct {
	mu      sync.Mutex
	offers  map[string]jeton.SandboxOffer
	byTrade map[string]string
	offset  time.Duration
	fail    error // returned by every call when set
}

func newMemStore() *memStore {
	return &memStore{offers: map[string]jeton.SandboxOffer{}, byTrade: map[string]string{}}
}

func (m *memStore) SaveSandboxOffer(_ context.Context, o jeton.SandboxOffer) (jeton.SandboxOffer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return jeton.SandboxOffer{}, m.fail
	}
	if id, ok := m.byTrade[o.TradeID]; ok {
		return m.offers[id], nil
	}
	m.offers[o.ID] = o
	m.byTrade[o.TradeID] = o.ID
	return o, nil
}

func (m *memStore) SandboxOffer(_ context.Context, id string) (jeton.SandboxOffer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return jeton.SandboxOffer{}, m.fail
	}
	o, ok := m.offers[id]
	if !ok {
		return jeton.SandboxOffer{}, jeton.Errorf(jeton.KindNotFound, jeton.KeyNotFound, "no sandbox offer %s", id)
	}
	return o, nil
}

func (m *memStore) SetSandboxControl(_ context.Context, id, control string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	o, ok := m.offers[id]
	if !ok {
		return jeton.Errorf(jeton.KindNotFound, jeton.KeyNotFound, "no sandbox offer %s", id)
	}
	o.Control, o.ControlAt = control, at
	m.offers[id] = o
	return nil
}

func (m *memStore) SandboxClock(context.Context) (time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.offset, m.fail
}

func (m *memStore) AdvanceSandboxClock(_ context.Context, d time.Duration) (time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return 0, m.fail
	}
	m.offset += d
	return m.offset, nil
}

// fakeClock is the injected real clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
