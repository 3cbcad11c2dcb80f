package sink

import (
	"testing"
	"unsafe"
)

func TestBufferPoolReusesBuffersByClass(t *testing.T) {
	p := newBufferPool(1 << 20)
	tests := []struct {
		size, cap int
	}{
		{1, 1},       // under 4 KiB: not pooled, exactly the size asked
		{4095, 4095}, // still under
		{4096, 4096}, // the smallest class
		{4097, 8192}, // rounded up to the next power of two
		{100000, 1 << 17},
	}
	for _, tt := range tests {
		b := p.get(tt.size)
		if len(b) != tt.size || cap(b) != tt.cap {
			t.Errorf("get(%d): len %d cap %d, want len %d cap %d", tt.size, len(b), cap(b), tt.size, tt.cap)
		}
		if addr := uintptr(unsafe.Pointer(unsafe.SliceData(b))); addr%alignment != 0 {
			t.Errorf("get(%d) is at %#x, not aligned to %d bytes", tt.size, addr, alignment)
		}
	}

	b := p.get(5000)
	for i := range b {
		b[i] = 0xff
	}
	first := unsafe.SliceData(b)
	p.put(b)
	if p.heldBytes() != 8192 {
		t.Errorf("pool holds %d bytes after one 8 KiB buffer came back, want 8192", p.heldBytes())
	}
	again := p.get(6000)
	if unsafe.SliceData(again) != first || len(again) != 6000 {
		t.Error("a buffer of the same class was not reused")
	}
	if p.heldBytes() != 0 {
		t.Errorf("pool holds %d bytes after handing its only buffer out, want 0", p.heldBytes())
	}
}

func TestBufferPoolKeepsAtMostItsLimit(t *testing.T) {
	p := newBufferPool(3 * 4096)
	var bufs [][]byte
	for range 5 {
		bufs = append(bufs, p.get(4096))
	}
	for _, b := range bufs {
		p.put(b)
	}
	if got := p.heldBytes(); got != 3*4096 {
		t.Errorf("pool holds %d bytes, want its limit %d", got, 3*4096)
	}
	p.put(make([]byte, 10, 5000)) // not a class size: not kept
	if got := p.heldBytes(); got != 3*4096 {
		t.Errorf("pool holds %d bytes after an odd-sized buffer, want %d", got, 3*4096)
	}
}

func TestCountingAllocatorCountsWhatItHolds(t *testing.T) {
	a := &countingAllocator{pool: newBufferPool(1 << 20)}
	b := a.Allocate(5000)
	if a.n.Load() != 8192 {
		t.Errorf("holds %d bytes after allocating 5000 (class 8192), want 8192", a.n.Load())
	}
	b[4999] = 7
	b = a.Reallocate(7000, b) // fits in the capacity: same buffer, grown in place
	if a.n.Load() != 8192 || len(b) != 7000 || b[4999] != 7 {
		t.Errorf("in-place reallocate: holds %d, len %d, kept %d", a.n.Load(), len(b), b[4999])
	}
	b = a.Reallocate(20000, b) // moves to the 32 KiB class, keeping the contents
	if a.n.Load() != 32768 || len(b) != 20000 || b[4999] != 7 {
		t.Errorf("moving reallocate: holds %d, len %d, kept %d", a.n.Load(), len(b), b[4999])
	}
	a.Free(b)
	if a.n.Load() != 0 {
		t.Errorf("holds %d bytes after freeing everything", a.n.Load())
	}
}
