// Package batch commits concurrent writes together (group commit): many
// requests each wait for their item to be durably stored, but share one
// transaction, so a single SQLite writer keeps up with a busy server.
package batch

import (
	"context"
	"errors"
	"runtime"
	"sync"
)

// ErrClosed is returned by Add after Close.
var ErrClosed = errors.New("batch: closed")

// Batcher collects items and hands them to commit in groups of at most Max.
// An item's Add returns only after its group committed (or failed).
type Batcher[T any] struct {
	commit func(context.Context, []T) error
	max    int
	in     chan req[T]
	done   chan struct{}
	once   sync.Once
	mu     sync.RWMutex
	closed bool
}

type req[T any] struct {
	item T
	errc chan error
}

// New starts a batcher. max bounds a group (0 = 256).
func New[T any](max int, commit func(context.Context, []T) error) *Batcher[T] {
	if max <= 0 {
		max = 256
	}
	b := &Batcher[T]{commit: commit, max: max, in: make(chan req[T], max*4), done: make(chan struct{})}
	go b.loop()
	return b
}

var errcPool = sync.Pool{New: func() any { return make(chan error, 1) }}

// Add stores item with the next group and waits for the commit.
func (b *Batcher[T]) Add(ctx context.Context, item T) error {
	errc := errcPool.Get().(chan error)
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return ErrClosed
	}
	select {
	case b.in <- req[T]{item: item, errc: errc}:
		b.mu.RUnlock()
	case <-ctx.Done():
		b.mu.RUnlock()
		return ctx.Err()
	}
	// Once queued, the item will be committed or failed; wait for the
	// verdict even if ctx ends, so the caller never misreports it.
	err := <-errc
	errcPool.Put(errc)
	return err
}

func (b *Batcher[T]) loop() {
	defer close(b.done)
	items := make([]T, 0, b.max)
	waiters := make([]chan error, 0, b.max)
	for first := range b.in {
		items = append(items[:0], first.item)
		waiters = append(waiters[:0], first.errc)
		// Let the goroutines that are about to queue do so before the
		// group is cut: without this a group rarely holds more than two
		// items under load, and each commit costs more than its rows.
		runtime.Gosched()
	fill:
		for len(items) < b.max {
			select {
			case r, ok := <-b.in:
				if !ok {
					break fill
				}
				items = append(items, r.item)
				waiters = append(waiters, r.errc)
			default:
				break fill
			}
		}
		err := b.commit(context.Background(), items)
		for _, w := range waiters {
			w <- err
		}
		clear(items)
	}
}

// Close stops accepting items and waits for queued ones to commit.
func (b *Batcher[T]) Close() {
	b.once.Do(func() {
		b.mu.Lock()
		b.closed = true
		close(b.in)
		b.mu.Unlock()
		<-b.done
	})
}
