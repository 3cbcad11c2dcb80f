package server

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"
)

// TestExpiringMatchesModel drives an expiring map and a plain model of it with random
// operations: the map holds exactly the model's unexpired entries, never more than its limit,
// and evicts the soonest to expire first.
func TestExpiringMatchesModel(t *testing.T) {
	const limit = 16
	rng := rand.New(rand.NewPCG(1, 2))
	e := newExpiring[int, int](limit)
	model := map[int]int64{} // key -> expiry
	var now int64
	for step := range 20000 {
		now += rng.Int64N(5)
		for k, exp := range model {
			if exp <= now {
				delete(model, k)
			}
		}
		k := rng.IntN(40)
		switch op := rng.IntN(4); {
		case op == 0: // put or extend
			exp := now + 1 + rng.Int64N(100)
			if ent, ok := e.get(k, now); ok {
				e.setExpiry(ent, exp)
			} else {
				if len(model) >= limit {
					// The model evicts the soonest to expire; ties may go either way, so it
					// follows the map's choice among them.
					soonest := slices.Min(mapValues(model))
					before := e.len()
					e.put(k, k, exp, now)
					if e.len() != before {
						t.Fatalf("step %d: full map grew to %d", step, e.len())
					}
					for mk, mexp := range model {
						if _, ok := e.m[mk]; !ok {
							if mexp != soonest {
								t.Fatalf("step %d: evicted %d expiring at %d, soonest is %d", step, mk, mexp, soonest)
							}
							delete(model, mk)
						}
					}
					model[k] = exp
					continue
				}
				e.put(k, k, exp, now)
			}
			model[k] = exp
		case op == 1: // remove
			if ent, ok := e.get(k, now); ok {
				e.remove(ent)
				e.remove(ent) // a second remove is harmless
				delete(model, k)
			}
		default: // get
			ent, ok := e.get(k, now)
			exp, want := model[k]
			if ok != want || ok && (ent.exp != exp || ent.val != k) {
				t.Fatalf("step %d: get(%d) = %v, %v; model has %d, %v", step, k, ent, ok, exp, want)
			}
		}
		e.expire(now)
		if e.len() != len(model) || e.len() > limit || len(e.h) != e.len() {
			t.Fatalf("step %d: map holds %d (heap %d), model %d, limit %d", step, e.len(), len(e.h), len(model), limit)
		}
	}
}

func mapValues(m map[int]int64) []int64 {
	var out []int64
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func TestBucketRefillsAndCaps(t *testing.T) {
	const interval, burst = float64(time.Second), 3.0
	tests := []struct {
		b    bucket
		now  int64
		want float64
	}{
		{bucket{tokens: 0, at: 0}, 0, 0},
		{bucket{tokens: 0, at: 0}, int64(time.Second / 2), 0.5},
		{bucket{tokens: 1, at: 0}, int64(time.Second), 2},
		{bucket{tokens: 2, at: 0}, int64(time.Hour), burst},
		{bucket{tokens: 1, at: int64(time.Second)}, 0, 1}, // a clock that steps back adds nothing
	}
	for _, tt := range tests {
		if got := tt.b.level(tt.now, interval, burst); got != tt.want {
			t.Errorf("%+v at %d: level %v, want %v", tt.b, tt.now, got, tt.want)
		}
	}
	if got := wait(0.25, interval); got != 750*time.Millisecond {
		t.Errorf("wait from 0.25 = %v, want 750ms", got)
	}
}

func TestRateLimiterAllowsBurstThenRate(t *testing.T) {
	l := newRateLimiter(2, 10, 3) // 10/s, bursts of 3
	var now int64
	for i := range 3 {
		if _, ok := l.take(0, now); !ok {
			t.Fatalf("request %d of the burst refused", i)
		}
	}
	d, ok := l.take(0, now)
	if ok || d != 100*time.Millisecond {
		t.Fatalf("after the burst: %v, %v; want refused for 100ms", d, ok)
	}
	if _, ok := l.take(1, now); !ok {
		t.Error("another credential was refused: buckets are per credential")
	}
	now += int64(100 * time.Millisecond)
	if _, ok := l.take(0, now); !ok {
		t.Error("refused after the wait it was told")
	}
	if _, ok := l.take(0, now); ok {
		t.Error("a second request in the same instant was allowed")
	}
	var off *rateLimiter
	if _, ok := off.take(5, now); !ok {
		t.Error("a nil limiter refused")
	}
}

func TestFailureLimiterBlocksAfterBurstAndForgets(t *testing.T) {
	const burst, interval = 3, time.Minute
	l := newFailureLimiter(burst, interval, 100)
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	var now int64
	for i := range burst {
		if _, blocked := l.blocked(a, now); blocked {
			t.Fatalf("blocked before failure %d", i+1)
		}
		l.fail(a, now)
	}
	d, blocked := l.blocked(a, now)
	if !blocked || d != interval {
		t.Fatalf("after %d failures: blocked %v for %v, want a block of %v", burst, blocked, d, interval)
	}
	if _, blocked := l.blocked(b, now); blocked {
		t.Error("another address is blocked")
	}
	now += int64(interval / 2)
	if d, _ := l.blocked(a, now); d != interval/2 {
		t.Errorf("half an interval later: wait %v, want %v", d, interval/2)
	}
	now += int64(interval / 2)
	if _, blocked := l.blocked(a, now); blocked {
		t.Fatal("still blocked after an interval")
	}
	l.fail(a, now) // the one more attempt
	if _, blocked := l.blocked(a, now); !blocked {
		t.Fatal("not blocked again after the attempt the interval allowed")
	}
	if n := l.tracked(now); n != 1 {
		t.Errorf("tracking %d addresses, want 1", n)
	}
	// Once the bucket is full again the address is forgotten: it costs no memory.
	now += int64(burst * interval)
	if n := l.tracked(now); n != 0 {
		t.Errorf("tracking %d addresses after they were forgiven, want 0", n)
	}
}

func TestFailureLimiterMemoryIsBounded(t *testing.T) {
	const limit = 50
	l := newFailureLimiter(2, time.Minute, limit)
	for i := range 10 * limit {
		l.fail(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), int64(i))
		if n := l.tracked(int64(i)); n > limit {
			t.Fatalf("tracking %d addresses, limit %d", n, limit)
		}
	}
}

func TestConcurrentFailuresStopAtEmpty(t *testing.T) {
	l := newFailureLimiter(1, time.Second, 10)
	a := netip.MustParseAddr("192.0.2.9")
	// Five requests passed blocked() together and all failed: the bucket is empty, not owed.
	for range 5 {
		l.fail(a, 0)
	}
	if d, blocked := l.blocked(a, 0); !blocked || d != time.Second {
		t.Errorf("blocked %v for %v, want one interval", blocked, d)
	}
}
