package erasure

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/leadhouse/leadhouse/schema"
)

func TestAppendedRequestsAreLoadedAsOneSet(t *testing.T) {
	s := NewStore(filepath.Join(t.TempDir(), "erasure"))
	set, n, err := s.Load()
	if err != nil || n != 0 || set.Len() != 0 || set.Filter() != nil {
		t.Fatalf("Load of a store never written = %d requests, %d keys, %v", n, set.Len(), err)
	}
	h, err := s.PhoneHash("+91 99999-99988")
	if err != nil || len(h) != phoneHashLen {
		t.Fatalf("PhoneHash = %q, %v", h, err)
	}
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	if n, err := s.Append(Tombstone{ID: "a", At: at, LeadIDs: []uint64{7, 8}}); err != nil || n != 1 {
		t.Fatalf("Append = %d, %v", n, err)
	}
	if n, err := s.Append(Tombstone{ID: "b", At: at, PhoneHashes: []string{h}}); err != nil || n != 2 {
		t.Fatalf("Append = %d, %v", n, err)
	}
	set, n, err = s.Load()
	if err != nil || n != 2 || set.Len() != 3 || !set.HasLead(7) || !set.HasLead(8) || !set.HasPhone(h) || set.HasLead(9) {
		t.Fatalf("Load = %d requests, %d keys, %v", n, set.Len(), err)
	}
	b, err := os.ReadFile(filepath.Join(s.Dir(), tombstonesFile))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("9999999988")) {
		t.Errorf("the requests hold the phone number: %s", b)
	}
	for _, name := range []string{tombstonesFile, keyFile} {
		if fi, err := os.Stat(filepath.Join(s.Dir(), name)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v; want 0600", name, err, fi.Mode().Perm())
		}
	}
}

func TestPhoneHashIsKeyedPerDataDirectoryAndIgnoresHowTheNumberIsWritten(t *testing.T) {
	a, b := NewStore(t.TempDir()), NewStore(t.TempDir())
	ha, _ := a.PhoneHash("+919999999988")
	for _, p := range []string{"9999999988", "099999 99988", "+91 (99999) 99988"} {
		if h, err := a.PhoneHash(p); err != nil || h != ha {
			t.Errorf("PhoneHash(%q) = %q, %v; want %q as for +919999999988", p, h, err, ha)
		}
	}
	if hb, _ := b.PhoneHash("+919999999988"); hb == ha {
		t.Error("two data directories hash a number alike: the key is not theirs")
	}
	if h, err := a.PhoneHash("no number"); h != "" || err != nil {
		t.Errorf("PhoneHash without digits = %q, %v", h, err)
	}
}

func TestARequestBeingWrittenIsNotThereYet(t *testing.T) {
	s := NewStore(t.TempDir())
	if _, err := s.Append(Tombstone{ID: "a", LeadIDs: []uint64{7}}); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(s.Dir(), tombstonesFile)
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"id":"torn","lead_ids":[8`) // a crash in the middle of an append
	f.Close()
	set, n, err := s.Load()
	if err != nil || n != 1 || set.HasLead(8) {
		t.Fatalf("Load with a torn last line = %d requests, %v; want the complete one", n, err)
	}
	// The next append cuts the torn line off, so its own line is whole.
	if n, err := s.Append(Tombstone{ID: "b", LeadIDs: []uint64{9}}); err != nil || n != 2 {
		t.Fatalf("Append after a torn line = %d, %v", n, err)
	}
	if set, n, err := s.Load(); err != nil || n != 2 || !set.HasLead(9) || set.HasLead(8) {
		t.Fatalf("Load = %d, %v", n, err)
	}
}

func TestDamagedRequestsAreRefusedNotSkipped(t *testing.T) {
	for _, line := range []string{
		`{"id":"a","lead_ids":[7]} trailing`,
		`{"id":"a","lead_ids":[7],"extra":1}`,
		`{"lead_ids":[7]}`,
		`{"id":"a"}`,
		`{"id":"a","phone_hashes":["00"]}`,
		`not json`,
	} {
		s := NewStore(t.TempDir())
		if err := os.WriteFile(filepath.Join(s.Dir(), tombstonesFile), []byte(`{"id":"ok","lead_ids":[1]}`+"\n"+line+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		// Skipping a request would store the person again: leadhouse stops instead.
		if _, _, err := s.Load(); err == nil || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("Load of %q: %v, want an error naming line 2", line, err)
		}
	}
}

func TestAppliedIsWhatMarkAppliedRecorded(t *testing.T) {
	s := NewStore(filepath.Join(t.TempDir(), "new"))
	if n, err := s.Applied(); n != 0 || err != nil {
		t.Fatalf("Applied of a new store = %d, %v", n, err)
	}
	if err := s.MarkApplied(3); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Applied(); n != 3 || err != nil {
		t.Fatalf("Applied = %d, %v", n, err)
	}
}

// FuzzParseTombstones: any file content parses or fails without panicking, and what parses
// marshals back to lines that parse to the same requests.
func FuzzParseTombstones(f *testing.F) {
	f.Add([]byte(`{"id":"a","at":"2026-05-01T10:00:00Z","lead_ids":[7,8]}` + "\n"))
	f.Add([]byte(`{"id":"b","phone_hashes":["0123456789abcdef0123456789abcdef"]}` + "\n" + `{"id":"c","lead_ids":[1]`))
	f.Add([]byte("\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ts, err := parseTombstones(data)
		if err != nil {
			return
		}
		var again []byte
		for _, tb := range ts {
			line, err := json.Marshal(tb)
			if err != nil {
				t.Fatal(err)
			}
			again = append(append(again, line...), '\n')
		}
		back, err := parseTombstones(again)
		if err != nil || len(back) != len(ts) {
			t.Fatalf("re-encoded requests do not parse: %v\n%s", err, again)
		}
		for i := range ts {
			if !reflect.DeepEqual(normalize(back[i]), normalize(ts[i])) {
				t.Fatalf("request %d: %+v became %+v", i, ts[i], back[i])
			}
		}
	})
}

// normalize makes empty lists nil and times comparable, as JSON round trips them.
func normalize(t Tombstone) Tombstone {
	if len(t.LeadIDs) == 0 {
		t.LeadIDs = nil
	}
	if len(t.PhoneHashes) == 0 {
		t.PhoneHashes = nil
	}
	t.At = t.At.UTC().Round(0)
	return t
}

func TestSetMatchesCallbacksAndBodiesOfThePeopleItForgets(t *testing.T) {
	s := NewStore(t.TempDir())
	h, _ := s.PhoneHash("+91 99999 99988")
	if _, err := s.Append(Tombstone{ID: "a", LeadIDs: []uint64{1402361}, PhoneHashes: []string{h}}); err != nil {
		t.Fatal(err)
	}
	set, _, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	rows := func(lead uint64, phone string) *schema.Rows {
		return &schema.Rows{Lead: schema.LeadUpdate{Meta: schema.Meta{LeadID: lead}, Phone: phone}}
	}
	for _, c := range []struct {
		name string
		body string
		rows *schema.Rows
		want bool
	}{
		{"the lead", "", rows(1402361, "+910000000000"), true},
		{"another lead with the phone", "", rows(5, "9999999988"), true},
		{"another lead", "", rows(5, "+918888888888"), false},
		{"a truncated body naming the lead", `{"lead_id":1402361,"name":"Hist`, nil, true},
		{"a body naming it as a string", `{"lead_id": "1402361"}`, nil, true},
		{"a body with the phone", `[{"phone":"+919999999988"}]`, nil, true},
		{"a body with the phone in prose", `not json: call 99999 99988`, nil, true},
		{"a body naming a longer id", `{"lead_id":14023610}`, nil, false},
		{"a body of another lead", `{"lead_id":5,"phone":"+918888888888"}`, nil, false},
	} {
		if got := set.Match([]byte(c.body), c.rows); got != c.want {
			t.Errorf("%s: Match = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestWatchAppliesEachNewRequestAndRecordsIt(t *testing.T) {
	s := NewStore(t.TempDir())
	applied := make(chan int, 4)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Watch(ctx, time.Millisecond, 0, func(_ context.Context, set *Set) error {
			applied <- set.Len()
			return nil
		}, slog.New(slog.DiscardHandler))
	}()
	for i, lead := range []uint64{7, 8} {
		if _, err := s.Append(Tombstone{ID: "r", LeadIDs: []uint64{lead}}); err != nil {
			t.Fatal(err)
		}
		if got := <-applied; got != i+1 {
			t.Errorf("request %d: applied a set of %d, want %d", i+1, got, i+1)
		}
		for {
			if n, err := s.Applied(); err != nil || n == i+1 {
				break
			}
			time.Sleep(time.Millisecond) // MarkApplied follows apply
		}
	}
	cancel()
	<-done
	select {
	case n := <-applied:
		t.Errorf("a set of %d applied again without a new request", n)
	default:
	}
}
