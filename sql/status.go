package sql

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Status is the warehouse's side of leadhouse's status page: counts only, never a body or a
// personal field, so the page can show it without a token.
type Status struct {
	// Rows is the number of rows stored in each table the pipeline writes, in StatusTables' order.
	// These are stored rows, every re-delivered copy included, not distinct callbacks.
	Rows []TableRows
	// DeadLetters counts the requests rejected in the last 24 hours, by reason, most first. A
	// request replayed after a crash counts once, as in dead_letters_recent.
	DeadLetters []ReasonCount
	// NewestDeadLetters are the latest rejected requests of the last 24 hours, newest first.
	NewestDeadLetters []DeadLetter
	// Day is today in IST (the views' calendar), as YYYY-MM-DD.
	Day string
	// Scenarios counts today's matches of each of the six scenarios, in the CRM document's order
	// (see Scenarios), zeros included.
	Scenarios []ScenarioCount
}

// TableRows is the number of rows stored in one table.
type TableRows struct {
	Table string
	Rows  int64
}

// ReasonCount is the number of dead letters with one reason.
type ReasonCount struct {
	Reason string
	Count  int64
}

// DeadLetter describes one rejected request without its body.
type DeadLetter struct {
	ReceivedAt time.Time // UTC
	Reason     string
	BodyBytes  int64
}

// ScenarioCount is one scenario's matches: callbacks, and the distinct leads they are about.
type ScenarioCount struct {
	Scenario  string
	Callbacks int64
	Leads     int64
}

// StatusTables returns the tables ReadStatus counts, in the order the pipeline flushes them.
func StatusTables() []string {
	return []string{"lead_updates", "events", "notes", "calls", "dispositions", "status_transitions", "booking_docs", "dead_letters"}
}

// Scenarios returns lead_scenarios' six scenarios, in the CRM document's order.
func Scenarios() []string {
	return []string{"cc_long_call_followup", "cc_transferred_to_sales", "cc_failed", "sales_site_visit_done", "sales_booking_done", "sales_failed"}
}

// NewestDeadLetters is how many rejected requests ReadStatus lists.
const NewestDeadLetters = 5

// ReadStatus reads Status from db. Every query is cheap on the table sizes leadhouse sees, except
// the scenarios, which read today's share of lead_scenarios (a quarter of a second per million
// callbacks): callers should cache the answer for a few seconds rather than read it per view.
func ReadStatus(ctx context.Context, db DB) (Status, error) {
	var st Status
	var err error
	if st.Rows, err = readTableRows(ctx, db); err != nil {
		return Status{}, fmt.Errorf("count rows per table: %w", err)
	}
	if st.DeadLetters, err = readDeadLetterReasons(ctx, db); err != nil {
		return Status{}, fmt.Errorf("count dead letters: %w", err)
	}
	if st.NewestDeadLetters, err = readNewestDeadLetters(ctx, db); err != nil {
		return Status{}, fmt.Errorf("list newest dead letters: %w", err)
	}
	if st.Day, st.Scenarios, err = readScenariosToday(ctx, db); err != nil {
		return Status{}, fmt.Errorf("count today's scenarios: %w", err)
	}
	return st, nil
}

func readTableRows(ctx context.Context, db DB) ([]TableRows, error) {
	// count() of a MergeTree table is answered from part metadata, without reading columns.
	tables := StatusTables()
	parts := make([]string, len(tables))
	for i, t := range tables {
		parts[i] = fmt.Sprintf("SELECT %d AS i, count() FROM %s", i, t)
	}
	rows, err := queryRows(ctx, db, "SELECT * FROM ("+strings.Join(parts, " UNION ALL ")+") ORDER BY i", 2)
	if err != nil {
		return nil, err
	}
	if len(rows) != len(tables) {
		return nil, fmt.Errorf("%d rows, want one per table (%d)", len(rows), len(tables))
	}
	out := make([]TableRows, len(rows))
	for i, r := range rows {
		n, err := parseInt(r[1], "count of "+tables[i])
		if err != nil {
			return nil, err
		}
		out[i] = TableRows{Table: tables[i], Rows: n}
	}
	return out, nil
}

// deadLetters24h is dead_letters_recent's last 24 hours: dead_letters_recent keeps one copy of a
// request replayed after a crash.
const deadLetters24h = "dead_letters_recent WHERE received_at >= now64(3, 'UTC') - INTERVAL 24 HOUR"

func readDeadLetterReasons(ctx context.Context, db DB) ([]ReasonCount, error) {
	rows, err := queryRows(ctx, db, "SELECT reason, count() AS n FROM "+deadLetters24h+" GROUP BY reason ORDER BY n DESC, reason", 2)
	if err != nil {
		return nil, err
	}
	out := make([]ReasonCount, 0, len(rows))
	for _, r := range rows {
		n, err := parseInt(r[1], "count")
		if err != nil {
			return nil, err
		}
		out = append(out, ReasonCount{Reason: r[0], Count: n})
	}
	return out, nil
}

func readNewestDeadLetters(ctx context.Context, db DB) ([]DeadLetter, error) {
	rows, err := queryRows(ctx, db, fmt.Sprintf("SELECT received_at, reason, body_size FROM %s ORDER BY received_at DESC LIMIT %d",
		deadLetters24h, NewestDeadLetters), 3)
	if err != nil {
		return nil, err
	}
	out := make([]DeadLetter, 0, len(rows))
	for _, r := range rows {
		at, err := parseTime(r[0], "received_at")
		if err != nil {
			return nil, err
		}
		size, err := parseInt(r[2], "body_size")
		if err != nil {
			return nil, err
		}
		out = append(out, DeadLetter{ReceivedAt: at, Reason: r[1], BodyBytes: size})
	}
	return out, nil
}

func readScenariosToday(ctx context.Context, db DB) (string, []ScenarioCount, error) {
	// The filter on received_at stays outside lead_scenarios (it picks a callback's earliest
	// delivery first), so the view reads every callback with a rule's action: fine for a page
	// that caches its answer.
	q := `SELECT toDate(now(), 'Asia/Kolkata') AS day, scenario, count(), uniqExact(lead_id)
FROM lead_scenarios
WHERE toDate(received_at_ist) = day
GROUP BY scenario`
	rows, err := queryRows(ctx, db, q, 4)
	if err != nil {
		return "", nil, err
	}
	counts := make(map[string]ScenarioCount, len(rows))
	for _, r := range rows {
		n, err := parseInt(r[2], "callbacks")
		if err != nil {
			return "", nil, err
		}
		leads, err := parseInt(r[3], "leads")
		if err != nil {
			return "", nil, err
		}
		counts[r[1]] = ScenarioCount{Scenario: r[1], Callbacks: n, Leads: leads}
	}
	day := ""
	if len(rows) > 0 {
		day = rows[0][0]
	} else {
		// No match today: the day still comes from the store's clock, like the counts.
		r, err := queryRows(ctx, db, "SELECT toDate(now(), 'Asia/Kolkata')", 1)
		if err != nil {
			return "", nil, err
		}
		if len(r) != 1 {
			return "", nil, fmt.Errorf("today: %d rows", len(r))
		}
		day = r[0][0]
	}
	names := Scenarios()
	out := make([]ScenarioCount, len(names))
	for i, s := range names {
		out[i] = counts[s]
		out[i].Scenario = s
	}
	return day, out, nil
}
