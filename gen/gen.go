// Package gen generates realistic CRM lead callback payloads, deterministically from a seed, for benchmarks and tests.
package gen

import (
	"bufio"
	"fmt"
	"io"
)

// Options configures a Generator. The zero value is usable; every field's default is
// stated next to it and applied by New.
type Options struct {
	// Seed selects the payload sequence: the same Options always yield the same bytes.
	// Zero is a valid seed.
	Seed int64
	// Leads is how many distinct leads the callbacks are about (default 1000, at most
	// 100 million). Leads
	// are picked with a skew towards a few busy ones, so most leads get several
	// callbacks and a lead's notes, calls and events repeat, with the same ids and
	// text, in each callback that carries them.
	Leads int
	// FirstLeadID is the smallest lead id (default 1400000, at most 2^40).
	FirstLeadID int64
	// Start is the epoch second of the first callback (default 1558080407, May 2019,
	// the era of the CRM's sample; values after 2100 fall back to it). Callbacks are
	// about two seconds apart.
	Start int64
	// MaxBytes bounds a single payload (default and maximum 200 KiB, minimum 128 KiB).
	// Only the rare very long notes are shortened to respect it.
	MaxBytes int
}

const (
	defaultLeads    = 1000
	defaultFirstID  = 1400000
	defaultStart    = 1558080407
	defaultMaxBytes = 200 << 10
	minMaxBytes     = 128 << 10
	maxLeads        = 100_000_000
	maxFirstID      = 1 << 40
	maxStart        = 4102444800 // 2100-01-01: keeps ISO years at four digits
)

func (o *Options) setDefaults() {
	if o.Leads <= 0 {
		o.Leads = defaultLeads
	}
	o.Leads = min(o.Leads, maxLeads)
	if o.FirstLeadID <= 0 || o.FirstLeadID > maxFirstID {
		o.FirstLeadID = defaultFirstID
	}
	if o.Start <= 0 || o.Start > maxStart {
		o.Start = defaultStart
	}
	if o.MaxBytes <= 0 || o.MaxBytes > defaultMaxBytes {
		o.MaxBytes = defaultMaxBytes
	}
	o.MaxBytes = max(o.MaxBytes, minMaxBytes)
}

// Generator produces callback payloads. Payloads are compact JSON objects with no raw
// newlines; they are valid JSON except that a few deliberately repeat the
// extra_details key, as the CRM's own sample does. A Generator is not safe for
// concurrent use; give each goroutine its own (with different seeds).
type Generator struct {
	opts Options
	seed uint64
	r    rng
	seq  int64
	t    *texts
}

// New returns a Generator positioned at the first payload of opts' sequence.
func New(opts Options) *Generator {
	opts.setDefaults()
	return &Generator{
		opts: opts,
		seed: uint64(opts.Seed),
		r:    derive(uint64(opts.Seed), 0x5eed),
		t:    newTexts(),
	}
}

// Options returns the options in effect, defaults applied.
func (g *Generator) Options() Options { return g.opts }

// Next appends the next payload to dst and returns the extended slice. It allocates
// only when dst must grow.
func (g *Generator) Next(dst []byte) []byte {
	w := writer{b: dst, start: len(dst), r: &g.r, t: g.t, g: g}
	w.payload()
	g.seq++
	return w.b
}

// WriteNDJSON writes the next n payloads to w, one per line.
func (g *Generator) WriteNDJSON(w io.Writer, n int) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	buf := make([]byte, 0, 64<<10)
	for i := range n {
		buf = append(g.Next(buf[:0]), '\n')
		if _, err := bw.Write(buf); err != nil {
			return fmt.Errorf("write payload %d: %w", i, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("flush payloads: %w", err)
	}
	return nil
}
