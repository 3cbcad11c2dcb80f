package sql_test

import (
	"fmt"

	"github.com/leadhouse/leadhouse/sql"
)

func ExampleSplit() {
	st, err := sql.Split(`-- a migration
CREATE TABLE IF NOT EXISTS kv (k String COMMENT 'a;b') ENGINE = MergeTree ORDER BY k;

CREATE OR REPLACE VIEW keys AS
SELECT k FROM kv;
`)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range st {
		fmt.Printf("line %d: %s\n", s.Line, s.SQL)
	}
	// Output:
	// line 2: CREATE TABLE IF NOT EXISTS kv (k String COMMENT 'a;b') ENGINE = MergeTree ORDER BY k
	// line 4: CREATE OR REPLACE VIEW keys AS
	// SELECT k FROM kv
}

func ExampleFiles() {
	for _, f := range sql.Files()[:2] {
		fmt.Println(f.Version, f.Name)
	}
	// Output:
	// 1 0001_tables.sql
	// 2 0002_views.sql
}
