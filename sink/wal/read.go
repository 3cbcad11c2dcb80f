package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// ErrNotInLog is returned by BodyReader.Body for a position whose record the log does not hold:
// its segment was deleted by a commit or never written, or it lies past the acknowledged end.
var ErrNotInLog = errors.New("wal: no such record in the log")

// ErrErased is returned by BodyReader.Body for a record that was erased (Log.Erase, Scrub).
var ErrErased = errors.New("wal: record was erased")

// BodyReader reads the bodies of records back by position. The log is where a callback's body
// is already kept until its rows are stored, so a caller may hold positions instead of bodies and
// read them when it writes them out: the pipeline does so for the raw bodies of its batches.
// A record can be read until a commit past it deletes its segment.
//
// Records asked for in position order are served from one read-ahead buffer, a few large reads
// for a batch's bodies instead of one per record. A BodyReader is for one goroutine; Close it.
type BodyReader struct {
	log *Log
	seg uint64 // the segment f reads; 0 before the first read
	f   *os.File
	// buf holds bytes of segment seg from offset start, all of them acknowledged: bytes past the
	// acknowledged end could be cut back and written again after a failed write.
	buf   []byte
	start int64
}

// readAhead is how much a BodyReader reads at a time: a few hundred typical callbacks.
const readAhead = 1 << 20

// NewBodyReader returns a reader of the log's records.
func (l *Log) NewBodyReader() *BodyReader { return &BodyReader{log: l} }

// Body returns the body of the record at pos, which Append or Replay returned and which is not
// yet committed. The bytes are valid until the next call. A record whose checksum does not
// verify, or that is no callback, is a *CorruptionError; a position that starts no frame usually
// reads as one too.
func (r *BodyReader) Body(pos Position) ([]byte, error) {
	if pos.Segment == 0 {
		return nil, fmt.Errorf("read record at %s: %w", pos, ErrNotInLog)
	}
	hdr, err := r.bytes(pos, headerSize)
	if err != nil {
		return nil, err
	}
	n := int64(binary.LittleEndian.Uint32(hdr[4:]))
	if n < payloadFixed || n > maxFramePayload {
		return nil, &CorruptionError{Segment: pos.Segment, Offset: pos.Offset, Reason: fmt.Sprintf("implausible record length %d", n)}
	}
	frame, err := r.bytes(pos, headerSize+n)
	if err != nil {
		return nil, err
	}
	hdr, p := frame[:headerSize], frame[headerSize:]
	if frameChecksum(hdr, p) != binary.LittleEndian.Uint32(hdr[:4]) {
		return nil, corruptFrame(pos.Segment, pos.Offset, hdr, p, "checksum mismatch")
	}
	_, _, body, erased, reason := decodePayload(p)
	if reason != "" {
		return nil, corruptFrame(pos.Segment, pos.Offset, hdr, p, reason)
	}
	if erased {
		return nil, fmt.Errorf("read record at %s: %w", pos, ErrErased)
	}
	return body, nil
}

// bytes returns n bytes of the log from pos, from the buffer or after refilling it there.
func (r *BodyReader) bytes(pos Position, n int64) ([]byte, error) {
	if pos.Segment == r.seg && pos.Offset >= r.start && pos.Offset+n <= r.start+int64(len(r.buf)) {
		i := pos.Offset - r.start
		return r.buf[i : i+n], nil
	}
	if err := r.fill(pos, n); err != nil {
		return nil, fmt.Errorf("wal: read record at %s: %w", pos, err)
	}
	i := pos.Offset - r.start
	return r.buf[i : i+n], nil
}

// fill reads from pos into the buffer: at least need bytes, up to readAhead when the segment's
// acknowledged part has them.
func (r *BodyReader) fill(pos Position, need int64) error {
	acked, ok := r.log.ackedSize(pos.Segment)
	if !ok {
		return fmt.Errorf("%w: segment %d is not in it (committed, or never written)", ErrNotInLog, pos.Segment)
	}
	if pos.Offset < 0 || pos.Offset+need > acked {
		return fmt.Errorf("%w: %d bytes from offset %d pass the acknowledged end %d of its segment", ErrNotInLog, need, pos.Offset, acked)
	}
	if r.f == nil || r.seg != pos.Segment {
		_ = r.Close()
		f, err := os.Open(segmentPath(r.log.opts.Dir, pos.Segment))
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: %w", ErrNotInLog, err)
		}
		if err != nil {
			return err
		}
		r.f, r.seg = f, pos.Segment
	}
	start, want := pos.Offset, need
	size := min(max(want, readAhead), acked-start)
	if int64(cap(r.buf)) < size {
		r.buf = make([]byte, size)
	}
	r.buf = r.buf[:size]
	got, err := r.f.ReadAt(r.buf, start)
	r.buf, r.start = r.buf[:got], start
	if int64(got) < want {
		// The next read opens the segment again: a failure may be the file's, not the read's.
		_ = r.Close()
		if err == nil || errors.Is(err, io.EOF) {
			// Acknowledged bytes missing from the file: it was cut short behind the log's back.
			return fmt.Errorf("%w: segment %d ends before its acknowledged %d bytes", ErrNotInLog, pos.Segment, acked)
		}
		return err
	}
	return nil
}

// Close releases the open segment. The reader can be used again afterwards.
func (r *BodyReader) Close() error {
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f, r.seg, r.buf = nil, 0, r.buf[:0]
	return err
}

// ackedSize is how many bytes of segment seg Append has acknowledged.
func (l *Log) ackedSize(seg uint64) (int64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.segs) - 1; i >= 0; i-- {
		if l.segs[i].n == seg {
			return l.segs[i].size, true
		}
	}
	return 0, false
}
