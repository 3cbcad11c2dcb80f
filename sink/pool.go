package sink

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// bufferPool keeps the Arrow buffers of flushed generations for the generations after them.
//
// Without it every generation gets its buffers fresh from the Go heap, and at full load that was
// the largest cost on the Go side of the pipeline (BENCHMARKS.md): the kernel faulting in new
// pages, the runtime and Arrow both zeroing them, and the garbage collector working through
// tens of megabytes per flush. With it a steady load reuses the same memory.
//
// Buffers are pooled by power-of-two capacity from minPooled up, which is also how Arrow's
// builders grow them, so little capacity is wasted. The pool holds at most limit bytes; what a
// full pool is given goes back to the garbage collector.
type bufferPool struct {
	limit int64

	mu   sync.Mutex
	free [maxClass + 1][][]byte // free[c] holds buffers of capacity 1<<c
	held int64                  // bytes in free, guarded by mu
}

const (
	// minClass is the smallest pooled capacity, 4 KiB: smaller buffers are cheap for the Go
	// allocator, and rounding every small buffer up to a class would inflate the size of small
	// generations.
	minClass = 12
	// maxClass is the largest pooled capacity, 1 GiB.
	maxClass = 30
	// alignment is Arrow's buffer alignment, which memory.GoAllocator also gives.
	alignment = 64
)

func newBufferPool(limit int64) *bufferPool { return &bufferPool{limit: limit} }

// class is the pool class for a buffer of size bytes, or -1 when it is not pooled.
func class(size int) int {
	if size < 1<<minClass {
		return -1
	}
	c := bits.Len(uint(size - 1))
	if c > maxClass {
		return -1
	}
	return c
}

// get returns a buffer of length size whose capacity is its class size. A new buffer is zeroed,
// a reused one is not.
func (p *bufferPool) get(size int) []byte {
	c := class(size)
	if c < 0 {
		return alignedBuffer(size, size)
	}
	p.mu.Lock()
	if n := len(p.free[c]); n > 0 {
		b := p.free[c][n-1]
		p.free[c][n-1] = nil
		p.free[c] = p.free[c][:n-1]
		p.held -= int64(cap(b))
		p.mu.Unlock()
		// Not zeroed, unlike a new Go buffer: Arrow's builders zero the bitmaps and the
		// capacity they grow into themselves, and write every value slot but a null one's,
		// which the Native encoder zeroes. Clearing megabytes here would do it again, under
		// the pipeline's lock.
		return b[:size]
	}
	p.mu.Unlock()
	return alignedBuffer(size, 1<<c)
}

// put gives b back; b must not be used afterwards.
func (p *bufferPool) put(b []byte) {
	c := class(cap(b))
	if c < 0 || cap(b) != 1<<c {
		return
	}
	p.mu.Lock()
	if p.held+int64(cap(b)) <= p.limit {
		p.free[c] = append(p.free[c], b[:0])
		p.held += int64(cap(b))
	}
	p.mu.Unlock()
}

// heldBytes is the memory the pool keeps for reuse.
func (p *bufferPool) heldBytes() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.held
}

// alignedBuffer returns a zeroed buffer of length size and capacity capacity whose first byte
// is aligned to 64 bytes.
func alignedBuffer(size, capacity int) []byte {
	buf := make([]byte, capacity+alignment)
	shift := 0
	if r := int(uintptr(unsafe.Pointer(unsafe.SliceData(buf))) % alignment); r != 0 {
		shift = alignment - r
	}
	return buf[shift : shift+size : shift+capacity]
}

// countingAllocator is the Arrow allocator of one generation: it takes buffers from the pool and
// keeps count of the bytes they hold, which is how a generation knows its size without walking
// its builders.
type countingAllocator struct {
	pool *bufferPool
	n    atomic.Int64
}

var _ memory.Allocator = (*countingAllocator)(nil)

func (a *countingAllocator) Allocate(size int) []byte {
	b := a.pool.get(size)
	a.n.Add(int64(cap(b)))
	return b
}

func (a *countingAllocator) Reallocate(size int, b []byte) []byte {
	if size <= cap(b) {
		return b[:size]
	}
	nb := a.Allocate(size)
	copy(nb, b)
	a.Free(b)
	return nb
}

func (a *countingAllocator) Free(b []byte) {
	a.n.Add(-int64(cap(b)))
	a.pool.put(b)
}
