package wal

import (
	"context"
	"sync"
	"testing"
)

func TestTrackerCommittableWaitsForEarliestOutstanding(t *testing.T) {
	p := func(seg uint64, off int64) Position { return Position{seg, off} }
	type step struct {
		add, done Position
		want      Position
		pending   int
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"in order", []step{
			{add: p(1, 0), want: p(0, 0), pending: 1},
			{add: p(1, 50), want: p(0, 0), pending: 2},
			{done: p(1, 0), want: p(1, 0), pending: 1},
			{done: p(1, 50), want: p(1, 50), pending: 0},
		}},
		{"later done first", []step{
			{add: p(1, 0)}, {add: p(1, 50)}, {add: p(2, 0)},
			{done: p(2, 0), want: p(0, 0), pending: 3},
			{done: p(1, 50), want: p(0, 0), pending: 3},
			{done: p(1, 0), want: p(2, 0), pending: 0},
		}},
		{"gap in the middle", []step{
			{add: p(1, 0)}, {add: p(1, 50)}, {add: p(1, 90)},
			{done: p(1, 0), want: p(1, 0), pending: 2},
			{done: p(1, 90), want: p(1, 0), pending: 2},
			{add: p(1, 120), want: p(1, 0), pending: 3},
			{done: p(1, 50), want: p(1, 90), pending: 1},
		}},
		{"add out of order", []step{
			{add: p(1, 50)}, {add: p(1, 0)},
			{done: p(1, 50), want: p(0, 0), pending: 2},
			{done: p(1, 0), want: p(1, 50), pending: 0},
		}},
		{"duplicate add and unknown done", []step{
			{add: p(1, 0)}, {add: p(1, 0), pending: 1},
			{done: p(3, 3), want: p(0, 0), pending: 1},
			{done: p(1, 0), want: p(1, 0), pending: 0},
			{done: p(1, 0), want: p(1, 0), pending: 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tr Tracker
			for i, s := range tt.steps {
				if s.add != (Position{}) {
					tr.Add(s.add)
				} else {
					tr.Done(s.done)
				}
				if s.want == (Position{}) && s.pending == 0 && s.add != (Position{}) {
					continue // a bare Add only sets up the next steps
				}
				if got := tr.Committable(); got != s.want {
					t.Errorf("step %d: committable %v, want %v", i, got, s.want)
				}
				if got := tr.Pending(); got != s.pending {
					t.Errorf("step %d: pending %d, want %d", i, got, s.pending)
				}
			}
		})
	}
}

func TestTrackerDoneReportsUnknownPositions(t *testing.T) {
	var tr Tracker
	tr.Add(Position{1, 0})
	if tr.Done(Position{1, 1}) {
		t.Error("Done of a position never added reported true")
	}
	if !tr.Done(Position{1, 0}) {
		t.Error("Done of an added position reported false")
	}
	if tr.Done(Position{1, 0}) {
		t.Error("Done of a position behind the horizon reported true")
	}
}

func TestTrackerHandlesLongQueuesDoneInReverse(t *testing.T) {
	const n = 5000
	var tr Tracker
	for i := range n {
		tr.Add(Position{1, int64(i)})
	}
	for i := n - 1; i >= 1; i-- {
		tr.Done(Position{1, int64(i)})
	}
	if got := tr.Committable(); got != (Position{}) {
		t.Fatalf("committable %v while the first record is outstanding", got)
	}
	tr.Done(Position{1, 0})
	if got := tr.Committable(); got != (Position{1, n - 1}) || tr.Pending() != 0 {
		t.Errorf("committable %v pending %d, want 1:%d and 0", got, tr.Pending(), n-1)
	}
	// and in order, which compacts the queue as the horizon passes
	for i := range n {
		tr.Add(Position{2, int64(i)})
		if i >= 10 {
			tr.Done(Position{2, int64(i - 10)})
		}
	}
	if got := tr.Committable(); got != (Position{2, n - 11}) || tr.Pending() != 10 {
		t.Errorf("committable %v pending %d, want 2:%d and 10", got, tr.Pending(), n-11)
	}
}

func TestLogAddsAppendedPositionsToTracker(t *testing.T) {
	var tr Tracker
	l := mustOpen(t, Options{Dir: t.TempDir(), Tracker: &tr}, hooks{})
	var mu sync.Mutex
	var ps []Position
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				p, err := l.Append(context.Background(), Record{Body: testBody(g*20 + i)})
				if err != nil {
					t.Error(err)
					return
				}
				if tr.Pending() == 0 {
					t.Errorf("append of %v returned before the tracker had it", p)
				}
				mu.Lock()
				ps = append(ps, p)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if tr.Pending() != len(ps) {
		t.Fatalf("tracker holds %d positions, want %d", tr.Pending(), len(ps))
	}
	var last Position
	for _, p := range ps {
		if p.Compare(last) > 0 {
			last = p
		}
		if !tr.Done(p) {
			t.Errorf("tracker did not know %v", p)
		}
	}
	if got := tr.Committable(); got != last {
		t.Errorf("committable %v, want the last position %v", got, last)
	}
	if err := l.Commit(tr.Committable()); err != nil || l.Size() != 0 {
		t.Errorf("commit: %v, size %d", err, l.Size())
	}
}

// TestAppendGivenUpByContextIsDoneInTracker: a record whose Append returned the context's error
// was never acknowledged, so it must not hold the commit horizon back forever.
func TestAppendGivenUpByContextIsDoneInTracker(t *testing.T) {
	var tr Tracker
	var once sync.Once
	syncing, release := make(chan struct{}), make(chan struct{})
	l := mustOpen(t, Options{Dir: t.TempDir(), Tracker: &tr}, hooks{
		beforeSync: func() { once.Do(func() { close(syncing); <-release }) },
	})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := l.Append(ctx, Record{Body: testBody(0)}); errc <- err }()
	<-syncing
	cancel()
	if err := <-errc; err != context.Canceled {
		t.Fatalf("append = %v, want context.Canceled", err)
	}
	close(release)
	p := mustAppend(t, l, testBody(1))[0]
	tr.Done(p)
	if got := tr.Committable(); got != p || tr.Pending() != 0 {
		t.Errorf("committable %v pending %d, want %v and 0", got, tr.Pending(), p)
	}
}

// TestTrackerIgnoresAPositionAddedAgainAfterItWasDone: a late second Add of a finished record
// (the replayer and the log both adding it) must not hold commits back forever.
func TestTrackerIgnoresAPositionAddedAgainAfterItWasDone(t *testing.T) {
	var tr Tracker
	p1, p2 := Position{Segment: 1, Offset: 0}, Position{Segment: 1, Offset: 100}
	tr.Add(p1)
	tr.Done(p1)
	tr.Add(p1)
	tr.Add(p2)
	tr.Done(p2)
	if got := tr.Committable(); got != p2 {
		t.Errorf("Committable = %v, want %v", got, p2)
	}
	if n := tr.Pending(); n != 0 {
		t.Errorf("Pending = %d, want 0", n)
	}
}

// Add reports whether a position holds commits back: not once it is Done (the log marks Done the
// records whose appender gave up), nor behind the horizon.
func TestTrackerAddReportsWhetherThePositionIsPending(t *testing.T) {
	var tr Tracker
	p := func(off int64) Position { return Position{Segment: 1, Offset: off} }
	if !tr.Add(p(10)) || !tr.Add(p(20)) || !tr.Add(p(30)) {
		t.Fatal("fresh positions are not pending")
	}
	if !tr.Add(p(20)) {
		t.Error("a position Added twice and not Done is not pending")
	}
	tr.Done(p(20)) // gave up: Done out of order, the horizon stays before 10
	if tr.Add(p(20)) {
		t.Error("a Done position is pending")
	}
	tr.Done(p(10))
	if got := tr.Committable(); got != p(20) {
		t.Fatalf("horizon %s, want %s", got, p(20))
	}
	if tr.Add(p(5)) || tr.Add(p(20)) {
		t.Error("a position behind the horizon is pending")
	}
	if !tr.Add(p(25)) {
		t.Error("a new position between pending ones is not pending")
	}
}
