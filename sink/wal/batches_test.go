package wal

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestNotedBatchesOutliveTheProcessUntilCommitted(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, Options{Dir: dir, SegmentBytes: 4 << 10}, hooks{})
	ps := mustAppend(t, l, bodies(0, 40)...) // several segments
	first, second, third := []Position{ps[3], ps[1], ps[2], ps[0]}, slices.Clone(ps[4:30]), slices.Clone(ps[30:40])
	if _, err := l.NoteBatch(first); err != nil {
		t.Fatal(err)
	}
	if _, err := l.NoteBatch(second); err != nil {
		t.Fatal(err)
	}
	id, err := l.NoteBatch(third)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.BatchStored(id); err != nil {
		t.Fatal(err)
	}
	if err := l.Commit(ps[3]); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, Options{Dir: dir, SegmentBytes: 4 << 10}, hooks{})
	got := l.NotedBatches()
	if len(got) != 2 || !slices.Equal(got[0].Members, second) || got[0].Stored || !slices.Equal(got[1].Members, third) || !got[1].Stored {
		t.Fatalf("noted batches after committing the first: %v, want the second, then the third stored", got)
	}
	// Numbers go on from the loaded notes'.
	if id, err := l.NoteBatch(ps[35:36]); err != nil || id <= 2 {
		t.Errorf("a new note after reopening got number %d, %v", id, err)
	}
	// Once the commit passes every note, the file is emptied.
	if err := l.Commit(ps[39]); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, batchesName)); err != nil || fi.Size() != 0 {
		t.Errorf("batches file after committing everything: %v, %v; want empty", fi, err)
	}
	l.Close()
	l = mustOpen(t, Options{Dir: dir}, hooks{})
	defer l.Close()
	if got := l.NotedBatches(); len(got) != 0 {
		t.Errorf("noted batches after committing everything: %v", got)
	}
}

func TestNoteCutShortIsDropped(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, Options{Dir: dir}, hooks{})
	ps := mustAppend(t, l, bodies(0, 10)...)
	if _, err := l.NoteBatch(ps[:5]); err != nil {
		t.Fatal(err)
	}
	if _, err := l.NoteBatch(ps[5:]); err != nil {
		t.Fatal(err)
	}
	l.Close()
	name := filepath.Join(dir, batchesName)
	fi, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	// A crash in the middle of writing the second note.
	if err := os.Truncate(name, fi.Size()-3); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, Options{Dir: dir}, hooks{})
	defer l.Close()
	got := l.NotedBatches()
	if len(got) != 1 || !slices.Equal(got[0].Members, ps[:5]) {
		t.Fatalf("noted batches: %v, want the first only", got)
	}
	// The torn note is cut off, so a new one is read after the first.
	if _, err := l.NoteBatch(ps[7:9]); err != nil {
		t.Fatal(err)
	}
	all, _, err := readNotes(dir)
	if err != nil || len(all) != 2 || !slices.Equal(all[1].members, ps[7:9]) {
		t.Errorf("notes after writing past a torn one: %v, %v", all, err)
	}
}

func FuzzDecodeEntry(f *testing.F) {
	f.Add(encodeNote(7, []Position{{1, 0}, {1, 7000}, {3, 12}}))
	f.Add(encodeStored(7))
	f.Add([]byte{1, 0, 1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		id, ms, err := decodeEntry(b)
		if err != nil || ms == nil || !slices.IsSortedFunc(ms, Position.Compare) {
			return // a note leadhouse writes is sorted; others need only not panic
		}
		id2, again, err := decodeEntry(encodeNote(id, ms))
		if err != nil || id2 != id || !slices.Equal(again, ms) {
			t.Fatalf("round trip of %d %v: %d %v, %v", id, ms, id2, again, err)
		}
	})
}
