package wal

import (
	"slices"
	"sync"
)

// Tracker finds the position the pipeline may Commit when records finish out of order (each
// table's batches flush on their own schedule): the highest position P such that every record
// Added at or before P is Done. Its zero value is ready to use and it is safe for concurrent use.
//
// Committable is only safe if no record below the horizon can still be Added. Options.Tracker
// makes the Log Add every appended record in position order before Append returns; Add replayed
// records from Replay's callback before accepting new appends.
type Tracker struct {
	mu      sync.Mutex
	q       []trackEntry // sorted by position; q[head:] are not yet passed by the horizon
	head    int
	horizon Position
}

type trackEntry struct {
	pos  Position
	done bool
}

// Add registers pos as entering the pipeline. Positions usually arrive in order; others are
// inserted in place. Adding a position twice has no effect. Add reports whether pos is pending:
// Added and not Done, so that no commit can pass it until it is. A position already Done (the log
// marks Done the records whose appender gave up) or behind the horizon is not, and its segment
// may be deleted by the next commit.
func (t *Tracker) Add(pos Position) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.addLocked(pos) {
		return false
	}
	i, _ := t.search(pos)
	return !t.q[i].done
}

func (t *Tracker) addAll(ps []Position) {
	t.mu.Lock()
	for _, p := range ps {
		t.addLocked(p)
	}
	t.mu.Unlock()
}

// addLocked adds pos unless it is behind the horizon, and reports whether it is in the queue.
func (t *Tracker) addLocked(pos Position) bool {
	if pos.Compare(t.horizon) <= 0 {
		return false // already Done and passed: adding it again would hold the horizon back for good
	}
	if n := len(t.q); n == t.head || t.q[n-1].pos.Compare(pos) < 0 {
		t.q = append(t.q, trackEntry{pos: pos})
		return true
	}
	i, found := t.search(pos)
	if !found {
		t.q = slices.Insert(t.q, i, trackEntry{pos: pos})
	}
	return true
}

func (t *Tracker) search(pos Position) (int, bool) {
	i, found := slices.BinarySearchFunc(t.q[t.head:], pos, func(e trackEntry, p Position) int { return e.pos.Compare(p) })
	return t.head + i, found
}

// Done marks pos as durably stored (or dead-lettered). It reports false for a position that was
// never Added or is already behind the horizon.
func (t *Tracker) Done(pos Position) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	i, found := t.search(pos)
	if !found {
		return false
	}
	t.q[i].done = true
	for t.head < len(t.q) && t.q[t.head].done {
		if p := t.q[t.head].pos; p.Compare(t.horizon) > 0 {
			t.horizon = p
		}
		t.head++
	}
	switch {
	case t.head == len(t.q):
		t.q, t.head = t.q[:0], 0
	case t.head > 1024 && t.head > len(t.q)/2:
		t.q, t.head = append(t.q[:0], t.q[t.head:]...), 0
	}
	return true
}

// Committable is the highest position P such that every record Added at or before P is Done,
// or the zero Position when there is none yet. It never moves backwards.
func (t *Tracker) Committable() Position {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.horizon
}

// Pending is how many Added records are not yet behind the horizon.
func (t *Tracker) Pending() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.q) - t.head
}
