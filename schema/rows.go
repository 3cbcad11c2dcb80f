package schema

// The row structs below are the single source of truth for the warehouse's columns: each field's
// `ch` tag names the column, `type` gives its ClickHouse type and `codec` its compression codec.
// `arrow` chooses how the pipeline holds the column in memory when the default does not suit:
// "dict" for strings that repeat across rows (agents), "runs" for values that repeat across a
// callback's rows. By default LowCardinality strings are dictionaries and the Meta columns of
// tables with several rows per callback are runs (see encoding).
// The Arrow schema (Arrow.go) and the DDL check (sql tests) are derived from these tags, so a
// column is added in one place and a migration, and a test catches the two drifting apart.
//
// Strings in a row may alias the request body they were parsed from: rows live only until they are
// appended to an Arrow batch, which copies them.

// MappingVersion identifies the flattening rules that produced a row. It is stored in every row so
// that a later change of mapping can rebuild the tables from the kept raw bodies and analysts can
// tell which rows came from which rules. Raise it with any change to the rows a body becomes:
// views rely on one body under one version always giving the same rows (sql migration 0003).
//
// Version 2 adds crm_updated_at to every row.
const MappingVersion = 2

// Meta are the columns every callback-derived row carries.
type Meta struct {
	LeadID         uint64 `ch:"lead_id" type:"UInt64"`
	CallbackID     string `ch:"callback_id" type:"String"`
	ReceivedAt     Millis `ch:"received_at" type:"DateTime64(3, 'UTC')" codec:"Delta(8), ZSTD(1)"`
	MappingVersion uint16 `ch:"mapping_version" type:"UInt16"`
	// CRMUpdatedAt is the newest time the callback's document itself carries (see
	// flatten.CRMUpdatedAt): the CRM's own clock, which orders a lead's callbacks however late
	// they are delivered. The same on every row of a callback; the Unix epoch when the document
	// carries no time at all.
	CRMUpdatedAt Millis `ch:"crm_updated_at" type:"DateTime64(3, 'UTC')"`
	// Arrival is the callback's position in the write-ahead log (wal.Position.Uint64): a total
	// order of arrival that breaks ties of CRMUpdatedAt, set by the pipeline; 0 for rows that
	// did not come through a log. Every delivery of a callback has its own.
	Arrival uint64 `ch:"arrival" type:"UInt64"`
}

// Agent is the CRM's `agent_details` object, flattened into agent_* columns.
type Agent struct {
	AgentID             Opt[uint64] `ch:"agent_id" type:"Nullable(UInt64)"`
	AgentName           string      `ch:"agent_name" type:"String" arrow:"dict"`
	AgentPhone          string      `ch:"agent_phone" type:"String" arrow:"dict"`
	AgentPhoneCountryID Opt[uint32] `ch:"agent_phone_country_id" type:"Nullable(UInt32)"`
}

// LeadUpdate is one callback: every scalar of the lead, the flattened channel partner, booking
// details and latest event, facts derived from the arrays, and the raw body.
type LeadUpdate struct {
	Meta
	Action            string `ch:"action" type:"LowCardinality(String)"`
	ActionRaw         string `ch:"action_raw" type:"LowCardinality(String)"`
	ActionKnown       bool   `ch:"action_known" type:"Bool"`
	LeadStatus        string `ch:"lead_status" type:"LowCardinality(String)"`
	LeadStatusRaw     string `ch:"lead_status_raw" type:"LowCardinality(String)"`
	LastStatus        string `ch:"last_status" type:"LowCardinality(String)"`
	LastStatusRaw     string `ch:"last_status_raw" type:"LowCardinality(String)"`
	StatusBeforeCC    string `ch:"status_before_cc" type:"LowCardinality(String)"`
	StatusBeforeCCRaw string `ch:"status_before_cc_raw" type:"LowCardinality(String)"`

	Name               string       `ch:"name" type:"String"`
	Phone              string       `ch:"phone" type:"String"`
	CountryCode        string       `ch:"country_code" type:"LowCardinality(String)"`
	Email              string       `ch:"email" type:"String"`
	Source             string       `ch:"source" type:"LowCardinality(String)"`
	SubSource          string       `ch:"sub_source" type:"LowCardinality(String)"`
	ChannelName        string       `ch:"channel_name" type:"LowCardinality(String)"`
	Placement          string       `ch:"placement" type:"LowCardinality(String)"`
	ProjectID          Opt[uint64]  `ch:"project_id" type:"Nullable(UInt64)"`
	ProjectName        string       `ch:"project_name" type:"LowCardinality(String)"`
	ProjectUSP         string       `ch:"project_usp" type:"String"`
	ProjectDescription string       `ch:"project_description" type:"String"`
	Developer          string       `ch:"developer" type:"LowCardinality(String)"`
	City               string       `ch:"city" type:"LowCardinality(String)"`
	Rating             string       `ch:"rating" type:"LowCardinality(String)"`
	MinBudget          Opt[float64] `ch:"min_budget" type:"Nullable(Float64)"`
	MaxBudget          Opt[float64] `ch:"max_budget" type:"Nullable(Float64)"`
	AgentName          string       `ch:"agent_name" type:"String" arrow:"dict"`
	AgentEmail         string       `ch:"agent_email" type:"String" arrow:"dict"`
	CreatedAt          Opt[Millis]  `ch:"created_at" type:"Nullable(DateTime64(3, 'UTC'))"`
	ClaimedAt          Opt[Millis]  `ch:"claimed_at" type:"Nullable(DateTime64(3, 'UTC'))"`
	// LeadStatusReasons is kept as the JSON text sent: the document shows only null.
	LeadStatusReasons string    `ch:"lead_status_reasons" type:"String"`
	IsDuplicate       Opt[bool] `ch:"is_duplicate" type:"Nullable(Bool)"`

	CPID                   Opt[uint64] `ch:"cp_id" type:"Nullable(UInt64)"`
	CPName                 string      `ch:"cp_name" type:"String"`
	CPEmail                string      `ch:"cp_email" type:"String"`
	CPPhone                string      `ch:"cp_phone" type:"String"`
	CPPhoneWithCountryCode string      `ch:"cp_phone_with_country_code" type:"String"`
	CPPhoneCountryID       Opt[uint32] `ch:"cp_phone_country_id" type:"Nullable(UInt32)"`
	CPCountryID            Opt[uint32] `ch:"cp_country_id" type:"Nullable(UInt32)"`
	CPFirmName             string      `ch:"cp_firm_name" type:"String"`
	CPReraID               string      `ch:"cp_rera_id" type:"String"`
	CPLocalityHash         string      `ch:"cp_locality_hash" type:"String"`
	CPCityHash             string      `ch:"cp_city_hash" type:"String"`
	CPLocationInfo         string      `ch:"cp_location_info" type:"String"`

	BookingArea            Opt[float64] `ch:"booking_area" type:"Nullable(Float64)"`
	BookingUnitNo          string       `ch:"booking_unit_no" type:"String"`
	BookingBasePrice       Opt[float64] `ch:"booking_base_price" type:"Nullable(Float64)"`
	BookingFloorNumber     string       `ch:"booking_floor_number" type:"String"`
	BookingParkingPrice    Opt[float64] `ch:"booking_parking_price" type:"Nullable(Float64)"`
	BookingApartmentType   string       `ch:"booking_apartment_type" type:"LowCardinality(String)"`
	BookingFloorRisePrice  Opt[float64] `ch:"booking_floor_rise_price" type:"Nullable(Float64)"`
	BookingApartmentTypeID Opt[uint32]  `ch:"booking_apartment_type_id" type:"Nullable(UInt32)"`

	// ExtraDetails holds every key of every `extra_details` object, duplicates merged with later
	// values winning; non-string values are kept as their JSON text.
	ExtraDetails []KV `ch:"extra_details" type:"Map(String, String)"`

	LatestEventID        Opt[uint64] `ch:"latest_event_id" type:"Nullable(UInt64)"`
	LatestEventType      string      `ch:"latest_event_type" type:"LowCardinality(String)"`
	LatestEventTypeRaw   string      `ch:"latest_event_type_raw" type:"LowCardinality(String)"`
	LatestEventStartTime Opt[Millis] `ch:"latest_event_start_time" type:"Nullable(DateTime64(3, 'UTC'))"`
	LatestEventEndTime   Opt[Millis] `ch:"latest_event_end_time" type:"Nullable(DateTime64(3, 'UTC'))"`

	LatestDispositionType    string      `ch:"latest_disposition_type" type:"LowCardinality(String)"`
	LatestDispositionTypeRaw string      `ch:"latest_disposition_type_raw" type:"LowCardinality(String)"`
	LatestDispositionAt      Opt[Millis] `ch:"latest_disposition_at" type:"Nullable(DateTime64(3, 'UTC'))"`
	LatestCallID             Opt[uint64] `ch:"latest_call_id" type:"Nullable(UInt64)"`
	LatestCallDurationSec    Opt[int64]  `ch:"latest_call_duration_sec" type:"Nullable(Int64)"`
	LatestCallStatus         string      `ch:"latest_call_status" type:"LowCardinality(String)"`
	LatestCallAt             Opt[Millis] `ch:"latest_call_at" type:"Nullable(DateTime64(3, 'UTC'))"`

	NotesCount        uint32 `ch:"notes_count" type:"UInt32"`
	EventsCount       uint32 `ch:"events_count" type:"UInt32"`
	CallsCount        uint32 `ch:"calls_count" type:"UInt32"`
	DispositionsCount uint32 `ch:"dispositions_count" type:"UInt32"`
	BookingDocsCount  uint32 `ch:"booking_docs_count" type:"UInt32"`

	// UnknownKeys lists top-level keys the mapping does not know, so new CRM fields are noticed.
	UnknownKeys []string `ch:"unknown_keys" type:"Array(String)"`
	Raw         string   `ch:"raw" type:"String" codec:"ZSTD(3)"`
}

// Event is one element of `event_details` (followups, site visits, face-to-face meetings).
type Event struct {
	Meta
	EventID        uint64      `ch:"event_id" type:"UInt64"`
	Position       uint16      `ch:"position" type:"UInt16"`
	EventType      string      `ch:"event_type" type:"LowCardinality(String)"`
	EventTypeRaw   string      `ch:"event_type_raw" type:"LowCardinality(String)"`
	EventStatus    string      `ch:"event_status" type:"LowCardinality(String)"`
	StartTime      Opt[Millis] `ch:"start_time" type:"Nullable(DateTime64(3, 'UTC'))"`
	EndTime        Opt[Millis] `ch:"end_time" type:"Nullable(DateTime64(3, 'UTC'))"`
	EventCreatedAt Opt[Millis] `ch:"event_created_at" type:"Nullable(DateTime64(3, 'UTC'))"`
	EventUpdatedAt Opt[Millis] `ch:"event_updated_at" type:"Nullable(DateTime64(3, 'UTC'))"`
	NotesCount     uint32      `ch:"notes_count" type:"UInt32"`
}

// Note is a lead note or, when EventID is set, a note of one event.
type Note struct {
	Meta
	NoteID    uint64      `ch:"note_id" type:"UInt64"`
	EventID   Opt[uint64] `ch:"event_id" type:"Nullable(UInt64)"`
	Position  uint16      `ch:"position" type:"UInt16"`
	NoteType  string      `ch:"note_type" type:"LowCardinality(String)"`
	Data      string      `ch:"data" type:"String" codec:"ZSTD(3)"`
	CreatedAt Opt[Millis] `ch:"created_at" type:"Nullable(DateTime64(3, 'UTC'))"`
	UpdatedAt Opt[Millis] `ch:"updated_at" type:"Nullable(DateTime64(3, 'UTC'))"`
	Agent
}

// Call is one element of `calls`.
type Call struct {
	Meta
	CallID          uint64      `ch:"call_id" type:"UInt64"`
	Position        uint16      `ch:"position" type:"UInt16"`
	CallAction      string      `ch:"call_action" type:"LowCardinality(String)"`
	CallNumber      string      `ch:"call_number" type:"String"`
	FromNumber      string      `ch:"from_number" type:"String"`
	ToNumber        string      `ch:"to_number" type:"String"`
	DurationSec     Opt[int64]  `ch:"duration_sec" type:"Nullable(Int64)"`
	FirstLegStatus  string      `ch:"first_leg_status" type:"LowCardinality(String)"`
	SecondLegStatus string      `ch:"second_leg_status" type:"LowCardinality(String)"`
	Stage           string      `ch:"stage" type:"LowCardinality(String)"`
	SID             string      `ch:"sid" type:"String"`
	RecordingURL    string      `ch:"recording_url" type:"String"`
	StartTime       Opt[Millis] `ch:"start_time" type:"Nullable(DateTime64(3, 'UTC'))"`
	EndTime         Opt[Millis] `ch:"end_time" type:"Nullable(DateTime64(3, 'UTC'))"`
	InsertedAt      Opt[Millis] `ch:"inserted_at" type:"Nullable(DateTime64(3, 'UTC'))"`
	UpdatedAt       Opt[Millis] `ch:"updated_at" type:"Nullable(DateTime64(3, 'UTC'))"`
	Agent
}

// Disposition is one element of `dispositions`: a call-center outcome.
type Disposition struct {
	Meta
	DispositionID      uint64      `ch:"disposition_id" type:"UInt64"`
	Position           uint16      `ch:"position" type:"UInt16"`
	DispositionType    string      `ch:"disposition_type" type:"LowCardinality(String)"`
	DispositionTypeRaw string      `ch:"disposition_type_raw" type:"LowCardinality(String)"`
	AgentName          string      `ch:"agent_name" type:"String" arrow:"dict"`
	Reason             string      `ch:"reason" type:"String"`
	CreatedAt          Opt[Millis] `ch:"created_at" type:"Nullable(DateTime64(3, 'UTC'))"`
}

// StatusTransition is one `moved_to_*` key of `status_changes`: the status it names and when.
type StatusTransition struct {
	Meta
	Status    string `ch:"status" type:"LowCardinality(String)"`
	StatusKey string `ch:"status_key" type:"LowCardinality(String)"`
	Position  uint16 `ch:"position" type:"UInt16"`
	MovedAt   Millis `ch:"moved_at" type:"DateTime64(3, 'UTC')"`
	// The lead's status before the change, the same on every transition of a callback.
	StatusBeforeCC    string `ch:"status_before_cc" type:"LowCardinality(String)" arrow:"runs"`
	StatusBeforeCCRaw string `ch:"status_before_cc_raw" type:"LowCardinality(String)" arrow:"runs"`
}

// BookingDoc is one element of `booking_docs`. DocLeadID is the document's own lead_id, which the
// CRM's sample shows differing from the callback's lead.
type BookingDoc struct {
	Meta
	DocID          uint64      `ch:"doc_id" type:"UInt64"`
	Position       uint16      `ch:"position" type:"UInt16"`
	DocLeadID      Opt[uint64] `ch:"doc_lead_id" type:"Nullable(UInt64)"`
	BookingDocType string      `ch:"booking_doc_type" type:"LowCardinality(String)"`
	Data           string      `ch:"data" type:"String"`
	Tag            string      `ch:"tag" type:"LowCardinality(String)"`
	StatusID       Opt[uint32] `ch:"status_id" type:"Nullable(UInt32)"`
	CreatedAt      Opt[Millis] `ch:"created_at" type:"Nullable(DateTime64(3, 'UTC'))"`
	UpdatedAt      Opt[Millis] `ch:"updated_at" type:"Nullable(DateTime64(3, 'UTC'))"`
}

// DeadLetter is a request body that could not be turned into rows, kept with why.
type DeadLetter struct {
	ReceivedAt Millis `ch:"received_at" type:"DateTime64(3, 'UTC')" codec:"Delta(8), ZSTD(1)"`
	RemoteAddr string `ch:"remote_addr" type:"String"`
	Reason     string `ch:"reason" type:"LowCardinality(String)"`
	Error      string `ch:"error" type:"String"`
	BodySize   uint32 `ch:"body_size" type:"UInt32"`
	Body       string `ch:"body" type:"String" codec:"ZSTD(6)"`
	// Arrival is the body's position in the write-ahead log, as Meta.Arrival.
	Arrival uint64 `ch:"arrival" type:"UInt64"`
}

// DeadLetterReplay records what `leadhouse dead-letters replay` made of one dead letter: the mark
// that it was re-submitted.
type DeadLetterReplay struct {
	// DeadLetterID identifies the dead letter: cityHash64(received_at, remote_addr, body), the
	// same for the copies a crash may have stored of it.
	DeadLetterID uint64 `ch:"dead_letter_id" type:"UInt64"`
	ReplayedAt   Millis `ch:"replayed_at" type:"DateTime64(3, 'UTC')"`
	// Outcome is "stored" (its rows were stored), "duplicate" (they were stored before, by an
	// earlier replay) or "dead_letter" (it still fails, Reason and Error saying why).
	Outcome    string `ch:"outcome" type:"LowCardinality(String)"`
	Reason     string `ch:"reason" type:"LowCardinality(String)"`
	Error      string `ch:"error" type:"String"`
	CallbackID string `ch:"callback_id" type:"String"`
}

// RebuildChunk records one chunk of lead ids that `leadhouse rebuild` re-flattened into a table,
// so that a rebuild resumed after a crash skips it and the final check knows how many rows the
// table must hold.
type RebuildChunk struct {
	// Rebuild names the rebuild (its start time); Chunk is the lead_id bucket.
	Rebuild   string `ch:"rebuild" type:"String"`
	Chunk     uint32 `ch:"chunk" type:"UInt32"`
	TableName string `ch:"table_name" type:"LowCardinality(String)"`
	Rows      uint64 `ch:"rows" type:"UInt64"`
	DoneAt    Millis `ch:"done_at" type:"DateTime64(3, 'UTC')"`
}

// PIIKey is the installation's secret key of the hashes that stand in for phone numbers and
// e-mail addresses in the views analysts read (sql migrations 0020 and 0021): the two 64-bit
// halves of a SipHash key, drawn from crypto/rand by sql.Migrate when the table is empty. The
// views use the earliest row, so a second one (two first starts racing) changes nothing.
type PIIKey struct {
	K0        uint64 `ch:"k0" type:"UInt64"`
	K1        uint64 `ch:"k1" type:"UInt64"`
	CreatedAt Millis `ch:"created_at" type:"DateTime64(3, 'UTC')"`
}

// Erasure records one lead that `leadhouse forget` removed: who asked, when and by which key,
// never the person's data. The rows of one request share ErasureID.
type Erasure struct {
	ErasedAt    Millis `ch:"erased_at" type:"DateTime64(3, 'UTC')"`
	ErasureID   string `ch:"erasure_id" type:"String"`
	RequestedBy string `ch:"requested_by" type:"String"`
	Reason      string `ch:"reason" type:"String"`
	// LeadID is 0 for a request by phone number that matched no lead.
	LeadID uint64 `ch:"lead_id" type:"UInt64"`
	// PhoneHash is the keyed hash of the phone number the request named (package erasure), or
	// empty.
	PhoneHash string `ch:"phone_hash" type:"String"`
	// MatchedBy is how the lead was found: "lead_id" (named in the request) or "phone".
	MatchedBy string `ch:"matched_by" type:"LowCardinality(String)"`
	// Removed is what the request removed, as a JSON object of counts by table (and
	// "wal_records"), the same on every row of the request.
	Removed string `ch:"removed" type:"String"`
}

// Rows is everything one callback becomes. The zero value is ready to use; Reset keeps the
// slices' capacity so a Rows can be reused across callbacks without allocating.
type Rows struct {
	Lead         LeadUpdate
	Events       []Event
	Notes        []Note
	Calls        []Call
	Dispositions []Disposition
	Transitions  []StatusTransition
	BookingDocs  []BookingDoc
}

// Reset empties r for reuse.
func (r *Rows) Reset() {
	extra, unknown := r.Lead.ExtraDetails[:0], r.Lead.UnknownKeys[:0]
	r.Lead = LeadUpdate{ExtraDetails: extra, UnknownKeys: unknown}
	r.Events = r.Events[:0]
	r.Notes = r.Notes[:0]
	r.Calls = r.Calls[:0]
	r.Dispositions = r.Dispositions[:0]
	r.Transitions = r.Transitions[:0]
	r.BookingDocs = r.BookingDocs[:0]
}

// EachMeta calls fn with the Meta of every row of r, the lead's first.
func (r *Rows) EachMeta(fn func(*Meta)) {
	fn(&r.Lead.Meta)
	for i := range r.Events {
		fn(&r.Events[i].Meta)
	}
	for i := range r.Notes {
		fn(&r.Notes[i].Meta)
	}
	for i := range r.Calls {
		fn(&r.Calls[i].Meta)
	}
	for i := range r.Dispositions {
		fn(&r.Dispositions[i].Meta)
	}
	for i := range r.Transitions {
		fn(&r.Transitions[i].Meta)
	}
	for i := range r.BookingDocs {
		fn(&r.BookingDocs[i].Meta)
	}
}

// SetArrival stamps every row of r with the arrival order a (Meta.Arrival).
func (r *Rows) SetArrival(a uint64) { r.EachMeta(func(m *Meta) { m.Arrival = a }) }

// Count is the number of rows across all tables.
func (r *Rows) Count() int {
	return 1 + len(r.Events) + len(r.Notes) + len(r.Calls) + len(r.Dispositions) + len(r.Transitions) + len(r.BookingDocs)
}
