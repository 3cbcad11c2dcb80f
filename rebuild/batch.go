package rebuild

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/leadhouse/leadhouse/schema"
)

// batch collects the rows a chunk's bodies become.
type batch struct {
	rows struct {
		leads []schema.LeadUpdate
		schema.Rows
	}
	deadLetters []schema.DeadLetter
	// marks are rebuild_chunks VALUES naming the dead letters that became callbacks.
	marks []string
	// extra are rows written to new tables other than by this batch (dead letters copied).
	extra map[string]int64
}

func newBatch() *batch { return &batch{} }

// add flattens one body. A body of lead_updates that no longer flattens becomes a dead letter; a
// dead letter (dl, its id) that now flattens becomes a callback and a mark.
func (b *batch) add(o Options, arrival uint64, received time.Time, remote string, body []byte, dl string) {
	var r schema.Rows
	if err := o.Decode(body, received, &r); err != nil {
		if dl != "" {
			return // stays the dead letter it is
		}
		d := schema.DeadLetter{ReceivedAt: schema.MillisOf(received), RemoteAddr: "rebuild", Reason: o.Reason(err),
			Error: err.Error(), BodySize: uint32(len(body)), Body: string(body), Arrival: arrival}
		b.deadLetters = append(b.deadLetters, d)
		return
	}
	r.SetArrival(arrival)
	b.rows.leads = append(b.rows.leads, r.Lead)
	b.rows.Events = append(b.rows.Events, r.Events...)
	b.rows.Notes = append(b.rows.Notes, r.Notes...)
	b.rows.Calls = append(b.rows.Calls, r.Calls...)
	b.rows.Dispositions = append(b.rows.Dispositions, r.Dispositions...)
	b.rows.Transitions = append(b.rows.Transitions, r.Transitions...)
	b.rows.BookingDocs = append(b.rows.BookingDocs, r.BookingDocs...)
	if dl != "" {
		b.marks = append(b.marks, dl)
	}
}

// rowBinary reads one (UInt64, Int64, String) row of RowBinary output.
func rowBinary(data []byte) (arrival uint64, received int64, body, rest []byte, err error) {
	if len(data) < 16 {
		return 0, 0, nil, nil, errors.New("short row")
	}
	arrival = binary.LittleEndian.Uint64(data)
	received = int64(binary.LittleEndian.Uint64(data[8:]))
	body, rest, err = rowString(data[16:])
	return arrival, received, body, rest, err
}

// rowString reads one RowBinary String: a uvarint length and the bytes.
func rowString(data []byte) (s, rest []byte, err error) {
	n, k := binary.Uvarint(data)
	if k <= 0 || uint64(len(data)-k) < n {
		return nil, nil, fmt.Errorf("bad string length at %d bytes from the end", len(data))
	}
	return data[k : k+int(n)], data[k+int(n):], nil
}
