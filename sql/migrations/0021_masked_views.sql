-- 0021_masked_views: what analysts read. Every view of 0002 and 0003 has a twin named masked_<view>
-- with the same columns, in the same order and of the same types, in which personal data is
-- masked, followed by keyed hashes for joins and distinct counts. The analyst role
-- (analyst_masked, in the engine's users.xml and deploy/clickhouse/users.xml) may SELECT
-- masked_* and nothing else; analyst_pii may SELECT the whole database. The twins select from
-- the public views by name, so a later migration that restates a view keeps its twin working; a
-- column added to a view stays out of its twin until a migration restates the twin (a test names
-- every such column), and a new view is invisible to analysts until it gets a twin.
--
-- Each twin runs as its definer (SQL SECURITY DEFINER, DEFINER = the user running the migrations,
-- leadhouse): an analyst needs no privilege on the views, tables or key it reads, so the grant of
-- masked_* is the whole boundary, enforced by the server whatever client asks.
--
-- Masking, decided per column (README, "Personal data"):
--   * phone numbers (the lead's, the channel partner's, agents', calls' numbers): the last four
--     digits, as a call centre reads them out;
--   * e-mail addresses (the lead's, agents', the channel partner's): the domain, lower case;
--   * people's names (the lead, the channel partner's contact): initials, upper case;
--   * withheld (''): raw bodies, note texts (free text that holds phone numbers and names, as the
--     CRM's own sample does), call recording URLs, booking document URLs, the booking's unit
--     number (with the project, the buyer's home), and the start of dead-letter bodies;
--   * scrubbed (e-mail addresses and runs of seven or more digits replaced by [email] and
--     [phone]): free-text reasons of dispositions and lead_status_reasons, kept for their
--     analytic value;
--   * extra_details: only the keys that describe the purchase (cp_id, duplicate_lead_id, is_nri,
--     possession_in, mode_of_payment, purpose_of_purchase, current_apartment_type,
--     current_residence_type); address, gender, ethnicity, ages, incomes, employer, designation,
--     industry, occupation, office city and referral_data (a third person's name and phone) are
--     left out;
--   * kept: agents' names (employees, whose performance analysts measure), lead ids, statuses,
--     projects, sources, budgets, times.
-- phone_hash and email_hash (Nullable(UInt64), NULL when there is no phone or e-mail) are
-- sipHash64Keyed under the installation's key (pii_key, 0020) of the number's national part (its
-- last ten digits; shorter numbers without leading zeros) and of the trimmed, lower-case address.
-- call_number_hash is the same hash of a call's number, so calls join leads on it.
--
-- Names are qualified (src.x) wherever a masked column takes a source column's name: ClickHouse
-- would otherwise read `phone` inside a later expression as the alias, the last four digits.

CREATE OR REPLACE VIEW masked_lead_updates_dedup
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
    src.callback_id AS callback_id,
    src.received_at AS received_at,
    src.mapping_version AS mapping_version,
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
    '' AS raw,
    src.received_at_ist AS received_at_ist,
    phone_key(src.phone) AS phone_hash,
    email_key(src.email) AS email_hash
FROM lead_updates_dedup AS src
COMMENT 'lead_updates_dedup for analysts: personal columns masked';

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

CREATE OR REPLACE VIEW masked_lead_scenarios
DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
WITH
    s -> lower(if(position(s, '@') > 0, substringIndex(trimBoth(s), '@', -1), '')) AS domain_of
SELECT
    src.scenario AS scenario,
    src.lead_id AS lead_id,
    src.callback_id AS callback_id,
    src.received_at AS received_at,
    src.received_at_ist AS received_at_ist,
    src.action AS action,
    src.lead_status AS lead_status,
    src.last_status AS last_status,
    src.project_id AS project_id,
    src.project_name AS project_name,
    src.source AS source,
    src.agent_name AS agent_name,
    domain_of(src.agent_email) AS agent_email,
    src.latest_disposition_type AS latest_disposition_type,
    src.latest_call_duration_sec AS latest_call_duration_sec,
    src.latest_event_type AS latest_event_type,
    src.action_raw AS action_raw,
    src.lead_status_raw AS lead_status_raw,
    src.last_status_raw AS last_status_raw,
    src.latest_disposition_type_raw AS latest_disposition_type_raw,
    src.latest_event_type_raw AS latest_event_type_raw
FROM lead_scenarios AS src
COMMENT 'lead_scenarios for analysts: personal columns masked';

CREATE OR REPLACE VIEW masked_scenario_cc_long_call_followup
DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
WITH
    s -> lower(if(position(s, '@') > 0, substringIndex(trimBoth(s), '@', -1), '')) AS domain_of
SELECT
    src.lead_id AS lead_id,
    src.callback_id AS callback_id,
    src.received_at AS received_at,
    src.received_at_ist AS received_at_ist,
    src.action AS action,
    src.lead_status AS lead_status,
    src.last_status AS last_status,
    src.project_id AS project_id,
    src.project_name AS project_name,
    src.source AS source,
    src.agent_name AS agent_name,
    domain_of(src.agent_email) AS agent_email,
    src.latest_disposition_type AS latest_disposition_type,
    src.latest_call_duration_sec AS latest_call_duration_sec,
    src.latest_event_type AS latest_event_type,
    src.action_raw AS action_raw,
    src.lead_status_raw AS lead_status_raw,
    src.last_status_raw AS last_status_raw,
    src.latest_disposition_type_raw AS latest_disposition_type_raw,
    src.latest_event_type_raw AS latest_event_type_raw
FROM scenario_cc_long_call_followup AS src
COMMENT 'scenario_cc_long_call_followup for analysts: personal columns masked';

CREATE OR REPLACE VIEW masked_scenario_cc_transferred_to_sales
DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
WITH
    s -> lower(if(position(s, '@') > 0, substringIndex(trimBoth(s), '@', -1), '')) AS domain_of
SELECT
    src.lead_id AS lead_id,
    src.callback_id AS callback_id,
    src.received_at AS received_at,
    src.received_at_ist AS received_at_ist,
    src.action AS action,
    src.lead_status AS lead_status,
    src.last_status AS last_status,
    src.project_id AS project_id,
    src.project_name AS project_name,
    src.source AS source,
    src.agent_name AS agent_name,
    domain_of(src.agent_email) AS agent_email,
    src.latest_disposition_type AS latest_disposition_type,
    src.latest_call_duration_sec AS latest_call_duration_sec,
    src.latest_event_type AS latest_event_type,
    src.action_raw AS action_raw,
    src.lead_status_raw AS lead_status_raw,
    src.last_status_raw AS last_status_raw,
    src.latest_disposition_type_raw AS latest_disposition_type_raw,
    src.latest_event_type_raw AS latest_event_type_raw
FROM scenario_cc_transferred_to_sales AS src
COMMENT 'scenario_cc_transferred_to_sales for analysts: personal columns masked';

CREATE OR REPLACE VIEW masked_scenario_cc_failed
DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
WITH
    s -> lower(if(position(s, '@') > 0, substringIndex(trimBoth(s), '@', -1), '')) AS domain_of
SELECT
    src.lead_id AS lead_id,
    src.callback_id AS callback_id,
    src.received_at AS received_at,
    src.received_at_ist AS received_at_ist,
    src.action AS action,
    src.lead_status AS lead_status,
    src.last_status AS last_status,
    src.project_id AS project_id,
    src.project_name AS project_name,
    src.source AS source,
    src.agent_name AS agent_name,
    domain_of(src.agent_email) AS agent_email,
    src.latest_disposition_type AS latest_disposition_type,
    src.latest_call_duration_sec AS latest_call_duration_sec,
    src.latest_event_type AS latest_event_type,
    src.action_raw AS action_raw,
    src.lead_status_raw AS lead_status_raw,
    src.last_status_raw AS last_status_raw,
    src.latest_disposition_type_raw AS latest_disposition_type_raw,
    src.latest_event_type_raw AS latest_event_type_raw
FROM scenario_cc_failed AS src
COMMENT 'scenario_cc_failed for analysts: personal columns masked';

CREATE OR REPLACE VIEW masked_scenario_sales_site_visit_done
DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
WITH
    s -> lower(if(position(s, '@') > 0, substringIndex(trimBoth(s), '@', -1), '')) AS domain_of
SELECT
    src.lead_id AS lead_id,
    src.callback_id AS callback_id,
    src.received_at AS received_at,
    src.received_at_ist AS received_at_ist,
    src.action AS action,
    src.lead_status AS lead_status,
    src.last_status AS last_status,
    src.project_id AS project_id,
    src.project_name AS project_name,
    src.source AS source,
    src.agent_name AS agent_name,
    domain_of(src.agent_email) AS agent_email,
    src.latest_disposition_type AS latest_disposition_type,
    src.latest_call_duration_sec AS latest_call_duration_sec,
    src.latest_event_type AS latest_event_type,
    src.action_raw AS action_raw,
    src.lead_status_raw AS lead_status_raw,
    src.last_status_raw AS last_status_raw,
    src.latest_disposition_type_raw AS latest_disposition_type_raw,
    src.latest_event_type_raw AS latest_event_type_raw
FROM scenario_sales_site_visit_done AS src
COMMENT 'scenario_sales_site_visit_done for analysts: personal columns masked';

CREATE OR REPLACE VIEW masked_scenario_sales_booking_done
DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
WITH
    s -> lower(if(position(s, '@') > 0, substringIndex(trimBoth(s), '@', -1), '')) AS domain_of
SELECT
    src.lead_id AS lead_id,
    src.callback_id AS callback_id,
    src.received_at AS received_at,
    src.received_at_ist AS received_at_ist,
    src.action AS action,
    src.lead_status AS lead_status,
    src.last_status AS last_status,
    src.project_id AS project_id,
    src.project_name AS project_name,
    src.source AS source,
    src.agent_name AS agent_name,
    domain_of(src.agent_email) AS agent_email,
    src.latest_disposition_type AS latest_disposition_type,
    src.latest_call_duration_sec AS latest_call_duration_sec,
    src.latest_event_type AS latest_event_type,
    src.action_raw AS action_raw,
    src.lead_status_raw AS lead_status_raw,
    src.last_status_raw AS last_status_raw,
    src.latest_disposition_type_raw AS latest_disposition_type_raw,
    src.latest_event_type_raw AS latest_event_type_raw
FROM scenario_sales_booking_done AS src
COMMENT 'scenario_sales_booking_done for analysts: personal columns masked';

CREATE OR REPLACE VIEW masked_scenario_sales_failed
DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
WITH
    s -> lower(if(position(s, '@') > 0, substringIndex(trimBoth(s), '@', -1), '')) AS domain_of
SELECT
    src.lead_id AS lead_id,
    src.callback_id AS callback_id,
    src.received_at AS received_at,
    src.received_at_ist AS received_at_ist,
    src.action AS action,
    src.lead_status AS lead_status,
    src.last_status AS last_status,
    src.project_id AS project_id,
    src.project_name AS project_name,
    src.source AS source,
    src.agent_name AS agent_name,
    domain_of(src.agent_email) AS agent_email,
    src.latest_disposition_type AS latest_disposition_type,
    src.latest_call_duration_sec AS latest_call_duration_sec,
    src.latest_event_type AS latest_event_type,
    src.action_raw AS action_raw,
    src.lead_status_raw AS lead_status_raw,
    src.last_status_raw AS last_status_raw,
    src.latest_disposition_type_raw AS latest_disposition_type_raw,
    src.latest_event_type_raw AS latest_event_type_raw
FROM scenario_sales_failed AS src
COMMENT 'scenario_sales_failed for analysts: personal columns masked';

CREATE OR REPLACE VIEW masked_events_current
DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT
    src.lead_id AS lead_id,
    src.callback_id AS callback_id,
    src.received_at AS received_at,
    src.mapping_version AS mapping_version,
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
    src.disposition_id AS disposition_id,
    src.position AS position,
    src.disposition_type AS disposition_type,
    src.disposition_type_raw AS disposition_type_raw,
    src.agent_name AS agent_name,
    scrubbed(src.reason) AS reason,
    src.created_at AS created_at,
    src.received_at_ist AS received_at_ist,
    src.created_at_ist AS created_at_ist,
    src.first_seen_at AS first_seen_at
FROM dispositions_current AS src
COMMENT 'dispositions_current for analysts: personal columns masked';

CREATE OR REPLACE VIEW masked_booking_docs_current
DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT
    src.lead_id AS lead_id,
    src.callback_id AS callback_id,
    src.received_at AS received_at,
    src.mapping_version AS mapping_version,
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

CREATE OR REPLACE VIEW masked_status_transitions_current
DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT
    src.lead_id AS lead_id,
    src.callback_id AS callback_id,
    src.received_at AS received_at,
    src.mapping_version AS mapping_version,
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

CREATE OR REPLACE VIEW masked_lead_status_durations
DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT
    src.lead_id AS lead_id,
    src.from_status AS from_status,
    src.to_status AS to_status,
    src.from_at AS from_at,
    src.to_at AS to_at,
    src.from_at_ist AS from_at_ist,
    src.to_at_ist AS to_at_ist,
    src.seconds AS seconds
FROM lead_status_durations AS src
COMMENT 'lead_status_durations for analysts: personal columns masked';

CREATE OR REPLACE VIEW masked_lead_funnel
DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT
    src.day_ist AS day_ist,
    src.project_id AS project_id,
    src.project_name AS project_name,
    src.source AS source,
    src.status AS status,
    src.status_order AS status_order,
    src.leads AS leads
FROM lead_funnel AS src
COMMENT 'lead_funnel for analysts: personal columns masked';

CREATE OR REPLACE VIEW masked_cc_to_sales_handoffs
DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
WITH
    s -> lower(if(position(s, '@') > 0, substringIndex(trimBoth(s), '@', -1), '')) AS domain_of,
    s -> replaceRegexpAll(replaceRegexpAll(s, '[^[:space:]@]+@[^[:space:]@]+', '[email]'), '[+]?([0-9][ ().-]?){6,}[0-9]', '[phone]') AS scrubbed
SELECT
    src.lead_id AS lead_id,
    src.disposition_id AS disposition_id,
    src.disposition_type AS disposition_type,
    src.disposition_type_raw AS disposition_type_raw,
    src.handed_off_at AS handed_off_at,
    src.handed_off_at_ist AS handed_off_at_ist,
    src.cc_agent_name AS cc_agent_name,
    scrubbed(src.reason) AS reason,
    src.project_id AS project_id,
    src.project_name AS project_name,
    src.source AS source,
    src.current_lead_status AS current_lead_status,
    src.current_agent_name AS current_agent_name,
    domain_of(src.current_agent_email) AS current_agent_email
FROM cc_to_sales_handoffs AS src
COMMENT 'cc_to_sales_handoffs for analysts: personal columns masked';

CREATE OR REPLACE VIEW masked_dead_letters_recent
DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT
    src.received_at AS received_at,
    src.received_at_ist AS received_at_ist,
    src.remote_addr AS remote_addr,
    src.reason AS reason,
    src.error AS error,
    src.body_size AS body_size,
    '' AS body_head
FROM dead_letters_recent AS src
COMMENT 'dead_letters_recent for analysts: personal columns masked';

CREATE OR REPLACE VIEW masked_unrecognized_values
DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT
    src.field AS field,
    src.value AS value,
    src.raw_example AS raw_example,
    src.callbacks AS callbacks,
    src.leads AS leads,
    src.first_seen_at AS first_seen_at,
    src.last_seen_at AS last_seen_at
FROM unrecognized_values AS src
COMMENT 'unrecognized_values for analysts: personal columns masked';
