package main

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestTwoInstancesBehindOneURLStoreEachCallbackOnce runs two serve processes, each with its own
// data dir and write-ahead log, in front of one ClickHouse server, started at the same moment (so
// that both migrate it at once), with a load generator that alternates between them as a load
// balancer would. Every callback sent to one instance is delivered again to the other; one
// instance is killed with SIGKILL while it holds a backlog (the server down), and restarted. Every
// callback acknowledged by either is stored and counted once in the views.
func TestTwoInstancesBehindOneURLStoreEachCallbackOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three processes under load")
	}
	bin := binary(t)
	srv := newServer(t, bin)
	srv.start(t)
	envs := [2][]string{}
	for i := range envs {
		envs[i] = serveEnv(t.TempDir(), append(srv.clientEnv(), "LEADHOUSE_FLUSH_INTERVAL=100ms", "LEADHOUSE_RATE_LIMIT=0")...)
	}
	var insts [2]*instance
	var wg sync.WaitGroup
	for i := range insts {
		wg.Go(func() { insts[i] = start(t, bin, envs[i]) })
	}
	wg.Wait()
	if got := queryEnv(t, bin, t.TempDir(), srv.clientEnv(), "SELECT count(DISTINCT version) FROM schema_migrations"); got == "0" || got == "" {
		t.Fatalf("migrations recorded: %q", got)
	}
	urls := func() []string {
		return []string{insts[0].url + "/v1/callbacks", insts[1].url + "/v1/callbacks"}
	}
	d := newDriver(6000)
	d.target(urls()...)
	stop := make(chan struct{})
	load := d.run(8, stop)

	// Re-deliveries across the two: a callback the first took, sent again to the second.
	client := &http.Client{Timeout: 10 * time.Second}
	redelivered := 0
	for i := 0; i < 200; i += 10 {
		body := d.bodies[len(d.bodies)-1-i]
		a := post(t, client, insts[0].url+"/v1/callbacks", "Bearer "+testToken, body)
		b := post(t, client, insts[1].url+"/v1/callbacks", "Bearer "+testToken, body)
		if a.status != http.StatusAccepted || b.status != http.StatusAccepted || a.body["callback_id"] != b.body["callback_id"] {
			t.Fatalf("re-delivery: %d %v, %d %v", a.status, a.body, b.status, b.body)
		}
		d.mu.Lock()
		d.acked[a.body["callback_id"].(string)] = true
		d.mu.Unlock()
		redelivered++
	}

	// The server goes down; the first instance takes callbacks into its log and is killed.
	time.Sleep(500 * time.Millisecond)
	srv.kill()
	time.Sleep(time.Second)
	insts[0].kill(t)
	d.target(insts[1].url + "/v1/callbacks")
	srv.start(t)
	insts[0] = start(t, bin, envs[0])
	d.target(urls()...)
	time.Sleep(time.Second)
	close(stop)
	load.Wait()
	for _, inst := range insts {
		waitFor(t, func() bool { return inst.readiness() == "ready" })
		inst.stop(t)
	}
	// The views count a callback once, whichever instance took it and however often.
	stored := map[string]int{}
	for _, line := range strings.Split(queryEnv(t, bin, t.TempDir(), srv.clientEnv(), "SELECT callback_id, count() FROM lead_updates_dedup GROUP BY callback_id"), "\n") {
		if id, _, ok := strings.Cut(line, "\t"); ok {
			stored[id]++
		}
	}
	lost := 0
	for id := range d.acked {
		if stored[id] == 0 {
			lost++
		}
	}
	if got := queryEnv(t, bin, t.TempDir(), srv.clientEnv(), "SELECT count() - uniqExact(callback_id) FROM lead_updates_dedup"); got != "0" {
		t.Errorf("lead_updates_dedup repeats %s callbacks", got)
	}
	if lost > 0 {
		t.Errorf("lost %d of %d acknowledged callbacks", lost, len(d.acked))
	}
	t.Logf("two instances: %d acknowledged (%d delivered to both), one killed with a backlog and restarted; lost %d", len(d.acked), redelivered, lost)
}
