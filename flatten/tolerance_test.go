package flatten_test

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/leadhouse/leadhouse/flatten"
	"github.com/leadhouse/leadhouse/schema"
)

// probe is one tolerance case: a body, a part of its rows, and what that part must be.
type probe struct {
	name string
	body string
	got  func(*schema.Rows) any
	want any
}

func runProbes(t *testing.T, probes []probe) {
	t.Helper()
	for _, p := range probes {
		t.Run(p.name, func(t *testing.T) {
			rows, err := flatten.Flatten([]byte(p.body), receivedAt)
			if err != nil {
				t.Fatalf("flatten %s: %v", p.body, err)
			}
			if got := p.got(rows); !reflect.DeepEqual(got, p.want) {
				t.Errorf("got %#v, want %#v\nbody: %s", got, p.want, p.body)
			}
		})
	}
}

// lead wraps members into a callback for lead 1.
func lead(members string) string { return `{"lead_id": 1` + members + `}` }

func some[T any](v T) schema.Opt[T] { return schema.Some(v) }

func ms(s string) schema.Millis {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return schema.MillisOf(t)
}

func TestDuplicateKeysMergeLaterWins(t *testing.T) {
	runProbes(t, []probe{
		{"scalar repeated: later wins", lead(`, "name": "a", "name": "b"`),
			func(r *schema.Rows) any { return r.Lead.Name }, "b"},
		{"scalar repeated as null: later null wins", lead(`, "rating": "Hot", "rating": null`),
			func(r *schema.Rows) any { return r.Lead.Rating }, ""},
		{"lead_id repeated: later wins", `{"lead_id": 1, "lead_id": 2}`,
			func(r *schema.Rows) any { return r.Lead.LeadID }, uint64(2)},
		{"extra_details repeated: keys merged in first-seen order, later value wins", lead(`,
			"extra_details": {"cp_id": 5649, "referral_data": {}},
			"extra_details": {"gender": "male", "referral_data": {"name": "Vb"}}`),
			func(r *schema.Rows) any { return r.Lead.ExtraDetails },
			[]schema.KV{{Key: "cp_id", Value: "5649"}, {Key: "referral_data", Value: `{"name":"Vb"}`}, {Key: "gender", Value: "male"}}},
		{"key repeated inside extra_details: later wins", lead(`, "extra_details": {"a": "1", "b": "2", "a": "3"}`),
			func(r *schema.Rows) any { return r.Lead.ExtraDetails },
			[]schema.KV{{Key: "a", Value: "3"}, {Key: "b", Value: "2"}}},
		{"cp_data repeated: fields merged", lead(`, "cp_data": {"id": 5, "name": "A"}, "cp_data": {"name": "B", "firm_name": "F"}`),
			func(r *schema.Rows) any { return []any{r.Lead.CPID, r.Lead.CPName, r.Lead.CPFirmName} },
			[]any{some(uint64(5)), "B", "F"}},
		{"booking_details repeated: fields merged", lead(`, "booking_details": {"area": "5"}, "booking_details": {"unit_no": "7"}`),
			func(r *schema.Rows) any { return []any{r.Lead.BookingArea, r.Lead.BookingUnitNo} },
			[]any{some(5.0), "7"}},
		{"latest_event_details repeated: fields merged", lead(`, "latest_event_details": {"event_id": 9}, "latest_event_details": {"event_type": "sv"}`),
			func(r *schema.Rows) any { return []any{r.Lead.LatestEventID, r.Lead.LatestEventType} },
			[]any{some(uint64(9)), "sv"}},
		{"array repeated: later array wins", lead(`, "notes": [{"note_id": 1}, {"note_id": 2}], "notes": [{"note_id": 3}]`),
			func(r *schema.Rows) any { return noteIDs(r) }, []uint64{3}},
		{"array repeated with a wrong type: the array stays", lead(`, "calls": [{"id": 4}], "calls": "x"`),
			func(r *schema.Rows) any { return len(r.Calls) }, 1},
		{"event notes repeated: later array wins", lead(`, "event_details": [{"event_id": 1, "notes": [{"note_id": 1}], "notes": [{"note_id": 2}]}]`),
			func(r *schema.Rows) any { return []any{noteIDs(r), r.Events[0].NotesCount} }, []any{[]uint64{2}, uint32(1)}},
		{"agent_details repeated in a note: fields merged", lead(`, "notes": [{"note_id": 1, "agent_details": {"id": 5, "name": "A"}, "agent_details": {"phone": "+91"}}]`),
			func(r *schema.Rows) any { return r.Notes[0].Agent },
			schema.Agent{AgentID: some(uint64(5)), AgentName: "A", AgentPhone: "+91"}},
		{"status_changes key repeated: later time wins, first position kept", lead(`, "status_changes": {"moved_to_new": 100, "moved_to_junk": 200, "moved_to_new": 300}`),
			func(r *schema.Rows) any { return transitions(r) },
			[]string{"0 new moved_to_new 1970-01-01T00:05:00Z", "1 junk moved_to_junk 1970-01-01T00:03:20Z"}},
		{"status_changes key repeated as null: the row goes", lead(`, "status_changes": {"moved_to_new": 100, "moved_to_junk": 200, "moved_to_new": null}`),
			func(r *schema.Rows) any { return transitions(r) },
			[]string{"0 junk moved_to_junk 1970-01-01T00:03:20Z"}},
		{"status_changes repeated: keys merged", lead(`, "status_changes": {"moved_to_new": 100}, "status_changes": {"moved_to_junk": 200, "status_before_cc": "Fresh"}`),
			func(r *schema.Rows) any { return []any{transitions(r), r.Transitions[0].StatusBeforeCC} },
			[]any{[]string{"0 new moved_to_new 1970-01-01T00:01:40Z", "1 junk moved_to_junk 1970-01-01T00:03:20Z"}, "fresh"}},
		{"duplicates inside a value kept as JSON text are kept as sent", lead(`, "extra_details": {"r": {"a": 1, "a": 2}}`),
			func(r *schema.Rows) any { return r.Lead.ExtraDetails }, []schema.KV{{Key: "r", Value: `{"a":1,"a":2}`}}},
	})
}

func noteIDs(r *schema.Rows) []uint64 {
	ids := []uint64{}
	for _, n := range r.Notes {
		ids = append(ids, n.NoteID)
	}
	return ids
}

func transitions(r *schema.Rows) []string {
	out := []string{}
	for _, t := range r.Transitions {
		out = append(out, strconv.Itoa(int(t.Position))+" "+t.Status+" "+t.StatusKey+" "+t.MovedAt.Time().Format(time.RFC3339Nano))
	}
	return out
}

func TestNumbersAndStringsCoerce(t *testing.T) {
	runProbes(t, []probe{
		{"lead_id as string", `{"lead_id": "1402361"}`, func(r *schema.Rows) any { return r.Lead.LeadID }, uint64(1402361)},
		{"lead_id as integral float", `{"lead_id": 1402361.0}`, func(r *schema.Rows) any { return r.Lead.LeadID }, uint64(1402361)},
		{"lead_id as string with spaces", `{"lead_id": " 42 "}`, func(r *schema.Rows) any { return r.Lead.LeadID }, uint64(42)},
		{"price as string", lead(`, "booking_details": {"base_price": "5", "area": " 5.5 ", "floor_rise_price": 8}`),
			func(r *schema.Rows) any {
				return []any{r.Lead.BookingBasePrice, r.Lead.BookingArea, r.Lead.BookingFloorRisePrice}
			}, []any{some(5.0), some(5.5), some(8.0)}},
		{"price that is not a number is NULL", lead(`, "booking_details": {"base_price": "5 lakh", "parking_price": "0x10", "area": true}`),
			func(r *schema.Rows) any {
				return []any{r.Lead.BookingBasePrice, r.Lead.BookingParkingPrice, r.Lead.BookingArea}
			}, []any{schema.Opt[float64]{}, schema.Opt[float64]{}, schema.Opt[float64]{}}},
		{"budgets as strings", lead(`, "min_budget": "10000000", "max_budget": 2e7`),
			func(r *schema.Rows) any { return []any{r.Lead.MinBudget, r.Lead.MaxBudget} }, []any{some(1e7), some(2e7)}},
		{"id as string and as integral float", lead(`, "project_id": "1046", "cp_data": {"id": 5649.0, "phone_country_id": "49"}`),
			func(r *schema.Rows) any { return []any{r.Lead.ProjectID, r.Lead.CPID, r.Lead.CPPhoneCountryID} },
			[]any{some(uint64(1046)), some(uint64(5649)), some(uint32(49))}},
		{"id that is fractional, negative or too big is NULL", lead(`, "project_id": 10.5, "cp_data": {"id": -3, "phone_country_id": 4294967296}`),
			func(r *schema.Rows) any { return []any{r.Lead.ProjectID, r.Lead.CPID, r.Lead.CPPhoneCountryID} },
			[]any{schema.Opt[uint64]{}, schema.Opt[uint64]{}, schema.Opt[uint32]{}}},
		{"non-nullable id that is not a number is 0", lead(`, "calls": [{"id": "abc", "duration_in_sec": "26"}]`),
			func(r *schema.Rows) any { return []any{r.Calls[0].CallID, r.Calls[0].DurationSec} }, []any{uint64(0), some(int64(26))}},
		{"duration as integral float", lead(`, "calls": [{"id": 1, "duration_in_sec": 26.0}]`),
			func(r *schema.Rows) any { return r.Calls[0].DurationSec }, some(int64(26))},
		{"phone as number keeps its digits", lead(`, "phone": 919999999988, "cp_data": {"phone": 919988555566}`),
			func(r *schema.Rows) any { return []any{r.Lead.Phone, r.Lead.CPPhone} }, []any{"919999999988", "919988555566"}},
		{"text column takes booleans and objects as JSON text", lead(`, "name": true, "city": {"id": 1, "n": "x"}`),
			func(r *schema.Rows) any { return []any{r.Lead.Name, r.Lead.City} }, []any{"true", `{"id":1,"n":"x"}`}},
		{"is_duplicate as bool, string and number", lead(`, "is_duplicate": "true"`),
			func(r *schema.Rows) any { return r.Lead.IsDuplicate }, some(true)},
		{"is_duplicate as 0", lead(`, "is_duplicate": 0`), func(r *schema.Rows) any { return r.Lead.IsDuplicate }, some(false)},
		{"is_duplicate unreadable is NULL", lead(`, "is_duplicate": "maybe"`),
			func(r *schema.Rows) any { return r.Lead.IsDuplicate }, schema.Opt[bool]{}},
		{"apartment_type_id as string", lead(`, "booking_details": {"apartment_type_id": "1"}`),
			func(r *schema.Rows) any { return r.Lead.BookingApartmentTypeID }, some(uint32(1))},
		{"extra_details values: strings as-is, the rest as JSON", lead(`, "extra_details": {"s": "x y", "n": 1.50, "b": false, "z": null, "a": [1, "2"]}`),
			func(r *schema.Rows) any { return r.Lead.ExtraDetails },
			[]schema.KV{{Key: "s", Value: "x y"}, {Key: "n", Value: "1.50"}, {Key: "b", Value: "false"}, {Key: "z", Value: "null"}, {Key: "a", Value: `[1,"2"]`}}},
		{"JSON text columns: compact, empty for null", lead(`, "lead_status_reasons": [ "a" , { "b" : "c d" } ], "cp_data": {"locality_hash": null, "city_hash": "x"}`),
			func(r *schema.Rows) any {
				return []any{r.Lead.LeadStatusReasons, r.Lead.CPLocalityHash, r.Lead.CPCityHash}
			},
			[]any{`["a",{"b":"c d"}]`, "", `"x"`}},
	})
}

func TestTimestampsInEveryForm(t *testing.T) {
	at := func(members string) string { return lead(`, "created_at": ` + members) }
	created := func(r *schema.Rows) any { return r.Lead.CreatedAt }
	null := schema.Opt[schema.Millis]{}
	runProbes(t, []probe{
		{"epoch seconds", at(`1558080407`), created, some(ms("2019-05-17T08:06:47Z"))},
		{"epoch seconds as float", at(`1558089973.0`), created, some(ms("2019-05-17T10:46:13Z"))},
		{"epoch seconds with fraction", at(`1558089973.6284`), created, some(ms("2019-05-17T10:46:13.628Z"))},
		{"epoch milliseconds", at(`1558089973628`), created, some(ms("2019-05-17T10:46:13.628Z"))},
		{"epoch milliseconds as float", at(`1558089973628.0`), created, some(ms("2019-05-17T10:46:13.628Z"))},
		{"epoch seconds as string", at(`"1558080407"`), created, some(ms("2019-05-17T08:06:47Z"))},
		{"ISO 8601 with offset", at(`"2019-05-21T17:15:27.628+05:30"`), created, some(ms("2019-05-21T11:45:27.628Z"))},
		{"ISO 8601 in UTC", at(`"2019-05-21T11:45:27Z"`), created, some(ms("2019-05-21T11:45:27Z"))},
		{"ISO 8601 with compact offset", at(`"2019-05-21T17:15:27+0530"`), created, some(ms("2019-05-21T11:45:27Z"))},
		{"ISO 8601 with negative hour offset", at(`"2019-05-21T06:45:27-05"`), created, some(ms("2019-05-21T11:45:27Z"))},
		{"ISO 8601 with microseconds is truncated", at(`"2019-05-21T11:45:27.628999Z"`), created, some(ms("2019-05-21T11:45:27.628Z"))},
		{"ISO 8601 with one fraction digit", at(`"2019-05-21T11:45:27.5Z"`), created, some(ms("2019-05-21T11:45:27.5Z"))},
		{"space separated without zone is IST", at(`"2019-05-21 17:15:27"`), created, some(ms("2019-05-21T11:45:27Z"))},
		{"without seconds is IST", at(`"2019-05-21T17:15"`), created, some(ms("2019-05-21T11:45:00Z"))},
		{"space before offset", at(`"2019-05-21 17:15:27 +05:30"`), created, some(ms("2019-05-21T11:45:27Z"))},
		{"bare date is IST midnight", at(`"2019-05-21"`), created, some(ms("2019-05-20T18:30:00Z"))},
		{"leap day", at(`"2020-02-29T00:00:00Z"`), created, some(ms("2020-02-29T00:00:00Z"))},
		{"not a leap day", at(`"2019-02-29T00:00:00Z"`), created, null},
		{"month 13", at(`"2019-13-01"`), created, null},
		{"hour 24", at(`"2019-05-21T24:00:00Z"`), created, null},
		{"garbage", at(`"yesterday"`), created, null},
		{"trailing garbage", at(`"2019-05-21T17:15:27+05:30 IST"`), created, null},
		{"empty string", at(`""`), created, null},
		{"boolean", at(`true`), created, null},
		{"object", at(`{}`), created, null},
		{"null", at(`null`), created, null},
		{"before 1900", at(`-2208988801`), created, null},
		{"after 2299 in milliseconds", at(`10413792000000`), created, null},
		{"huge", at(`1e300`), created, null},
		{"year 1900 first instant", at(`"1900-01-01T00:00:00Z"`), created, some(ms("1900-01-01T00:00:00Z"))},
	})
}

func TestNullsMissingAndEmptyAreNormal(t *testing.T) {
	runProbes(t, []probe{
		{"only lead_id", `{"lead_id": 5}`, func(r *schema.Rows) any {
			return []any{r.Count(), r.Lead.Action, r.Lead.ActionKnown, len(r.Lead.ExtraDetails), r.Lead.UnknownKeys, r.Lead.LatestCallID, r.Lead.LatestDispositionAt}
		}, []any{1, "", false, 0, []string(nil), schema.Opt[uint64]{}, schema.Opt[schema.Millis]{}}},
		{"nulls everywhere", lead(`, "notes": null, "calls": null, "cp_data": null, "extra_details": null, "status_changes": null, "name": null, "project_id": null`),
			func(r *schema.Rows) any {
				return []any{r.Count(), r.Lead.Name, r.Lead.ProjectID, len(r.Lead.ExtraDetails)}
			},
			[]any{1, "", schema.Opt[uint64]{}, 0}},
		{"empty containers", lead(`, "notes": [], "event_details": [], "extra_details": {}, "status_changes": {}, "latest_event_details": {}`),
			func(r *schema.Rows) any { return []any{r.Count(), r.Lead.NotesCount, r.Lead.LatestEventID} },
			[]any{1, uint32(0), schema.Opt[uint64]{}}},
		{"empty element objects still make rows", lead(`, "calls": [{}], "dispositions": [{}]`),
			func(r *schema.Rows) any {
				return []any{len(r.Calls), r.Lead.LatestCallID, r.Lead.LatestCallStatus, r.Dispositions[0].DispositionType}
			}, []any{1, some(uint64(0)), "", ""}},
	})
}

func TestWrongTypedContainersAreIgnored(t *testing.T) {
	runProbes(t, []probe{
		{"notes as object, calls as string, events as number", lead(`, "notes": {}, "calls": "x", "event_details": 5, "booking_docs": true`),
			func(r *schema.Rows) any { return r.Count() }, 1},
		{"extra_details as array, cp_data as string", lead(`, "extra_details": [1], "cp_data": "x", "booking_details": 3`),
			func(r *schema.Rows) any { return []any{len(r.Lead.ExtraDetails), r.Lead.CPID, r.Lead.BookingArea} },
			[]any{0, schema.Opt[uint64]{}, schema.Opt[float64]{}}},
		{"status_changes as array", lead(`, "status_changes": [{"moved_to_new": 1}]`),
			func(r *schema.Rows) any { return len(r.Transitions) }, 0},
		{"agent_details as string", lead(`, "notes": [{"note_id": 1, "agent_id": 7, "agent_details": "x"}]`),
			func(r *schema.Rows) any { return r.Notes[0].Agent }, schema.Agent{AgentID: some(uint64(7))}},
		{"non-object elements make no row but keep their index", lead(`, "dispositions": [1, "a", null, {"id": 4}]`),
			func(r *schema.Rows) any {
				return []any{len(r.Dispositions), r.Dispositions[0].Position, r.Lead.LatestDispositionType, r.Lead.DispositionsCount}
			}, []any{1, uint16(3), "", uint32(1)}},
	})
}

func TestUnknownKeysAreKept(t *testing.T) {
	body := lead(`, "zeta": 1, "alpha": {"x": [1]}, "zeta": 2, "name": "n"`)
	runProbes(t, []probe{
		{"unknown top-level keys listed sorted, once", body,
			func(r *schema.Rows) any { return r.Lead.UnknownKeys }, []string{"alpha", "zeta"}},
		{"raw is the body as received", body, func(r *schema.Rows) any { return r.Lead.Raw }, body},
		{"unknown keys inside known objects do not count", lead(`, "cp_data": {"new_field": 1}, "calls": [{"id": 1, "new": 2}]`),
			func(r *schema.Rows) any { return r.Lead.UnknownKeys }, []string(nil)},
	})
}

func TestStringsKeepWhatWasSent(t *testing.T) {
	runProbes(t, []probe{
		{"escapes decoded", lead(`, "name": "a\"b\\c\/d\n\u00e9\ud83d\ude00"`),
			func(r *schema.Rows) any { return r.Lead.Name }, "a\"b\\c/d\né😀"},
		{"escaped backslash before the closing quote", lead(`, "name": "q\\", "city": "\"\\\"", "email": "\u0022"`),
			func(r *schema.Rows) any { return []string{r.Lead.Name, r.Lead.City, r.Lead.Email} }, []string{`q\`, `"\"`, `"`}},
		{"lone surrogate becomes U+FFFD", lead(`, "name": "x\ud83dy"`),
			func(r *schema.Rows) any { return r.Lead.Name }, "x\uFFFDy"},
		{"escaped key recognised", `{"lead\u005fid": 9, "na\u006de": "n"}`,
			func(r *schema.Rows) any { return []any{r.Lead.LeadID, r.Lead.Name} }, []any{uint64(9), "n"}},
		{"invalid UTF-8 kept as bytes", lead(", \"name\": \"\xff\xfe ok\""),
			func(r *schema.Rows) any { return r.Lead.Name }, "\xff\xfe ok"},
		{"raw control character kept", lead(", \"data\": 1, \"name\": \"a\tb\x01\""),
			func(r *schema.Rows) any { return r.Lead.Name }, "a\tb\x01"},
		{"leading byte order mark accepted", "\xef\xbb\xbf" + lead(`, "name": "bom"`),
			func(r *schema.Rows) any { return r.Lead.Name }, "bom"},
		{"surrounding spaces kept in raw text", lead(`, "name": "History "`),
			func(r *schema.Rows) any { return r.Lead.Name }, "History "},
	})
}

func TestCanonicalValuesBesideRaw(t *testing.T) {
	runProbes(t, []probe{
		{"statuses", lead(`, "lead_status": " booking DONE ", "last_status": "In Call Center", "status_changes": {"status_before_cc": "Interest"}`),
			func(r *schema.Rows) any {
				l := r.Lead
				return []string{l.LeadStatus, l.LeadStatusRaw, l.LastStatus, l.LastStatusRaw, l.StatusBeforeCC, l.StatusBeforeCCRaw}
			}, []string{"booking_done", " booking DONE ", "in_call_center", "In Call Center", "interested", "Interest"}},
		{"known action alias", lead(`, "action": "call_logged"`),
			func(r *schema.Rows) any { return []any{r.Lead.Action, r.Lead.ActionRaw, r.Lead.ActionKnown} },
			[]any{"call_created", "call_logged", true}},
		{"unknown action kept", lead(`, "action": "Lead Merged"`),
			func(r *schema.Rows) any { return []any{r.Lead.Action, r.Lead.ActionRaw, r.Lead.ActionKnown} },
			[]any{"lead_merged", "Lead Merged", false}},
		{"disposition and event types", lead(`, "dispositions": [{"disposition_type": "Follow up"}], "event_details": [{"event_type": "Site Visit"}], "latest_event_details": {"event_type": "face to face"}`),
			func(r *schema.Rows) any {
				return []string{r.Dispositions[0].DispositionType, r.Dispositions[0].DispositionTypeRaw, r.Events[0].EventType, r.Events[0].EventTypeRaw, r.Lead.LatestEventType, r.Lead.LatestEventTypeRaw}
			}, []string{"follow_up", "Follow up", "sv", "Site Visit", "f2f", "face to face"}},
	})
}

func TestDerivedFromLatestElements(t *testing.T) {
	calls := `, "calls": [{"id": 2, "duration_in_sec": 61, "first_leg_status": "completed", "second_leg_status": "%s", "start_time": 1558080720}, {"id": 1, "second_leg_status": "completed"}]`
	runProbes(t, []probe{
		{"latest call is calls[0] and its status the second leg's", lead(fmt.Sprintf(calls, "failed")),
			func(r *schema.Rows) any {
				l := r.Lead
				return []any{l.LatestCallID, l.LatestCallDurationSec, l.LatestCallStatus, l.LatestCallAt}
			}, []any{some(uint64(2)), some(int64(61)), "failed", some(ms("2019-05-17T08:12:00Z"))}},
		{"latest call status falls back to the first leg", lead(fmt.Sprintf(calls, "")),
			func(r *schema.Rows) any { return r.Lead.LatestCallStatus }, "completed"},
		{"latest disposition is dispositions[0]", lead(`, "dispositions": [{"id": 2, "disposition_type": "patch out", "created_at": 1558080727}, {"id": 1, "disposition_type": "junk"}]`),
			func(r *schema.Rows) any {
				l := r.Lead
				return []any{l.LatestDispositionType, l.LatestDispositionTypeRaw, l.LatestDispositionAt}
			}, []any{"patch_out", "patch out", some(ms("2019-05-17T08:12:07Z"))}},
		{"counts are rows made, event notes included", lead(`, "notes": [{"note_id": 1}], "event_details": [{"event_id": 3, "notes": [{"note_id": 2}, {"note_id": 4}]}], "booking_docs": [{"id": 1}, {"id": 2}]`),
			func(r *schema.Rows) any {
				l := r.Lead
				return []uint32{l.NotesCount, l.EventsCount, l.CallsCount, l.DispositionsCount, l.BookingDocsCount, r.Events[0].NotesCount}
			}, []uint32{3, 1, 0, 0, 2, 2}},
		{"event notes carry the event id, lead notes none", lead(`, "event_details": [{"notes": [{"note_id": 2}], "event_id": 3}], "notes": [{"note_id": 1}]`),
			func(r *schema.Rows) any { return []any{r.Notes[0].EventID, r.Notes[1].EventID, r.Notes[1].Position} },
			[]any{schema.Opt[uint64]{}, some(uint64(3)), uint16(0)}},
		{"agent id from agent_details first, else the element's", lead(`, "notes": [{"agent_id": 1, "agent_details": {"id": 2}}, {"agent_id": 3, "agent_details": {"name": "x"}}], "calls": [{"agent_id": "4"}]`),
			func(r *schema.Rows) any { return []any{r.Notes[0].AgentID, r.Notes[1].AgentID, r.Calls[0].AgentID} },
			[]any{some(uint64(2)), some(uint64(3)), some(uint64(4))}},
		{"booking doc keeps its own lead id", lead(`, "booking_docs": [{"id": 1127, "lead_id": 1402447}]`),
			func(r *schema.Rows) any { return []any{r.BookingDocs[0].DocLeadID, r.BookingDocs[0].LeadID} },
			[]any{some(uint64(1402447)), uint64(1)}},
	})
}

func TestStatusTransitions(t *testing.T) {
	runProbes(t, []probe{
		{"one row per moved_to key with a time, in order", lead(`, "status_changes": {"moved_to_visit_done": 100, "moved_to_in_call_center": "1970-01-01T00:03:20Z", "moved_to_interested": null, "moved_to_junk": "soon", "other": 1, "moved_to_Final_Negotitaion": 300}`),
			func(r *schema.Rows) any { return transitions(r) },
			[]string{"0 visit_done moved_to_visit_done 1970-01-01T00:01:40Z", "1 in_call_center moved_to_in_call_center 1970-01-01T00:03:20Z", "2 final_negotiation moved_to_Final_Negotitaion 1970-01-01T00:05:00Z"}},
		{"status_before_cc stamped on every row, wherever it comes", lead(`, "status_changes": {"moved_to_new": 1, "moved_to_fresh": 2, "status_before_cc": "Claimed"}`),
			func(r *schema.Rows) any {
				return []string{r.Transitions[0].StatusBeforeCC, r.Transitions[0].StatusBeforeCCRaw, r.Transitions[1].StatusBeforeCC}
			}, []string{"claimed", "Claimed", "claimed"}},
	})
}

func TestLeadIDMustBePositiveInteger(t *testing.T) {
	tests := []struct {
		body, value, msg string
	}{
		{`{}`, "", "missing lead_id"},
		{`{"name": "x"}`, "", "missing lead_id"},
		{`{"lead_id": null}`, "null", "invalid lead_id null: want a positive integer"},
		{`{"lead_id": 0}`, "0", "invalid lead_id 0: want a positive integer"},
		{`{"lead_id": -5}`, "-5", "invalid lead_id -5: want a positive integer"},
		{`{"lead_id": 1.5}`, "1.5", "invalid lead_id 1.5: want a positive integer"},
		{`{"lead_id": "abc"}`, `"abc"`, `invalid lead_id "abc": want a positive integer`},
		{`{"lead_id": ""}`, `""`, `invalid lead_id "": want a positive integer`},
		{`{"lead_id": true}`, "true", "invalid lead_id true: want a positive integer"},
		{`{"lead_id": [1]}`, "[1]", "invalid lead_id [1]: want a positive integer"},
		{`{"lead_id": 18446744073709551616}`, "18446744073709551616", "invalid lead_id 18446744073709551616: want a positive integer"},
		{`{"lead_id": 1, "lead_id": "x"}`, `"x"`, `invalid lead_id "x": want a positive integer`},
		{`{"data": {"lead_id": 1}}`, "", "missing lead_id"},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			_, err := flatten.Flatten([]byte(tt.body), receivedAt)
			var le *flatten.LeadIDError
			if !errors.As(err, &le) || !errors.Is(err, flatten.ErrNoLeadID) {
				t.Fatalf("got %v, want a *LeadIDError matching ErrNoLeadID", err)
			}
			if le.Value != tt.value || err.Error() != tt.msg {
				t.Errorf("value %q, message %q; want %q, %q", le.Value, err.Error(), tt.value, tt.msg)
			}
			if errors.Is(err, flatten.ErrNotJSON) || errors.Is(err, flatten.ErrNotObject) {
				t.Error("matches another sentinel too")
			}
		})
	}
}

func TestNotAnObjectIsErrNotObject(t *testing.T) {
	for _, body := range []string{`[]`, `[{"lead_id": 1}]`, `"x"`, `1`, `null`, `true`} {
		_, err := flatten.Flatten([]byte(body), receivedAt)
		if !errors.Is(err, flatten.ErrNotObject) || errors.Is(err, flatten.ErrNotJSON) {
			t.Errorf("%s: got %v, want ErrNotObject only", body, err)
		}
	}
}

func TestSyntaxErrorsCarryOffset(t *testing.T) {
	tests := []struct {
		body   string
		offset int64
	}{
		{``, 0},
		{`   `, 3},
		{`{`, 1},
		{`{"lead_id" 1}`, 11},
		{`{"lead_id": 1,}`, 14},
		{`{"lead_id": 1 "x": 2}`, 14},
		{`{lead_id: 1}`, 1},
		{`{"a": [1, 2}`, 11},
		{`{"a": [1, ]}`, 10},
		{`{"a": tru}`, 9},
		{`{"a": nul}`, 9},
		{`{"a": 01}`, 7},
		{`{"a": -}`, 7},
		{`{"a": 1.}`, 8},
		{`{"a": 1e}`, 8},
		{`{"a": .5}`, 6},
		{`{"a": +1}`, 6},
		{`{"a": "x\q"}`, 9},
		{`{"a": "\u12G4"}`, 11},
		{`{"a": "unterminated}`, 20},
		{`{"a": 1}}`, 8},
		{`{"a": 1} x`, 9},
		{`{"a": NaN}`, 6},
		{`{'a': 1}`, 1},
		{"\xef\xbb{}", 0},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			_, err := flatten.Flatten([]byte(tt.body), receivedAt)
			var se *flatten.SyntaxError
			if !errors.As(err, &se) || !errors.Is(err, flatten.ErrNotJSON) {
				t.Fatalf("got %v, want a *SyntaxError", err)
			}
			if se.Offset != tt.offset {
				t.Errorf("offset %d, want %d (%v)", se.Offset, tt.offset, err)
			}
		})
	}
}
