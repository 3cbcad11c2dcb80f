package flatten_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/leadhouse/leadhouse/flatten"
	"github.com/leadhouse/leadhouse/schema"
)

func ExampleFlattener_Flatten() {
	body := []byte(`{
		"lead_id": "42",
		"action": "call_logged",
		"lead_status": " booking DONE ",
		"extra_details": {"cp_id": 5649},
		"extra_details": {"gender": "male", "possession_in": [1, 2]},
		"calls": [{"id": 7, "duration_in_sec": "61", "first_leg_status": "completed", "second_leg_status": "no-answer",
		           "start_time": "2019-05-21T17:15:27.628+05:30"}]
	}`)
	f := flatten.New() // one per goroutine, reused for every callback it handles
	var rows schema.Rows
	if err := f.Flatten(body, time.Now(), &rows); err != nil {
		fmt.Println(err)
		return
	}
	l := rows.Lead
	fmt.Println(l.LeadID, l.Action, l.ActionRaw, l.ActionKnown, l.LeadStatus)
	fmt.Println(l.ExtraDetails)
	fmt.Println(l.LatestCallID.V, l.LatestCallDurationSec.V, l.LatestCallStatus, l.LatestCallAt.V.Time().Format(time.RFC3339Nano))
	// Output:
	// 42 call_created call_logged true booking_done
	// [{cp_id 5649} {gender male} {possession_in [1,2]}]
	// 7 61 no-answer 2019-05-21T11:45:27.628Z
}

func ExampleFlatten_errors() {
	for _, body := range []string{`{"lead_id" 1}`, `[1]`, `{"lead_id": "abc"}`} {
		_, err := flatten.Flatten([]byte(body), time.Now())
		var se *flatten.SyntaxError
		switch {
		case errors.As(err, &se):
			fmt.Println("400:", err, "| offset", se.Offset)
		case errors.Is(err, flatten.ErrNotObject):
			fmt.Println("400:", err)
		case errors.Is(err, flatten.ErrNoLeadID):
			fmt.Println("422:", err)
		}
	}
	// Output:
	// 400: not JSON at byte 11: expected ':' after object key, found '1' | offset 11
	// 400: not a JSON object: body is a JSON array
	// 422: invalid lead_id "abc": want a positive integer
}

func ExampleCanonicalStatus() {
	for _, raw := range []string{"Final negotitaion", "Interest", " booking DONE ", "In Call Center", "Site Visit Scheduled"} {
		fmt.Printf("%q -> %s\n", raw, flatten.CanonicalStatus(raw))
	}
	// Output:
	// "Final negotitaion" -> final_negotiation
	// "Interest" -> interested
	// " booking DONE " -> booking_done
	// "In Call Center" -> in_call_center
	// "Site Visit Scheduled" -> site_visit_scheduled
}
