package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// connector brings the store up for serve: it creates the database and applies the migrations,
// retrying with backoff for as long as the store cannot be reached, and then calls ready, which
// starts the pipeline, which writes what the write-ahead log took meanwhile. serve listens and
// acknowledges from the start, so a store that is down when leadhouse starts (a cold boot, a
// restart during an outage) costs disk in the log, not callbacks.
type connector struct {
	mu  sync.Mutex
	err error // why the store is not ready yet; nil once it is

	cancel context.CancelFunc
	done   chan struct{}
}

// errNotMigrated is what health wraps until the migrations have run.
var errNotMigrated = errors.New("store not ready")

const (
	connectMin = 500 * time.Millisecond
	connectMax = 30 * time.Second
)

func startConnector(migrate func(context.Context) error, log *slog.Logger, ready func() error) *connector {
	ctx, cancel := context.WithCancel(context.Background())
	c := &connector{err: fmt.Errorf("%w: connecting", errNotMigrated), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		backoff := connectMin
		for attempt := 1; ; attempt++ {
			err := migrate(ctx)
			if err == nil {
				if err := ready(); err != nil {
					log.Error("cannot start writing to the store", "err", err)
					c.set(fmt.Errorf("%w: %w", errNotMigrated, err))
					return
				}
				c.set(nil)
				if attempt > 1 {
					log.Info("store reachable: migrations applied, writing the backlog", "attempts", attempt)
				}
				return
			}
			if ctx.Err() != nil {
				return
			}
			c.set(fmt.Errorf("%w: %w", errNotMigrated, err))
			sleep := backoff/2 + rand.N(backoff/2+1)
			log.Warn("store not reachable; callbacks wait in the write-ahead log", "attempt", attempt, "retry_in", sleep.Round(time.Millisecond), "err", err)
			t := time.NewTimer(sleep)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			backoff = min(2*backoff, connectMax)
		}
	}()
	return c
}

func (c *connector) set(err error) {
	c.mu.Lock()
	c.err = err
	c.mu.Unlock()
}

// health is nil once the store is migrated and the pipeline writes to it.
func (c *connector) health() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// stop gives up connecting and waits for the connector to end.
func (c *connector) stop() {
	c.cancel()
	<-c.done
}
