package server

import "container/heap"

// expiring is a map whose entries each expire at a time of their own, for the state the server
// keeps per client address and per webhook-id. A min-heap orders the entries by expiry, so that
// dropping the expired ones, or the one closest to expiry when the map is full, costs O(log n).
//
// Invariants: every entry is in both m and h, at h[e.i]; len(m) <= limit. Expired entries are
// dropped by the next call that passes the time (get, put), so no goroutine sweeps the map: an
// idle server keeps at most limit entries until its next request. An expiring is not safe for
// concurrent use; its owner holds a lock.
type expiring[K comparable, V any] struct {
	m     map[K]*expiringEntry[K, V]
	h     expiryHeap[K, V]
	limit int
}

type expiringEntry[K comparable, V any] struct {
	key K
	val V
	exp int64 // Unix nanoseconds; the entry is gone from then on
	i   int   // index in the heap
}

func newExpiring[K comparable, V any](limit int) *expiring[K, V] {
	return &expiring[K, V]{m: make(map[K]*expiringEntry[K, V]), limit: limit}
}

func (e *expiring[K, V]) len() int { return len(e.m) }

// expire drops the entries whose time is up at now.
func (e *expiring[K, V]) expire(now int64) {
	for len(e.h) > 0 && e.h[0].exp <= now {
		delete(e.m, heap.Pop(&e.h).(*expiringEntry[K, V]).key)
	}
}

// get returns k's entry if it has not expired at now.
func (e *expiring[K, V]) get(k K, now int64) (*expiringEntry[K, V], bool) {
	e.expire(now)
	ent, ok := e.m[k]
	return ent, ok
}

// put adds an entry for k, which must not be in the map, expiring at exp. When the map is full
// the entry closest to expiry makes room: it is the one whose loss matters least.
func (e *expiring[K, V]) put(k K, v V, exp, now int64) *expiringEntry[K, V] {
	e.expire(now)
	if len(e.m) >= e.limit && len(e.h) > 0 {
		delete(e.m, heap.Pop(&e.h).(*expiringEntry[K, V]).key)
	}
	ent := &expiringEntry[K, V]{key: k, val: v, exp: exp}
	e.m[k] = ent
	heap.Push(&e.h, ent)
	return ent
}

// setExpiry moves ent's expiry to exp.
func (e *expiring[K, V]) setExpiry(ent *expiringEntry[K, V], exp int64) {
	ent.exp = exp
	heap.Fix(&e.h, ent.i)
}

// remove drops ent, if it is still in the map.
func (e *expiring[K, V]) remove(ent *expiringEntry[K, V]) {
	if cur, ok := e.m[ent.key]; !ok || cur != ent {
		return
	}
	delete(e.m, ent.key)
	heap.Remove(&e.h, ent.i)
}

// expiryHeap implements heap.Interface, soonest expiry first.
type expiryHeap[K comparable, V any] []*expiringEntry[K, V]

func (h expiryHeap[K, V]) Len() int           { return len(h) }
func (h expiryHeap[K, V]) Less(i, j int) bool { return h[i].exp < h[j].exp }
func (h expiryHeap[K, V]) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].i, h[j].i = i, j
}

func (h *expiryHeap[K, V]) Push(x any) {
	ent := x.(*expiringEntry[K, V])
	ent.i = len(*h)
	*h = append(*h, ent)
}

func (h *expiryHeap[K, V]) Pop() any {
	old := *h
	ent := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return ent
}
