package sql

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/leadhouse/leadhouse/flatten"
)

// TestReadStatusCountsRowsDeadLettersAndTodaysScenarios fills a warehouse with callbacks and
// rejected requests from today, yesterday and further back, and checks every number of the
// status page against what was inserted.
func TestReadStatusCountsRowsDeadLettersAndTodaysScenarios(t *testing.T) {
	s := migrated(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	booked := seed(t, 31)
	salesBookingDone(booked)
	failed1, failed2 := seed(t, 32), seed(t, 33)
	ccFailed(failed1)
	ccFailed(failed2)
	old := seed(t, 34)
	salesFailed(old)
	ds := []delivery{
		{booked.bytes(), now.Add(-time.Minute)},
		{booked.bytes(), now}, // a re-delivery: two rows, one scenario match
		{failed1.bytes(), now},
		{failed2.bytes(), now},
		{old.bytes(), now.Add(-48 * time.Hour)},
	}
	wantRows := map[string]int64{}
	for _, d := range ds {
		rows, err := flatten.Flatten(d.body, d.at)
		if err != nil {
			t.Fatal(err)
		}
		wantRows["lead_updates"]++
		wantRows["events"] += int64(len(rows.Events))
		wantRows["notes"] += int64(len(rows.Notes))
		wantRows["calls"] += int64(len(rows.Calls))
		wantRows["dispositions"] += int64(len(rows.Dispositions))
		wantRows["status_transitions"] += int64(len(rows.Transitions))
		wantRows["booking_docs"] += int64(len(rows.BookingDocs))
	}
	deliver(t, s, ds[:1]...)
	deliver(t, s, ds[1:]...)

	dl := func(at time.Time, reason, body string) string {
		return fmt.Sprintf("(%s, '10.0.0.1:5000', '%s', 'rejected', %d, '%s')", chDateTime(at), reason, len(body), body)
	}
	exec(t, s, "INSERT INTO dead_letters (received_at, remote_addr, reason, error, body_size, body) VALUES "+strings.Join([]string{
		dl(now.Add(-3*time.Hour), "not_json", "{a"),
		dl(now.Add(-3*time.Hour), "not_json", "{a"), // the same request, replayed after a crash
		dl(now.Add(-2*time.Hour), "not_json", "{bb"),
		dl(now.Add(-time.Hour), "not_callback", "[1,2,3]"),
		dl(now.Add(-30*time.Hour), "not_callback", "[]"), // before the last 24 hours
	}, ", "))
	wantRows["dead_letters"] = 5

	st, err := ReadStatus(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	var rows []TableRows
	for _, tb := range StatusTables() {
		rows = append(rows, TableRows{tb, wantRows[tb]})
	}
	if !reflect.DeepEqual(st.Rows, rows) {
		t.Errorf("rows per table %v, want %v", st.Rows, rows)
	}
	if want := []ReasonCount{{"not_json", 2}, {"not_callback", 1}}; !reflect.DeepEqual(st.DeadLetters, want) {
		t.Errorf("dead letters of the last 24 h %v, want %v", st.DeadLetters, want)
	}
	wantNewest := []DeadLetter{
		{now.Add(-time.Hour), "not_callback", 7},
		{now.Add(-2 * time.Hour), "not_json", 3},
		{now.Add(-3 * time.Hour), "not_json", 2},
	}
	if !reflect.DeepEqual(st.NewestDeadLetters, wantNewest) {
		t.Errorf("newest dead letters %v, want %v", st.NewestDeadLetters, wantNewest)
	}
	if today := now.In(IST).Format(time.DateOnly); st.Day != today {
		// Only at IST midnight, between the inserts and the query.
		t.Fatalf("day %q, want today in IST %q", st.Day, today)
	}
	want := []ScenarioCount{
		{"cc_long_call_followup", 0, 0},
		{"cc_transferred_to_sales", 0, 0},
		{"cc_failed", 2, 2},
		{"sales_site_visit_done", 0, 0},
		{"sales_booking_done", 1, 1},
		{"sales_failed", 0, 0}, // the one sales failure was two days ago
	}
	if !reflect.DeepEqual(st.Scenarios, want) {
		t.Errorf("today's scenarios %v, want %v", st.Scenarios, want)
	}
}

func TestReadStatusOfAnEmptyWarehouseListsEveryTableAndScenario(t *testing.T) {
	s := migrated(t)
	st, err := ReadStatus(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Rows) != len(StatusTables()) || len(st.Scenarios) != 6 || st.Day == "" {
		t.Fatalf("status %+v: want a zero for every table and scenario, and today", st)
	}
	for _, r := range st.Rows {
		if r.Rows != 0 {
			t.Errorf("table %s has %d rows", r.Table, r.Rows)
		}
	}
	for i, sc := range st.Scenarios {
		if sc.Scenario != Scenarios()[i] || sc.Callbacks != 0 || sc.Leads != 0 {
			t.Errorf("scenario %d: %+v", i, sc)
		}
	}
	if st.DeadLetters == nil || len(st.DeadLetters) != 0 || len(st.NewestDeadLetters) != 0 {
		t.Errorf("dead letters %v %v, want an empty list of each", st.DeadLetters, st.NewestDeadLetters)
	}
}

// TestReadFunnelFiltersByProjectAndDay reads the funnel of three leads: two in project alpha
// (one of them failed later), one in beta that booked.
func TestReadFunnelFiltersByProjectAndDay(t *testing.T) {
	s := migrated(t)
	day := func(d int) int64 { return time.Date(2031, time.January, d, 12, 0, 0, 0, ist).Unix() }
	lead := func(id uint64, project string, moves map[string]any) delivery {
		return delivery{seed(t, id).set("project_name", project).set("status_changes", moves).bytes(), time.Unix(day(20), 0)}
	}
	deliver(t, s,
		lead(11, "alpha", map[string]any{"moved_to_new": day(1), "moved_to_claimed": day(2), "moved_to_interested": day(5), "moved_to_failed": day(6)}),
		lead(12, "alpha", map[string]any{"moved_to_new": day(1)}),
		lead(13, "beta", map[string]any{"moved_to_new": day(3), "moved_to_claimed": day(3), "moved_to_booking_done": day(4)}),
	)
	tests := []struct {
		name    string
		filter  FunnelFilter
		stages  string // new claimed interested meeting_done visit_done final_negotiation booking_done
		dropped string // failed junk
	}{
		{"every project", FunnelFilter{}, "3 2 1 0 0 0 1", "1 0"},
		{"one project", FunnelFilter{Project: "alpha"}, "2 1 1 0 0 0 0", "1 0"},
		{"since a day", FunnelFilter{Since: time.Date(2031, time.January, 3, 0, 0, 0, 0, ist)}, "1 1 1 0 0 0 1", "1 0"},
		{"since a day given in UTC counts its IST day", FunnelFilter{Since: time.Date(2031, time.January, 2, 20, 0, 0, 0, time.UTC)}, "1 1 1 0 0 0 1", "1 0"},
		{"a project name that needs quoting", FunnelFilter{Project: `al'pha\`}, "0 0 0 0 0 0 0", "0 0"},
	}
	counts := func(sc []StageCount) string {
		var b []string
		for _, c := range sc {
			b = append(b, fmt.Sprint(c.Leads))
		}
		return strings.Join(b, " ")
	}
	for _, tt := range tests {
		f, err := ReadFunnel(context.Background(), s, tt.filter)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := counts(f.Stages); got != tt.stages {
			t.Errorf("%s: stages %s, want %s", tt.name, got, tt.stages)
		}
		if got := counts(f.Dropped); got != tt.dropped {
			t.Errorf("%s: dropped %s, want %s", tt.name, got, tt.dropped)
		}
		if f.Stages[0].Status != "new" || f.Stages[6].Status != "booking_done" || f.Dropped[0].Status != "failed" {
			t.Errorf("%s: stages %v %v are not in pipeline order", tt.name, f.Stages, f.Dropped)
		}
	}
}
