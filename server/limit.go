package server

import (
	"net/netip"
	"sync"
	"time"
)

// bucket is a token bucket: it holds at most burst tokens and gains one every interval
// nanoseconds. tokens is the count at time at (nanoseconds on the server's clock).
type bucket struct {
	tokens float64
	at     int64
}

// level returns the tokens b holds at now.
func (b bucket) level(now int64, interval, burst float64) float64 {
	elapsed := max(now-b.at, 0) // a clock that steps back adds nothing
	return min(b.tokens+float64(elapsed)/interval, burst)
}

// wait returns how long from now until a bucket at level holds a whole token.
func wait(level, interval float64) time.Duration {
	return time.Duration((1 - level) * interval)
}

// rateLimiter is the per-credential limit: one bucket per configured token or signing secret,
// so a credential, however it leaked, cannot send faster than Options.RateLimit. A nil
// *rateLimiter allows everything.
type rateLimiter struct {
	mu       sync.Mutex
	buckets  []bucket
	interval float64 // nanoseconds per token
	burst    float64
}

func newRateLimiter(credentials int, perSecond float64, burst int) *rateLimiter {
	l := &rateLimiter{buckets: make([]bucket, credentials), interval: float64(time.Second) / perSecond, burst: float64(burst)}
	for i := range l.buckets {
		l.buckets[i].tokens = l.burst
	}
	return l
}

// take spends one of credential's tokens at now, or reports how long until it has one.
func (l *rateLimiter) take(credential int, now int64) (time.Duration, bool) {
	if l == nil {
		return 0, true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := &l.buckets[credential]
	lvl := b.level(now, l.interval, l.burst)
	if lvl < 1 {
		return wait(lvl, l.interval), false
	}
	*b = bucket{tokens: lvl - 1, at: now}
	return 0, true
}

// failureLimiter slows down guessing. Every request that fails authentication takes a token
// from its address's bucket (Options.AuthFailureBurst of them, one more every
// Options.AuthFailureInterval); while the bucket is empty every request from the address is
// refused before its credentials are looked at. Refusing the right credential too is the point:
// if a blocked address could still learn that a guess was right, it could guess at line rate.
//
// An address whose bucket is full again is forgotten (its entry expires then), which loses
// nothing, so the memory is bounded by the addresses that failed recently, and by
// Options.MaxTrackedAddresses. A nil *failureLimiter blocks nothing.
type failureLimiter struct {
	mu       sync.Mutex
	m        *expiring[netip.Addr, bucket]
	interval float64 // nanoseconds per token
	burst    float64
}

func newFailureLimiter(burst int, interval time.Duration, maxAddresses int) *failureLimiter {
	return &failureLimiter{m: newExpiring[netip.Addr, bucket](maxAddresses), interval: float64(interval), burst: float64(burst)}
}

// blocked reports whether addr must wait before it may try a credential again, and how long.
func (l *failureLimiter) blocked(addr netip.Addr, now int64) (time.Duration, bool) {
	if l == nil {
		return 0, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	ent, ok := l.m.get(addr, now)
	if !ok {
		return 0, false
	}
	lvl := ent.val.level(now, l.interval, l.burst)
	if lvl >= 1 {
		return 0, false
	}
	return wait(lvl, l.interval), true
}

// fail records a failed authentication from addr at now.
func (l *failureLimiter) fail(addr netip.Addr, now int64) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	ent, ok := l.m.get(addr, now)
	lvl := l.burst
	if ok {
		lvl = ent.val.level(now, l.interval, l.burst)
	}
	// Requests that passed blocked() together can fail together: the level stops at zero.
	b := bucket{tokens: max(lvl-1, 0), at: now}
	full := now + int64((l.burst-b.tokens)*l.interval)
	if !ok {
		l.m.put(addr, b, full, now)
		return
	}
	ent.val = b
	l.m.setExpiry(ent, full)
}

// tracked returns the number of addresses the limiter remembers at now.
func (l *failureLimiter) tracked(now int64) int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.m.expire(now)
	return l.m.len()
}
