package flatten_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leadhouse/leadhouse/flatten"
	"github.com/leadhouse/leadhouse/schema"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// receivedAt is the arrival time every test uses, so golden files do not depend on the clock.
var receivedAt = time.Date(2019, 5, 21, 12, 0, 0, 123e6, time.UTC)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func rowsJSON(t testing.TB, rows *schema.Rows) string {
	t.Helper()
	var buf bytes.Buffer
	if err := flatten.WriteRowsJSON(&buf, rows); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestGoldenFixtures(t *testing.T) {
	for _, name := range []string{"seed_callback", "variant_callback"} {
		t.Run(name, func(t *testing.T) {
			body := readFixture(t, name+".json")
			var rows schema.Rows
			if err := flatten.New().Flatten(body, receivedAt, &rows); err != nil {
				t.Fatal(err)
			}
			got := rowsJSON(t, &rows)
			golden := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("rows differ from %s (run go test -update and review the diff):\n%s", golden, firstDiff(got, string(want)))
			}
		})
	}
}

// firstDiff shows where got and want first differ: the line, and 60 bytes either side.
func firstDiff(got, want string) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	line := strings.Count(got[:i], "\n") + 1
	cut := func(s string) string { return s[max(0, i-60):min(len(s), i+60)] }
	return "line " + strconv.Itoa(line) + ":\ngot:  ..." + cut(got) + "...\nwant: ..." + cut(want) + "..."
}

func TestSeedFixtureShape(t *testing.T) {
	rows, err := flatten.Flatten(readFixture(t, "seed_callback.json"), receivedAt)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{
		"events": len(rows.Events), "notes": len(rows.Notes), "calls": len(rows.Calls),
		"dispositions": len(rows.Dispositions), "transitions": len(rows.Transitions), "booking_docs": len(rows.BookingDocs),
		"extra_details": len(rows.Lead.ExtraDetails),
	}
	want := map[string]int{
		"events": 2, "notes": 7, "calls": 1, "dispositions": 1, "transitions": 12, "booking_docs": 2,
		// 2 keys in the first extra_details object, 20 in the second, referral_data in both.
		"extra_details": 21,
	}
	for k, w := range want {
		if counts[k] != w {
			t.Errorf("%s: got %d rows, want %d", k, counts[k], w)
		}
	}
	if rows.Count() != 1+2+7+1+1+12+2 {
		t.Errorf("Count() = %d", rows.Count())
	}
}

func TestInvalidSampleReportsOffsetOfMissingColon(t *testing.T) {
	body := readFixture(t, "seed_callback_invalid.json")
	want := int64(bytes.Index(body, []byte(`"agent_name" "Tanvi`)) + len(`"agent_name" `))
	_, err := flatten.Flatten(body, receivedAt)
	if !errors.Is(err, flatten.ErrNotJSON) {
		t.Fatalf("got %v, want ErrNotJSON", err)
	}
	var se *flatten.SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("got %T, want *SyntaxError", err)
	}
	if se.Offset != want {
		t.Errorf("offset %d, want %d (the byte where ':' belongs)", se.Offset, want)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "not JSON at byte "+strconv.FormatInt(want, 10)+": ") || !strings.Contains(msg, "':'") {
		t.Errorf("message %q does not say where and what", msg)
	}
}

func TestFlattenerReuseLeavesNothingBehind(t *testing.T) {
	f := flatten.New()
	var rows schema.Rows
	if err := f.Flatten(readFixture(t, "variant_callback.json"), receivedAt, &rows); err != nil {
		t.Fatal(err)
	}
	small := []byte(`{"lead_id": 7, "extra_details": {"a": "b"}, "zz": 1}`)
	if err := f.Flatten(small, receivedAt, &rows); err != nil {
		t.Fatal(err)
	}
	fresh, err := flatten.Flatten(small, receivedAt)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rowsJSON(t, &rows), rowsJSON(t, fresh); got != want {
		t.Errorf("reused flattener:\n%s\nfresh:\n%s", got, want)
	}
	if err := f.Flatten([]byte(`{"nope": 1}`), receivedAt, &rows); err == nil || rows.Count() != 1 || rows.Lead.LeadID != 0 {
		t.Errorf("failed flatten left rows behind: err %v, %d rows, lead %d", err, rows.Count(), rows.Lead.LeadID)
	}
}

func TestFlattenSharesNoMemoryWithBody(t *testing.T) {
	body := readFixture(t, "seed_callback.json")
	rows, err := flatten.Flatten(body, receivedAt)
	if err != nil {
		t.Fatal(err)
	}
	before := rowsJSON(t, rows)
	for i := range body {
		body[i] = 'x'
	}
	if after := rowsJSON(t, rows); after != before {
		t.Error("rows changed when the body they came from was overwritten")
	}
}

func TestFlattenerRowsAliasBody(t *testing.T) {
	// The documented contract of the reusable path: no copies, so rows see the caller's buffer.
	body := []byte(`{"lead_id": 1, "name": "abc"}`)
	var rows schema.Rows
	if err := flatten.New().Flatten(body, receivedAt, &rows); err != nil {
		t.Fatal(err)
	}
	copy(body[bytes.Index(body, []byte("abc")):], "xyz")
	if rows.Lead.Name != "xyz" || rows.Lead.Raw != string(body) {
		t.Errorf("name %q, raw %q: strings were copied", rows.Lead.Name, rows.Lead.Raw)
	}
}

func TestEveryRowCarriesMeta(t *testing.T) {
	body := readFixture(t, "variant_callback.json")
	rows, err := flatten.Flatten(body, receivedAt)
	if err != nil {
		t.Fatal(err)
	}
	want := schema.Meta{
		LeadID:         1402361,
		CallbackID:     flatten.CallbackID(body),
		ReceivedAt:     schema.MillisOf(receivedAt),
		MappingVersion: schema.MappingVersion,
		// The variant's newest time is an event's event_updated_at, 2019-05-20 12:29:51 UTC.
		CRMUpdatedAt: schema.Millis(1558355391000),
	}
	metas := []schema.Meta{rows.Lead.Meta}
	for _, r := range rows.Events {
		metas = append(metas, r.Meta)
	}
	for _, r := range rows.Notes {
		metas = append(metas, r.Meta)
	}
	for _, r := range rows.Calls {
		metas = append(metas, r.Meta)
	}
	for _, r := range rows.Dispositions {
		metas = append(metas, r.Meta)
	}
	for _, r := range rows.Transitions {
		metas = append(metas, r.Meta)
	}
	for _, r := range rows.BookingDocs {
		metas = append(metas, r.Meta)
	}
	if len(metas) != rows.Count() {
		t.Fatalf("checked %d rows of %d", len(metas), rows.Count())
	}
	for i, m := range metas {
		if m != want {
			t.Errorf("row %d meta %+v, want %+v", i, m, want)
		}
	}
}

func TestCallbackIDIsStableHashOfExactBytes(t *testing.T) {
	body := readFixture(t, "seed_callback.json")
	id := flatten.CallbackID(body)
	if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
		t.Fatalf("id %q is not 32 hex digits", id)
	}
	if again := flatten.CallbackID(bytes.Clone(body)); again != id {
		t.Errorf("same bytes gave %q then %q", id, again)
	}
	if other := flatten.CallbackID(append(bytes.Clone(body), ' ')); other == id {
		t.Error("a different body gave the same id")
	}
	// The empty body's SHA-256 starts e3b0c442...: the id is the hash, not a random token.
	if got := flatten.CallbackID(nil); got != "e3b0c44298fc1c149afbf4c8996fb924" {
		t.Errorf("CallbackID(nil) = %q", got)
	}
}

func TestSteadyStateAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	body := readFixture(t, "seed_callback.json")
	f := flatten.New()
	var rows schema.Rows
	allocs := testing.AllocsPerRun(50, func() {
		if err := f.Flatten(body, receivedAt, &rows); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("%.0f allocations per callback", allocs)
	if allocs > 60 {
		t.Errorf("%.0f allocations per callback, budget 60", allocs)
	}
}

// TestCRMUpdatedAtIsTheNewestTimeTheDocumentRecords checks each time that counts, and that the
// times a document schedules rather than records do not, on bodies carrying one time each next
// to an older created_at.
func TestCRMUpdatedAtIsTheNewestTimeTheDocumentRecords(t *testing.T) {
	const older, newer = 1558080407, 1558355391 // 2019-05-17 08:06:47 and 2019-05-20 12:29:51 UTC
	tests := []struct {
		name string
		body string // JSON members after lead_id and created_at
		want int64  // epoch second
	}{
		{"created_at alone", ``, older},
		{"claimed_at", `"claimed_at": 1558355391`, newer},
		{"a status_changes move", `"status_changes": {"moved_to_new": 1558080407, "moved_to_claimed": 1558355391}`, newer},
		{"an event's event_updated_at", `"event_details": [{"event_id": 1, "event_created_at": 1558080407, "event_updated_at": 1558355391}]`, newer},
		{"an event's event_created_at", `"event_details": [{"event_id": 1, "event_created_at": 1558355391}]`, newer},
		{"a note's updated_at", `"notes": [{"note_id": 1, "created_at": 1558080407, "updated_at": 1558355391}]`, newer},
		{"an event's note", `"event_details": [{"event_id": 1, "notes": [{"note_id": 2, "created_at": 1558355391}]}]`, newer},
		{"a call's updated_at", `"calls": [{"id": 1, "inserted_at": 1558080407, "updated_at": 1558355391}]`, newer},
		{"a call's end_time", `"calls": [{"id": 1, "end_time": 1558355391}]`, newer},
		{"a call's inserted_at, as ISO text", `"calls": [{"id": 1, "inserted_at": "2019-05-20T12:29:51Z"}]`, newer},
		{"a disposition's created_at", `"dispositions": [{"id": 1, "created_at": 1558355391}]`, newer},
		{"an event's start time is a schedule", `"event_details": [{"event_id": 1, "start_time": 1558355391, "end_time": 1558355391}]`, older},
		{"latest_event_details repeats event_details", `"latest_event_details": {"event_id": 1, "start_time": 1558355391}`, older},
		{"a booking document's times", `"booking_docs": [{"id": 1, "created_at": 1558355391, "updated_at": 1558355391}]`, older},
		{"a null time", `"claimed_at": null`, older},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"lead_id": 7, "created_at": 1558080407`
			if tt.body != "" {
				body += ", " + tt.body
			}
			rows, err := flatten.Flatten([]byte(body+"}"), receivedAt)
			if err != nil {
				t.Fatal(err)
			}
			want := schema.Millis(tt.want * 1000)
			if got := rows.Lead.CRMUpdatedAt; got != want {
				t.Errorf("crm_updated_at %s, want %s", got.Time(), want.Time())
			}
			rows.EachMeta(func(m *schema.Meta) {
				if m.CRMUpdatedAt != want {
					t.Errorf("a row of the callback has crm_updated_at %s, want the callback's %s", m.CRMUpdatedAt.Time(), want.Time())
				}
			})
		})
	}
	rows, err := flatten.Flatten([]byte(`{"lead_id": 7}`), receivedAt)
	if err != nil {
		t.Fatal(err)
	}
	if rows.Lead.CRMUpdatedAt != 0 {
		t.Errorf("a document without times has crm_updated_at %d, want 0", rows.Lead.CRMUpdatedAt)
	}
}
