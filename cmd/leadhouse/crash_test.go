package main

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadhouse/leadhouse/gen"
)

// TestCrashLoopLosesNothingAcknowledged drives concurrent callbacks at the real binary, kills it
// with SIGKILL at random moments, restarts it each time, and then checks that every callback
// that got a 202 is in the store exactly once. It is the proof behind "a 202 survives kill -9".
func TestCrashLoopLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("crash loop runs the binary repeatedly")
	}
	bin := binary(t)
	dataDir := t.TempDir()
	kills, clients := crashKills(), 8
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 42))
	t.Logf("seed-independent: kill moments are random per run")

	// Bodies are generated up front so every request is a distinct callback.
	g := gen.New(gen.Options{Seed: 7, Leads: 200})
	bodies := make([][]byte, 20000)
	for i := range bodies {
		bodies[i] = g.Next(nil)
	}

	var (
		mu      sync.Mutex
		acked   = map[string]bool{}
		next    int
		sent    int
		refused int
	)
	take := func() []byte {
		mu.Lock()
		defer mu.Unlock()
		if next == len(bodies) {
			return nil
		}
		next++
		return bodies[next-1]
	}

	for round := 0; round <= kills; round++ {
		// One token carries all the load: its rate limit would refuse part of it.
		inst := start(t, bin, serveEnv(dataDir, "LEADHOUSE_FLUSH_INTERVAL=50ms", "LEADHOUSE_BATCH_MAX_ROWS=2000", "LEADHOUSE_RATE_LIMIT=0"))
		stopLoad := make(chan struct{})
		var wg sync.WaitGroup
		for range clients {
			wg.Go(func() {
				client := &http.Client{Timeout: 10 * time.Second}
				for {
					select {
					case <-stopLoad:
						return
					default:
					}
					body := take()
					if body == nil {
						return
					}
					req, _ := http.NewRequest(http.MethodPost, inst.url+"/v1/callbacks", bytes.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+testToken)
					resp, err := client.Do(req)
					mu.Lock()
					sent++
					mu.Unlock()
					if err != nil {
						continue // the server died mid-request: no 202, nothing promised
					}
					var a struct {
						CallbackID string `json:"callback_id"`
					}
					_ = json.NewDecoder(resp.Body).Decode(&a)
					resp.Body.Close()
					mu.Lock()
					if resp.StatusCode == http.StatusAccepted {
						acked[a.CallbackID] = true
					} else {
						refused++
					}
					mu.Unlock()
				}
			})
		}
		if round < kills {
			time.Sleep(time.Duration(200+rng.IntN(1300)) * time.Millisecond)
			inst.kill(t)
			close(stopLoad)
			wg.Wait()
		} else {
			time.Sleep(500 * time.Millisecond)
			close(stopLoad)
			wg.Wait()
			inst.stop(t)
		}
	}
	if len(acked) == 0 {
		t.Fatal("no callback was acknowledged")
	}

	stored := map[string]int{}
	out := query(t, bin, dataDir, "SELECT callback_id, count() FROM lead_updates_dedup GROUP BY callback_id")
	for _, line := range strings.Split(out, "\n") {
		id, n, ok := strings.Cut(line, "\t")
		if !ok {
			continue
		}
		c, _ := strconv.Atoi(n)
		stored[id] = c
	}
	var lost, duplicated int
	for id := range acked {
		switch stored[id] {
		case 0:
			lost++
		case 1:
		default:
			duplicated++
		}
	}
	// Replayed batches normally carry their first insert's token and are dropped by the engine;
	// the raw count shows how many copies still reached the table (the views collapse them).
	raw := query(t, bin, dataDir, "SELECT count(), uniqExact(callback_id) FROM lead_updates")
	t.Logf("crash loop: %d kills, %d requests sent, %d acknowledged, %d refused (503), %d stored, lost %d, duplicated %d; raw lead_updates rows, distinct ids: %s",
		kills, sent, len(acked), refused, len(stored), lost, duplicated, strings.ReplaceAll(raw, "\t", ", "))
	if lost > 0 || duplicated > 0 {
		t.Errorf("lost %d and duplicated %d of %d acknowledged callbacks", lost, duplicated, len(acked))
	}
	// callback_id is the first half of the body's SHA-256: every row's raw body, read back from
	// the write-ahead log when its batch was written (after a crash, from the replayed log), must
	// be the body that id names.
	if got := query(t, bin, dataDir, "SELECT countIf(lower(hex(substring(SHA256(raw), 1, 16))) != callback_id) FROM lead_updates"); got != "0" {
		t.Errorf("%s lead_updates rows carry a raw body other than their callback's", got)
	}
	if got := query(t, bin, dataDir, "SELECT count() = uniqExact(lead_id, note_id) FROM notes_current"); got != "1" {
		t.Errorf("notes_current repeats a note")
	}
}

// crashKills is 5, or LEADHOUSE_CRASH_KILLS when set (to study a failure with more or fewer).
func crashKills() int {
	if n, err := strconv.Atoi(os.Getenv("LEADHOUSE_CRASH_KILLS")); err == nil && n >= 0 {
		return n
	}
	return 5
}
