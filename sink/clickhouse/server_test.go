package clickhouse

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/leadhouse/leadhouse/schema"
	"github.com/leadhouse/leadhouse/sink"
	"github.com/leadhouse/leadhouse/sink/chdb"
	lhsql "github.com/leadhouse/leadhouse/sql"
)

// Environment of the server tests. Each test creates and drops its own database, so the user
// needs CREATE DATABASE: with `docker compose up -d clickhouse` that is CLICKHOUSE_ADDR=
// localhost:9000 CLICKHOUSE_USER=default and no password (the compose file's leadhouse user may
// only touch the leadhouse database).
const (
	addrEnv     = "CLICKHOUSE_ADDR"     // host:port[,host:port...] of the native protocol
	userEnv     = "CLICKHOUSE_USER"     // default "default"
	passwordEnv = "CLICKHOUSE_PASSWORD" // default none
)

// openServer opens a Store on a fresh database of the server named by CLICKHOUSE_ADDR, dropped
// when the test ends, or skips the test when the variable is unset.
func openServer(t *testing.T) *Store {
	t.Helper()
	addr := os.Getenv(addrEnv)
	if addr == "" {
		t.Skipf("skipping: set %s=localhost:9000 (and %s, %s if needed) to test against a ClickHouse server", addrEnv, userEnv, passwordEnv)
	}
	ctx := context.Background()
	db := fmt.Sprintf("leadhouse_test_%d", time.Now().UnixNano())
	s, err := Open(ctx, Options{
		Addr:     strings.Split(addr, ","),
		Database: db,
		Username: os.Getenv(userEnv),
		Password: os.Getenv(passwordEnv),
	})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Exec(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(db)+" SYNC"); err != nil {
			t.Errorf("drop database: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// TestServerStoresEveryTableAsTheEngineDoes migrates a server database, inserts a batch of
// every table and requires Query to return what the embedded engine stores for the same batch.
func TestServerStoresEveryTableAsTheEngineDoes(t *testing.T) {
	s := openServer(t)
	ctx := context.Background()
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := lhsql.Migrate(ctx, s, nil); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	eng, db := migratedDatabase(t)
	for _, tc := range tableCases() {
		if tc.table == schema.Migrations {
			continue // holds the migrations' own records on both sides
		}
		t.Run(tc.table.Name, func(t *testing.T) {
			rec, _ := tc.build(50)
			defer rec.Release()
			if err := s.Insert(ctx, tc.table, sink.Batch{Chunks: []arrow.RecordBatch{rec}}, "server-test/"+tc.table.Name); err != nil {
				t.Fatal(err)
			}
			stream, err := chdb.EncodeArrowStream(rec)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := eng.Insert(ctx, fmt.Sprintf("INSERT INTO %s.%s", db, tc.table.Name), "ArrowStream", stream); err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := s.Query(ctx, "SELECT * FROM "+tc.table.Name, &buf); err != nil {
				t.Fatal(err)
			}
			got := sortedLines(buf.Bytes())
			want := engineTSV(t, eng, fmt.Sprintf("SELECT * FROM %s.%s", db, tc.table.Name))
			if !slices.Equal(got, want) {
				t.Fatalf("server rows differ from the engine's:\n%s", diffLines(got, want))
			}
		})
	}
}

// TestServerInsertWithSameTokenStoresOnce re-sends a batch with its token, as the sink does
// after an ambiguous failure, and checks the rows are stored once, while a new token stores them
// again. dead_letters is a plain MergeTree, so no merge can make rows disappear on its own.
func TestServerInsertWithSameTokenStoresOnce(t *testing.T) {
	s := openServer(t)
	ctx := context.Background()
	if _, err := lhsql.Migrate(ctx, s, nil); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	rec, _ := buildTable[schema.DeadLetter](schema.DeadLetters)(40)
	defer rec.Release()
	count := func() string {
		t.Helper()
		var buf bytes.Buffer
		if err := s.Query(ctx, "SELECT count() FROM dead_letters", &buf); err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(buf.String())
	}
	for i, step := range []struct{ token, want string }{{"batch-1", "40"}, {"batch-1", "40"}, {"batch-2", "80"}} {
		if err := s.Insert(ctx, schema.DeadLetters, sink.Batch{Chunks: []arrow.RecordBatch{rec}}, step.token); err != nil {
			t.Fatal(err)
		}
		if got := count(); got != step.want {
			t.Fatalf("after insert %d with token %s: %s rows, want %s", i+1, step.token, got, step.want)
		}
	}
}

func TestServerReportsBadStatements(t *testing.T) {
	s := openServer(t)
	ctx := context.Background()
	if err := s.Exec(ctx, "CREATE TABLE t (a UInt8) ENGINE = Memory"); err != nil {
		t.Fatal(err)
	}
	if err := s.Exec(ctx, "INSERT INTO t VALUES (1), (2)"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := s.Query(ctx, "SELECT a, toString(a) FROM t ORDER BY a", &buf); err != nil {
		t.Fatal(err)
	}
	if got, want := buf.String(), "1\t1\n2\t2\n"; got != want {
		t.Fatalf("query: %q, want %q", got, want)
	}
	if err := s.Exec(ctx, "SELECT * FROM no_such_table"); err == nil || !strings.Contains(err.Error(), "no_such_table") {
		t.Fatalf("exec of a bad statement: %v", err)
	}
	if err := s.Query(ctx, "SELEC 1", &buf); err == nil {
		t.Fatal("query of a bad statement succeeded")
	}
}
