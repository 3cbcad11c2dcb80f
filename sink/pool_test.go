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
		{1, 1},           // under 4 KiB: not pooled, exactly the size asked
		{4095, 4095},     // still under
		{4096, 4096},     // the smallest class
		{4097, 5120},     // a quarter step up
		{100000, 114688}, // 64 KiB and three quarters of it
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

	b := p.get(6500)
	first := unsafe.SliceData(b)
	p.put(b)
	if p.heldBytes() != 7168 {
		t.Errorf("pool holds %d bytes after one 7 KiB buffer came back, want 7168", p.heldBytes())
	}
	again := p.get(6200)
	if unsafe.SliceData(again) != first || len(again) != 6200 {
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
	if a.n.Load() != 5120 {
		t.Errorf("holds %d bytes after allocating 5000 (class 5120), want 5120", a.n.Load())
	}
	b[4999] = 7
	b = a.Reallocate(5100, b) // fits in the capacity: same buffer, grown in place
	if a.n.Load() != 5120 || len(b) != 5100 || b[4999] != 7 {
		t.Errorf("in-place reallocate: holds %d, len %d, kept %d", a.n.Load(), len(b), b[4999])
	}
	b = a.Reallocate(20000, b) // moves to the 20 KiB class, keeping the contents
	if a.n.Load() != 20480 || len(b) != 20000 || b[4999] != 7 {
		t.Errorf("moving reallocate: holds %d, len %d, kept %d", a.n.Load(), len(b), b[4999])
	}
	a.Free(b)
	if a.n.Load() != 0 {
		t.Errorf("holds %d bytes after freeing everything", a.n.Load())
	}
}

func TestClassesAreQuarterStepsOfPowersOfTwo(t *testing.T) {
	tests := []struct{ size, class, capacity int }{
		{4095, -1, 4095},
		{4096, 3, 4096},
		{4097, 4, 5120},
		{5120, 4, 5120},
		{5121, 5, 6144},
		{8192, 7, 8192},
		{8193, 8, 10240},
		{3 << 20, 41, 3 << 20},
		{1 << 30, numClasses - 1, 1 << 30},
		{1<<30 + 1, -1, 1<<30 + 1},
	}
	for _, tt := range tests {
		c, capacity := class(tt.size)
		if c != tt.class || capacity != tt.capacity {
			t.Errorf("class(%d) = %d, %d; want %d, %d", tt.size, c, capacity, tt.class, tt.capacity)
		}
	}
	// Every class's capacity is in its own class, so put finds the class get used.
	for size := minPooled; size < 1<<22; size += 61 {
		c, capacity := class(size)
		if c2, cap2 := class(capacity); c2 != c || cap2 != capacity || capacity < size || capacity%alignment != 0 {
			t.Fatalf("size %d: class %d of capacity %d, whose own class is %d of %d", size, c, capacity, c2, cap2)
		}
	}
}
