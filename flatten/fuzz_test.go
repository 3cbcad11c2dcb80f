package flatten_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/leadhouse/leadhouse/flatten"
	"github.com/leadhouse/leadhouse/schema"
)

// FuzzFlatten proves that no body makes Flatten panic, that every error is one of the typed
// outcomes, that rows always carry the delivery's meta, that the scanner accepts exactly what
// encoding/json accepts (plus its two documented allowances), and that a reused Flattener gives
// the same rows as a fresh one.
//
// Run it as go test -fuzz=FuzzFlatten -fuzzminimizetime=2s ./flatten/: the seeds are 7 KB
// callbacks, and minimizing each new input for the default minute leaves little time to fuzz.
func FuzzFlatten(f *testing.F) {
	for _, name := range []string{"seed_callback.json", "seed_callback_invalid.json", "variant_callback.json"} {
		f.Add(readFixture(f, name))
	}
	for _, s := range []string{
		`{"lead_id": 1, "lead_id": "2", "notes": [{"note_id": 1, "agent_details": {"id": 3}}], "notes": {}}`,
		`{"lead_id": "7", "extra_details": {"a": [1, {"b": null}]}, "extra_details": {"a": "x"}}`,
		`{"lead_id": 1, "status_changes": {"moved_to_new": "2019-05-21 17:15:27", "moved_to_new": null}}`,
		`{"lead_id": 1, "name": "\ud83d\ude00\u00e9\"", "calls": [1, {"id": 2.0}]}`,
		"\xef\xbb\xbf{\"lead_id\": 1}",
		`[1, 2]`, `{"lead_id": -1}`, `{"a" 1}`, ``,
	} {
		f.Add([]byte(s))
	}
	reused := flatten.New()
	f.Fuzz(func(t *testing.T, body []byte) {
		var rows schema.Rows
		err := reused.Flatten(body, receivedAt, &rows)
		var se *flatten.SyntaxError
		switch {
		case err == nil:
		case errors.As(err, &se):
			if se.Offset < 0 || se.Offset > int64(len(body)) {
				t.Fatalf("offset %d outside a %d-byte body", se.Offset, len(body))
			}
			if json.Valid(body) {
				t.Fatalf("encoding/json accepts the body we call not JSON: %v", err)
			}
			return
		case errors.Is(err, flatten.ErrNotObject), errors.Is(err, flatten.ErrNoLeadID):
			return
		default:
			t.Fatalf("untyped error %T: %v", err, err)
		}
		if !json.Valid(body) && !bytes.HasPrefix(body, []byte("\xef\xbb\xbf")) && !hasControlByte(body) {
			t.Fatal("accepted a body encoding/json rejects, without a BOM or control byte to excuse it")
		}
		checkMeta(t, body, &rows)
		for line := range bytes.Lines([]byte(rowsJSON(t, &rows))) {
			if !json.Valid(line) {
				t.Fatalf("WriteRowsJSON wrote invalid JSON: %s", line)
			}
		}
		fresh, err := flatten.Flatten(body, receivedAt)
		if err != nil {
			t.Fatalf("a fresh flatten failed where the reused one did not: %v", err)
		}
		if !reflect.DeepEqual(normalize(&rows), normalize(fresh)) {
			t.Fatalf("reused flattener differs from a fresh one:\n%+v\n%+v", rows, *fresh)
		}
	})
}

func hasControlByte(b []byte) bool {
	for _, c := range b {
		if c < 0x20 && c != ' ' && c != '\n' && c != '\r' && c != '\t' {
			return true
		}
	}
	// Whitespace bytes inside strings are control characters too; whether they sit in one is
	// the scanner's business, so any of them excuses a difference.
	return bytes.ContainsAny(b, "\n\r\t")
}

func checkMeta(t *testing.T, body []byte, rows *schema.Rows) {
	t.Helper()
	id := flatten.CallbackID(body)
	check := func(m schema.Meta) {
		if m.LeadID == 0 || m.CallbackID != id || m.ReceivedAt != schema.MillisOf(receivedAt) || m.MappingVersion != schema.MappingVersion {
			t.Fatalf("row meta %+v, want lead_id > 0 and callback_id %s", m, id)
		}
	}
	check(rows.Lead.Meta)
	for _, r := range rows.Events {
		check(r.Meta)
	}
	for _, r := range rows.Notes {
		check(r.Meta)
	}
	for _, r := range rows.Calls {
		check(r.Meta)
	}
	for _, r := range rows.Dispositions {
		check(r.Meta)
	}
	for _, r := range rows.Transitions {
		check(r.Meta)
	}
	for _, r := range rows.BookingDocs {
		check(r.Meta)
	}
	if rows.Lead.LeadID != rows.Lead.Meta.LeadID || rows.Lead.Raw != string(body) {
		t.Fatal("raw is not the body as received")
	}
}

// normalize makes empty and nil slices compare equal: a reused Rows keeps its capacity.
func normalize(r *schema.Rows) schema.Rows {
	n := *r
	n.Lead.ExtraDetails = nilIfEmpty(n.Lead.ExtraDetails)
	n.Lead.UnknownKeys = nilIfEmpty(n.Lead.UnknownKeys)
	n.Events = nilIfEmpty(n.Events)
	n.Notes = nilIfEmpty(n.Notes)
	n.Calls = nilIfEmpty(n.Calls)
	n.Dispositions = nilIfEmpty(n.Dispositions)
	n.Transitions = nilIfEmpty(n.Transitions)
	n.BookingDocs = nilIfEmpty(n.BookingDocs)
	return n
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}
