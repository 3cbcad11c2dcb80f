package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/leadhouse/leadhouse/gen"
	"github.com/leadhouse/leadhouse/loadgen"
)

// command describes one subcommand for its usage. Every command follows one convention:
// `leadhouse help CMD` and `leadhouse CMD -h` (or -help, --help) print its usage and exit 0,
// and a mistake on its command line prints the usage and exits 2.
type command struct {
	name    string
	args    string // what follows the name in the synopsis
	summary string // one line, for the list of commands
	detail  string // what `help CMD` adds, wrapped at 100 columns
	// flags registers the command's flags on fs, the same function the command parses them with;
	// nil for a command without flags.
	flags func(fs *flag.FlagSet)
}

var commands = []command{
	{name: "serve", summary: "receive callbacks on LEADHOUSE_LISTEN (default :8080)",
		detail: "Receives callbacks over HTTP, acknowledges each once it is in the write-ahead log and writes their\nrows to the store. Configured by LEADHOUSE_* variables (see README.md)."},
	{name: "migrate", summary: "create or update tables and views, then exit"},
	{name: "engine", summary: "run the embedded engine as a ClickHouse server until stopped (serve runs one itself)",
		flags: engineFlags},
	{name: "query", args: `[-time N] "SQL"`, summary: "print a query's result as TabSeparated (-time N: timed runs)",
		detail: "Talks to the engine a running serve supervises on LEADHOUSE_DATA_DIR, or starts one of its own.",
		flags:  queryFlags},
	{name: "report", args: "funnel [--project P] [--since T]", summary: "print the sales funnel as a text bar chart",
		detail: "The distinct leads that moved to each stage (lead_funnel), with each stage's share of new leads\n" +
			"and its conversion from the stage before. T is an IST day (2019-05-01), a time (RFC 3339) or a\n" +
			"number of days back (30d). Reads the store as query does.",
		flags: func(fs *flag.FlagSet) { reportFlags(fs) }},
	{name: "flatten", args: "[FILE|-]", summary: "print the rows a callback becomes, one JSON object per row"},
	{name: "gen", args: "[flags]", summary: "write generated callbacks as NDJSON",
		flags: func(fs *flag.FlagSet) { new(gen.Command).RegisterFlags(fs) }},
	{name: "loadgen", args: "[flags]", summary: "drive HTTP load at a running leadhouse",
		flags: func(fs *flag.FlagSet) { new(loadgen.Options).RegisterFlags(fs) }},
	{name: "replay", args: "PATH...", summary: "load callbacks from files, directories or - into the store (backfill)",
		detail: "Each PATH is a file, a directory (its files, recursively, in name order) or - (standard input).\n" +
			"A file ending in .json holds one callback body; any other holds NDJSON, one body per line.\n" +
			"Gzip-compressed input is recognised by its first bytes. Callbacks go through the same\n" +
			"write-ahead log, flattener and batches as serve's (serve must not run on the same data dir).\n" +
			"A callback already stored (the same body, so the same callback_id) is counted as a\n" +
			"duplicate and not stored again, so replaying a file twice stores it once. Prints per file\n" +
			"how many callbacks were stored, duplicates and dead letters; shows a progress bar on a\n" +
			"terminal and progress lines in the log otherwise."},
	{name: "rebuild", args: "[-state]", summary: "re-flatten every kept raw body into new tables and swap them in",
		detail: "Re-flattens every lead_updates.raw and dead_letters body with this binary's mapping into new\n" +
			"tables, builds their state, checks them (row counts, distinct callbacks) and swaps them in with\n" +
			"EXCHANGE TABLES; the old tables are dropped only after the check. Safe while serve runs:\n" +
			"callbacks stored meanwhile are carried over. Idempotent and resumable: run it again after a\n" +
			"crash and it carries on. -state recomputes only the state tables from the callback tables\n" +
			"(after ATTACH PARTITION or EXCHANGE TABLES, which materialized views do not see).",
		flags: rebuildFlags},
	{name: "dead-letters", args: "list|replay [--reason R] [--since T]", summary: "list kept rejected bodies, or re-submit them",
		detail: "list prints the dead letters (newest first) with what replay made of them. replay re-submits\n" +
			"each kept body through the normal path (flattener, write-ahead log, batches); a body that now\n" +
			"flattens is stored once however often replay runs, and each dead letter re-submitted is marked\n" +
			"(dead_letter_replays). What still fails stays a dead letter, with its new reason.\n" +
			"T is an IST day (2019-05-01), an RFC 3339 time or a number of days back (30d).",
		flags: deadLetterFlags},
	{name: "forget", args: "-lead-id N [-phone P] [-by WHO] [-reason REF]", summary: "remove a person's data everywhere leadhouse keeps it, and audit it",
		detail: "Deletes the lead's rows from every table (and, with -phone, the person's other leads and the dead\n" +
			"letters holding the number), erases their records from the write-ahead log, and records a\n" +
			"tombstone every replay honours. With serve running it waits (-wait) until serve applies it.\n" +
			"Audited in the erasures table, without the data. See README.md, \"Personal data\".",
		flags: func(fs *flag.FlagSet) { forgetFlags(fs) }},
	{name: "ceiling", summary: "serve a do-nothing handler on LEADHOUSE_LISTEN (benchmark ceiling)"},
	{name: "healthcheck", summary: "exit 0 when the local server answers /readyz with 200"},
	{name: "version", summary: "print the version"},
	{name: "help", args: "[COMMAND]", summary: "print this list, or a command's usage"},
}

func lookupCommand(name string) (command, bool) {
	i := slices.IndexFunc(commands, func(c command) bool { return c.name == name })
	if i < 0 {
		return command{}, false
	}
	return commands[i], true
}

// usageText is the list of commands, what `leadhouse` alone and `leadhouse help` print.
func usageText() string {
	var b strings.Builder
	b.WriteString("usage: leadhouse <command> [arguments]\n\ncommands:\n")
	for _, c := range commands {
		syn := c.name
		if c.args != "" {
			syn += " " + c.args
		}
		fmt.Fprintf(&b, "  %-50s %s\n", syn, c.summary)
	}
	b.WriteString("\n`leadhouse help COMMAND` or `leadhouse COMMAND -h` prints a command's usage.\n")
	b.WriteString("Configuration is read from LEADHOUSE_* environment variables (see README.md).\n")
	return b.String()
}

// writeUsage prints c's usage: synopsis, summary, detail and flags.
func writeUsage(w io.Writer, c command) {
	syn := "leadhouse " + c.name
	if c.args != "" {
		syn += " " + c.args
	}
	fmt.Fprintf(w, "usage: %s\n\n%s\n", syn, c.summary)
	if c.detail != "" {
		fmt.Fprintf(w, "\n%s\n", c.detail)
	}
	if c.flags != nil {
		fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
		c.flags(fs)
		fmt.Fprintln(w, "\nflags:")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
}

// helpRequested reports whether args ask for the command's usage: -h, -help or --help before
// any "--".
func helpRequested(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// runHelp prints the list of commands, or the usage of the one named.
func runHelp(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stdout, usageText())
		return nil
	}
	c, ok := lookupCommand(args[0])
	if !ok || len(args) > 1 {
		return fmt.Errorf("%w: help takes one command name, got %q", errUsage, strings.Join(args, " "))
	}
	writeUsage(stdout, c)
	return nil
}

func engineFlags(fs *flag.FlagSet) {
	fs.String("config", "", "run as the engine process of this configuration file (used by serve)")
}

func queryFlags(fs *flag.FlagSet) {
	fs.Int("time", 0, "run the query this many times and print each run's duration on stderr")
}

// flagInt is the value of fs's int flag name, which the command registered.
func flagInt(fs *flag.FlagSet, name string) *int {
	v := fs.Lookup(name).Value.(flag.Getter).Get().(int)
	return &v
}
