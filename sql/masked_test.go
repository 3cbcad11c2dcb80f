package sql

import (
	"context"
	"strings"
	"testing"
)

// maskedExtras are the columns a masked view adds to those of its view, in order.
var maskedExtras = map[string][]string{
	"lead_updates_dedup": {"phone_hash\tNullable(UInt64)", "email_hash\tNullable(UInt64)"},
	"leads_current":      {"phone_hash\tNullable(UInt64)", "email_hash\tNullable(UInt64)"},
	"calls_current":      {"call_number_hash\tNullable(UInt64)"},
}

// TestEveryViewHasAMaskedTwinWithItsColumns proves analysts lose no column to masking, and that a
// view or column added later is noticed: masked_<view> has every column of <view>, of the same
// type, in the same place, then the hashes maskedExtras lists, and nothing else.
func TestEveryViewHasAMaskedTwinWithItsColumns(t *testing.T) {
	s := migrated(t)
	columns := func(view string) []string {
		var cols []string
		for _, r := range query(t, s, "SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = '"+view+"' ORDER BY position") {
			cols = append(cols, r[0]+"\t"+r[1])
		}
		return cols
	}
	views := query(t, s, "SELECT name FROM system.tables WHERE database = currentDatabase() AND engine = 'View' AND name NOT LIKE 'masked\\_%' ORDER BY name")
	if len(views) < 20 {
		t.Fatalf("only %d views", len(views))
	}
	for _, v := range views {
		t.Run(v[0], func(t *testing.T) {
			want := append(columns(v[0]), maskedExtras[v[0]]...)
			got := columns("masked_" + v[0])
			if len(got) == 0 {
				t.Fatalf("view %s has no masked_%s: analysts cannot read it (add one to a migration, masking its personal columns)", v[0], v[0])
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("masked_%s has columns\n%s\nwant those of %s and its hashes:\n%s", v[0], strings.Join(got, "\n"), v[0], strings.Join(want, "\n"))
			}
		})
	}
	twins := query(t, s, "SELECT name FROM system.tables WHERE database = currentDatabase() AND name LIKE 'masked\\_%'")
	if len(twins) != len(views) {
		t.Errorf("%d masked views for %d views: a masked view has no view", len(twins), len(views))
	}
}

// personal are values of the CRM sample (and the edits below) that identify a person: none may
// appear in any masked view.
var personal = []string{
	"History",                  // the lead's name
	"9999999988",               // the lead's phone, also the call's number
	"tanvi.tyagi",              // an agent's e-mail
	"7045184793", "7417485713", // agents' phones
	"Bb\t", "9988555566", // the channel partner's contact and phone
	"eventaudio.s3",         // booking document URLs
	"recordings.example",    // a call recording URL
	"bring his wife",        // a note's text
	"Bengali", "vb", "Vb\"", // extra_details: ethnicity, address, referral_data's name
	"99999999999", // referral_data's phone
	"Jane.Doe",    // the e-mail set below
	"98765",       // a phone number in a disposition's reason
	"unit 5B-1203",
}

func TestMaskedViewsShowNothingThatIdentifiesAPerson(t *testing.T) {
	s := migrated(t)
	body := seed(t, 1402361).
		set("email", " Jane.Doe@Example.COM ").
		set("booking_details.unit_no", "unit 5B-1203").
		set("calls.0.recording_url", "https://recordings.example/2380.mp3").
		set("new_field", "History").
		set("dispositions.0.reason", "asked to call back on 98765 43210, or jane@doe.in").
		bytes()
	// A second callback hands the lead to sales, so the scenario and handoff views have rows.
	handoff := seed(t, 1402361).set("action", "disposition_created").set("dispositions.0.disposition_type", "fresh").
		set("dispositions.0.reason", "asked to call back on 98765 43210").bytes()
	deliver(t, s, delivery{body, at(t, "2019-05-17T08:00:00Z")}, delivery{handoff, at(t, "2019-05-17T09:00:00Z")})
	exec(t, s, "INSERT INTO dead_letters (received_at, remote_addr, reason, error, body_size, body) VALUES "+
		"(now64(3, 'UTC'), '10.0.0.1', 'not_json', 'not JSON at byte 9', 40, '{\"name\":\"History\",\"phone\":\"+919999999988\"')")
	for _, v := range []string{"masked_lead_scenarios", "masked_scenario_cc_transferred_to_sales", "masked_cc_to_sales_handoffs", "masked_dead_letters_recent", "masked_unrecognized_values"} {
		if got := queryString(t, s, "SELECT count() > 0 FROM "+v); got != "1\n" {
			t.Fatalf("%s has no rows to check", v)
		}
	}
	// The raw views do hold them: the check below would find them if a twin let one through.
	if got := queryString(t, s, "SELECT count() FROM lead_updates_dedup WHERE position(raw, 'bring his wife') > 0"); got != "2\n" {
		t.Fatalf("the sample's note is not in the raw body: %q", got)
	}
	for _, v := range query(t, s, "SELECT name FROM system.tables WHERE database = currentDatabase() AND name LIKE 'masked\\_%' ORDER BY name") {
		var rows strings.Builder
		for _, r := range query(t, s, "SELECT * FROM "+v[0]) {
			rows.WriteString(strings.Join(r, "\t") + "\t\n")
		}
		for _, p := range personal {
			if strings.Contains(rows.String(), p) {
				t.Errorf("%s shows %q", v[0], p)
			}
		}
	}
}

func TestMaskedColumnsKeepWhatAnalystsNeed(t *testing.T) {
	s := migrated(t)
	body := seed(t, 1402361).
		set("email", " Jane.Doe@Example.COM ").
		set("name", "tanvi  maria d'souza").
		set("dispositions.0.reason", "asked to call back on 98765 43210, or jane@doe.in").
		bytes()
	deliver(t, s, delivery{body, at(t, "2019-05-17T08:00:00Z")})
	runChecks(t, s, "masked views", []check{
		{"SELECT name, phone, email, agent_email, cp_name, cp_phone, cp_phone_with_country_code, booking_unit_no, raw FROM masked_lead_updates_dedup",
			"TMD\t9988\texample.com\tanarock.com\tB\t5566\t5566\t\t\n"},
		{"SELECT name, phone, email, agent_name, project_name, lead_status FROM masked_leads_current",
			"TMD\t9988\texample.com\tTanvi Tyagi\tsantacruz\tfinal_negotiation\n"},
		{"SELECT arraySort(mapKeys(extra_details)) FROM masked_leads_current",
			"['current_apartment_type','current_residence_type','duplicate_lead_id','is_nri','mode_of_payment','possession_in','purpose_of_purchase']\n"},
		{"SELECT count(), countIf(data = ''), arraySort(groupUniqArray(agent_phone)) FROM masked_notes_current",
			"7\t7\t['4793','5713']\n"},
		{"SELECT call_number, from_number, to_number, recording_url, agent_phone FROM masked_calls_current",
			"9988\t4793\t9988\t\t4793\n"},
		{"SELECT reason FROM masked_dispositions_current", "asked to call back on [phone], or [email]\n"},
		{"SELECT count(), countIf(data = '') FROM masked_booking_docs_current", "2\t2\n"},
	})
	// The hashes: the same person gives the same hash in every view and however the number is
	// written; the hash is the keyed SipHash of the number's last ten digits.
	exec(t, s, "INSERT INTO calls (lead_id, call_id, call_number) VALUES (7, 1, '+91 99999-99988'), (7, 2, '09999999988'), (7, 3, '9999999989'), (7, 4, '')")
	runChecks(t, s, "hashes", []check{
		{`SELECT countDistinct(c.call_number_hash), countIf(c.call_number_hash = l.phone_hash), countIf(c.call_number_hash IS NULL)
			FROM masked_calls_current AS c CROSS JOIN (SELECT phone_hash FROM masked_leads_current) AS l WHERE c.call_id != 2380`,
			"2\t2\t1\n"},
		{`SELECT phone_hash = sipHash64Keyed((SELECT (k0, k1) FROM pii_key), '9999999988'),
			email_hash = sipHash64Keyed((SELECT (k0, k1) FROM pii_key), 'jane.doe@example.com') FROM masked_leads_current`,
			"1\t1\n"},
		{"SELECT phone_hash = cityHash64('9999999988') OR phone_hash = sipHash64('9999999988') FROM masked_leads_current", "0\n"},
	})
}

// TestEachDatabaseDrawsItsOwnKeyOnce proves the hashes are keyed per installation (one cannot
// be computed from another's) and stable across restarts and concurrent first starts.
func TestEachDatabaseDrawsItsOwnKeyOnce(t *testing.T) {
	a, b := newStore(t), newStore(t)
	errs := make(chan error, 3)
	for range 3 {
		go func() { _, err := Migrate(context.Background(), a, nil); errs <- err }()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Migrate(context.Background(), b, nil); err != nil {
		t.Fatal(err)
	}
	keyA := queryString(t, a, "SELECT k0, k1 FROM pii_key")
	if strings.Count(keyA, "\n") != 1 {
		t.Fatalf("pii_key after three concurrent first migrations:\n%s", keyA)
	}
	if _, err := Migrate(context.Background(), a, nil); err != nil {
		t.Fatal(err)
	}
	if again := queryString(t, a, "SELECT k0, k1 FROM pii_key"); again != keyA {
		t.Errorf("the key changed when migrating again: %q, then %q", keyA, again)
	}
	if keyB := queryString(t, b, "SELECT k0, k1 FROM pii_key"); keyB == keyA || strings.HasPrefix(keyA, "0\t") {
		t.Errorf("keys %q and %q: want a random key per database", keyA, keyB)
	}
}
