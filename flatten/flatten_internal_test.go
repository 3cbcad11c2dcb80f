package flatten

import (
	"bytes"
	"testing"
	"time"

	"github.com/leadhouse/leadhouse/schema"
)

func TestOutsizedBodyDoesNotPinItsTape(t *testing.T) {
	const notes = 70000 // more positions than UInt16 holds, and a tape past maxKeptNodes
	var body bytes.Buffer
	body.WriteString(`{"lead_id": 1, "notes": [`)
	for i := range notes {
		if i > 0 {
			body.WriteByte(',')
		}
		body.WriteString(`{}`)
	}
	body.WriteString(`]}`)
	f := New()
	var rows schema.Rows
	if err := f.Flatten(body.Bytes(), time.Now(), &rows); err != nil {
		t.Fatal(err)
	}
	if cap(f.sc.tape) != 0 {
		t.Errorf("flattener kept a tape of %d nodes", cap(f.sc.tape))
	}
	if len(rows.Notes) != notes || rows.Notes[notes-1].Position != 0xffff || rows.Notes[1000].Position != 1000 {
		t.Errorf("%d notes, last position %d: want positions to saturate at 65535", len(rows.Notes), rows.Notes[len(rows.Notes)-1].Position)
	}
	if err := f.Flatten([]byte(`{"lead_id": 2}`), time.Now(), &rows); err != nil || cap(f.sc.tape) == 0 {
		t.Errorf("small body after a large one: err %v, tape cap %d", err, cap(f.sc.tape))
	}
}

func TestDeepNestingIsNotRecursion(t *testing.T) {
	// A million open brackets would overflow a recursive parser's stack; the scanner's is a slice.
	deep := bytes.Repeat([]byte("["), 1<<20)
	body := append([]byte(`{"lead_id": 1, "x": `), deep...)
	body = append(body, bytes.Repeat([]byte("]"), 1<<20)...)
	body = append(body, '}')
	rows := new(schema.Rows)
	if err := New().Flatten(body, time.Now(), rows); err != nil {
		t.Fatal(err)
	}
	if len(rows.Lead.UnknownKeys) != 1 || rows.Lead.UnknownKeys[0] != "x" {
		t.Errorf("unknown keys %q", rows.Lead.UnknownKeys)
	}
}
