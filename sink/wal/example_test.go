package wal_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/leadhouse/leadhouse/sink/wal"
)

// A callback is appended before the handler answers 202, committed once the pipeline stored it,
// and everything after the committed position is replayed after a restart.
func ExampleLog() {
	dir, err := os.MkdirTemp("", "wal-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	l, err := wal.Open(wal.Options{Dir: dir})
	if err != nil {
		log.Fatal(err)
	}
	var stored wal.Position
	for _, body := range []string{`{"lead_id":1}`, `{"lead_id":2}`} {
		rec := wal.Record{ReceivedAt: time.Now(), Remote: "203.0.113.7:40112", Body: []byte(body)}
		pos, err := l.Append(ctx, rec)
		if err != nil {
			log.Fatal(err) // the handler answers 503 instead of 202
		}
		if stored == (wal.Position{}) {
			stored = pos // pretend only the first reached the database before a crash
		}
	}
	if err := l.Commit(stored); err != nil {
		log.Fatal(err)
	}
	l.Close()

	l, err = wal.Open(wal.Options{Dir: dir})
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	err = l.Replay(ctx, l.Committed(), func(r wal.Record) error {
		if r.Corrupt != nil {
			fmt.Println("dead letter:", r.Corrupt)
			return nil
		}
		fmt.Printf("replay %s from %s\n", r.Body, r.Remote)
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// replay {"lead_id":2} from 203.0.113.7:40112
}

// A caller that keeps only the positions Append returned reads the bodies back when it needs
// them, as the pipeline does when it writes a batch's raw bodies.
func ExampleBodyReader() {
	dir, err := os.MkdirTemp("", "wal-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	l, err := wal.Open(wal.Options{Dir: dir})
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	var positions []wal.Position
	for _, body := range []string{`{"lead_id":1}`, `{"lead_id":2}`} {
		pos, err := l.Append(context.Background(), wal.Record{Body: []byte(body)})
		if err != nil {
			log.Fatal(err)
		}
		positions = append(positions, pos)
	}
	r := l.NewBodyReader()
	defer r.Close()
	for _, pos := range positions {
		body, err := r.Body(pos)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: %s\n", pos, body)
	}
	// Output:
	// 1:0: {"lead_id":1}
	// 1:32: {"lead_id":2}
}
