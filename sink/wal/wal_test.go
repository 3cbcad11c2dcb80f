package wal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const testRemote = "203.0.113.7:40112"

func mustOpen(t *testing.T, opts Options, h hooks) *Log {
	t.Helper()
	l, err := open(opts, h)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func testBody(i int) []byte {
	return []byte(fmt.Sprintf(`{"lead_id":%d,"note":"%s"}`, i, strings.Repeat("x", i%23)))
}

func mustAppend(t *testing.T, l *Log, bodies ...[]byte) []Position {
	t.Helper()
	var ps []Position
	for _, b := range bodies {
		p, err := l.Append(context.Background(), Record{Remote: testRemote, Body: b})
		if err != nil {
			t.Fatalf("append %q: %v", b, err)
		}
		ps = append(ps, p)
	}
	return ps
}

func bodies(from, to int) [][]byte {
	var bs [][]byte
	for i := from; i < to; i++ {
		bs = append(bs, testBody(i))
	}
	return bs
}

// item is one replayed record with its body copied, or a corruption.
type item struct {
	pos     Position
	body    string
	corrupt *CorruptionError
}

func replayAll(t *testing.T, l *Log, from Position) []item {
	t.Helper()
	var items []item
	err := l.Replay(context.Background(), from, func(r Record) error {
		items = append(items, item{pos: r.Pos, body: string(r.Body), corrupt: r.Corrupt})
		return nil
	})
	if err != nil {
		t.Fatalf("replay from %v: %v", from, err)
	}
	return items
}

// wantItems compares replayed items with the expected bodies, an empty body standing for a
// corruption at the matching position of at.
func wantBodies(t *testing.T, items []item, want ...[]byte) {
	t.Helper()
	var got []string
	for _, it := range items {
		if it.corrupt != nil {
			got = append(got, "corrupt: "+it.corrupt.Reason)
			continue
		}
		got = append(got, it.body)
	}
	var ws []string
	for _, w := range want {
		ws = append(ws, string(w))
	}
	if strings.Join(got, "\n") != strings.Join(ws, "\n") {
		t.Fatalf("replayed\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(ws, "\n"))
	}
}

func TestAppendThenReplayReturnsRecordsInOrder(t *testing.T) {
	opts := Options{Dir: t.TempDir()}
	l := mustOpen(t, opts, hooks{})
	received := time.Date(2026, 3, 1, 12, 30, 0, 123456789, time.FixedZone("MSK", 3*3600))
	var want []Record
	for i := range 10 {
		r := Record{ReceivedAt: received.Add(time.Duration(i) * time.Millisecond), Remote: fmt.Sprintf("[2001:db8::%d]:443", i), Body: testBody(i)}
		p, err := l.Append(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		r.Pos = p
		want = append(want, r)
	}
	check := func(l *Log) {
		t.Helper()
		var got []Record
		err := l.Replay(context.Background(), Position{}, func(r Record) error {
			r.Body = bytes.Clone(r.Body)
			got = append(got, r)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("replayed %d records, want %d", len(got), len(want))
		}
		for i := range want {
			g, w := got[i], want[i]
			if g.Pos != w.Pos || !g.ReceivedAt.Equal(w.ReceivedAt) || g.ReceivedAt.Location() != time.UTC ||
				g.Remote != w.Remote || !bytes.Equal(g.Body, w.Body) || g.Corrupt != nil {
				t.Errorf("record %d = %+v, want %+v in UTC", i, g, w)
			}
			if i > 0 && g.Pos.Compare(got[i-1].Pos) <= 0 {
				t.Errorf("position %v does not follow %v", g.Pos, got[i-1].Pos)
			}
		}
	}
	check(l)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	check(mustOpen(t, opts, hooks{}))
}

func TestAppendUsesCurrentTimeWhenReceivedAtIsZero(t *testing.T) {
	l := mustOpen(t, Options{Dir: t.TempDir()}, hooks{})
	before := time.Now()
	mustAppend(t, l, testBody(1))
	after := time.Now()
	err := l.Replay(context.Background(), Position{}, func(r Record) error {
		if r.ReceivedAt.Before(before) || r.ReceivedAt.After(after) {
			t.Errorf("received_at %v outside [%v, %v]", r.ReceivedAt, before, after)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRecordIsNeverSplitAcrossSegments(t *testing.T) {
	const segBytes = 1000
	opts := Options{Dir: t.TempDir(), SegmentBytes: segBytes}
	l := mustOpen(t, opts, hooks{})
	var want [][]byte
	for i := range 40 {
		b := bytes.Repeat([]byte{'a' + byte(i%26)}, 37*i%400)
		if i == 20 {
			b = bytes.Repeat([]byte{'z'}, 3*segBytes) // bigger than a segment: one of its own
		}
		p := mustAppend(t, l, b)[0]
		size := frameSize(len(testRemote), len(b))
		if p.Offset != 0 && p.Offset+size > segBytes {
			t.Errorf("record %d of %d bytes at %v crosses the %d-byte segment end", i, size, p, segBytes)
		}
		if i == 20 && p.Offset != 0 {
			t.Errorf("oversized record at %v, want a segment of its own", p)
		}
		want = append(want, b)
	}
	wantBodies(t, replayAll(t, l, Position{}), want...)
	if s := l.Stats().Segments; s < 10 {
		t.Errorf("%d segments, want the log spread over at least 10", s)
	}
}

// TestTornLastRecordIsTruncated cuts the last segment at every byte inside its last record, as a
// crash in the middle of write(2) leaves it.
func TestTornLastRecordIsTruncated(t *testing.T) {
	base := t.TempDir()
	l := mustOpen(t, Options{Dir: base}, hooks{})
	ps := mustAppend(t, l, bodies(0, 3)...)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	seg, err := os.ReadFile(segmentPath(base, ps[2].Segment))
	if err != nil {
		t.Fatal(err)
	}
	last := ps[2].Offset
	for cut := last; cut < int64(len(seg)); cut++ {
		dir := t.TempDir()
		if err := os.WriteFile(segmentPath(dir, ps[2].Segment), seg[:cut], 0o644); err != nil {
			t.Fatal(err)
		}
		l, err := Open(Options{Dir: dir})
		if err != nil {
			t.Fatalf("cut at %d: open: %v", cut, err)
		}
		wantBodies(t, replayAll(t, l, Position{}), bodies(0, 2)...)
		if got := l.Stats().TruncatedBytes; got != cut-last {
			t.Errorf("cut at %d: truncated %d bytes, want %d", cut, got, cut-last)
		}
		if p := mustAppend(t, l, []byte("after"))[0]; p != ps[2] {
			t.Errorf("cut at %d: append went to %v, want %v", cut, p, ps[2])
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		l = mustOpen(t, Options{Dir: dir}, hooks{})
		wantBodies(t, replayAll(t, l, Position{}), testBody(0), testBody(1), []byte("after"))
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// corruptAt builds a log of n records in segments of segBytes, closes it and lets damage edit
// the segment holding record k; it returns the directory and the positions.
func corruptAt(t *testing.T, n, segBytes, k int, damage func(seg []byte, off int64)) (string, []Position) {
	t.Helper()
	dir := t.TempDir()
	l := mustOpen(t, Options{Dir: dir, SegmentBytes: int64(segBytes)}, hooks{})
	ps := mustAppend(t, l, bodies(0, n)...)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	name := segmentPath(dir, ps[k].Segment)
	seg, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	damage(seg, ps[k].Offset)
	if err := os.WriteFile(name, seg, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, ps
}

func TestBitFlipInMiddleRecordIsReportedAndReadingCarriesOn(t *testing.T) {
	const n = 10
	// About 60-byte frames: 300-byte segments hold 4 or 5 records.
	tests := []struct {
		name     string
		segBytes int
		k        int
	}{
		{"middle of the only segment", 1 << 20, 4},
		{"first record of the only segment", 1 << 20, 0},
		{"middle of an earlier segment", 300, 2},
		{"last record of an earlier segment", 300, -1}, // found below
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := tt.k
			if k < 0 {
				// the record before the first one of segment 2
				dir := t.TempDir()
				l := mustOpen(t, Options{Dir: dir, SegmentBytes: int64(tt.segBytes)}, hooks{})
				ps := mustAppend(t, l, bodies(0, n)...)
				l.Close()
				for i := range ps {
					if ps[i].Segment == 2 {
						k = i - 1
						break
					}
				}
			}
			dir, ps := corruptAt(t, n, tt.segBytes, k, func(seg []byte, off int64) {
				seg[off+headerSize+payloadFixed+int64(len(testRemote))+3] ^= 0x10 // a body bit
			})
			l := mustOpen(t, Options{Dir: dir, SegmentBytes: int64(tt.segBytes)}, hooks{})
			items := replayAll(t, l, Position{})
			if len(items) != n {
				t.Fatalf("replayed %d items, want %d", len(items), n)
			}
			for i, it := range items {
				if it.pos != ps[i] {
					t.Errorf("item %d at %v, want %v", i, it.pos, ps[i])
				}
				if i != k {
					if it.corrupt != nil || it.body != string(testBody(i)) {
						t.Errorf("item %d = %q (corrupt %v), want %q", i, it.body, it.corrupt, testBody(i))
					}
					continue
				}
				c := it.corrupt
				if c == nil {
					t.Fatalf("item %d = %q, want a corruption", i, it.body)
				}
				if c.Segment != ps[k].Segment || c.Offset != ps[k].Offset || c.Reason != "checksum mismatch" {
					t.Errorf("corruption = %v, want checksum mismatch at %v", c, ps[k])
				}
				if want := frameSize(len(testRemote), len(testBody(k))); int64(len(c.Raw)) != want ||
					!bytes.Contains(c.Raw, []byte(`"note"`)) {
					t.Errorf("raw = %q, want the %d-byte frame", c.Raw, want)
				}
				var ce *CorruptionError
				if !errors.As(error(c), &ce) || !strings.Contains(c.Error(), fmt.Sprintf("segment %d at offset %d", c.Segment, c.Offset)) {
					t.Errorf("error text %q lacks segment and offset", c.Error())
				}
			}
			if got := l.Stats().TruncatedBytes; got != 0 {
				t.Errorf("truncated %d bytes of a log whose tail is intact", got)
			}
		})
	}
}

func TestImplausibleLengthInEarlierSegmentSkipsRestOfSegment(t *testing.T) {
	const n = 10
	dir, ps := corruptAt(t, n, 300, 1, func(seg []byte, off int64) {
		seg[off+7] = 0x7f // length byte 3: far past the segment end
	})
	l := mustOpen(t, Options{Dir: dir, SegmentBytes: 300}, hooks{})
	items := replayAll(t, l, Position{})
	var want []item
	want = append(want, item{pos: ps[0], body: string(testBody(0))})
	want = append(want, item{pos: ps[1]})
	for i := 2; i < n; i++ {
		if ps[i].Segment > 1 {
			want = append(want, item{pos: ps[i], body: string(testBody(i))})
		}
	}
	if len(items) != len(want) {
		t.Fatalf("replayed %d items, want %d: %+v", len(items), len(want), items)
	}
	for i := range want {
		if items[i].pos != want[i].pos || items[i].body != want[i].body || (items[i].corrupt != nil) != (i == 1) {
			t.Errorf("item %d = %+v, want %+v", i, items[i], want[i])
		}
	}
	c := items[1].corrupt
	if !strings.HasPrefix(c.Reason, "implausible record length") || c.Segment != 1 || c.Offset != ps[1].Offset {
		t.Errorf("corruption = %v", c)
	}
	// The rest of segment 1 is small, so its raw bytes come along.
	seg, _ := os.ReadFile(segmentPath(dir, 1))
	if !bytes.Equal(c.Raw, seg[ps[1].Offset:]) {
		t.Errorf("raw = %d bytes, want the %d-byte rest of the segment", len(c.Raw), len(seg)-int(ps[1].Offset))
	}
}

func TestImplausibleLengthInLastSegmentIsTruncatedAsTornTail(t *testing.T) {
	dir, ps := corruptAt(t, 6, 1<<20, 3, func(seg []byte, off int64) {
		seg[off+4], seg[off+5], seg[off+6], seg[off+7] = 0, 0, 0, 0
	})
	l := mustOpen(t, Options{Dir: dir}, hooks{})
	wantBodies(t, replayAll(t, l, Position{}), bodies(0, 3)...)
	if p := mustAppend(t, l, []byte("next"))[0]; p != ps[3] {
		t.Errorf("append after repair at %v, want %v", p, ps[3])
	}
}

func TestEmptyAndZeroLengthSegments(t *testing.T) {
	frames := func(bs ...string) []byte {
		var b []byte
		for _, s := range bs {
			b = appendFrame(b, 1, testRemote, []byte(s))
		}
		return b
	}
	tests := []struct {
		name     string
		segs     [][]byte // segment i+1
		want     []string
		appendAt Position
	}{
		{"empty directory", nil, nil, Position{1, 0}},
		{"one zero-length segment", [][]byte{{}}, nil, Position{1, 0}},
		{"zero-length segment between two", [][]byte{frames("a", "b"), {}, frames("c")}, []string{"a", "b", "c"}, Position{3, frameSize(len(testRemote), 1)}},
		{"zero-length last segment", [][]byte{frames("a"), frames("b"), {}}, []string{"a", "b"}, Position{3, 0}},
		{"several zero-length segments", [][]byte{{}, {}, frames("a"), {}, {}}, []string{"a"}, Position{5, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for i, b := range tt.segs {
				if err := os.WriteFile(segmentPath(dir, uint64(i+1)), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			l := mustOpen(t, Options{Dir: dir}, hooks{})
			var want [][]byte
			for _, s := range tt.want {
				want = append(want, []byte(s))
			}
			wantBodies(t, replayAll(t, l, Position{}), want...)
			if p := mustAppend(t, l, []byte("new"))[0]; p != tt.appendAt {
				t.Errorf("append at %v, want %v", p, tt.appendAt)
			}
			wantBodies(t, replayAll(t, l, Position{}), append(want, []byte("new"))...)
		})
	}
}

// TestReopenAfterWriteBeforeFsync simulates a crash after write(2) and before fsync by putting
// what such a crash can leave at the end of the last segment.
func TestReopenAfterWriteBeforeFsync(t *testing.T) {
	full := appendFrame(nil, 5, testRemote, []byte("unacknowledged"))
	tests := []struct {
		name     string
		tail     []byte
		want     [][]byte
		truncate int64
	}{
		{"half a frame", full[:len(full)/2], bodies(0, 3), int64(len(full) / 2)},
		{"a header alone", full[:headerSize], bodies(0, 3), headerSize},
		{"zeros where the data never landed", make([]byte, len(full)), bodies(0, 3), int64(len(full))},
		{"whole frame with its last byte lost", append(bytes.Clone(full[:len(full)-1]), 0), bodies(0, 3), int64(len(full))},
		{"a whole frame", full, append(bodies(0, 3), []byte("unacknowledged")), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			l := mustOpen(t, Options{Dir: dir}, hooks{})
			mustAppend(t, l, bodies(0, 3)...)
			l.Close()
			f, err := os.OpenFile(segmentPath(dir, 1), os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write(tt.tail)
			f.Close()

			l = mustOpen(t, Options{Dir: dir}, hooks{})
			wantBodies(t, replayAll(t, l, Position{}), tt.want...)
			if got := l.Stats().TruncatedBytes; got != tt.truncate {
				t.Errorf("truncated %d bytes, want %d", got, tt.truncate)
			}
			mustAppend(t, l, []byte("later"))
			l.Close()
			l = mustOpen(t, Options{Dir: dir}, hooks{})
			wantBodies(t, replayAll(t, l, Position{}), append(tt.want, []byte("later"))...)
		})
	}
}

// TestReopenAfterSegmentCreateBeforeDirFsync: the new segment's entry survived the crash but
// nothing was written to it.
func TestReopenAfterSegmentCreateBeforeDirFsync(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, Options{Dir: dir}, hooks{})
	mustAppend(t, l, bodies(0, 2)...)
	l.Close()
	if err := os.WriteFile(segmentPath(dir, 2), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, Options{Dir: dir}, hooks{})
	wantBodies(t, replayAll(t, l, Position{}), bodies(0, 2)...)
	if p := mustAppend(t, l, testBody(2))[0]; p != (Position{2, 0}) {
		t.Errorf("append at %v, want 2:0", p)
	}
	wantBodies(t, replayAll(t, l, Position{}), bodies(0, 3)...)
}

// TestReopenWithUnrenamedCommitMarkerKeepsOldCommit: a crash after writing commit.tmp and before
// renaming it over the marker.
func TestReopenWithUnrenamedCommitMarkerKeepsOldCommit(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, Options{Dir: dir}, hooks{})
	ps := mustAppend(t, l, bodies(0, 5)...)
	if err := l.Commit(ps[1]); err != nil {
		t.Fatal(err)
	}
	l.Close()
	for _, content := range [][]byte{nil, {1, 2, 3}, markerBytes(ps[3])} {
		if err := os.WriteFile(filepath.Join(dir, markerTempName), content, 0o644); err != nil {
			t.Fatal(err)
		}
		l = mustOpen(t, Options{Dir: dir}, hooks{})
		if got := l.Committed(); got != ps[1] {
			t.Errorf("committed %v, want %v", got, ps[1])
		}
		wantBodies(t, replayAll(t, l, l.Committed()), bodies(2, 5)...)
		if _, err := os.Stat(filepath.Join(dir, markerTempName)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("commit.tmp still there: %v", err)
		}
		l.Close()
	}
}

func markerBytes(p Position) []byte {
	dir, _ := os.MkdirTemp("", "marker")
	defer os.RemoveAll(dir)
	writeMarker(dir, p)
	b, _ := os.ReadFile(filepath.Join(dir, markerName))
	return b
}

func TestCorruptCommitMarkerFailsOpen(t *testing.T) {
	dir := t.TempDir()
	b := markerBytes(Position{1, 40})
	b[3] ^= 1
	if err := os.WriteFile(filepath.Join(dir, markerName), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if l, err := Open(Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "commit marker") {
		if l != nil {
			l.Close()
		}
		t.Fatalf("open = %v, want a corrupt commit marker error", err)
	}
}

func TestCommitDeletesOldSegmentsAndSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, SegmentBytes: 300}
	l := mustOpen(t, opts, hooks{})
	ps := mustAppend(t, l, bodies(0, 20)...)
	k := 0
	for ps[k].Segment < 3 {
		k++
	}
	k++ // the second record of segment 3
	if err := l.Commit(ps[k]); err != nil {
		t.Fatal(err)
	}
	for n := uint64(1); n <= ps[len(ps)-1].Segment; n++ {
		_, err := os.Stat(segmentPath(dir, n))
		if gone := errors.Is(err, os.ErrNotExist); gone != (n < 3) {
			t.Errorf("segment %d: stat error %v, want it deleted only if before segment 3", n, err)
		}
	}
	var backlog int64
	for i := k + 1; i < len(ps); i++ {
		backlog += frameSize(len(testRemote), len(testBody(i)))
	}
	if got := l.Size(); got != backlog {
		t.Errorf("size %d, want %d", got, backlog)
	}
	l.Close()

	l = mustOpen(t, opts, hooks{})
	if got := l.Committed(); got != ps[k] {
		t.Fatalf("committed %v after reopen, want %v", got, ps[k])
	}
	if got := l.Size(); got != backlog {
		t.Errorf("size %d after reopen, want %d", got, backlog)
	}
	wantBodies(t, replayAll(t, l, l.Committed()), bodies(k+1, 20)...)
	if got := l.Stats().Segments; got != int(ps[len(ps)-1].Segment)-2 {
		t.Errorf("%d segments, want %d", got, ps[len(ps)-1].Segment-2)
	}
}

// TestOpenDeletesSegmentsLeftBehindByCommit: a crash after the commit marker became durable and
// before the segments before it were deleted.
func TestOpenDeletesSegmentsLeftBehindByCommit(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, Options{Dir: dir, SegmentBytes: 300}, hooks{})
	ps := mustAppend(t, l, bodies(0, 12)...)
	l.Close()
	last := ps[len(ps)-1]
	if err := writeMarker(dir, last); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, Options{Dir: dir, SegmentBytes: 300}, hooks{})
	for n := uint64(1); n < last.Segment; n++ {
		if _, err := os.Stat(segmentPath(dir, n)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("segment %d survived: %v", n, err)
		}
	}
	if items := replayAll(t, l, l.Committed()); len(items) != 0 {
		t.Errorf("replayed %+v after the committed last record", items)
	}
	if got := l.Size(); got != 0 {
		t.Errorf("size %d, want 0", got)
	}
}

func TestCommitAtOrBeforeCommittedDoesNothing(t *testing.T) {
	l := mustOpen(t, Options{Dir: t.TempDir()}, hooks{})
	ps := mustAppend(t, l, bodies(0, 4)...)
	if err := l.Commit(ps[2]); err != nil {
		t.Fatal(err)
	}
	for _, p := range []Position{ps[2], ps[0], {}} {
		if err := l.Commit(p); err != nil || l.Committed() != ps[2] {
			t.Errorf("commit %v: %v, committed %v, want no-op at %v", p, err, l.Committed(), ps[2])
		}
	}
}

func TestCommitPastTheEndFails(t *testing.T) {
	l := mustOpen(t, Options{Dir: t.TempDir()}, hooks{})
	ps := mustAppend(t, l, bodies(0, 2)...)
	end := Position{ps[1].Segment, ps[1].Offset + frameSize(len(testRemote), len(testBody(1)))}
	for _, p := range []Position{end, {ps[1].Segment + 1, 0}} {
		if err := l.Commit(p); err == nil {
			t.Errorf("commit %v past the end succeeded", p)
		}
	}
	if l.Committed() != (Position{}) {
		t.Errorf("committed %v, want nothing", l.Committed())
	}
}

// TestCommittedPastLogEndStartsNewSegment: under SyncInterval a power loss can take records the
// database already stored, leaving the commit marker past the end of the log.
func TestCommittedPastLogEndStartsNewSegment(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, Options{Dir: dir}, hooks{})
	ps := mustAppend(t, l, bodies(0, 3)...)
	if err := l.Commit(ps[2]); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if err := os.Truncate(segmentPath(dir, 1), ps[1].Offset); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, Options{Dir: dir}, hooks{})
	p := mustAppend(t, l, []byte("new"))[0]
	if p.Compare(ps[2]) <= 0 {
		t.Fatalf("append at %v, not after the committed %v", p, ps[2])
	}
	wantBodies(t, replayAll(t, l, l.Committed()), []byte("new"))
}

func TestAppendReturnsErrFullWhenBacklogWouldExceedMaxBytes(t *testing.T) {
	frame := frameSize(len(testRemote), len(testBody(0)))
	l := mustOpen(t, Options{Dir: t.TempDir(), MaxBytes: 3 * frame}, hooks{})
	ps := mustAppend(t, l, testBody(0), testBody(0), testBody(0))
	if _, err := l.Append(context.Background(), Record{Remote: testRemote, Body: testBody(0)}); !errors.Is(err, ErrFull) {
		t.Fatalf("append past MaxBytes: %v, want ErrFull", err)
	}
	if got := l.Size(); got != 3*frame {
		t.Errorf("size %d, want %d", got, 3*frame)
	}
	if err := l.Commit(ps[1]); err != nil {
		t.Fatal(err)
	}
	if got := l.Size(); got != frame {
		t.Errorf("size after commit %d, want %d", got, frame)
	}
	mustAppend(t, l, testBody(0), testBody(0))
	if _, err := l.Append(context.Background(), Record{Remote: testRemote, Body: testBody(0)}); !errors.Is(err, ErrFull) {
		t.Fatalf("append past MaxBytes after commit: %v, want ErrFull", err)
	}
}

func TestAppendRejectsOversizedRecord(t *testing.T) {
	l := mustOpen(t, Options{Dir: t.TempDir(), MaxRecordBytes: 100}, hooks{})
	if _, err := l.Append(context.Background(), Record{Remote: "r", Body: make([]byte, 100)}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("101-byte record: %v, want ErrTooLarge", err)
	}
	if _, err := l.Append(context.Background(), Record{Remote: "r", Body: make([]byte, 99)}); err != nil {
		t.Errorf("100-byte record: %v", err)
	}
	if got := l.Size(); got != frameSize(1, 99) {
		t.Errorf("size %d, want only the accepted record", got)
	}
}

// TestGroupCommitSharesOneFsync holds the writer in the fsync of a first record while 31 more
// are appended: they must all go out in one write and one fsync.
func TestGroupCommitSharesOneFsync(t *testing.T) {
	const n = 32
	var once sync.Once
	syncing, release := make(chan struct{}), make(chan struct{})
	enqueued := make(chan struct{}, n)
	l := mustOpen(t, Options{Dir: t.TempDir()}, hooks{
		beforeSync: func() { once.Do(func() { close(syncing); <-release }) },
		enqueued:   func() { enqueued <- struct{}{} },
	})
	got := make([]Position, n)
	var wg sync.WaitGroup
	appendOne := func(i int) {
		defer wg.Done()
		p, err := l.Append(context.Background(), Record{Remote: testRemote, Body: testBody(i)})
		if err != nil {
			t.Errorf("append %d: %v", i, err)
		}
		got[i] = p
	}
	wg.Add(1)
	go appendOne(0)
	<-syncing
	wg.Add(n - 1)
	for i := 1; i < n; i++ {
		go appendOne(i)
	}
	for range n {
		<-enqueued
	}
	close(release)
	wg.Wait()

	if s := l.Stats(); s.Fsyncs != 2 || s.Batches != 2 || s.Records != n {
		t.Errorf("stats %+v, want %d records in 2 batches with 2 fsyncs", s, n)
	}
	byPos := map[Position]string{}
	for i, p := range got {
		byPos[p] = string(testBody(i))
	}
	items := replayAll(t, l, Position{})
	if len(items) != n || len(byPos) != n {
		t.Fatalf("replayed %d records, %d distinct positions, want %d", len(items), len(byPos), n)
	}
	for i, it := range items {
		if it.body != byPos[it.pos] {
			t.Errorf("record at %v = %q, but Append of %q returned that position", it.pos, it.body, byPos[it.pos])
		}
		if i > 0 && it.pos.Compare(items[i-1].pos) <= 0 {
			t.Errorf("replay order: %v after %v", it.pos, items[i-1].pos)
		}
	}
}

func TestConcurrentAppendsAcrossSegmentRollsAreAllReplayed(t *testing.T) {
	const goroutines, each = 8, 60
	for _, mode := range []SyncMode{SyncAlways, SyncInterval} {
		t.Run(mode.String(), func(t *testing.T) {
			dir := t.TempDir()
			opts := Options{Dir: dir, SegmentBytes: 2000, Sync: mode, SyncInterval: time.Millisecond}
			l := mustOpen(t, opts, hooks{})
			var mu sync.Mutex
			byPos := map[Position]string{}
			var wg sync.WaitGroup
			for g := range goroutines {
				wg.Go(func() {
					for i := range each {
						b := testBody(g*each + i)
						p, err := l.Append(context.Background(), Record{Remote: testRemote, Body: b})
						if err != nil {
							t.Errorf("append: %v", err)
							return
						}
						mu.Lock()
						byPos[p] = string(b)
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if s := l.Stats(); s.Records != goroutines*each || (mode == SyncAlways && s.Fsyncs > s.Records) {
				t.Errorf("stats %+v", s)
			}
			l.Close()
			l = mustOpen(t, opts, hooks{})
			items := replayAll(t, l, Position{})
			if len(items) != goroutines*each {
				t.Fatalf("replayed %d records, want %d", len(items), goroutines*each)
			}
			for i, it := range items {
				if it.corrupt != nil || byPos[it.pos] != it.body {
					t.Fatalf("record at %v = %q (%v), appended %q", it.pos, it.body, it.corrupt, byPos[it.pos])
				}
				if i > 0 && it.pos.Compare(items[i-1].pos) <= 0 {
					t.Fatalf("replay order: %v after %v", it.pos, items[i-1].pos)
				}
			}
		})
	}
}

func TestSyncAlwaysFsyncsBeforeAppendReturns(t *testing.T) {
	var mu sync.Mutex
	syncs := 0
	l := mustOpen(t, Options{Dir: t.TempDir()}, hooks{beforeSync: func() { mu.Lock(); syncs++; mu.Unlock() }})
	for i := range 3 {
		mustAppend(t, l, testBody(i))
		mu.Lock()
		if syncs < i+1 {
			t.Errorf("append %d returned after %d fsyncs", i, syncs)
		}
		mu.Unlock()
	}
}

func TestSyncIntervalAcknowledgesBeforeFsync(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, Sync: SyncInterval, SyncInterval: time.Hour}
	l := mustOpen(t, opts, hooks{})
	mustAppend(t, l, bodies(0, 3)...)
	if s := l.Stats(); s.Fsyncs != 0 || s.Records != 3 {
		t.Errorf("stats %+v, want 3 records acknowledged with no fsync", s)
	}
	wantBodies(t, replayAll(t, l, Position{}), bodies(0, 3)...)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if s := l.Stats(); s.Fsyncs != 1 {
		t.Errorf("Close did %d fsyncs, want 1", s.Fsyncs)
	}
	wantBodies(t, replayAll(t, mustOpen(t, opts, hooks{}), Position{}), bodies(0, 3)...)
}

func TestSyncIntervalFsyncsOnTick(t *testing.T) {
	synced := make(chan struct{}, 1)
	l := mustOpen(t, Options{Dir: t.TempDir(), Sync: SyncInterval, SyncInterval: time.Millisecond}, hooks{
		beforeSync: func() {
			select {
			case synced <- struct{}{}:
			default:
			}
		},
	})
	mustAppend(t, l, testBody(0))
	<-synced
}

// faults wraps segment files so a test can make the writer's system calls fail.
type faults struct {
	mu     sync.Mutex
	write  func(f *os.File, p []byte) (int, error)
	sync   error
	create error
}

func (fs *faults) hooks() hooks {
	return hooks{openSegment: func(name string, flag int) (segmentFile, error) {
		fs.mu.Lock()
		err := fs.create
		fs.create = nil
		fs.mu.Unlock()
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: name, Err: err}
		}
		f, err := os.OpenFile(name, flag, 0o644)
		if err != nil {
			return nil, err
		}
		return &faultyFile{File: f, fs: fs}, nil
	}}
}

func (fs *faults) set(f func()) {
	fs.mu.Lock()
	f()
	fs.mu.Unlock()
}

type faultyFile struct {
	*os.File
	fs *faults
}

func (f *faultyFile) Write(p []byte) (int, error) {
	f.fs.mu.Lock()
	w := f.fs.write
	f.fs.mu.Unlock()
	if w != nil {
		return w(f.File, p)
	}
	return f.File.Write(p)
}

func (f *faultyFile) Sync() error {
	f.fs.mu.Lock()
	err := f.fs.sync
	f.fs.sync = nil
	f.fs.mu.Unlock()
	if err != nil {
		return &os.PathError{Op: "sync", Path: f.Name(), Err: err}
	}
	return f.File.Sync()
}

// halfWrite writes half of p and fails like a full disk.
func halfWrite(f *os.File, p []byte) (int, error) {
	n, _ := f.Write(p[:len(p)/2])
	return n, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
}

func TestFailedWriteAcknowledgesNothingUnwritten(t *testing.T) {
	dir := t.TempDir()
	var fs faults
	l := mustOpen(t, Options{Dir: dir}, fs.hooks())
	ps := mustAppend(t, l, bodies(0, 2)...)
	fs.set(func() { fs.write = halfWrite })
	_, err := l.Append(context.Background(), Record{Remote: testRemote, Body: []byte("lost")})
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "write segment 1") {
		t.Fatalf("append on a full disk: %v, want a wrapped ENOSPC", err)
	}
	fs.set(func() { fs.write = nil })
	end := Position{1, ps[1].Offset + frameSize(len(testRemote), len(testBody(1)))}
	if p := mustAppend(t, l, testBody(2))[0]; p != end {
		t.Errorf("append after the failure at %v, want %v where the failed one began", p, end)
	}
	if s := l.Stats(); s.WriteErrors != 1 || s.Records != 3 {
		t.Errorf("stats %+v", s)
	}
	wantBodies(t, replayAll(t, l, Position{}), bodies(0, 3)...)
	l.Close()
	l = mustOpen(t, Options{Dir: dir}, hooks{})
	wantBodies(t, replayAll(t, l, Position{}), bodies(0, 3)...)
	if got := l.Stats().TruncatedBytes; got != 0 {
		t.Errorf("reopen truncated %d bytes: the failed write was left behind", got)
	}
}

// TestFailedWriteFailsRecordsQueuedBehindIt: records queued while a write fails were placed
// after the failed bytes and must fail too, or their positions would be wrong.
func TestFailedWriteFailsRecordsQueuedBehindIt(t *testing.T) {
	dir := t.TempDir()
	var fs faults
	h := fs.hooks()
	enqueued := make(chan struct{}, 4)
	h.enqueued = func() { enqueued <- struct{}{} }
	l := mustOpen(t, Options{Dir: dir}, h)
	mustAppend(t, l, testBody(0))
	<-enqueued
	writing, queued := make(chan struct{}), make(chan struct{})
	fs.set(func() {
		fs.write = func(f *os.File, p []byte) (int, error) {
			close(writing)
			<-queued
			return halfWrite(f, p)
		}
	})
	errs := make(chan error, 2)
	go func() { _, err := l.Append(context.Background(), Record{Body: []byte("failing")}); errs <- err }()
	<-writing
	fs.set(func() { fs.write = nil })
	go func() { _, err := l.Append(context.Background(), Record{Body: []byte("queued")}); errs <- err }()
	<-enqueued
	<-enqueued
	close(queued)
	for range 2 {
		if err := <-errs; !errors.Is(err, syscall.ENOSPC) {
			t.Errorf("append: %v, want ENOSPC", err)
		}
	}
	mustAppend(t, l, testBody(1))
	l.Close()
	wantBodies(t, replayAll(t, mustOpen(t, Options{Dir: dir}, hooks{}), Position{}), bodies(0, 2)...)
}

func TestFailedFsyncRollsToNewSegment(t *testing.T) {
	dir := t.TempDir()
	var fs faults
	l := mustOpen(t, Options{Dir: dir}, fs.hooks())
	mustAppend(t, l, bodies(0, 2)...)
	fs.set(func() { fs.sync = syscall.EIO })
	if _, err := l.Append(context.Background(), Record{Body: []byte("unsynced")}); !errors.Is(err, syscall.EIO) {
		t.Fatalf("append with failing fsync: %v, want EIO", err)
	}
	if p := mustAppend(t, l, testBody(2))[0]; p != (Position{2, 0}) {
		t.Errorf("append after failed fsync at %v, want a new segment 2:0", p)
	}
	wantBodies(t, replayAll(t, l, Position{}), bodies(0, 3)...)
	l.Close()
	l = mustOpen(t, Options{Dir: dir}, hooks{})
	wantBodies(t, replayAll(t, l, Position{}), bodies(0, 3)...)
}

func TestFailedSegmentCreateIsReturnedAndRetried(t *testing.T) {
	dir := t.TempDir()
	var fs faults
	fs.create = syscall.EROFS
	l := mustOpen(t, Options{Dir: dir}, fs.hooks())
	if _, err := l.Append(context.Background(), Record{Body: []byte("x")}); !errors.Is(err, syscall.EROFS) ||
		!strings.Contains(err.Error(), "create segment 1") {
		t.Fatalf("append on a read-only file system: %v, want a wrapped EROFS", err)
	}
	if p := mustAppend(t, l, testBody(0))[0]; p != (Position{1, 0}) {
		t.Errorf("append after failed create at %v, want 1:0", p)
	}
	if got := l.Size(); got != frameSize(len(testRemote), len(testBody(0))) {
		t.Errorf("size %d counts the failed record", got)
	}
}

func TestReplayReadsUpToTheEndAtCallTime(t *testing.T) {
	l := mustOpen(t, Options{Dir: t.TempDir()}, hooks{})
	mustAppend(t, l, bodies(0, 3)...)
	n := 0
	err := l.Replay(context.Background(), Position{}, func(r Record) error {
		n++
		mustAppend(t, l, testBody(10+n))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("replay saw %d records, want the 3 present when it started", n)
	}
	if items := replayAll(t, l, Position{}); len(items) != 6 {
		t.Errorf("second replay saw %d records, want 6", len(items))
	}
}

func TestReplayFromPositionStartsAfterIt(t *testing.T) {
	l := mustOpen(t, Options{Dir: t.TempDir(), SegmentBytes: 300}, hooks{})
	ps := mustAppend(t, l, bodies(0, 12)...)
	for k := range ps {
		wantBodies(t, replayAll(t, l, ps[k]), bodies(k+1, 12)...)
	}
	wantBodies(t, replayAll(t, l, Position{}), bodies(0, 12)...)
}

func TestReplayStopsWithCallbackError(t *testing.T) {
	l := mustOpen(t, Options{Dir: t.TempDir()}, hooks{})
	mustAppend(t, l, bodies(0, 3)...)
	stop := errors.New("stop")
	n := 0
	if err := l.Replay(context.Background(), Position{}, func(Record) error { n++; return stop }); err != stop || n != 1 {
		t.Errorf("replay = %v after %d records, want stop after 1", err, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Replay(ctx, Position{}, func(Record) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("replay with cancelled context = %v", err)
	}
}

func TestMissingSegmentIsReported(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, Options{Dir: dir, SegmentBytes: 300}, hooks{})
	ps := mustAppend(t, l, bodies(0, 15)...)
	l.Close()
	if err := os.Remove(segmentPath(dir, 2)); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, Options{Dir: dir, SegmentBytes: 300}, hooks{})
	var want []string
	reported := false
	for i, p := range ps {
		switch {
		case p.Segment != 2:
			want = append(want, string(testBody(i)))
		case !reported:
			want = append(want, "corrupt: segments 2 to 2 are missing")
			reported = true
		}
	}
	var got []string
	for _, it := range replayAll(t, l, Position{}) {
		if it.corrupt != nil {
			got = append(got, "corrupt: "+it.corrupt.Reason)
			if it.pos != (Position{2, 0}) || it.corrupt.Segment != 2 {
				t.Errorf("missing segment reported at %v", it.pos)
			}
			continue
		}
		got = append(got, it.body)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("replayed\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestSecondOpenOfSameDirectoryFails(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, Options{Dir: dir}, hooks{})
	if l2, err := Open(Options{Dir: dir}); err == nil {
		l2.Close()
		t.Fatal("second Open of a directory in use succeeded")
	}
	l.Close()
	l2, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatalf("open after close: %v", err)
	}
	l2.Close()
}

func TestClosedLogRejectsCalls(t *testing.T) {
	l := mustOpen(t, Options{Dir: t.TempDir()}, hooks{})
	ps := mustAppend(t, l, testBody(0))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	if _, err := l.Append(context.Background(), Record{Body: testBody(1)}); !errors.Is(err, ErrClosed) {
		t.Errorf("append: %v", err)
	}
	if err := l.Commit(ps[0]); !errors.Is(err, ErrClosed) {
		t.Errorf("commit: %v", err)
	}
	if err := l.Replay(context.Background(), Position{}, func(Record) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Errorf("replay: %v", err)
	}
}

func TestOptionsDefaultsAndValidation(t *testing.T) {
	o := Options{Dir: "d"}
	if err := o.setDefaults(); err != nil {
		t.Fatal(err)
	}
	want := Options{Dir: "d", SegmentBytes: 64 << 20, Sync: SyncAlways, SyncInterval: 100 * time.Millisecond, MaxBytes: 4 << 30, MaxRecordBytes: 8 << 20}
	if o != want {
		t.Errorf("defaults %+v, want %+v", o, want)
	}
	for _, bad := range []Options{{}, {Dir: "d", SegmentBytes: -1}, {Dir: "d", MaxRecordBytes: 1 << 30}, {Dir: "d", Sync: 7}} {
		if err := bad.setDefaults(); err == nil {
			t.Errorf("options %+v accepted", bad)
		}
	}
}

func TestSyncModeUnmarshalText(t *testing.T) {
	for _, s := range []string{"always", "interval"} {
		var m SyncMode
		if err := m.UnmarshalText([]byte(s)); err != nil || m.String() != s {
			t.Errorf("%q parsed as %v, %v", s, m, err)
		}
	}
	var m SyncMode
	if err := m.UnmarshalText([]byte("sometimes")); err == nil {
		t.Error("unknown mode accepted")
	}
}
