package flatten_test

import (
	"testing"

	"github.com/leadhouse/leadhouse/flatten"
)

func TestCanonicalStatusEveryDocumentedSpelling(t *testing.T) {
	tests := map[string]string{
		// The document's list.
		"New": "new", "Fresh": "fresh", "Claimed": "claimed", "Interest": "interested",
		"Meeting done": "meeting_done", "Visit done": "visit_done", "Final negotitaion": "final_negotiation",
		"Booking done": "booking_done", "Fail": "failed", "Junk": "junk", "In Call Center": "in_call_center",
		// Its variants and the sample.
		"Interested": "interested", "Failed": "failed", "Final negotiation": "final_negotiation",
		// status_changes keys without moved_to_.
		"in_transfer": "in_transfer", "linked": "linked", "meeting_done": "meeting_done", "final_negotiation": "final_negotiation",
		// Case, spaces and separators.
		" booking DONE ": "booking_done", "BOOKING_DONE": "booking_done", "booking-done": "booking_done",
		"in  call\tcenter": "in_call_center", "In-Call-Center": "in_call_center", "visit done.": "visit_done",
		// Unknown statuses keep their snake case.
		"Site Visit Scheduled": "site_visit_scheduled", "on_hold": "on_hold", "Résumé sent": "résumé_sent",
		"": "", "   ": "", "__": "",
	}
	for raw, want := range tests {
		if got := flatten.CanonicalStatus(raw); got != want {
			t.Errorf("CanonicalStatus(%q) = %q, want %q", raw, got, want)
		}
	}
}

func TestCanonicalDispositionEveryDocumentedSpelling(t *testing.T) {
	tests := map[string]string{
		"failed": "failed", "follow_up": "follow_up", "fresh": "fresh", "junk": "junk", "patch_out": "patch_out",
		"not_contacted": "not_contacted", "call_back": "call_back",
		// The document's examples write followup; people write the rest.
		"followup": "follow_up", "Follow up": "follow_up", "Follow-Up": "follow_up", "FOLLOWUP": "follow_up",
		"patch out": "patch_out", "patchout": "patch_out", "callback": "call_back", "Call Back": "call_back",
		"Not Contacted": "not_contacted", "fail": "failed",
		"Wrong Number": "wrong_number", "": "",
	}
	for raw, want := range tests {
		if got := flatten.CanonicalDisposition(raw); got != want {
			t.Errorf("CanonicalDisposition(%q) = %q, want %q", raw, got, want)
		}
	}
}

func TestCanonicalEventTypeEveryDocumentedSpelling(t *testing.T) {
	tests := map[string]string{
		"followup": "followup", "follow_up": "followup", "Follow up": "followup",
		"sv": "sv", "SV": "sv", "site visit": "sv", "Site_Visit": "sv",
		"f2f": "f2f", "F2F": "f2f", "face to face": "f2f", "Face-to-Face": "f2f",
		"video call": "video_call", "": "",
	}
	for raw, want := range tests {
		if got := flatten.CanonicalEventType(raw); got != want {
			t.Errorf("CanonicalEventType(%q) = %q, want %q", raw, got, want)
		}
	}
}

func TestCanonicalActionEveryPublishedName(t *testing.T) {
	type result struct {
		canonical string
		known     bool
	}
	tests := map[string]result{
		"call_created": {"call_created", true}, "lead_update": {"lead_update", true},
		"status_update": {"status_update", true}, "agent_update": {"agent_update", true},
		"status_and_agent_update": {"status_and_agent_update", true}, "disposition_created": {"disposition_created", true},
		"event_update": {"event_update", true}, "inquiry_created": {"inquiry_created", true},
		"note_creation": {"note_creation", true},
		"call_logged":   {"call_created", true}, "lead_updated": {"lead_update", true},
		" Lead Update ": {"lead_update", true}, "CALL-LOGGED": {"call_created", true},
		"lead_merged": {"lead_merged", false}, "Lead Deleted": {"lead_deleted", false}, "": {"", false},
	}
	for raw, want := range tests {
		c, known := flatten.CanonicalAction(raw)
		if (result{c, known}) != want {
			t.Errorf("CanonicalAction(%q) = %q, %v; want %q, %v", raw, c, known, want.canonical, want.known)
		}
	}
}

func TestCanonicalKnownValuesAllocateNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	allocs := testing.AllocsPerRun(100, func() {
		flatten.CanonicalStatus("Final negotiation")
		flatten.CanonicalDisposition("followup")
		flatten.CanonicalEventType("site visit")
		flatten.CanonicalAction("call_logged")
		flatten.CanonicalStatus("already_snake")
	})
	if allocs != 0 {
		t.Errorf("%.0f allocations canonicalizing known and already-canonical values", allocs)
	}
}
