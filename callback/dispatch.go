package callback

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jetonhq/jeton"
)

// claimBatch bounds the callbacks one claim takes.
const claimBatch = 256

// Kick tells Run that callbacks became due, so it claims them now rather
// than at its next poll. It never blocks; kicks while Run is busy fold
// into one.
func (s *Service) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// lease is how long a claimed callback stays away from other workers: a
// whole attempt, and a margin for the claim's and the record's queueing
// on a busy store. A crash mid-attempt delays that callback by at most
// this.
func (s *Service) lease() time.Duration { return s.StatusTimeout + 15*time.Second }

// claimGap is the least time between two claims that found the queue
// drained. Kicks come with every commit; without the gap each would cost
// a claim transaction for one or two callbacks. With it, a busy store
// hands over its callbacks in groups, and a quiet one waits at most this
// long.
const claimGap = 2 * time.Millisecond

// Run delivers due status callbacks until ctx ends. It claims them from
// the store in batches and keeps up to Workers in flight. It wakes on
// Kick, every Poll, and, while too few workers are free for a worthwhile
// claim (a quarter of them), when they free up. On return every attempt
// it started has finished and been handed to the recorder.
func (s *Service) Run(ctx context.Context) {
	ctx = jeton.Background(ctx)
	workers := max(s.Workers, 1)
	low := max(workers/4, 1)
	poll := s.Poll
	if poll <= 0 {
		poll = 250 * time.Millisecond
	}
	tick := time.NewTicker(poll)
	defer tick.Stop()
	var inflight atomic.Int64
	var wg sync.WaitGroup
	defer wg.Wait()
	// An attempt under way finishes even while the server stops: it is
	// bounded by StatusTimeout, and cutting it would only make the
	// merchant see it again after the lease.
	dctx := context.WithoutCancel(ctx)
	var lastDrained time.Time
	for ctx.Err() == nil {
		free := workers - int(inflight.Load())
		if free < low {
			select {
			case <-ctx.Done():
			case <-s.freed:
			}
			continue
		}
		if wait := claimGap - time.Since(lastDrained); wait > 0 {
			select {
			case <-ctx.Done():
				continue
			case <-time.After(wait):
			}
		}
		n := min(free, claimBatch)
		now := s.now()
		cs, err := s.store.ClaimCallbacks(ctx, now, now.Add(s.lease()), n)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("claim callbacks", "err", err)
		}
		for _, c := range cs {
			inflight.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				res := s.deliver(dctx, c)
				// The worker is free once the call is over; the callback
				// stays leased until its attempt is recorded.
				if inflight.Add(-1) == int64(workers-low) {
					select {
					case s.freed <- struct{}{}:
					default:
					}
				}
				s.record(dctx, res)
			}()
		}
		if len(cs) == n {
			continue // more may be due
		}
		lastDrained = time.Now()
		select {
		case <-ctx.Done():
		case <-s.kick:
		case <-tick.C:
		}
	}
}
