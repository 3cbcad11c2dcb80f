package wal

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
)

func TestBodyReaderReadsEveryRecordInAnyOrder(t *testing.T) {
	l := mustOpen(t, Options{Dir: t.TempDir(), SegmentBytes: 4 << 10, Sync: SyncInterval}, hooks{})
	want := bodies(0, 300)
	// One record larger than the read-ahead, which needs a read of its own.
	want = append(want, []byte(`{"big":"`+strings.Repeat("y", readAhead+100)+`"}`))
	want = append(want, bodies(300, 320)...)
	ps := mustAppend(t, l, want...)
	if ps[len(ps)-1].Segment < 3 {
		t.Fatalf("records span %d segments, want several", ps[len(ps)-1].Segment)
	}
	orders := []struct {
		name string
		idx  func(i int) int
	}{
		{"in order", func(i int) int { return i }},
		{"reversed", func(i int) int { return len(ps) - 1 - i }},
		{"strided", func(i int) int { return (i * 7) % len(ps) }}, // 7 is prime to 321
	}
	for _, o := range orders {
		t.Run(o.name, func(t *testing.T) {
			r := l.NewBodyReader()
			defer r.Close()
			for i := range ps {
				k := o.idx(i)
				got, err := r.Body(ps[k])
				if err != nil {
					t.Fatalf("body %d at %s: %v", k, ps[k], err)
				}
				if !bytes.Equal(got, want[k]) {
					t.Fatalf("body %d at %s = %.40q..., want %.40q...", k, ps[k], got, want[k])
				}
			}
		})
	}
}

func TestBodyReaderRejectsWhatIsNoAcknowledgedRecord(t *testing.T) {
	l := mustOpen(t, Options{Dir: t.TempDir()}, hooks{})
	ps := mustAppend(t, l, bodies(0, 3)...)
	r := l.NewBodyReader()
	defer r.Close()
	for _, pos := range []Position{
		{},                           // the zero position starts nothing
		{Segment: ps[0].Segment + 1}, // a segment not written
		{Segment: ps[2].Segment, Offset: ps[2].Offset + 1_000_000}, // past the end
	} {
		if b, err := r.Body(pos); err == nil {
			t.Errorf("Body(%s) = %q, want an error", pos, b)
		}
	}
	// A position in the middle of a frame reads bytes that are no frame.
	if b, err := r.Body(Position{Segment: ps[1].Segment, Offset: ps[1].Offset + 3}); err == nil {
		t.Errorf("Body(mid-frame) = %q, want an error", b)
	}
}

func TestBodyReaderReportsCorruption(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, Options{Dir: dir}, hooks{})
	ps := mustAppend(t, l, bodies(0, 3)...)
	path := segmentPath(dir, ps[1].Segment)
	seg, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	seg[ps[1].Offset+headerSize+payloadFixed+int64(len(testRemote))+2] ^= 0x40
	if err := os.WriteFile(path, seg, 0o644); err != nil {
		t.Fatal(err)
	}
	r := l.NewBodyReader()
	defer r.Close()
	_, err = r.Body(ps[1])
	var ce *CorruptionError
	if !errors.As(err, &ce) || ce.Offset != ps[1].Offset {
		t.Fatalf("Body(flipped bit) error = %v, want a CorruptionError at offset %d", err, ps[1].Offset)
	}
	for _, i := range []int{0, 2} {
		if got, err := r.Body(ps[i]); err != nil || !bytes.Equal(got, testBody(i)) {
			t.Errorf("Body(%d) = %q, %v; want the intact record", i, got, err)
		}
	}
}

func TestBodyReaderFailsForCommittedSegments(t *testing.T) {
	l := mustOpen(t, Options{Dir: t.TempDir(), SegmentBytes: 256}, hooks{})
	ps := mustAppend(t, l, bodies(0, 40)...)
	last := ps[len(ps)-1]
	if err := l.Commit(last); err != nil {
		t.Fatal(err)
	}
	r := l.NewBodyReader()
	defer r.Close()
	if b, err := r.Body(ps[0]); err == nil {
		t.Errorf("Body of a record in a deleted segment = %q, want an error", b)
	}
}

func BenchmarkBodyReader(b *testing.B) {
	l, err := open(Options{Dir: b.TempDir(), Sync: SyncInterval}, hooks{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	body := bytes.Repeat([]byte("0123456789abcdef"), 7000/16)
	var ps []Position
	for range 4000 {
		p, err := l.Append(b.Context(), Record{Remote: testRemote, Body: body})
		if err != nil {
			b.Fatal(err)
		}
		ps = append(ps, p)
	}
	b.SetBytes(int64(len(body)))
	r := l.NewBodyReader()
	defer r.Close()
	b.ResetTimer()
	for i := range b.N {
		if _, err := r.Body(ps[i%len(ps)]); err != nil {
			b.Fatal(err)
		}
	}
}
