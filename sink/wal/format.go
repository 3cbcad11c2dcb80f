package wal

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"time"
)

// A frame on disk, little endian:
//
//	crc      uint32  CRC32C (Castagnoli) of length and payload
//	length   uint32  payload bytes
//	payload:
//	  kind        uint8   kindCallback
//	  received_at int64   Unix nanoseconds, UTC
//	  remote_len  uint16
//	  remote      [remote_len]byte
//	  body        [length-11-remote_len]byte
//
// An erased record (Erase, Scrub) keeps its frame's length and so every position in the log, and
// its payload becomes kindErased followed by zeros, with a checksum that verifies: it is read as
// a record that holds nothing rather than as damage.
//
// The length sits in front of the checksum's coverage start but inside it, so a frame whose length
// is intact and whose payload is damaged can be skipped exactly: reading carries on at the next frame.
const (
	headerSize   = 8
	payloadFixed = 1 + 8 + 2
	kindCallback = 1
	kindErased   = 2
	// maxFramePayload bounds a plausible length independently of Options, so records written under
	// a larger MaxRecordBytes stay readable after it is lowered.
	maxFramePayload = 1 << 30
	// maxSegmentBytes bounds Options.SegmentBytes so that every offset, a segment's size plus at
	// most one frame, stays below 2^32, which Position.Uint64 relies on.
	maxSegmentBytes = 2 << 30
	// rawRestLimit bounds how many bytes of an unframeable segment tail a CorruptionError carries.
	rawRestLimit = 1 << 20
)

// castagnoli is read-only after package initialisation.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// frameSize is the on-disk size of a record with the given remote address and body lengths.
func frameSize(remote, body int) int64 {
	return headerSize + payloadFixed + int64(remote) + int64(body)
}

// appendFrame appends the frame of one record to dst.
func appendFrame(dst []byte, receivedAt int64, remote string, body []byte) []byte {
	start := len(dst)
	n := payloadFixed + len(remote) + len(body)
	dst = binary.LittleEndian.AppendUint32(dst, 0) // checksum, patched below
	dst = binary.LittleEndian.AppendUint32(dst, uint32(n))
	dst = append(dst, kindCallback)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(receivedAt))
	dst = binary.LittleEndian.AppendUint16(dst, uint16(len(remote)))
	dst = append(dst, remote...)
	dst = append(dst, body...)
	binary.LittleEndian.PutUint32(dst[start:], crc32.Checksum(dst[start+4:], castagnoli))
	return dst
}

// erasedFrame returns the frame that replaces one whose payload is n bytes long when its record is
// erased: the same length, kindErased and zeros.
func erasedFrame(n int) []byte {
	frame := make([]byte, headerSize+n)
	binary.LittleEndian.PutUint32(frame[4:], uint32(n))
	frame[headerSize] = kindErased
	binary.LittleEndian.PutUint32(frame, crc32.Checksum(frame[4:], castagnoli))
	return frame
}

// frameChecksum is the checksum a frame with this header and payload must carry.
func frameChecksum(header, payload []byte) uint32 {
	return crc32.Update(crc32.Checksum(header[4:headerSize], castagnoli), castagnoli, payload)
}

// decodePayload splits a checksummed payload into its fields; erased reports an erased record,
// which has none, and reason is non-empty when the payload, although intact, is not a record this
// version understands.
func decodePayload(p []byte) (receivedAt int64, remote, body []byte, erased bool, reason string) {
	switch p[0] {
	case kindCallback:
	case kindErased:
		return 0, nil, nil, true, ""
	default:
		return 0, nil, nil, false, fmt.Sprintf("unknown record kind %d", p[0])
	}
	receivedAt = int64(binary.LittleEndian.Uint64(p[1:9]))
	rl := int(binary.LittleEndian.Uint16(p[9:11]))
	if rl > len(p)-payloadFixed {
		return 0, nil, nil, false, fmt.Sprintf("remote address length %d exceeds the record", rl)
	}
	return receivedAt, p[payloadFixed : payloadFixed+rl], p[payloadFixed+rl:], false, ""
}

// scanned is one item a segment scan yields. rec.Body aliases the scanner's buffer.
type scanned struct {
	rec Record
	// end is where the next frame starts: the end of this frame, or of the segment when the rest
	// of it could not be framed.
	end int64
	// intact reports that the frame's checksum verified (it may still be undecodable). A torn
	// write never yields an intact frame, so the last intact frame marks where a tail repair cuts.
	intact bool
}

// scanSegment reads the frames of segment seg from r between start and end, calling fn for
// each record and each corrupt stretch in order. buf is reused between calls to keep replay
// allocation-free per record. fn's error stops the scan and is returned as is.
func scanSegment(r io.ReaderAt, seg uint64, start, end int64, buf *[]byte, fn func(*scanned) error) error {
	if start >= end {
		return nil
	}
	br := bufio.NewReaderSize(io.NewSectionReader(r, start, end-start), 256<<10)
	var hdr [headerSize]byte
	var it scanned
	off := start
	for off < end {
		it = scanned{}
		rest := end - off
		if rest < headerSize {
			return fn(corruptRest(&it, br, seg, off, end, nil, "truncated frame header"))
		}
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return fmt.Errorf("read segment %d at offset %d: %w", seg, off, err)
		}
		n := int64(binary.LittleEndian.Uint32(hdr[4:]))
		if n < payloadFixed || n > maxFramePayload || n > rest-headerSize {
			return fn(corruptRest(&it, br, seg, off, end, hdr[:], fmt.Sprintf("implausible record length %d", n)))
		}
		if int64(cap(*buf)) < n {
			*buf = make([]byte, n)
		}
		p := (*buf)[:n]
		if _, err := io.ReadFull(br, p); err != nil {
			return fmt.Errorf("read segment %d at offset %d: %w", seg, off, err)
		}
		it.rec.Pos = Position{Segment: seg, Offset: off}
		it.end = off + headerSize + n
		if frameChecksum(hdr[:], p) != binary.LittleEndian.Uint32(hdr[:4]) {
			it.rec.Corrupt = corruptFrame(seg, off, hdr[:], p, "checksum mismatch")
		} else {
			it.intact = true
			ts, remote, body, erased, reason := decodePayload(p)
			switch {
			case reason != "":
				it.rec.Corrupt = corruptFrame(seg, off, hdr[:], p, reason)
			case erased:
				it.rec.Erased = true
			default:
				it.rec.ReceivedAt = time.Unix(0, ts).UTC()
				it.rec.Remote = string(remote)
				it.rec.Body = body
			}
		}
		if err := fn(&it); err != nil {
			return err
		}
		off = it.end
	}
	return nil
}

func corruptFrame(seg uint64, off int64, hdr, payload []byte, reason string) *CorruptionError {
	raw := make([]byte, 0, len(hdr)+len(payload))
	raw = append(append(raw, hdr...), payload...)
	return &CorruptionError{Segment: seg, Offset: off, Reason: reason, Raw: raw}
}

// corruptRest reports everything from off to the end of the segment as one unframeable stretch;
// hdr holds bytes of it already consumed from br.
func corruptRest(it *scanned, br *bufio.Reader, seg uint64, off, end int64, hdr []byte, reason string) *scanned {
	ce := &CorruptionError{Segment: seg, Offset: off, Reason: reason}
	if end-off <= rawRestLimit {
		raw := make([]byte, end-off)
		n := copy(raw, hdr)
		if _, err := io.ReadFull(br, raw[n:]); err == nil {
			ce.Raw = raw
		}
	}
	*it = scanned{rec: Record{Pos: Position{Segment: seg, Offset: off}, Corrupt: ce}, end: end}
	return it
}

// CorruptionError describes a stretch of a segment that is not a valid record: a frame whose
// checksum does not verify, an intact frame this version cannot decode, or, when the length
// itself is implausible, the whole rest of the segment. Replay carries on after it.
type CorruptionError struct {
	Segment uint64
	Offset  int64
	Reason  string
	// Raw holds the bytes as found on disk (header included) when they could be delimited:
	// always for a single frame, for the rest of a segment only up to 1 MiB. Callers can keep it
	// in a dead-letter table.
	Raw []byte
}

func (e *CorruptionError) Error() string {
	return fmt.Sprintf("wal: corrupt record in segment %d at offset %d: %s", e.Segment, e.Offset, e.Reason)
}
