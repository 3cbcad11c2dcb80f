package sink_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leadhouse/leadhouse/flatten"
	"github.com/leadhouse/leadhouse/gen"
	"github.com/leadhouse/leadhouse/schema"
	"github.com/leadhouse/leadhouse/sink"
	"github.com/leadhouse/leadhouse/sink/wal"
)

// The tests below compare, value for value, what the engine stores with what flatten produced:
// each row is rendered as one line, by SQL on the engine's side (canonicalQuery) and from the Go
// row on the other (canonicalRow), the same way: strings in hex, floats as their bits, times as
// milliseconds, NULL as N, the raw body as its MD5.

// canonicalSQL is the SQL expression rendering column c of type typ canonically.
func canonicalSQL(c, typ string) string {
	if inner, ok := strings.CutPrefix(typ, "Nullable("); ok {
		inner = strings.TrimSuffix(inner, ")")
		return fmt.Sprintf("if(isNull(%s), 'N', %s)", c, canonicalSQL("assumeNotNull("+c+")", inner))
	}
	switch {
	case c == "raw":
		return "hex(MD5(raw))"
	case typ == "String" || typ == "LowCardinality(String)":
		return "hex(" + c + ")"
	case strings.HasPrefix(typ, "UInt") || strings.HasPrefix(typ, "Int") || typ == "Bool":
		return "toString(" + c + ")"
	case typ == "Float64":
		return "toString(reinterpretAsUInt64(" + c + "))"
	case strings.HasPrefix(typ, "DateTime64"):
		return "toString(toUnixTimestamp64Milli(" + c + "))"
	case strings.HasPrefix(typ, "Map("):
		return "arrayStringConcat(arrayMap((k, v) -> concat(hex(k), ':', hex(v)), mapKeys(" + c + "), mapValues(" + c + ")), ',')"
	case strings.HasPrefix(typ, "Array("):
		return "arrayStringConcat(arrayMap(x -> hex(x), " + c + "), ',')"
	}
	panic("type " + typ)
}

func upperHex(s string) string { return strings.ToUpper(hex.EncodeToString([]byte(s))) }

// canonicalGo renders field value v of column name as canonicalSQL does.
func canonicalGo(name string, v reflect.Value) string {
	if name == "raw" {
		s := md5.Sum([]byte(v.String()))
		return strings.ToUpper(hex.EncodeToString(s[:]))
	}
	if v.Kind() == reflect.Struct && v.NumField() == 2 && v.Type().Field(1).Name == "Valid" {
		if !v.Field(1).Bool() {
			return "N"
		}
		return canonicalGo(name, v.Field(0))
	}
	if v.Type() == reflect.TypeFor[schema.Millis]() {
		return fmt.Sprint(v.Int())
	}
	switch v.Kind() {
	case reflect.String:
		return upperHex(v.String())
	case reflect.Uint64, reflect.Uint32, reflect.Uint16:
		return fmt.Sprint(v.Uint())
	case reflect.Int64:
		return fmt.Sprint(v.Int())
	case reflect.Bool:
		return fmt.Sprint(v.Bool())
	case reflect.Float64:
		return fmt.Sprint(math.Float64bits(v.Float()))
	case reflect.Slice:
		var parts []string
		for i := range v.Len() {
			e := v.Index(i)
			if kv, ok := e.Interface().(schema.KV); ok {
				parts = append(parts, upperHex(kv.Key)+":"+upperHex(kv.Value))
			} else {
				parts = append(parts, upperHex(e.String()))
			}
		}
		return strings.Join(parts, ",")
	}
	panic("kind " + v.Kind().String())
}

// columnFields maps ch tags to field values of struct v, embedded structs included.
func columnFields(v reflect.Value, out map[string]reflect.Value) {
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if f.Anonymous {
			columnFields(v.Field(i), out)
			continue
		}
		if n := f.Tag.Get("ch"); n != "" {
			out[n] = v.Field(i)
		}
	}
}

func canonicalRow(t *schema.Table, row any) string {
	m := map[string]reflect.Value{}
	columnFields(reflect.ValueOf(row), m)
	parts := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		parts[i] = canonicalGo(c.Name, m[c.Name])
	}
	return strings.Join(parts, "|")
}

func canonicalQuery(t *schema.Table) string {
	exprs := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		exprs[i] = canonicalSQL(c.Name, c.Type)
	}
	return "SELECT arrayStringConcat([" + strings.Join(exprs, ", ") + "], '|') FROM " + t.Name
}

// TestStoredValuesMatchFlatten pushes generated callbacks through a pipeline into the embedded
// engine and compares every stored row with the one flatten produced: whatever the Arrow
// encodings (dictionaries, runs), chunks and generations did in between, the values arrive as
// flattened. Edge cases change the rows after flattening: child rows whose Meta differs within a
// callback, empty strings, 300 KB values, callbacks without child rows, unicode and NUL bytes.
func TestStoredValuesMatchFlatten(t *testing.T) {
	for _, tc := range []struct {
		name     string
		n        int
		maxBytes int64
		mutate   bool
	}{{"one_generation", 2000, 1 << 30, false}, {"many_generations", 2000, 3 << 20, false},
		{"edge_cases", 1200, 3 << 20, true}} {
		t.Run(tc.name, func(t *testing.T) {
			store := engineStore(t)
			for _, tb := range schema.RowTables() {
				if tb.Engine != "ReplacingMergeTree" {
					continue
				}
				// A plain MergeTree keeps every row inserted: generated callbacks repeat their
				// leads' notes, which ReplacingMergeTree would collapse on insert.
				for _, q := range []string{
					"CREATE TABLE " + tb.Name + "_plain AS " + tb.Name + " ENGINE = MergeTree ORDER BY tuple()",
					"DROP TABLE " + tb.Name, "RENAME TABLE " + tb.Name + "_plain TO " + tb.Name,
				} {
					if err := store.Exec(context.Background(), q); err != nil {
						t.Fatal(err)
					}
				}
			}
			want := map[*schema.Table][]string{}

			opts := sink.Options{
				Decode: flatten.New().Flatten, Reason: flattenReason,
				MaxRows: 10_000_000, MaxBytes: tc.maxBytes, MaxBufferedBytes: 2 << 30,
				FlushInterval: time.Hour, RetryMin: time.Millisecond, RetryMax: 10 * time.Millisecond,
			}
			dir := t.TempDir()
			tracker := &wal.Tracker{}
			log, err := wal.Open(wal.Options{Dir: dir, Tracker: tracker, Sync: wal.SyncInterval})
			if err != nil {
				t.Fatal(err)
			}
			defer log.Close()
			p, err := sink.New(store, log, tracker, opts)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "live mode", func() bool { return p.Stats().Mode == sink.ModeLive })
			g := gen.New(gen.Options{Seed: 42, Leads: 400})
			at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
			fl := flatten.New()
			rows := new(schema.Rows)
			for i := range tc.n {
				body := g.Next(nil)
				rt := at.Add(time.Duration(i) * time.Millisecond)
				r, err := flatten.Flatten(bytes.Clone(body), rt)
				if err != nil {
					t.Fatal(err)
				}
				if tc.mutate {
					edgeCases(i, r)
				}
				if err := fl.Flatten(body, rt, rows); err != nil {
					t.Fatal(err)
				}
				if tc.mutate {
					edgeCases(i, rows)
				}
				ack, err := p.Submit(context.Background(), sink.Input{Body: body, ReceivedAt: rt}, sink.Decoded{Rows: rows})
				if err != nil {
					t.Fatal(err)
				}
				// The pipeline stamps every row with the callback's position in the log.
				r.SetArrival(ack.Position.Uint64())
				expect(want, schema.LeadUpdates, []schema.LeadUpdate{r.Lead})
				expect(want, schema.Events, r.Events)
				expect(want, schema.Notes, r.Notes)
				expect(want, schema.Calls, r.Calls)
				expect(want, schema.Dispositions, r.Dispositions)
				expect(want, schema.Transitions, r.Transitions)
				expect(want, schema.BookingDocs, r.BookingDocs)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			if err := p.Close(ctx); err != nil {
				t.Fatal(err)
			}
			st := p.Stats()
			if st.Spilled > 0 {
				// Spilled callbacks are flattened again from their bodies, without the edge cases.
				t.Fatalf("%d callbacks spilled to the log; the test needs them all in memory", st.Spilled)
			}
			if tc.maxBytes < 1<<30 && st.Flushes < 3 {
				t.Fatalf("%d flushes, want several generations", st.Flushes)
			}
			for _, tb := range schema.RowTables() {
				var buf bytes.Buffer
				if err := store.Query(context.Background(), canonicalQuery(tb), &buf); err != nil {
					t.Fatal(err)
				}
				got := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
				if buf.Len() == 0 {
					got = nil
				}
				w := slices.Clone(want[tb])
				slices.Sort(got)
				slices.Sort(w)
				if len(got) != len(w) {
					t.Errorf("%s: %d rows stored, %d flattened", tb.Name, len(got), len(w))
					continue
				}
				bad := 0
				for i := range got {
					if got[i] != w[i] {
						bad++
						if bad <= 2 {
							gp, wp := strings.Split(got[i], "|"), strings.Split(w[i], "|")
							for c := range gp {
								if c < len(wp) && gp[c] != wp[c] {
									t.Errorf("%s: column %s: got %.80s want %.80s", tb.Name, tb.Columns[c].Name, gp[c], wp[c])
								}
							}
						}
					}
				}
				if bad > 0 {
					t.Errorf("%s: %d of %d rows differ", tb.Name, bad, len(got))
				}
			}
		})
	}
}

// expect adds rows, rendered by canonicalRow, to table t's expected lines.
func expect[R any](want map[*schema.Table][]string, t *schema.Table, rows []R) {
	for i := range rows {
		want[t] = append(want[t], canonicalRow(t, rows[i]))
	}
}

// edgeCases changes callback i's rows into an edge case, one of six by i.
func edgeCases(i int, r *schema.Rows) {
	long := strings.Repeat(fmt.Sprint(i%10), 300_000)
	switch i % 6 {
	case 0: // child rows with differing Meta
		for j := range r.Notes {
			r.Notes[j].CallbackID = fmt.Sprintf("cb-%d-%d", i, j/2)
			r.Notes[j].LeadID += uint64(j % 3)
			r.Notes[j].ReceivedAt += schema.Millis(j % 2)
		}
		for j := range r.Transitions {
			r.Transitions[j].StatusBeforeCC = []string{"", "a", "a", ""}[j%4]
			r.Transitions[j].MappingVersion += uint16(j % 2)
		}
	case 1: // empty strings everywhere encoded
		r.Lead.CallbackID, r.Lead.AgentName, r.Lead.LeadStatusRaw, r.Lead.Action = "", "", "", ""
		for j := range r.Notes {
			r.Notes[j].CallbackID = ""
			r.Notes[j].NoteType = ""
			r.Notes[j].AgentName = ""
		}
		for j := range r.Transitions {
			r.Transitions[j].CallbackID, r.Transitions[j].StatusBeforeCC, r.Transitions[j].Status = "", "", ""
		}
		r.Lead.ExtraDetails = append(r.Lead.ExtraDetails, schema.KV{Key: "", Value: ""}, schema.KV{Key: "", Value: "x"})
	case 2: // very long values
		if i%120 == 2 {
			for j := range r.Notes {
				r.Notes[j].CallbackID = long
			}
			r.Lead.AgentName = long
			r.Lead.ExtraDetails = append(r.Lead.ExtraDetails, schema.KV{Key: long, Value: long})
			for j := range r.Transitions {
				r.Transitions[j].StatusBeforeCCRaw = long
			}
		}
	case 3: // no child rows at all
		r.Events, r.Notes, r.Calls, r.Dispositions, r.Transitions, r.BookingDocs = nil, nil, nil, nil, nil, nil
		r.Lead.ExtraDetails = nil
	case 4: // unicode and NULs
		r.Lead.AgentName = "ユニコード\x00\t"
		for j := range r.Transitions {
			r.Transitions[j].StatusBeforeCC = "ж\x00"
		}
	}
}
