package main

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCrashLoopLosesNothingAcknowledged drives concurrent callbacks at the real binary, kills it
// with SIGKILL at random moments (and, every other time, its engine process first, as a power cut
// would), restarts it each time, and then checks that every callback that got a 202 is in the
// store exactly once, in the raw table too: a batch written again after a crash is dropped by its
// token. It is the proof behind "a 202 survives kill -9".
func TestCrashLoopLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("crash loop runs the binary repeatedly")
	}
	bin := binary(t)
	dataDir := t.TempDir()
	kills := crashKills()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 42))
	d := newDriver(20000)
	env := serveEnv(dataDir, "LEADHOUSE_FLUSH_INTERVAL=50ms", "LEADHOUSE_BATCH_MAX_ROWS=2000", "LEADHOUSE_RATE_LIMIT=0")
	engineKills := 0
	for round := 0; round <= kills; round++ {
		inst := start(t, bin, env)
		d.target(inst.url + "/v1/callbacks")
		stop := make(chan struct{})
		wg := d.run(8, stop)
		if round < kills {
			time.Sleep(time.Duration(200+rng.IntN(1300)) * time.Millisecond)
			if round%2 == 1 {
				if pid := enginePID(t, dataDir); pid > 0 {
					_ = syscall.Kill(pid, syscall.SIGKILL)
					engineKills++
				}
			}
			inst.kill(t)
			close(stop)
			wg.Wait()
		} else {
			time.Sleep(500 * time.Millisecond)
			close(stop)
			wg.Wait()
			inst.stop(t)
		}
	}
	lost, doubled := d.check(t, bin, dataDir)
	raw := query(t, bin, dataDir, "SELECT count(), uniqExact(callback_id) FROM lead_updates")
	t.Logf("crash loop: %d kills of leadhouse (%d with its engine killed first), %d requests sent, %d acknowledged, %d refused, lost %d, stored twice %d; raw lead_updates rows, distinct ids: %s",
		kills, engineKills, d.sent, len(d.acked), d.refused, lost, doubled, strings.ReplaceAll(raw, "\t", ", "))
}

// enginePID is the pid of the engine process serving dataDir, from its supervisor's record.
func enginePID(t *testing.T, dataDir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "engine", "state.json"))
	if err != nil {
		return 0
	}
	var st struct {
		PID int `json:"pid"`
	}
	if json.Unmarshal(b, &st) != nil {
		return 0
	}
	return st.PID
}

// crashKills is 5, or LEADHOUSE_CRASH_KILLS when set (to study a failure with more or fewer).
func crashKills() int {
	if n, err := strconv.Atoi(os.Getenv("LEADHOUSE_CRASH_KILLS")); err == nil && n >= 0 {
		return n
	}
	return 5
}
