package sql

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// IST is India Standard Time, the views' calendar (day_ist). It has had no daylight saving since
// 1945, so a fixed zone needs no tzdata.
var IST = time.FixedZone("IST", 5*3600+1800)

// Funnel is how many leads reached each stage of the sales pipeline, from lead_funnel.
type Funnel struct {
	// Stages are the pipeline's statuses in order (see FunnelStages), zeros included.
	Stages []StageCount
	// Dropped are the statuses that end a lead's way through the pipeline: failed and junk.
	Dropped []StageCount
}

// StageCount is the number of distinct leads that moved to one status.
type StageCount struct {
	Status string
	Leads  int64
}

// FunnelFilter narrows ReadFunnel.
type FunnelFilter struct {
	// Project keeps the leads whose current project_name is Project. Default "": every project.
	Project string
	// Since keeps the moves made on or after Since's day in IST. Default zero: every move.
	Since time.Time
}

// FunnelStages returns the sales pipeline's statuses in order, as lead_funnel's status_order
// ranks them (the call center's and the closing statuses left out).
func FunnelStages() []string {
	return []string{"new", "claimed", "interested", "meeting_done", "visit_done", "final_negotiation", "booking_done"}
}

func droppedStages() []string { return []string{"failed", "junk"} }

// ReadFunnel reads the funnel from lead_funnel. A lead counts once per status it ever moved to
// (the CRM keeps the last move to each), so each stage can be compared with the one before it.
func ReadFunnel(ctx context.Context, db DB, f FunnelFilter) (Funnel, error) {
	stages, dropped := FunnelStages(), droppedStages()
	all := append(append([]string(nil), stages...), dropped...)
	quoted := make([]string, len(all))
	for i, s := range all {
		quoted[i] = quoteString(s)
	}
	q := "SELECT status, sum(leads) FROM lead_funnel WHERE status IN (" + strings.Join(quoted, ", ") + ")"
	if f.Project != "" {
		q += " AND project_name = " + quoteString(f.Project)
	}
	if !f.Since.IsZero() {
		q += " AND day_ist >= toDate(" + quoteString(f.Since.In(IST).Format(time.DateOnly)) + ")"
	}
	q += " GROUP BY status"
	rows, err := queryRows(ctx, db, q, 2)
	if err != nil {
		return Funnel{}, fmt.Errorf("read lead_funnel: %w", err)
	}
	leads := make(map[string]int64, len(rows))
	for _, r := range rows {
		n, err := parseInt(r[1], "leads")
		if err != nil {
			return Funnel{}, fmt.Errorf("read lead_funnel: %w", err)
		}
		leads[r[0]] = n
	}
	count := func(names []string) []StageCount {
		out := make([]StageCount, len(names))
		for i, s := range names {
			out[i] = StageCount{Status: s, Leads: leads[s]}
		}
		return out
	}
	return Funnel{Stages: count(stages), Dropped: count(dropped)}, nil
}
