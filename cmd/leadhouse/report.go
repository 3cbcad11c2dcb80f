package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/leadhouse/leadhouse/report"
	lhsql "github.com/leadhouse/leadhouse/sql"
)

const reportUsage = `usage: leadhouse report <report> [flags]

reports:
  funnel [--project P] [--since T]
      the sales funnel as a bar chart: distinct leads that moved to each stage (lead_funnel),
      with each stage's share of new leads and its conversion from the stage before
        --project P   only leads whose current project is P (project_name)
        --since T     only moves on or after T: an IST day (2019-05-01), a time (RFC 3339)
                      or a number of days back (30d)

Reports read the store as leadhouse query does: on the embedded engine, while no serve runs.
`

// reportFlags are the funnel report's flags: --project and --since.
func reportFlags(fs *flag.FlagSet) (project, since *string) {
	return fs.String("project", "", "only leads whose current project is this"),
		fs.String("since", "", "only moves on or after this IST day, time or number of days back")
}

// runReport prints one report about the warehouse as plain text. It parses its arguments before
// reading the configuration, so report -h works anywhere.
func runReport(ctx context.Context, args []string, environ map[string]string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: report needs a report name; leadhouse report -h lists them", errUsage)
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, reportUsage)
		return nil
	case "funnel":
	default:
		return fmt.Errorf("%w: unknown report %q; leadhouse report -h lists them", errUsage, args[0])
	}
	fs := flag.NewFlagSet("report funnel", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	project, since := reportFlags(fs)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, reportUsage)
			return nil
		}
		return fmt.Errorf("%w: report funnel: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: report funnel takes flags only, not %q", errUsage, fs.Arg(0))
	}
	filter := lhsql.FunnelFilter{Project: *project}
	if *since != "" {
		t, err := parseSince(*since, time.Now())
		if err != nil {
			return fmt.Errorf("%w: report funnel --since: %v", errUsage, err)
		}
		filter.Since = t
	}

	cfg, err := loadConfig(environ)
	if err != nil {
		return err
	}
	wh, err := clientWarehouse(ctx, cfg, newLogger(stderr, cfg.LogFormat, cfg.LogLevel))
	if err != nil {
		return err
	}
	defer wh.close(context.WithoutCancel(ctx))
	f, err := lhsql.ReadFunnel(ctx, wh.store, filter)
	if err != nil {
		return fmt.Errorf("report funnel: %w", err)
	}
	return report.Funnel(stdout, stages(f.Stages), stages(f.Dropped), report.FunnelOptions{Title: funnelTitle(filter)})
}

func stages(in []lhsql.StageCount) []report.Stage {
	out := make([]report.Stage, len(in))
	for i, s := range in {
		out[i] = report.Stage{Name: s.Status, Count: s.Leads}
	}
	return out
}

func funnelTitle(f lhsql.FunnelFilter) string {
	title := "Lead funnel: distinct leads that moved to each stage, "
	if f.Project == "" {
		title += "every project"
	} else {
		title += "project " + strconv.Quote(f.Project)
	}
	if f.Since.IsZero() {
		return title + ", all time"
	}
	return title + ", moves since " + f.Since.In(lhsql.IST).Format(time.DateOnly) + " (IST)"
}

// parseSince reads --since: an IST day (2006-01-02), an RFC 3339 time, or Nd for the IST day N
// days before now's.
func parseSince(s string, now time.Time) (time.Time, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 {
			return time.Time{}, fmt.Errorf("%q: expected a number of days such as 30d", s)
		}
		y, m, d := now.In(lhsql.IST).Date()
		return time.Date(y, m, d-days, 0, 0, 0, 0, lhsql.IST), nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, lhsql.IST); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q: expected an IST day (2019-05-01), an RFC 3339 time (2019-05-01T09:30:00+05:30) or a number of days (30d)", s)
}
