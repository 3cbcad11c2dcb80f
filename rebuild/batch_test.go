package rebuild

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// appendRow encodes one (UInt64, Int64, String) row as the engine's RowBinary does.
func appendRow(dst []byte, arrival uint64, received int64, body []byte) []byte {
	dst = binary.LittleEndian.AppendUint64(dst, arrival)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(received))
	dst = binary.AppendUvarint(dst, uint64(len(body)))
	return append(dst, body...)
}

// FuzzRowBinary: rows the engine writes read back as written, and any other bytes are an error,
// never a panic or a read past the end.
func FuzzRowBinary(f *testing.F) {
	f.Add(uint64(1<<32), int64(1558080407000), []byte(`{"lead_id": 1}`), []byte{})
	f.Add(uint64(0), int64(-1), []byte{}, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, arrival uint64, received int64, body, junk []byte) {
		data := appendRow(nil, arrival, received, body)
		a, r, b, rest, err := rowBinary(data)
		if err != nil || a != arrival || r != received || !bytes.Equal(b, body) || len(rest) != 0 {
			t.Fatalf("row read back as %d %d %q %q %v", a, r, b, rest, err)
		}
		for cut := range data {
			if _, _, _, _, err := rowBinary(data[:cut]); err == nil && cut < len(data) {
				t.Fatalf("a row cut at %d of %d bytes read without error", cut, len(data))
			}
		}
		rowBinary(junk)
		rowString(junk)
	})
}
