package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/leadhouse/leadhouse/erasure"
	"github.com/leadhouse/leadhouse/flatten"
	lhsql "github.com/leadhouse/leadhouse/sql"
)

// forgetArgs are forget's flags.
type forgetArgs struct {
	leadID     *uint64
	phone      *string
	by, reason *string
	wait       *time.Duration
}

func forgetFlags(fs *flag.FlagSet) forgetArgs {
	return forgetArgs{
		leadID: fs.Uint64("lead-id", 0, "the CRM lead id of the person"),
		phone:  fs.String("phone", "", "the person's phone number: their other leads and the dead letters holding it go too"),
		by:     fs.String("by", requester(), "who asks, for the audit"),
		reason: fs.String("reason", "", "a reference for the audit, such as a ticket number (no personal data)"),
		wait:   fs.Duration("wait", 2*time.Minute, "how long a running serve may take to apply the request"),
	}
}

// runForget removes a person's data from everywhere leadhouse keeps it, with a serve running on
// the data directory or not (package erasure), and prints what it removed.
func runForget(ctx context.Context, cfg config, log *slog.Logger, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("forget", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	a := forgetFlags(fs)
	leadID, phone, by, reason, wait := a.leadID, a.phone, a.by, a.reason, a.wait
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return fmt.Errorf("%w: forget takes -lead-id N and/or -phone P, and -by, -reason, -wait", errUsage)
	}
	if *leadID == 0 && erasure.NationalNumber(*phone) == "" {
		return fmt.Errorf("%w: forget needs -lead-id N or -phone P", errUsage)
	}
	wh, err := migratedWarehouse(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer wh.close(context.WithoutCancel(ctx))
	var shards erasure.Shards
	if cfg.Cluster != "" {
		nodes, err := clusterNodes(ctx, cfg)
		if err != nil {
			return err
		}
		for _, n := range nodes {
			defer n.Close()
			shards.Nodes = append(shards.Nodes, n)
		}
		shards.Suffix = lhsql.LocalSuffix
		if cfg.ClusterOnCluster {
			shards.OnCluster = cfg.Cluster
		}
	}
	f := &erasure.Forgetter{
		DB:     wh.store,
		Shards: shards,
		Store:  erasure.NewStore(filepath.Join(cfg.DataDir, "erasure")),
		WALDir: filepath.Join(cfg.DataDir, "wal"),
		Decode: flatten.New().Flatten,
		Wait:   *wait,
	}
	rep, err := f.Forget(ctx, erasure.Request{LeadID: *leadID, Phone: *phone, By: *by, Reason: *reason})
	if err != nil {
		return fmt.Errorf("forget: %w", err)
	}
	printReport(stdout, rep, *by)
	return nil
}

// printReport tells the operator what an erasure removed.
func printReport(w io.Writer, rep erasure.Report, by string) {
	fmt.Fprintf(w, "erasure %s, asked by %s\n", rep.ErasureID, by)
	for _, l := range rep.Leads {
		how := "named"
		if l.MatchedBy == "phone" {
			how = "found by the phone number"
		}
		fmt.Fprintf(w, "lead %d (%s)\n", l.ID, how)
	}
	if len(rep.Leads) == 0 {
		fmt.Fprintln(w, "no lead has that phone number")
	}
	var tables []string
	for t, n := range rep.Removed {
		if t != "wal_records" && n > 0 {
			tables = append(tables, fmt.Sprintf("%s %d", t, n))
		}
	}
	slices.Sort(tables)
	switch {
	case len(tables) > 0:
		fmt.Fprintf(w, "rows deleted: %s\n", strings.Join(tables, ", "))
	default:
		fmt.Fprintln(w, "rows deleted: none (nothing of this person is stored)")
	}
	fmt.Fprintf(w, "write-ahead log: %d records erased\n", rep.Removed["wal_records"])
	if rep.WALPending > 0 {
		fmt.Fprintf(w, "write-ahead log: %d records not yet committed by the running serve, which leaves them out and erases them once committed\n", rep.WALPending)
	}
	if rep.WALUnreadable > 0 {
		fmt.Fprintf(w, "write-ahead log: %d damaged stretches could not be searched (see the log's corruption dead letters)\n", rep.WALUnreadable)
	}
	if rep.ServeRunning {
		fmt.Fprintln(w, "the running serve leaves this person out from now on")
	}
	fmt.Fprintln(w, "every replay of the write-ahead log leaves this person out; audited in the erasures table (who, when, which lead; not the data)")
}

// requester is who runs forget: the operating-system user at this host.
func requester() string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	if host == "" {
		return name
	}
	return name + "@" + host
}
