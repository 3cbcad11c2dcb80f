-- 0005_state: the current state of leads and entities, kept by the engine as callbacks arrive.
--
-- Before this migration leads_current, the *_current views and lead_scenarios sorted and
-- de-duplicated every stored callback (or copy) on every query: their cost grew with the whole
-- history, not with the answer. Here a materialized view per callback table folds each INSERT
-- into a state table keyed like the view that reads it (lead; lead and entity id; day and
-- scenario), so the views read state proportional to the number of leads and entities.
--
-- Engine: AggregatingMergeTree with an argMax state of every column, not ReplacingMergeTree with a
-- version. Measured over a million generated callbacks (100,000 leads; BENCHMARKS.md, round 5):
-- counting leads by status took 45-55 ms from argMax states against 40-66 ms from a
-- ReplacingMergeTree read with FINAL (4 ms once merged to one part), but leads_current also
-- needs each lead's first delivery time and distinct callback count, which a replacing row cannot
-- carry: joined in from a second table, the ReplacingMergeTree view took 57-70 ms (hash join) or
-- 33-66 ms (merge join) for the same count, and 67-96 ms for one lead's row against 31-43 ms here.
-- Aggregate states also make every insert idempotent: inserting a row twice changes no argMax,
-- min, minMap or uniqExact, so the backfills below, a view racing them, a retried batch and a
-- rebuild that re-inserts are all harmless.
--
-- The version of a lead's state is (crm_updated_at, arrival): the newest time the document
-- carries, ties broken by arrival order (the write-ahead log position), never by the callback_id
-- hash. An entity's is (its own time, crm_updated_at, arrival), its own time being the CRM's
-- update time of that entity (events: event_updated_at; notes, calls, booking documents:
-- updated_at; dispositions: created_at, the only time they have; status transitions: moved_at),
-- null counted as the epoch. Nullable columns are kept as a one-element tuple: argMax skips NULL
-- values, and a column the CRM nulled must read NULL, not the last non-null value.
--
-- leads_state also keeps, per callback (cityHash64(callback_id)), its earliest received_at
-- (minMap): that gives leads_current its distinct callbacks, first_seen_at, and last_seen_at
-- as the first delivery of the current callback, exactly as before, without a join.
--
-- WHAT A MATERIALIZED VIEW DOES NOT SEE: rows that reach a callback table without an INSERT
-- (ALTER TABLE ... ATTACH/REPLACE/MOVE PARTITION, EXCHANGE TABLES, mutations, a dropped
-- partition) do not reach its state table. Load data by INSERT, or run `leadhouse rebuild -state`
-- afterwards: it recomputes every state table from the callback tables into new tables and swaps
-- them in. `leadhouse rebuild` (re-flattening every raw body) builds new state with its new tables.
--
-- Each state table is filled from the rows already stored right after its view is created
-- (idempotent, so a rerun of this file or a callback inserted in between counts once).
-- optimize_aggregation_in_order folds the callback tables in key order, in bounded memory.

-- leads_state: the state of each lead, kept by leads_state_mv as callbacks are inserted.
CREATE TABLE IF NOT EXISTS leads_state
(
    lead_id UInt64,
    callback_id AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), UInt64)),
    received_at AggregateFunction(argMax, DateTime64(3, 'UTC'), Tuple(DateTime64(3, 'UTC'), UInt64)),
    mapping_version AggregateFunction(argMax, UInt16, Tuple(DateTime64(3, 'UTC'), UInt64)),
    crm_updated_at AggregateFunction(argMax, DateTime64(3, 'UTC'), Tuple(DateTime64(3, 'UTC'), UInt64)),
    arrival AggregateFunction(argMax, UInt64, Tuple(DateTime64(3, 'UTC'), UInt64)),
    action AggregateFunction(argMax, LowCardinality(String), Tuple(DateTime64(3, 'UTC'), UInt64)),
    action_raw AggregateFunction(argMax, LowCardinality(String), Tuple(DateTime64(3, 'UTC'), UInt64)),
    action_known AggregateFunction(argMax, Bool, Tuple(DateTime64(3, 'UTC'), UInt64)),
    lead_status AggregateFunction(argMax, LowCardinality(String), Tuple(DateTime64(3, 'UTC'), UInt64)),
    lead_status_raw AggregateFunction(argMax, LowCardinality(String), Tuple(DateTime64(3, 'UTC'), UInt64)),
    last_status AggregateFunction(argMax, LowCardinality(String), Tuple(DateTime64(3, 'UTC'), UInt64)),
    last_status_raw AggregateFunction(argMax, LowCardinality(String), Tuple(DateTime64(3, 'UTC'), UInt64)),
    status_before_cc AggregateFunction(argMax, LowCardinality(String), Tuple(DateTime64(3, 'UTC'), UInt64)),
    status_before_cc_raw AggregateFunction(argMax, LowCardinality(String), Tuple(DateTime64(3, 'UTC'), UInt64)),
    name AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), UInt64)),
    phone AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), UInt64)),
    country_code AggregateFunction(argMax, LowCardinality(String), Tuple(DateTime64(3, 'UTC'), UInt64)),
    email AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), UInt64)),
    source AggregateFunction(argMax, LowCardinality(String), Tuple(DateTime64(3, 'UTC'), UInt64)),
    sub_source AggregateFunction(argMax, LowCardinality(String), Tuple(DateTime64(3, 'UTC'), UInt64)),
    channel_name AggregateFunction(argMax, LowCardinality(String), Tuple(DateTime64(3, 'UTC'), UInt64)),
    placement AggregateFunction(argMax, LowCardinality(String), Tuple(DateTime64(3, 'UTC'), UInt64)),
    project_id AggregateFunction(argMax, Tuple(Nullable(UInt64)), Tuple(DateTime64(3, 'UTC'), UInt64)),
    project_name AggregateFunction(argMax, LowCardinality(String), Tuple(DateTime64(3, 'UTC'), UInt64)),
    project_usp AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), UInt64)),
    project_description AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), UInt64)),
    developer AggregateFunction(argMax, LowCardinality(String), Tuple(DateTime64(3, 'UTC'), UInt64)),
    city AggregateFunction(argMax, LowCardinality(String), Tuple(DateTime64(3, 'UTC'), UInt64)),
    rating AggregateFunction(argMax, LowCardinality(String), Tuple(DateTime64(3, 'UTC'), UInt64)),
    min_budget AggregateFunction(argMax, Tuple(Nullable(Float64)), Tuple(DateTime64(3, 'UTC'), UInt64)),
    max_budget AggregateFunction(argMax, Tuple(Nullable(Float64)), Tuple(DateTime64(3, 'UTC'), UInt64)),
    agent_name AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), UInt64)),
    agent_email AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), UInt64)),
    created_at AggregateFunction(argMax, Tuple(Nullable(DateTime64(3, 'UTC'))), Tuple(DateTime64(3, 'UTC'), UInt64)),
    claimed_at AggregateFunction(argMax, Tuple(Nullable(DateTime64(3, 'UTC'))), Tuple(DateTime64(3, 'UTC'), UInt64)),
    lead_status_reasons AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), UInt64)),
    is_duplicate AggregateFunction(argMax, Tuple(Nullable(Bool)), Tuple(DateTime64(3, 'UTC'), UInt64)),
    cp_id AggregateFunction(argMax, Tuple(Nullable(UInt64)), Tuple(DateTime64(3, 'UTC'), UInt64)),
    cp_name AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), UInt64)),
    cp_email AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), UInt64)),
    cp_phone AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), UInt64)),
    cp_phone_with_country_code AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), UInt64)),
    cp_phone_country_id AggregateFunction(argMax, Tuple(Nullable(UInt32)), Tuple(DateTime64(3, 'UTC'), UInt64)),
    cp_country_id AggregateFunction(argMax, Tuple(Nullable(UInt32)), Tuple(DateTime64(3, 'UTC'), UInt64)),
    cp_firm_name AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), UInt64)),
    cp_rera_id AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), UInt64)),
    cp_locality_hash AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), UInt64)),
    cp_city_hash AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), UInt64)),
    cp_location_info AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), UInt64)),
    booking_area AggregateFunction(argMax, Tuple(Nullable(Float64)), Tuple(DateTime64(3, 'UTC'), UInt64)),
    booking_unit_no AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), UInt64)),
    booking_base_price AggregateFunction(argMax, Tuple(Nullable(Float64)), Tuple(DateTime64(3, 'UTC'), UInt64)),
    booking_floor_number AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), UInt64)),
    booking_parking_price AggregateFunction(argMax, Tuple(Nullable(Float64)), Tuple(DateTime64(3, 'UTC'), UInt64)),
    booking_apartment_type AggregateFunction(argMax, LowCardinality(String), Tuple(DateTime64(3, 'UTC'), UInt64)),
    booking_floor_rise_price AggregateFunction(argMax, Tuple(Nullable(Float64)), Tuple(DateTime64(3, 'UTC'), UInt64)),
    booking_apartment_type_id AggregateFunction(argMax, Tuple(Nullable(UInt32)), Tuple(DateTime64(3, 'UTC'), UInt64)),
    extra_details AggregateFunction(argMax, Map(String, String), Tuple(DateTime64(3, 'UTC'), UInt64)),
    latest_event_id AggregateFunction(argMax, Tuple(Nullable(UInt64)), Tuple(DateTime64(3, 'UTC'), UInt64)),
    latest_event_type AggregateFunction(argMax, LowCardinality(String), Tuple(DateTime64(3, 'UTC'), UInt64)),
    latest_event_type_raw AggregateFunction(argMax, LowCardinality(String), Tuple(DateTime64(3, 'UTC'), UInt64)),
    latest_event_start_time AggregateFunction(argMax, Tuple(Nullable(DateTime64(3, 'UTC'))), Tuple(DateTime64(3, 'UTC'), UInt64)),
    latest_event_end_time AggregateFunction(argMax, Tuple(Nullable(DateTime64(3, 'UTC'))), Tuple(DateTime64(3, 'UTC'), UInt64)),
    latest_disposition_type AggregateFunction(argMax, LowCardinality(String), Tuple(DateTime64(3, 'UTC'), UInt64)),
    latest_disposition_type_raw AggregateFunction(argMax, LowCardinality(String), Tuple(DateTime64(3, 'UTC'), UInt64)),
    latest_disposition_at AggregateFunction(argMax, Tuple(Nullable(DateTime64(3, 'UTC'))), Tuple(DateTime64(3, 'UTC'), UInt64)),
    latest_call_id AggregateFunction(argMax, Tuple(Nullable(UInt64)), Tuple(DateTime64(3, 'UTC'), UInt64)),
    latest_call_duration_sec AggregateFunction(argMax, Tuple(Nullable(Int64)), Tuple(DateTime64(3, 'UTC'), UInt64)),
    latest_call_status AggregateFunction(argMax, LowCardinality(String), Tuple(DateTime64(3, 'UTC'), UInt64)),
    latest_call_at AggregateFunction(argMax, Tuple(Nullable(DateTime64(3, 'UTC'))), Tuple(DateTime64(3, 'UTC'), UInt64)),
    notes_count AggregateFunction(argMax, UInt32, Tuple(DateTime64(3, 'UTC'), UInt64)),
    events_count AggregateFunction(argMax, UInt32, Tuple(DateTime64(3, 'UTC'), UInt64)),
    calls_count AggregateFunction(argMax, UInt32, Tuple(DateTime64(3, 'UTC'), UInt64)),
    dispositions_count AggregateFunction(argMax, UInt32, Tuple(DateTime64(3, 'UTC'), UInt64)),
    booking_docs_count AggregateFunction(argMax, UInt32, Tuple(DateTime64(3, 'UTC'), UInt64)),
    unknown_keys AggregateFunction(argMax, Array(String), Tuple(DateTime64(3, 'UTC'), UInt64)),
    deliveries AggregateFunction(minMap, Array(UInt64), Array(Int64)) COMMENT 'per cityHash64(callback_id), its first received_at in Unix milliseconds'
)
ENGINE = AggregatingMergeTree
ORDER BY lead_id
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'per lead, argMax states of every lead_updates column by (crm_updated_at, arrival), and each callback''s first delivery; read leads_current';

CREATE MATERIALIZED VIEW IF NOT EXISTS leads_state_mv TO leads_state AS
SELECT
    u.lead_id AS lead_id,
    argMaxState(u.callback_id, (u.crm_updated_at, u.arrival)) AS callback_id,
    argMaxState(u.received_at, (u.crm_updated_at, u.arrival)) AS received_at,
    argMaxState(u.mapping_version, (u.crm_updated_at, u.arrival)) AS mapping_version,
    argMaxState(u.crm_updated_at, (u.crm_updated_at, u.arrival)) AS crm_updated_at,
    argMaxState(u.arrival, (u.crm_updated_at, u.arrival)) AS arrival,
    argMaxState(u.action, (u.crm_updated_at, u.arrival)) AS action,
    argMaxState(u.action_raw, (u.crm_updated_at, u.arrival)) AS action_raw,
    argMaxState(u.action_known, (u.crm_updated_at, u.arrival)) AS action_known,
    argMaxState(u.lead_status, (u.crm_updated_at, u.arrival)) AS lead_status,
    argMaxState(u.lead_status_raw, (u.crm_updated_at, u.arrival)) AS lead_status_raw,
    argMaxState(u.last_status, (u.crm_updated_at, u.arrival)) AS last_status,
    argMaxState(u.last_status_raw, (u.crm_updated_at, u.arrival)) AS last_status_raw,
    argMaxState(u.status_before_cc, (u.crm_updated_at, u.arrival)) AS status_before_cc,
    argMaxState(u.status_before_cc_raw, (u.crm_updated_at, u.arrival)) AS status_before_cc_raw,
    argMaxState(u.name, (u.crm_updated_at, u.arrival)) AS name,
    argMaxState(u.phone, (u.crm_updated_at, u.arrival)) AS phone,
    argMaxState(u.country_code, (u.crm_updated_at, u.arrival)) AS country_code,
    argMaxState(u.email, (u.crm_updated_at, u.arrival)) AS email,
    argMaxState(u.source, (u.crm_updated_at, u.arrival)) AS source,
    argMaxState(u.sub_source, (u.crm_updated_at, u.arrival)) AS sub_source,
    argMaxState(u.channel_name, (u.crm_updated_at, u.arrival)) AS channel_name,
    argMaxState(u.placement, (u.crm_updated_at, u.arrival)) AS placement,
    argMaxState(tuple(u.project_id), (u.crm_updated_at, u.arrival)) AS project_id,
    argMaxState(u.project_name, (u.crm_updated_at, u.arrival)) AS project_name,
    argMaxState(u.project_usp, (u.crm_updated_at, u.arrival)) AS project_usp,
    argMaxState(u.project_description, (u.crm_updated_at, u.arrival)) AS project_description,
    argMaxState(u.developer, (u.crm_updated_at, u.arrival)) AS developer,
    argMaxState(u.city, (u.crm_updated_at, u.arrival)) AS city,
    argMaxState(u.rating, (u.crm_updated_at, u.arrival)) AS rating,
    argMaxState(tuple(u.min_budget), (u.crm_updated_at, u.arrival)) AS min_budget,
    argMaxState(tuple(u.max_budget), (u.crm_updated_at, u.arrival)) AS max_budget,
    argMaxState(u.agent_name, (u.crm_updated_at, u.arrival)) AS agent_name,
    argMaxState(u.agent_email, (u.crm_updated_at, u.arrival)) AS agent_email,
    argMaxState(tuple(u.created_at), (u.crm_updated_at, u.arrival)) AS created_at,
    argMaxState(tuple(u.claimed_at), (u.crm_updated_at, u.arrival)) AS claimed_at,
    argMaxState(u.lead_status_reasons, (u.crm_updated_at, u.arrival)) AS lead_status_reasons,
    argMaxState(tuple(u.is_duplicate), (u.crm_updated_at, u.arrival)) AS is_duplicate,
    argMaxState(tuple(u.cp_id), (u.crm_updated_at, u.arrival)) AS cp_id,
    argMaxState(u.cp_name, (u.crm_updated_at, u.arrival)) AS cp_name,
    argMaxState(u.cp_email, (u.crm_updated_at, u.arrival)) AS cp_email,
    argMaxState(u.cp_phone, (u.crm_updated_at, u.arrival)) AS cp_phone,
    argMaxState(u.cp_phone_with_country_code, (u.crm_updated_at, u.arrival)) AS cp_phone_with_country_code,
    argMaxState(tuple(u.cp_phone_country_id), (u.crm_updated_at, u.arrival)) AS cp_phone_country_id,
    argMaxState(tuple(u.cp_country_id), (u.crm_updated_at, u.arrival)) AS cp_country_id,
    argMaxState(u.cp_firm_name, (u.crm_updated_at, u.arrival)) AS cp_firm_name,
    argMaxState(u.cp_rera_id, (u.crm_updated_at, u.arrival)) AS cp_rera_id,
    argMaxState(u.cp_locality_hash, (u.crm_updated_at, u.arrival)) AS cp_locality_hash,
    argMaxState(u.cp_city_hash, (u.crm_updated_at, u.arrival)) AS cp_city_hash,
    argMaxState(u.cp_location_info, (u.crm_updated_at, u.arrival)) AS cp_location_info,
    argMaxState(tuple(u.booking_area), (u.crm_updated_at, u.arrival)) AS booking_area,
    argMaxState(u.booking_unit_no, (u.crm_updated_at, u.arrival)) AS booking_unit_no,
    argMaxState(tuple(u.booking_base_price), (u.crm_updated_at, u.arrival)) AS booking_base_price,
    argMaxState(u.booking_floor_number, (u.crm_updated_at, u.arrival)) AS booking_floor_number,
    argMaxState(tuple(u.booking_parking_price), (u.crm_updated_at, u.arrival)) AS booking_parking_price,
    argMaxState(u.booking_apartment_type, (u.crm_updated_at, u.arrival)) AS booking_apartment_type,
    argMaxState(tuple(u.booking_floor_rise_price), (u.crm_updated_at, u.arrival)) AS booking_floor_rise_price,
    argMaxState(tuple(u.booking_apartment_type_id), (u.crm_updated_at, u.arrival)) AS booking_apartment_type_id,
    argMaxState(u.extra_details, (u.crm_updated_at, u.arrival)) AS extra_details,
    argMaxState(tuple(u.latest_event_id), (u.crm_updated_at, u.arrival)) AS latest_event_id,
    argMaxState(u.latest_event_type, (u.crm_updated_at, u.arrival)) AS latest_event_type,
    argMaxState(u.latest_event_type_raw, (u.crm_updated_at, u.arrival)) AS latest_event_type_raw,
    argMaxState(tuple(u.latest_event_start_time), (u.crm_updated_at, u.arrival)) AS latest_event_start_time,
    argMaxState(tuple(u.latest_event_end_time), (u.crm_updated_at, u.arrival)) AS latest_event_end_time,
    argMaxState(u.latest_disposition_type, (u.crm_updated_at, u.arrival)) AS latest_disposition_type,
    argMaxState(u.latest_disposition_type_raw, (u.crm_updated_at, u.arrival)) AS latest_disposition_type_raw,
    argMaxState(tuple(u.latest_disposition_at), (u.crm_updated_at, u.arrival)) AS latest_disposition_at,
    argMaxState(tuple(u.latest_call_id), (u.crm_updated_at, u.arrival)) AS latest_call_id,
    argMaxState(tuple(u.latest_call_duration_sec), (u.crm_updated_at, u.arrival)) AS latest_call_duration_sec,
    argMaxState(u.latest_call_status, (u.crm_updated_at, u.arrival)) AS latest_call_status,
    argMaxState(tuple(u.latest_call_at), (u.crm_updated_at, u.arrival)) AS latest_call_at,
    argMaxState(u.notes_count, (u.crm_updated_at, u.arrival)) AS notes_count,
    argMaxState(u.events_count, (u.crm_updated_at, u.arrival)) AS events_count,
    argMaxState(u.calls_count, (u.crm_updated_at, u.arrival)) AS calls_count,
    argMaxState(u.dispositions_count, (u.crm_updated_at, u.arrival)) AS dispositions_count,
    argMaxState(u.booking_docs_count, (u.crm_updated_at, u.arrival)) AS booking_docs_count,
    argMaxState(u.unknown_keys, (u.crm_updated_at, u.arrival)) AS unknown_keys,
    minMapState([cityHash64(u.callback_id)], [toUnixTimestamp64Milli(u.received_at)]) AS deliveries
FROM lead_updates AS u
GROUP BY u.lead_id;

-- Rows stored before this migration: the states are idempotent (a row inserted twice changes no
-- argMax, min or minMap), so filling them again, or racing the view, is harmless.
INSERT INTO leads_state
SELECT
    u.lead_id AS lead_id,
    argMaxState(u.callback_id, (u.crm_updated_at, u.arrival)) AS callback_id,
    argMaxState(u.received_at, (u.crm_updated_at, u.arrival)) AS received_at,
    argMaxState(u.mapping_version, (u.crm_updated_at, u.arrival)) AS mapping_version,
    argMaxState(u.crm_updated_at, (u.crm_updated_at, u.arrival)) AS crm_updated_at,
    argMaxState(u.arrival, (u.crm_updated_at, u.arrival)) AS arrival,
    argMaxState(u.action, (u.crm_updated_at, u.arrival)) AS action,
    argMaxState(u.action_raw, (u.crm_updated_at, u.arrival)) AS action_raw,
    argMaxState(u.action_known, (u.crm_updated_at, u.arrival)) AS action_known,
    argMaxState(u.lead_status, (u.crm_updated_at, u.arrival)) AS lead_status,
    argMaxState(u.lead_status_raw, (u.crm_updated_at, u.arrival)) AS lead_status_raw,
    argMaxState(u.last_status, (u.crm_updated_at, u.arrival)) AS last_status,
    argMaxState(u.last_status_raw, (u.crm_updated_at, u.arrival)) AS last_status_raw,
    argMaxState(u.status_before_cc, (u.crm_updated_at, u.arrival)) AS status_before_cc,
    argMaxState(u.status_before_cc_raw, (u.crm_updated_at, u.arrival)) AS status_before_cc_raw,
    argMaxState(u.name, (u.crm_updated_at, u.arrival)) AS name,
    argMaxState(u.phone, (u.crm_updated_at, u.arrival)) AS phone,
    argMaxState(u.country_code, (u.crm_updated_at, u.arrival)) AS country_code,
    argMaxState(u.email, (u.crm_updated_at, u.arrival)) AS email,
    argMaxState(u.source, (u.crm_updated_at, u.arrival)) AS source,
    argMaxState(u.sub_source, (u.crm_updated_at, u.arrival)) AS sub_source,
    argMaxState(u.channel_name, (u.crm_updated_at, u.arrival)) AS channel_name,
    argMaxState(u.placement, (u.crm_updated_at, u.arrival)) AS placement,
    argMaxState(tuple(u.project_id), (u.crm_updated_at, u.arrival)) AS project_id,
    argMaxState(u.project_name, (u.crm_updated_at, u.arrival)) AS project_name,
    argMaxState(u.project_usp, (u.crm_updated_at, u.arrival)) AS project_usp,
    argMaxState(u.project_description, (u.crm_updated_at, u.arrival)) AS project_description,
    argMaxState(u.developer, (u.crm_updated_at, u.arrival)) AS developer,
    argMaxState(u.city, (u.crm_updated_at, u.arrival)) AS city,
    argMaxState(u.rating, (u.crm_updated_at, u.arrival)) AS rating,
    argMaxState(tuple(u.min_budget), (u.crm_updated_at, u.arrival)) AS min_budget,
    argMaxState(tuple(u.max_budget), (u.crm_updated_at, u.arrival)) AS max_budget,
    argMaxState(u.agent_name, (u.crm_updated_at, u.arrival)) AS agent_name,
    argMaxState(u.agent_email, (u.crm_updated_at, u.arrival)) AS agent_email,
    argMaxState(tuple(u.created_at), (u.crm_updated_at, u.arrival)) AS created_at,
    argMaxState(tuple(u.claimed_at), (u.crm_updated_at, u.arrival)) AS claimed_at,
    argMaxState(u.lead_status_reasons, (u.crm_updated_at, u.arrival)) AS lead_status_reasons,
    argMaxState(tuple(u.is_duplicate), (u.crm_updated_at, u.arrival)) AS is_duplicate,
    argMaxState(tuple(u.cp_id), (u.crm_updated_at, u.arrival)) AS cp_id,
    argMaxState(u.cp_name, (u.crm_updated_at, u.arrival)) AS cp_name,
    argMaxState(u.cp_email, (u.crm_updated_at, u.arrival)) AS cp_email,
    argMaxState(u.cp_phone, (u.crm_updated_at, u.arrival)) AS cp_phone,
    argMaxState(u.cp_phone_with_country_code, (u.crm_updated_at, u.arrival)) AS cp_phone_with_country_code,
    argMaxState(tuple(u.cp_phone_country_id), (u.crm_updated_at, u.arrival)) AS cp_phone_country_id,
    argMaxState(tuple(u.cp_country_id), (u.crm_updated_at, u.arrival)) AS cp_country_id,
    argMaxState(u.cp_firm_name, (u.crm_updated_at, u.arrival)) AS cp_firm_name,
    argMaxState(u.cp_rera_id, (u.crm_updated_at, u.arrival)) AS cp_rera_id,
    argMaxState(u.cp_locality_hash, (u.crm_updated_at, u.arrival)) AS cp_locality_hash,
    argMaxState(u.cp_city_hash, (u.crm_updated_at, u.arrival)) AS cp_city_hash,
    argMaxState(u.cp_location_info, (u.crm_updated_at, u.arrival)) AS cp_location_info,
    argMaxState(tuple(u.booking_area), (u.crm_updated_at, u.arrival)) AS booking_area,
    argMaxState(u.booking_unit_no, (u.crm_updated_at, u.arrival)) AS booking_unit_no,
    argMaxState(tuple(u.booking_base_price), (u.crm_updated_at, u.arrival)) AS booking_base_price,
    argMaxState(u.booking_floor_number, (u.crm_updated_at, u.arrival)) AS booking_floor_number,
    argMaxState(tuple(u.booking_parking_price), (u.crm_updated_at, u.arrival)) AS booking_parking_price,
    argMaxState(u.booking_apartment_type, (u.crm_updated_at, u.arrival)) AS booking_apartment_type,
    argMaxState(tuple(u.booking_floor_rise_price), (u.crm_updated_at, u.arrival)) AS booking_floor_rise_price,
    argMaxState(tuple(u.booking_apartment_type_id), (u.crm_updated_at, u.arrival)) AS booking_apartment_type_id,
    argMaxState(u.extra_details, (u.crm_updated_at, u.arrival)) AS extra_details,
    argMaxState(tuple(u.latest_event_id), (u.crm_updated_at, u.arrival)) AS latest_event_id,
    argMaxState(u.latest_event_type, (u.crm_updated_at, u.arrival)) AS latest_event_type,
    argMaxState(u.latest_event_type_raw, (u.crm_updated_at, u.arrival)) AS latest_event_type_raw,
    argMaxState(tuple(u.latest_event_start_time), (u.crm_updated_at, u.arrival)) AS latest_event_start_time,
    argMaxState(tuple(u.latest_event_end_time), (u.crm_updated_at, u.arrival)) AS latest_event_end_time,
    argMaxState(u.latest_disposition_type, (u.crm_updated_at, u.arrival)) AS latest_disposition_type,
    argMaxState(u.latest_disposition_type_raw, (u.crm_updated_at, u.arrival)) AS latest_disposition_type_raw,
    argMaxState(tuple(u.latest_disposition_at), (u.crm_updated_at, u.arrival)) AS latest_disposition_at,
    argMaxState(tuple(u.latest_call_id), (u.crm_updated_at, u.arrival)) AS latest_call_id,
    argMaxState(tuple(u.latest_call_duration_sec), (u.crm_updated_at, u.arrival)) AS latest_call_duration_sec,
    argMaxState(u.latest_call_status, (u.crm_updated_at, u.arrival)) AS latest_call_status,
    argMaxState(tuple(u.latest_call_at), (u.crm_updated_at, u.arrival)) AS latest_call_at,
    argMaxState(u.notes_count, (u.crm_updated_at, u.arrival)) AS notes_count,
    argMaxState(u.events_count, (u.crm_updated_at, u.arrival)) AS events_count,
    argMaxState(u.calls_count, (u.crm_updated_at, u.arrival)) AS calls_count,
    argMaxState(u.dispositions_count, (u.crm_updated_at, u.arrival)) AS dispositions_count,
    argMaxState(u.booking_docs_count, (u.crm_updated_at, u.arrival)) AS booking_docs_count,
    argMaxState(u.unknown_keys, (u.crm_updated_at, u.arrival)) AS unknown_keys,
    minMapState([cityHash64(u.callback_id)], [toUnixTimestamp64Milli(u.received_at)]) AS deliveries
FROM lead_updates AS u
GROUP BY u.lead_id
SETTINGS optimize_aggregation_in_order = 1;

-- events_state: per lead and event_id, the copy with the greatest (event_updated_at, crm_updated_at, arrival).
CREATE TABLE IF NOT EXISTS events_state
(
    lead_id UInt64,
    callback_id AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    received_at AggregateFunction(argMax, DateTime64(3, 'UTC'), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    mapping_version AggregateFunction(argMax, UInt16, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    crm_updated_at AggregateFunction(argMax, DateTime64(3, 'UTC'), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    arrival AggregateFunction(argMax, UInt64, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    event_id UInt64,
    position AggregateFunction(argMax, UInt16, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    event_type AggregateFunction(argMax, LowCardinality(String), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    event_type_raw AggregateFunction(argMax, LowCardinality(String), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    event_status AggregateFunction(argMax, LowCardinality(String), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    start_time AggregateFunction(argMax, Tuple(Nullable(DateTime64(3, 'UTC'))), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    end_time AggregateFunction(argMax, Tuple(Nullable(DateTime64(3, 'UTC'))), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    event_created_at AggregateFunction(argMax, Tuple(Nullable(DateTime64(3, 'UTC'))), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    event_updated_at AggregateFunction(argMax, Tuple(Nullable(DateTime64(3, 'UTC'))), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    notes_count AggregateFunction(argMax, UInt32, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    first_seen_at SimpleAggregateFunction(min, DateTime64(3, 'UTC')) COMMENT 'when the entity first arrived (received_at)'
)
ENGINE = AggregatingMergeTree
ORDER BY (lead_id, event_id)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'per lead and event_id, argMax states of every events column by (event_updated_at, crm_updated_at, arrival); read events_current';

CREATE MATERIALIZED VIEW IF NOT EXISTS events_state_mv TO events_state AS
SELECT
    u.lead_id AS lead_id,
    argMaxState(u.callback_id, (ifNull(u.event_updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS callback_id,
    argMaxState(u.received_at, (ifNull(u.event_updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS received_at,
    argMaxState(u.mapping_version, (ifNull(u.event_updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS mapping_version,
    argMaxState(u.crm_updated_at, (ifNull(u.event_updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS crm_updated_at,
    argMaxState(u.arrival, (ifNull(u.event_updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS arrival,
    u.event_id AS event_id,
    argMaxState(u.position, (ifNull(u.event_updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS position,
    argMaxState(u.event_type, (ifNull(u.event_updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS event_type,
    argMaxState(u.event_type_raw, (ifNull(u.event_updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS event_type_raw,
    argMaxState(u.event_status, (ifNull(u.event_updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS event_status,
    argMaxState(tuple(u.start_time), (ifNull(u.event_updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS start_time,
    argMaxState(tuple(u.end_time), (ifNull(u.event_updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS end_time,
    argMaxState(tuple(u.event_created_at), (ifNull(u.event_updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS event_created_at,
    argMaxState(tuple(u.event_updated_at), (ifNull(u.event_updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS event_updated_at,
    argMaxState(u.notes_count, (ifNull(u.event_updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS notes_count,
    min(u.received_at) AS first_seen_at
FROM events AS u
GROUP BY u.lead_id, u.event_id;

INSERT INTO events_state
SELECT
    u.lead_id AS lead_id,
    argMaxState(u.callback_id, (ifNull(u.event_updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS callback_id,
    argMaxState(u.received_at, (ifNull(u.event_updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS received_at,
    argMaxState(u.mapping_version, (ifNull(u.event_updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS mapping_version,
    argMaxState(u.crm_updated_at, (ifNull(u.event_updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS crm_updated_at,
    argMaxState(u.arrival, (ifNull(u.event_updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS arrival,
    u.event_id AS event_id,
    argMaxState(u.position, (ifNull(u.event_updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS position,
    argMaxState(u.event_type, (ifNull(u.event_updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS event_type,
    argMaxState(u.event_type_raw, (ifNull(u.event_updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS event_type_raw,
    argMaxState(u.event_status, (ifNull(u.event_updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS event_status,
    argMaxState(tuple(u.start_time), (ifNull(u.event_updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS start_time,
    argMaxState(tuple(u.end_time), (ifNull(u.event_updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS end_time,
    argMaxState(tuple(u.event_created_at), (ifNull(u.event_updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS event_created_at,
    argMaxState(tuple(u.event_updated_at), (ifNull(u.event_updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS event_updated_at,
    argMaxState(u.notes_count, (ifNull(u.event_updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS notes_count,
    min(u.received_at) AS first_seen_at
FROM events AS u
GROUP BY u.lead_id, u.event_id
SETTINGS optimize_aggregation_in_order = 1;

-- notes_state: per lead and note_id, the copy with the greatest (updated_at, crm_updated_at, arrival).
CREATE TABLE IF NOT EXISTS notes_state
(
    lead_id UInt64,
    callback_id AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    received_at AggregateFunction(argMax, DateTime64(3, 'UTC'), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    mapping_version AggregateFunction(argMax, UInt16, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    crm_updated_at AggregateFunction(argMax, DateTime64(3, 'UTC'), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    arrival AggregateFunction(argMax, UInt64, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    note_id UInt64,
    event_id AggregateFunction(argMax, Tuple(Nullable(UInt64)), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    position AggregateFunction(argMax, UInt16, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    note_type AggregateFunction(argMax, LowCardinality(String), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    data AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    created_at AggregateFunction(argMax, Tuple(Nullable(DateTime64(3, 'UTC'))), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    updated_at AggregateFunction(argMax, Tuple(Nullable(DateTime64(3, 'UTC'))), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    agent_id AggregateFunction(argMax, Tuple(Nullable(UInt64)), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    agent_name AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    agent_phone AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    agent_phone_country_id AggregateFunction(argMax, Tuple(Nullable(UInt32)), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    first_seen_at SimpleAggregateFunction(min, DateTime64(3, 'UTC')) COMMENT 'when the entity first arrived (received_at)'
)
ENGINE = AggregatingMergeTree
ORDER BY (lead_id, note_id)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'per lead and note_id, argMax states of every notes column by (updated_at, crm_updated_at, arrival); read notes_current';

CREATE MATERIALIZED VIEW IF NOT EXISTS notes_state_mv TO notes_state AS
SELECT
    u.lead_id AS lead_id,
    argMaxState(u.callback_id, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS callback_id,
    argMaxState(u.received_at, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS received_at,
    argMaxState(u.mapping_version, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS mapping_version,
    argMaxState(u.crm_updated_at, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS crm_updated_at,
    argMaxState(u.arrival, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS arrival,
    u.note_id AS note_id,
    argMaxState(tuple(u.event_id), (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS event_id,
    argMaxState(u.position, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS position,
    argMaxState(u.note_type, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS note_type,
    argMaxState(u.data, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS data,
    argMaxState(tuple(u.created_at), (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS created_at,
    argMaxState(tuple(u.updated_at), (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS updated_at,
    argMaxState(tuple(u.agent_id), (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS agent_id,
    argMaxState(u.agent_name, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS agent_name,
    argMaxState(u.agent_phone, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS agent_phone,
    argMaxState(tuple(u.agent_phone_country_id), (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS agent_phone_country_id,
    min(u.received_at) AS first_seen_at
FROM notes AS u
GROUP BY u.lead_id, u.note_id;

INSERT INTO notes_state
SELECT
    u.lead_id AS lead_id,
    argMaxState(u.callback_id, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS callback_id,
    argMaxState(u.received_at, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS received_at,
    argMaxState(u.mapping_version, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS mapping_version,
    argMaxState(u.crm_updated_at, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS crm_updated_at,
    argMaxState(u.arrival, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS arrival,
    u.note_id AS note_id,
    argMaxState(tuple(u.event_id), (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS event_id,
    argMaxState(u.position, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS position,
    argMaxState(u.note_type, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS note_type,
    argMaxState(u.data, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS data,
    argMaxState(tuple(u.created_at), (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS created_at,
    argMaxState(tuple(u.updated_at), (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS updated_at,
    argMaxState(tuple(u.agent_id), (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS agent_id,
    argMaxState(u.agent_name, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS agent_name,
    argMaxState(u.agent_phone, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS agent_phone,
    argMaxState(tuple(u.agent_phone_country_id), (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS agent_phone_country_id,
    min(u.received_at) AS first_seen_at
FROM notes AS u
GROUP BY u.lead_id, u.note_id
SETTINGS optimize_aggregation_in_order = 1;

-- calls_state: per lead and call_id, the copy with the greatest (updated_at, crm_updated_at, arrival).
CREATE TABLE IF NOT EXISTS calls_state
(
    lead_id UInt64,
    callback_id AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    received_at AggregateFunction(argMax, DateTime64(3, 'UTC'), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    mapping_version AggregateFunction(argMax, UInt16, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    crm_updated_at AggregateFunction(argMax, DateTime64(3, 'UTC'), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    arrival AggregateFunction(argMax, UInt64, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    call_id UInt64,
    position AggregateFunction(argMax, UInt16, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    call_action AggregateFunction(argMax, LowCardinality(String), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    call_number AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    from_number AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    to_number AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    duration_sec AggregateFunction(argMax, Tuple(Nullable(Int64)), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    first_leg_status AggregateFunction(argMax, LowCardinality(String), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    second_leg_status AggregateFunction(argMax, LowCardinality(String), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    stage AggregateFunction(argMax, LowCardinality(String), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    sid AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    recording_url AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    start_time AggregateFunction(argMax, Tuple(Nullable(DateTime64(3, 'UTC'))), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    end_time AggregateFunction(argMax, Tuple(Nullable(DateTime64(3, 'UTC'))), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    inserted_at AggregateFunction(argMax, Tuple(Nullable(DateTime64(3, 'UTC'))), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    updated_at AggregateFunction(argMax, Tuple(Nullable(DateTime64(3, 'UTC'))), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    agent_id AggregateFunction(argMax, Tuple(Nullable(UInt64)), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    agent_name AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    agent_phone AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    agent_phone_country_id AggregateFunction(argMax, Tuple(Nullable(UInt32)), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    first_seen_at SimpleAggregateFunction(min, DateTime64(3, 'UTC')) COMMENT 'when the entity first arrived (received_at)'
)
ENGINE = AggregatingMergeTree
ORDER BY (lead_id, call_id)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'per lead and call_id, argMax states of every calls column by (updated_at, crm_updated_at, arrival); read calls_current';

CREATE MATERIALIZED VIEW IF NOT EXISTS calls_state_mv TO calls_state AS
SELECT
    u.lead_id AS lead_id,
    argMaxState(u.callback_id, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS callback_id,
    argMaxState(u.received_at, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS received_at,
    argMaxState(u.mapping_version, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS mapping_version,
    argMaxState(u.crm_updated_at, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS crm_updated_at,
    argMaxState(u.arrival, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS arrival,
    u.call_id AS call_id,
    argMaxState(u.position, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS position,
    argMaxState(u.call_action, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS call_action,
    argMaxState(u.call_number, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS call_number,
    argMaxState(u.from_number, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS from_number,
    argMaxState(u.to_number, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS to_number,
    argMaxState(tuple(u.duration_sec), (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS duration_sec,
    argMaxState(u.first_leg_status, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS first_leg_status,
    argMaxState(u.second_leg_status, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS second_leg_status,
    argMaxState(u.stage, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS stage,
    argMaxState(u.sid, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS sid,
    argMaxState(u.recording_url, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS recording_url,
    argMaxState(tuple(u.start_time), (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS start_time,
    argMaxState(tuple(u.end_time), (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS end_time,
    argMaxState(tuple(u.inserted_at), (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS inserted_at,
    argMaxState(tuple(u.updated_at), (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS updated_at,
    argMaxState(tuple(u.agent_id), (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS agent_id,
    argMaxState(u.agent_name, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS agent_name,
    argMaxState(u.agent_phone, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS agent_phone,
    argMaxState(tuple(u.agent_phone_country_id), (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS agent_phone_country_id,
    min(u.received_at) AS first_seen_at
FROM calls AS u
GROUP BY u.lead_id, u.call_id;

INSERT INTO calls_state
SELECT
    u.lead_id AS lead_id,
    argMaxState(u.callback_id, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS callback_id,
    argMaxState(u.received_at, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS received_at,
    argMaxState(u.mapping_version, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS mapping_version,
    argMaxState(u.crm_updated_at, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS crm_updated_at,
    argMaxState(u.arrival, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS arrival,
    u.call_id AS call_id,
    argMaxState(u.position, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS position,
    argMaxState(u.call_action, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS call_action,
    argMaxState(u.call_number, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS call_number,
    argMaxState(u.from_number, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS from_number,
    argMaxState(u.to_number, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS to_number,
    argMaxState(tuple(u.duration_sec), (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS duration_sec,
    argMaxState(u.first_leg_status, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS first_leg_status,
    argMaxState(u.second_leg_status, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS second_leg_status,
    argMaxState(u.stage, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS stage,
    argMaxState(u.sid, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS sid,
    argMaxState(u.recording_url, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS recording_url,
    argMaxState(tuple(u.start_time), (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS start_time,
    argMaxState(tuple(u.end_time), (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS end_time,
    argMaxState(tuple(u.inserted_at), (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS inserted_at,
    argMaxState(tuple(u.updated_at), (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS updated_at,
    argMaxState(tuple(u.agent_id), (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS agent_id,
    argMaxState(u.agent_name, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS agent_name,
    argMaxState(u.agent_phone, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS agent_phone,
    argMaxState(tuple(u.agent_phone_country_id), (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS agent_phone_country_id,
    min(u.received_at) AS first_seen_at
FROM calls AS u
GROUP BY u.lead_id, u.call_id
SETTINGS optimize_aggregation_in_order = 1;

-- dispositions_state: per lead and disposition_id, the copy with the greatest (created_at, crm_updated_at, arrival).
CREATE TABLE IF NOT EXISTS dispositions_state
(
    lead_id UInt64,
    callback_id AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    received_at AggregateFunction(argMax, DateTime64(3, 'UTC'), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    mapping_version AggregateFunction(argMax, UInt16, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    crm_updated_at AggregateFunction(argMax, DateTime64(3, 'UTC'), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    arrival AggregateFunction(argMax, UInt64, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    disposition_id UInt64,
    position AggregateFunction(argMax, UInt16, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    disposition_type AggregateFunction(argMax, LowCardinality(String), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    disposition_type_raw AggregateFunction(argMax, LowCardinality(String), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    agent_name AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    reason AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    created_at AggregateFunction(argMax, Tuple(Nullable(DateTime64(3, 'UTC'))), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    first_seen_at SimpleAggregateFunction(min, DateTime64(3, 'UTC')) COMMENT 'when the entity first arrived (received_at)',
    first_crm_updated_at SimpleAggregateFunction(min, DateTime64(3, 'UTC')) COMMENT 'crm_updated_at of the first callback that carried it'
)
ENGINE = AggregatingMergeTree
ORDER BY (lead_id, disposition_id)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'per lead and disposition_id, argMax states of every dispositions column by (created_at, crm_updated_at, arrival); read dispositions_current';

CREATE MATERIALIZED VIEW IF NOT EXISTS dispositions_state_mv TO dispositions_state AS
SELECT
    u.lead_id AS lead_id,
    argMaxState(u.callback_id, (ifNull(u.created_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS callback_id,
    argMaxState(u.received_at, (ifNull(u.created_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS received_at,
    argMaxState(u.mapping_version, (ifNull(u.created_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS mapping_version,
    argMaxState(u.crm_updated_at, (ifNull(u.created_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS crm_updated_at,
    argMaxState(u.arrival, (ifNull(u.created_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS arrival,
    u.disposition_id AS disposition_id,
    argMaxState(u.position, (ifNull(u.created_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS position,
    argMaxState(u.disposition_type, (ifNull(u.created_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS disposition_type,
    argMaxState(u.disposition_type_raw, (ifNull(u.created_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS disposition_type_raw,
    argMaxState(u.agent_name, (ifNull(u.created_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS agent_name,
    argMaxState(u.reason, (ifNull(u.created_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS reason,
    argMaxState(tuple(u.created_at), (ifNull(u.created_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS created_at,
    min(u.received_at) AS first_seen_at,
    min(u.crm_updated_at) AS first_crm_updated_at
FROM dispositions AS u
GROUP BY u.lead_id, u.disposition_id;

INSERT INTO dispositions_state
SELECT
    u.lead_id AS lead_id,
    argMaxState(u.callback_id, (ifNull(u.created_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS callback_id,
    argMaxState(u.received_at, (ifNull(u.created_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS received_at,
    argMaxState(u.mapping_version, (ifNull(u.created_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS mapping_version,
    argMaxState(u.crm_updated_at, (ifNull(u.created_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS crm_updated_at,
    argMaxState(u.arrival, (ifNull(u.created_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS arrival,
    u.disposition_id AS disposition_id,
    argMaxState(u.position, (ifNull(u.created_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS position,
    argMaxState(u.disposition_type, (ifNull(u.created_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS disposition_type,
    argMaxState(u.disposition_type_raw, (ifNull(u.created_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS disposition_type_raw,
    argMaxState(u.agent_name, (ifNull(u.created_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS agent_name,
    argMaxState(u.reason, (ifNull(u.created_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS reason,
    argMaxState(tuple(u.created_at), (ifNull(u.created_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS created_at,
    min(u.received_at) AS first_seen_at,
    min(u.crm_updated_at) AS first_crm_updated_at
FROM dispositions AS u
GROUP BY u.lead_id, u.disposition_id
SETTINGS optimize_aggregation_in_order = 1;

-- booking_docs_state: per lead and doc_id, the copy with the greatest (updated_at, crm_updated_at, arrival).
CREATE TABLE IF NOT EXISTS booking_docs_state
(
    lead_id UInt64,
    callback_id AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    received_at AggregateFunction(argMax, DateTime64(3, 'UTC'), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    mapping_version AggregateFunction(argMax, UInt16, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    crm_updated_at AggregateFunction(argMax, DateTime64(3, 'UTC'), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    arrival AggregateFunction(argMax, UInt64, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    doc_id UInt64,
    position AggregateFunction(argMax, UInt16, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    doc_lead_id AggregateFunction(argMax, Tuple(Nullable(UInt64)), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    booking_doc_type AggregateFunction(argMax, LowCardinality(String), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    data AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    tag AggregateFunction(argMax, LowCardinality(String), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    status_id AggregateFunction(argMax, Tuple(Nullable(UInt32)), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    created_at AggregateFunction(argMax, Tuple(Nullable(DateTime64(3, 'UTC'))), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    updated_at AggregateFunction(argMax, Tuple(Nullable(DateTime64(3, 'UTC'))), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    first_seen_at SimpleAggregateFunction(min, DateTime64(3, 'UTC')) COMMENT 'when the entity first arrived (received_at)'
)
ENGINE = AggregatingMergeTree
ORDER BY (lead_id, doc_id)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'per lead and doc_id, argMax states of every booking_docs column by (updated_at, crm_updated_at, arrival); read booking_docs_current';

CREATE MATERIALIZED VIEW IF NOT EXISTS booking_docs_state_mv TO booking_docs_state AS
SELECT
    u.lead_id AS lead_id,
    argMaxState(u.callback_id, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS callback_id,
    argMaxState(u.received_at, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS received_at,
    argMaxState(u.mapping_version, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS mapping_version,
    argMaxState(u.crm_updated_at, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS crm_updated_at,
    argMaxState(u.arrival, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS arrival,
    u.doc_id AS doc_id,
    argMaxState(u.position, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS position,
    argMaxState(tuple(u.doc_lead_id), (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS doc_lead_id,
    argMaxState(u.booking_doc_type, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS booking_doc_type,
    argMaxState(u.data, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS data,
    argMaxState(u.tag, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS tag,
    argMaxState(tuple(u.status_id), (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS status_id,
    argMaxState(tuple(u.created_at), (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS created_at,
    argMaxState(tuple(u.updated_at), (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS updated_at,
    min(u.received_at) AS first_seen_at
FROM booking_docs AS u
GROUP BY u.lead_id, u.doc_id;

INSERT INTO booking_docs_state
SELECT
    u.lead_id AS lead_id,
    argMaxState(u.callback_id, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS callback_id,
    argMaxState(u.received_at, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS received_at,
    argMaxState(u.mapping_version, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS mapping_version,
    argMaxState(u.crm_updated_at, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS crm_updated_at,
    argMaxState(u.arrival, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS arrival,
    u.doc_id AS doc_id,
    argMaxState(u.position, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS position,
    argMaxState(tuple(u.doc_lead_id), (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS doc_lead_id,
    argMaxState(u.booking_doc_type, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS booking_doc_type,
    argMaxState(u.data, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS data,
    argMaxState(u.tag, (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS tag,
    argMaxState(tuple(u.status_id), (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS status_id,
    argMaxState(tuple(u.created_at), (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS created_at,
    argMaxState(tuple(u.updated_at), (ifNull(u.updated_at, toDateTime64(0, 3, 'UTC')), u.crm_updated_at, u.arrival)) AS updated_at,
    min(u.received_at) AS first_seen_at
FROM booking_docs AS u
GROUP BY u.lead_id, u.doc_id
SETTINGS optimize_aggregation_in_order = 1;

-- status_transitions_state: per lead and status, the copy with the greatest (moved_at, crm_updated_at, arrival).
CREATE TABLE IF NOT EXISTS status_transitions_state
(
    lead_id UInt64,
    callback_id AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    received_at AggregateFunction(argMax, DateTime64(3, 'UTC'), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    mapping_version AggregateFunction(argMax, UInt16, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    crm_updated_at AggregateFunction(argMax, DateTime64(3, 'UTC'), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    arrival AggregateFunction(argMax, UInt64, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    status LowCardinality(String),
    status_key AggregateFunction(argMax, LowCardinality(String), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    position AggregateFunction(argMax, UInt16, Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    moved_at AggregateFunction(argMax, DateTime64(3, 'UTC'), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    status_before_cc AggregateFunction(argMax, LowCardinality(String), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    status_before_cc_raw AggregateFunction(argMax, LowCardinality(String), Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)),
    first_seen_at SimpleAggregateFunction(min, DateTime64(3, 'UTC')) COMMENT 'when the entity first arrived (received_at)'
)
ENGINE = AggregatingMergeTree
ORDER BY (lead_id, status)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'per lead and status, argMax states of every status_transitions column by (moved_at, crm_updated_at, arrival); read status_transitions_current';

CREATE MATERIALIZED VIEW IF NOT EXISTS status_transitions_state_mv TO status_transitions_state AS
SELECT
    u.lead_id AS lead_id,
    argMaxState(u.callback_id, (u.moved_at, u.crm_updated_at, u.arrival)) AS callback_id,
    argMaxState(u.received_at, (u.moved_at, u.crm_updated_at, u.arrival)) AS received_at,
    argMaxState(u.mapping_version, (u.moved_at, u.crm_updated_at, u.arrival)) AS mapping_version,
    argMaxState(u.crm_updated_at, (u.moved_at, u.crm_updated_at, u.arrival)) AS crm_updated_at,
    argMaxState(u.arrival, (u.moved_at, u.crm_updated_at, u.arrival)) AS arrival,
    u.status AS status,
    argMaxState(u.status_key, (u.moved_at, u.crm_updated_at, u.arrival)) AS status_key,
    argMaxState(u.position, (u.moved_at, u.crm_updated_at, u.arrival)) AS position,
    argMaxState(u.moved_at, (u.moved_at, u.crm_updated_at, u.arrival)) AS moved_at,
    argMaxState(u.status_before_cc, (u.moved_at, u.crm_updated_at, u.arrival)) AS status_before_cc,
    argMaxState(u.status_before_cc_raw, (u.moved_at, u.crm_updated_at, u.arrival)) AS status_before_cc_raw,
    min(u.received_at) AS first_seen_at
FROM status_transitions AS u
GROUP BY u.lead_id, u.status;

INSERT INTO status_transitions_state
SELECT
    u.lead_id AS lead_id,
    argMaxState(u.callback_id, (u.moved_at, u.crm_updated_at, u.arrival)) AS callback_id,
    argMaxState(u.received_at, (u.moved_at, u.crm_updated_at, u.arrival)) AS received_at,
    argMaxState(u.mapping_version, (u.moved_at, u.crm_updated_at, u.arrival)) AS mapping_version,
    argMaxState(u.crm_updated_at, (u.moved_at, u.crm_updated_at, u.arrival)) AS crm_updated_at,
    argMaxState(u.arrival, (u.moved_at, u.crm_updated_at, u.arrival)) AS arrival,
    u.status AS status,
    argMaxState(u.status_key, (u.moved_at, u.crm_updated_at, u.arrival)) AS status_key,
    argMaxState(u.position, (u.moved_at, u.crm_updated_at, u.arrival)) AS position,
    argMaxState(u.moved_at, (u.moved_at, u.crm_updated_at, u.arrival)) AS moved_at,
    argMaxState(u.status_before_cc, (u.moved_at, u.crm_updated_at, u.arrival)) AS status_before_cc,
    argMaxState(u.status_before_cc_raw, (u.moved_at, u.crm_updated_at, u.arrival)) AS status_before_cc_raw,
    min(u.received_at) AS first_seen_at
FROM status_transitions AS u
GROUP BY u.lead_id, u.status
SETTINGS optimize_aggregation_in_order = 1;

-- scenario_counts_state: distinct callbacks and leads per IST day of crm_updated_at, scenario, project and source.
CREATE TABLE IF NOT EXISTS scenario_counts_state
(
    day_ist Date COMMENT 'IST day of the callback''s crm_updated_at',
    scenario LowCardinality(String),
    project_name LowCardinality(String),
    source LowCardinality(String),
    callbacks AggregateFunction(uniqExact, String) COMMENT 'distinct callback_id',
    leads AggregateFunction(uniqExact, UInt64) COMMENT 'distinct lead_id'
)
ENGINE = AggregatingMergeTree
ORDER BY (day_ist, scenario, project_name, source)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'scenario matches by IST day, project and source; read scenario_counts';

CREATE MATERIALIZED VIEW IF NOT EXISTS scenario_counts_state_mv TO scenario_counts_state AS
SELECT
    toDate(u.crm_updated_at, 'Asia/Kolkata') AS day_ist,
    scenario,
    u.project_name AS project_name,
    u.source AS source,
    uniqExactState(u.callback_id) AS callbacks,
    uniqExactState(u.lead_id) AS leads
FROM lead_updates AS u
ARRAY JOIN arrayFilter(s -> s != '', [
            if(u.action = 'disposition_created'
               AND u.lead_status = 'in_call_center'
               AND u.latest_disposition_type = 'follow_up'
               AND u.latest_call_duration_sec > 60,
               'cc_long_call_followup', ''),
            if(u.action = 'disposition_created'
               AND u.latest_disposition_type IN ('fresh', 'patch_out'),
               'cc_transferred_to_sales', ''),
            if(u.action IN ('status_update', 'status_and_agent_update')
               AND u.lead_status IN ('failed', 'junk')
               AND u.last_status = 'in_call_center'
               AND u.latest_disposition_type IN ('failed', 'junk'),
               'cc_failed', ''),
            if(u.action = 'event_update'
               AND u.lead_status = 'visit_done'
               AND u.latest_event_type = 'sv',
               'sales_site_visit_done', ''),
            if(u.action = 'status_update'
               AND u.lead_status = 'booking_done',
               'sales_booking_done', ''),
            if(u.action = 'status_update'
               AND u.lead_status IN ('failed', 'junk')
               AND u.last_status != 'in_call_center',
               'sales_failed', '')
        ]) AS scenario
WHERE u.action IN ('disposition_created', 'event_update', 'status_and_agent_update', 'status_update')
GROUP BY day_ist, scenario, project_name, source;

INSERT INTO scenario_counts_state
SELECT
    toDate(u.crm_updated_at, 'Asia/Kolkata') AS day_ist,
    scenario,
    u.project_name AS project_name,
    u.source AS source,
    uniqExactState(u.callback_id) AS callbacks,
    uniqExactState(u.lead_id) AS leads
FROM lead_updates AS u
ARRAY JOIN arrayFilter(s -> s != '', [
            if(u.action = 'disposition_created'
               AND u.lead_status = 'in_call_center'
               AND u.latest_disposition_type = 'follow_up'
               AND u.latest_call_duration_sec > 60,
               'cc_long_call_followup', ''),
            if(u.action = 'disposition_created'
               AND u.latest_disposition_type IN ('fresh', 'patch_out'),
               'cc_transferred_to_sales', ''),
            if(u.action IN ('status_update', 'status_and_agent_update')
               AND u.lead_status IN ('failed', 'junk')
               AND u.last_status = 'in_call_center'
               AND u.latest_disposition_type IN ('failed', 'junk'),
               'cc_failed', ''),
            if(u.action = 'event_update'
               AND u.lead_status = 'visit_done'
               AND u.latest_event_type = 'sv',
               'sales_site_visit_done', ''),
            if(u.action = 'status_update'
               AND u.lead_status = 'booking_done',
               'sales_booking_done', ''),
            if(u.action = 'status_update'
               AND u.lead_status IN ('failed', 'junk')
               AND u.last_status != 'in_call_center',
               'sales_failed', '')
        ]) AS scenario
WHERE u.action IN ('disposition_created', 'event_update', 'status_and_agent_update', 'status_update')
GROUP BY day_ist, scenario, project_name, source;
