package sql

import (
	"context"
	"errors"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/leadhouse/leadhouse/schema"
)

func fileNames(files []File) []string {
	var names []string
	for _, f := range files {
		names = append(names, f.Name)
	}
	return names
}

func TestEmbeddedMigrationsAreWellFormed(t *testing.T) {
	files := Files()
	if len(files) < 2 || files[0].Name != "0001_tables.sql" {
		t.Fatalf("Files() = %v, want 0001_tables.sql first and the views after it", fileNames(files))
	}
	// Statements are re-run when a file fails halfway (ClickHouse has no transactional DDL), so
	// each must be idempotent.
	idempotent := []string{"CREATE TABLE IF NOT EXISTS ", "CREATE OR REPLACE VIEW ", "ALTER TABLE ", "CREATE MATERIALIZED VIEW IF NOT EXISTS "}
	// Filling a state table is idempotent too: its columns are argMax, min, minMap and uniqExact
	// states, which a row inserted twice leaves as they were.
	for _, st := range schema.StateTables() {
		idempotent = append(idempotent, "INSERT INTO "+st.Name+"\n")
	}
	for i, f := range files {
		// Versions may leave gaps, reserved for work on other branches.
		if i > 0 && f.Version <= files[i-1].Version {
			t.Errorf("%s: version %d after %s: versions increase", f.Name, f.Version, files[i-1].Name)
		}
		st, err := f.Statements()
		if err != nil {
			t.Fatal(err)
		}
		if len(st) == 0 {
			t.Errorf("%s has no statements", f.Name)
		}
		for _, s := range st {
			ok := false
			for _, p := range idempotent {
				ok = ok || strings.HasPrefix(s.SQL, p)
			}
			if !ok {
				t.Errorf("%s line %d: statement is not one of the idempotent forms %q: %.60s", f.Name, s.Line, idempotent, s.SQL)
			}
			if strings.HasPrefix(s.SQL, "ALTER TABLE ") && !strings.Contains(s.SQL, " IF ") {
				t.Errorf("%s line %d: ALTER TABLE without IF [NOT] EXISTS cannot be re-run: %.60s", f.Name, s.Line, s.SQL)
			}
		}
	}
}

func TestMigrateAppliesEveryFileOnAFreshDatabase(t *testing.T) {
	s := newStore(t)
	applied, err := Migrate(context.Background(), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := fileNames(Files())
	if strings.Join(applied, " ") != strings.Join(want, " ") {
		t.Errorf("applied %v, want %v", applied, want)
	}
	var rec strings.Builder
	for _, f := range Files() {
		rec.WriteString(strings.Join([]string{itoa(f.Version), f.Name, f.Checksum}, "\t") + "\n")
	}
	if got := queryString(t, s, "SELECT version, name, checksum FROM schema_migrations ORDER BY version"); got != rec.String() {
		t.Errorf("schema_migrations:\n%s\nwant:\n%s", got, rec.String())
	}
}

func itoa(v uint32) string { return strconv.FormatUint(uint64(v), 10) }

func TestMigrateAgainAppliesNothing(t *testing.T) {
	s := migrated(t)
	before := queryString(t, s, "SELECT version, checksum, applied_at FROM schema_migrations ORDER BY version")
	applied, err := Migrate(context.Background(), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 0 {
		t.Errorf("second run applied %v, want nothing", applied)
	}
	if after := queryString(t, s, "SELECT version, checksum, applied_at FROM schema_migrations ORDER BY version"); after != before {
		t.Errorf("schema_migrations changed on a second run:\nbefore\n%s\nafter\n%s", before, after)
	}
}

func TestConcurrentMigrateRecordsEachFileOnce(t *testing.T) {
	s := newStore(t)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Go(func() { _, errs[i] = Migrate(context.Background(), s, nil) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	got := queryString(t, s, "SELECT version, count() FROM schema_migrations GROUP BY version ORDER BY version")
	var want strings.Builder
	for _, f := range Files() {
		want.WriteString(itoa(f.Version) + "\t1\n")
	}
	if got != want.String() {
		t.Errorf("schema_migrations records per version:\n%s\nwant\n%s", got, want.String())
	}
}

// TestTablesMatchSchema proves the DDL is what package schema says, column for column, so the
// Arrow batches the sink builds from schema always fit.
func TestTablesMatchSchema(t *testing.T) {
	s := migrated(t)
	for _, tb := range schema.Tables() {
		t.Run(tb.Name, func(t *testing.T) {
			var want strings.Builder
			for _, c := range tb.Columns {
				want.WriteString(c.Name + "\t" + c.Type + "\t" + c.Codec + "\n")
			}
			var got strings.Builder
			for _, r := range query(t, s, "DESCRIBE TABLE "+tb.Name) {
				// name, type, default_type, default_expression, comment, codec_expression, ttl_expression
				got.WriteString(r[0] + "\t" + r[1] + "\t" + r[5] + "\n")
				if r[2] != "" {
					t.Errorf("column %s has a %s expression, which schema cannot describe", r[0], r[2])
				}
			}
			if got.String() != want.String() {
				t.Errorf("DESCRIBE TABLE %s:\n%s\nschema says:\n%s", tb.Name, got.String(), want.String())
			}
			eng := query(t, s, "SELECT engine, sorting_key, partition_key FROM system.tables WHERE database = currentDatabase() AND name = '"+tb.Name+"'")
			if len(eng) != 1 {
				t.Fatalf("system.tables has %d rows for %s", len(eng), tb.Name)
			}
			if w := []string{tb.Engine, tb.SortingKey, tb.PartitionKey}; strings.Join(eng[0], "|") != strings.Join(w, "|") {
				t.Errorf("engine, sorting key, partition key = %q, schema says %q", eng[0], w)
			}
		})
	}
	for _, st := range schema.StateTables() {
		t.Run(st.Name, func(t *testing.T) {
			var want strings.Builder
			for _, c := range st.Columns {
				want.WriteString(c.Name + "\t" + c.Type + "\n")
			}
			var got strings.Builder
			for _, r := range query(t, s, "DESCRIBE TABLE "+st.Name) {
				got.WriteString(r[0] + "\t" + r[1] + "\n")
			}
			if got.String() != want.String() {
				t.Errorf("DESCRIBE TABLE %s:\n%s\nschema says:\n%s", st.Name, got.String(), want.String())
			}
			eng := query(t, s, "SELECT engine, sorting_key FROM system.tables WHERE database = currentDatabase() AND name = '"+st.Name+"'")
			if len(eng) != 1 || strings.Join(eng[0], "|") != st.Engine+"|"+st.SortingKey {
				t.Errorf("engine, sorting key = %q, schema says %s, %s", eng, st.Engine, st.SortingKey)
			}
			views := query(t, s, "SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = '"+st.View()+"' AND engine = 'MaterializedView'")
			if views[0][0] != "1" {
				t.Errorf("no materialized view %s fills %s", st.View(), st.Name)
			}
		})
	}
	var want []string
	for _, tb := range schema.Tables() {
		want = append(want, tb.Name)
	}
	for _, st := range schema.StateTables() {
		want = append(want, st.Name)
	}
	got := query(t, s, "SELECT name FROM system.tables WHERE database = currentDatabase() AND engine NOT LIKE '%View' ORDER BY name")
	if len(got) != len(want) {
		t.Errorf("database has tables %v, schema has %v", got, want)
	}
}

// TestRetriedBatchIsStoredOnce proves every table keeps insert deduplication tokens
// (non_replicated_deduplication_window), which the sink relies on when it retries a batch.
func TestRetriedBatchIsStoredOnce(t *testing.T) {
	s := migrated(t)
	for _, tb := range schema.Tables() {
		count := "SELECT count() FROM " + tb.Name
		before := query(t, s, count)[0][0]
		q := "INSERT INTO " + tb.Name + " (" + tb.Columns[0].Name + ") SETTINGS insert_deduplication_token = 'batch-1' VALUES (7)"
		exec(t, s, q)
		exec(t, s, q)
		after := query(t, s, count)[0][0]
		if n, _ := strconv.Atoi(after); strconv.Itoa(n-1) != before {
			t.Errorf("%s: a batch inserted twice with one token took the row count from %s to %s, want one more", tb.Name, before, after)
		}
	}
}

func testFS(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, body := range files {
		fsys["migrations/"+name] = &fstest.MapFile{Data: []byte(body)}
	}
	return fsys
}

const okMigration = `-- a table for the runner tests
CREATE TABLE IF NOT EXISTS kv (k String, v UInt64) ENGINE = MergeTree ORDER BY k;
`

func TestBrokenMigrationStopsWithFileAndEngineError(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	broken := testFS(map[string]string{
		"0001_kv.sql": okMigration,
		"0002_broken.sql": "CREATE OR REPLACE VIEW kv_keys AS SELECT k FROM kv;\n\n" +
			"CREATE OR REPLACE VIEW kv_bad AS SELECT no_such_column FROM kv;\n",
		"0003_later.sql": "CREATE OR REPLACE VIEW kv_later AS SELECT v FROM kv;\n",
	})
	applied, err := migrate(ctx, s, nil, broken)
	if err == nil {
		t.Fatal("a migration referring to a missing column was applied")
	}
	for _, want := range []string{"0002_broken.sql", "line 3", "no_such_column", "UNKNOWN_IDENTIFIER"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if strings.Join(applied, " ") != "0001_kv.sql" {
		t.Errorf("applied %v, want only 0001_kv.sql", applied)
	}
	if got := queryString(t, s, "SELECT name FROM schema_migrations ORDER BY version"); got != "0001_kv.sql\n" {
		t.Errorf("schema_migrations lists %q, want only 0001_kv.sql: a failed file is not recorded", got)
	}
	if got := queryString(t, s, "SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = 'kv_later'"); got != "0\n" {
		t.Error("a file after the broken one ran")
	}

	fixed := testFS(map[string]string{
		"0001_kv.sql":     okMigration,
		"0002_broken.sql": "CREATE OR REPLACE VIEW kv_keys AS SELECT k FROM kv;\n\nCREATE OR REPLACE VIEW kv_bad AS SELECT v FROM kv;\n",
		"0003_later.sql":  "CREATE OR REPLACE VIEW kv_later AS SELECT v FROM kv;\n",
	})
	applied, err = migrate(ctx, s, nil, fixed)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(applied, " ") != "0002_broken.sql 0003_later.sql" {
		t.Errorf("after the fix applied %v, want the failed file re-run from its start and the next one", applied)
	}
}

func TestChangedMigrationIsRefused(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	if _, err := migrate(ctx, s, nil, testFS(map[string]string{"0001_kv.sql": okMigration})); err != nil {
		t.Fatal(err)
	}
	edited := testFS(map[string]string{
		"0001_kv.sql":   strings.Replace(okMigration, "v UInt64", "v UInt32", 1),
		"0002_more.sql": "CREATE OR REPLACE VIEW kv_keys AS SELECT k FROM kv;\n",
	})
	applied, err := migrate(ctx, s, nil, edited)
	if !errors.Is(err, ErrChanged) {
		t.Fatalf("error %v, want ErrChanged", err)
	}
	if !strings.Contains(err.Error(), "0001_kv.sql") || !strings.Contains(err.Error(), "immutable") {
		t.Errorf("error %q should name the file and say migrations are immutable", err)
	}
	if len(applied) != 0 {
		t.Errorf("applied %v after detecting a changed file, want nothing", applied)
	}
}

func TestMisnamedMigrationIsAnError(t *testing.T) {
	for _, name := range []string{"1_short.sql", "0002-dash.sql", "0003_Upper.sql", "0000_zero.sql"} {
		_, err := loadFiles(testFS(map[string]string{"0001_kv.sql": okMigration, name: okMigration}))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %v, want one naming the file", name, err)
		}
	}
	_, err := loadFiles(testFS(map[string]string{"0001_a.sql": okMigration, "0001_b.sql": okMigration}))
	if err == nil || !strings.Contains(err.Error(), "same version") {
		t.Errorf("two files with version 0001: error %v", err)
	}
	if _, err := loadFiles(fstest.MapFS{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("no migrations directory: error %v, want fs.ErrNotExist", err)
	}
}
