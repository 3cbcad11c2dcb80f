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
// Buffers are pooled by size class: four classes per power of two from 4 KiB up (4, 5, 6, 7,
// 8, 10, 12, 14, 16 KiB, ...), so a buffer sized to its contents (see chunkHint) wastes at most a
// fifth of itself, and a buffer grown by doubling lands exactly on a class. The pool holds at
// most limit bytes; what a full pool is given goes back to the garbage collector.
type bufferPool struct {
	limit int64

	mu   sync.Mutex
	free [numClasses][][]byte // free[c] holds buffers of capacity classCap(c)
	held int64                // bytes in free, guarded by mu
}

const (
	// minPooled is the smallest pooled capacity, 4 KiB: smaller buffers are cheap for the Go
	// allocator, and rounding every small buffer up to a class would inflate the size of small
	// generations.
	minPooled = 4 << 10
	// maxPooledExp bounds the pooled capacities below 1<<maxPooledExp, 1 GiB.
	maxPooledExp = 30
	// numClasses counts the classes: four for each power of two between 2^11 and 2^30.
	numClasses = (maxPooledExp - 11) * 4
	// alignment is Arrow's buffer alignment, which memory.GoAllocator also gives.
	alignment = 64
)

func newBufferPool(limit int64) *bufferPool { return &bufferPool{limit: limit} }

// class is the pool class of a buffer of size bytes and the capacity of that class, or -1 when
// size is not pooled. Between 2^e and 2^(e+1) the classes are 2^e plus one to four quarters of
// 2^e.
func class(size int) (c, capacity int) {
	if size < minPooled {
		return -1, size
	}
	e := bits.Len(uint(size-1)) - 1 // 2^e < size <= 2^(e+1)
	if e+1 > maxPooledExp {
		return -1, size
	}
	step := 1 << (e - 2)
	q := (size - 1<<e + step - 1) / step // 1..4
	return (e-11)*4 + q - 1, 1<<e + q*step
}

// get returns a buffer of length size whose capacity is its class size. A new buffer is zeroed,
// a reused one is not.
func (p *bufferPool) get(size int) []byte {
	c, capacity := class(size)
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
	return alignedBuffer(size, capacity)
}

// put gives b back; b must not be used afterwards.
func (p *bufferPool) put(b []byte) {
	c, capacity := class(cap(b))
	if c < 0 || cap(b) != capacity {
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
