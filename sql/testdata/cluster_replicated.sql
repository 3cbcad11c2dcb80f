-- 0001_tables.sql
CREATE TABLE IF NOT EXISTS schema_migrations
(
    version UInt32 COMMENT 'NNNN prefix of the migration file',
    name String COMMENT 'migration file name, e.g. 0001_tables.sql',
    checksum String COMMENT 'hex SHA-256 of the file as applied; a changed file is refused',
    applied_at DateTime64(3, 'UTC') COMMENT 'when the runner finished the file'
)
ENGINE = MergeTree
ORDER BY version


SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'migration files applied to this database, one row per file';

-- 0001_tables.sql
CREATE TABLE IF NOT EXISTS lead_updates_local ON CLUSTER `lh`
(
    lead_id UInt64 COMMENT 'the CRM lead id',
    callback_id String COMMENT 'hash of the callback body: identical re-deliveries share it',
    received_at DateTime64(3, 'UTC') COMMENT 'when leadhouse received the callback (UTC)' CODEC(Delta(8), ZSTD(1)),
    mapping_version UInt16 COMMENT 'version of the flattening rules that produced the row',
    action LowCardinality(String) COMMENT 'canonical action: call_created, lead_update, status_update, agent_update, status_and_agent_update, disposition_created, event_update, inquiry_created, note_creation (call_logged and lead_updated are mapped)',
    action_raw LowCardinality(String) COMMENT 'action as sent',
    action_known Bool COMMENT 'false when action is none of the documented ones',
    lead_status LowCardinality(String) COMMENT 'canonical status: new, fresh, claimed, interested, meeting_done, visit_done, final_negotiation, booking_done, failed, junk, in_call_center, in_transfer, linked',
    lead_status_raw LowCardinality(String) COMMENT 'lead_status as sent',
    last_status LowCardinality(String) COMMENT 'canonical status before this one; empty when the CRM sent null or nothing',
    last_status_raw LowCardinality(String) COMMENT 'last_status as sent',
    status_before_cc LowCardinality(String) COMMENT 'canonical status_changes.status_before_cc: the status before the lead went to the call center',
    status_before_cc_raw LowCardinality(String) COMMENT 'status_before_cc as sent',
    name String COMMENT 'lead name',
    phone String,
    country_code LowCardinality(String),
    email String,
    source LowCardinality(String) COMMENT 'marketing source, e.g. facebook',
    sub_source LowCardinality(String),
    channel_name LowCardinality(String),
    placement LowCardinality(String),
    project_id Nullable(UInt64),
    project_name LowCardinality(String),
    project_usp String,
    project_description String,
    developer LowCardinality(String),
    city LowCardinality(String),
    rating LowCardinality(String) COMMENT 'Hot, Cold or Warm as sent',
    min_budget Nullable(Float64) COMMENT 'number or numeric string in the body',
    max_budget Nullable(Float64),
    agent_name String COMMENT 'agent currently owning the lead',
    agent_email String,
    created_at Nullable(DateTime64(3, 'UTC')) COMMENT 'when the lead was created in the CRM',
    claimed_at Nullable(DateTime64(3, 'UTC')) COMMENT 'when an agent claimed the lead',
    lead_status_reasons String COMMENT 'JSON text as sent',
    is_duplicate Nullable(Bool),
    cp_id Nullable(UInt64) COMMENT 'channel partner (cp_data) id',
    cp_name String,
    cp_email String,
    cp_phone String,
    cp_phone_with_country_code String,
    cp_phone_country_id Nullable(UInt32),
    cp_country_id Nullable(UInt32),
    cp_firm_name String,
    cp_rera_id String,
    cp_locality_hash String COMMENT 'JSON text as sent',
    cp_city_hash String COMMENT 'JSON text as sent',
    cp_location_info String COMMENT 'JSON text as sent',
    booking_area Nullable(Float64),
    booking_unit_no String,
    booking_base_price Nullable(Float64),
    booking_floor_number String,
    booking_parking_price Nullable(Float64),
    booking_apartment_type LowCardinality(String),
    booking_floor_rise_price Nullable(Float64),
    booking_apartment_type_id Nullable(UInt32),
    extra_details Map(String, String) COMMENT 'every key of extra_details; non-string values as JSON text',
    latest_event_id Nullable(UInt64) COMMENT 'latest_event_details.event_id',
    latest_event_type LowCardinality(String) COMMENT 'canonical latest_event_details.event_type: followup, sv (site visit), f2f (face to face)',
    latest_event_type_raw LowCardinality(String),
    latest_event_start_time Nullable(DateTime64(3, 'UTC')),
    latest_event_end_time Nullable(DateTime64(3, 'UTC')),
    latest_disposition_type LowCardinality(String) COMMENT 'canonical dispositions[0].disposition_type: follow_up, failed, fresh, junk, patch_out, not_contacted, call_back',
    latest_disposition_type_raw LowCardinality(String),
    latest_disposition_at Nullable(DateTime64(3, 'UTC')),
    latest_call_id Nullable(UInt64) COMMENT 'calls[0].id',
    latest_call_duration_sec Nullable(Int64) COMMENT 'calls[0].duration_in_sec; null when the lead has no call',
    latest_call_status LowCardinality(String),
    latest_call_at Nullable(DateTime64(3, 'UTC')),
    notes_count UInt32,
    events_count UInt32,
    calls_count UInt32,
    dispositions_count UInt32,
    booking_docs_count UInt32,
    unknown_keys Array(String) COMMENT 'top-level keys the mapping does not know: new CRM fields',
    raw String COMMENT 'the callback body as received' CODEC(ZSTD(3))
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/lead_updates_local', '{replica}')
PARTITION BY toYYYYMM(received_at)
ORDER BY (lead_id, callback_id)
SETTINGS replicated_deduplication_window = 10000, min_bytes_for_wide_part = 268435456
COMMENT 'one row per callback received; read lead_updates_dedup or leads_current, which drop re-deliveries';

-- 0001_tables.sql
CREATE TABLE IF NOT EXISTS lead_updates ON CLUSTER `lh` AS lead_updates_local ENGINE = Distributed('lh', currentDatabase(), 'lead_updates_local', lead_id);

-- 0001_tables.sql
CREATE TABLE IF NOT EXISTS events_local ON CLUSTER `lh`
(
    lead_id UInt64,
    callback_id String COMMENT 'callback that carried this copy',
    received_at DateTime64(3, 'UTC') COMMENT 'when this copy arrived; the greatest is the current state' CODEC(Delta(8), ZSTD(1)),
    mapping_version UInt16,
    event_id UInt64,
    position UInt16 COMMENT '0-based index in event_details (0 = latest)',
    event_type LowCardinality(String) COMMENT 'canonical: followup, sv, f2f',
    event_type_raw LowCardinality(String),
    event_status LowCardinality(String) COMMENT 'e.g. cancelled, completed',
    start_time Nullable(DateTime64(3, 'UTC')),
    end_time Nullable(DateTime64(3, 'UTC')),
    event_created_at Nullable(DateTime64(3, 'UTC')),
    event_updated_at Nullable(DateTime64(3, 'UTC')),
    notes_count UInt32
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/events_local', '{replica}', received_at)
ORDER BY (lead_id, event_id)
SETTINGS replicated_deduplication_window = 10000
COMMENT 'copies of each lead event, one per callback; read events_current';

-- 0001_tables.sql
CREATE TABLE IF NOT EXISTS events ON CLUSTER `lh` AS events_local ENGINE = Distributed('lh', currentDatabase(), 'events_local', lead_id);

-- 0001_tables.sql
CREATE TABLE IF NOT EXISTS notes_local ON CLUSTER `lh`
(
    lead_id UInt64,
    callback_id String,
    received_at DateTime64(3, 'UTC') CODEC(Delta(8), ZSTD(1)),
    mapping_version UInt16,
    note_id UInt64,
    event_id Nullable(UInt64) COMMENT 'the event the note belongs to; null for a lead note',
    position UInt16,
    note_type LowCardinality(String),
    data String COMMENT 'the note text' CODEC(ZSTD(3)),
    created_at Nullable(DateTime64(3, 'UTC')),
    updated_at Nullable(DateTime64(3, 'UTC')),
    agent_id Nullable(UInt64),
    agent_name String,
    agent_phone String,
    agent_phone_country_id Nullable(UInt32)
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/notes_local', '{replica}', received_at)
ORDER BY (lead_id, note_id)
SETTINGS replicated_deduplication_window = 10000
COMMENT 'copies of each note, one per callback; read notes_current';

-- 0001_tables.sql
CREATE TABLE IF NOT EXISTS notes ON CLUSTER `lh` AS notes_local ENGINE = Distributed('lh', currentDatabase(), 'notes_local', lead_id);

-- 0001_tables.sql
CREATE TABLE IF NOT EXISTS calls_local ON CLUSTER `lh`
(
    lead_id UInt64,
    callback_id String,
    received_at DateTime64(3, 'UTC') CODEC(Delta(8), ZSTD(1)),
    mapping_version UInt16,
    call_id UInt64,
    position UInt16 COMMENT '0-based index in calls (0 = latest)',
    call_action LowCardinality(String) COMMENT 'incoming or outgoing as sent',
    call_number String,
    from_number String,
    to_number String,
    duration_sec Nullable(Int64) COMMENT 'duration_in_sec',
    first_leg_status LowCardinality(String),
    second_leg_status LowCardinality(String),
    stage LowCardinality(String) COMMENT 'e.g. connected (newer CRM versions only)',
    sid String,
    recording_url String,
    start_time Nullable(DateTime64(3, 'UTC')),
    end_time Nullable(DateTime64(3, 'UTC')),
    inserted_at Nullable(DateTime64(3, 'UTC')),
    updated_at Nullable(DateTime64(3, 'UTC')),
    agent_id Nullable(UInt64),
    agent_name String,
    agent_phone String,
    agent_phone_country_id Nullable(UInt32)
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/calls_local', '{replica}', received_at)
ORDER BY (lead_id, call_id)
SETTINGS replicated_deduplication_window = 10000
COMMENT 'copies of each call, one per callback; read calls_current';

-- 0001_tables.sql
CREATE TABLE IF NOT EXISTS calls ON CLUSTER `lh` AS calls_local ENGINE = Distributed('lh', currentDatabase(), 'calls_local', lead_id);

-- 0001_tables.sql
CREATE TABLE IF NOT EXISTS dispositions_local ON CLUSTER `lh`
(
    lead_id UInt64,
    callback_id String,
    received_at DateTime64(3, 'UTC') CODEC(Delta(8), ZSTD(1)),
    mapping_version UInt16,
    disposition_id UInt64,
    position UInt16 COMMENT '0-based index in dispositions (0 = latest)',
    disposition_type LowCardinality(String) COMMENT 'canonical: follow_up, failed, fresh, junk, patch_out, not_contacted, call_back',
    disposition_type_raw LowCardinality(String),
    agent_name String COMMENT 'call-center agent who recorded the disposition',
    reason String,
    created_at Nullable(DateTime64(3, 'UTC'))
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/dispositions_local', '{replica}', received_at)
ORDER BY (lead_id, disposition_id)
SETTINGS replicated_deduplication_window = 10000
COMMENT 'copies of each call-center disposition, one per callback; read dispositions_current';

-- 0001_tables.sql
CREATE TABLE IF NOT EXISTS dispositions ON CLUSTER `lh` AS dispositions_local ENGINE = Distributed('lh', currentDatabase(), 'dispositions_local', lead_id);

-- 0001_tables.sql
CREATE TABLE IF NOT EXISTS status_transitions_local ON CLUSTER `lh`
(
    lead_id UInt64,
    callback_id String,
    received_at DateTime64(3, 'UTC') CODEC(Delta(8), ZSTD(1)),
    mapping_version UInt16,
    status LowCardinality(String) COMMENT 'canonical status the key names',
    status_key LowCardinality(String) COMMENT 'the key as sent, e.g. moved_to_final_negotiation',
    position UInt16 COMMENT '0-based index of the key in status_changes',
    moved_at DateTime64(3, 'UTC') COMMENT 'last time the lead moved to status',
    status_before_cc LowCardinality(String),
    status_before_cc_raw LowCardinality(String)
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/status_transitions_local', '{replica}', received_at)
ORDER BY (lead_id, status)
SETTINGS replicated_deduplication_window = 10000
COMMENT 'copies of each status_changes entry, one per callback; read status_transitions_current';

-- 0001_tables.sql
CREATE TABLE IF NOT EXISTS status_transitions ON CLUSTER `lh` AS status_transitions_local ENGINE = Distributed('lh', currentDatabase(), 'status_transitions_local', lead_id);

-- 0001_tables.sql
CREATE TABLE IF NOT EXISTS booking_docs_local ON CLUSTER `lh`
(
    lead_id UInt64,
    callback_id String,
    received_at DateTime64(3, 'UTC') CODEC(Delta(8), ZSTD(1)),
    mapping_version UInt16,
    doc_id UInt64,
    position UInt16,
    doc_lead_id Nullable(UInt64) COMMENT 'the document''s own lead_id, which the CRM sample shows differing from the lead',
    booking_doc_type LowCardinality(String),
    data String COMMENT 'usually a URL',
    tag LowCardinality(String) COMMENT 'e.g. booking_form, cancelled_cheque',
    status_id Nullable(UInt32),
    created_at Nullable(DateTime64(3, 'UTC')),
    updated_at Nullable(DateTime64(3, 'UTC'))
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/booking_docs_local', '{replica}', received_at)
ORDER BY (lead_id, doc_id)
SETTINGS replicated_deduplication_window = 10000
COMMENT 'copies of each booking document, one per callback; read booking_docs_current';

-- 0001_tables.sql
CREATE TABLE IF NOT EXISTS booking_docs ON CLUSTER `lh` AS booking_docs_local ENGINE = Distributed('lh', currentDatabase(), 'booking_docs_local', lead_id);

-- 0001_tables.sql
CREATE TABLE IF NOT EXISTS dead_letters_local ON CLUSTER `lh`
(
    received_at DateTime64(3, 'UTC') CODEC(Delta(8), ZSTD(1)),
    remote_addr String,
    reason LowCardinality(String) COMMENT 'why it was rejected, a short fixed word',
    error String COMMENT 'the error text',
    body_size UInt32 COMMENT 'size of the body received, in bytes',
    body String COMMENT 'the body, possibly truncated; ZSTD(6) because it is written once and rarely read' CODEC(ZSTD(6))
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/dead_letters_local', '{replica}')
PARTITION BY toYYYYMM(received_at)
ORDER BY received_at
SETTINGS replicated_deduplication_window = 10000
COMMENT 'request bodies that could not be turned into rows';

-- 0001_tables.sql
CREATE TABLE IF NOT EXISTS dead_letters ON CLUSTER `lh` AS dead_letters_local ENGINE = Distributed('lh', currentDatabase(), 'dead_letters_local', rand());

-- 0002_views.sql
CREATE OR REPLACE VIEW lead_updates_dedup_local ON CLUSTER `lh` AS SELECT
    *,
    toTimeZone(received_at, 'Asia/Kolkata') AS received_at_ist
FROM lead_updates_local
ORDER BY lead_id, callback_id, received_at, mapping_version DESC
LIMIT 1 BY lead_id, callback_id
COMMENT 'one row per distinct callback (re-deliveries dropped, earliest kept); all lead_updates columns plus received_at_ist';

-- 0002_views.sql
CREATE OR REPLACE TABLE lead_updates_dedup ON CLUSTER `lh` AS lead_updates_dedup_local ENGINE = Distributed('lh', currentDatabase(), 'lead_updates_dedup_local');

-- 0002_views.sql
CREATE OR REPLACE VIEW lead_scenarios_local ON CLUSTER `lh` AS SELECT scenario, lead_id, callback_id, received_at, received_at_ist, action, lead_status, last_status, project_id, project_name, source, agent_name, agent_email, latest_disposition_type, latest_call_duration_sec, latest_event_type, action_raw, lead_status_raw, last_status_raw, latest_disposition_type_raw, latest_event_type_raw
FROM
(
    SELECT *, toTimeZone(received_at, 'Asia/Kolkata') AS received_at_ist
    FROM lead_updates_local
    WHERE action IN ('disposition_created', 'event_update', 'status_and_agent_update', 'status_update')
    ORDER BY lead_id, callback_id, received_at, mapping_version DESC
    LIMIT 1 BY lead_id, callback_id
)
ARRAY JOIN arrayFilter(s -> s != '', [
        if(action = 'disposition_created'
           AND lead_status = 'in_call_center'
           AND latest_disposition_type = 'follow_up'
           AND latest_call_duration_sec > 60,
           'cc_long_call_followup', ''),
        if(action = 'disposition_created'
           AND latest_disposition_type IN ('fresh', 'patch_out'),
           'cc_transferred_to_sales', ''),
        if(action IN ('status_update', 'status_and_agent_update')
           AND lead_status IN ('failed', 'junk')
           AND last_status = 'in_call_center'
           AND latest_disposition_type IN ('failed', 'junk'),
           'cc_failed', ''),
        if(action = 'event_update'
           AND lead_status = 'visit_done'
           AND latest_event_type = 'sv',
           'sales_site_visit_done', ''),
        if(action = 'status_update'
           AND lead_status = 'booking_done',
           'sales_booking_done', ''),
        if(action = 'status_update'
           AND lead_status IN ('failed', 'junk')
           AND last_status != 'in_call_center',
           'sales_failed', '')
    ]) AS scenario
COMMENT 'every scenario match, one row per (scenario, callback)';

-- 0002_views.sql
CREATE OR REPLACE TABLE lead_scenarios ON CLUSTER `lh` AS lead_scenarios_local ENGINE = Distributed('lh', currentDatabase(), 'lead_scenarios_local');

-- 0002_views.sql
CREATE OR REPLACE VIEW scenario_cc_long_call_followup_local ON CLUSTER `lh` AS SELECT * EXCEPT scenario FROM lead_scenarios_local WHERE scenario = 'cc_long_call_followup'
COMMENT 'CRM example 1: call-center follow-up after a call longer than 60 s';

-- 0002_views.sql
CREATE OR REPLACE TABLE scenario_cc_long_call_followup ON CLUSTER `lh` AS scenario_cc_long_call_followup_local ENGINE = Distributed('lh', currentDatabase(), 'scenario_cc_long_call_followup_local');

-- 0002_views.sql
CREATE OR REPLACE VIEW scenario_cc_transferred_to_sales_local ON CLUSTER `lh` AS SELECT * EXCEPT scenario FROM lead_scenarios_local WHERE scenario = 'cc_transferred_to_sales'
COMMENT 'CRM example 2: call center hands the lead to sales (disposition fresh or patch_out)';

-- 0002_views.sql
CREATE OR REPLACE TABLE scenario_cc_transferred_to_sales ON CLUSTER `lh` AS scenario_cc_transferred_to_sales_local ENGINE = Distributed('lh', currentDatabase(), 'scenario_cc_transferred_to_sales_local');

-- 0002_views.sql
CREATE OR REPLACE VIEW scenario_cc_failed_local ON CLUSTER `lh` AS SELECT * EXCEPT scenario FROM lead_scenarios_local WHERE scenario = 'cc_failed'
COMMENT 'CRM example 3: call center marks the lead failed or junk';

-- 0002_views.sql
CREATE OR REPLACE TABLE scenario_cc_failed ON CLUSTER `lh` AS scenario_cc_failed_local ENGINE = Distributed('lh', currentDatabase(), 'scenario_cc_failed_local');

-- 0002_views.sql
CREATE OR REPLACE VIEW scenario_sales_site_visit_done_local ON CLUSTER `lh` AS SELECT * EXCEPT scenario FROM lead_scenarios_local WHERE scenario = 'sales_site_visit_done'
COMMENT 'CRM example 4: sales completes a site visit';

-- 0002_views.sql
CREATE OR REPLACE TABLE scenario_sales_site_visit_done ON CLUSTER `lh` AS scenario_sales_site_visit_done_local ENGINE = Distributed('lh', currentDatabase(), 'scenario_sales_site_visit_done_local');

-- 0002_views.sql
CREATE OR REPLACE VIEW scenario_sales_booking_done_local ON CLUSTER `lh` AS SELECT * EXCEPT scenario FROM lead_scenarios_local WHERE scenario = 'sales_booking_done'
COMMENT 'CRM example 5: sales books the lead';

-- 0002_views.sql
CREATE OR REPLACE TABLE scenario_sales_booking_done ON CLUSTER `lh` AS scenario_sales_booking_done_local ENGINE = Distributed('lh', currentDatabase(), 'scenario_sales_booking_done_local');

-- 0002_views.sql
CREATE OR REPLACE VIEW scenario_sales_failed_local ON CLUSTER `lh` AS SELECT * EXCEPT scenario FROM lead_scenarios_local WHERE scenario = 'sales_failed'
COMMENT 'CRM example 6: sales marks the lead failed or junk';

-- 0002_views.sql
CREATE OR REPLACE TABLE scenario_sales_failed ON CLUSTER `lh` AS scenario_sales_failed_local ENGINE = Distributed('lh', currentDatabase(), 'scenario_sales_failed_local');

-- 0002_views.sql
CREATE OR REPLACE VIEW leads_current_local ON CLUSTER `lh` AS SELECT
    lead_id,
    callback_id AS last_callback_id,
    received_at AS last_seen_at,
    received_at_ist AS last_seen_at_ist,
    first_seen_at,
    toTimeZone(first_seen_at, 'Asia/Kolkata') AS first_seen_at_ist,
    callbacks,
    * EXCEPT (lead_id, callback_id, received_at, received_at_ist, first_seen_at, callbacks, raw)
FROM
(
    SELECT
        *,
        min(received_at) OVER (PARTITION BY lead_id) AS first_seen_at,
        count() OVER (PARTITION BY lead_id) AS callbacks
    FROM lead_updates_dedup_local
    ORDER BY lead_id, received_at DESC, callback_id DESC
    LIMIT 1 BY lead_id
)
COMMENT 'one row per lead: its latest callback, plus first_seen_at and the number of distinct callbacks';

-- 0002_views.sql
CREATE OR REPLACE TABLE leads_current ON CLUSTER `lh` AS leads_current_local ENGINE = Distributed('lh', currentDatabase(), 'leads_current_local');

-- 0002_views.sql
CREATE OR REPLACE VIEW events_current_local ON CLUSTER `lh` AS SELECT
    *,
    toTimeZone(received_at, 'Asia/Kolkata') AS received_at_ist,
    toTimeZone(start_time, 'Asia/Kolkata') AS start_time_ist,
    min(received_at) OVER (PARTITION BY lead_id, event_id) AS first_seen_at
FROM events_local
ORDER BY lead_id, event_id, received_at DESC, mapping_version DESC, callback_id DESC
LIMIT 1 BY lead_id, event_id
COMMENT 'latest copy of each event (followup, site visit, face to face) of each lead';

-- 0002_views.sql
CREATE OR REPLACE TABLE events_current ON CLUSTER `lh` AS events_current_local ENGINE = Distributed('lh', currentDatabase(), 'events_current_local');

-- 0002_views.sql
CREATE OR REPLACE VIEW notes_current_local ON CLUSTER `lh` AS SELECT
    *,
    toTimeZone(received_at, 'Asia/Kolkata') AS received_at_ist,
    toTimeZone(created_at, 'Asia/Kolkata') AS created_at_ist,
    min(received_at) OVER (PARTITION BY lead_id, note_id) AS first_seen_at
FROM notes_local
ORDER BY lead_id, note_id, received_at DESC, mapping_version DESC, callback_id DESC
LIMIT 1 BY lead_id, note_id
COMMENT 'latest copy of each note of each lead (event notes have event_id)';

-- 0002_views.sql
CREATE OR REPLACE TABLE notes_current ON CLUSTER `lh` AS notes_current_local ENGINE = Distributed('lh', currentDatabase(), 'notes_current_local');

-- 0002_views.sql
CREATE OR REPLACE VIEW calls_current_local ON CLUSTER `lh` AS SELECT
    *,
    toTimeZone(received_at, 'Asia/Kolkata') AS received_at_ist,
    toTimeZone(start_time, 'Asia/Kolkata') AS start_time_ist,
    min(received_at) OVER (PARTITION BY lead_id, call_id) AS first_seen_at
FROM calls_local
ORDER BY lead_id, call_id, received_at DESC, mapping_version DESC, callback_id DESC
LIMIT 1 BY lead_id, call_id
COMMENT 'latest copy of each call of each lead';

-- 0002_views.sql
CREATE OR REPLACE TABLE calls_current ON CLUSTER `lh` AS calls_current_local ENGINE = Distributed('lh', currentDatabase(), 'calls_current_local');

-- 0002_views.sql
CREATE OR REPLACE VIEW dispositions_current_local ON CLUSTER `lh` AS SELECT
    *,
    toTimeZone(received_at, 'Asia/Kolkata') AS received_at_ist,
    toTimeZone(created_at, 'Asia/Kolkata') AS created_at_ist,
    min(received_at) OVER (PARTITION BY lead_id, disposition_id) AS first_seen_at
FROM dispositions_local
ORDER BY lead_id, disposition_id, received_at DESC, mapping_version DESC, callback_id DESC
LIMIT 1 BY lead_id, disposition_id
COMMENT 'latest copy of each call-center disposition of each lead';

-- 0002_views.sql
CREATE OR REPLACE TABLE dispositions_current ON CLUSTER `lh` AS dispositions_current_local ENGINE = Distributed('lh', currentDatabase(), 'dispositions_current_local');

-- 0002_views.sql
CREATE OR REPLACE VIEW booking_docs_current_local ON CLUSTER `lh` AS SELECT
    *,
    toTimeZone(received_at, 'Asia/Kolkata') AS received_at_ist,
    min(received_at) OVER (PARTITION BY lead_id, doc_id) AS first_seen_at
FROM booking_docs_local
ORDER BY lead_id, doc_id, received_at DESC, mapping_version DESC, callback_id DESC
LIMIT 1 BY lead_id, doc_id
COMMENT 'latest copy of each booking document of each lead';

-- 0002_views.sql
CREATE OR REPLACE TABLE booking_docs_current ON CLUSTER `lh` AS booking_docs_current_local ENGINE = Distributed('lh', currentDatabase(), 'booking_docs_current_local');

-- 0002_views.sql
CREATE OR REPLACE VIEW status_transitions_current_local ON CLUSTER `lh` AS SELECT
    *,
    toTimeZone(received_at, 'Asia/Kolkata') AS received_at_ist,
    toTimeZone(moved_at, 'Asia/Kolkata') AS moved_at_ist,
    min(received_at) OVER (PARTITION BY lead_id, status) AS first_seen_at
FROM status_transitions_local
ORDER BY lead_id, status, received_at DESC, mapping_version DESC, callback_id DESC
LIMIT 1 BY lead_id, status
COMMENT 'per lead and status, the last time the lead moved to that status';

-- 0002_views.sql
CREATE OR REPLACE TABLE status_transitions_current ON CLUSTER `lh` AS status_transitions_current_local ENGINE = Distributed('lh', currentDatabase(), 'status_transitions_current_local');

-- 0002_views.sql
CREATE OR REPLACE VIEW lead_status_durations_local ON CLUSTER `lh` AS SELECT
    lead_id,
    from_status,
    assumeNotNull(next_status) AS to_status,
    from_at,
    assumeNotNull(next_at) AS to_at,
    toTimeZone(from_at, 'Asia/Kolkata') AS from_at_ist,
    toTimeZone(to_at, 'Asia/Kolkata') AS to_at_ist,
    (toUnixTimestamp64Milli(to_at) - toUnixTimestamp64Milli(from_at)) / 1000 AS seconds
FROM
(
    SELECT
        lead_id,
        status AS from_status,
        moved_at AS from_at,
        leadInFrame(toNullable(status)) OVER w AS next_status,
        leadInFrame(toNullable(moved_at)) OVER w AS next_at
    FROM status_transitions_current_local
    WINDOW w AS (PARTITION BY lead_id ORDER BY moved_at, position ROWS BETWEEN CURRENT ROW AND 1 FOLLOWING)
)
WHERE next_at IS NOT NULL
COMMENT 'per lead, the seconds between consecutive status transitions (from_status entered at from_at, left for to_status at to_at)';

-- 0002_views.sql
CREATE OR REPLACE TABLE lead_status_durations ON CLUSTER `lh` AS lead_status_durations_local ENGINE = Distributed('lh', currentDatabase(), 'lead_status_durations_local');

-- 0002_views.sql
CREATE OR REPLACE VIEW lead_funnel_local ON CLUSTER `lh` AS SELECT
    toDate(t.moved_at, 'Asia/Kolkata') AS day_ist,
    l.project_id AS project_id,
    l.project_name AS project_name,
    l.source AS source,
    t.status AS status,
    indexOf(['new', 'fresh', 'claimed', 'interested', 'meeting_done', 'visit_done', 'final_negotiation',
             'booking_done', 'in_call_center', 'in_transfer', 'linked', 'failed', 'junk'], t.status) AS status_order,
    uniqExact(t.lead_id) AS leads
FROM status_transitions_current_local AS t
LEFT JOIN leads_current_local AS l ON l.lead_id = t.lead_id
GROUP BY day_ist, project_id, project_name, source, status, status_order
COMMENT 'distinct leads that moved to each status, by IST day of the move, current project and source';

-- 0002_views.sql
CREATE OR REPLACE TABLE lead_funnel_shards ON CLUSTER `lh` AS lead_funnel_local ENGINE = Distributed('lh', currentDatabase(), 'lead_funnel_local');

-- 0002_views.sql
CREATE OR REPLACE VIEW lead_funnel ON CLUSTER `lh` AS SELECT day_ist, project_id, project_name, source, status, status_order, sum(leads) AS leads FROM lead_funnel_shards GROUP BY day_ist, project_id, project_name, source, status, status_order;

-- 0002_views.sql
CREATE OR REPLACE VIEW cc_to_sales_handoffs_local ON CLUSTER `lh` AS SELECT
    d.lead_id AS lead_id,
    d.disposition_id AS disposition_id,
    d.disposition_type AS disposition_type,
    d.disposition_type_raw AS disposition_type_raw,
    coalesce(d.created_at, d.first_seen_at) AS handed_off_at,
    toTimeZone(handed_off_at, 'Asia/Kolkata') AS handed_off_at_ist,
    d.agent_name AS cc_agent_name,
    d.reason AS reason,
    l.project_id AS project_id,
    l.project_name AS project_name,
    l.source AS source,
    l.lead_status AS current_lead_status,
    l.agent_name AS current_agent_name,
    l.agent_email AS current_agent_email
FROM dispositions_current_local AS d
LEFT JOIN leads_current_local AS l ON l.lead_id = d.lead_id
WHERE d.disposition_type IN ('fresh', 'patch_out')
COMMENT 'leads the call center handed to sales: when, by which disposition and agent, for which project';

-- 0002_views.sql
CREATE OR REPLACE TABLE cc_to_sales_handoffs ON CLUSTER `lh` AS cc_to_sales_handoffs_local ENGINE = Distributed('lh', currentDatabase(), 'cc_to_sales_handoffs_local');

-- 0002_views.sql
CREATE OR REPLACE VIEW dead_letters_recent_local ON CLUSTER `lh` AS SELECT
    received_at,
    toTimeZone(received_at, 'Asia/Kolkata') AS received_at_ist,
    remote_addr,
    reason,
    error,
    body_size,
    substringUTF8(body, 1, 300) AS body_head
FROM dead_letters_local
WHERE received_at >= now64(3, 'UTC') - INTERVAL 7 DAY
ORDER BY received_at DESC


LIMIT 1 BY received_at, remote_addr, reason, cityHash64(body)
COMMENT 'request bodies rejected in the last 7 days, newest first';

-- 0002_views.sql
CREATE OR REPLACE TABLE dead_letters_recent ON CLUSTER `lh` AS dead_letters_recent_local ENGINE = Distributed('lh', currentDatabase(), 'dead_letters_recent_local');

-- 0002_views.sql
CREATE OR REPLACE VIEW unrecognized_values_local ON CLUSTER `lh` AS WITH
    ['new', 'fresh', 'claimed', 'interested', 'meeting_done', 'visit_done', 'final_negotiation',
     'booking_done', 'failed', 'junk', 'in_call_center', 'in_transfer', 'linked'] AS statuses,
    ['follow_up', 'failed', 'fresh', 'junk', 'patch_out', 'not_contacted', 'call_back'] AS dispositions,
    ['followup', 'sv', 'f2f'] AS event_types
SELECT field, value, any(raw) AS raw_example, count() AS callbacks, uniqExact(lead_id) AS leads,
       min(received_at) AS first_seen_at, max(received_at) AS last_seen_at
FROM
(
    SELECT lead_id, received_at, v.1 AS field, v.2 AS value, v.3 AS raw
    FROM lead_updates_dedup_local
    ARRAY JOIN arrayConcat(
        if(action_known, [], [('action', toString(action), toString(action_raw))]),
        if(lead_status = '' OR has(statuses, lead_status), [], [('lead_status', toString(lead_status), toString(lead_status_raw))]),
        if(last_status = '' OR has(statuses, last_status), [], [('last_status', toString(last_status), toString(last_status_raw))]),
        if(latest_disposition_type = '' OR has(dispositions, latest_disposition_type), [],
           [('latest_disposition_type', toString(latest_disposition_type), toString(latest_disposition_type_raw))]),
        if(latest_event_type = '' OR has(event_types, latest_event_type), [],
           [('latest_event_type', toString(latest_event_type), toString(latest_event_type_raw))]),
        arrayMap(k -> ('top_level_key', k, k), unknown_keys)
    ) AS v
)
GROUP BY field, value
COMMENT 'unmapped actions, statuses, dispositions and event types, and unknown top-level keys';

-- 0002_views.sql
CREATE OR REPLACE TABLE unrecognized_values_shards ON CLUSTER `lh` AS unrecognized_values_local ENGINE = Distributed('lh', currentDatabase(), 'unrecognized_values_local');

-- 0002_views.sql
CREATE OR REPLACE VIEW unrecognized_values ON CLUSTER `lh` AS SELECT field, value, any(raw_example) AS raw_example, sum(callbacks) AS callbacks, sum(leads) AS leads, min(first_seen_at) AS first_seen_at, max(last_seen_at) AS last_seen_at FROM unrecognized_values_shards GROUP BY field, value;

-- 0003_lead_scenarios_prefilter.sql
CREATE OR REPLACE VIEW lead_scenarios_local ON CLUSTER `lh` AS SELECT scenario, lead_id, callback_id, received_at, received_at_ist, action, lead_status, last_status, project_id, project_name, source, agent_name, agent_email, latest_disposition_type, latest_call_duration_sec, latest_event_type, action_raw, lead_status_raw, last_status_raw, latest_disposition_type_raw, latest_event_type_raw
FROM
(
    SELECT
        *,
        toTimeZone(received_at, 'Asia/Kolkata') AS received_at_ist,
        arrayFilter(s -> s != '', [
            if(action = 'disposition_created'
               AND lead_status = 'in_call_center'
               AND latest_disposition_type = 'follow_up'
               AND latest_call_duration_sec > 60,
               'cc_long_call_followup', ''),
            if(action = 'disposition_created'
               AND latest_disposition_type IN ('fresh', 'patch_out'),
               'cc_transferred_to_sales', ''),
            if(action IN ('status_update', 'status_and_agent_update')
               AND lead_status IN ('failed', 'junk')
               AND last_status = 'in_call_center'
               AND latest_disposition_type IN ('failed', 'junk'),
               'cc_failed', ''),
            if(action = 'event_update'
               AND lead_status = 'visit_done'
               AND latest_event_type = 'sv',
               'sales_site_visit_done', ''),
            if(action = 'status_update'
               AND lead_status = 'booking_done',
               'sales_booking_done', ''),
            if(action = 'status_update'
               AND lead_status IN ('failed', 'junk')
               AND last_status != 'in_call_center',
               'sales_failed', '')
        ]) AS scenarios
    FROM lead_updates_local
    WHERE action IN ('disposition_created', 'event_update', 'status_and_agent_update', 'status_update')
      AND (notEmpty(scenarios) OR (SELECT min(mapping_version) != max(mapping_version) FROM lead_updates_local))
    ORDER BY lead_id, callback_id, received_at, mapping_version DESC
    LIMIT 1 BY lead_id, callback_id
)
ARRAY JOIN scenarios AS scenario
COMMENT 'every scenario match, one row per (scenario, callback)';

-- 0003_lead_scenarios_prefilter.sql
CREATE OR REPLACE TABLE lead_scenarios ON CLUSTER `lh` AS lead_scenarios_local ENGINE = Distributed('lh', currentDatabase(), 'lead_scenarios_local');

