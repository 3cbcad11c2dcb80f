// Package flatten turns CRM lead callbacks into normalized table rows.
//
// One callback body becomes one schema.LeadUpdate plus a row per event, note, call,
// disposition, status transition and booking document (schema.Rows). The mapping is lenient
// about what the CRM sends and strict about JSON:
//
//   - Duplicate keys, in any object, merge with the later value winning per key: a repeated
//     scalar or array is replaced, a repeated object (extra_details, cp_data, agent_details...)
//     contributes its keys, later ones winning. An occurrence of the wrong JSON type for an
//     object or array field (null, "notes": {}, "calls": "x") is ignored.
//   - Numbers may come as strings and strings as numbers ("base_price": "5" is 5, a phone sent as
//     a number is its digits); integer columns also take integral floats (1046.0). A value that
//     does not fit its column is NULL, or 0/"" where the column is not nullable.
//   - Instants may be epoch seconds, integer or fractional; epoch milliseconds (any magnitude
//     above 1e11); or ISO 8601 text, where text without a zone is India Standard Time. All are
//     stored as UTC milliseconds; unreadable ones, or ones outside 1900..2299, are NULL.
//   - Statuses, disposition types, event types and actions get a canonical value next to the raw
//     one (see CanonicalStatus and friends).
//   - "Latest" means element 0: the CRM sorts every array latest first. Position is the element's
//     index in the payload array; elements that are not objects make no row but keep their index.
//   - Nothing is dropped silently: the raw body is kept in lead_updates.raw, unknown top-level keys
//     are listed in unknown_keys, and every key of extra_details is kept in its map.
//
// Only bodies that are not JSON, not an object, or lack a positive integer lead_id are errors.
package flatten

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/leadhouse/leadhouse/schema"
)

// Flattener turns callback bodies into rows, keeping its parse buffers between calls so that
// flattening in a steady state allocates only the callback id and strings it has to rebuild
// (escaped text, JSON with whitespace removed). A Flattener is not safe for concurrent use; give
// each goroutine its own.
type Flattener struct {
	sc   scanner
	d    doc
	meta schema.Meta
}

// New returns a Flattener.
func New() *Flattener { return &Flattener{} }

// Flatten parses body, received at receivedAt (the server's clock; stored as UTC milliseconds),
// into out, which it resets first; on error out is left empty. Strings in out alias body, so body must not change while out is in use (rows are
// meant to be copied into a batch before the body's buffer is reused). The error matches one of
// ErrNotJSON (a *SyntaxError), ErrNotObject and ErrNoLeadID (a *LeadIDError).
func (f *Flattener) Flatten(body []byte, receivedAt time.Time, out *schema.Rows) error {
	out.Reset()
	defer f.release()
	if err := f.sc.scan(body); err != nil {
		return err
	}
	f.d = doc{b: body, tape: f.sc.tape}
	d := &f.d
	if k := d.kind(0); k != kObject {
		return fmt.Errorf("%w: body is a JSON %s", ErrNotObject, k)
	}
	id, err := d.leadID()
	if err != nil {
		return err
	}
	f.meta = schema.Meta{
		LeadID:         id,
		CallbackID:     CallbackID(body),
		ReceivedAt:     schema.MillisOf(receivedAt),
		MappingVersion: schema.MappingVersion,
	}
	f.lead(out)
	return nil
}

// maxKeptNodes bounds the tape a Flattener keeps between calls (16 bytes a node, about 1 MiB
// here, enough for bodies ~100 times the sample's size), so that one outsized body does not pin
// its memory for the Flattener's lifetime.
const maxKeptNodes = 1 << 16

// release drops what must not outlive a call: the body, and a tape grown by an outsized one.
func (f *Flattener) release() {
	f.d = doc{}
	if cap(f.sc.tape) > maxKeptNodes {
		f.sc.tape, f.sc.stack = nil, nil
	}
}

// Flatten parses one body with a fresh Flattener. The rows share no memory with body.
func Flatten(body []byte, receivedAt time.Time) (*schema.Rows, error) {
	rows := new(schema.Rows)
	if err := New().Flatten(bytes.Clone(body), receivedAt, rows); err != nil {
		return nil, err
	}
	return rows, nil
}

// CallbackID identifies a delivery by its exact bytes: the hex of the first 16 bytes of the
// body's SHA-256. A redelivered callback gets the same id, which lets the warehouse drop it.
func CallbackID(body []byte) string {
	sum := sha256.Sum256(body)
	var h [32]byte
	hex.Encode(h[:], sum[:16])
	return string(h[:])
}

// leadID finds the top-level lead_id, the last one when it is repeated.
func (d *doc) leadID() (uint64, error) {
	v := -1
	for k := 1; k < d.end(0); k = d.step(k) {
		if d.str(k) == "lead_id" {
			v = k + 1
		}
	}
	if v < 0 {
		return 0, &LeadIDError{}
	}
	if id := d.u64(v); id.Valid && id.V > 0 {
		return id.V, nil
	}
	sent := "null"
	if d.kind(v) != kNull {
		sent = d.jsonText(v)
	}
	if len(sent) > maxErrValue {
		sent = sent[:maxErrValue]
	}
	return 0, &LeadIDError{Value: strings.Clone(sent)}
}

// lead fills out from the top-level object at tape index 0.
func (f *Flattener) lead(out *schema.Rows) {
	d := &f.d
	l := &out.Lead
	l.Meta = f.meta
	// Arrays are read after the scalars, in a fixed order, from their last occurrence.
	notes, events, calls, dispositions, docs := -1, -1, -1, -1, -1
	for k := 1; k < d.end(0); k = d.step(k) {
		v := k + 1
		switch key := d.str(k); key {
		case "lead_id": // read by leadID
		case "action":
			l.ActionRaw = d.text(v)
		case "lead_status":
			l.LeadStatusRaw = d.text(v)
		case "last_status":
			l.LastStatusRaw = d.text(v)
		case "name":
			l.Name = d.text(v)
		case "phone":
			l.Phone = d.text(v)
		case "country_code":
			l.CountryCode = d.text(v)
		case "email":
			l.Email = d.text(v)
		case "source":
			l.Source = d.text(v)
		case "sub_source":
			l.SubSource = d.text(v)
		case "channel_name":
			l.ChannelName = d.text(v)
		case "placement":
			l.Placement = d.text(v)
		case "project_id":
			l.ProjectID = d.u64(v)
		case "project_name":
			l.ProjectName = d.text(v)
		case "project_usp":
			l.ProjectUSP = d.text(v)
		case "project_description":
			l.ProjectDescription = d.text(v)
		case "developer":
			l.Developer = d.text(v)
		case "city":
			l.City = d.text(v)
		case "rating":
			l.Rating = d.text(v)
		case "min_budget":
			l.MinBudget = d.f64(v)
		case "max_budget":
			l.MaxBudget = d.f64(v)
		case "agent_name":
			l.AgentName = d.text(v)
		case "agent_email":
			l.AgentEmail = d.text(v)
		case "created_at":
			l.CreatedAt = d.time(v)
		case "claimed_at":
			l.ClaimedAt = d.time(v)
		case "lead_status_reasons":
			l.LeadStatusReasons = d.jsonText(v)
		case "is_duplicate":
			l.IsDuplicate = d.boolean(v)
		case "cp_data":
			f.cpData(l, v)
		case "booking_details":
			f.bookingDetails(l, v)
		case "extra_details":
			f.extraDetails(l, v)
		case "latest_event_details":
			f.latestEvent(l, v)
		case "status_changes":
			f.statusChanges(out, v)
		case "notes":
			notes = lastArray(d, v, notes)
		case "event_details":
			events = lastArray(d, v, events)
		case "calls":
			calls = lastArray(d, v, calls)
		case "dispositions":
			dispositions = lastArray(d, v, dispositions)
		case "booking_docs":
			docs = lastArray(d, v, docs)
		default:
			l.UnknownKeys = append(l.UnknownKeys, key)
		}
	}
	if notes >= 0 {
		f.notes(out, notes, schema.Opt[uint64]{})
	}
	if events >= 0 {
		f.events(out, events)
	}
	if calls >= 0 {
		f.calls(out, calls)
	}
	if dispositions >= 0 {
		f.dispositions(out, dispositions)
	}
	if docs >= 0 {
		f.bookingDocs(out, docs)
	}
	f.derive(out)
}

// lastArray returns v when it is an array, else the array seen before.
func lastArray(d *doc, v, prev int) int {
	if d.kind(v) == kArray {
		return v
	}
	return prev
}

// derive fills the lead's canonical values and the facts taken from its arrays.
func (f *Flattener) derive(out *schema.Rows) {
	l := &out.Lead
	l.Action, l.ActionKnown = CanonicalAction(l.ActionRaw)
	l.LeadStatus = CanonicalStatus(l.LeadStatusRaw)
	l.LastStatus = CanonicalStatus(l.LastStatusRaw)
	l.StatusBeforeCC = CanonicalStatus(l.StatusBeforeCCRaw)
	l.LatestEventType = CanonicalEventType(l.LatestEventTypeRaw)
	for i := range out.Transitions {
		t := &out.Transitions[i]
		t.Position = position(i)
		t.StatusBeforeCC, t.StatusBeforeCCRaw = l.StatusBeforeCC, l.StatusBeforeCCRaw
	}
	if len(out.Dispositions) > 0 && out.Dispositions[0].Position == 0 {
		ds := &out.Dispositions[0]
		l.LatestDispositionType, l.LatestDispositionTypeRaw = ds.DispositionType, ds.DispositionTypeRaw
		l.LatestDispositionAt = ds.CreatedAt
	}
	if len(out.Calls) > 0 && out.Calls[0].Position == 0 {
		c := &out.Calls[0]
		l.LatestCallID = schema.Some(c.CallID)
		l.LatestCallDurationSec = c.DurationSec
		// The second leg is the customer's (the first rings the agent), so when the CRM reports
		// it, it says whether the lead was reached.
		l.LatestCallStatus = c.SecondLegStatus
		if l.LatestCallStatus == "" {
			l.LatestCallStatus = c.FirstLegStatus
		}
		l.LatestCallAt = c.StartTime
	}
	l.NotesCount = uint32(len(out.Notes))
	l.EventsCount = uint32(len(out.Events))
	l.CallsCount = uint32(len(out.Calls))
	l.DispositionsCount = uint32(len(out.Dispositions))
	l.BookingDocsCount = uint32(len(out.BookingDocs))
	slices.Sort(l.UnknownKeys)
	l.UnknownKeys = slices.Compact(l.UnknownKeys)
	l.Raw = f.d.alias(0, uint32(len(f.d.b)))
	crm := CRMUpdatedAt(out)
	out.EachMeta(func(m *schema.Meta) { m.CRMUpdatedAt = crm })
}

// CRMUpdatedAt is the newest time a callback's document carries about the lead: its
// status_changes moves, its events' created and updated times, its notes' (event notes too)
// created and updated times, its calls' inserted, updated and end times, its dispositions'
// created times, and the lead's claimed_at and created_at. The CRM promises no order of
// delivery and re-sends failed deliveries later, so the time leadhouse received a callback
// says nothing about which of a lead's callbacks is newer; the document's own times do: a
// change the CRM made stamps the entity it changed (a move, a call, a note, an updated event).
// Times the document schedules rather than records (an event's start and end, booking
// documents' times) are left out, and so is a lead's latest_* summary, which repeats entities
// above. It is 0 (the Unix epoch) when the document carries none of these times.
func CRMUpdatedAt(r *schema.Rows) schema.Millis {
	var m schema.Millis
	newer := func(t schema.Opt[schema.Millis]) {
		if t.Valid && t.V > m {
			m = t.V
		}
	}
	newer(r.Lead.CreatedAt)
	newer(r.Lead.ClaimedAt)
	for i := range r.Transitions {
		newer(schema.Some(r.Transitions[i].MovedAt))
	}
	for i := range r.Events {
		newer(r.Events[i].EventCreatedAt)
		newer(r.Events[i].EventUpdatedAt)
	}
	for i := range r.Notes {
		newer(r.Notes[i].CreatedAt)
		newer(r.Notes[i].UpdatedAt)
	}
	for i := range r.Calls {
		newer(r.Calls[i].InsertedAt)
		newer(r.Calls[i].UpdatedAt)
		newer(r.Calls[i].EndTime)
	}
	for i := range r.Dispositions {
		newer(r.Dispositions[i].CreatedAt)
	}
	return m
}

// position is an element's index, saturated at the column's limit.
func position(i int) uint16 {
	if i > 0xffff {
		return 0xffff
	}
	return uint16(i)
}

func (f *Flattener) cpData(l *schema.LeadUpdate, obj int) {
	d := &f.d
	if d.kind(obj) != kObject {
		return
	}
	for k := obj + 1; k < d.end(obj); k = d.step(k) {
		v := k + 1
		switch d.str(k) {
		case "id":
			l.CPID = d.u64(v)
		case "name":
			l.CPName = d.text(v)
		case "email":
			l.CPEmail = d.text(v)
		case "phone":
			l.CPPhone = d.text(v)
		case "phone_with_country_code":
			l.CPPhoneWithCountryCode = d.text(v)
		case "phone_country_id":
			l.CPPhoneCountryID = d.u32(v)
		case "country_id":
			l.CPCountryID = d.u32(v)
		case "firm_name":
			l.CPFirmName = d.text(v)
		case "rera_id":
			l.CPReraID = d.text(v)
		case "locality_hash":
			l.CPLocalityHash = d.jsonText(v)
		case "city_hash":
			l.CPCityHash = d.jsonText(v)
		case "location_info":
			l.CPLocationInfo = d.jsonText(v)
		}
	}
}

func (f *Flattener) bookingDetails(l *schema.LeadUpdate, obj int) {
	d := &f.d
	if d.kind(obj) != kObject {
		return
	}
	for k := obj + 1; k < d.end(obj); k = d.step(k) {
		v := k + 1
		switch d.str(k) {
		case "area":
			l.BookingArea = d.f64(v)
		case "unit_no":
			l.BookingUnitNo = d.text(v)
		case "base_price":
			l.BookingBasePrice = d.f64(v)
		case "floor_number":
			l.BookingFloorNumber = d.text(v)
		case "parking_price":
			l.BookingParkingPrice = d.f64(v)
		case "apartment_type":
			l.BookingApartmentType = d.text(v)
		case "floor_rise_price":
			l.BookingFloorRisePrice = d.f64(v)
		case "apartment_type_id":
			l.BookingApartmentTypeID = d.u32(v)
		}
	}
}

// extraDetails merges one extra_details object into the lead's map. The CRM's own sample sends
// the key twice ({"cp_id", "referral_data"} first, the profile later), so every occurrence
// counts, in order of first appearance, later values winning.
func (f *Flattener) extraDetails(l *schema.LeadUpdate, obj int) {
	d := &f.d
	if d.kind(obj) != kObject {
		return
	}
next:
	for k := obj + 1; k < d.end(obj); k = d.step(k) {
		key, val := d.str(k), d.mapText(k+1)
		for i := range l.ExtraDetails {
			if l.ExtraDetails[i].Key == key {
				l.ExtraDetails[i].Value = val
				continue next
			}
		}
		l.ExtraDetails = append(l.ExtraDetails, schema.KV{Key: key, Value: val})
	}
}

func (f *Flattener) latestEvent(l *schema.LeadUpdate, obj int) {
	d := &f.d
	if d.kind(obj) != kObject {
		return
	}
	for k := obj + 1; k < d.end(obj); k = d.step(k) {
		v := k + 1
		switch d.str(k) {
		case "event_id":
			l.LatestEventID = d.u64(v)
		case "event_type":
			l.LatestEventTypeRaw = d.text(v)
		case "start_time":
			l.LatestEventStartTime = d.time(v)
		case "end_time":
			l.LatestEventEndTime = d.time(v)
		}
	}
}

// statusChanges adds a transition per moved_to_* key with a readable time. A repeated key
// updates its row in place (or removes it when the later time is null), so positions follow
// first appearance; derive numbers them and stamps status_before_cc, which may come after them.
func (f *Flattener) statusChanges(out *schema.Rows, obj int) {
	d := &f.d
	if d.kind(obj) != kObject {
		return
	}
	for k := obj + 1; k < d.end(obj); k = d.step(k) {
		v := k + 1
		key := d.str(k)
		if key == "status_before_cc" {
			out.Lead.StatusBeforeCCRaw = d.text(v)
			continue
		}
		status, ok := strings.CutPrefix(key, "moved_to_")
		if !ok {
			continue
		}
		at := d.time(v)
		i := slices.IndexFunc(out.Transitions, func(t schema.StatusTransition) bool { return t.StatusKey == key })
		switch {
		case i >= 0 && at.Valid:
			out.Transitions[i].MovedAt = at.V
		case i >= 0:
			out.Transitions = slices.Delete(out.Transitions, i, i+1)
		case at.Valid:
			out.Transitions = append(out.Transitions, schema.StatusTransition{
				Meta:      f.meta,
				Status:    CanonicalStatus(status),
				StatusKey: key,
				MovedAt:   at.V,
			})
		}
	}
}

// notes adds a row per note object of the array at arr; eventID is set for an event's notes.
func (f *Flattener) notes(out *schema.Rows, arr int, eventID schema.Opt[uint64]) {
	d := &f.d
	pos := 0
	for e := arr + 1; e < d.end(arr); e, pos = d.end(e), pos+1 {
		if d.kind(e) != kObject {
			continue
		}
		n := schema.Note{Meta: f.meta, EventID: eventID, Position: position(pos)}
		var agentID, detailsID schema.Opt[uint64]
		for k := e + 1; k < d.end(e); k = d.step(k) {
			v := k + 1
			switch d.str(k) {
			case "note_id":
				n.NoteID = d.u64(v).V
			case "note_type":
				n.NoteType = d.text(v)
			case "data":
				n.Data = d.text(v)
			case "created_at":
				n.CreatedAt = d.time(v)
			case "updated_at":
				n.UpdatedAt = d.time(v)
			case "agent_id":
				agentID = d.u64(v)
			case "agent_details":
				f.agent(v, &n.Agent, &detailsID)
			}
		}
		n.AgentID = pickAgent(detailsID, agentID)
		out.Notes = append(out.Notes, n)
	}
}

// agent merges an agent_details object into a; its id is returned through id because the
// element's own agent_id is only the fallback.
func (f *Flattener) agent(obj int, a *schema.Agent, id *schema.Opt[uint64]) {
	d := &f.d
	if d.kind(obj) != kObject {
		return
	}
	for k := obj + 1; k < d.end(obj); k = d.step(k) {
		v := k + 1
		switch d.str(k) {
		case "id":
			*id = d.u64(v)
		case "name":
			a.AgentName = d.text(v)
		case "phone":
			a.AgentPhone = d.text(v)
		case "phone_country_id":
			a.AgentPhoneCountryID = d.u32(v)
		}
	}
}

func pickAgent(details, own schema.Opt[uint64]) schema.Opt[uint64] {
	if details.Valid {
		return details
	}
	return own
}

func (f *Flattener) events(out *schema.Rows, arr int) {
	d := &f.d
	pos := 0
	for e := arr + 1; e < d.end(arr); e, pos = d.end(e), pos+1 {
		if d.kind(e) != kObject {
			continue
		}
		ev := schema.Event{Meta: f.meta, Position: position(pos)}
		notes := -1
		for k := e + 1; k < d.end(e); k = d.step(k) {
			v := k + 1
			switch d.str(k) {
			case "event_id":
				ev.EventID = d.u64(v).V
			case "event_type":
				ev.EventTypeRaw = d.text(v)
			case "event_status":
				ev.EventStatus = d.text(v)
			case "start_time":
				ev.StartTime = d.time(v)
			case "end_time":
				ev.EndTime = d.time(v)
			case "event_created_at":
				ev.EventCreatedAt = d.time(v)
			case "event_updated_at":
				ev.EventUpdatedAt = d.time(v)
			case "notes":
				notes = lastArray(d, v, notes)
			}
		}
		ev.EventType = CanonicalEventType(ev.EventTypeRaw)
		if notes >= 0 {
			before := len(out.Notes)
			f.notes(out, notes, schema.Some(ev.EventID))
			ev.NotesCount = uint32(len(out.Notes) - before)
		}
		out.Events = append(out.Events, ev)
	}
}

func (f *Flattener) calls(out *schema.Rows, arr int) {
	d := &f.d
	pos := 0
	for e := arr + 1; e < d.end(arr); e, pos = d.end(e), pos+1 {
		if d.kind(e) != kObject {
			continue
		}
		c := schema.Call{Meta: f.meta, Position: position(pos)}
		var agentID, detailsID schema.Opt[uint64]
		for k := e + 1; k < d.end(e); k = d.step(k) {
			v := k + 1
			switch d.str(k) {
			case "id":
				c.CallID = d.u64(v).V
			case "action":
				c.CallAction = d.text(v)
			case "call_number":
				c.CallNumber = d.text(v)
			case "from":
				c.FromNumber = d.text(v)
			case "to":
				c.ToNumber = d.text(v)
			case "duration_in_sec":
				c.DurationSec = d.i64(v)
			case "first_leg_status":
				c.FirstLegStatus = d.text(v)
			case "second_leg_status":
				c.SecondLegStatus = d.text(v)
			case "stage":
				c.Stage = d.text(v)
			case "sid":
				c.SID = d.text(v)
			case "recording_url":
				c.RecordingURL = d.text(v)
			case "start_time":
				c.StartTime = d.time(v)
			case "end_time":
				c.EndTime = d.time(v)
			case "inserted_at":
				c.InsertedAt = d.time(v)
			case "updated_at":
				c.UpdatedAt = d.time(v)
			case "agent_id":
				agentID = d.u64(v)
			case "agent_details":
				f.agent(v, &c.Agent, &detailsID)
			}
		}
		c.AgentID = pickAgent(detailsID, agentID)
		out.Calls = append(out.Calls, c)
	}
}

func (f *Flattener) dispositions(out *schema.Rows, arr int) {
	d := &f.d
	pos := 0
	for e := arr + 1; e < d.end(arr); e, pos = d.end(e), pos+1 {
		if d.kind(e) != kObject {
			continue
		}
		ds := schema.Disposition{Meta: f.meta, Position: position(pos)}
		for k := e + 1; k < d.end(e); k = d.step(k) {
			v := k + 1
			switch d.str(k) {
			case "id":
				ds.DispositionID = d.u64(v).V
			case "agent_name":
				ds.AgentName = d.text(v)
			case "disposition_type":
				ds.DispositionTypeRaw = d.text(v)
			case "reason":
				ds.Reason = d.text(v)
			case "created_at":
				ds.CreatedAt = d.time(v)
			}
		}
		ds.DispositionType = CanonicalDisposition(ds.DispositionTypeRaw)
		out.Dispositions = append(out.Dispositions, ds)
	}
}

func (f *Flattener) bookingDocs(out *schema.Rows, arr int) {
	d := &f.d
	pos := 0
	for e := arr + 1; e < d.end(arr); e, pos = d.end(e), pos+1 {
		if d.kind(e) != kObject {
			continue
		}
		bd := schema.BookingDoc{Meta: f.meta, Position: position(pos)}
		for k := e + 1; k < d.end(e); k = d.step(k) {
			v := k + 1
			switch d.str(k) {
			case "id":
				bd.DocID = d.u64(v).V
			case "lead_id":
				bd.DocLeadID = d.u64(v)
			case "booking_doc_type":
				bd.BookingDocType = d.text(v)
			case "data":
				bd.Data = d.text(v)
			case "tag":
				bd.Tag = d.text(v)
			case "status_id":
				bd.StatusID = d.u32(v)
			case "created_at":
				bd.CreatedAt = d.time(v)
			case "updated_at":
				bd.UpdatedAt = d.time(v)
			}
		}
		out.BookingDocs = append(out.BookingDocs, bd)
	}
}
