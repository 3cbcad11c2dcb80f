package chdb_test

import (
	"context"
	"fmt"
	"log"

	"github.com/leadhouse/leadhouse/sink/chdb"
)

// Open boots the engine on a data directory; a second Open of the same
// directory in the process shares it.
func ExampleOpen() {
	eng, err := chdb.Open(chdb.Options{DataDir: "/var/lib/leadhouse"})
	if err != nil {
		log.Fatal(err) // errors.Is(err, chdb.ErrLibraryMissing) means: run make deps
	}
	defer eng.Close()
	out, err := eng.Query(context.Background(), "SELECT count() FROM system.tables", "TabSeparated")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s", out)
}

// Insert takes the statement without FORMAT; a retry with the same
// deduplication token is stored once.
func ExampleEngine_Insert() {
	eng, err := chdb.Open(chdb.Options{DataDir: "/var/lib/leadhouse"})
	if err != nil {
		log.Fatal(err)
	}
	defer eng.Close()
	rows := []byte(`{"id":1,"name":"Anna"}` + "\n" + `{"id":2,"name":"Oleg"}` + "\n")
	n, err := eng.Insert(context.Background(),
		"INSERT INTO crm.leads SETTINGS insert_deduplication_token='batch-42'", "JSONEachRow", rows)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(n, "rows")
}
