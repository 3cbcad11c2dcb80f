-- 0022_masked_state: the twins of the views 0006 restated over the state tables (0005), with the
-- columns those views gained (crm_updated_at and arrival, the CRM's time and the arrival order
-- that decide a lead's current state; dispositions_current's first_crm_updated_at), and a twin of
-- the new scenario_counts. None of the new columns is personal: they are restated as they are,
-- every other column masked as in 0021.

CREATE OR REPLACE VIEW masked_leads_current
DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
WITH
    (SELECT (k0, k1) FROM pii_key ORDER BY created_at, k0, k1 LIMIT 1) AS pii,
    s -> if(length(replaceRegexpAll(s, '[^0-9]', '')) >= 10, right(replaceRegexpAll(s, '[^0-9]', ''), 10), replaceRegexpOne(replaceRegexpAll(s, '[^0-9]', ''), '^0+', '')) AS national,
    s -> if(national(s) = '', NULL, sipHash64Keyed(pii, national(s))) AS phone_key,
    s -> if(trimBoth(s) = '', NULL, sipHash64Keyed(pii, lower(trimBoth(s)))) AS email_key,
    s -> arrayStringConcat(arrayMap(w -> upperUTF8(leftUTF8(w, 1)), splitByWhitespace(s)), '') AS initials,
    s -> right(replaceRegexpAll(s, '[^0-9]', ''), 4) AS last4,
    s -> lower(if(position(s, '@') > 0, substringIndex(trimBoth(s), '@', -1), '')) AS domain_of,
    s -> replaceRegexpAll(replaceRegexpAll(s, '[^[:space:]@]+@[^[:space:]@]+', '[email]'), '[+]?([0-9][ ().-]?){6,}[0-9]', '[phone]') AS scrubbed
SELECT
    src.lead_id AS lead_id,
    src.last_callback_id AS last_callback_id,
    src.last_seen_at AS last_seen_at,
    src.last_seen_at_ist AS last_seen_at_ist,
    src.first_seen_at AS first_seen_at,
    src.first_seen_at_ist AS first_seen_at_ist,
    src.callbacks AS callbacks,
    src.mapping_version AS mapping_version,
    src.crm_updated_at AS crm_updated_at,
    src.arrival AS arrival,
    src.action AS action,
    src.action_raw AS action_raw,
    src.action_known AS action_known,
    src.lead_status AS lead_status,
    src.lead_status_raw AS lead_status_raw,
    src.last_status AS last_status,
    src.last_status_raw AS last_status_raw,
    src.status_before_cc AS status_before_cc,
    src.status_before_cc_raw AS status_before_cc_raw,
    initials(src.name) AS name,
    last4(src.phone) AS phone,
    src.country_code AS country_code,
    domain_of(src.email) AS email,
    src.source AS source,
    src.sub_source AS sub_source,
    src.channel_name AS channel_name,
    src.placement AS placement,
    src.project_id AS project_id,
    src.project_name AS project_name,
    src.project_usp AS project_usp,
    src.project_description AS project_description,
    src.developer AS developer,
    src.city AS city,
    src.rating AS rating,
    src.min_budget AS min_budget,
    src.max_budget AS max_budget,
    src.agent_name AS agent_name,
    domain_of(src.agent_email) AS agent_email,
    src.created_at AS created_at,
    src.claimed_at AS claimed_at,
    scrubbed(src.lead_status_reasons) AS lead_status_reasons,
    src.is_duplicate AS is_duplicate,
    src.cp_id AS cp_id,
    initials(src.cp_name) AS cp_name,
    domain_of(src.cp_email) AS cp_email,
    last4(src.cp_phone) AS cp_phone,
    last4(src.cp_phone_with_country_code) AS cp_phone_with_country_code,
    src.cp_phone_country_id AS cp_phone_country_id,
    src.cp_country_id AS cp_country_id,
    src.cp_firm_name AS cp_firm_name,
    src.cp_rera_id AS cp_rera_id,
    src.cp_locality_hash AS cp_locality_hash,
    src.cp_city_hash AS cp_city_hash,
    src.cp_location_info AS cp_location_info,
    src.booking_area AS booking_area,
    '' AS booking_unit_no,
    src.booking_base_price AS booking_base_price,
    src.booking_floor_number AS booking_floor_number,
    src.booking_parking_price AS booking_parking_price,
    src.booking_apartment_type AS booking_apartment_type,
    src.booking_floor_rise_price AS booking_floor_rise_price,
    src.booking_apartment_type_id AS booking_apartment_type_id,
    mapFilter((k, v) -> k IN ('cp_id', 'duplicate_lead_id', 'is_nri', 'possession_in', 'mode_of_payment', 'purpose_of_purchase', 'current_apartment_type', 'current_residence_type'), src.extra_details) AS extra_details,
    src.latest_event_id AS latest_event_id,
    src.latest_event_type AS latest_event_type,
    src.latest_event_type_raw AS latest_event_type_raw,
    src.latest_event_start_time AS latest_event_start_time,
    src.latest_event_end_time AS latest_event_end_time,
    src.latest_disposition_type AS latest_disposition_type,
    src.latest_disposition_type_raw AS latest_disposition_type_raw,
    src.latest_disposition_at AS latest_disposition_at,
    src.latest_call_id AS latest_call_id,
    src.latest_call_duration_sec AS latest_call_duration_sec,
    src.latest_call_status AS latest_call_status,
    src.latest_call_at AS latest_call_at,
    src.notes_count AS notes_count,
    src.events_count AS events_count,
    src.calls_count AS calls_count,
    src.dispositions_count AS dispositions_count,
    src.booking_docs_count AS booking_docs_count,
    src.unknown_keys AS unknown_keys,
    phone_key(src.phone) AS phone_hash,
    email_key(src.email) AS email_hash
FROM leads_current AS src
COMMENT 'leads_current for analysts: personal columns masked';

CREATE OR REPLACE VIEW masked_events_current
DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT
    src.lead_id AS lead_id,
    src.callback_id AS callback_id,
    src.received_at AS received_at,
    src.mapping_version AS mapping_version,
    src.crm_updated_at AS crm_updated_at,
    src.arrival AS arrival,
    src.event_id AS event_id,
    src.position AS position,
    src.event_type AS event_type,
    src.event_type_raw AS event_type_raw,
    src.event_status AS event_status,
    src.start_time AS start_time,
    src.end_time AS end_time,
    src.event_created_at AS event_created_at,
    src.event_updated_at AS event_updated_at,
    src.notes_count AS notes_count,
    src.received_at_ist AS received_at_ist,
    src.start_time_ist AS start_time_ist,
    src.first_seen_at AS first_seen_at
FROM events_current AS src
COMMENT 'events_current for analysts: personal columns masked';

CREATE OR REPLACE VIEW masked_notes_current
DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
WITH
    s -> right(replaceRegexpAll(s, '[^0-9]', ''), 4) AS last4
SELECT
    src.lead_id AS lead_id,
    src.callback_id AS callback_id,
    src.received_at AS received_at,
    src.mapping_version AS mapping_version,
    src.crm_updated_at AS crm_updated_at,
    src.arrival AS arrival,
    src.note_id AS note_id,
    src.event_id AS event_id,
    src.position AS position,
    src.note_type AS note_type,
    '' AS data,
    src.created_at AS created_at,
    src.updated_at AS updated_at,
    src.agent_id AS agent_id,
    src.agent_name AS agent_name,
    last4(src.agent_phone) AS agent_phone,
    src.agent_phone_country_id AS agent_phone_country_id,
    src.received_at_ist AS received_at_ist,
    src.created_at_ist AS created_at_ist,
    src.first_seen_at AS first_seen_at
FROM notes_current AS src
COMMENT 'notes_current for analysts: personal columns masked';

CREATE OR REPLACE VIEW masked_calls_current
DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
WITH
    (SELECT (k0, k1) FROM pii_key ORDER BY created_at, k0, k1 LIMIT 1) AS pii,
    s -> if(length(replaceRegexpAll(s, '[^0-9]', '')) >= 10, right(replaceRegexpAll(s, '[^0-9]', ''), 10), replaceRegexpOne(replaceRegexpAll(s, '[^0-9]', ''), '^0+', '')) AS national,
    s -> if(national(s) = '', NULL, sipHash64Keyed(pii, national(s))) AS phone_key,
    s -> right(replaceRegexpAll(s, '[^0-9]', ''), 4) AS last4
SELECT
    src.lead_id AS lead_id,
    src.callback_id AS callback_id,
    src.received_at AS received_at,
    src.mapping_version AS mapping_version,
    src.crm_updated_at AS crm_updated_at,
    src.arrival AS arrival,
    src.call_id AS call_id,
    src.position AS position,
    src.call_action AS call_action,
    last4(src.call_number) AS call_number,
    last4(src.from_number) AS from_number,
    last4(src.to_number) AS to_number,
    src.duration_sec AS duration_sec,
    src.first_leg_status AS first_leg_status,
    src.second_leg_status AS second_leg_status,
    src.stage AS stage,
    src.sid AS sid,
    '' AS recording_url,
    src.start_time AS start_time,
    src.end_time AS end_time,
    src.inserted_at AS inserted_at,
    src.updated_at AS updated_at,
    src.agent_id AS agent_id,
    src.agent_name AS agent_name,
    last4(src.agent_phone) AS agent_phone,
    src.agent_phone_country_id AS agent_phone_country_id,
    src.received_at_ist AS received_at_ist,
    src.start_time_ist AS start_time_ist,
    src.first_seen_at AS first_seen_at,
    phone_key(src.call_number) AS call_number_hash
FROM calls_current AS src
COMMENT 'calls_current for analysts: personal columns masked';

CREATE OR REPLACE VIEW masked_dispositions_current
DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
WITH
    s -> replaceRegexpAll(replaceRegexpAll(s, '[^[:space:]@]+@[^[:space:]@]+', '[email]'), '[+]?([0-9][ ().-]?){6,}[0-9]', '[phone]') AS scrubbed
SELECT
    src.lead_id AS lead_id,
    src.callback_id AS callback_id,
    src.received_at AS received_at,
    src.mapping_version AS mapping_version,
    src.crm_updated_at AS crm_updated_at,
    src.arrival AS arrival,
    src.disposition_id AS disposition_id,
    src.position AS position,
    src.disposition_type AS disposition_type,
    src.disposition_type_raw AS disposition_type_raw,
    src.agent_name AS agent_name,
    scrubbed(src.reason) AS reason,
    src.created_at AS created_at,
    src.received_at_ist AS received_at_ist,
    src.created_at_ist AS created_at_ist,
    src.first_seen_at AS first_seen_at,
    src.first_crm_updated_at AS first_crm_updated_at
FROM dispositions_current AS src
COMMENT 'dispositions_current for analysts: personal columns masked';

CREATE OR REPLACE VIEW masked_status_transitions_current
DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT
    src.lead_id AS lead_id,
    src.callback_id AS callback_id,
    src.received_at AS received_at,
    src.mapping_version AS mapping_version,
    src.crm_updated_at AS crm_updated_at,
    src.arrival AS arrival,
    src.status AS status,
    src.status_key AS status_key,
    src.position AS position,
    src.moved_at AS moved_at,
    src.status_before_cc AS status_before_cc,
    src.status_before_cc_raw AS status_before_cc_raw,
    src.received_at_ist AS received_at_ist,
    src.moved_at_ist AS moved_at_ist,
    src.first_seen_at AS first_seen_at
FROM status_transitions_current AS src
COMMENT 'status_transitions_current for analysts: personal columns masked';

CREATE OR REPLACE VIEW masked_booking_docs_current
DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT
    src.lead_id AS lead_id,
    src.callback_id AS callback_id,
    src.received_at AS received_at,
    src.mapping_version AS mapping_version,
    src.crm_updated_at AS crm_updated_at,
    src.arrival AS arrival,
    src.doc_id AS doc_id,
    src.position AS position,
    src.doc_lead_id AS doc_lead_id,
    src.booking_doc_type AS booking_doc_type,
    '' AS data,
    src.tag AS tag,
    src.status_id AS status_id,
    src.created_at AS created_at,
    src.updated_at AS updated_at,
    src.received_at_ist AS received_at_ist,
    src.first_seen_at AS first_seen_at
FROM booking_docs_current AS src
COMMENT 'booking_docs_current for analysts: personal columns masked';

CREATE OR REPLACE VIEW masked_scenario_counts
DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT
    src.day_ist AS day_ist,
    src.scenario AS scenario,
    src.project_name AS project_name,
    src.source AS source,
    src.callbacks AS callbacks,
    src.leads AS leads
FROM scenario_counts AS src
COMMENT 'scenario_counts for analysts: counts only, nothing to mask';
