package wal

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// replayed lists what Replay yields from the start, each record as its body, "erased" or
// "corrupt".
func replayed(t *testing.T, l *Log) []string {
	t.Helper()
	var got []string
	err := l.Replay(context.Background(), Position{}, func(r Record) error {
		switch {
		case r.Erased:
			got = append(got, "erased")
		case r.Corrupt != nil:
			got = append(got, "corrupt")
		default:
			got = append(got, string(r.Body))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// onDisk reports whether any segment file in dir holds b.
func onDisk(t *testing.T, dir string, b []byte) bool {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*"+segmentSuffix))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		data, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, b) {
			return true
		}
	}
	return false
}

// secret is a body no other test body contains.
func secret(i int) []byte {
	return []byte(`{"lead_id":99` + strings.Repeat("7", i) + `,"phone":"+919999999988"}`)
}

// matchSecret selects the records secret made.
func matchSecret(r Record) bool { return bytes.Contains(r.Body, []byte("+919999999988")) }

func want(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("replayed\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestEraseOverwritesCommittedRecordsInPlace(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, Options{Dir: dir}, hooks{})
	ps := mustAppend(t, l, testBody(0), secret(1), testBody(2), secret(3))
	if err := l.Commit(ps[2]); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Erase(ps[3]); err == nil {
		t.Fatal("Erase of a record not committed succeeded")
	}
	if n, err := l.Erase(ps[1]); err != nil || n != 1 {
		t.Fatalf("Erase = %d, %v; want 1 record erased", n, err)
	}
	if n, err := l.Erase(ps[1]); err != nil || n != 0 {
		t.Fatalf("Erase of an erased record = %d, %v; want 0 and no error", n, err)
	}
	if onDisk(t, dir, secret(1)) {
		t.Error("the erased record's body is still on disk")
	}
	want(t, replayed(t, l), string(testBody(0)), "erased", string(testBody(2)), string(secret(3)))
	next := mustAppend(t, l, testBody(4))[0]

	// The erased frame kept its length: positions, the commit marker and the tail are as before.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, Options{Dir: dir}, hooks{})
	if l.Committed() != ps[2] || l.Stats().TruncatedBytes != 0 {
		t.Errorf("after reopening: committed %s, truncated %d bytes; want %s and none", l.Committed(), l.Stats().TruncatedBytes, ps[2])
	}
	want(t, replayed(t, l), string(testBody(0)), "erased", string(testBody(2)), string(secret(3)), string(testBody(4)))
	if p := mustAppend(t, l, testBody(5))[0]; p.Compare(next) <= 0 {
		t.Errorf("append after reopening went to %s, before %s", p, next)
	}
}

func TestEraseOfARecordWhoseSegmentWasCommittedAwayDoesNothing(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, Options{Dir: dir, SegmentBytes: 64}, hooks{})
	ps := mustAppend(t, l, secret(1), testBody(2), testBody(3))
	if ps[2].Segment == ps[0].Segment {
		t.Fatal("records share a segment; the test needs them apart")
	}
	if err := l.Commit(ps[2]); err != nil {
		t.Fatal(err)
	}
	if n, err := l.Erase(ps[0]); err != nil || n != 0 {
		t.Errorf("Erase in a deleted segment = %d, %v; want 0 and no error", n, err)
	}
}

func TestScrubErasesEveryMatchingRecordOfALogNoneHasOpen(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, Options{Dir: dir, SegmentBytes: 200}, hooks{})
	var in [][]byte
	for i := range 12 {
		if i%3 == 1 {
			in = append(in, secret(i))
		} else {
			in = append(in, testBody(i))
		}
	}
	ps := mustAppend(t, l, in...)
	if ps[len(ps)-1].Segment < 3 {
		t.Fatalf("records span %d segments, want several", ps[len(ps)-1].Segment)
	}
	if err := l.Commit(ps[4]); err != nil { // record 4 committed, 7 and 10 not
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	res, err := Scrub(context.Background(), dir, matchSecret)
	if err != nil {
		t.Fatal(err)
	}
	// The commit deleted the segments before ps[4]'s, with the records in them.
	kept, keptCommitted := 0, 0
	for i := range in {
		if i%3 == 1 && ps[i].Segment >= ps[4].Segment {
			kept++
			if i <= 4 {
				keptCommitted++
			}
		}
	}
	if keptCommitted == 0 || kept == keptCommitted {
		t.Fatalf("positions %v: the test needs committed and uncommitted matching records on disk", ps)
	}
	if res.Erased != kept || len(res.Pending) != 0 || res.InUse || res.Unreadable != 0 {
		t.Errorf("Scrub = %+v, want the %d matching records still on disk erased and nothing else", res, kept)
	}
	for i := range in {
		if i%3 == 1 && onDisk(t, dir, in[i]) {
			t.Errorf("record %d is still on disk", i)
		}
	}
	if again, err := Scrub(context.Background(), dir, matchSecret); err != nil || again.Erased != 0 {
		t.Errorf("second Scrub = %+v, %v; want nothing erased", again, err)
	}

	// A restart replays the records after the commit, the erased ones as erased.
	l = mustOpen(t, Options{Dir: dir, SegmentBytes: 200}, hooks{})
	var got []string
	err = l.Replay(context.Background(), l.Committed(), func(r Record) error {
		if r.Erased {
			got = append(got, "erased")
		} else {
			got = append(got, string(r.Body))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want(t, got, string(in[5]), string(in[6]), "erased", string(in[8]), string(in[9]), "erased", string(in[11]))
	r := l.NewBodyReader()
	defer r.Close()
	if _, err := r.Body(ps[7]); !errors.Is(err, ErrErased) {
		t.Errorf("Body of an erased record: %v, want ErrErased", err)
	}
}

func TestScrubOfALogInUseErasesOnlyCommittedRecords(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, Options{Dir: dir}, hooks{})
	ps := mustAppend(t, l, secret(1), testBody(2), secret(3), testBody(4))
	if err := l.Commit(ps[1]); err != nil {
		t.Fatal(err)
	}
	res, err := Scrub(context.Background(), dir, matchSecret)
	if err != nil {
		t.Fatal(err)
	}
	if res.Erased != 1 || !res.InUse || len(res.Pending) != 1 || res.Pending[0] != ps[2] {
		t.Fatalf("Scrub = %+v, want record 0 erased and %s pending", res, ps[2])
	}
	// The Log still reads what it has not committed, the pending record included.
	r := l.NewBodyReader()
	defer r.Close()
	if b, err := r.Body(ps[2]); err != nil || !bytes.Equal(b, secret(3)) {
		t.Fatalf("Body of the pending record = %q, %v", b, err)
	}
	// Once it commits the pending record, the Log's process erases it.
	if err := l.Commit(ps[3]); err != nil {
		t.Fatal(err)
	}
	if n, err := l.Erase(res.Pending...); err != nil || n != 1 {
		t.Fatalf("Erase of the pending record = %d, %v", n, err)
	}
	if onDisk(t, dir, secret(1)) || onDisk(t, dir, secret(3)) {
		t.Error("an erased record is still on disk")
	}
	want(t, replayed(t, l), "erased", string(testBody(2)), "erased", string(testBody(4)))
}

func TestScrubLeavesUncommittedRecordsToALogOpenedDuringTheScan(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, Options{Dir: dir}, hooks{})
	ps := mustAppend(t, l, secret(1), testBody(2))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// A serve that starts while forget scans opens the log before Scrub takes the lock to erase
	// what is not committed: Scrub must then leave those records to it.
	var owner *Log
	res, err := Scrub(context.Background(), dir, func(r Record) bool {
		if owner == nil {
			owner = mustOpen(t, Options{Dir: dir}, hooks{})
		}
		return matchSecret(r)
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Erased != 0 || !res.InUse || len(res.Pending) != 1 || res.Pending[0] != ps[0] {
		t.Fatalf("Scrub = %+v, want %s pending and nothing erased", res, ps[0])
	}
	want(t, replayed(t, owner), string(secret(1)), string(testBody(2)))
	if err := owner.Close(); err != nil {
		t.Fatal(err)
	}
	// With nobody holding the directory, Scrub erases it and releases the lock.
	if res, err := Scrub(context.Background(), dir, matchSecret); err != nil || res.Erased != 1 || res.InUse {
		t.Fatalf("Scrub of the closed log = %+v, %v", res, err)
	}
	if onDisk(t, dir, secret(1)) {
		t.Error("the uncommitted record is still on disk")
	}
	l = mustOpen(t, Options{Dir: dir}, hooks{})
	want(t, replayed(t, l), "erased", string(testBody(2)))
}

func TestScrubCountsDamageItCannotAttribute(t *testing.T) {
	dir, ps := corruptAt(t, 5, 1<<20, 2, func(seg []byte, off int64) { seg[off+headerSize+3] ^= 0xff })
	res, err := Scrub(context.Background(), dir, matchSecret)
	if err != nil {
		t.Fatal(err)
	}
	if res.Unreadable != 1 || res.Erased != 0 {
		t.Errorf("Scrub of a log with a damaged record at %s = %+v, want 1 unreadable", ps[2], res)
	}
	// A torn tail is not damage: the next Open cuts it off.
	name := segmentPath(dir, ps[4].Segment)
	seg, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, seg[:len(seg)-3], 0o644); err != nil {
		t.Fatal(err)
	}
	if res, err := Scrub(context.Background(), dir, matchSecret); err != nil || res.Unreadable != 1 {
		t.Errorf("Scrub with a torn tail = %+v, %v; want the damaged record alone unreadable", res, err)
	}
}

func TestInUseTellsWhetherALogHasTheDirectoryOpen(t *testing.T) {
	dir := t.TempDir()
	if used, err := InUse(dir); used || err != nil {
		t.Fatalf("InUse of a directory no Log opened = %v, %v", used, err)
	}
	l := mustOpen(t, Options{Dir: dir}, hooks{})
	if used, err := InUse(dir); !used || err != nil {
		t.Fatalf("InUse of an open log = %v, %v", used, err)
	}
	l.Close()
	if used, err := InUse(dir); used || err != nil {
		t.Fatalf("InUse after Close = %v, %v", used, err)
	}
	if used, err := InUse(filepath.Join(dir, "never")); used || err != nil {
		t.Errorf("InUse of a missing directory = %v, %v", used, err)
	}
}

func TestScrubOfAMissingDirectoryFindsNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "never")
	res, err := Scrub(context.Background(), dir, matchSecret)
	if err != nil || res.Erased != 0 {
		t.Errorf("Scrub = %+v, %v", res, err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Scrub created %s", dir)
	}
}

func TestEraseOfADamagedRecordOverwritesItAndTheOthersStillGo(t *testing.T) {
	// A damaged record the pipeline left out (its raw bytes named a forgotten person) is erased
	// by position like any other, keeping its length.
	dir, ps := corruptAt(t, 5, 1<<20, 1, func(seg []byte, off int64) { seg[off+headerSize+3] ^= 0xff })
	l := mustOpen(t, Options{Dir: dir}, hooks{})
	if err := l.Commit(ps[4]); err != nil {
		t.Fatal(err)
	}
	if n, err := l.Erase(ps[1], ps[2]); err != nil || n != 2 {
		t.Fatalf("Erase of a damaged and an intact record = %d, %v", n, err)
	}
	want(t, replayed(t, l), string(testBody(0)), "erased", "erased", string(testBody(3)), string(testBody(4)))
}
