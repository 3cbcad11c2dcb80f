-- 0006_current_views: leads_current, the *_current views and scenario_counts read the state
-- tables of 0005, in CRM time.
--
-- Same names and columns as 0002's views (plus crm_updated_at and arrival, which 0004 added to
-- every table, and dispositions_current.first_crm_updated_at); what changed is which copy is
-- current:
--   * leads_current: the callback with the greatest (crm_updated_at, arrival), where 0002 took
--     the greatest received_at (ties: callback_id). A callback delivered late, after newer ones
--     of its lead, no longer rolls the lead back. first_seen_at, last_seen_at (the first
--     delivery of the current callback) and callbacks (distinct) keep their meaning.
--   * each *_current view: the copy with the greatest (own time, crm_updated_at, arrival), see
--     0005; first_seen_at is still when the entity first arrived.
-- lead_status_durations, lead_funnel and cc_to_sales_handoffs read these views, so they follow
-- (0007 restates the hand-off view's fallback time in CRM time).
-- Each view merges the states of its key (GROUP BY the state table's sorting key): the states
-- merge whatever the engine has merged in the background, so the answer does not depend on
-- merges. A filter on lead_id is pushed below the GROUP BY, so one lead's row reads one lead.
--
-- scenario_counts is new: distinct callbacks and leads per scenario, IST day of crm_updated_at
-- (the same for every delivery of a callback, so re-deliveries count once), project and source,
-- for dashboards that count scenarios over time. lead_scenarios keeps one row per match, read at
-- query time from lead_updates, so it stays exact whatever way rows arrive; scenario_counts
-- applies the same six rules as lead_scenarios (0003) as callbacks are inserted. Summing
-- `leads` over days counts a lead once per day; for distinct leads over a period merge the
-- state: SELECT uniqExactMerge(leads) FROM scenario_counts_state WHERE ...

CREATE OR REPLACE VIEW leads_current AS
SELECT
    lead_id,
    last_callback_id,
    fromUnixTimestamp64Milli(d.2[indexOf(d.1, cityHash64(last_callback_id))], 'UTC') AS last_seen_at,
    toTimeZone(last_seen_at, 'Asia/Kolkata') AS last_seen_at_ist,
    fromUnixTimestamp64Milli(arrayMin(d.2), 'UTC') AS first_seen_at,
    toTimeZone(first_seen_at, 'Asia/Kolkata') AS first_seen_at_ist,
    length(d.1) AS callbacks,
    mapping_version,
    crm_updated_at,
    arrival,
    action,
    action_raw,
    action_known,
    lead_status,
    lead_status_raw,
    last_status,
    last_status_raw,
    status_before_cc,
    status_before_cc_raw,
    name,
    phone,
    country_code,
    email,
    source,
    sub_source,
    channel_name,
    placement,
    project_id,
    project_name,
    project_usp,
    project_description,
    developer,
    city,
    rating,
    min_budget,
    max_budget,
    agent_name,
    agent_email,
    created_at,
    claimed_at,
    lead_status_reasons,
    is_duplicate,
    cp_id,
    cp_name,
    cp_email,
    cp_phone,
    cp_phone_with_country_code,
    cp_phone_country_id,
    cp_country_id,
    cp_firm_name,
    cp_rera_id,
    cp_locality_hash,
    cp_city_hash,
    cp_location_info,
    booking_area,
    booking_unit_no,
    booking_base_price,
    booking_floor_number,
    booking_parking_price,
    booking_apartment_type,
    booking_floor_rise_price,
    booking_apartment_type_id,
    extra_details,
    latest_event_id,
    latest_event_type,
    latest_event_type_raw,
    latest_event_start_time,
    latest_event_end_time,
    latest_disposition_type,
    latest_disposition_type_raw,
    latest_disposition_at,
    latest_call_id,
    latest_call_duration_sec,
    latest_call_status,
    latest_call_at,
    notes_count,
    events_count,
    calls_count,
    dispositions_count,
    booking_docs_count,
    unknown_keys
FROM
(
    SELECT
        s.lead_id AS lead_id,
        argMaxMerge(s.callback_id) AS last_callback_id,
        minMapMerge(s.deliveries) AS d,
        argMaxMerge(s.mapping_version) AS mapping_version,
        argMaxMerge(s.crm_updated_at) AS crm_updated_at,
        argMaxMerge(s.arrival) AS arrival,
        argMaxMerge(s.action) AS action,
        argMaxMerge(s.action_raw) AS action_raw,
        argMaxMerge(s.action_known) AS action_known,
        argMaxMerge(s.lead_status) AS lead_status,
        argMaxMerge(s.lead_status_raw) AS lead_status_raw,
        argMaxMerge(s.last_status) AS last_status,
        argMaxMerge(s.last_status_raw) AS last_status_raw,
        argMaxMerge(s.status_before_cc) AS status_before_cc,
        argMaxMerge(s.status_before_cc_raw) AS status_before_cc_raw,
        argMaxMerge(s.name) AS name,
        argMaxMerge(s.phone) AS phone,
        argMaxMerge(s.country_code) AS country_code,
        argMaxMerge(s.email) AS email,
        argMaxMerge(s.source) AS source,
        argMaxMerge(s.sub_source) AS sub_source,
        argMaxMerge(s.channel_name) AS channel_name,
        argMaxMerge(s.placement) AS placement,
        argMaxMerge(s.project_id).1 AS project_id,
        argMaxMerge(s.project_name) AS project_name,
        argMaxMerge(s.project_usp) AS project_usp,
        argMaxMerge(s.project_description) AS project_description,
        argMaxMerge(s.developer) AS developer,
        argMaxMerge(s.city) AS city,
        argMaxMerge(s.rating) AS rating,
        argMaxMerge(s.min_budget).1 AS min_budget,
        argMaxMerge(s.max_budget).1 AS max_budget,
        argMaxMerge(s.agent_name) AS agent_name,
        argMaxMerge(s.agent_email) AS agent_email,
        argMaxMerge(s.created_at).1 AS created_at,
        argMaxMerge(s.claimed_at).1 AS claimed_at,
        argMaxMerge(s.lead_status_reasons) AS lead_status_reasons,
        argMaxMerge(s.is_duplicate).1 AS is_duplicate,
        argMaxMerge(s.cp_id).1 AS cp_id,
        argMaxMerge(s.cp_name) AS cp_name,
        argMaxMerge(s.cp_email) AS cp_email,
        argMaxMerge(s.cp_phone) AS cp_phone,
        argMaxMerge(s.cp_phone_with_country_code) AS cp_phone_with_country_code,
        argMaxMerge(s.cp_phone_country_id).1 AS cp_phone_country_id,
        argMaxMerge(s.cp_country_id).1 AS cp_country_id,
        argMaxMerge(s.cp_firm_name) AS cp_firm_name,
        argMaxMerge(s.cp_rera_id) AS cp_rera_id,
        argMaxMerge(s.cp_locality_hash) AS cp_locality_hash,
        argMaxMerge(s.cp_city_hash) AS cp_city_hash,
        argMaxMerge(s.cp_location_info) AS cp_location_info,
        argMaxMerge(s.booking_area).1 AS booking_area,
        argMaxMerge(s.booking_unit_no) AS booking_unit_no,
        argMaxMerge(s.booking_base_price).1 AS booking_base_price,
        argMaxMerge(s.booking_floor_number) AS booking_floor_number,
        argMaxMerge(s.booking_parking_price).1 AS booking_parking_price,
        argMaxMerge(s.booking_apartment_type) AS booking_apartment_type,
        argMaxMerge(s.booking_floor_rise_price).1 AS booking_floor_rise_price,
        argMaxMerge(s.booking_apartment_type_id).1 AS booking_apartment_type_id,
        argMaxMerge(s.extra_details) AS extra_details,
        argMaxMerge(s.latest_event_id).1 AS latest_event_id,
        argMaxMerge(s.latest_event_type) AS latest_event_type,
        argMaxMerge(s.latest_event_type_raw) AS latest_event_type_raw,
        argMaxMerge(s.latest_event_start_time).1 AS latest_event_start_time,
        argMaxMerge(s.latest_event_end_time).1 AS latest_event_end_time,
        argMaxMerge(s.latest_disposition_type) AS latest_disposition_type,
        argMaxMerge(s.latest_disposition_type_raw) AS latest_disposition_type_raw,
        argMaxMerge(s.latest_disposition_at).1 AS latest_disposition_at,
        argMaxMerge(s.latest_call_id).1 AS latest_call_id,
        argMaxMerge(s.latest_call_duration_sec).1 AS latest_call_duration_sec,
        argMaxMerge(s.latest_call_status) AS latest_call_status,
        argMaxMerge(s.latest_call_at).1 AS latest_call_at,
        argMaxMerge(s.notes_count) AS notes_count,
        argMaxMerge(s.events_count) AS events_count,
        argMaxMerge(s.calls_count) AS calls_count,
        argMaxMerge(s.dispositions_count) AS dispositions_count,
        argMaxMerge(s.booking_docs_count) AS booking_docs_count,
        argMaxMerge(s.unknown_keys) AS unknown_keys
    FROM leads_state AS s
    GROUP BY s.lead_id
)
COMMENT 'one row per lead: its latest callback in CRM time (greatest crm_updated_at, then arrival), plus first_seen_at and the number of distinct callbacks';

CREATE OR REPLACE VIEW events_current AS
SELECT
    lead_id,
    callback_id,
    received_at,
    mapping_version,
    crm_updated_at,
    arrival,
    event_id,
    position,
    event_type,
    event_type_raw,
    event_status,
    start_time,
    end_time,
    event_created_at,
    event_updated_at,
    notes_count,
    toTimeZone(received_at, 'Asia/Kolkata') AS received_at_ist,
    toTimeZone(start_time, 'Asia/Kolkata') AS start_time_ist,
    first_seen_at
FROM
(
    SELECT
        s.lead_id AS lead_id,
        argMaxMerge(s.callback_id) AS callback_id,
        argMaxMerge(s.received_at) AS received_at,
        argMaxMerge(s.mapping_version) AS mapping_version,
        argMaxMerge(s.crm_updated_at) AS crm_updated_at,
        argMaxMerge(s.arrival) AS arrival,
        s.event_id AS event_id,
        argMaxMerge(s.position) AS position,
        argMaxMerge(s.event_type) AS event_type,
        argMaxMerge(s.event_type_raw) AS event_type_raw,
        argMaxMerge(s.event_status) AS event_status,
        argMaxMerge(s.start_time).1 AS start_time,
        argMaxMerge(s.end_time).1 AS end_time,
        argMaxMerge(s.event_created_at).1 AS event_created_at,
        argMaxMerge(s.event_updated_at).1 AS event_updated_at,
        argMaxMerge(s.notes_count) AS notes_count,
        min(s.first_seen_at) AS first_seen_at
    FROM events_state AS s
    GROUP BY s.lead_id, s.event_id
)
COMMENT 'latest copy of each event (followup, site visit, face to face) of each lead: the one with the greatest (event_updated_at, crm_updated_at, arrival)';

CREATE OR REPLACE VIEW notes_current AS
SELECT
    lead_id,
    callback_id,
    received_at,
    mapping_version,
    crm_updated_at,
    arrival,
    note_id,
    event_id,
    position,
    note_type,
    data,
    created_at,
    updated_at,
    agent_id,
    agent_name,
    agent_phone,
    agent_phone_country_id,
    toTimeZone(received_at, 'Asia/Kolkata') AS received_at_ist,
    toTimeZone(created_at, 'Asia/Kolkata') AS created_at_ist,
    first_seen_at
FROM
(
    SELECT
        s.lead_id AS lead_id,
        argMaxMerge(s.callback_id) AS callback_id,
        argMaxMerge(s.received_at) AS received_at,
        argMaxMerge(s.mapping_version) AS mapping_version,
        argMaxMerge(s.crm_updated_at) AS crm_updated_at,
        argMaxMerge(s.arrival) AS arrival,
        s.note_id AS note_id,
        argMaxMerge(s.event_id).1 AS event_id,
        argMaxMerge(s.position) AS position,
        argMaxMerge(s.note_type) AS note_type,
        argMaxMerge(s.data) AS data,
        argMaxMerge(s.created_at).1 AS created_at,
        argMaxMerge(s.updated_at).1 AS updated_at,
        argMaxMerge(s.agent_id).1 AS agent_id,
        argMaxMerge(s.agent_name) AS agent_name,
        argMaxMerge(s.agent_phone) AS agent_phone,
        argMaxMerge(s.agent_phone_country_id).1 AS agent_phone_country_id,
        min(s.first_seen_at) AS first_seen_at
    FROM notes_state AS s
    GROUP BY s.lead_id, s.note_id
)
COMMENT 'latest copy of each note of each lead (event notes have event_id): the one with the greatest (updated_at, crm_updated_at, arrival)';

CREATE OR REPLACE VIEW calls_current AS
SELECT
    lead_id,
    callback_id,
    received_at,
    mapping_version,
    crm_updated_at,
    arrival,
    call_id,
    position,
    call_action,
    call_number,
    from_number,
    to_number,
    duration_sec,
    first_leg_status,
    second_leg_status,
    stage,
    sid,
    recording_url,
    start_time,
    end_time,
    inserted_at,
    updated_at,
    agent_id,
    agent_name,
    agent_phone,
    agent_phone_country_id,
    toTimeZone(received_at, 'Asia/Kolkata') AS received_at_ist,
    toTimeZone(start_time, 'Asia/Kolkata') AS start_time_ist,
    first_seen_at
FROM
(
    SELECT
        s.lead_id AS lead_id,
        argMaxMerge(s.callback_id) AS callback_id,
        argMaxMerge(s.received_at) AS received_at,
        argMaxMerge(s.mapping_version) AS mapping_version,
        argMaxMerge(s.crm_updated_at) AS crm_updated_at,
        argMaxMerge(s.arrival) AS arrival,
        s.call_id AS call_id,
        argMaxMerge(s.position) AS position,
        argMaxMerge(s.call_action) AS call_action,
        argMaxMerge(s.call_number) AS call_number,
        argMaxMerge(s.from_number) AS from_number,
        argMaxMerge(s.to_number) AS to_number,
        argMaxMerge(s.duration_sec).1 AS duration_sec,
        argMaxMerge(s.first_leg_status) AS first_leg_status,
        argMaxMerge(s.second_leg_status) AS second_leg_status,
        argMaxMerge(s.stage) AS stage,
        argMaxMerge(s.sid) AS sid,
        argMaxMerge(s.recording_url) AS recording_url,
        argMaxMerge(s.start_time).1 AS start_time,
        argMaxMerge(s.end_time).1 AS end_time,
        argMaxMerge(s.inserted_at).1 AS inserted_at,
        argMaxMerge(s.updated_at).1 AS updated_at,
        argMaxMerge(s.agent_id).1 AS agent_id,
        argMaxMerge(s.agent_name) AS agent_name,
        argMaxMerge(s.agent_phone) AS agent_phone,
        argMaxMerge(s.agent_phone_country_id).1 AS agent_phone_country_id,
        min(s.first_seen_at) AS first_seen_at
    FROM calls_state AS s
    GROUP BY s.lead_id, s.call_id
)
COMMENT 'latest copy of each call of each lead: the one with the greatest (updated_at, crm_updated_at, arrival)';

CREATE OR REPLACE VIEW dispositions_current AS
SELECT
    lead_id,
    callback_id,
    received_at,
    mapping_version,
    crm_updated_at,
    arrival,
    disposition_id,
    position,
    disposition_type,
    disposition_type_raw,
    agent_name,
    reason,
    created_at,
    toTimeZone(received_at, 'Asia/Kolkata') AS received_at_ist,
    toTimeZone(created_at, 'Asia/Kolkata') AS created_at_ist,
    first_seen_at,
    first_crm_updated_at
FROM
(
    SELECT
        s.lead_id AS lead_id,
        argMaxMerge(s.callback_id) AS callback_id,
        argMaxMerge(s.received_at) AS received_at,
        argMaxMerge(s.mapping_version) AS mapping_version,
        argMaxMerge(s.crm_updated_at) AS crm_updated_at,
        argMaxMerge(s.arrival) AS arrival,
        s.disposition_id AS disposition_id,
        argMaxMerge(s.position) AS position,
        argMaxMerge(s.disposition_type) AS disposition_type,
        argMaxMerge(s.disposition_type_raw) AS disposition_type_raw,
        argMaxMerge(s.agent_name) AS agent_name,
        argMaxMerge(s.reason) AS reason,
        argMaxMerge(s.created_at).1 AS created_at,
        min(s.first_seen_at) AS first_seen_at,
        min(s.first_crm_updated_at) AS first_crm_updated_at
    FROM dispositions_state AS s
    GROUP BY s.lead_id, s.disposition_id
)
COMMENT 'latest copy of each call-center disposition of each lead: the one with the greatest (created_at, crm_updated_at, arrival)';

CREATE OR REPLACE VIEW booking_docs_current AS
SELECT
    lead_id,
    callback_id,
    received_at,
    mapping_version,
    crm_updated_at,
    arrival,
    doc_id,
    position,
    doc_lead_id,
    booking_doc_type,
    data,
    tag,
    status_id,
    created_at,
    updated_at,
    toTimeZone(received_at, 'Asia/Kolkata') AS received_at_ist,
    first_seen_at
FROM
(
    SELECT
        s.lead_id AS lead_id,
        argMaxMerge(s.callback_id) AS callback_id,
        argMaxMerge(s.received_at) AS received_at,
        argMaxMerge(s.mapping_version) AS mapping_version,
        argMaxMerge(s.crm_updated_at) AS crm_updated_at,
        argMaxMerge(s.arrival) AS arrival,
        s.doc_id AS doc_id,
        argMaxMerge(s.position) AS position,
        argMaxMerge(s.doc_lead_id).1 AS doc_lead_id,
        argMaxMerge(s.booking_doc_type) AS booking_doc_type,
        argMaxMerge(s.data) AS data,
        argMaxMerge(s.tag) AS tag,
        argMaxMerge(s.status_id).1 AS status_id,
        argMaxMerge(s.created_at).1 AS created_at,
        argMaxMerge(s.updated_at).1 AS updated_at,
        min(s.first_seen_at) AS first_seen_at
    FROM booking_docs_state AS s
    GROUP BY s.lead_id, s.doc_id
)
COMMENT 'latest copy of each booking document of each lead: the one with the greatest (updated_at, crm_updated_at, arrival)';

CREATE OR REPLACE VIEW status_transitions_current AS
SELECT
    lead_id,
    callback_id,
    received_at,
    mapping_version,
    crm_updated_at,
    arrival,
    status,
    status_key,
    position,
    moved_at,
    status_before_cc,
    status_before_cc_raw,
    toTimeZone(received_at, 'Asia/Kolkata') AS received_at_ist,
    toTimeZone(moved_at, 'Asia/Kolkata') AS moved_at_ist,
    first_seen_at
FROM
(
    SELECT
        s.lead_id AS lead_id,
        argMaxMerge(s.callback_id) AS callback_id,
        argMaxMerge(s.received_at) AS received_at,
        argMaxMerge(s.mapping_version) AS mapping_version,
        argMaxMerge(s.crm_updated_at) AS crm_updated_at,
        argMaxMerge(s.arrival) AS arrival,
        s.status AS status,
        argMaxMerge(s.status_key) AS status_key,
        argMaxMerge(s.position) AS position,
        argMaxMerge(s.moved_at) AS moved_at,
        argMaxMerge(s.status_before_cc) AS status_before_cc,
        argMaxMerge(s.status_before_cc_raw) AS status_before_cc_raw,
        min(s.first_seen_at) AS first_seen_at
    FROM status_transitions_state AS s
    GROUP BY s.lead_id, s.status
)
COMMENT 'per lead and status, the last time the lead moved to that status (greatest moved_at, then crm_updated_at, arrival)';

CREATE OR REPLACE VIEW scenario_counts AS
SELECT day_ist, scenario, project_name, source, uniqExactMerge(callbacks) AS callbacks, uniqExactMerge(leads) AS leads
FROM scenario_counts_state
GROUP BY day_ist, scenario, project_name, source
COMMENT 'distinct callbacks and leads matching each scenario, by IST day of the callback''s crm_updated_at, project and source';
