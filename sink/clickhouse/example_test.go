package clickhouse_test

import (
	"context"
	"log"
	"os"

	"github.com/leadhouse/leadhouse/sink/clickhouse"
)

// Open connects, creates the database if needed and binds the Store to it; unqualified names in
// Exec and Query resolve there.
func ExampleOpen() {
	ctx := context.Background()
	store, err := clickhouse.Open(ctx, clickhouse.Options{
		Addr:     []string{"localhost:9000"},
		Database: "leadhouse",
		Username: "leadhouse",
		Password: os.Getenv("LEADHOUSE_CLICKHOUSE_PASSWORD"),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	if err := store.Query(ctx, "SELECT count() FROM lead_updates", os.Stdout); err != nil {
		log.Fatal(err)
	}
}
