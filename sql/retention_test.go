package sql

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestRetentionEmptiesOldRawBodiesAndCanBeLifted(t *testing.T) {
	s := migrated(t)
	ctx := context.Background()
	old, recent := at(t, "2019-05-17T08:00:00Z"), time.Now().UTC().Add(-time.Hour)
	deliver(t, s, delivery{seed(t, 1).bytes(), old}, delivery{seed(t, 2).bytes(), recent})
	exec(t, s, "INSERT INTO dead_letters (received_at, reason, body) VALUES ('2019-05-17 08:00:00', 'not_json', 'old body'), (now64(3, 'UTC'), 'not_json', 'new body')")
	ttls := func() string {
		var b strings.Builder
		for _, tb := range []string{"lead_updates", "dead_letters"} {
			for _, r := range query(t, s, "DESCRIBE TABLE "+tb) {
				if r[6] != "" {
					b.WriteString(tb + "." + r[0] + ": " + r[6] + "\n")
				}
			}
		}
		return b.String()
	}
	mutationsDone := func() {
		t.Helper()
		waitUntil(t, "the TTL to be materialized", func() bool {
			return queryString(t, s, "SELECT count() FROM system.mutations WHERE database = currentDatabase() AND NOT is_done") == "0\n"
		})
	}

	changed, err := SetRetention(ctx, s, 365*24*time.Hour)
	if err != nil || strings.Join(changed, " ") != "lead_updates.raw dead_letters.body" {
		t.Fatalf("SetRetention(365d) changed %v, %v", changed, err)
	}
	if got, want := ttls(), "lead_updates.raw: received_at + toIntervalSecond(31536000)\ndead_letters.body: received_at + toIntervalSecond(31536000)\n"; got != want {
		t.Errorf("TTLs:\n%s\nwant\n%s", got, want)
	}
	mutationsDone()
	runChecks(t, s, "after a year's retention", []check{
		{"SELECT lead_id, raw = '', length(name) > 0 FROM lead_updates ORDER BY lead_id", "1\t1\t1\n2\t0\t1\n"},
		{"SELECT body FROM dead_letters ORDER BY received_at", "\nnew body\n"},
	})
	mutations := queryString(t, s, "SELECT count() FROM system.mutations WHERE database = currentDatabase()")
	if changed, err := SetRetention(ctx, s, 365*24*time.Hour); err != nil || len(changed) != 0 {
		t.Errorf("SetRetention again changed %v, %v; want nothing", changed, err)
	}
	if again := queryString(t, s, "SELECT count() FROM system.mutations WHERE database = currentDatabase()"); again != mutations {
		t.Errorf("setting the same retention again started mutations: %s, then %s", mutations, again)
	}
	if changed, err := SetRetention(ctx, s, 0); err != nil || len(changed) != 2 || ttls() != "" {
		t.Errorf("SetRetention(0) changed %v, %v, leaving TTLs %q", changed, err, ttls())
	}
	if _, err := SetRetention(ctx, s, time.Millisecond); err == nil {
		t.Error("a retention under a second was accepted")
	}
}

// waitUntil polls cond until it holds; the deadline only bounds a hung test.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
