package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadhouse/leadhouse/gen"
)

// driver sends distinct generated callbacks from several clients at whatever leadhouse its url
// names now, and remembers which got a 202: the tests that kill processes under load check that
// every one of those is stored exactly once.
type driver struct {
	mu      sync.Mutex
	bodies  [][]byte
	next    int
	urls    []string // the callback URLs, taken in turn; change when serve restarts
	turn    int
	acked   map[string]bool
	sent    int
	refused int
	// during counts 202s while down is set: callbacks taken during an outage.
	down   atomic.Bool
	during int
}

func newDriver(n int) *driver {
	g := gen.New(gen.Options{Seed: 7, Leads: 200})
	d := &driver{acked: map[string]bool{}, bodies: make([][]byte, n)}
	for i := range d.bodies {
		d.bodies[i] = g.Next(nil)
	}
	return d
}

// target sends the next callbacks to urls, in turn.
func (d *driver) target(urls ...string) {
	d.mu.Lock()
	d.urls = urls
	d.mu.Unlock()
}

func (d *driver) take() ([]byte, string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.next == len(d.bodies) {
		return nil, ""
	}
	d.next++
	d.turn++
	return d.bodies[d.next-1], d.urls[d.turn%len(d.urls)]
}

// run sends with clients goroutines until stop is closed or the bodies run out.
func (d *driver) run(clients int, stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			client := &http.Client{Timeout: 10 * time.Second}
			for {
				select {
				case <-stop:
					return
				default:
				}
				body, url := d.take()
				if body == nil {
					return
				}
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+testToken)
				resp, err := client.Do(req)
				d.mu.Lock()
				d.sent++
				d.mu.Unlock()
				if err != nil {
					time.Sleep(20 * time.Millisecond) // the server died mid-request: no 202, nothing promised
					continue
				}
				var a struct {
					CallbackID string `json:"callback_id"`
				}
				_ = json.NewDecoder(resp.Body).Decode(&a)
				resp.Body.Close()
				d.mu.Lock()
				if resp.StatusCode == http.StatusAccepted {
					d.acked[a.CallbackID] = true
					if d.down.Load() {
						d.during++
					}
				} else {
					d.refused++
				}
				d.mu.Unlock()
			}
		})
	}
	return &wg
}

// check requires every acknowledged callback to be in the store exactly once, in the views and
// in the raw lead_updates table (a replayed batch is dropped by its token, not kept twice), with
// its raw body, and returns how many were lost and doubled.
func (d *driver) check(t *testing.T, bin, dataDir string, env ...string) (lost, doubled int) {
	t.Helper()
	if len(d.acked) == 0 {
		t.Fatal("no callback was acknowledged")
	}
	stored := map[string]int{}
	out := queryEnv(t, bin, dataDir, env, "SELECT callback_id, count() FROM lead_updates GROUP BY callback_id")
	for _, line := range strings.Split(out, "\n") {
		id, n, ok := strings.Cut(line, "\t")
		if !ok {
			continue
		}
		c, _ := strconv.Atoi(n)
		stored[id] = c
	}
	for id := range d.acked {
		switch stored[id] {
		case 0:
			lost++
		case 1:
		default:
			doubled++
		}
	}
	if got := queryEnv(t, bin, dataDir, env, "SELECT count() - uniqExact(callback_id) FROM lead_updates_dedup"); got != "0" {
		t.Errorf("lead_updates_dedup repeats %s callbacks", got)
	}
	// callback_id is the first half of the body's SHA-256: every row's raw body, read back from
	// the write-ahead log when its batch was written (after a crash, from the replayed log), must
	// be the body that id names.
	if got := queryEnv(t, bin, dataDir, env, "SELECT countIf(lower(hex(substring(SHA256(raw), 1, 16))) != callback_id) FROM lead_updates"); got != "0" {
		t.Errorf("%s lead_updates rows carry a raw body other than their callback's", got)
	}
	if got := queryEnv(t, bin, dataDir, env, "SELECT count() = uniqExact(lead_id, note_id) FROM notes_current"); got != "1" {
		t.Errorf("notes_current repeats a note")
	}
	if lost > 0 || doubled > 0 {
		t.Errorf("lost %d and stored twice %d of %d acknowledged callbacks", lost, doubled, len(d.acked))
	}
	return lost, doubled
}
