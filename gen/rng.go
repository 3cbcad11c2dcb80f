package gen

import "math/bits"

// rng is splitmix64: tiny, fast, and seedable from any mix of integers, which lets a
// lead's notes, calls and events be re-derived identically in every callback that
// carries them instead of being stored.
type rng struct{ s uint64 }

func mix(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// derive returns a generator whose stream depends only on its arguments.
func derive(seed uint64, parts ...uint64) rng {
	h := mix(seed + 0x9e3779b97f4a7c15)
	for _, p := range parts {
		h = mix(h ^ (p + 0x9e3779b97f4a7c15))
	}
	return rng{s: h}
}

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	return mix(r.s)
}

// intn returns a value in [0, n); n must be positive.
func (r *rng) intn(n int) int {
	hi, _ := bits.Mul64(r.next(), uint64(n))
	return int(hi)
}

// between returns a value in [lo, hi].
func (r *rng) between(lo, hi int) int {
	return lo + r.intn(hi-lo+1)
}

// per reports true with probability n/1000.
func (r *rng) per(n int) bool {
	return r.intn(1000) < n
}

// float returns a value in [0, 1).
func (r *rng) float() float64 {
	return float64(r.next()>>11) / (1 << 53)
}

// geometric returns a count with the given mean, capped at max; real CRM activity
// is mostly short with occasional long histories.
func (r *rng) geometric(mean float64, max int) int {
	p := 1 / (mean + 1)
	n := 0
	for n < max && r.float() >= p {
		n++
	}
	return n
}
