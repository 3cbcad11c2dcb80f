package sink_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leadhouse/leadhouse/schema"
	"github.com/leadhouse/leadhouse/sink"
	"github.com/leadhouse/leadhouse/sink/wal"
)

// forgetLead7 is the filter of a person whose lead is 7: their callbacks, and dead letters whose
// body names them.
func forgetLead7(body []byte, rows *schema.Rows) bool {
	if rows != nil {
		return rows.Lead.LeadID == 7
	}
	return bytes.Contains(body, []byte("lead 7"))
}

// logHolds reports whether a segment file of the log in dir contains s.
func logHolds(t *testing.T, dir, s string) bool {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.wal"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(s)) {
			return true
		}
	}
	return false
}

func TestFilteredCallbacksAreLeftOutAndErasedFromTheLogOnceCommitted(t *testing.T) {
	store := newFakeStore()
	e := start(t, t.TempDir(), store, testOptions(), wal.Options{})
	if err := e.p.SetFilter(context.Background(), forgetLead7); err != nil {
		t.Fatal(err)
	}
	e.mustSubmit("cb-1", "cb-7|secret-of-seven", "cb-2", "about lead 7: not a callback", "junk")
	e.close()
	exactlyOnce(t, "lead_updates", store.rows("lead_updates"), []string{"cb-1", "cb-2"})
	exactlyOnce(t, "events", store.rows("events"), []string{"cb-1", "cb-2"})
	exactlyOnce(t, "dead_letters", store.rows("dead_letters"), []string{"junk"})
	st := e.p.Stats()
	if st.Forgotten != 2 || st.ErasedRecords != 2 || st.Submitted != 5 {
		t.Errorf("stats: %d forgotten, %d erased of %d submitted; want 2, 2 of 5", st.Forgotten, st.ErasedRecords, st.Submitted)
	}
	if e.log.Size() != 0 {
		t.Errorf("%d bytes of log left uncommitted: a forgotten record holds the commit back", e.log.Size())
	}
	for _, s := range []string{"secret-of-seven", "about lead 7"} {
		if logHolds(t, e.dir, s) {
			t.Errorf("the log still holds %q", s)
		}
	}
	if !logHolds(t, e.dir, "junk") {
		t.Error("the log lost a record nobody asked to forget") // committed, but its segment stays
	}
}

func TestSetFilterReturnsOnceWhatWasBatchedBeforeIsStored(t *testing.T) {
	store := newFakeStore()
	e := start(t, t.TempDir(), store, testOptions(), wal.Options{}) // FlushInterval: an hour
	e.mustSubmit("cb-7|before", "cb-3")
	if err := e.p.SetFilter(context.Background(), forgetLead7); err != nil {
		t.Fatal(err)
	}
	// What was batched before the filter is in the store when SetFilter returns, so deleting
	// lead 7 now removes every row of it: nothing batched earlier arrives later.
	exactlyOnce(t, "lead_updates", store.rows("lead_updates"), []string{"cb-7", "cb-3"})
	e.mustSubmit("cb-7|after", "cb-4")
	e.close()
	exactlyOnce(t, "lead_updates", store.rows("lead_updates"), []string{"cb-7", "cb-3", "cb-4"})
	store.mu.Lock()
	raw := store.raws["cb-7"]
	store.mu.Unlock()
	if raw != "cb-7|before" {
		t.Errorf("raw of the stored cb-7 = %q, want the copy batched before the filter", raw)
	}
	if logHolds(t, e.dir, "cb-7|after") {
		t.Error("the log still holds the callback left out")
	}
}

func TestSetFilterWithNothingBatchedReturnsAtOnce(t *testing.T) {
	e := start(t, t.TempDir(), newFakeStore(), testOptions(), wal.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // it must not need to wait at all
	if err := e.p.SetFilter(ctx, forgetLead7); err != nil {
		t.Fatalf("SetFilter with nothing batched: %v", err)
	}
}

func TestSetFilterGivesUpWhenTheStoreKeepsFailing(t *testing.T) {
	store := newFakeStore()
	e := start(t, t.TempDir(), store, testOptions(), wal.Options{})
	store.set(func(s *fakeStore) { s.down = true })
	e.mustSubmit("cb-7")
	ctx, cancel := context.WithCancel(context.Background())
	store.set(func(s *fakeStore) { s.onInsert = func(string) { cancel() } }) // after the first refusal
	if err := e.p.SetFilter(ctx, forgetLead7); err == nil {
		t.Fatal("SetFilter returned nil although the record batched before it was never stored")
	}
	store.set(func(s *fakeStore) { s.down, s.onInsert = false, nil })
	e.close()
}

// startFiltered is start with f set before the pipeline starts, as serve sets the erasure
// requests it finds before replaying the log.
func startFiltered(t *testing.T, dir string, store *fakeStore, f sink.Filter) *env {
	t.Helper()
	e := &env{t: t, dir: dir, store: store, tracker: &wal.Tracker{}}
	var err error
	if e.log, err = wal.Open(wal.Options{Dir: dir, Sync: wal.SyncInterval, Tracker: e.tracker}); err != nil {
		t.Fatal(err)
	}
	if e.p, err = sink.New(store, e.log, e.tracker, testOptions()); err != nil {
		t.Fatal(err)
	}
	if err := e.p.SetFilter(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	if err := e.p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		e.p.Close(context.Background())
		e.log.Close()
	})
	e.waitLive()
	return e
}

func TestReplayAfterACrashLeavesOutFilteredRecords(t *testing.T) {
	store := newFakeStore()
	e := start(t, t.TempDir(), store, testOptions(), wal.Options{})
	store.set(func(s *fakeStore) { s.down = true })
	e.mustSubmit("cb-1", "cb-7|secret-of-seven", "lead 7 again, as a dead letter", "cb-2")
	dir := e.crash() // acknowledged, never stored

	store.set(func(s *fakeStore) { s.down = false })
	e2 := startFiltered(t, dir, store, forgetLead7)
	e2.close()
	exactlyOnce(t, "lead_updates", store.rows("lead_updates"), []string{"cb-1", "cb-2"})
	if n := store.count("dead_letters"); n != 0 {
		t.Errorf("%d dead letters stored, want none", n)
	}
	if st := e2.p.Stats(); st.Forgotten != 2 || st.ErasedRecords != 2 || st.ReplayedRecords != 4 {
		t.Errorf("stats after replay: %+v", st)
	}
	if logHolds(t, dir, "secret-of-seven") || logHolds(t, dir, "lead 7 again") {
		t.Error("the log still holds a forgotten record")
	}
}

func TestErasedRecordsAreReplayedAsNothingAndCommitted(t *testing.T) {
	store := newFakeStore()
	e := start(t, t.TempDir(), store, testOptions(), wal.Options{})
	store.set(func(s *fakeStore) { s.down = true })
	e.mustSubmit("cb-1", "cb-7|secret-of-seven", "cb-2")
	dir := e.crash()
	// forget, run while no serve has the log open, erases the record itself.
	res, err := wal.Scrub(context.Background(), dir, func(r wal.Record) bool { return bytes.HasPrefix(r.Body, []byte("cb-7")) })
	if err != nil || res.Erased != 1 {
		t.Fatalf("Scrub = %+v, %v", res, err)
	}
	store.set(func(s *fakeStore) { s.down = false })
	e2 := start(t, dir, store, testOptions(), wal.Options{})
	e2.close()
	got := store.rows("lead_updates")
	slices.Sort(got)
	if strings.Join(got, " ") != "cb-1 cb-2" || store.count("dead_letters") != 0 {
		t.Errorf("stored %v and %d dead letters, want cb-1 cb-2 and none", got, store.count("dead_letters"))
	}
	if e2.log.Size() != 0 {
		t.Errorf("%d bytes left uncommitted: the erased record holds the commit back", e2.log.Size())
	}
}

// A batch the previous process noted and did not finish is written again before anything else
// (its own generation): it was batched before any SetFilter, which waits for it too.
func TestSetFilterWaitsForTheBatchesOfThePreviousProcess(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, err := wal.Open(wal.Options{Dir: dir, Tracker: &wal.Tracker{}, Sync: wal.SyncInterval})
	if err != nil {
		t.Fatal(err)
	}
	var noted []wal.Position
	for _, b := range []string{"cb-1", "cb-2", "cb-3"} {
		pos, err := l.Append(ctx, wal.Record{Body: []byte(b)})
		if err != nil {
			t.Fatal(err)
		}
		noted = append(noted, pos)
	}
	if _, err := l.NoteBatch(noted); err != nil {
		t.Fatal(err)
	}
	l.Close() // a crash while the batch was written

	store := newFakeStore()
	store.onInsert = func(string) { time.Sleep(50 * time.Millisecond) }
	e := start(t, dir, store, testOptions(), wal.Options{})
	if err := e.p.SetFilter(ctx, forgetLead7); err != nil {
		t.Fatal(err)
	}
	if got := store.rows("lead_updates"); len(got) != 3 {
		t.Errorf("SetFilter returned with %d of the previous process's 3 callbacks stored", len(got))
	}
}
