package erasure_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leadhouse/leadhouse/erasure"
	"github.com/leadhouse/leadhouse/flatten"
	"github.com/leadhouse/leadhouse/rebuild"
	"github.com/leadhouse/leadhouse/schema"
	"github.com/leadhouse/leadhouse/sink/wal"
)

// TestNationalNumberIsTheSQLOfTheMaskedViews: migration 0021 hashes phone numbers by the same
// national number as erasure compares them by, so both agree on who a number is.
func TestNationalNumberIsTheSQLOfTheMaskedViews(t *testing.T) {
	s := warehouse(t)
	for i, in := range []string{"+919999999988", "+91 99999-99988", "09999999988", "(022) 2345 6789", "022 234 567", "0012345", "n/a", "", "+65 9123 4567"} {
		id := strconv.Itoa(i + 1)
		if err := s.Exec(context.Background(), "INSERT INTO calls (lead_id, call_id, call_number) VALUES (1, "+id+", '"+in+"')"); err != nil {
			t.Fatal(err)
		}
		n := erasure.NationalNumber(in)
		want := "if('" + n + "' = '', NULL, sipHash64Keyed((SELECT (k0, k1) FROM pii_key), '" + n + "'))"
		if got := queryString(t, s, "SELECT call_number_hash IS NOT DISTINCT FROM "+want+" FROM masked_calls_current WHERE call_id = "+id); got != "1" {
			t.Errorf("%q: the masked views' national number is not NationalNumber's %q", in, n)
		}
	}
}

// TestForgetRemovesALeadFromEveryTableDeadLetterAndTheLog is Forget with no serve running: the
// lead's rows, the dead letters naming it or its phone, and its records in the write-ahead log,
// committed or not, are gone; other leads stay; the audit keeps the key, not the data.
func TestForgetRemovesALeadFromEveryTableDeadLetterAndTheLog(t *testing.T) {
	db := warehouse(t)
	dir := t.TempDir()
	walDir := filepath.Join(dir, "wal")
	forgotten := sample(t, "1402361", "+919999999988")
	duplicate := sample(t, "1500000", "+91 99999-99988") // the same person, a second lead
	other := bytes.Replace(sample(t, "77", "+918888888888"), []byte(`"History "`), []byte(`"Someone Else"`), 1)
	serve(t, db, walDir,
		[][]byte{forgotten, duplicate, other, []byte(`{"lead_id":1402361,"name":"History","pho`), []byte(`not json, call 99999 99988`), []byte(`[1,2]`)},
		[][]byte{sample(t, "1402361", "+919999999988")[1:]}) // held: acknowledged, never stored
	if !logHolds(t, walDir, "History") {
		t.Fatal("the log holds nothing to erase")
	}
	// The engine's state and the day's scenario counts, which aggregate all three leads, lose the
	// two forgotten ones as well.
	scenarios := "SELECT scenario, sum(callbacks), sum(leads) FROM scenario_counts GROUP BY scenario ORDER BY scenario"
	if got := queryString(t, db, scenarios); got != "sales_booking_done\t3\t3" {
		t.Fatalf("scenario counts before Forget: %q, want the three leads' callbacks", got)
	}
	f := &erasure.Forgetter{DB: db, Store: erasure.NewStore(filepath.Join(dir, "erasure")), WALDir: walDir, Decode: flatten.New().Flatten}
	rep, err := f.Forget(context.Background(), erasure.Request{LeadID: 1402361, Phone: "+91 9999999988", By: "dpo@example", Reason: "ticket 42"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Leads) != 2 || rep.Leads[0] != (erasure.Lead{1402361, "lead_id"}) || rep.Leads[1] != (erasure.Lead{1500000, "phone"}) {
		t.Errorf("leads forgotten: %+v", rep.Leads)
	}
	want := erasure.Removed{"lead_updates": 2, "events": 4, "notes": 14, "calls": 2, "dispositions": 2, "status_transitions": 24, "booking_docs": 4, "dead_letters": 2, "wal_records": 5}
	if rep.Removed.JSON() != want.JSON() || rep.ServeRunning || rep.WALPending != 0 {
		t.Errorf("report %+v\nremoved %s, want %s", rep, rep.Removed.JSON(), want.JSON())
	}
	for _, tb := range schema.Tables() {
		if _, ok := tb.ColumnIndex("lead_id"); !ok || tb == schema.Erasures {
			continue
		}
		if got := queryString(t, db, "SELECT countIf(lead_id IN (1402361, 1500000)), countIf(lead_id = 77) FROM "+tb.Name); tb.Name != "pii_key" && !strings.HasPrefix(got, "0\t") {
			t.Errorf("%s still holds the lead: %s", tb.Name, got)
		}
	}
	for _, st := range schema.StateTables() {
		if _, ok := st.Source.ColumnIndex("lead_id"); !ok || st == schema.ScenarioCounts {
			continue
		}
		if got := queryString(t, db, "SELECT countIf(lead_id IN (1402361, 1500000)), countIf(lead_id = 77) FROM "+st.Name); got != "0\t1" && !(got > "0\t1" && strings.HasPrefix(got, "0\t")) {
			t.Errorf("state table %s: forgotten leads' rows, lead 77's rows = %s", st.Name, got)
		}
	}
	if got := queryString(t, db, "SELECT lead_id FROM leads_current"); got != "77" {
		t.Errorf("leads_current = %q, want only lead 77", got)
	}
	if got := queryString(t, db, scenarios); got != "sales_booking_done\t1\t1" {
		t.Errorf("scenario counts after Forget: %q, want lead 77's callback alone", got)
	}
	if got := queryString(t, db, "SELECT body FROM dead_letters"); got != "[1,2]" {
		t.Errorf("dead letters left: %q, want only the one that names nobody", got)
	}
	for _, s := range []string{"History", "9999999988", "99999 99988"} {
		if logHolds(t, walDir, s) {
			t.Errorf("the log still holds %q", s)
		}
	}
	if !logHolds(t, walDir, "8888888888") {
		t.Error("the log lost the other lead")
	}
	audit := queryString(t, db, "SELECT lead_id, matched_by, requested_by, reason, length(phone_hash), removed FROM erasures ORDER BY lead_id")
	if want := "1402361\tlead_id\tdpo@example\tticket 42\t32\t" + want.JSON() + "\n1500000\tphone\tdpo@example\tticket 42\t32\t" + want.JSON(); audit != want {
		t.Errorf("erasures:\n%s\nwant\n%s", audit, want)
	}
	if strings.Contains(queryString(t, db, "SELECT * FROM erasures"), "9999999988") {
		t.Error("the audit holds the phone number")
	}

	// Again: nothing left to remove, and no second request recorded.
	again, err := f.Forget(context.Background(), erasure.Request{LeadID: 1402361, Phone: "+91 9999999988", By: "dpo@example"})
	if err != nil {
		t.Fatal(err)
	}
	if again.Removed.Total() != 0 || len(again.Leads) != 1 {
		t.Errorf("second Forget removed %s of %+v, want nothing", again.Removed.JSON(), again.Leads)
	}
	if _, n, _ := erasure.NewStore(filepath.Join(dir, "erasure")).Load(); n != 1 {
		t.Errorf("%d requests recorded, want the first one only", n)
	}
}

// TestForgetWaitsForTheRunningServe: with the log open (a serve running), Forget deletes nothing
// until the serve has applied the request, then erases the committed records and leaves the
// others to it.
func TestForgetWaitsForTheRunningServe(t *testing.T) {
	db := warehouse(t)
	dir := t.TempDir()
	walDir := filepath.Join(dir, "wal")
	serve(t, db, walDir, [][]byte{sample(t, "1402361", "+919999999988")}, nil)
	l, err := wal.Open(wal.Options{Dir: walDir}) // the running serve
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	pending, err := l.Append(context.Background(), wal.Record{Body: sample(t, "1402361", "+919999999988")})
	if err != nil {
		t.Fatal(err)
	}
	store := erasure.NewStore(filepath.Join(dir, "erasure"))
	f := &erasure.Forgetter{DB: db, Store: store, WALDir: walDir, Decode: flatten.New().Flatten, Poll: time.Millisecond}
	type result struct {
		rep erasure.Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := f.Forget(context.Background(), erasure.Request{LeadID: 1402361, By: "dpo"})
		done <- result{rep, err}
	}()
	// The serve's part (Store.Watch in serve): it sees the request, and says it applies it.
	waitFor(t, func() bool { _, n, _ := store.Load(); return n == 1 })
	if got := queryString(t, db, "SELECT count() FROM lead_updates"); got != "1" {
		t.Fatalf("Forget deleted before the serve applied the request: %s rows left", got)
	}
	if err := store.MarkApplied(1); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if !r.rep.ServeRunning || r.rep.Removed["lead_updates"] != 1 || r.rep.Removed["wal_records"] != 1 || r.rep.WALPending != 1 {
		t.Errorf("report %+v, removed %s; want the stored callback deleted and erased, the held one pending", r.rep, r.rep.Removed.JSON())
	}
	// The serve erases the pending record once it has committed it.
	if err := l.Commit(pending); err != nil {
		t.Fatal(err)
	}
	if n, err := l.Erase(pending); err != nil || n != 1 {
		t.Fatalf("Erase = %d, %v", n, err)
	}
	if logHolds(t, walDir, "History") {
		t.Error("the log still holds the lead")
	}
}

func TestForgetGivesUpWhenTheServeDoesNotApply(t *testing.T) {
	db := warehouse(t)
	dir := t.TempDir()
	walDir := filepath.Join(dir, "wal")
	serve(t, db, walDir, [][]byte{sample(t, "1402361", "+919999999988")}, nil)
	l, err := wal.Open(wal.Options{Dir: walDir})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	f := &erasure.Forgetter{DB: db, Store: erasure.NewStore(filepath.Join(dir, "erasure")), WALDir: walDir, Decode: flatten.New().Flatten,
		Wait: 20 * time.Millisecond, Poll: time.Millisecond}
	if _, err := f.Forget(context.Background(), erasure.Request{LeadID: 1402361}); !errors.Is(err, erasure.ErrNotApplied) {
		t.Fatalf("Forget with a serve that never applies: %v, want ErrNotApplied", err)
	}
	if got := queryString(t, db, "SELECT count() FROM lead_updates"); got != "1" {
		t.Errorf("rows deleted although the serve may still store more: %s left", got)
	}
	if _, n, _ := erasure.NewStore(filepath.Join(dir, "erasure")).Load(); n != 1 {
		t.Errorf("%d requests recorded: the request must stay for every replay to honour", n)
	}
}

// TestForgetDeletesNothingWhileARebuildIsInProgress: a rebuild's new tables may hold the person's
// rows re-flattened from raw bodies, and the rebuild would swap them in, so Forget records the
// request (every replay leaves the person out) but deletes nothing until the rebuild is over.
func TestForgetDeletesNothingWhileARebuildIsInProgress(t *testing.T) {
	db := warehouse(t)
	dir := t.TempDir()
	walDir := filepath.Join(dir, "wal")
	serve(t, db, walDir, [][]byte{sample(t, "1402361", "+919999999988")}, nil)
	rebuilding := "lead_updates" + rebuild.Suffix
	if err := db.Exec(context.Background(), "CREATE TABLE "+rebuilding+" AS lead_updates"); err != nil {
		t.Fatal(err)
	}
	f := &erasure.Forgetter{DB: db, Store: erasure.NewStore(filepath.Join(dir, "erasure")), WALDir: walDir, Decode: flatten.New().Flatten}
	_, err := f.Forget(context.Background(), erasure.Request{LeadID: 1402361, By: "dpo@example"})
	if err == nil || !strings.Contains(err.Error(), rebuilding) {
		t.Fatalf("Forget during a rebuild: %v, want an error naming %s", err, rebuilding)
	}
	if got := queryString(t, db, "SELECT count() FROM lead_updates"); got != "1" {
		t.Errorf("lead_updates holds %s rows: deleted during a rebuild", got)
	}
	if set, _, err := erasure.NewStore(filepath.Join(dir, "erasure")).Load(); err != nil || !set.HasLead(1402361) {
		t.Errorf("the request is not recorded for every replay to honour (%v)", err)
	}

	if err := db.Exec(context.Background(), "DROP TABLE "+rebuilding); err != nil {
		t.Fatal(err)
	}
	rep, err := f.Forget(context.Background(), erasure.Request{LeadID: 1402361, By: "dpo@example"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Removed["lead_updates"] != 1 || queryString(t, db, "SELECT count() FROM lead_updates") != "0" {
		t.Errorf("Forget once the rebuild is over removed %s", rep.Removed.JSON())
	}
}

func TestForgetNeedsALeadOrAPhone(t *testing.T) {
	f := &erasure.Forgetter{Store: erasure.NewStore(t.TempDir())}
	if _, err := f.Forget(context.Background(), erasure.Request{Phone: "n/a"}); err == nil {
		t.Error("Forget without a lead id or a phone number's digits succeeded")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within a minute")
		}
		time.Sleep(time.Millisecond)
	}
}
