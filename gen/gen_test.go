package gen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func generate(t testing.TB, opts Options, n int) [][]byte {
	t.Helper()
	g := New(opts)
	out := make([][]byte, n)
	for i := range out {
		out[i] = g.Next(nil)
	}
	return out
}

// payload is the part of a callback the tests inspect. Timestamps stay raw so the
// tests can tell their formats apart.
type payload struct {
	Action        string                     `json:"action"`
	LeadID        json.RawMessage            `json:"lead_id"`
	LeadStatus    string                     `json:"lead_status"`
	LastStatus    json.RawMessage            `json:"last_status"`
	MinBudget     json.RawMessage            `json:"min_budget"`
	IsDuplicate   *bool                      `json:"is_duplicate"`
	LatestEvent   *eventT                    `json:"latest_event_details"`
	Events        []eventT                   `json:"event_details"`
	Notes         []noteT                    `json:"notes"`
	Calls         []callT                    `json:"calls"`
	Dispositions  []dispositionT             `json:"dispositions"`
	BookingDocs   []noteT                    `json:"booking_docs"`
	StatusChanges map[string]json.RawMessage `json:"status_changes"`
}

// eventT, noteT, callT and dispositionT are the decoded elements of payload.
type eventT struct {
	ID        json.Number     `json:"event_id"`
	Type      string          `json:"event_type"`
	CreatedAt json.RawMessage `json:"event_created_at"`
	Notes     []noteT         `json:"notes"`
}

type noteT struct {
	CreatedAt json.RawMessage `json:"created_at"`
}

type callT struct {
	Duration  int             `json:"duration_in_sec"`
	StartTime json.RawMessage `json:"start_time"`
	Sid       *string         `json:"sid"`
}

type dispositionT struct {
	Type      string          `json:"disposition_type"`
	CreatedAt json.RawMessage `json:"created_at"`
	Reason    *string         `json:"reason"`
}

func decode(t testing.TB, p []byte) payload {
	t.Helper()
	var v payload
	if err := json.Unmarshal(p, &v); err != nil {
		t.Fatalf("decode payload: %v\n%s", err, p)
	}
	return v
}

func TestSameSeedGivesSameBytes(t *testing.T) {
	a := generate(t, Options{Seed: 42, Leads: 50}, 300)
	b := generate(t, Options{Seed: 42, Leads: 50}, 300)
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Fatalf("payload %d differs between two generators with the same seed", i)
		}
	}
	c := generate(t, Options{Seed: 43, Leads: 50}, 300)
	same := 0
	for i := range a {
		if bytes.Equal(a[i], c[i]) {
			same++
		}
	}
	if same > 0 {
		t.Errorf("%d of %d payloads identical across different seeds", same, len(a))
	}
}

func TestNextAppendsToDst(t *testing.T) {
	want := generate(t, Options{Seed: 3}, 1)[0]
	got := New(Options{Seed: 3}).Next([]byte("prefix"))
	if !bytes.HasPrefix(got, []byte("prefix")) || !bytes.Equal(got[6:], want) {
		t.Fatalf("Next did not append to dst: %.40q", got)
	}
}

func TestPayloadsAreValidSingleLineJSON(t *testing.T) {
	t.Parallel()
	for i, p := range generate(t, Options{Seed: 9}, 2000) {
		if !json.Valid(p) {
			t.Fatalf("payload %d is not valid JSON:\n%s", i, p)
		}
		if !utf8.Valid(p) {
			t.Fatalf("payload %d is not valid UTF-8", i)
		}
		if k := bytes.IndexAny(p, "\n\r"); k >= 0 {
			t.Fatalf("payload %d has a raw line break at %d", i, k)
		}
	}
}

func TestGoldenPayloads(t *testing.T) {
	var buf bytes.Buffer
	if err := New(Options{Seed: 1, Leads: 100}).WriteNDJSON(&buf, 4); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "seed1.ndjson")
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("payloads for seed 1 changed; benchmarks run before and after are not comparable.\n" +
			"If the change is intended, run go test ./gen -run TestGoldenPayloads -update")
	}
}

func TestWriteNDJSONWritesOnePayloadPerLine(t *testing.T) {
	var buf bytes.Buffer
	if err := New(Options{Seed: 5}).WriteNDJSON(&buf, 250); err != nil {
		t.Fatal(err)
	}
	want := generate(t, Options{Seed: 5}, 250)
	sc := bufio.NewScanner(&buf)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		if !bytes.Equal(sc.Bytes(), want[n]) {
			t.Fatalf("line %d differs from payload %d", n, n)
		}
		n++
	}
	if n != len(want) {
		t.Fatalf("got %d lines, want %d", n, len(want))
	}
}

func TestCommandWritesCountPayloads(t *testing.T) {
	out := filepath.Join(t.TempDir(), "p.ndjson")
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	var c Command
	c.RegisterFlags(fs)
	if err := fs.Parse([]string{"-seed", "7", "-leads", "10", "-n", "30", "-o", out}); err != nil {
		t.Fatal(err)
	}
	if err := c.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := New(Options{Seed: 7, Leads: 10}).WriteNDJSON(&want, 30); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("command output differs from WriteNDJSON with the same options")
	}
}

func TestNextDoesNotAllocate(t *testing.T) {
	g := New(Options{Seed: 1})
	buf := make([]byte, 0, 256<<10)
	allocs := testing.AllocsPerRun(500, func() { buf = g.Next(buf[:0]) })
	if allocs != 0 {
		t.Fatalf("Next allocates %.1f times per payload", allocs)
	}
}

func TestCallbacksRepeatLeads(t *testing.T) {
	t.Parallel()
	const leads = 100
	seen := map[string]int{}
	for _, p := range generate(t, Options{Seed: 2, Leads: leads}, 2000) {
		var v struct {
			LeadID json.Number `json:"lead_id"` // a number or a numeric string
		}
		if err := json.Unmarshal(p, &v); err != nil {
			t.Fatal(err)
		}
		seen[v.LeadID.String()]++
	}
	if len(seen) > leads {
		t.Fatalf("%d distinct lead ids, want at most %d", len(seen), leads)
	}
	if len(seen) < leads*3/4 {
		t.Errorf("only %d of %d leads got a callback", len(seen), leads)
	}
	repeated := 0
	for _, n := range seen {
		if n > 1 {
			repeated++
		}
	}
	if repeated < len(seen)/2 {
		t.Errorf("only %d of %d leads got more than one callback", repeated, len(seen))
	}
}

// tally counts what the generated payloads contain, by category and value.
type tally map[string]map[string]int

func (t tally) add(cat, v string) {
	if t[cat] == nil {
		t[cat] = map[string]int{}
	}
	t[cat][v]++
}

func normStatus(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

func timestampForm(raw json.RawMessage) string {
	switch {
	case len(raw) == 0:
		return "absent"
	case string(raw) == "null":
		return "null"
	case raw[0] == '"':
		return "iso"
	case bytes.IndexByte(raw, '.') >= 0:
		return "float"
	case len(raw) >= 13:
		return "millis"
	}
	return "int"
}

func TestCoversDocumentedVariants(t *testing.T) {
	t.Parallel()
	tl := tally{}
	for _, p := range generate(t, Options{Seed: 11}, 5000) {
		if bytes.Count(p, []byte(`"extra_details":`)) == 2 {
			tl.add("shape", "duplicate extra_details")
		}
		if bytes.Contains(p, []byte(`\u`)) {
			tl.add("shape", `\u escape`)
		}
		if bytes.Contains(p, []byte(`\"`)) && bytes.Contains(p, []byte(`\\`)) {
			tl.add("shape", "escaped quote and backslash")
		}
		if bytes.Contains(p, []byte("ग्राहक")) {
			tl.add("shape", "raw Devanagari")
		}
		if bytes.Contains(p, []byte("👍")) || bytes.Contains(p, []byte("🙏")) {
			tl.add("shape", "raw emoji")
		}
		m := decode(t, p)
		tl.add("action", m.Action)
		ls := m.LeadStatus
		tl.add("lead_status", normStatus(ls))
		if ls != strings.TrimSpace(ls) || strings.Contains(ls, "  ") {
			tl.add("shape", "status with stray spaces")
		}
		if ls == strings.ToLower(ls) { // every documented spelling starts upper case
			tl.add("shape", "status in lower case")
		}
		if ls == strings.ToUpper(ls) {
			tl.add("shape", "status in upper case")
		}
		switch string(m.LastStatus) {
		case "":
			tl.add("shape", "last_status absent")
		case "null":
			tl.add("shape", "last_status null")
		default:
			var s string
			if err := json.Unmarshal(m.LastStatus, &s); err != nil {
				t.Fatalf("last_status %s: %v", m.LastStatus, err)
			}
			tl.add("last_status", normStatus(s))
		}
		if m.LeadID[0] == '"' {
			tl.add("shape", "lead_id string")
		} else {
			tl.add("shape", "lead_id number")
		}
		if len(m.MinBudget) > 0 && m.MinBudget[0] == '"' {
			tl.add("shape", "min_budget string")
		}
		if m.IsDuplicate != nil {
			tl.add("shape", "is_duplicate")
		}
		if m.LatestEvent != nil && m.LatestEvent.Type != "" {
			tl.add("latest_event_type", m.LatestEvent.Type)
		}
		tl.add("count notes", countBucket(len(m.Notes), 50))
		tl.add("count events", countBucket(len(m.Events), 10))
		tl.add("count calls", countBucket(len(m.Calls), 20))
		tl.add("count dispositions", countBucket(len(m.Dispositions), 10))
		tl.add("count booking_docs", countBucket(len(m.BookingDocs), 3))
		for _, e := range m.Events {
			tl.add("event_type", e.Type)
			tl.add("count event notes", countBucket(len(e.Notes), 5))
		}
		for _, n := range m.Notes {
			tl.add("note created_at", timestampForm(n.CreatedAt))
		}
		for _, c := range m.Calls {
			switch d := c.Duration; {
			case d == 0:
				tl.add("call duration", "0")
			case d == 60:
				tl.add("call duration", "60")
			case d > 60:
				tl.add("call duration", ">60")
			}
			if c.Sid != nil {
				tl.add("shape", "call with sid")
			}
		}
		for _, d := range m.Dispositions {
			tl.add("disposition_type", d.Type)
			if d.Reason != nil {
				tl.add("shape", "disposition with reason")
			}
		}
		for k := range m.StatusChanges {
			tl.add("status_changes", k)
		}
	}
	want := map[string][]string{
		"action":             append(slices.Clone(actions), unknownActs[0]),
		"lead_status":        mapStrings(statuses, normStatus),
		"last_status":        mapStrings(statuses, normStatus),
		"disposition_type":   dispositionTypes,
		"event_type":         eventTypes,
		"latest_event_type":  eventTypes,
		"status_changes":     append(slices.Clone(statusMoves), "status_before_cc"),
		"note created_at":    {"int", "float", "millis", "iso"},
		"call duration":      {"0", "60", ">60"},
		"count notes":        {"0", "some", "max"},
		"count events":       {"0", "some", "max"},
		"count event notes":  {"0", "some", "max"},
		"count calls":        {"0", "some", "max"},
		"count dispositions": {"0", "some", "max"},
		"count booking_docs": {"0", "some", "max"},
		"shape": {
			"duplicate extra_details", `\u escape`, "escaped quote and backslash", "raw Devanagari",
			"raw emoji", "status with stray spaces", "status in lower case", "status in upper case",
			"last_status absent", "last_status null", "lead_id number", "lead_id string",
			"min_budget string", "is_duplicate", "call with sid", "disposition with reason",
		},
	}
	for cat, values := range want {
		for _, v := range values {
			if tl[cat][v] == 0 {
				t.Errorf("%s: %q never generated in 5000 payloads", cat, v)
			}
		}
		for v := range tl[cat] {
			if v == "over max" {
				t.Errorf("%s: more elements than documented maximum", cat)
			}
		}
	}
}

func countBucket(n, max int) string {
	switch {
	case n == 0:
		return "0"
	case n == max:
		return "max"
	case n > max:
		return "over max"
	}
	return "some"
}

func mapStrings(in []string, f func(string) string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = f(s)
	}
	return out
}

// epochMillis reads a timestamp in any of the generator's formats.
func epochMillis(t *testing.T, raw json.RawMessage) int64 {
	t.Helper()
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatal(err)
		}
		ts, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatalf("timestamp %q: %v", s, err)
		}
		return ts.UnixMilli()
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		t.Fatalf("timestamp %s: %v", raw, err)
	}
	if f >= 1e11 {
		return int64(f)
	}
	return int64(math.Round(f * 1000))
}

func TestArraysAreLatestFirst(t *testing.T) {
	t.Parallel()
	check := func(i int, name string, times []json.RawMessage) {
		t.Helper()
		for k := 1; k < len(times); k++ {
			prev, cur := epochMillis(t, times[k-1]), epochMillis(t, times[k])
			if cur > prev {
				t.Fatalf("payload %d: %s[%d] at %d is later than %s[%d] at %d", i, name, k, cur, name, k-1, prev)
			}
		}
	}
	times := func(n int, at func(int) json.RawMessage) []json.RawMessage {
		out := make([]json.RawMessage, n)
		for i := range out {
			out[i] = at(i)
		}
		return out
	}
	for i, p := range generate(t, Options{Seed: 13}, 1000) {
		m := decode(t, p)
		check(i, "notes", times(len(m.Notes), func(k int) json.RawMessage { return m.Notes[k].CreatedAt }))
		check(i, "calls", times(len(m.Calls), func(k int) json.RawMessage { return m.Calls[k].StartTime }))
		check(i, "dispositions", times(len(m.Dispositions), func(k int) json.RawMessage { return m.Dispositions[k].CreatedAt }))
		check(i, "booking_docs", times(len(m.BookingDocs), func(k int) json.RawMessage { return m.BookingDocs[k].CreatedAt }))
		check(i, "event_details", times(len(m.Events), func(k int) json.RawMessage { return m.Events[k].CreatedAt }))
		for _, e := range m.Events {
			check(i, "event notes", times(len(e.Notes), func(k int) json.RawMessage { return e.Notes[k].CreatedAt }))
		}
		if len(m.Events) > 0 && (m.LatestEvent == nil || m.LatestEvent.ID != m.Events[0].ID) {
			t.Fatalf("payload %d: latest_event_details is not event_details[0] (%s)", i, m.Events[0].ID)
		}
	}
}

func TestSizesHaveLongTailUnderCap(t *testing.T) {
	t.Parallel()
	f := func(opts Options, n int) {
		t.Helper()
		g := New(opts)
		sizes := make([]int, n)
		buf := make([]byte, 0, 256<<10)
		for i := range sizes {
			buf = g.Next(buf[:0])
			sizes[i] = len(buf)
		}
		slices.Sort(sizes)
		median, largest := sizes[n/2], sizes[n-1]
		over50K := n - sortSearch(sizes, 50<<10)
		t.Logf("MaxBytes %d: median %d, p99 %d, max %d, %d over 50 KiB", g.Options().MaxBytes, median, sizes[n*99/100], largest, over50K)
		if median < 3<<10 || median > 12<<10 {
			t.Errorf("median size %d outside 3..12 KiB", median)
		}
		if largest > g.Options().MaxBytes {
			t.Errorf("largest payload %d exceeds MaxBytes %d", largest, g.Options().MaxBytes)
		}
		if over50K == 0 {
			t.Errorf("no payload over 50 KiB in %d", n)
		}
	}
	f(Options{Seed: 17}, 20000)
	f(Options{Seed: 18, MaxBytes: minMaxBytes}, 5000)
}

func sortSearch(sorted []int, v int) int {
	i, _ := slices.BinarySearch(sorted, v+1)
	return i
}

func TestAppendISOMatchesTimePackage(t *testing.T) {
	ist := time.FixedZone("IST", istOffset)
	for _, sec := range []int64{0, 1558080407, 951782400, 4107542399, 1709164800, -86401} {
		for _, ms := range []int{0, 7, 628} {
			got := string(appendISO(nil, sec, ms, true))
			want := time.Unix(sec, int64(ms)*1e6).In(ist).Format("2006-01-02T15:04:05.000-07:00")
			if got != want {
				t.Errorf("appendISO(%d, %d) = %s, want %s", sec, ms, got, want)
			}
		}
	}
}

func TestAppendTimeFormats(t *testing.T) {
	tests := []struct {
		f    tsFormat
		ms   int
		want string
	}{
		{tsInt, 0, "1558089973"},
		{tsFloat, 0, "1558089973.0"},
		{tsFloat, 500, "1558089973.5"},
		{tsFloat, 628, "1558089973.628"},
		{tsMillis, 628, "1558089973628"},
		{tsISO, 0, `"2019-05-17T16:16:13+05:30"`},
		{tsISO, 628, `"2019-05-17T16:16:13.628+05:30"`},
	}
	for _, tt := range tests {
		if got := string(appendTime(nil, 1558089973, tt.ms, tt.f)); got != tt.want {
			t.Errorf("format %d ms %d: got %s, want %s", tt.f, tt.ms, got, tt.want)
		}
	}
}

func TestAppendEscapedRoundTrips(t *testing.T) {
	var all []string
	for _, tb := range [][]string{notePhrases, hindiPhrases, emojis, trickyPhrases, transcriptLines, personNames} {
		all = append(all, tb...)
	}
	for _, s := range all {
		for _, ascii := range []bool{false, true} {
			roundTripEscaped(t, s, ascii)
		}
	}
}

func roundTripEscaped(t *testing.T, s string, ascii bool) {
	t.Helper()
	enc := append(appendEscaped([]byte{'"'}, s, ascii), '"')
	if ascii {
		for _, c := range enc {
			if c >= utf8.RuneSelf {
				t.Fatalf("ascii escape of %q left byte %#x", s, c)
			}
		}
	}
	var got string
	if err := json.Unmarshal(enc, &got); err != nil {
		t.Fatalf("escaped %q is not a JSON string: %v (%s)", s, err, enc)
	}
	if got != s {
		t.Fatalf("escaped %q decodes to %q", s, got)
	}
}

func FuzzAppendEscaped(f *testing.F) {
	for _, s := range trickyPhrases {
		f.Add(s, false)
	}
	f.Add("🙏 ग्राहक", true)
	f.Fuzz(func(t *testing.T, s string, ascii bool) {
		if !utf8.ValidString(s) {
			return // the generator escapes only its own UTF-8 tables
		}
		roundTripEscaped(t, s, ascii)
	})
}

func FuzzNextIsValidJSON(f *testing.F) {
	f.Add(int64(0), 1, int64(0))
	f.Add(int64(-5), 100000, int64(1))
	f.Fuzz(func(t *testing.T, seed int64, leads int, start int64) {
		g := New(Options{Seed: seed, Leads: leads % 1000000, Start: start})
		buf := make([]byte, 0, 64<<10)
		for range 3 {
			buf = g.Next(buf[:0])
			if !json.Valid(buf) {
				t.Fatalf("invalid payload for seed %d:\n%s", seed, buf)
			}
			if len(buf) > g.Options().MaxBytes {
				t.Fatalf("payload of %d bytes over MaxBytes", len(buf))
			}
		}
	})
}
