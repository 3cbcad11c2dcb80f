package sql

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leadhouse/leadhouse/schema"
)

// The scenario tests build every callback from the CRM's sample by editing it. In the sample the
// action is lead_update, lead_status "Final negotiation", last_status "Visit done", the latest
// disposition "followup", the latest call 0 s long and the latest event f2f: it matches nothing.

func ccLongCallFollowup(p *payload) {
	p.set("action", "disposition_created").set("lead_status", "In Call Center").
		set("dispositions.0.disposition_type", "followup").set("calls.0.duration_in_sec", 61)
}

func ccTransferred(p *payload) {
	p.set("action", "disposition_created").set("lead_status", "In Call Center").
		set("dispositions.0.disposition_type", "patch_out")
}

func ccFailed(p *payload) {
	p.set("action", "status_update").set("lead_status", "Failed").set("last_status", "In Call Center").
		set("dispositions.0.disposition_type", "failed")
}

func salesSiteVisitDone(p *payload) {
	p.set("action", "event_update").set("lead_status", "Visit done").set("last_status", "Meeting done").
		set("latest_event_details.event_type", "sv")
}

func salesBookingDone(p *payload) {
	p.set("action", "status_update").set("lead_status", "Booking done").set("last_status", "Final negotitaion")
}

func salesFailed(p *payload) {
	p.set("action", "status_update").set("lead_status", "Failed").set("last_status", "Final negotitaion")
}

// then applies edits in order.
func then(edits ...func(*payload)) func(*payload) {
	return func(p *payload) {
		for _, e := range edits {
			e(p)
		}
	}
}

func setTo(path string, v any) func(*payload) { return func(p *payload) { p.set(path, v) } }

// TestScenarios feeds one callback per case, each for its own lead, and checks exactly which
// scenarios fire for it.
func TestScenarios(t *testing.T) {
	tests := []struct {
		name string
		edit func(*payload)
		want []string
	}{
		{"the sample itself", func(*payload) {}, nil},

		{"cc long call followup: the document's example", ccLongCallFollowup, []string{"cc_long_call_followup"}},
		{"cc long call followup: disposition spelled follow_up", then(ccLongCallFollowup, setTo("dispositions.0.disposition_type", "follow_up")), []string{"cc_long_call_followup"}},
		{"cc long call followup: status spelled ' in call CENTER '", then(ccLongCallFollowup, setTo("lead_status", " in call CENTER ")), []string{"cc_long_call_followup"}},
		{"cc long call followup: call of exactly 60 s", then(ccLongCallFollowup, setTo("calls.0.duration_in_sec", 60)), nil},
		{"cc long call followup: the long call is not the latest", func(p *payload) {
			ccLongCallFollowup(p)
			p.set("calls.0.duration_in_sec", 30)
			p.push("calls", 0, func(c map[string]any) { c["id"] = 2379; c["duration_in_sec"] = 600 })
		}, nil},
		{"cc long call followup: no calls", then(ccLongCallFollowup, setTo("calls", []any{})), nil},
		{"cc long call followup: followup is not the latest disposition", func(p *payload) {
			ccLongCallFollowup(p)
			p.set("dispositions.0.disposition_type", "call_back")
			p.push("dispositions", 0, func(d map[string]any) { d["id"] = 120; d["disposition_type"] = "followup" })
		}, nil},
		{"cc long call followup: action is required", then(ccLongCallFollowup, setTo("action", "call_created")), nil},
		{"cc long call followup: lead already failed", then(ccLongCallFollowup, setTo("lead_status", "Failed")), nil},

		{"cc transferred to sales: patch_out", ccTransferred, []string{"cc_transferred_to_sales"}},
		{"cc transferred to sales: fresh", then(ccTransferred, setTo("dispositions.0.disposition_type", "fresh")), []string{"cc_transferred_to_sales"}},
		{"cc transferred to sales: spelled 'Patch Out'", then(ccTransferred, setTo("dispositions.0.disposition_type", "Patch Out")), []string{"cc_transferred_to_sales"}},
		{"cc transferred to sales: whatever the lead status", then(ccTransferred, setTo("lead_status", "Fresh")), []string{"cc_transferred_to_sales"}},
		{"cc transferred to sales: fresh is not the latest disposition", func(p *payload) {
			ccTransferred(p)
			p.set("dispositions.0.disposition_type", "not_contacted")
			p.push("dispositions", 0, func(d map[string]any) { d["id"] = 120; d["disposition_type"] = "fresh" })
		}, nil},
		{"cc transferred to sales: not a disposition_created callback", then(ccTransferred, setTo("action", "status_update")), nil},

		{"cc failed: the document's example", ccFailed, []string{"cc_failed"}},
		{"cc failed: status_and_agent_update", then(ccFailed, setTo("action", "status_and_agent_update")), []string{"cc_failed"}},
		{"cc failed: spelled Fail with a junk disposition", then(ccFailed, setTo("lead_status", "Fail"), setTo("dispositions.0.disposition_type", "junk")), []string{"cc_failed"}},
		{"cc failed: Junk", then(ccFailed, setTo("lead_status", "Junk")), []string{"cc_failed"}},
		{"cc failed: after an unanswered call (the title's 60 s is not a condition)", then(ccFailed, setTo("calls.0.duration_in_sec", 0)), []string{"cc_failed"}},
		{"cc failed: disposition still followup", then(ccFailed, setTo("dispositions.0.disposition_type", "followup")), nil},
		{"cc failed: last status empty is not the call center", then(ccFailed, setTo("last_status", nil)), []string{"sales_failed"}},
		{"cc failed: agent_update is not a status change", then(ccFailed, setTo("action", "agent_update")), nil},

		{"sales site visit done: the document's example", salesSiteVisitDone, []string{"sales_site_visit_done"}},
		{"sales site visit done: status spelled ' visit DONE '", then(salesSiteVisitDone, setTo("lead_status", " visit DONE ")), []string{"sales_site_visit_done"}},
		{"sales site visit done: latest event face to face", then(salesSiteVisitDone, setTo("latest_event_details.event_type", "f2f")), nil},
		{"sales site visit done: latest event a followup", then(salesSiteVisitDone, setTo("latest_event_details.event_type", "followup")), nil},
		{"sales site visit done: a status_update callback", then(salesSiteVisitDone, setTo("action", "status_update")), nil},
		{"sales site visit done: meeting done is not a visit", then(salesSiteVisitDone, setTo("lead_status", "Meeting done")), nil},

		{"sales booking done: the document's example", salesBookingDone, []string{"sales_booking_done"}},
		{"sales booking done: spelled ' booking DONE '", then(salesBookingDone, setTo("lead_status", " booking DONE ")), []string{"sales_booking_done"}},
		{"sales booking done: spelled Booking-Done", then(salesBookingDone, setTo("lead_status", "Booking-Done")), []string{"sales_booking_done"}},
		{"sales booking done: status_and_agent_update is not in the rule", then(salesBookingDone, setTo("action", "status_and_agent_update")), nil},
		{"sales booking done: a lead_updated callback", then(salesBookingDone, setTo("action", "lead_updated")), nil},

		{"sales failed: the document's example", salesFailed, []string{"sales_failed"}},
		{"sales failed: spelled Fail after Interest", then(salesFailed, setTo("lead_status", "Fail"), setTo("last_status", "Interest")), []string{"sales_failed"}},
		{"sales failed: Junk after Interested", then(salesFailed, setTo("lead_status", "Junk"), setTo("last_status", "Interested")), []string{"sales_failed"}},
		{"sales failed: after Final negotiation", then(salesFailed, setTo("last_status", "Final negotiation")), []string{"sales_failed"}},
		{"sales failed: last status null", then(salesFailed, setTo("last_status", nil)), []string{"sales_failed"}},
		{"sales failed: last status absent", func(p *payload) { salesFailed(p); p.del("last_status") }, []string{"sales_failed"}},
		{"sales failed: last status empty", then(salesFailed, setTo("last_status", "")), []string{"sales_failed"}},
		{"sales failed: even with a failed disposition", then(salesFailed, setTo("dispositions.0.disposition_type", "failed")), []string{"sales_failed"}},
		{"sales failed: after the call center it is the call center's", then(salesFailed, setTo("last_status", "in_call_center"), setTo("dispositions.0.disposition_type", "junk")), []string{"cc_failed"}},
		{"sales failed: after the call center with no failed disposition", then(salesFailed, setTo("last_status", "IN CALL CENTER")), nil},
		{"sales failed: status_and_agent_update is not in the rule", then(salesFailed, setTo("action", "status_and_agent_update")), nil},

		{"call_logged is a call, not a scenario", then(ccLongCallFollowup, setTo("action", "call_logged")), nil},
	}
	s := migrated(t)
	base := at(t, "2019-05-17T08:20:07Z")
	leads := map[uint64]int{}
	var ds []delivery
	for i, tt := range tests {
		id := uint64(9_000_000 + i)
		p := seed(t, id)
		tt.edit(p)
		ds = append(ds, delivery{p.bytes(), base.Add(time.Duration(i) * time.Second)})
		leads[id] = i
	}
	deliver(t, s, ds...)
	got := map[uint64][]string{}
	for _, r := range query(t, s, "SELECT lead_id, scenario FROM lead_scenarios ORDER BY lead_id, scenario") {
		var id uint64
		fmt.Sscan(r[0], &id)
		if _, ok := leads[id]; !ok {
			t.Errorf("scenario %s fired for lead %d, which no case sent", r[1], id)
		}
		got[id] = append(got[id], r[1])
	}
	for _, id := range slices.Sorted(maps.Keys(leads)) {
		tt := tests[leads[id]]
		if strings.Join(got[id], ",") != strings.Join(tt.want, ",") {
			t.Errorf("%s: scenarios %v, want %v", tt.name, got[id], tt.want)
		}
	}
}

var scenarioViews = []string{
	"scenario_cc_long_call_followup", "scenario_cc_transferred_to_sales", "scenario_cc_failed",
	"scenario_sales_site_visit_done", "scenario_sales_booking_done", "scenario_sales_failed",
}

// TestScenarioViewsShareOneShape guards lead_scenarios, which stacks the six views by position:
// they must have the same columns in the same order.
func TestScenarioViewsShareOneShape(t *testing.T) {
	s := migrated(t)
	describe := func(view string) string {
		var b strings.Builder
		for _, r := range query(t, s, "DESCRIBE TABLE "+view) {
			b.WriteString(r[0] + " " + r[1] + "\n")
		}
		return b.String()
	}
	want := describe(scenarioViews[0])
	for _, v := range scenarioViews[1:] {
		if got := describe(v); got != want {
			t.Errorf("%s columns:\n%s\ndiffer from %s:\n%s", v, got, scenarioViews[0], want)
		}
	}
	if got := describe("lead_scenarios"); got != "scenario String\n"+want {
		t.Errorf("lead_scenarios columns:\n%s\nwant scenario then the scenario views' columns", got)
	}
	for _, col := range []string{"lead_id", "callback_id", "received_at", "received_at_ist", "action", "lead_status", "last_status",
		"project_id", "project_name", "source", "agent_name", "agent_email",
		"latest_disposition_type", "latest_call_duration_sec", "latest_event_type"} {
		if !strings.Contains("\n"+want, "\n"+col+" ") {
			t.Errorf("scenario views lack column %s", col)
		}
	}
}

func TestScenarioRowCarriesRuleFields(t *testing.T) {
	s := migrated(t)
	p := seed(t, 77)
	ccLongCallFollowup(p)
	received := at(t, "2019-05-17T20:00:00.250Z") // 01:30 the next day in IST
	id := deliver(t, s, delivery{p.bytes(), received})[0]
	got := queryString(t, s, `SELECT scenario, lead_id, callback_id, received_at, received_at_ist, action, lead_status,
		last_status, project_id, project_name, source, agent_name, agent_email, latest_disposition_type,
		latest_disposition_type_raw, latest_call_duration_sec, latest_event_type FROM lead_scenarios`)
	want := strings.Join([]string{"cc_long_call_followup", "77", id, "2019-05-17 20:00:00.250", "2019-05-18 01:30:00.250",
		"disposition_created", "in_call_center", "visit_done", "1046", "santacruz", "facebook", "Tanvi Tyagi",
		"tanvi.tyagi@anarock.com", "follow_up", "followup", "61", "f2f"}, "\t") + "\n"
	if got != want {
		t.Errorf("lead_scenarios row:\n got %q\nwant %q", got, want)
	}
}

// check is a query and the result it must give.
type check struct{ query, want string }

func runChecks(t *testing.T, s DB, stage string, checks []check) {
	t.Helper()
	for _, c := range checks {
		if got := queryString(t, s, c.query); got != c.want {
			t.Errorf("%s: %s\n got %q\nwant %q", stage, c.query, got, c.want)
		}
	}
}

func optimizeFinal(t *testing.T, s DB) {
	t.Helper()
	for _, tb := range []string{"lead_updates", "events", "notes", "calls", "dispositions", "status_transitions", "booking_docs"} {
		exec(t, s, "OPTIMIZE TABLE "+tb+" FINAL")
	}
	for _, st := range schema.StateTables() {
		exec(t, s, "OPTIMIZE TABLE "+st.Name+" FINAL")
	}
}

// TestRedeliveredCallbackCountsOnceEverywhere sends one callback twice, as the CRM does when our
// answer is lost, and checks that every view counts it once, before and after merges.
func TestRedeliveredCallbackCountsOnceEverywhere(t *testing.T) {
	s := migrated(t)
	p := seed(t, 42)
	ccTransferred(p)
	first, again := at(t, "2019-05-17T08:20:07Z"), at(t, "2019-05-17T08:20:37Z")
	id := deliver(t, s, delivery{p.bytes(), first})[0]
	if id2 := deliver(t, s, delivery{p.bytes(), again})[0]; id2 != id {
		t.Fatalf("the same body got callback ids %s and %s", id, id2)
	}
	if got := queryString(t, s, "SELECT count() FROM lead_updates"); got != "2\n" {
		t.Fatalf("lead_updates holds %q rows, want both deliveries before a merge", got)
	}
	checks := []check{
		{"SELECT count(), any(callback_id), any(received_at) FROM lead_updates_dedup", "1\t" + id + "\t2019-05-17 08:20:07.000\n"},
		{"SELECT scenario, count() FROM lead_scenarios GROUP BY scenario", "cc_transferred_to_sales\t1\n"},
		{"SELECT count() FROM scenario_cc_transferred_to_sales", "1\n"},
		{"SELECT count(), any(callbacks), any(first_seen_at) FROM leads_current", "1\t1\t2019-05-17 08:20:07.000\n"},
		{"SELECT count() FROM cc_to_sales_handoffs", "1\n"},
		{"SELECT sum(leads), count() FROM lead_funnel", "12\t12\n"},
		{"SELECT count() FROM lead_status_durations", "11\n"},
		{"SELECT scenario, sum(callbacks), sum(leads) FROM scenario_counts GROUP BY scenario", "cc_transferred_to_sales\t1\t1\n"},
	}
	for view, key := range map[string]string{
		"events_current": "event_id", "notes_current": "note_id", "calls_current": "call_id",
		"dispositions_current": "disposition_id", "booking_docs_current": "doc_id", "status_transitions_current": "status",
	} {
		table := strings.TrimSuffix(view, "_current")
		distinct := queryString(t, s, "SELECT uniqExact(lead_id, "+key+") FROM "+table)
		if distinct == "0\n" {
			t.Fatalf("the sample has no %s", table)
		}
		checks = append(checks, check{"SELECT count(), uniqExact(lead_id, " + key + "), min(first_seen_at) FROM " + view,
			strings.TrimSpace(distinct) + "\t" + strings.TrimSpace(distinct) + "\t2019-05-17 08:20:07.000\n"})
	}
	runChecks(t, s, "before merges", checks)
	optimizeFinal(t, s)
	if got := queryString(t, s, "SELECT count() FROM lead_updates"); got != "2\n" {
		t.Fatalf("after OPTIMIZE FINAL lead_updates holds %q rows; as a plain MergeTree it keeps both deliveries", got)
	}
	// The entity tables are ReplacingMergeTree(received_at), whose merges keep an entity's last
	// copy only; the *_current views read the state tables, which keep the first arrival
	// whatever was merged, so nothing moves.
	runChecks(t, s, "after merges", checks)
}

// TestNewestMappingDecidesTheScenario: when a callback's rows come from two mapping versions (a
// rebuild after the mapping changed), its scenarios are those of the newest mapping's row, whether
// that row matches a rule the older one did not, or the other way round, and however the newer
// rows arrive (a rebuild may stage a partition and attach it). lead_scenarios filters by the rules
// before it de-duplicates, which is only sound while one mapping version is stored; this is the
// case that filter must step aside for.
func TestNewestMappingDecidesTheScenario(t *testing.T) {
	for _, tc := range []struct {
		name       string
		newer      string // the newer mapping's latest_disposition_type
		attach     bool   // the newer row arrives by ATTACH PARTITION, not INSERT
		want, with string
	}{
		{"the newer mapping no longer matches", "not_contacted", false, "", "0\n"},
		{"the older mapping matched another rule", "fresh", false, "cc_transferred_to_sales\t1\n", "1\n"},
		{"the newer mapping, attached, no longer matches", "not_contacted", true, "", "0\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := migrated(t)
			p := seed(t, 45)
			ccLongCallFollowup(p)
			deliver(t, s, delivery{p.bytes(), at(t, "2019-05-17T08:20:07Z")})
			newer := "SELECT * REPLACE (mapping_version + 1 AS mapping_version, '" + tc.newer + "' AS latest_disposition_type) FROM lead_updates"
			if tc.attach {
				exec(t, s, "CREATE TABLE staging AS lead_updates")
				exec(t, s, "INSERT INTO staging "+newer)
				exec(t, s, "ALTER TABLE lead_updates ATTACH PARTITION ID '201905' FROM staging")
			} else {
				exec(t, s, "INSERT INTO lead_updates "+newer)
			}
			runChecks(t, s, "two mappings", []check{
				{"SELECT count(), uniqExact(mapping_version) FROM lead_updates", "2\t2\n"},
				{"SELECT scenario, count() FROM lead_scenarios GROUP BY scenario", tc.want},
				{"SELECT count() FROM scenario_cc_transferred_to_sales", tc.with},
				{"SELECT count() FROM scenario_cc_long_call_followup", "0\n"},
			})
		})
	}
}

// TestRedeliveryAcrossMonthsCountsOnce covers what background merges never collapse: copies of a
// callback in two monthly partitions of lead_updates.
func TestRedeliveryAcrossMonthsCountsOnce(t *testing.T) {
	s := migrated(t)
	body := seed(t, 43).bytes()
	deliver(t, s, delivery{body, at(t, "2019-05-31T23:59:59.500Z")})
	deliver(t, s, delivery{body, at(t, "2019-06-01T00:00:00.500Z")})
	optimizeFinal(t, s)
	runChecks(t, s, "after merges", []check{
		{"SELECT count() FROM lead_updates", "2\n"},
		{"SELECT count(), any(received_at) FROM lead_updates_dedup", "1\t2019-05-31 23:59:59.500\n"},
		{"SELECT callbacks FROM leads_current", "1\n"},
	})
}

// TestLateRedeliveryKeepsLatestState: a callback re-delivered after a newer one must not pose as
// the lead's newest state: the newer one carries a newer CRM time.
func TestLateRedeliveryKeepsLatestState(t *testing.T) {
	s := migrated(t)
	older := seed(t, 44).set("lead_status", "Interest").bytes()
	// The move to Visit done is stamped after every other time of the sample.
	newer := seed(t, 44).set("lead_status", "Visit done").set("status_changes.moved_to_visit_done", 1558400000).bytes()
	ids := deliver(t, s, delivery{older, at(t, "2019-05-17T08:00:00Z")}, delivery{newer, at(t, "2019-05-17T09:00:00Z")})
	deliver(t, s, delivery{older, at(t, "2019-05-17T10:00:00Z")})
	runChecks(t, s, "after the late re-delivery", []check{
		{"SELECT last_callback_id, lead_status, callbacks, last_seen_at FROM leads_current",
			ids[1] + "\tvisit_done\t2\t2019-05-17 09:00:00.000\n"},
	})
}

func TestLeadsCurrentIsTheLatestCallback(t *testing.T) {
	s := migrated(t)
	t1, t2, t3 := at(t, "2019-05-17T08:00:00Z"), at(t, "2019-05-17T09:00:00Z"), at(t, "2019-05-18T19:00:00.125Z")
	b1 := seed(t, 50).set("lead_status", "Fresh").set("action", "lead_update").bytes()
	b2 := seed(t, 50).set("lead_status", "Claimed").set("action", "agent_update").bytes()
	b3 := seed(t, 50).set("lead_status", "Interest").set("action", "status_update").set("project_name", "andheri").bytes()
	// The three carry the same CRM times, so arrival decides (deliver numbers deliveries in the
	// order of their times), not the order of insertion.
	id3 := deliver(t, s, delivery{b3, t3})[0]
	deliver(t, s, delivery{b1, t1}, delivery{b2, t2})
	// Two callbacks of another lead with the same CRM time, received in the same millisecond: the
	// later arrival wins, whichever callback_id is greater.
	tie := deliver(t, s, delivery{seed(t, 51).set("name", "a").bytes(), t1}, delivery{seed(t, 51).set("name", "b").bytes(), t1})
	wantTie := tie[1]
	got := queryString(t, s, `SELECT lead_id, last_callback_id, lead_status, last_status, action, project_name, callbacks,
		last_seen_at, last_seen_at_ist, first_seen_at, first_seen_at_ist FROM leads_current WHERE lead_id = 50`)
	want := strings.Join([]string{"50", id3, "interested", "visit_done", "status_update", "andheri", "3",
		chTime(t3, time.UTC), chTime(t3, ist), chTime(t1, time.UTC), chTime(t1, ist)}, "\t") + "\n"
	if got != want {
		t.Errorf("lead 50:\n got %q\nwant %q", got, want)
	}
	if got := queryString(t, s, "SELECT last_callback_id, callbacks FROM leads_current WHERE lead_id = 51"); got != wantTie+"\t2\n" {
		t.Errorf("lead 51 with two callbacks in one millisecond: %q, want the later arrival %s", got, wantTie)
	}
	if got := queryString(t, s, "SELECT count() FROM leads_current"); got != "2\n" {
		t.Errorf("leads_current has %q rows, want one per lead", got)
	}
}

func TestCurrentViewsKeepTheLatestCopyOfEachEntity(t *testing.T) {
	s := migrated(t)
	t1, t2 := at(t, "2019-05-17T08:00:00Z"), at(t, "2019-05-17T09:00:00Z")
	before := seed(t, 60).set("event_details.0.event_status", "scheduled").set("calls.0.duration_in_sec", 5)
	after := seed(t, 60).set("event_details.0.event_status", "completed").set("calls.0.duration_in_sec", 95).
		push("notes", 0, func(n map[string]any) { n["note_id"] = 757700; n["data"] = "booked" })
	// The newer callback is inserted first: "latest" is by received_at, not insertion order.
	id2 := deliver(t, s, delivery{after.bytes(), t2})[0]
	deliver(t, s, delivery{before.bytes(), t1})
	runChecks(t, s, "current views", []check{
		{"SELECT event_id, event_status, callback_id, received_at, first_seen_at FROM events_current ORDER BY event_id",
			"1225388\tcompleted\t" + id2 + "\t2019-05-17 09:00:00.000\t2019-05-17 08:00:00.000\n" +
				"1225394\tcancelled\t" + id2 + "\t2019-05-17 09:00:00.000\t2019-05-17 08:00:00.000\n"},
		{"SELECT call_id, duration_sec FROM calls_current", "2380\t95\n"},
		{"SELECT count(), countIf(note_id = 757700), minIf(first_seen_at, note_id = 757700) FROM notes_current",
			"8\t1\t2019-05-17 09:00:00.000\n"},
		{"SELECT count() FROM notes_current WHERE event_id IS NOT NULL", "2\n"},
		{"SELECT doc_id, tag FROM booking_docs_current ORDER BY doc_id", "1126\tbooking_form\n1127\tcancelled_cheque\n"},
		{"SELECT disposition_id, disposition_type, created_at_ist FROM dispositions_current", "121\tfollow_up\t2019-05-17 13:42:07.000\n"},
	})
}

// istSeconds is the epoch second of an IST wall-clock time on 2019-05-day.
func istSeconds(day, hour, minute int) int64 {
	return time.Date(2019, time.May, day, hour, minute, 0, 0, ist).Unix()
}

func TestStatusDurations(t *testing.T) {
	s := migrated(t)
	t0 := istSeconds(17, 13, 30)
	first := seed(t, 70).set("status_changes", map[string]any{
		"moved_to_new": t0, "moved_to_claimed": t0 + 100, "moved_to_interested": t0 + 400,
		"moved_to_in_call_center": t0 + 1000, "status_before_cc": "Interested",
	})
	// The lead went back to interested later; status_changes keeps only that last entry.
	second := seed(t, 70).set("status_changes", map[string]any{
		"moved_to_new": t0, "moved_to_claimed": t0 + 100, "moved_to_interested": t0 + 500,
		"moved_to_in_call_center": t0 + 1000, "moved_to_fresh": t0 + 1600, "status_before_cc": "Interested",
	})
	deliver(t, s, delivery{first.bytes(), at(t, "2019-05-17T09:00:00Z")}, delivery{second.bytes(), at(t, "2019-05-17T10:00:00Z")})
	runChecks(t, s, "lead_status_durations", []check{
		{"SELECT lead_id, from_status, to_status, from_at_ist, to_at_ist, seconds FROM lead_status_durations ORDER BY from_at",
			"70\tnew\tclaimed\t2019-05-17 13:30:00.000\t2019-05-17 13:31:40.000\t100\n" +
				"70\tclaimed\tinterested\t2019-05-17 13:31:40.000\t2019-05-17 13:38:20.000\t400\n" +
				"70\tinterested\tin_call_center\t2019-05-17 13:38:20.000\t2019-05-17 13:46:40.000\t500\n" +
				"70\tin_call_center\tfresh\t2019-05-17 13:46:40.000\t2019-05-17 13:56:40.000\t600\n"},
		{"SELECT from_at, to_at FROM lead_status_durations WHERE from_status = 'new'",
			"2019-05-17 08:00:00.000\t2019-05-17 08:01:40.000\n"},
	})
}

// TestFunnel checks lead_funnel's definition: distinct leads per status by the IST day of their
// move to it, under each lead's current project and source.
func TestFunnel(t *testing.T) {
	s := migrated(t)
	lead := func(id uint64, project int, name, source string, changes map[string]any) *payload {
		return seed(t, id).set("project_id", project).set("project_name", name).set("source", source).set("status_changes", changes)
	}
	l1 := lead(81, 1, "alpha", "facebook", map[string]any{
		"moved_to_new": istSeconds(20, 10, 0), "moved_to_claimed": istSeconds(20, 12, 0), "moved_to_interested": istSeconds(21, 9, 0)})
	// Lead 82 moved from project beta to alpha: it counts under alpha in every stage. Its claim at
	// 00:30 IST on the 21st is 19:00 UTC on the 20th: IST decides the day.
	l2changes := map[string]any{"moved_to_new": istSeconds(20, 11, 0), "moved_to_claimed": istSeconds(21, 0, 30)}
	l2old := lead(82, 2, "beta", "google", l2changes)
	l2 := lead(82, 1, "alpha", "facebook", l2changes)
	l3 := lead(83, 2, "beta", "google", map[string]any{"moved_to_new": istSeconds(21, 10, 0), "moved_to_junk": istSeconds(21, 11, 0)})
	deliver(t, s,
		delivery{l1.bytes(), at(t, "2019-05-21T06:00:00Z")},
		delivery{l2old.bytes(), at(t, "2019-05-20T20:00:00Z")},
		delivery{l2.bytes(), at(t, "2019-05-21T07:00:00Z")},
		delivery{l3.bytes(), at(t, "2019-05-21T08:00:00Z")},
	)
	runChecks(t, s, "lead_funnel", []check{
		{"SELECT day_ist, project_id, project_name, source, status, status_order, leads FROM lead_funnel ORDER BY day_ist, project_id, status_order",
			"2019-05-20\t1\talpha\tfacebook\tnew\t1\t2\n" +
				"2019-05-20\t1\talpha\tfacebook\tclaimed\t3\t1\n" +
				"2019-05-21\t1\talpha\tfacebook\tclaimed\t3\t1\n" +
				"2019-05-21\t1\talpha\tfacebook\tinterested\t4\t1\n" +
				"2019-05-21\t2\tbeta\tgoogle\tnew\t1\t1\n" +
				"2019-05-21\t2\tbeta\tgoogle\tjunk\t13\t1\n"},
		{"SELECT status, sum(leads) FROM lead_funnel GROUP BY status ORDER BY min(status_order)",
			"new\t3\nclaimed\t2\ninterested\t1\njunk\t1\n"},
	})
}

func TestHandoffs(t *testing.T) {
	s := migrated(t)
	patched := seed(t, 90).set("project_name", "alpha").set("agent_name", "Sales Person").set("action", "disposition_created").
		set("dispositions.0.disposition_type", "Patch Out").set("dispositions.0.agent_name", "CC Agent").
		set("dispositions.0.created_at", istSeconds(17, 14, 0))
	// Without a created_at the handoff is dated by the CRM time of the first callback carrying it:
	// the sample's newest time, an event updated on 2019-05-20 at 12:29:51 UTC.
	undated := seed(t, 91).set("dispositions.0.disposition_type", "fresh").set("dispositions.0.created_at", nil)
	followup := seed(t, 92) // its only disposition is a followup: no handoff
	received := at(t, "2019-05-17T10:00:00Z")
	deliver(t, s, delivery{patched.bytes(), received}, delivery{undated.bytes(), received}, delivery{followup.bytes(), received})
	runChecks(t, s, "cc_to_sales_handoffs", []check{
		{`SELECT lead_id, disposition_id, disposition_type, disposition_type_raw, handed_off_at, handed_off_at_ist,
			cc_agent_name, project_id, project_name, source, current_lead_status, current_agent_name, current_agent_email
			FROM cc_to_sales_handoffs ORDER BY lead_id`,
			"90\t121\tpatch_out\tPatch Out\t2019-05-17 08:30:00.000\t2019-05-17 14:00:00.000\tCC Agent\t1046\talpha\tfacebook\tfinal_negotiation\tSales Person\ttanvi.tyagi@anarock.com\n" +
				"91\t121\tfresh\tfresh\t2019-05-20 12:29:51.000\t2019-05-20 17:59:51.000\tname\t1046\tsantacruz\tfacebook\tfinal_negotiation\tTanvi Tyagi\ttanvi.tyagi@anarock.com\n"},
	})
}

// TestDocumentedSpellingsReachCanonicalColumns sends every spelling the document and its
// variants use and checks the canonical value the views compare.
func TestDocumentedSpellingsReachCanonicalColumns(t *testing.T) {
	tests := []struct{ path, sent, column, want string }{
		{"lead_status", "New", "lead_status", "new"},
		{"lead_status", "Fresh", "lead_status", "fresh"},
		{"lead_status", "Claimed", "lead_status", "claimed"},
		{"lead_status", "Interest", "lead_status", "interested"},
		{"lead_status", "Interested", "lead_status", "interested"},
		{"lead_status", "Meeting done", "lead_status", "meeting_done"},
		{"lead_status", "Visit done", "lead_status", "visit_done"},
		{"lead_status", "Final negotitaion", "lead_status", "final_negotiation"},
		{"lead_status", "Final negotiation", "lead_status", "final_negotiation"},
		{"lead_status", "Booking done", "lead_status", "booking_done"},
		{"lead_status", " booking DONE ", "lead_status", "booking_done"},
		{"lead_status", "Fail", "lead_status", "failed"},
		{"lead_status", "Failed", "lead_status", "failed"},
		{"lead_status", "Junk", "lead_status", "junk"},
		{"lead_status", "In Call Center", "lead_status", "in_call_center"},
		{"last_status", "In Call Center", "last_status", "in_call_center"},
		{"action", "call_created", "action", "call_created"},
		{"action", "call_logged", "action", "call_created"},
		{"action", "lead_update", "action", "lead_update"},
		{"action", "lead_updated", "action", "lead_update"},
		{"action", "status_and_agent_update", "action", "status_and_agent_update"},
		{"dispositions.0.disposition_type", "followup", "latest_disposition_type", "follow_up"},
		{"dispositions.0.disposition_type", "follow_up", "latest_disposition_type", "follow_up"},
		{"dispositions.0.disposition_type", "patch_out", "latest_disposition_type", "patch_out"},
		{"dispositions.0.disposition_type", "not_contacted", "latest_disposition_type", "not_contacted"},
		{"dispositions.0.disposition_type", "call_back", "latest_disposition_type", "call_back"},
		{"latest_event_details.event_type", "followup", "latest_event_type", "followup"},
		{"latest_event_details.event_type", "sv", "latest_event_type", "sv"},
		{"latest_event_details.event_type", "f2f", "latest_event_type", "f2f"},
	}
	s := migrated(t)
	var ds []delivery
	for i, tt := range tests {
		ds = append(ds, delivery{seed(t, uint64(1000+i)).set(tt.path, tt.sent).bytes(), at(t, "2019-05-17T08:00:00Z")})
	}
	deliver(t, s, ds...)
	for i, tt := range tests {
		got := queryString(t, s, fmt.Sprintf("SELECT %s FROM lead_updates_dedup WHERE lead_id = %d", tt.column, 1000+i))
		if got != tt.want+"\n" {
			t.Errorf("%s %q: %s = %q, want %q", tt.path, tt.sent, tt.column, strings.TrimSpace(got), tt.want)
		}
	}
}

func TestUnrecognizedValues(t *testing.T) {
	s := migrated(t)
	received := at(t, "2019-05-17T08:00:00Z")
	deliver(t, s,
		delivery{seed(t, 95).set("action", "Lead Archived").set("lead_status", "Hot Lead").set("new_field", 1).bytes(), received},
		delivery{seed(t, 96).set("dispositions.0.disposition_type", "Wrong Number").set("latest_event_details.event_type", "call").bytes(), received},
		delivery{seed(t, 97).bytes(), received}, // the sample: everything known
	)
	runChecks(t, s, "unrecognized_values", []check{
		{"SELECT field, value, raw_example, callbacks, leads FROM unrecognized_values ORDER BY field, value",
			"action\tlead_archived\tLead Archived\t1\t1\n" +
				"latest_disposition_type\twrong_number\tWrong Number\t1\t1\n" +
				"latest_event_type\tcall\tcall\t1\t1\n" +
				"lead_status\thot_lead\tHot Lead\t1\t1\n" +
				"top_level_key\tnew_field\tnew_field\t1\t1\n"},
	})
}

func TestDeadLettersRecent(t *testing.T) {
	s := migrated(t)
	long := strings.Repeat("x", 1000)
	exec(t, s, "INSERT INTO dead_letters (received_at, remote_addr, reason, error, body_size, body) VALUES "+
		"(now64(3, 'UTC') - INTERVAL 1 HOUR, '10.0.0.1', 'not_json', 'not JSON at byte 0', 1000, '"+long+"'), "+
		"(now64(3, 'UTC') - INTERVAL 30 DAY, '10.0.0.2', 'not_json', 'old', 3, 'old')")
	runChecks(t, s, "dead_letters_recent", []check{
		{"SELECT remote_addr, reason, error, body_size, length(body_head) FROM dead_letters_recent",
			"10.0.0.1\tnot_json\tnot JSON at byte 0\t1000\t300\n"},
	})
}

// TestDeadLetterReplayedAfterACrashShowsOnce: the WAL can replay a rejected body in another batch
// (another token), so dead_letters holds two copies with the same arrival; the view shows one,
// while a second delivery of the same body at another time stays a second row.
func TestDeadLetterReplayedAfterACrashShowsOnce(t *testing.T) {
	s := migrated(t)
	at := "toDateTime64('" + time.Now().UTC().Add(-time.Hour).Format("2006-01-02 15:04:05.000") + "', 3, 'UTC')"
	row := "(" + at + ", '10.0.0.1', 'not_json', 'not JSON at byte 0', 3, 'x y')"
	exec(t, s, "INSERT INTO dead_letters (received_at, remote_addr, reason, error, body_size, body) SETTINGS insert_deduplication_token = 'a' VALUES "+row)
	exec(t, s, "INSERT INTO dead_letters (received_at, remote_addr, reason, error, body_size, body) SETTINGS insert_deduplication_token = 'b' VALUES "+row)
	exec(t, s, "INSERT INTO dead_letters (received_at, remote_addr, reason, error, body_size, body) VALUES "+
		"("+at+" + INTERVAL 1 SECOND, '10.0.0.1', 'not_json', 'not JSON at byte 0', 3, 'x y')")
	runChecks(t, s, "dead_letters_recent", []check{
		{"SELECT count() FROM dead_letters", "3\n"},
		{"SELECT count() FROM dead_letters_recent", "2\n"},
	})
}

// TestQueryingExamplesRun runs every SQL example of the README (its "Querying" section) on data,
// so the documentation cannot drift from the views.
func TestQueryingExamplesRun(t *testing.T) {
	doc, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := migrated(t)
	p := seed(t, 1402361)
	salesSiteVisitDone(p)
	deliver(t, s, delivery{p.bytes(), time.Now().Add(-time.Hour)})
	var n int
	for _, block := range strings.Split(string(doc), "```sql\n")[1:] {
		body, _, _ := strings.Cut(block, "```")
		st, err := Split(body)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range st {
			n++
			if len(query(t, s, q.SQL)) == 0 {
				t.Errorf("example returns no rows on a lead that should show in it:\n%s", q.SQL)
			}
		}
	}
	if n < 2 {
		t.Errorf("README.md has %d SQL examples, want at least 2", n)
	}
}
