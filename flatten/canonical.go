package flatten

import "unsafe"

// The canonical vocabulary. A raw value is first put in snake case: ASCII letters lowered, every
// run of ASCII characters other than letters and digits (spaces, '-', '_', '.', ...) made one
// '_', none at either end, other bytes kept. So " booking DONE ", "Booking-done" and
// "booking_done" are all booking_done. Known spellings then map to one canonical value; an unknown
// value stays in its snake case, so a new CRM status shows up as itself rather than vanishing.
// The columns beside the canonical ones keep the raw value as sent.

// CanonicalStatus maps a lead status (lead_status, last_status, status_before_cc, the suffix of a
// moved_to_* key) to new, fresh, claimed, interested, meeting_done, visit_done,
// final_negotiation, booking_done, failed, junk, in_call_center, in_transfer or linked. The
// document spells some of them "Interest", "Fail" and "Final negotitaion"; its variants
// "Interested" and "Failed".
func CanonicalStatus(raw string) string {
	var buf [64]byte
	k := snakeInto(buf[:0], raw)
	if c := statusOf(bytesString(k)); c != "" {
		return c
	}
	return keep(raw, k)
}

// The lookups return literals, never s, so that s (a view of a stack buffer) does not escape and
// canonicalizing a known value allocates nothing.
func statusOf(s string) string {
	switch s {
	case "new":
		return "new"
	case "fresh":
		return "fresh"
	case "claimed":
		return "claimed"
	case "interested":
		return "interested"
	case "meeting_done":
		return "meeting_done"
	case "visit_done":
		return "visit_done"
	case "final_negotiation":
		return "final_negotiation"
	case "booking_done":
		return "booking_done"
	case "failed":
		return "failed"
	case "junk":
		return "junk"
	case "in_call_center":
		return "in_call_center"
	case "in_transfer":
		return "in_transfer"
	case "linked":
		return "linked"
	case "interest":
		return "interested"
	case "final_negotitaion":
		return "final_negotiation"
	case "fail":
		return "failed"
	}
	return ""
}

// CanonicalDisposition maps a disposition_type to follow_up, failed, fresh, junk, patch_out,
// not_contacted or call_back: the document's list. Its examples write "followup", so that is
// follow_up too; "callback", "patchout" and "fail" are the same words written together or short.
func CanonicalDisposition(raw string) string {
	var buf [64]byte
	k := snakeInto(buf[:0], raw)
	if c := dispositionOf(bytesString(k)); c != "" {
		return c
	}
	return keep(raw, k)
}

func dispositionOf(s string) string {
	switch s {
	case "follow_up":
		return "follow_up"
	case "failed":
		return "failed"
	case "fresh":
		return "fresh"
	case "junk":
		return "junk"
	case "patch_out":
		return "patch_out"
	case "not_contacted":
		return "not_contacted"
	case "call_back":
		return "call_back"
	case "followup":
		return "follow_up"
	case "fail":
		return "failed"
	case "patchout":
		return "patch_out"
	case "callback":
		return "call_back"
	case "notcontacted":
		return "not_contacted"
	}
	return ""
}

// CanonicalEventType maps an event_type to the document's three: followup, sv (site visit) and
// f2f (face to face). Spelled out ("follow up", "site visit", "face to face") they map the same.
func CanonicalEventType(raw string) string {
	var buf [64]byte
	k := snakeInto(buf[:0], raw)
	if c := eventTypeOf(bytesString(k)); c != "" {
		return c
	}
	return keep(raw, k)
}

func eventTypeOf(s string) string {
	switch s {
	case "followup":
		return "followup"
	case "sv":
		return "sv"
	case "f2f":
		return "f2f"
	case "follow_up":
		return "followup"
	case "site_visit", "sitevisit":
		return "sv"
	case "face_to_face", "facetoface":
		return "f2f"
	}
	return ""
}

// CanonicalAction maps an action to one of the document's nine (call_created, lead_update,
// status_update, agent_update, status_and_agent_update, disposition_created, event_update,
// inquiry_created, note_creation), accepting the other published names call_logged and
// lead_updated. known is false for anything else, which is returned in snake case: a new action
// is recorded, not rejected.
func CanonicalAction(raw string) (canonical string, known bool) {
	var buf [64]byte
	k := snakeInto(buf[:0], raw)
	if c := actionOf(bytesString(k)); c != "" {
		return c, true
	}
	return keep(raw, k), false
}

func actionOf(s string) string {
	switch s {
	case "call_created":
		return "call_created"
	case "lead_update":
		return "lead_update"
	case "status_update":
		return "status_update"
	case "agent_update":
		return "agent_update"
	case "status_and_agent_update":
		return "status_and_agent_update"
	case "disposition_created":
		return "disposition_created"
	case "event_update":
		return "event_update"
	case "inquiry_created":
		return "inquiry_created"
	case "note_creation":
		return "note_creation"
	case "call_logged":
		return "call_created"
	case "lead_updated":
		return "lead_update"
	}
	return ""
}

// snakeInto appends s in snake case to dst.
func snakeInto(dst []byte, s string) []byte {
	sep := false
	for k := 0; k < len(s); k++ {
		c := s[k]
		switch {
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c >= 0x80:
		default:
			sep = true
			continue
		}
		if sep && len(dst) > 0 {
			dst = append(dst, '_')
		}
		sep = false
		dst = append(dst, c)
	}
	return dst
}

// keep returns the snake case k as a string, reusing raw when it is already in snake case.
func keep(raw string, k []byte) string {
	if string(k) == raw {
		return raw
	}
	return string(k)
}

// bytesString views b as a string for a lookup that does not keep it.
func bytesString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
