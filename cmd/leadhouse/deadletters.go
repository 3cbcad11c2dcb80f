package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/leadhouse/leadhouse/flatten"
	"github.com/leadhouse/leadhouse/schema"
	"github.com/leadhouse/leadhouse/server"
	"github.com/leadhouse/leadhouse/sink"
	"github.com/leadhouse/leadhouse/sink/clickhouse"
)

// Outcomes of re-submitting a dead letter (dead_letter_replays.outcome).
const (
	outcomeStored     = "stored"
	outcomeDuplicate  = "duplicate"
	outcomeDeadLetter = "dead_letter"
)

func deadLetterFlags(fs *flag.FlagSet) {
	fs.String("reason", "", "only dead letters with this reason (their latest: a replay that still failed gives a new one)")
	fs.String("since", "", "only dead letters received at or after this time (RFC 3339, or a date 2006-01-02)")
}

// deadLetterQuery selects the dead letters the flags name, each once (a crash can store a copy
// twice), with the latest outcome of their replays: id, received_at (Unix ms), remote_addr,
// reason, error, body size, latest outcome, and the body in hex when withBody.
func deadLetterQuery(reason string, since time.Time, pending, withBody bool) string {
	var where []string
	if !since.IsZero() {
		where = append(where, "d.received_at >= fromUnixTimestamp64Milli("+strconv.FormatInt(since.UnixMilli(), 10)+", 'UTC')")
	}
	if reason != "" {
		where = append(where, "if(r.outcome = '"+outcomeDeadLetter+"', r.reason, d.reason) = "+quoteString(reason))
	}
	if pending {
		where = append(where, "r.outcome NOT IN ('"+outcomeStored+"', '"+outcomeDuplicate+"')")
	}
	body := "''"
	if withBody {
		body = "hex(d.body)"
	}
	q := `SELECT d.id, toUnixTimestamp64Milli(d.received_at), d.remote_addr, if(r.outcome = '` + outcomeDeadLetter + `', r.reason, d.reason),
	if(r.outcome = '` + outcomeDeadLetter + `', r.error, d.error), d.body_size, r.outcome, ` + body + `
FROM (SELECT *, cityHash64(received_at, remote_addr, body) AS id FROM dead_letters LIMIT 1 BY id) AS d
LEFT JOIN (SELECT dead_letter_id, argMax(outcome, replayed_at) AS outcome, argMax(reason, replayed_at) AS reason,
	argMax(error, replayed_at) AS error FROM dead_letter_replays GROUP BY dead_letter_id) AS r ON r.dead_letter_id = d.id`
	if len(where) > 0 {
		q += "\nWHERE " + strings.Join(where, " AND ")
	}
	return q + "\nORDER BY d.received_at DESC, d.id\nSETTINGS join_use_nulls = 0"
}

// quoteString quotes s as a ClickHouse string literal.
func quoteString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// deadLetter is one row of deadLetterQuery.
type deadLetter struct {
	id         uint64
	receivedAt time.Time
	remote     string
	reason     string
	err        string
	size       int64
	outcome    string
	body       []byte
}

func parseDeadLetter(line string) (deadLetter, error) {
	f := strings.Split(strings.TrimSuffix(line, "\n"), "\t")
	if len(f) != 8 {
		return deadLetter{}, fmt.Errorf("read dead letters: unexpected row of %d fields", len(f))
	}
	var d deadLetter
	var err error
	if d.id, err = strconv.ParseUint(f[0], 10, 64); err != nil {
		return d, fmt.Errorf("read dead letters: id %q: %w", f[0], err)
	}
	ms, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return d, fmt.Errorf("read dead letters: received_at %q: %w", f[1], err)
	}
	d.receivedAt = time.UnixMilli(ms).UTC()
	d.remote, d.reason, d.err, d.outcome = unescapeTSV(f[2]), unescapeTSV(f[3]), unescapeTSV(f[4]), unescapeTSV(f[6])
	d.size, _ = strconv.ParseInt(f[5], 10, 64)
	if d.body, err = hex.DecodeString(f[7]); err != nil {
		return d, fmt.Errorf("read dead letters: body: %w", err)
	}
	return d, nil
}

// unescapeTSV undoes TabSeparated escaping of one field.
func unescapeTSV(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	r := strings.NewReplacer(`\t`, "\t", `\n`, "\n", `\r`, "\r", `\0`, "\x00", `\\`, `\`, `\'`, `'`, `\b`, "\b", `\f`, "\f")
	return r.Replace(s)
}

// readDeadLetters runs q and parses its rows.
func readDeadLetters(ctx context.Context, st *clickhouse.Store, q string) ([]deadLetter, error) {
	var buf bytes.Buffer
	if err := st.Query(ctx, q, &buf); err != nil {
		return nil, fmt.Errorf("read dead letters: %w", err)
	}
	var out []deadLetter
	sc := bufio.NewScanner(&buf)
	sc.Buffer(make([]byte, 0, 1<<20), 1<<30)
	for sc.Scan() {
		d, err := parseDeadLetter(sc.Text())
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, sc.Err()
}

// runDeadLetters lists kept rejected bodies, or re-submits them.
func runDeadLetters(ctx context.Context, cfg config, log *slog.Logger, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "replay") {
		return fmt.Errorf("%w: dead-letters takes list or replay", errUsage)
	}
	fs := flag.NewFlagSet("dead-letters "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	deadLetterFlags(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: dead-letters %s takes no arguments after its flags", errUsage, args[0])
	}
	reason := fs.Lookup("reason").Value.String()
	var since time.Time
	if s := fs.Lookup("since").Value.String(); s != "" {
		var err error
		if since, err = parseSince(s, time.Now()); err != nil {
			return fmt.Errorf("%w: dead-letters --since: %v", errUsage, err)
		}
	}
	wh, err := migratedWarehouse(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer wh.close(context.WithoutCancel(ctx))
	if args[0] == "list" {
		return listDeadLetters(ctx, wh.store, reason, since, stdout)
	}
	return replayDeadLetters(ctx, cfg, log, wh, reason, since, stdout)
}

func listDeadLetters(ctx context.Context, st *clickhouse.Store, reason string, since time.Time, stdout io.Writer) error {
	ds, err := readDeadLetters(ctx, st, deadLetterQuery(reason, since, false, true))
	if err != nil {
		return err
	}
	w := bufio.NewWriter(stdout)
	fmt.Fprintln(w, "received_at\tremote_addr\treason\treplayed\tbody_size\terror\tbody_head")
	for _, d := range ds {
		head := strings.Join(strings.Fields(string(d.body)), " ")
		if len(head) > 80 {
			head = head[:80]
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", d.receivedAt.Format("2006-01-02 15:04:05.000"), d.remote, d.reason,
			d.outcome, d.size, strings.Join(strings.Fields(d.err), " "), head)
	}
	fmt.Fprintf(w, "%d dead letters\n", len(ds))
	return w.Flush()
}

// replayDeadLetters re-submits the dead letters not stored yet through a pipeline like serve's:
// a body that now flattens is submitted with its original arrival time and sender, unless
// lead_updates already holds it (a replay before this one stored it, and crashed before marking
// it); one that still fails is not submitted again but marked with its new reason. Marks are
// written once the pipeline has stored what it was given.
func replayDeadLetters(ctx context.Context, cfg config, log *slog.Logger, wh *warehouse, reason string, since time.Time, stdout io.Writer) error {
	cfg.WALSync = "interval" // the bodies are kept in dead_letters until marked
	pipe, closeWAL, err := startPipeline(ctx, cfg, log, wh.store, wh.health, nil)
	if err != nil {
		return err
	}
	defer closeWAL()
	// What a crashed replay left in the log is stored before anything is looked up.
	if err := waitStored(ctx, pipe); err != nil {
		_ = pipe.Close(context.WithoutCancel(ctx))
		return err
	}
	ds, err := readDeadLetters(ctx, wh.store, deadLetterQuery(reason, since, true, true))
	if err != nil {
		_ = pipe.Close(context.WithoutCancel(ctx))
		return err
	}
	fl := flatten.New()
	var rows schema.Rows
	now := schema.MillisOf(time.Now())
	marks := make([]schema.DeadLetterReplay, 0, len(ds))
	counts := map[string]int{}
	for _, d := range ds {
		m := schema.DeadLetterReplay{DeadLetterID: d.id, ReplayedAt: now}
		if ferr := fl.Flatten(d.body, d.receivedAt, &rows); ferr != nil {
			m.Outcome, m.Reason, m.Error = outcomeDeadLetter, server.Reason(ferr), ferr.Error()
		} else {
			m.CallbackID = rows.Lead.CallbackID
			stored, err := storedAt(ctx, wh.store, rows.Lead.LeadID, m.CallbackID, d.receivedAt)
			if err != nil {
				_ = pipe.Close(context.WithoutCancel(ctx))
				return err
			}
			m.Outcome = outcomeDuplicate
			if !stored {
				m.Outcome = outcomeStored
				in := sink.Input{Body: d.body, ReceivedAt: d.receivedAt, Remote: d.remote}
				if _, err := submitWithRetry(ctx, pipe, in, sink.Decoded{Rows: &rows}); err != nil {
					_ = pipe.Close(context.WithoutCancel(ctx))
					return err
				}
			}
		}
		counts[m.Outcome]++
		marks = append(marks, m)
	}
	if err := pipe.Close(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	if err := insertMarks(ctx, wh.store, marks); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "re-submitted %d dead letters: %d stored, %d already stored, %d still dead letters\n",
		len(ds), counts[outcomeStored], counts[outcomeDuplicate], counts[outcomeDeadLetter])
	return nil
}

// waitStored waits until the pipeline has stored everything its log held when it started.
func waitStored(ctx context.Context, p *sink.Pipeline) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		st := p.Stats()
		if st.Mode == sink.ModeLive && st.WALBacklogBytes == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// storedAt reports whether lead_updates holds the callback as received at receivedAt.
func storedAt(ctx context.Context, st *clickhouse.Store, lead uint64, id string, receivedAt time.Time) (bool, error) {
	var out bytes.Buffer
	q := fmt.Sprintf("SELECT count() FROM lead_updates WHERE lead_id = %d AND callback_id = %s AND received_at = fromUnixTimestamp64Milli(%d, 'UTC')",
		lead, quoteString(id), receivedAt.UnixMilli())
	if err := st.Query(ctx, q, &out); err != nil {
		return false, fmt.Errorf("look up a re-submitted dead letter: %w", err)
	}
	return strings.TrimSpace(out.String()) != "0", nil
}

// insertMarks records the outcomes in dead_letter_replays, once however often it is retried.
func insertMarks(ctx context.Context, st *clickhouse.Store, marks []schema.DeadLetterReplay) error {
	if len(marks) == 0 {
		return nil
	}
	b := schema.Replays.NewBuilder(memory.DefaultAllocator)
	defer b.Release()
	schema.Append(schema.Replays, b, marks)
	rec := b.NewRecordBatch()
	defer rec.Release()
	token := fmt.Sprintf("dead_letter_replays/%d/%d/%d", marks[0].ReplayedAt, marks[0].DeadLetterID, len(marks))
	if err := st.Insert(ctx, schema.Replays, sink.Batch{Chunks: []arrow.RecordBatch{rec}}, token); err != nil {
		return fmt.Errorf("mark re-submitted dead letters: %w", err)
	}
	return nil
}
