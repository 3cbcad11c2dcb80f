package wal

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"testing"
)

// FuzzReader feeds arbitrary bytes to the segment reader as a segment file. It must never panic,
// must account for every byte exactly once, and must never yield a record whose checksum an
// independent computation does not verify.
func FuzzReader(f *testing.F) {
	var valid []byte
	for i := range 3 {
		valid = appendFrame(valid, int64(i)*1e9, testRemote, testBody(i))
	}
	f.Add([]byte{})
	f.Add(valid)
	f.Add(valid[:len(valid)-5])
	flipped := bytes.Clone(valid)
	flipped[30] ^= 0xff
	f.Add(flipped)
	f.Add(append(bytes.Clone(valid), make([]byte, 40)...))
	unknown := appendFrame(nil, 1, "", []byte("x"))
	unknown[headerSize] = 9
	binary.LittleEndian.PutUint32(unknown, crc32.Checksum(unknown[4:], crc32.MakeTable(crc32.Castagnoli)))
	f.Add(unknown)
	f.Add(append(bytes.Clone(valid[:len(valid)/2]), erasedFrame(len(testBody(5))+payloadFixed)...))

	table := crc32.MakeTable(crc32.Castagnoli)
	f.Fuzz(func(t *testing.T, data []byte) {
		var buf []byte
		var next int64
		err := scanSegment(bytes.NewReader(data), 7, 0, int64(len(data)), &buf, func(it *scanned) error {
			p := it.rec.Pos
			if p != (Position{7, next}) || it.end <= p.Offset || it.end > int64(len(data)) {
				t.Fatalf("item at %v ending at %d after %d of %d bytes", p, it.end, next, len(data))
			}
			frame := data[p.Offset:it.end]
			if c := it.rec.Corrupt; c != nil {
				if c.Segment != 7 || c.Offset != p.Offset || c.Reason == "" || (c.Raw != nil && !bytes.Equal(c.Raw, frame)) {
					t.Fatalf("corruption %+v does not describe bytes %d to %d", c, p.Offset, it.end)
				}
			} else if it.rec.Erased {
				if frame[headerSize] != kindErased || crc32.Checksum(frame[4:], table) != binary.LittleEndian.Uint32(frame) || !it.intact {
					t.Fatalf("erased record at %v is no intact erased frame", p)
				}
			} else {
				n := binary.LittleEndian.Uint32(frame[4:])
				if int(n)+headerSize != len(frame) || crc32.Checksum(frame[4:], table) != binary.LittleEndian.Uint32(frame) {
					t.Fatalf("record at %v yielded although its checksum does not verify", p)
				}
				again := appendFrame(nil, it.rec.ReceivedAt.UnixNano(), it.rec.Remote, it.rec.Body)
				if !bytes.Equal(again, frame) || !it.intact {
					t.Fatalf("record at %v does not re-encode to its frame", p)
				}
			}
			next = it.end
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if next != int64(len(data)) {
			t.Fatalf("scan stopped at %d of %d bytes", next, len(data))
		}
	})
}
