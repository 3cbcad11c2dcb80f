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
-- Each view reads its replacing state table with FINAL (the greatest version per key, whatever
-- the background merges have done) joined with the aggregated first-arrival times; a filter on
-- lead_id reaches both sides of the join, so one lead's row reads one lead.
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
    s.lead_id AS lead_id,
    s.callback_id AS last_callback_id,
    fromUnixTimestamp64Milli(c.d.2[indexOf(c.d.1, cityHash64(s.callback_id))], 'UTC') AS last_seen_at,
    toTimeZone(last_seen_at, 'Asia/Kolkata') AS last_seen_at_ist,
    fromUnixTimestamp64Milli(arrayMin(c.d.2), 'UTC') AS first_seen_at,
    toTimeZone(first_seen_at, 'Asia/Kolkata') AS first_seen_at_ist,
    length(c.d.1) AS callbacks,
    s.mapping_version AS mapping_version,
    s.crm_updated_at AS crm_updated_at,
    s.arrival AS arrival,
    s.action AS action,
    s.action_raw AS action_raw,
    s.action_known AS action_known,
    s.lead_status AS lead_status,
    s.lead_status_raw AS lead_status_raw,
    s.last_status AS last_status,
    s.last_status_raw AS last_status_raw,
    s.status_before_cc AS status_before_cc,
    s.status_before_cc_raw AS status_before_cc_raw,
    s.name AS name,
    s.phone AS phone,
    s.country_code AS country_code,
    s.email AS email,
    s.source AS source,
    s.sub_source AS sub_source,
    s.channel_name AS channel_name,
    s.placement AS placement,
    s.project_id AS project_id,
    s.project_name AS project_name,
    s.project_usp AS project_usp,
    s.project_description AS project_description,
    s.developer AS developer,
    s.city AS city,
    s.rating AS rating,
    s.min_budget AS min_budget,
    s.max_budget AS max_budget,
    s.agent_name AS agent_name,
    s.agent_email AS agent_email,
    s.created_at AS created_at,
    s.claimed_at AS claimed_at,
    s.lead_status_reasons AS lead_status_reasons,
    s.is_duplicate AS is_duplicate,
    s.cp_id AS cp_id,
    s.cp_name AS cp_name,
    s.cp_email AS cp_email,
    s.cp_phone AS cp_phone,
    s.cp_phone_with_country_code AS cp_phone_with_country_code,
    s.cp_phone_country_id AS cp_phone_country_id,
    s.cp_country_id AS cp_country_id,
    s.cp_firm_name AS cp_firm_name,
    s.cp_rera_id AS cp_rera_id,
    s.cp_locality_hash AS cp_locality_hash,
    s.cp_city_hash AS cp_city_hash,
    s.cp_location_info AS cp_location_info,
    s.booking_area AS booking_area,
    s.booking_unit_no AS booking_unit_no,
    s.booking_base_price AS booking_base_price,
    s.booking_floor_number AS booking_floor_number,
    s.booking_parking_price AS booking_parking_price,
    s.booking_apartment_type AS booking_apartment_type,
    s.booking_floor_rise_price AS booking_floor_rise_price,
    s.booking_apartment_type_id AS booking_apartment_type_id,
    s.extra_details AS extra_details,
    s.latest_event_id AS latest_event_id,
    s.latest_event_type AS latest_event_type,
    s.latest_event_type_raw AS latest_event_type_raw,
    s.latest_event_start_time AS latest_event_start_time,
    s.latest_event_end_time AS latest_event_end_time,
    s.latest_disposition_type AS latest_disposition_type,
    s.latest_disposition_type_raw AS latest_disposition_type_raw,
    s.latest_disposition_at AS latest_disposition_at,
    s.latest_call_id AS latest_call_id,
    s.latest_call_duration_sec AS latest_call_duration_sec,
    s.latest_call_status AS latest_call_status,
    s.latest_call_at AS latest_call_at,
    s.notes_count AS notes_count,
    s.events_count AS events_count,
    s.calls_count AS calls_count,
    s.dispositions_count AS dispositions_count,
    s.booking_docs_count AS booking_docs_count,
    s.unknown_keys AS unknown_keys
FROM leads_state AS s FINAL
LEFT JOIN (SELECT lead_id, minMapMerge(deliveries) AS d FROM lead_deliveries GROUP BY lead_id) AS c ON c.lead_id = s.lead_id
COMMENT 'one row per lead: its latest callback in CRM time (greatest crm_updated_at, then arrival), plus first_seen_at and the number of distinct callbacks';

CREATE OR REPLACE VIEW events_current AS
SELECT
    s.lead_id AS lead_id,
    s.callback_id AS callback_id,
    s.received_at AS received_at,
    s.mapping_version AS mapping_version,
    s.crm_updated_at AS crm_updated_at,
    s.arrival AS arrival,
    s.event_id AS event_id,
    s.position AS position,
    s.event_type AS event_type,
    s.event_type_raw AS event_type_raw,
    s.event_status AS event_status,
    s.start_time AS start_time,
    s.end_time AS end_time,
    s.event_created_at AS event_created_at,
    s.event_updated_at AS event_updated_at,
    s.notes_count AS notes_count,
    toTimeZone(s.received_at, 'Asia/Kolkata') AS received_at_ist,
    toTimeZone(s.start_time, 'Asia/Kolkata') AS start_time_ist,
    c.first_seen_at AS first_seen_at
FROM events_state AS s FINAL
LEFT JOIN (SELECT lead_id, event_id, min(first_seen_at) AS first_seen_at FROM events_seen GROUP BY lead_id, event_id) AS c ON c.lead_id = s.lead_id AND c.event_id = s.event_id
COMMENT 'latest copy of each event (followup, site visit, face to face) of each lead: the one with the greatest (event_updated_at, crm_updated_at, arrival)';

CREATE OR REPLACE VIEW notes_current AS
SELECT
    s.lead_id AS lead_id,
    s.callback_id AS callback_id,
    s.received_at AS received_at,
    s.mapping_version AS mapping_version,
    s.crm_updated_at AS crm_updated_at,
    s.arrival AS arrival,
    s.note_id AS note_id,
    s.event_id AS event_id,
    s.position AS position,
    s.note_type AS note_type,
    s.data AS data,
    s.created_at AS created_at,
    s.updated_at AS updated_at,
    s.agent_id AS agent_id,
    s.agent_name AS agent_name,
    s.agent_phone AS agent_phone,
    s.agent_phone_country_id AS agent_phone_country_id,
    toTimeZone(s.received_at, 'Asia/Kolkata') AS received_at_ist,
    toTimeZone(s.created_at, 'Asia/Kolkata') AS created_at_ist,
    c.first_seen_at AS first_seen_at
FROM notes_state AS s FINAL
LEFT JOIN (SELECT lead_id, note_id, min(first_seen_at) AS first_seen_at FROM notes_seen GROUP BY lead_id, note_id) AS c ON c.lead_id = s.lead_id AND c.note_id = s.note_id
COMMENT 'latest copy of each note of each lead (event notes have event_id): the one with the greatest (updated_at, crm_updated_at, arrival)';

CREATE OR REPLACE VIEW calls_current AS
SELECT
    s.lead_id AS lead_id,
    s.callback_id AS callback_id,
    s.received_at AS received_at,
    s.mapping_version AS mapping_version,
    s.crm_updated_at AS crm_updated_at,
    s.arrival AS arrival,
    s.call_id AS call_id,
    s.position AS position,
    s.call_action AS call_action,
    s.call_number AS call_number,
    s.from_number AS from_number,
    s.to_number AS to_number,
    s.duration_sec AS duration_sec,
    s.first_leg_status AS first_leg_status,
    s.second_leg_status AS second_leg_status,
    s.stage AS stage,
    s.sid AS sid,
    s.recording_url AS recording_url,
    s.start_time AS start_time,
    s.end_time AS end_time,
    s.inserted_at AS inserted_at,
    s.updated_at AS updated_at,
    s.agent_id AS agent_id,
    s.agent_name AS agent_name,
    s.agent_phone AS agent_phone,
    s.agent_phone_country_id AS agent_phone_country_id,
    toTimeZone(s.received_at, 'Asia/Kolkata') AS received_at_ist,
    toTimeZone(s.start_time, 'Asia/Kolkata') AS start_time_ist,
    c.first_seen_at AS first_seen_at
FROM calls_state AS s FINAL
LEFT JOIN (SELECT lead_id, call_id, min(first_seen_at) AS first_seen_at FROM calls_seen GROUP BY lead_id, call_id) AS c ON c.lead_id = s.lead_id AND c.call_id = s.call_id
COMMENT 'latest copy of each call of each lead: the one with the greatest (updated_at, crm_updated_at, arrival)';

CREATE OR REPLACE VIEW dispositions_current AS
SELECT
    s.lead_id AS lead_id,
    s.callback_id AS callback_id,
    s.received_at AS received_at,
    s.mapping_version AS mapping_version,
    s.crm_updated_at AS crm_updated_at,
    s.arrival AS arrival,
    s.disposition_id AS disposition_id,
    s.position AS position,
    s.disposition_type AS disposition_type,
    s.disposition_type_raw AS disposition_type_raw,
    s.agent_name AS agent_name,
    s.reason AS reason,
    s.created_at AS created_at,
    toTimeZone(s.received_at, 'Asia/Kolkata') AS received_at_ist,
    toTimeZone(s.created_at, 'Asia/Kolkata') AS created_at_ist,
    c.first_seen_at AS first_seen_at,
    c.first_crm_updated_at AS first_crm_updated_at
FROM dispositions_state AS s FINAL
LEFT JOIN (SELECT lead_id, disposition_id, min(first_seen_at) AS first_seen_at, min(first_crm_updated_at) AS first_crm_updated_at FROM dispositions_seen GROUP BY lead_id, disposition_id) AS c ON c.lead_id = s.lead_id AND c.disposition_id = s.disposition_id
COMMENT 'latest copy of each call-center disposition of each lead: the one with the greatest (created_at, crm_updated_at, arrival)';

CREATE OR REPLACE VIEW booking_docs_current AS
SELECT
    s.lead_id AS lead_id,
    s.callback_id AS callback_id,
    s.received_at AS received_at,
    s.mapping_version AS mapping_version,
    s.crm_updated_at AS crm_updated_at,
    s.arrival AS arrival,
    s.doc_id AS doc_id,
    s.position AS position,
    s.doc_lead_id AS doc_lead_id,
    s.booking_doc_type AS booking_doc_type,
    s.data AS data,
    s.tag AS tag,
    s.status_id AS status_id,
    s.created_at AS created_at,
    s.updated_at AS updated_at,
    toTimeZone(s.received_at, 'Asia/Kolkata') AS received_at_ist,
    c.first_seen_at AS first_seen_at
FROM booking_docs_state AS s FINAL
LEFT JOIN (SELECT lead_id, doc_id, min(first_seen_at) AS first_seen_at FROM booking_docs_seen GROUP BY lead_id, doc_id) AS c ON c.lead_id = s.lead_id AND c.doc_id = s.doc_id
COMMENT 'latest copy of each booking document of each lead: the one with the greatest (updated_at, crm_updated_at, arrival)';

CREATE OR REPLACE VIEW status_transitions_current AS
SELECT
    s.lead_id AS lead_id,
    s.callback_id AS callback_id,
    s.received_at AS received_at,
    s.mapping_version AS mapping_version,
    s.crm_updated_at AS crm_updated_at,
    s.arrival AS arrival,
    s.status AS status,
    s.status_key AS status_key,
    s.position AS position,
    s.moved_at AS moved_at,
    s.status_before_cc AS status_before_cc,
    s.status_before_cc_raw AS status_before_cc_raw,
    toTimeZone(s.received_at, 'Asia/Kolkata') AS received_at_ist,
    toTimeZone(s.moved_at, 'Asia/Kolkata') AS moved_at_ist,
    c.first_seen_at AS first_seen_at
FROM status_transitions_state AS s FINAL
LEFT JOIN (SELECT lead_id, status, min(first_seen_at) AS first_seen_at FROM status_transitions_seen GROUP BY lead_id, status) AS c ON c.lead_id = s.lead_id AND c.status = s.status
COMMENT 'per lead and status, the last time the lead moved to that status (greatest moved_at, then crm_updated_at, arrival)';

CREATE OR REPLACE VIEW scenario_counts AS
SELECT day_ist, scenario, project_name, source, uniqExactMerge(callbacks) AS callbacks, uniqExactMerge(leads) AS leads
FROM scenario_counts_state
GROUP BY day_ist, scenario, project_name, source
COMMENT 'distinct callbacks and leads matching each scenario, by IST day of the callback''s crm_updated_at, project and source';
