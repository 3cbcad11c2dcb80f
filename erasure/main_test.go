package erasure_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadhouse/leadhouse/engine/enginetest"
	"github.com/leadhouse/leadhouse/flatten"
	"github.com/leadhouse/leadhouse/server"
	"github.com/leadhouse/leadhouse/sink"
	"github.com/leadhouse/leadhouse/sink/clickhouse"
	"github.com/leadhouse/leadhouse/sink/wal"
	"github.com/leadhouse/leadhouse/sql"
)

func TestMain(m *testing.M) { enginetest.Main(m) }

// warehouse is a migrated database of the test binary's engine.
func warehouse(t *testing.T) *clickhouse.Store {
	t.Helper()
	s := enginetest.Store(t)
	if _, err := sql.Migrate(context.Background(), s, nil); err != nil {
		t.Fatal(err)
	}
	return s
}

// sample is the CRM document's callback (flatten's test data) for lead id with phone, made a
// booking (a status update to "Booking done") so that the scenario counts hold it.
func sample(t *testing.T, lead, phone string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "flatten", "testdata", "seed_callback.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range [][2]string{{`"lead_id":1402361`, `"lead_id":` + lead}, {`"action": "lead_update"`, `"action": "status_update"`},
		{`"lead_status":"Final negotiation"`, `"lead_status":"Booking done"`}} {
		if !bytes.Contains(b, []byte(r[0])) {
			t.Fatalf("the sample callback has no %s", r[0])
		}
		b = bytes.Replace(b, []byte(r[0]), []byte(r[1]), 1)
	}
	return bytes.ReplaceAll(b, []byte(`"+919999999988"`), []byte(`"`+phone+`"`))
}

// serve stores bodies through the pipeline serve runs, with its write-ahead log in walDir, and
// then appends held to the log without storing them: what a crash leaves to replay.
func serve(t *testing.T, db sink.Store, walDir string, bodies, held [][]byte) {
	t.Helper()
	tracker := &wal.Tracker{}
	l, err := wal.Open(wal.Options{Dir: walDir, Sync: wal.SyncInterval, Tracker: tracker})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	p, err := sink.New(db, l, tracker, sink.Options{Decode: flatten.New().Flatten, Reason: server.Reason})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for _, b := range bodies {
		in := sink.Input{Body: b, ReceivedAt: time.Now(), Remote: "10.0.0.1:443"}
		rows, err := flatten.Flatten(b, in.ReceivedAt)
		dec := sink.Decoded{Rows: rows}
		if err != nil {
			dec = sink.Decoded{Reason: server.Reason(err), Err: err}
		}
		if _, err := p.Submit(ctx, in, dec); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for _, b := range held {
		if _, err := l.Append(ctx, wal.Record{Body: b, Remote: "10.0.0.1:443"}); err != nil {
			t.Fatal(err)
		}
	}
}

// logHolds reports whether a segment of the log in dir contains s.
func logHolds(t *testing.T, dir, s string) bool {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(dir, "*.wal"))
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

func queryString(t *testing.T, db sink.Store, q string) string {
	t.Helper()
	var buf bytes.Buffer
	if err := db.Query(context.Background(), q, &buf); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(buf.String())
}
