package sink_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/leadhouse/leadhouse/flatten"
	"github.com/leadhouse/leadhouse/schema"
	"github.com/leadhouse/leadhouse/sink"
	"github.com/leadhouse/leadhouse/sink/wal"
)

// rejectPipeline is a pipeline on the engine store s with a log of its own, started.
func rejectPipeline(t *testing.T, s sink.Store, opts sink.Options) *sink.Pipeline {
	t.Helper()
	tracker := &wal.Tracker{}
	log, err := wal.Open(wal.Options{Dir: t.TempDir(), Tracker: tracker, Sync: wal.SyncInterval})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	opts.Decode, opts.Reason = flatten.New().Flatten, flattenReason
	if opts.FlushInterval == 0 {
		opts.FlushInterval = 20 * time.Millisecond
	}
	opts.RetryMin, opts.RetryMax = time.Millisecond, 20*time.Millisecond
	p, err := sink.New(s, log, tracker, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return p
}

func submitBody(t *testing.T, p *sink.Pipeline, body []byte) {
	t.Helper()
	var rows schema.Rows
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	if err := flatten.New().Flatten(body, at, &rows); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Submit(context.Background(), sink.Input{Body: body, ReceivedAt: at, Remote: "192.0.2.9:1"}, sink.Decoded{Rows: &rows}); err != nil {
		t.Fatal(err)
	}
}

func queryString(t *testing.T, s sink.Store, q string) string {
	t.Helper()
	var buf bytes.Buffer
	if err := s.Query(context.Background(), q, &buf); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(buf.String())
}

// A callback the store refuses (here a constraint added under the running pipeline, and a
// column whose new type one callback's value cannot take) is found by splitting its batch: it
// ends in dead_letters with the store's error, and every other callback of the batch is stored.
func TestRejectedCallbacksBecomeDeadLettersAndTheirNeighboursAreStored(t *testing.T) {
	store := engineStore(t)
	ctx := context.Background()
	for _, q := range []string{
		"ALTER TABLE lead_updates ADD CONSTRAINT no_lead_666 CHECK lead_id != 666",
		// A note text that is not a number cannot be a UInt64: only lead 777's notes are not.
		"ALTER TABLE notes MODIFY COLUMN data UInt64",
	} {
		if err := store.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	p := rejectPipeline(t, store, sink.Options{FlushInterval: time.Hour})
	leads := []int{1, 2, 3, 666, 4, 5, 6, 7, 777, 8, 9}
	for _, id := range leads {
		body := fixture(t, id)
		if id != 777 {
			body = numericNotes(t, body)
		}
		submitBody(t, p, body)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := queryString(t, store, "SELECT arrayStringConcat(groupArray(toString(lead_id)), ',') FROM (SELECT lead_id FROM lead_updates ORDER BY lead_id)"); got != "1,2,3,4,5,6,7,8,9,777" {
		t.Errorf("lead_updates holds leads %s; want every lead but 666 (its note rows are refused, not its lead row)", got)
	}
	if got := queryString(t, store, "SELECT uniqExact(lead_id) FROM notes"); got != "10" {
		t.Errorf("notes of %s leads stored, want 10 (all but 777)", got)
	}
	got := queryString(t, store, "SELECT reason, JSONExtractUInt(body, 'lead_id'), error LIKE '%VIOLATED_CONSTRAINT%' OR error LIKE '%no_lead_666%', error LIKE 'notes:%CANNOT_PARSE%' FROM dead_letters ORDER BY 2")
	want := "store_rejected\t666\t1\t0\nstore_rejected\t777\t0\t1"
	if got != want {
		t.Errorf("dead letters:\n%s\nwant\n%s", got, want)
	}
	sum := sha256.Sum256(numericNotes(t, fixture(t, 666)))
	if got := queryString(t, store, "SELECT lower(hex(SHA256(body))) FROM dead_letters WHERE JSONExtractUInt(body, 'lead_id') = 666"); got != hex.EncodeToString(sum[:]) {
		t.Errorf("the dead letter does not keep the callback's body as received")
	}
	if st := p.Stats(); st.RejectedCallbacks != 2 {
		t.Errorf("RejectedCallbacks = %d, want 2", st.RejectedCallbacks)
	}
}

// numericNotes gives every "data" of the sample (the notes' texts, the documents' URLs) a value
// that is a number.
func numericNotes(t *testing.T, body []byte) []byte {
	t.Helper()
	const key = `"data":"`
	var out []byte
	rest := body
	for {
		i := bytes.Index(rest, []byte(key))
		if i < 0 {
			return append(out, rest...)
		}
		j := bytes.IndexByte(rest[i+len(key):], '"')
		out = append(append(out, rest[:i+len(key)]...), "12345"...)
		rest = rest[i+len(key)+j:]
	}
}

// A table that rejects every row is the table's fault: after MaxRejectedBatches whole batches
// the pipeline stops making dead letters, holds the table's writes back in the write-ahead log
// and says so in Ready; once the table is mended, they are written.
func TestTableRejectingEveryRowHoldsItsWritesBack(t *testing.T) {
	store := engineStore(t)
	ctx := context.Background()
	if err := store.Exec(ctx, "ALTER TABLE lead_updates ADD CONSTRAINT nothing_goes CHECK lead_id = 0"); err != nil {
		t.Fatal(err)
	}
	p := rejectPipeline(t, store, sink.Options{MaxRejectedBatches: 2})
	submitBody(t, p, fixture(t, 1))
	waitFor(t, "the first batch's callback a dead letter", func() bool { return p.Stats().RejectedCallbacks == 1 })
	submitBody(t, p, fixture(t, 2))
	waitFor(t, "writes held back", func() bool {
		err := p.Ready()
		return errors.Is(err, sink.ErrDegraded) && strings.Contains(err.Error(), "held back")
	})
	for id := 3; id <= 6; id++ {
		submitBody(t, p, fixture(t, id))
	}
	if n := p.Stats().RejectedCallbacks; n != 1 {
		t.Errorf("%d callbacks dead-lettered while writes were held back, want only the first batch's", n)
	}
	if err := store.Exec(ctx, "ALTER TABLE lead_updates DROP CONSTRAINT nothing_goes"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the held-back callbacks stored", func() bool {
		return queryString(t, store, "SELECT count() FROM lead_updates") == "5"
	})
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Ready(); err != nil && !errors.Is(err, sink.ErrClosed) {
		t.Errorf("after the table was mended: %v", err)
	}
	if got := queryString(t, store, "SELECT count() FROM dead_letters"); got != "1" {
		t.Errorf("%s dead letters, want 1", got)
	}
}
