package chdb_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/leadhouse/leadhouse/sink/chdb"
	"github.com/leadhouse/leadhouse/sink/chdb/chdbtest"
)

func TestQueryRoundTrip(t *testing.T) {
	eng, db := chdbtest.Database(t)
	ctx := context.Background()
	for _, q := range []string{
		"CREATE TABLE " + db + ".kv (k String, v UInt64) ENGINE = MergeTree ORDER BY k",
		"INSERT INTO " + db + ".kv VALUES ('a', 1), ('b', 2), ('c', 3)",
	} {
		if err := eng.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	f := func(query, format, want string) {
		t.Helper()
		got, err := eng.Query(ctx, query, format)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("%s in %s:\ngot  %q\nwant %q", query, format, got, want)
		}
	}
	f("SELECT k, v FROM "+db+".kv ORDER BY k", "TabSeparated", "a\t1\nb\t2\nc\t3\n")
	f("SELECT k, v FROM "+db+".kv WHERE v > 1 ORDER BY k", "JSONEachRow", "{\"k\":\"b\",\"v\":2}\n{\"k\":\"c\",\"v\":3}\n")
	f("SELECT count() FROM "+db+".kv WHERE v > 5", "TabSeparated", "0\n")
}

func TestVersionIsReportedByEngine(t *testing.T) {
	eng := chdbtest.Engine(t)
	got, err := eng.Query(context.Background(), "SELECT version()", "TabSeparated")
	if err != nil {
		t.Fatal(err)
	}
	if v := eng.Version(); v == "" || strings.TrimSpace(string(got)) != v {
		t.Errorf("Version() = %q, SELECT version() = %q", v, got)
	}
}

func TestEngineErrorCarriesMessage(t *testing.T) {
	eng := chdbtest.Engine(t)
	ctx := context.Background()
	tests := []struct {
		name  string
		run   func(query string) error
		query string
		want  string
	}{
		{"query unknown table", func(q string) error { _, err := eng.Query(ctx, q, "TabSeparated"); return err },
			"SELECT * FROM no_such_db.no_such_table", "UNKNOWN_DATABASE"},
		{"exec syntax error", func(q string) error { return eng.Exec(ctx, q) },
			"CREATE TABLE (", "SYNTAX_ERROR"},
		{"insert into missing table", func(q string) error {
			_, err := eng.Insert(ctx, q, "JSONEachRow", []byte(`{"a":1}`))
			return err
		}, "INSERT INTO no_such_db.t", "UNKNOWN_DATABASE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run(tt.query)
			var qe *chdb.QueryError
			if !errors.As(err, &qe) {
				t.Fatalf("error %v (%T) is not a *QueryError", err, err)
			}
			if qe.Query != tt.query || !strings.Contains(qe.Message, tt.want) {
				t.Errorf("QueryError{Query: %q, Message: %q}, want query %q and message containing %q",
					qe.Query, qe.Message, tt.query, tt.want)
			}
		})
	}
}

func TestQueryErrorTruncatesLongQuery(t *testing.T) {
	eng := chdbtest.Engine(t)
	long := "SELECT '" + strings.Repeat("é", 1000) + "' FROM no_such_db.t"
	_, err := eng.Query(context.Background(), long, "TabSeparated")
	var qe *chdb.QueryError
	if !errors.As(err, &qe) {
		t.Fatalf("error %v is not a *QueryError", err)
	}
	if len(qe.Query) >= len(long) || !strings.HasPrefix(long, strings.TrimSuffix(qe.Query, "...")) {
		t.Errorf("Query = %q, want a truncated prefix of the statement", qe.Query)
	}
}

func TestCancelledContextStopsBeforeEngine(t *testing.T) {
	eng, db := chdbtest.Database(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := eng.Exec(ctx, "CREATE TABLE "+db+".never (a UInt8) ENGINE = Memory"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Exec with cancelled ctx: %v, want context.Canceled", err)
	}
	if _, err := eng.Insert(ctx, "INSERT INTO "+db+".never", "JSONEachRow", []byte("{}")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Insert with cancelled ctx: %v, want context.Canceled", err)
	}
	got, err := eng.Query(context.Background(), "EXISTS TABLE "+db+".never", "TabSeparated")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "0\n" {
		t.Errorf("table was created despite cancelled ctx: EXISTS = %q", got)
	}
}

func TestConcurrentQueriesAreSerialized(t *testing.T) {
	eng, db := chdbtest.Database(t)
	ctx := context.Background()
	if err := eng.Exec(ctx, "CREATE TABLE "+db+".n (g UInt8, i UInt32) ENGINE = MergeTree ORDER BY (g, i)"); err != nil {
		t.Fatal(err)
	}
	const workers, inserts = 8, 10
	errs := make(chan error, workers)
	for g := range workers {
		go func() {
			for i := range inserts {
				row := []byte(`{"g":` + itoa(g) + `,"i":` + itoa(i) + `}`)
				if _, err := eng.Insert(ctx, "INSERT INTO "+db+".n", "JSONEachRow", row); err != nil {
					errs <- err
					return
				}
				if _, err := eng.Query(ctx, "SELECT count() FROM "+db+".n", "TabSeparated"); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	got, err := eng.Query(ctx, "SELECT count(), uniqExact(g, i) FROM "+db+".n", "TabSeparated")
	if err != nil {
		t.Fatal(err)
	}
	if want := itoa(workers*inserts) + "\t" + itoa(workers*inserts) + "\n"; string(got) != want {
		t.Errorf("count, distinct = %q, want %q", got, want)
	}
}

func TestOpenSameDirSharesEngine(t *testing.T) {
	eng, db := chdbtest.Database(t)
	second, err := chdb.Open(chdb.Options{DataDir: eng.DataDir()})
	if err != nil {
		t.Fatal(err)
	}
	got, err := second.Query(context.Background(), "EXISTS DATABASE "+db, "TabSeparated")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "1\n" {
		t.Errorf("second handle does not see database %s: EXISTS = %q", db, got)
	}
	if err := second.Close(); err != nil {
		t.Fatal(err)
	}
	if err := second.Exec(context.Background(), "SELECT 1"); !errors.Is(err, chdb.ErrClosed) {
		t.Errorf("Exec on closed handle: %v, want ErrClosed", err)
	}
	if _, err := eng.Query(context.Background(), "SELECT 1", "TabSeparated"); err != nil {
		t.Errorf("shared engine stopped when another handle closed: %v", err)
	}
}

func TestOpenOtherDirIsRefused(t *testing.T) {
	eng := chdbtest.Engine(t)
	other := t.TempDir()
	_, err := chdb.Open(chdb.Options{DataDir: other})
	if err == nil {
		t.Fatal("Open on a second data dir succeeded")
	}
	if !strings.Contains(err.Error(), eng.DataDir()) {
		t.Errorf("error %q does not name the open data dir %s", err, eng.DataDir())
	}
}

func TestOpenRequiresDataDir(t *testing.T) {
	if _, err := chdb.Open(chdb.Options{}); err == nil || !strings.Contains(err.Error(), "DataDir") {
		t.Errorf("Open without DataDir: %v", err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// A feed that fails abandons the insert: nothing it wrote is stored, its error comes back as is,
// and the engine takes the next statement.
func TestInsertFuncAbandonsTheInsertWhenTheFeedFails(t *testing.T) {
	eng, db := chdbtest.Database(t)
	ctx := context.Background()
	if err := eng.Exec(ctx, "CREATE TABLE "+db+".t (a UInt64) ENGINE = MergeTree ORDER BY a"); err != nil {
		t.Fatal(err)
	}
	broken := errors.New("encoder gave up")
	_, err := eng.InsertFunc(ctx, "INSERT INTO "+db+".t", "JSONEachRow", func(write func([]byte) error) error {
		if err := write([]byte(`{"a":1}` + "\n")); err != nil {
			return err
		}
		return broken
	})
	if !errors.Is(err, broken) {
		t.Fatalf("InsertFunc returned %v, want the feed's error", err)
	}
	n, err := eng.InsertFunc(ctx, "INSERT INTO "+db+".t", "JSONEachRow", func(write func([]byte) error) error {
		for _, chunk := range []string{`{"a":2}`, "\n", `{"a":3}` + "\n"} {
			if err := write([]byte(chunk)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil || n != 2 {
		t.Fatalf("insert after an abandoned one: %d rows, %v", n, err)
	}
	out, err := eng.Query(ctx, "SELECT groupArray(a) FROM (SELECT a FROM "+db+".t ORDER BY a)", "TSV")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != "[2,3]" {
		t.Errorf("table holds %s, want [2,3]: the abandoned insert's row must not be stored", got)
	}
}
