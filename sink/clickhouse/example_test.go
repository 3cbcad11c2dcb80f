package clickhouse_test

import (
	"context"
	"log"
	"os"

	"github.com/leadhouse/leadhouse/sink/clickhouse"
)

// New binds a Store to a database of a server's HTTP interface; unqualified names in Exec and
// Query resolve there, and results come back as the server formats them.
func ExampleNew() {
	store, err := clickhouse.New(clickhouse.Options{
		Addr:     []string{"localhost:8123"},
		Database: "leadhouse",
		Username: "analyst",
		Password: os.Getenv("LEADHOUSE_ANALYST_PASSWORD"),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	if err := store.Query(context.Background(), "SELECT lead_status, count() FROM leads_current GROUP BY lead_status", os.Stdout); err != nil {
		log.Fatal(err)
	}
}
