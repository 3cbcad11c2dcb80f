package wal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// A batch note records, before a batch of records is written to the store, which records the
// batch holds. After a crash the pipeline batches those records again exactly as they were: the
// store, which knows a batch by its deduplication token, derived from its records, then drops the
// copy it already has instead of keeping it twice. The notes are a file of their own beside the
// segments ("batches"), since they are read whole at start-up and are small: a few bytes a record.
//
// Each entry is [length uint32][CRC32C uint32][payload]. The payload of a note is its kind (1),
// its number, the number of members, the first member (segment, offset) and, for each next one,
// the segment's increase and either the offset's increase (same segment) or the offset, all
// uvarints; members are sorted. Once the whole batch is stored, an entry of kind 2 with the
// note's number says so: its records then need not be written again, though the commit may not
// have passed them all yet (a record of another batch, not yet stored, can lie between them). An
// entry cut short by a crash fails its check and is ignored, as is everything after it.

const (
	batchesName     = "batches"
	batchesTempName = "batches.tmp"
	// maxNoteBytes bounds one note: a batch of a few hundred thousand records.
	maxNoteBytes = 64 << 20
	// rewriteBatchesAt is the size past which Commit rewrites the file without the notes it has
	// committed past.
	rewriteBatchesAt = 1 << 20
)

const (
	kindNote   = 1
	kindStored = 2
)

// NotedBatch is a batch noted before the log was opened: its records, sorted, and whether it was
// all stored.
type NotedBatch struct {
	ID      BatchID
	Members []Position
	Stored  bool
}

// BatchID names a noted batch, for BatchStored.
type BatchID uint64

// notes is the in-memory side of the batches file. Guarded by Log.notesMu.
type notes struct {
	f    *os.File
	size int64
	next BatchID
	// kept are the notes written or read that the commit had not passed when last looked at;
	// loaded are those that were in the file when the log was opened.
	kept   []note
	loaded []NotedBatch
}

type note struct {
	id      BatchID
	members []Position
	stored  bool
}

// NoteBatch durably records members, positions of records in this log, as one batch, before
// the batch is written to the store, and returns its number for BatchStored. The order of
// members does not matter.
func (l *Log) NoteBatch(members []Position) (BatchID, error) {
	if len(members) == 0 {
		return 0, nil
	}
	ms := slices.Clone(members)
	slices.SortFunc(ms, Position.Compare)
	ms = slices.Compact(ms)
	l.notesMu.Lock()
	defer l.notesMu.Unlock()
	id := l.notes.next
	payload := encodeNote(id, ms)
	if len(payload) > maxNoteBytes {
		return 0, fmt.Errorf("note a batch of %d records: %d bytes, over the limit of %d", len(ms), len(payload), maxNoteBytes)
	}
	if err := l.writeEntryLocked(payload); err != nil {
		return 0, fmt.Errorf("note a batch: %w", err)
	}
	l.notes.next++
	l.notes.kept = append(l.notes.kept, note{id: id, members: ms})
	return id, nil
}

// BatchStored records that the batch noted as id is stored whole: after a crash its records are
// not written again.
func (l *Log) BatchStored(id BatchID) error {
	l.notesMu.Lock()
	defer l.notesMu.Unlock()
	i := slices.IndexFunc(l.notes.kept, func(n note) bool { return n.id == id })
	if i < 0 {
		return nil // the commit passed it already
	}
	if err := l.writeEntryLocked(encodeStored(id)); err != nil {
		return fmt.Errorf("note a stored batch: %w", err)
	}
	l.notes.kept[i].stored = true
	return nil
}

// writeEntryLocked appends one entry to the batches file and fsyncs it.
func (l *Log) writeEntryLocked(payload []byte) error {
	buf := make([]byte, 8, 8+len(payload))
	binary.LittleEndian.PutUint32(buf[0:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(buf[4:], crc32.Checksum(payload, castagnoli))
	buf = append(buf, payload...)
	if l.notes.f == nil {
		f, err := os.OpenFile(filepath.Join(l.opts.Dir, batchesName), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		l.notes.f = f
		if err := syncDir(l.opts.Dir); err != nil {
			return err
		}
	}
	if _, err := l.notes.f.Write(buf); err != nil {
		// An entry cut short is ignored when read, together with what follows it: start afresh.
		_ = l.notes.f.Truncate(l.notes.size)
		return err
	}
	if err := l.notes.f.Sync(); err != nil {
		return err
	}
	l.notes.size += int64(len(buf))
	return nil
}

// NotedBatches returns the batches noted before this log was opened that the commit had not
// passed, in the order they were noted, each with its members sorted. A position may be in
// several.
func (l *Log) NotedBatches() []NotedBatch {
	l.notesMu.Lock()
	defer l.notesMu.Unlock()
	return slices.Clone(l.notes.loaded)
}

func encodeStored(id BatchID) []byte {
	return binary.AppendUvarint([]byte{kindStored}, uint64(id))
}

func encodeNote(id BatchID, ms []Position) []byte {
	b := binary.AppendUvarint([]byte{kindNote}, uint64(id))
	b = binary.AppendUvarint(b, uint64(len(ms)))
	b = binary.AppendUvarint(b, ms[0].Segment)
	b = binary.AppendUvarint(b, uint64(ms[0].Offset))
	for i := 1; i < len(ms); i++ {
		d := ms[i].Segment - ms[i-1].Segment
		b = binary.AppendUvarint(b, d)
		if d == 0 {
			b = binary.AppendUvarint(b, uint64(ms[i].Offset-ms[i-1].Offset))
		} else {
			b = binary.AppendUvarint(b, uint64(ms[i].Offset))
		}
	}
	return b
}

var errBadNote = errors.New("malformed batch note")

// decodeEntry reads an entry's payload: a note's number and members, or, with nil members, the
// number of a note whose batch is stored.
func decodeEntry(b []byte) (BatchID, []Position, error) {
	if len(b) < 2 {
		return 0, nil, errBadNote
	}
	kind := b[0]
	id, n := binary.Uvarint(b[1:])
	if n <= 0 {
		return 0, nil, errBadNote
	}
	b = b[1+n:]
	switch kind {
	case kindStored:
		if len(b) != 0 {
			return 0, nil, errBadNote
		}
		return BatchID(id), nil, nil
	case kindNote:
		ms, err := decodeMembers(b)
		return BatchID(id), ms, err
	}
	return 0, nil, errBadNote
}

func decodeMembers(b []byte) ([]Position, error) {
	next := func() (uint64, error) {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, errBadNote
		}
		b = b[n:]
		return v, nil
	}
	count, err := next()
	if err != nil || count == 0 || count > uint64(len(b)) {
		return nil, errBadNote
	}
	ms := make([]Position, 0, count)
	var p Position
	for i := range count {
		seg, err := next()
		if err != nil {
			return nil, err
		}
		off, err := next()
		if err != nil {
			return nil, err
		}
		switch {
		case i == 0:
			p = Position{Segment: seg, Offset: int64(off)}
		case seg == 0:
			p.Offset += int64(off)
		default:
			p = Position{Segment: p.Segment + seg, Offset: int64(off)}
		}
		if p.Offset < 0 {
			return nil, errBadNote
		}
		ms = append(ms, p)
	}
	if len(b) != 0 {
		return nil, errBadNote
	}
	return ms, nil
}

// readNotes reads the batches file of dir: the notes up to the first entry that is cut short or
// fails its check, with their stored marks, and how many bytes those entries take.
func readNotes(dir string) ([]note, int64, error) {
	f, err := os.Open(filepath.Join(dir, batchesName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	r := bufio.NewReader(f)
	var out []note
	var size int64
	var head [8]byte
	for {
		if _, err := io.ReadFull(r, head[:]); err != nil {
			return out, size, nil // the end, or a note cut short
		}
		n := binary.LittleEndian.Uint32(head[0:])
		if n == 0 || n > maxNoteBytes {
			return out, size, nil
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(r, payload); err != nil {
			return out, size, nil
		}
		if crc32.Checksum(payload, castagnoli) != binary.LittleEndian.Uint32(head[4:]) {
			return out, size, nil
		}
		id, ms, err := decodeEntry(payload)
		if err != nil {
			return out, size, nil
		}
		if ms == nil {
			if i := slices.IndexFunc(out, func(n note) bool { return n.id == id }); i >= 0 {
				out[i].stored = true
			}
		} else {
			out = append(out, note{id: id, members: ms})
		}
		size += 8 + int64(n)
	}
}

// loadNotes reads the notes at Open, keeping those the commit has not passed, and truncates a
// note cut short off the file.
func (l *Log) loadNotes() error {
	all, size, err := readNotes(l.opts.Dir)
	if err != nil {
		return fmt.Errorf("read batch notes: %w", err)
	}
	for _, n := range all {
		l.notes.next = max(l.notes.next, n.id+1)
		if n.members[len(n.members)-1].Compare(l.commit) > 0 {
			l.notes.kept = append(l.notes.kept, n)
			l.notes.loaded = append(l.notes.loaded, NotedBatch{ID: n.id, Members: n.members, Stored: n.stored})
		}
	}
	if fi, err := os.Stat(filepath.Join(l.opts.Dir, batchesName)); err == nil && fi.Size() != size {
		if err := os.Truncate(filepath.Join(l.opts.Dir, batchesName), size); err != nil {
			return fmt.Errorf("truncate batch notes: %w", err)
		}
	}
	l.notes.size = size
	return nil
}

// dropNotesBefore forgets the notes whose members are all at or before pos, and rewrites the
// file without them once it has grown: called by Commit.
func (l *Log) dropNotesBefore(pos Position) error {
	l.notesMu.Lock()
	defer l.notesMu.Unlock()
	kept := l.notes.kept[:0]
	for _, n := range l.notes.kept {
		if n.members[len(n.members)-1].Compare(pos) > 0 {
			kept = append(kept, n)
		}
	}
	l.notes.kept = kept
	switch {
	case len(kept) == 0 && l.notes.size == 0:
		return nil
	case len(kept) == 0:
		// Every note is passed: emptying the file needs no care, since a truncation a crash
		// undoes leaves notes that are passed and ignored.
		if err := os.Truncate(filepath.Join(l.opts.Dir, batchesName), 0); err != nil {
			return fmt.Errorf("empty batch notes: %w", err)
		}
		l.notes.size = 0
		return nil
	case l.notes.size < rewriteBatchesAt:
		return nil
	}
	// Write the notes still needed to a new file and put it in place of the old.
	var buf []byte
	entry := func(payload []byte) {
		var head [8]byte
		binary.LittleEndian.PutUint32(head[0:], uint32(len(payload)))
		binary.LittleEndian.PutUint32(head[4:], crc32.Checksum(payload, castagnoli))
		buf = append(append(buf, head[:]...), payload...)
	}
	for _, n := range kept {
		entry(encodeNote(n.id, n.members))
		if n.stored {
			entry(encodeStored(n.id))
		}
	}
	tmp := filepath.Join(l.opts.Dir, batchesTempName)
	if err := os.WriteFile(tmp, buf, 0o644); err != nil {
		return fmt.Errorf("rewrite batch notes: %w", err)
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("rewrite batch notes: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("rewrite batch notes: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(l.opts.Dir, batchesName)); err != nil {
		f.Close()
		return fmt.Errorf("rewrite batch notes: %w", err)
	}
	if err := syncDir(l.opts.Dir); err != nil {
		f.Close()
		return fmt.Errorf("rewrite batch notes: %w", err)
	}
	if l.notes.f != nil {
		l.notes.f.Close()
	}
	l.notes.f, l.notes.size = f, int64(len(buf))
	return nil
}

func (l *Log) closeNotes() {
	l.notesMu.Lock()
	defer l.notesMu.Unlock()
	if l.notes.f != nil {
		l.notes.f.Close()
		l.notes.f = nil
	}
}
