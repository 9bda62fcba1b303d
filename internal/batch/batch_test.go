package batch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// recorder is a commit function that remembers every group. When gated,
// each commit first reports its group on started and then waits for a
// token on release.
type recorder struct {
	mu      sync.Mutex
	groups  [][]int
	count   map[int]int
	fail    func(group []int) error
	started chan []int
	release chan struct{}
}

func newRecorder() *recorder { return &recorder{count: map[int]int{}} }

func (r *recorder) gate() *recorder {
	r.started = make(chan []int, 1024)
	r.release = make(chan struct{})
	return r
}

func (r *recorder) commit(_ context.Context, items []int) error {
	group := slices.Clone(items) // the batcher reuses its slice
	if r.started != nil {
		r.started <- group
		<-r.release
	}
	var err error
	if r.fail != nil {
		err = r.fail(group)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.groups = append(r.groups, group)
	if err == nil {
		for _, it := range group {
			r.count[it]++
		}
	}
	return err
}

func (r *recorder) snapshot() ([][]int, map[int]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := map[int]int{}
	for k, v := range r.count {
		c[k] = v
	}
	return slices.Clone(r.groups), c
}

// waitQueued waits until n items sit in the batcher's queue.
func waitQueued[T any](t *testing.T, b *Batcher[T], n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(b.in) != n {
		if time.Now().After(deadline) {
			t.Fatalf("queue holds %d items, want %d", len(b.in), n)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

func recv[T any](t *testing.T, c <-chan T) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("timed out")
		panic("unreachable")
	}
}

func TestConcurrentAddsCommitOnce(t *testing.T) {
	r := newRecorder()
	const max = 16
	b := New(max, r.commit)
	defer b.Close()

	const n = 2000
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.Add(context.Background(), i); err != nil {
				errs <- fmt.Errorf("Add(%d): %w", i, err)
				return
			}
			// Add returns only once the item is committed.
			r.mu.Lock()
			c := r.count[i]
			r.mu.Unlock()
			if c != 1 {
				errs <- fmt.Errorf("Add(%d) returned with the item committed %d times", i, c)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	groups, count := r.snapshot()
	if len(count) != n {
		t.Errorf("%d distinct items committed, want %d", len(count), n)
	}
	total := 0
	for i := 0; i < n; i++ {
		if count[i] != 1 {
			t.Errorf("item %d committed %d times", i, count[i])
		}
	}
	for _, g := range groups {
		total += len(g)
		if len(g) == 0 || len(g) > max {
			t.Errorf("group of %d items, want 1..%d", len(g), max)
		}
	}
	if total != n {
		t.Errorf("groups hold %d items in all, want %d", total, n)
	}
	t.Logf("%d items in %d groups", n, len(groups))
}

// TestGroupsBoundedByMax holds the first commit so items queue up, then
// checks that the queue drains in groups of exactly max (and the rest).
func TestGroupsBoundedByMax(t *testing.T) {
	r := newRecorder().gate()
	const max = 4
	b := New(max, r.commit)
	defer b.Close()

	var wg sync.WaitGroup
	add := func(i int) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.Add(context.Background(), i); err != nil {
				t.Errorf("Add(%d): %v", i, err)
			}
		}()
	}
	add(0)
	if g := recv(t, r.started); !slices.Equal(g, []int{0}) {
		t.Fatalf("first group = %v", g)
	}
	// Queue 10 more, in order, while the first commit is held.
	for i := 1; i <= 10; i++ {
		add(i)
		waitQueued(t, b, i)
	}
	close(r.release)
	wg.Wait()

	groups, _ := r.snapshot()
	want := [][]int{{0}, {1, 2, 3, 4}, {5, 6, 7, 8}, {9, 10}}
	if !slices.EqualFunc(groups, want, slices.Equal) {
		t.Errorf("groups = %v, want %v", groups, want)
	}
}

func TestDefaultMax(t *testing.T) {
	b := New(0, func(context.Context, []int) error { return nil })
	defer b.Close()
	if b.max != 256 {
		t.Errorf("max = %d, want 256", b.max)
	}
}

// TestCommitErrorReachesGroup: a failing commit returns its error to every
// waiter of that group, and only to them.
func TestCommitErrorReachesGroup(t *testing.T) {
	errBad := errors.New("disk on fire")
	r := newRecorder().gate()
	r.fail = func(g []int) error {
		if slices.Contains(g, 6) {
			return errBad
		}
		return nil
	}
	const max = 4
	b := New(max, r.commit)
	defer b.Close()

	results := make([]error, 13)
	var wg sync.WaitGroup
	add := func(i int) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = b.Add(context.Background(), i)
		}()
	}
	add(0)
	recv(t, r.started)
	for i := 1; i <= 12; i++ {
		add(i)
		waitQueued(t, b, i)
	}
	close(r.release)
	wg.Wait()

	// Groups: {0} {1..4} {5..8} {9..12}; the one holding 6 fails.
	for i, err := range results {
		failed := i >= 5 && i <= 8
		if failed && !errors.Is(err, errBad) {
			t.Errorf("Add(%d) = %v, want %v", i, err, errBad)
		}
		if !failed && err != nil {
			t.Errorf("Add(%d) = %v, want nil", i, err)
		}
	}
	_, count := r.snapshot()
	for i := range results {
		if want := map[bool]int{true: 0, false: 1}[i >= 5 && i <= 8]; count[i] != want {
			t.Errorf("item %d committed %d times, want %d", i, count[i], want)
		}
	}

	// The batcher keeps working after a failed group (the gate is open
	// now; every Add above has returned, so the loop is idle).
	r.fail = nil
	if err := b.Add(context.Background(), 99); err != nil {
		t.Errorf("Add after a failed group: %v", err)
	}
	if _, count := r.snapshot(); count[99] != 1 {
		t.Errorf("item 99 committed %d times, want 1", count[99])
	}
}

// TestCloseDrains: Close waits for queued items to commit; afterwards Add
// returns ErrClosed.
func TestCloseDrains(t *testing.T) {
	r := newRecorder().gate()
	b := New(4, r.commit)

	var wg sync.WaitGroup
	results := make([]error, 7)
	add := func(i int) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = b.Add(context.Background(), i)
		}()
	}
	add(0)
	recv(t, r.started)
	for i := 1; i < len(results); i++ {
		add(i)
		waitQueued(t, b, i)
	}

	closed := make(chan struct{})
	go func() {
		b.Close()
		close(closed)
	}()
	// Close must not return while the held commit and the queue are
	// pending: the first commit is still held, so the queue cannot drain.
	select {
	case <-closed:
		t.Fatal("Close returned before queued items were committed")
	case <-time.After(20 * time.Millisecond):
	}
	close(r.release)
	recv(t, closed)
	wg.Wait()

	for i, err := range results {
		if err != nil {
			t.Errorf("Add(%d) = %v, want nil", i, err)
		}
	}
	_, count := r.snapshot()
	for i := range results {
		if count[i] != 1 {
			t.Errorf("item %d committed %d times, want 1", i, count[i])
		}
	}

	if err := b.Add(context.Background(), 100); !errors.Is(err, ErrClosed) {
		t.Errorf("Add after Close = %v, want ErrClosed", err)
	}
	b.Close() // idempotent
	if _, count := r.snapshot(); count[100] != 0 {
		t.Error("item added after Close was committed")
	}
}

func TestAddContext(t *testing.T) {
	r := newRecorder().gate()
	const max = 2
	b := New(max, r.commit)
	defer b.Close()

	// Cancelled after queueing: Add still reports the commit's verdict.
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() { first <- b.Add(ctx, 1) }()
	if g := recv(t, r.started); !slices.Equal(g, []int{1}) {
		t.Fatalf("first group = %v", g)
	}
	cancel()

	// While the commit is held, fill the queue (capacity max*4)...
	var wg sync.WaitGroup
	for i := 0; i < max*4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.Add(context.Background(), 10+i); err != nil {
				t.Errorf("Add(%d): %v", 10+i, err)
			}
		}()
	}
	waitQueued(t, b, max*4)
	// ...then an Add whose context ends cannot queue and gives up.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel2()
	if err := b.Add(ctx2, 999); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Add with a full queue and an ending context = %v, want DeadlineExceeded", err)
	}

	close(r.release)
	if err := recv(t, first); err != nil {
		t.Errorf("Add cancelled after queueing = %v, want the commit's nil", err)
	}
	wg.Wait()
	_, count := r.snapshot()
	if count[1] != 1 {
		t.Errorf("item 1 committed %d times, want 1", count[1])
	}
	if count[999] != 0 {
		t.Error("item whose Add gave up was committed")
	}
}
