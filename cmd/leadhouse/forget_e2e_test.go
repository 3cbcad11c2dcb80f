package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leadhouse/leadhouse/engine"
	"github.com/leadhouse/leadhouse/schema"
)

// The sample's lead and what identifies its buyer in every body of it.
const (
	forgottenLead = 1402361
	buyerPhone    = "9999999988" // the national part of the sample's "+919999999988"
	buyerName     = `"History "`
)

const piiAnalystPassword = "e2e-pii-analyst-password"

// otherLead is the sample for lead 77 with another buyer, who is not forgotten.
func otherLead(t *testing.T, status string) []byte {
	t.Helper()
	b := bytes.Replace(fixture(t, "seed_callback.json"), []byte(`"lead_id":1402361`), []byte(`"lead_id":77`), 1)
	b = bytes.ReplaceAll(b, []byte(`"+919999999988"`), []byte(`"+918888888888"`))
	b = bytes.Replace(b, []byte(buyerName), []byte(`"Someone Else"`), 1)
	return bytes.Replace(b, []byte(`"Final negotiation"`), []byte(`"`+status+`"`), 1)
}

// forget runs `leadhouse forget` on dataDir and returns what it printed.
func forget(t *testing.T, bin, dataDir string, args ...string) string {
	t.Helper()
	return forgetEnv(t, bin, dataDir, nil, args...)
}

// forgetEnv is forget with env added to serve's environment.
func forgetEnv(t *testing.T, bin, dataDir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"forget"}, args...)...)
	cmd.Env = serveEnv(dataDir, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("forget %v: %v\n%s\n%s", args, err, out, stderr.String())
	}
	return string(out)
}

// walHolds reports whether a segment of dataDir's write-ahead log contains s.
func walHolds(t *testing.T, dataDir, s string) bool {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dataDir, "wal", "*.wal"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(s)) {
			return true
		}
	}
	return false
}

// everywhere is one query counting the forgotten lead's rows in every table of package schema
// that has a lead_id (the audit aside), the dead letters naming it or its phone, and the views
// analysts and BI tools read.
func everywhere() string {
	lead := strconv.Itoa(forgottenLead)
	var parts []string
	for _, t := range schema.Tables() {
		if _, ok := t.ColumnIndex("lead_id"); ok && t != schema.Erasures {
			parts = append(parts, "(SELECT count() FROM "+t.Name+" WHERE lead_id = "+lead+")")
		}
	}
	parts = append(parts,
		"(SELECT count() FROM dead_letters WHERE position(body, '"+lead+"') > 0 OR position(body, '"+buyerPhone+"') > 0)",
		"(SELECT count() FROM leads_current WHERE lead_id = "+lead+")",
		"(SELECT count() FROM lead_updates_dedup WHERE lead_id = "+lead+")",
		"(SELECT count() FROM lead_status_durations WHERE lead_id = "+lead+")",
		"(SELECT count() FROM masked_leads_current WHERE lead_id = "+lead+")",
		"(SELECT count() FROM masked_calls_current WHERE lead_id = "+lead+")")
	return "SELECT " + strings.Join(parts, " + ")
}

// findNowhere fails if the forgotten lead is anywhere: in a table or view, for the analyst or the
// PII analyst, or in the write-ahead log's segments.
func findNowhere(t *testing.T, bin, dataDir string, env []string) {
	t.Helper()
	if got := query(t, bin, dataDir, everywhere()); got != "0" {
		t.Errorf("the forgotten lead still has %s rows in the warehouse", got)
	}
	httpAddr := "127.0.0.1:" + envValue(env, "LEADHOUSE_ENGINE_HTTP_PORT")
	for _, u := range []struct{ user, password, q string }{
		{engine.AnalystUser, analystPassword, "SELECT count() FROM leadhouse.masked_leads_current WHERE lead_id = " + strconv.Itoa(forgottenLead)},
		{engine.PIIAnalystUser, piiAnalystPassword, "SELECT count() FROM leadhouse.leads_current WHERE phone LIKE '%" + buyerPhone + "'"},
	} {
		req, _ := http.NewRequest(http.MethodPost, "http://"+httpAddr+"/", strings.NewReader(u.q))
		req.SetBasicAuth(u.user, u.password)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(b)) != "0" {
			t.Errorf("%s finds the forgotten lead: %d %q", u.user, resp.StatusCode, b)
		}
	}
	// The forgotten records are erased from the log once committed: a condition, not a time.
	waitFor(t, func() bool { return !walHolds(t, dataDir, buyerPhone) && !walHolds(t, dataDir, buyerName) })
}

// TestForgetWhileServingThenRestartWithTheWALIntact is issue 17's "done when": a lead is posted,
// forgotten while serve runs, posted again by the CRM, and serve is killed with that callback
// still in the write-ahead log, uncommitted; after the restart, the lead is nowhere, and the
// other lead, whose callbacks were in the same log, is all there.
func TestForgetWhileServingThenRestartWithTheWALIntact(t *testing.T) {
	bin := binary(t)
	dataDir := t.TempDir()
	// Nothing is flushed but what a forget makes the pipeline store: the log keeps the rest.
	env := serveEnv(dataDir, "LEADHOUSE_FLUSH_INTERVAL=1h", "LEADHOUSE_PII_ANALYST_PASSWORD="+piiAnalystPassword)
	inst := start(t, bin, env)
	client := &http.Client{Timeout: 30 * time.Second}
	cb, bearer := inst.url+"/v1/callbacks", "Bearer "+testToken
	seed := fixture(t, "seed_callback.json")
	for _, b := range [][]byte{seed, otherLead(t, "Interest"), []byte(`{"lead_id":1402361,"name":"History ","phone":"+9199999`)} {
		if a := post(t, client, cb, bearer, b); a.status != http.StatusAccepted && a.status != http.StatusBadRequest {
			t.Fatalf("post: %d %v", a.status, a.body)
		}
	}

	out := forget(t, bin, dataDir, "-lead-id", strconv.Itoa(forgottenLead), "-phone", "+91 99999 99988", "-by", "e2e", "-reason", "T-1")
	t.Logf("forget while serving printed:\n%s", out)
	for _, want := range []string{"lead 1402361 (named)", "lead_updates 1", "dead_letters 1", "notes 7", "the running serve leaves this person out"} {
		if !strings.Contains(out, want) {
			t.Errorf("forget printed no %q:\n%s", want, out)
		}
	}
	if got := query(t, bin, dataDir, "SELECT lead_id, lead_status FROM leads_current"); got != "77\tinterested" {
		t.Errorf("leads_current after forget = %q, want the other lead alone", got)
	}
	if got := query(t, bin, dataDir, everywhere()); got != "0" {
		t.Errorf("after forget, the lead still has %s rows", got)
	}

	// The CRM sends the lead again, and the other lead moves on; serve is then killed with both
	// in the log, not committed.
	if a := post(t, client, cb, bearer, seed); a.status != http.StatusAccepted {
		t.Fatalf("post again: %d %v", a.status, a.body)
	}
	if a := post(t, client, cb, bearer, otherLead(t, "Visit done")); a.status != http.StatusAccepted {
		t.Fatalf("post: %d %v", a.status, a.body)
	}
	if m := metrics(t, client, inst.url); !strings.Contains(m, "\nleadhouse_forgotten_records_total 1\n") {
		t.Errorf("the callback sent again was not left out:\n%s", m)
	}
	inst.kill(t)
	if !walHolds(t, dataDir, buyerPhone) {
		t.Fatal("the killed serve left no record of the lead in the log: the restart would test nothing")
	}

	env = serveEnv(dataDir, "LEADHOUSE_PII_ANALYST_PASSWORD="+piiAnalystPassword)
	inst = start(t, bin, env)
	defer inst.stop(t)
	waitFor(t, func() bool {
		c := exec.Command(bin, "query", "SELECT lead_status FROM leads_current WHERE lead_id = 77")
		c.Env = env
		got, err := c.Output()
		return err == nil && strings.TrimSpace(string(got)) == "visit_done"
	})
	findNowhere(t, bin, dataDir, env)
	if got := query(t, bin, dataDir, "SELECT count() FROM lead_updates_dedup WHERE lead_id = 77"); got != "2" {
		t.Errorf("the other lead has %s callbacks, want both", got)
	}

	// Again, while serving: nothing left, audited twice, never the data.
	if out := forget(t, bin, dataDir, "-lead-id", strconv.Itoa(forgottenLead), "-by", "e2e"); !strings.Contains(out, "rows deleted: none") {
		t.Errorf("second forget:\n%s", out)
	}
	audit := query(t, bin, dataDir, "SELECT lead_id, matched_by, reason, requested_by FROM erasures ORDER BY erased_at")
	if audit != "1402361\tlead_id\tT-1\te2e\n1402361\tlead_id\t\te2e" {
		t.Errorf("erasures:\n%s", audit)
	}
	if all := query(t, bin, dataDir, "SELECT * FROM erasures"); strings.Contains(all, buyerPhone) || strings.Contains(all, "History") {
		t.Errorf("the audit holds the person's data:\n%s", all)
	}
}

// TestForgetWithoutServeErasesTheLogBeforeTheNextStart: serve is killed with the lead's callback
// acknowledged and not yet stored; forget, run with no serve, erases it from the log itself, and
// the next start stores everything else and nothing of the lead.
func TestForgetWithoutServeErasesTheLogBeforeTheNextStart(t *testing.T) {
	bin := binary(t)
	dataDir := t.TempDir()
	inst := start(t, bin, serveEnv(dataDir, "LEADHOUSE_FLUSH_INTERVAL=1h"))
	client := &http.Client{Timeout: 30 * time.Second}
	for _, b := range [][]byte{fixture(t, "seed_callback.json"), otherLead(t, "Interest")} {
		if a := post(t, client, inst.url+"/v1/callbacks", "Bearer "+testToken, b); a.status != http.StatusAccepted {
			t.Fatalf("post: %d %v", a.status, a.body)
		}
	}
	inst.kill(t)
	if !walHolds(t, dataDir, buyerPhone) {
		t.Fatal("the log holds no record of the lead")
	}
	out := forget(t, bin, dataDir, "-lead-id", strconv.Itoa(forgottenLead))
	if !strings.Contains(out, "write-ahead log: 1 records erased") || !strings.Contains(out, "rows deleted: none") {
		t.Errorf("forget with no serve:\n%s", out)
	}
	if walHolds(t, dataDir, buyerPhone) || walHolds(t, dataDir, buyerName) {
		t.Error("the log still holds the lead after forget")
	}
	env := serveEnv(dataDir, "LEADHOUSE_PII_ANALYST_PASSWORD="+piiAnalystPassword)
	inst = start(t, bin, env)
	defer inst.stop(t)
	waitFor(t, func() bool {
		c := exec.Command(bin, "query", "SELECT count() FROM leads_current")
		c.Env = env
		got, err := c.Output()
		return err == nil && strings.TrimSpace(string(got)) == "1"
	})
	findNowhere(t, bin, dataDir, env)
}

func metrics(t *testing.T, client *http.Client, url string) string {
	t.Helper()
	resp, err := client.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
