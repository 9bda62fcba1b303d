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

// maxDue bounds the delivery ids Due keeps for Run; past it Run scans
// for due callbacks instead, which finds them all.
const maxDue = 8192

// Due tells Run that a commit made the callbacks ids due, so it claims
// them by id now rather than at its next poll. It never blocks; reports
// while Run is busy add up.
func (s *Service) Due(ids []string) {
	s.dueMu.Lock()
	if ids == nil || len(s.due)+len(ids) > maxDue {
		s.scan = true
	} else {
		s.due = append(s.due, ids...)
	}
	s.dueMu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Kick tells Run that callbacks it was not told about may be due, so its
// next claim looks for all of them.
func (s *Service) Kick() { s.Due(nil) }

// takeDue returns up to n ids reported by Due, leaving half of n to a
// scan when one is asked for, so reported ids cannot starve it.
func (s *Service) takeDue(n int) []string {
	s.dueMu.Lock()
	defer s.dueMu.Unlock()
	if s.scan {
		n /= 2
	}
	k := min(n, len(s.due))
	ids := append([]string(nil), s.due[:k]...)
	s.due = s.due[k:]
	if len(s.due) == 0 {
		s.due = nil // let the backing array go
	}
	return ids
}

// takeScan reports whether a scan was asked for, and clears the request:
// call it only when the scan is about to run.
func (s *Service) takeScan() bool {
	s.dueMu.Lock()
	defer s.dueMu.Unlock()
	scan := s.scan
	s.scan = false
	return scan
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
// the store in batches and keeps up to Workers in flight: those Due
// reported by id, and, at start, every Poll and after Kick, any due
// callback (retries coming due, callbacks of another instance or of one
// that stopped). It wakes on Due, Kick, every Poll, and, while too few
// workers are free for a worthwhile claim (a quarter of them), when they
// free up. On return every attempt it started has finished and been
// handed to the recorder.
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
	first := true // callbacks left from before this Run are due
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
		// A poll that came due while claims ran back to back still asks
		// for its scan.
		select {
		case <-tick.C:
			s.Kick()
		default:
		}
		n := min(free, claimBatch)
		// The ids first, then the clock: an id is reported after its
		// commit, whose due time is then before now.
		ids := s.takeDue(n)
		now := s.now()
		var cs []jeton.Callback
		if len(ids) > 0 {
			var err error
			if cs, err = s.store.ClaimCallbacksByID(ctx, ids, now, now.Add(s.lease())); err != nil && ctx.Err() == nil {
				s.log.Warn("claim callbacks", "err", err)
				s.Kick() // the ids are gone: a scan finds what they named
			}
		}
		full := len(ids) == n
		if len(cs) < n && (first || s.takeScan()) {
			first = false
			want := n - len(cs)
			more, err := s.store.ClaimCallbacks(ctx, now, now.Add(s.lease()), want)
			if err != nil && ctx.Err() == nil {
				s.log.Warn("claim callbacks", "err", err)
			}
			cs = append(cs, more...)
			if len(more) == want { // more may be due: scan again
				s.Kick()
				full = true
			}
			// After an error the next poll scans again.
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
		if full {
			continue // more may be due
		}
		lastDrained = time.Now()
		select {
		case <-ctx.Done():
		case <-s.kick:
		case <-tick.C:
			s.Kick()
		}
	}
}
