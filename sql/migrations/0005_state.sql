-- 0005_state: the current state of leads and entities, kept by the engine as callbacks arrive.
--
-- Before this migration leads_current and the *_current views sorted and de-duplicated every
-- stored callback (or copy) on every query: their cost grew with the whole history, not with the
-- answer. Here materialized views fold each INSERT into a callback table into state tables keyed
-- like the views that read them (0006), so the views read state proportional to the number of
-- leads and entities:
--   * <table>_state, ReplacingMergeTree(version): per lead (lead_id) or per lead and entity, the
--     copy with the greatest version, every column of its callback table (lead_updates without
--     the raw body). The views read it with FINAL, which applies the version whatever the
--     background merges have done.
--   * lead_deliveries and <entity>_seen, AggregatingMergeTree: what a replacing row cannot
--     carry: a lead's distinct callbacks with the first time each was received (minMap; gives
--     leads_current its callbacks, first_seen_at and last_seen_at, the first delivery of the
--     current callback), and when each entity first arrived (min).
--   * scenario_counts_state, AggregatingMergeTree: distinct callbacks and leads per scenario,
--     IST day of crm_updated_at, project and source (uniqExact states).
--
-- Versions. A lead's is (crm_updated_at, arrival), packed in a UInt128: the newest time the
-- document carries, ties broken by arrival order (the write-ahead log position), never by the
-- callback_id hash. An entity's is (its own time, crm_updated_at, arrival) in a UInt256, its own
-- time being the CRM's update time of that entity: events event_updated_at; notes, calls and
-- booking documents updated_at; dispositions created_at (the only time they have); status
-- transitions moved_at; null counts as the epoch. The same delivery inserted twice has the same
-- version and the same row.
--
-- Why ReplacingMergeTree rather than argMax states (measured, BENCHMARKS.md round 5): an
-- AggregatingMergeTree with an argMax state of every column, one table per view with the
-- statistics beside, answered as fast (count of leads by status over 100,000 leads: 45-55 ms
-- against 40-66 ms, 4 ms once merged; one lead's row 31-43 ms against 67-96 ms) but made
-- ingestion five times slower: replaying 20,000 generated callbacks took 96 s instead of 18 s
-- (208 against 1,127 callbacks/s on the shared machine), the engine folding and merging 75
-- argMax states per row. Replacing rows cost a copy of the row.
--
-- WHAT A MATERIALIZED VIEW DOES NOT SEE: rows that reach a callback table without an INSERT
-- (ALTER TABLE ... ATTACH/REPLACE/MOVE PARTITION, EXCHANGE TABLES, mutations, dropped
-- partitions) never reach its state tables. Load data by INSERT, or run `leadhouse rebuild
-- -state` afterwards: it recomputes every state table from the callback tables into new tables
-- and swaps them in. `leadhouse rebuild` (re-flattening every raw body) builds the state of its
-- new tables the same way.
--
-- index_granularity = 1024 on the replacing tables: a lead's row is read from one granule of each
-- of ~80 columns, and a granule of 1,024 rows decompresses an eighth of the default's: one lead's
-- lookup took 30-45 ms against 42-88 ms warm (100,000 leads, a busy machine), while counting leads
-- by status over one merged part stayed at 3-4 ms.
--
-- Each state table is filled from the rows already stored right after its view is created. The
-- fill is idempotent (a replacing row inserted twice is one row; min, minMap and uniqExact states
-- do not change when a row is added twice), so a rerun of this file, or a callback inserted
-- between a view's creation and its fill, is harmless.

CREATE TABLE IF NOT EXISTS leads_state
(
    lead_id UInt64,
    callback_id String,
    received_at DateTime64(3, 'UTC'),
    mapping_version UInt16,
    crm_updated_at DateTime64(3, 'UTC'),
    arrival UInt64,
    action LowCardinality(String),
    action_raw LowCardinality(String),
    action_known Bool,
    lead_status LowCardinality(String),
    lead_status_raw LowCardinality(String),
    last_status LowCardinality(String),
    last_status_raw LowCardinality(String),
    status_before_cc LowCardinality(String),
    status_before_cc_raw LowCardinality(String),
    name String,
    phone String,
    country_code LowCardinality(String),
    email String,
    source LowCardinality(String),
    sub_source LowCardinality(String),
    channel_name LowCardinality(String),
    placement LowCardinality(String),
    project_id Nullable(UInt64),
    project_name LowCardinality(String),
    project_usp String,
    project_description String,
    developer LowCardinality(String),
    city LowCardinality(String),
    rating LowCardinality(String),
    min_budget Nullable(Float64),
    max_budget Nullable(Float64),
    agent_name String,
    agent_email String,
    created_at Nullable(DateTime64(3, 'UTC')),
    claimed_at Nullable(DateTime64(3, 'UTC')),
    lead_status_reasons String,
    is_duplicate Nullable(Bool),
    cp_id Nullable(UInt64),
    cp_name String,
    cp_email String,
    cp_phone String,
    cp_phone_with_country_code String,
    cp_phone_country_id Nullable(UInt32),
    cp_country_id Nullable(UInt32),
    cp_firm_name String,
    cp_rera_id String,
    cp_locality_hash String,
    cp_city_hash String,
    cp_location_info String,
    booking_area Nullable(Float64),
    booking_unit_no String,
    booking_base_price Nullable(Float64),
    booking_floor_number String,
    booking_parking_price Nullable(Float64),
    booking_apartment_type LowCardinality(String),
    booking_floor_rise_price Nullable(Float64),
    booking_apartment_type_id Nullable(UInt32),
    extra_details Map(String, String),
    latest_event_id Nullable(UInt64),
    latest_event_type LowCardinality(String),
    latest_event_type_raw LowCardinality(String),
    latest_event_start_time Nullable(DateTime64(3, 'UTC')),
    latest_event_end_time Nullable(DateTime64(3, 'UTC')),
    latest_disposition_type LowCardinality(String),
    latest_disposition_type_raw LowCardinality(String),
    latest_disposition_at Nullable(DateTime64(3, 'UTC')),
    latest_call_id Nullable(UInt64),
    latest_call_duration_sec Nullable(Int64),
    latest_call_status LowCardinality(String),
    latest_call_at Nullable(DateTime64(3, 'UTC')),
    notes_count UInt32,
    events_count UInt32,
    calls_count UInt32,
    dispositions_count UInt32,
    booking_docs_count UInt32,
    unknown_keys Array(String),
    version UInt128 COMMENT 'crm_updated_at in Unix milliseconds in the high 64 bits, arrival in the low 64: the greatest is the lead''s current state'
)
ENGINE = ReplacingMergeTree(version)
ORDER BY lead_id
SETTINGS non_replicated_deduplication_window = 10000, index_granularity = 1024
COMMENT 'per lead, the callback with the greatest (crm_updated_at, arrival), every lead_updates column but raw; read leads_current';

CREATE MATERIALIZED VIEW IF NOT EXISTS leads_state_mv TO leads_state AS
SELECT
    lead_id,
    callback_id,
    received_at,
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
    unknown_keys,
    bitShiftLeft(toUInt128(toUInt64(greatest(toUnixTimestamp64Milli(crm_updated_at), 0))), 64) + arrival AS version
FROM lead_updates;

INSERT INTO leads_state
SELECT
    lead_id,
    callback_id,
    received_at,
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
    unknown_keys,
    bitShiftLeft(toUInt128(toUInt64(greatest(toUnixTimestamp64Milli(crm_updated_at), 0))), 64) + arrival AS version
FROM lead_updates;

CREATE TABLE IF NOT EXISTS lead_deliveries
(
    lead_id UInt64,
    deliveries AggregateFunction(minMap, Array(UInt64), Array(Int64)) COMMENT 'per cityHash64(callback_id), its first received_at in Unix milliseconds'
)
ENGINE = AggregatingMergeTree
ORDER BY lead_id
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'per lead, each distinct callback and when it was first received; read leads_current';

CREATE MATERIALIZED VIEW IF NOT EXISTS lead_deliveries_mv TO lead_deliveries AS
SELECT
    lead_id,
    minMapState([cityHash64(callback_id)], [toUnixTimestamp64Milli(received_at)]) AS deliveries
FROM lead_updates
GROUP BY lead_id;

INSERT INTO lead_deliveries
SELECT
    lead_id,
    minMapState([cityHash64(callback_id)], [toUnixTimestamp64Milli(received_at)]) AS deliveries
FROM lead_updates
GROUP BY lead_id
SETTINGS optimize_aggregation_in_order = 1;

CREATE TABLE IF NOT EXISTS events_state
(
    lead_id UInt64,
    callback_id String,
    received_at DateTime64(3, 'UTC'),
    mapping_version UInt16,
    crm_updated_at DateTime64(3, 'UTC'),
    arrival UInt64,
    event_id UInt64,
    position UInt16,
    event_type LowCardinality(String),
    event_type_raw LowCardinality(String),
    event_status LowCardinality(String),
    start_time Nullable(DateTime64(3, 'UTC')),
    end_time Nullable(DateTime64(3, 'UTC')),
    event_created_at Nullable(DateTime64(3, 'UTC')),
    event_updated_at Nullable(DateTime64(3, 'UTC')),
    notes_count UInt32,
    version UInt256 COMMENT 'event_updated_at, crm_updated_at (Unix milliseconds) and arrival, from the high bits down: the greatest is the current copy'
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (lead_id, event_id)
SETTINGS non_replicated_deduplication_window = 10000, index_granularity = 1024
COMMENT 'per lead and event_id, the copy with the greatest (event_updated_at, crm_updated_at, arrival); read events_current';

CREATE MATERIALIZED VIEW IF NOT EXISTS events_state_mv TO events_state AS
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
    bitShiftLeft(toUInt256(toUInt64(greatest(toUnixTimestamp64Milli(ifNull(event_updated_at, toDateTime64(0, 3, 'UTC'))), 0))), 128) + bitShiftLeft(toUInt256(toUInt64(greatest(toUnixTimestamp64Milli(crm_updated_at), 0))), 64) + arrival AS version
FROM events;

INSERT INTO events_state
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
    bitShiftLeft(toUInt256(toUInt64(greatest(toUnixTimestamp64Milli(ifNull(event_updated_at, toDateTime64(0, 3, 'UTC'))), 0))), 128) + bitShiftLeft(toUInt256(toUInt64(greatest(toUnixTimestamp64Milli(crm_updated_at), 0))), 64) + arrival AS version
FROM events;

CREATE TABLE IF NOT EXISTS events_seen
(
    lead_id UInt64,
    event_id UInt64,
    first_seen_at SimpleAggregateFunction(min, DateTime64(3, 'UTC')) COMMENT 'when the entity first arrived (received_at)'
)
ENGINE = AggregatingMergeTree
ORDER BY (lead_id, event_id)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'per lead and event_id, when it first arrived; read events_current';

CREATE MATERIALIZED VIEW IF NOT EXISTS events_seen_mv TO events_seen AS
SELECT
    lead_id,
    event_id,
    min(received_at) AS first_seen_at
FROM events
GROUP BY lead_id, event_id;

INSERT INTO events_seen
SELECT
    lead_id,
    event_id,
    min(received_at) AS first_seen_at
FROM events
GROUP BY lead_id, event_id
SETTINGS optimize_aggregation_in_order = 1;

CREATE TABLE IF NOT EXISTS notes_state
(
    lead_id UInt64,
    callback_id String,
    received_at DateTime64(3, 'UTC'),
    mapping_version UInt16,
    crm_updated_at DateTime64(3, 'UTC'),
    arrival UInt64,
    note_id UInt64,
    event_id Nullable(UInt64),
    position UInt16,
    note_type LowCardinality(String),
    data String,
    created_at Nullable(DateTime64(3, 'UTC')),
    updated_at Nullable(DateTime64(3, 'UTC')),
    agent_id Nullable(UInt64),
    agent_name String,
    agent_phone String,
    agent_phone_country_id Nullable(UInt32),
    version UInt256 COMMENT 'updated_at, crm_updated_at (Unix milliseconds) and arrival, from the high bits down: the greatest is the current copy'
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (lead_id, note_id)
SETTINGS non_replicated_deduplication_window = 10000, index_granularity = 1024
COMMENT 'per lead and note_id, the copy with the greatest (updated_at, crm_updated_at, arrival); read notes_current';

CREATE MATERIALIZED VIEW IF NOT EXISTS notes_state_mv TO notes_state AS
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
    bitShiftLeft(toUInt256(toUInt64(greatest(toUnixTimestamp64Milli(ifNull(updated_at, toDateTime64(0, 3, 'UTC'))), 0))), 128) + bitShiftLeft(toUInt256(toUInt64(greatest(toUnixTimestamp64Milli(crm_updated_at), 0))), 64) + arrival AS version
FROM notes;

INSERT INTO notes_state
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
    bitShiftLeft(toUInt256(toUInt64(greatest(toUnixTimestamp64Milli(ifNull(updated_at, toDateTime64(0, 3, 'UTC'))), 0))), 128) + bitShiftLeft(toUInt256(toUInt64(greatest(toUnixTimestamp64Milli(crm_updated_at), 0))), 64) + arrival AS version
FROM notes;

CREATE TABLE IF NOT EXISTS notes_seen
(
    lead_id UInt64,
    note_id UInt64,
    first_seen_at SimpleAggregateFunction(min, DateTime64(3, 'UTC')) COMMENT 'when the entity first arrived (received_at)'
)
ENGINE = AggregatingMergeTree
ORDER BY (lead_id, note_id)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'per lead and note_id, when it first arrived; read notes_current';

CREATE MATERIALIZED VIEW IF NOT EXISTS notes_seen_mv TO notes_seen AS
SELECT
    lead_id,
    note_id,
    min(received_at) AS first_seen_at
FROM notes
GROUP BY lead_id, note_id;

INSERT INTO notes_seen
SELECT
    lead_id,
    note_id,
    min(received_at) AS first_seen_at
FROM notes
GROUP BY lead_id, note_id
SETTINGS optimize_aggregation_in_order = 1;

CREATE TABLE IF NOT EXISTS calls_state
(
    lead_id UInt64,
    callback_id String,
    received_at DateTime64(3, 'UTC'),
    mapping_version UInt16,
    crm_updated_at DateTime64(3, 'UTC'),
    arrival UInt64,
    call_id UInt64,
    position UInt16,
    call_action LowCardinality(String),
    call_number String,
    from_number String,
    to_number String,
    duration_sec Nullable(Int64),
    first_leg_status LowCardinality(String),
    second_leg_status LowCardinality(String),
    stage LowCardinality(String),
    sid String,
    recording_url String,
    start_time Nullable(DateTime64(3, 'UTC')),
    end_time Nullable(DateTime64(3, 'UTC')),
    inserted_at Nullable(DateTime64(3, 'UTC')),
    updated_at Nullable(DateTime64(3, 'UTC')),
    agent_id Nullable(UInt64),
    agent_name String,
    agent_phone String,
    agent_phone_country_id Nullable(UInt32),
    version UInt256 COMMENT 'updated_at, crm_updated_at (Unix milliseconds) and arrival, from the high bits down: the greatest is the current copy'
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (lead_id, call_id)
SETTINGS non_replicated_deduplication_window = 10000, index_granularity = 1024
COMMENT 'per lead and call_id, the copy with the greatest (updated_at, crm_updated_at, arrival); read calls_current';

CREATE MATERIALIZED VIEW IF NOT EXISTS calls_state_mv TO calls_state AS
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
    bitShiftLeft(toUInt256(toUInt64(greatest(toUnixTimestamp64Milli(ifNull(updated_at, toDateTime64(0, 3, 'UTC'))), 0))), 128) + bitShiftLeft(toUInt256(toUInt64(greatest(toUnixTimestamp64Milli(crm_updated_at), 0))), 64) + arrival AS version
FROM calls;

INSERT INTO calls_state
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
    bitShiftLeft(toUInt256(toUInt64(greatest(toUnixTimestamp64Milli(ifNull(updated_at, toDateTime64(0, 3, 'UTC'))), 0))), 128) + bitShiftLeft(toUInt256(toUInt64(greatest(toUnixTimestamp64Milli(crm_updated_at), 0))), 64) + arrival AS version
FROM calls;

CREATE TABLE IF NOT EXISTS calls_seen
(
    lead_id UInt64,
    call_id UInt64,
    first_seen_at SimpleAggregateFunction(min, DateTime64(3, 'UTC')) COMMENT 'when the entity first arrived (received_at)'
)
ENGINE = AggregatingMergeTree
ORDER BY (lead_id, call_id)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'per lead and call_id, when it first arrived; read calls_current';

CREATE MATERIALIZED VIEW IF NOT EXISTS calls_seen_mv TO calls_seen AS
SELECT
    lead_id,
    call_id,
    min(received_at) AS first_seen_at
FROM calls
GROUP BY lead_id, call_id;

INSERT INTO calls_seen
SELECT
    lead_id,
    call_id,
    min(received_at) AS first_seen_at
FROM calls
GROUP BY lead_id, call_id
SETTINGS optimize_aggregation_in_order = 1;

CREATE TABLE IF NOT EXISTS dispositions_state
(
    lead_id UInt64,
    callback_id String,
    received_at DateTime64(3, 'UTC'),
    mapping_version UInt16,
    crm_updated_at DateTime64(3, 'UTC'),
    arrival UInt64,
    disposition_id UInt64,
    position UInt16,
    disposition_type LowCardinality(String),
    disposition_type_raw LowCardinality(String),
    agent_name String,
    reason String,
    created_at Nullable(DateTime64(3, 'UTC')),
    version UInt256 COMMENT 'created_at, crm_updated_at (Unix milliseconds) and arrival, from the high bits down: the greatest is the current copy'
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (lead_id, disposition_id)
SETTINGS non_replicated_deduplication_window = 10000, index_granularity = 1024
COMMENT 'per lead and disposition_id, the copy with the greatest (created_at, crm_updated_at, arrival); read dispositions_current';

CREATE MATERIALIZED VIEW IF NOT EXISTS dispositions_state_mv TO dispositions_state AS
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
    bitShiftLeft(toUInt256(toUInt64(greatest(toUnixTimestamp64Milli(ifNull(created_at, toDateTime64(0, 3, 'UTC'))), 0))), 128) + bitShiftLeft(toUInt256(toUInt64(greatest(toUnixTimestamp64Milli(crm_updated_at), 0))), 64) + arrival AS version
FROM dispositions;

INSERT INTO dispositions_state
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
    bitShiftLeft(toUInt256(toUInt64(greatest(toUnixTimestamp64Milli(ifNull(created_at, toDateTime64(0, 3, 'UTC'))), 0))), 128) + bitShiftLeft(toUInt256(toUInt64(greatest(toUnixTimestamp64Milli(crm_updated_at), 0))), 64) + arrival AS version
FROM dispositions;

CREATE TABLE IF NOT EXISTS dispositions_seen
(
    lead_id UInt64,
    disposition_id UInt64,
    first_seen_at SimpleAggregateFunction(min, DateTime64(3, 'UTC')) COMMENT 'when the entity first arrived (received_at)',
    first_crm_updated_at SimpleAggregateFunction(min, DateTime64(3, 'UTC')) COMMENT 'crm_updated_at of the first callback that carried it'
)
ENGINE = AggregatingMergeTree
ORDER BY (lead_id, disposition_id)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'per lead and disposition_id, when it first arrived; read dispositions_current';

CREATE MATERIALIZED VIEW IF NOT EXISTS dispositions_seen_mv TO dispositions_seen AS
SELECT
    lead_id,
    disposition_id,
    min(received_at) AS first_seen_at,
    min(crm_updated_at) AS first_crm_updated_at
FROM dispositions
GROUP BY lead_id, disposition_id;

INSERT INTO dispositions_seen
SELECT
    lead_id,
    disposition_id,
    min(received_at) AS first_seen_at,
    min(crm_updated_at) AS first_crm_updated_at
FROM dispositions
GROUP BY lead_id, disposition_id
SETTINGS optimize_aggregation_in_order = 1;

CREATE TABLE IF NOT EXISTS booking_docs_state
(
    lead_id UInt64,
    callback_id String,
    received_at DateTime64(3, 'UTC'),
    mapping_version UInt16,
    crm_updated_at DateTime64(3, 'UTC'),
    arrival UInt64,
    doc_id UInt64,
    position UInt16,
    doc_lead_id Nullable(UInt64),
    booking_doc_type LowCardinality(String),
    data String,
    tag LowCardinality(String),
    status_id Nullable(UInt32),
    created_at Nullable(DateTime64(3, 'UTC')),
    updated_at Nullable(DateTime64(3, 'UTC')),
    version UInt256 COMMENT 'updated_at, crm_updated_at (Unix milliseconds) and arrival, from the high bits down: the greatest is the current copy'
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (lead_id, doc_id)
SETTINGS non_replicated_deduplication_window = 10000, index_granularity = 1024
COMMENT 'per lead and doc_id, the copy with the greatest (updated_at, crm_updated_at, arrival); read booking_docs_current';

CREATE MATERIALIZED VIEW IF NOT EXISTS booking_docs_state_mv TO booking_docs_state AS
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
    bitShiftLeft(toUInt256(toUInt64(greatest(toUnixTimestamp64Milli(ifNull(updated_at, toDateTime64(0, 3, 'UTC'))), 0))), 128) + bitShiftLeft(toUInt256(toUInt64(greatest(toUnixTimestamp64Milli(crm_updated_at), 0))), 64) + arrival AS version
FROM booking_docs;

INSERT INTO booking_docs_state
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
    bitShiftLeft(toUInt256(toUInt64(greatest(toUnixTimestamp64Milli(ifNull(updated_at, toDateTime64(0, 3, 'UTC'))), 0))), 128) + bitShiftLeft(toUInt256(toUInt64(greatest(toUnixTimestamp64Milli(crm_updated_at), 0))), 64) + arrival AS version
FROM booking_docs;

CREATE TABLE IF NOT EXISTS booking_docs_seen
(
    lead_id UInt64,
    doc_id UInt64,
    first_seen_at SimpleAggregateFunction(min, DateTime64(3, 'UTC')) COMMENT 'when the entity first arrived (received_at)'
)
ENGINE = AggregatingMergeTree
ORDER BY (lead_id, doc_id)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'per lead and doc_id, when it first arrived; read booking_docs_current';

CREATE MATERIALIZED VIEW IF NOT EXISTS booking_docs_seen_mv TO booking_docs_seen AS
SELECT
    lead_id,
    doc_id,
    min(received_at) AS first_seen_at
FROM booking_docs
GROUP BY lead_id, doc_id;

INSERT INTO booking_docs_seen
SELECT
    lead_id,
    doc_id,
    min(received_at) AS first_seen_at
FROM booking_docs
GROUP BY lead_id, doc_id
SETTINGS optimize_aggregation_in_order = 1;

CREATE TABLE IF NOT EXISTS status_transitions_state
(
    lead_id UInt64,
    callback_id String,
    received_at DateTime64(3, 'UTC'),
    mapping_version UInt16,
    crm_updated_at DateTime64(3, 'UTC'),
    arrival UInt64,
    status LowCardinality(String),
    status_key LowCardinality(String),
    position UInt16,
    moved_at DateTime64(3, 'UTC'),
    status_before_cc LowCardinality(String),
    status_before_cc_raw LowCardinality(String),
    version UInt256 COMMENT 'moved_at, crm_updated_at (Unix milliseconds) and arrival, from the high bits down: the greatest is the current copy'
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (lead_id, status)
SETTINGS non_replicated_deduplication_window = 10000, index_granularity = 1024
COMMENT 'per lead and status, the copy with the greatest (moved_at, crm_updated_at, arrival); read status_transitions_current';

CREATE MATERIALIZED VIEW IF NOT EXISTS status_transitions_state_mv TO status_transitions_state AS
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
    bitShiftLeft(toUInt256(toUInt64(greatest(toUnixTimestamp64Milli(moved_at), 0))), 128) + bitShiftLeft(toUInt256(toUInt64(greatest(toUnixTimestamp64Milli(crm_updated_at), 0))), 64) + arrival AS version
FROM status_transitions;

INSERT INTO status_transitions_state
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
    bitShiftLeft(toUInt256(toUInt64(greatest(toUnixTimestamp64Milli(moved_at), 0))), 128) + bitShiftLeft(toUInt256(toUInt64(greatest(toUnixTimestamp64Milli(crm_updated_at), 0))), 64) + arrival AS version
FROM status_transitions;

CREATE TABLE IF NOT EXISTS status_transitions_seen
(
    lead_id UInt64,
    status LowCardinality(String),
    first_seen_at SimpleAggregateFunction(min, DateTime64(3, 'UTC')) COMMENT 'when the entity first arrived (received_at)'
)
ENGINE = AggregatingMergeTree
ORDER BY (lead_id, status)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'per lead and status, when it first arrived; read status_transitions_current';

CREATE MATERIALIZED VIEW IF NOT EXISTS status_transitions_seen_mv TO status_transitions_seen AS
SELECT
    lead_id,
    status,
    min(received_at) AS first_seen_at
FROM status_transitions
GROUP BY lead_id, status;

INSERT INTO status_transitions_seen
SELECT
    lead_id,
    status,
    min(received_at) AS first_seen_at
FROM status_transitions
GROUP BY lead_id, status
SETTINGS optimize_aggregation_in_order = 1;

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
COMMENT 'scenario matches by IST day of crm_updated_at, project and source; read scenario_counts';

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
