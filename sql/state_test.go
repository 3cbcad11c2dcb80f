package sql

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leadhouse/leadhouse/flatten"
	"github.com/leadhouse/leadhouse/gen"
	"github.com/leadhouse/leadhouse/schema"
	"github.com/leadhouse/leadhouse/sink/clickhouse"
)

// currentViews are the views that give a lead's or an entity's current state, with the columns
// that describe a delivery rather than the state: when and in which order the chosen copy
// arrived. Delivered in another order, those may differ; every other column may not.
var currentViews = []struct {
	name     string
	delivery []string
}{
	{"leads_current", []string{"last_seen_at", "last_seen_at_ist", "first_seen_at", "first_seen_at_ist", "arrival"}},
	{"events_current", []string{"received_at", "received_at_ist", "arrival", "first_seen_at"}},
	{"notes_current", []string{"received_at", "received_at_ist", "arrival", "first_seen_at"}},
	{"calls_current", []string{"received_at", "received_at_ist", "arrival", "first_seen_at"}},
	{"dispositions_current", []string{"received_at", "received_at_ist", "arrival", "first_seen_at"}},
	{"booking_docs_current", []string{"received_at", "received_at_ist", "arrival", "first_seen_at"}},
	{"status_transitions_current", []string{"received_at", "received_at_ist", "arrival", "first_seen_at"}},
	{"lead_status_durations", nil},
	{"lead_funnel", nil},
	{"cc_to_sales_handoffs", nil},
	{"scenario_counts", nil},
}

// viewRows returns every row of view, all columns but skip, sorted, as one string.
func viewRows(t *testing.T, db DB, view string, skip []string) string {
	t.Helper()
	var cols []string
	for _, r := range query(t, db, "DESCRIBE "+view) {
		if !slices.Contains(skip, r[0]) {
			cols = append(cols, r[0])
		}
	}
	list := strings.Join(cols, ", ")
	return queryString(t, db, "SELECT "+list+" FROM "+view+" ORDER BY "+list)
}

// story is one lead's history as the CRM would tell it: n callbacks, each a change stamped with
// a CRM time newer than the one before (a status move), to entities that carry their own update
// times: the latest call gets longer, an event changes status, a note is added, the latest
// disposition changes.
func story(t *testing.T, lead uint64, n int) [][]byte {
	t.Helper()
	const t0 = 1558400000 // after every time of the sample
	statuses := []string{"New", "Claimed", "Interested", "In Call Center", "Fresh", "Meeting done", "Visit done", "Final negotiation", "Booking done"}
	dispositions := []string{"followup", "patch_out", "call_back", "not_contacted", "fresh"} // the twelfth is a handoff
	moves := map[string]any{}
	p := seed(t, lead)
	var bodies [][]byte
	for k := range n {
		at := int64(t0 + 600*k)
		status := statuses[k%len(statuses)]
		moves["moved_to_"+strings.ReplaceAll(strings.ToLower(status), " ", "_")] = at
		changes := map[string]any{}
		for key, v := range moves {
			changes[key] = v
		}
		p.set("status_changes", changes).set("lead_status", status).set("action", "status_update").
			set("calls.0.duration_in_sec", 10*k).set("calls.0.updated_at", at).
			set("event_details.0.event_status", []string{"scheduled", "completed", "cancelled"}[k%3]).
			set("event_details.0.event_updated_at", at).
			set("dispositions.0.disposition_type", dispositions[k%len(dispositions)])
		p.push("notes", 0, func(nt map[string]any) {
			nt["note_id"] = 900000 + k
			nt["data"] = fmt.Sprintf("note %d", k)
			nt["created_at"], nt["updated_at"] = at, at
		})
		bodies = append(bodies, p.bytes())
	}
	return bodies
}

// TestShuffledDeliveryGivesTheInOrderState delivers each lead's callbacks in CRM order into one
// database and shuffled, with late re-deliveries, into another, and checks that every current
// view says the same in both: the state follows the CRM's time, not the order of arrival. The
// shuffled database's states are also merged (OPTIMIZE FINAL) while the other's are not, so
// background merges cannot change the answer either.
func TestShuffledDeliveryGivesTheInOrderState(t *testing.T) {
	var bodies [][]byte
	for lead := uint64(300); lead < 306; lead++ {
		bodies = append(bodies, story(t, lead, 12)...)
	}
	start := at(t, "2019-05-21T00:00:00Z")
	deliverOrder := func(s *clickhouse.Store, order []int) {
		t.Helper()
		ds := make([]delivery, len(order))
		arrivals := make([]uint64, len(order))
		for j, i := range order {
			ds[j] = delivery{bodies[i], start.Add(time.Duration(j) * time.Minute)}
			arrivals[j] = uint64(j + 1)
		}
		// Several inserts, as several flushes would make them.
		for lo := 0; lo < len(ds); lo += 17 {
			hi := min(lo+17, len(ds))
			deliverArrived(t, s, ds[lo:hi], arrivals[lo:hi])
		}
	}
	inOrder := make([]int, len(bodies))
	for i := range inOrder {
		inOrder[i] = i
	}
	r := rand.New(rand.NewPCG(14, 14))
	shuffled := slices.Clone(inOrder)
	r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	// Late re-deliveries of early callbacks, after everything else.
	shuffled = append(shuffled, 0, 12, 1, 24)

	ordered, mixed := migrated(t), migrated(t)
	deliverOrder(ordered, inOrder)
	deliverOrder(mixed, shuffled)
	optimizeFinal(t, mixed)

	if got := queryString(t, ordered, "SELECT count() FROM leads_current"); got != "6\n" {
		t.Fatalf("leads_current has %q leads, want 6", got)
	}
	if got := queryString(t, ordered, "SELECT DISTINCT lead_status FROM leads_current"); got != "interested\n" {
		t.Fatalf("in CRM order the leads end in %q, want their twelfth status, interested", got)
	}
	for _, v := range currentViews {
		want := viewRows(t, ordered, v.name, v.delivery)
		if want == "" {
			t.Errorf("%s is empty: the test proves nothing about it", v.name)
			continue
		}
		if got := viewRows(t, mixed, v.name, v.delivery); got != want {
			t.Errorf("%s delivered shuffled differs from in order:\n%s", v.name, lineDiff(got, want))
		}
	}
	// The old definitions, by received_at, get it wrong: that is what the state fixes.
	oldViews(t, ordered)
	oldViews(t, mixed)
	if viewRows(t, mixed, "leads_current_old", nil) == viewRows(t, ordered, "leads_current_old", nil) {
		t.Error("the received_at definition of leads_current gives the same answer shuffled; the shuffle proves nothing")
	}
}

// oldViewName matches the views 0002 and 0003 define.
var oldViewName = regexp.MustCompile(`\b(lead_updates_dedup|lead_scenarios|scenario_[a-z_]+|leads_current|events_current|notes_current|calls_current|dispositions_current|booking_docs_current|status_transitions_current|lead_status_durations|lead_funnel|cc_to_sales_handoffs|dead_letters_recent|unrecognized_values)\b`)

// oldViews creates the views as migrations 0002 and 0003 defined them, before the state tables,
// each named with the suffix _old: the definitions that read every stored callback at query
// time and order by received_at.
func oldViews(t *testing.T, db DB) {
	t.Helper()
	for _, f := range Files() {
		if f.Version != 2 && f.Version != 3 {
			continue
		}
		st, err := f.Statements()
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range st {
			if strings.HasPrefix(s.SQL, "CREATE OR REPLACE VIEW ") {
				exec(t, db, oldViewName.ReplaceAllString(s.SQL, "${1}_old"))
			}
		}
	}
}

// consistentHistory returns n generated callbacks as a CRM would deliver them in order: sorted by
// crm_updated_at (ties in generation order), with each status's last move never going back in time
// (gen draws the moves afresh for every callback; a CRM only moves them forward). Rewriting the
// moves to the running maximum leaves every callback's crm_updated_at as it was, since the moves
// of earlier callbacks are no newer than their own crm_updated_at.
func consistentHistory(t *testing.T, n, leads int) [][]byte {
	t.Helper()
	g := gen.New(gen.Options{Seed: 7, Leads: leads})
	type item struct {
		body []byte
		crm  schema.Millis
		i    int
	}
	items := make([]item, n)
	for i := range items {
		b := g.Next(nil)
		rows, err := flatten.Flatten(b, time.Unix(0, 0))
		if err != nil {
			t.Fatal(err)
		}
		items[i] = item{b, rows.Lead.CRMUpdatedAt, i}
	}
	slices.SortStableFunc(items, func(a, b item) int { return int(a.crm - b.crm) })
	last := map[uint64]map[string]schema.Millis{} // lead -> move key -> time
	out := make([][]byte, n)
	for k, it := range items {
		rows, err := flatten.Flatten(it.body, time.Unix(0, 0))
		if err != nil {
			t.Fatal(err)
		}
		lead := rows.Lead.LeadID
		if last[lead] == nil {
			last[lead] = map[string]schema.Millis{}
		}
		for _, tr := range rows.Transitions {
			if prev, seen := last[lead][tr.StatusKey]; !seen || prev < tr.MovedAt {
				last[lead][tr.StatusKey] = tr.MovedAt
			}
		}
		d := json.NewDecoder(bytes.NewReader(it.body))
		d.UseNumber()
		var m map[string]any
		if err := d.Decode(&m); err != nil {
			t.Fatal(err)
		}
		changes, _ := m["status_changes"].(map[string]any)
		if changes == nil {
			changes = map[string]any{}
		}
		for key, v := range last[lead] {
			changes[key] = json.Number(fmt.Sprintf("%d.%03d", v/1000, v%1000))
		}
		m["status_changes"] = changes
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		rows, err = flatten.Flatten(b, time.Unix(0, 0))
		if err != nil {
			t.Fatal(err)
		}
		if rows.Lead.CRMUpdatedAt != it.crm {
			t.Fatalf("callback %d: carrying the moves forward changed crm_updated_at from %d to %d", it.i, it.crm, rows.Lead.CRMUpdatedAt)
		}
		out[k] = b
	}
	return out
}

// TestStateMatchesTodaysViewsOverGeneratedData runs the views as 0002 and 0003 defined them (at
// query time, by received_at) next to the state-backed ones over generated callbacks delivered in
// CRM order, where the two definitions must agree: every view, every column. scenario_counts is
// compared with lead_scenarios counted the same way.
func TestStateMatchesTodaysViewsOverGeneratedData(t *testing.T) {
	bodies := consistentHistory(t, 1500, 120)
	s := migrated(t)
	// The old views read the copies the entity tables hold, and those tables are
	// ReplacingMergeTree(received_at), which collapse an entity's copies within every insert and
	// in merges: their first_seen_at depended on batching. Plain MergeTree tables under the same
	// names (the state's materialized views follow the names) keep every copy for them to read.
	for _, tb := range schema.RowTables()[1:] {
		exec(t, s, "CREATE TABLE "+tb.Name+"_plain AS "+tb.Name+" ENGINE = MergeTree ORDER BY (lead_id)")
		exec(t, s, "EXCHANGE TABLES "+tb.Name+" AND "+tb.Name+"_plain")
	}
	start := at(t, "2019-06-01T00:00:00Z")
	var ds []delivery
	var arrivals []uint64
	for i, b := range bodies {
		n := 1
		if i%97 == 3 {
			// A re-delivery right after the first (the CRM retrying at once): every view counts
			// it once. A late one is what the old definitions get wrong, see
			// TestShuffledDeliveryGivesTheInOrderState.
			n = 2
		}
		for range n {
			ds = append(ds, delivery{b, start.Add(time.Duration(len(ds)) * time.Second)})
			arrivals = append(arrivals, uint64(len(ds)))
		}
	}
	for lo := 0; lo < len(ds); lo += 250 {
		hi := min(lo+250, len(ds))
		deliverArrived(t, s, ds[lo:hi], arrivals[lo:hi])
	}
	oldViews(t, s)
	// Where the old definitions cannot agree, for reasons of their own:
	//   * arrival of leads_current: the old view kept a callback's first delivery, the state its
	//     last; the column is new (0004) and describes the delivery, not the lead.
	//   * an entity whose copies disagree on its own update time (gen shortens long notes to fit
	//     a payload, drawing an event note's times afresh): the old views took the last copy
	//     received, the state the newest by the CRM; only entities whose copies agree compare.
	own := map[string]string{
		"events_current": "event_updated_at", "notes_current": "updated_at", "calls_current": "updated_at",
		"dispositions_current": "created_at", "booking_docs_current": "updated_at",
	}
	// Status moves need no filter: consistentHistory moves them forward only.
	keyOf := map[string]string{
		"events_current": "event_id", "notes_current": "note_id", "calls_current": "call_id",
		"dispositions_current": "disposition_id", "booking_docs_current": "doc_id",
	}
	for _, v := range currentViews {
		if v.name == "scenario_counts" {
			continue
		}
		skip := []string{"first_crm_updated_at"}
		if v.name == "leads_current" {
			skip = append(skip, "arrival")
		}
		from := func(view string) string { return view }
		if key, ok := keyOf[v.name]; ok {
			table := strings.TrimSuffix(v.name, "_current")
			consistent := fmt.Sprintf("(lead_id, %s) IN (SELECT lead_id, %s FROM %s GROUP BY lead_id, %s HAVING uniqExact(%s) = 1)", key, key, table, key, own[v.name])
			all, kept := queryString(t, s, "SELECT uniqExact(lead_id, "+key+") FROM "+table), queryString(t, s, "SELECT count() FROM "+v.name+" WHERE "+consistent)
			var a, k int
			fmt.Sscan(all, &a)
			fmt.Sscan(kept, &k)
			if k < 20 || k*2 < a {
				t.Errorf("%s: only %d of %d entities have consistent copies: too few to compare", v.name, k, a)
			}
			from = func(view string) string { return "(SELECT * FROM " + view + " WHERE " + consistent + ")" }
		}
		got, want := viewRows(t, s, from(v.name), skip), viewRows(t, s, from(v.name+"_old"), skip)
		if strings.Count(got, "\n") < 20 {
			t.Errorf("%s has %d rows: too few to compare", v.name, strings.Count(got, "\n"))
		}
		if got != want {
			t.Errorf("%s differs from its 0002 definition:\n%s", v.name, lineDiff(got, want))
		}
	}
	counted := `SELECT toDate(u.crm_updated_at, 'Asia/Kolkata') AS day_ist, s.scenario, s.project_name, s.source,
		count() AS callbacks, uniqExact(s.lead_id) AS leads
		FROM lead_scenarios_old AS s JOIN lead_updates_dedup_old AS u ON u.lead_id = s.lead_id AND u.callback_id = s.callback_id
		GROUP BY day_ist, s.scenario, s.project_name, s.source ORDER BY ALL`
	want := queryString(t, s, counted)
	if strings.Count(want, "\n") < 10 {
		t.Fatalf("lead_scenarios has %d groups: too few to compare", strings.Count(want, "\n"))
	}
	if got := queryString(t, s, "SELECT * FROM scenario_counts ORDER BY ALL"); got != want {
		t.Errorf("scenario_counts differs from lead_scenarios counted:\n%s", lineDiff(got, want))
	}
}

// lineDiff lists the first lines only got has and only want has.
func lineDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	var b strings.Builder
	fmt.Fprintf(&b, "%d lines, want %d\n", len(g), len(w))
	n := 0
	for _, l := range g {
		if !slices.Contains(w, l) && n < 3 {
			fmt.Fprintf(&b, "only got:  %.400s\n", l)
			n++
		}
	}
	n = 0
	for _, l := range w {
		if !slices.Contains(g, l) && n < 3 {
			fmt.Fprintf(&b, "only want: %.400s\n", l)
			n++
		}
	}
	return b.String()
}
