package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/leadhouse/leadhouse/flatten"
	"github.com/leadhouse/leadhouse/schema"
	"github.com/leadhouse/leadhouse/server"
	"github.com/leadhouse/leadhouse/sink"
	"github.com/leadhouse/leadhouse/sink/clickhouse"
)

// replayInput is one source of callbacks: a file, or standard input for "-".
type replayInput struct {
	name string
	size int64 // bytes on disk; 0 for standard input
	one  bool  // the whole input is one body (a .json file), not NDJSON
}

// replayInputs expands paths into inputs: directories into their files, recursively, in name
// order, hidden ones (.name) left out.
func replayInputs(paths []string) ([]replayInput, int64, error) {
	var in []replayInput
	var total int64
	add := func(path string, size int64) {
		base := strings.TrimSuffix(path, ".gz")
		in = append(in, replayInput{name: path, size: size, one: strings.HasSuffix(base, ".json")})
		total += size
	}
	for _, p := range paths {
		if p == "-" {
			in = append(in, replayInput{name: "-"})
			continue
		}
		fi, err := os.Stat(p)
		if err != nil {
			return nil, 0, fmt.Errorf("replay: %w", err)
		}
		if !fi.IsDir() {
			add(p, fi.Size())
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if path != p && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			add(path, info.Size())
			return nil
		})
		if err != nil {
			return nil, 0, fmt.Errorf("replay: %w", err)
		}
	}
	return in, total, nil
}

// replayCounts are what became of one input's callbacks.
type replayCounts struct {
	stored, duplicates, deadLetters, rows int64
}

func (c *replayCounts) addTo(t *replayCounts) {
	t.stored += c.stored
	t.duplicates += c.duplicates
	t.deadLetters += c.deadLetters
	t.rows += c.rows
}

// backfill submits callbacks to a pipeline, skipping those already stored: a callback is a
// duplicate when lead_updates holds its (lead_id, callback_id) or this run submitted it before.
type backfill struct {
	pipe   *sink.Pipeline
	store  *clickhouse.Store
	fl     *flatten.Flattener
	rows   schema.Rows
	remote string
	// seen holds the ids this run submitted, up to maxSeen (the oldest are forgotten: the store
	// has them by then), so a body repeated within the run is stored once.
	seen    map[string]struct{}
	seenLog []string
	pending []pendingBody
	prog    *progress
}

// pendingBody is a body waiting for the duplicate check of its chunk.
type pendingBody struct {
	body     []byte
	lead     uint64
	id       string
	rejected error
	counts   *replayCounts
}

const (
	// checkChunk is how many bodies one duplicate query checks.
	checkChunk = 1000
	maxSeen    = 1 << 20
)

func newBackfill(pipe *sink.Pipeline, st *clickhouse.Store, prog *progress) *backfill {
	return &backfill{pipe: pipe, store: st, fl: flatten.New(), seen: map[string]struct{}{}, prog: prog}
}

// add queues one body of input counts; every checkChunk bodies the queue is checked and submitted.
func (b *backfill) add(ctx context.Context, body []byte, counts *replayCounts) error {
	p := pendingBody{body: bytes.Clone(body), counts: counts}
	if err := b.fl.Flatten(p.body, time.Now(), &b.rows); err != nil {
		p.rejected = err
	} else {
		p.lead, p.id = b.rows.Lead.LeadID, b.rows.Lead.CallbackID
	}
	b.pending = append(b.pending, p)
	if len(b.pending) >= checkChunk {
		return b.flush(ctx)
	}
	return nil
}

// flush checks the queued bodies against the store and submits those not stored yet.
func (b *backfill) flush(ctx context.Context) error {
	if len(b.pending) == 0 {
		return nil
	}
	stored, err := b.storedIDs(ctx)
	if err != nil {
		return err
	}
	for _, p := range b.pending {
		in := sink.Input{Body: p.body, ReceivedAt: time.Now(), Remote: b.remote}
		if p.rejected != nil {
			if _, err := submitWithRetry(ctx, b.pipe, in, sink.Decoded{Reason: server.Reason(p.rejected), Err: p.rejected}); err != nil {
				return err
			}
			p.counts.deadLetters++
			b.prog.add(0, 1)
			continue
		}
		if _, dup := stored[p.id]; dup {
			p.counts.duplicates++
			b.prog.add(0, 1)
			continue
		}
		if _, dup := b.seen[p.id]; dup {
			p.counts.duplicates++
			b.prog.add(0, 1)
			continue
		}
		if err := b.fl.Flatten(p.body, in.ReceivedAt, &b.rows); err != nil {
			return fmt.Errorf("flatten a body that flattened before: %w", err)
		}
		if _, err := submitWithRetry(ctx, b.pipe, in, sink.Decoded{Rows: &b.rows}); err != nil {
			return err
		}
		b.remember(p.id)
		p.counts.stored++
		p.counts.rows += int64(b.rows.Count())
		b.prog.add(0, 1)
	}
	b.pending = b.pending[:0]
	return nil
}

func (b *backfill) remember(id string) {
	b.seen[id] = struct{}{}
	b.seenLog = append(b.seenLog, id)
	if len(b.seenLog) > maxSeen {
		delete(b.seen, b.seenLog[0])
		b.seenLog = b.seenLog[1:]
	}
}

// storedIDs returns which of the pending callbacks lead_updates already holds.
func (b *backfill) storedIDs(ctx context.Context) (map[string]struct{}, error) {
	var q strings.Builder
	q.WriteString("SELECT DISTINCT callback_id FROM lead_updates WHERE (lead_id, callback_id) IN (")
	n := 0
	for _, p := range b.pending {
		if p.rejected != nil {
			continue
		}
		if n > 0 {
			q.WriteByte(',')
		}
		// callback ids are hex: no quoting needed beyond the quotes.
		q.WriteString("(" + strconv.FormatUint(p.lead, 10) + ",'" + p.id + "')")
		n++
	}
	stored := map[string]struct{}{}
	if n == 0 {
		return stored, nil
	}
	q.WriteString(")")
	var out bytes.Buffer
	if err := b.store.Query(ctx, q.String(), &out); err != nil {
		return nil, fmt.Errorf("look up stored callbacks: %w", err)
	}
	for line := range strings.Lines(out.String()) {
		stored[strings.TrimSpace(line)] = struct{}{}
	}
	return stored, nil
}

// countingReader counts the bytes read through it, for the progress of compressed input.
type countingReader struct {
	r    io.Reader
	prog *progress
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.prog.add(int64(n), 0)
	return n, err
}

// openInput opens in, decompressing gzip (recognised by its magic bytes).
func openInput(in replayInput, stdin io.Reader, prog *progress) (io.Reader, func() error, error) {
	var r io.Reader = stdin
	closeFn := func() error { return nil }
	if in.name != "-" {
		f, err := os.Open(in.name)
		if err != nil {
			return nil, nil, fmt.Errorf("replay: %w", err)
		}
		r, closeFn = f, f.Close
	}
	br := bufio.NewReaderSize(&countingReader{r: r, prog: prog}, 1<<20)
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			closeFn()
			return nil, nil, fmt.Errorf("replay %s: %w", in.name, err)
		}
		return zr, closeFn, nil
	}
	return br, closeFn, nil
}

// replayFile feeds one input's bodies to b.
func replayFile(ctx context.Context, b *backfill, in replayInput, stdin io.Reader, maxBody int, prog *progress) (replayCounts, error) {
	var c replayCounts
	r, closeFn, err := openInput(in, stdin, prog)
	if err != nil {
		return c, err
	}
	defer closeFn()
	b.remote = "replay:" + in.name
	if in.one {
		body, err := io.ReadAll(io.LimitReader(r, int64(maxBody)+1))
		if err != nil {
			return c, fmt.Errorf("read %s: %w", in.name, err)
		}
		if len(body) > maxBody {
			return c, fmt.Errorf("read %s: larger than LEADHOUSE_MAX_BODY_BYTES (%d)", in.name, maxBody)
		}
		if err := b.add(ctx, bytes.TrimSpace(body), &c); err != nil {
			return c, err
		}
		return c, b.flush(ctx)
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), maxBody+1)
	line := 0
	for sc.Scan() {
		line++
		if ctx.Err() != nil {
			return c, ctx.Err()
		}
		body := bytes.TrimSpace(sc.Bytes())
		if len(body) == 0 {
			continue
		}
		if err := b.add(ctx, body, &c); err != nil {
			return c, fmt.Errorf("%s line %d: %w", in.name, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return c, fmt.Errorf("read %s after line %d: %w", in.name, line, err)
	}
	return c, b.flush(ctx)
}

// runReplay loads callbacks from files, directories or standard input through the same
// write-ahead log, flattener, batches and store as `serve`, without HTTP: for backfills and for
// measuring the pipeline alone.
func runReplay(ctx context.Context, cfg config, log *slog.Logger, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("replay", flag.ContinueOnError)
	fset.SetOutput(stderr)
	if err := fset.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fset.NArg() == 0 {
		return fmt.Errorf("%w: replay takes one or more PATHs (files, directories, or - for standard input)", errUsage)
	}
	inputs, total, err := replayInputs(fset.Args())
	if err != nil {
		return err
	}
	wh, err := migratedWarehouse(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer wh.close(context.WithoutCancel(ctx))
	// The files are the source of truth for a replay: if it stops half-way it is run again (the
	// same bodies give the same callback ids, and those stored are skipped), so its records need
	// not be fsynced one by one.
	cfg.WALSync = "interval"
	pipe, closeWAL, err := startPipeline(ctx, cfg, log, wh.store, wh.health, nil)
	if err != nil {
		return err
	}
	defer closeWAL()
	f, _ := stderr.(*os.File)
	prog := newProgress(stderr, f != nil && isTerminal(f), log, "replay", "callbacks", total)
	b := newBackfill(pipe, wh.store, prog)
	start := time.Now()
	var all replayCounts
	for _, in := range inputs {
		c, err := replayFile(ctx, b, in, stdin, int(cfg.MaxBodyBytes), prog)
		if err != nil {
			_ = pipe.Close(context.WithoutCancel(ctx))
			return err
		}
		c.addTo(&all)
		fmt.Fprintf(stdout, "%s: %d stored, %d duplicates, %d dead letters\n", in.name, c.stored, c.duplicates, c.deadLetters)
	}
	submitted := time.Since(start)
	if err := pipe.Close(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	prog.finish()
	totalTime := time.Since(start)
	n := all.stored + all.duplicates + all.deadLetters
	fmt.Fprintf(stdout, "replayed %d callbacks (%d rows, %d dead letters, %d duplicates) in %s: %.0f callbacks/s, %.0f rows/s (submitted in %s)\n",
		n, all.rows, all.deadLetters, all.duplicates, totalTime.Round(time.Millisecond), float64(n)/totalTime.Seconds(),
		float64(all.rows)/totalTime.Seconds(), submitted.Round(time.Millisecond))
	return nil
}

// submitWithRetry waits out a full backlog instead of failing a backfill: the store drains it.
func submitWithRetry(ctx context.Context, p *sink.Pipeline, in sink.Input, dec sink.Decoded) (sink.Ack, error) {
	for {
		ack, err := p.Submit(ctx, in, dec)
		if !errors.Is(err, sink.ErrBacklogFull) {
			return ack, err
		}
		select {
		case <-ctx.Done():
			return ack, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
