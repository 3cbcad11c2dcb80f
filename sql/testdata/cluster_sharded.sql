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
CREATE TABLE IF NOT EXISTS lead_updates_local
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
ENGINE = MergeTree
PARTITION BY toYYYYMM(received_at)
ORDER BY (lead_id, callback_id)
SETTINGS non_replicated_deduplication_window = 10000, min_bytes_for_wide_part = 268435456
COMMENT 'one row per callback received; read lead_updates_dedup or leads_current, which drop re-deliveries';

-- 0001_tables.sql
CREATE TABLE IF NOT EXISTS lead_updates AS lead_updates_local ENGINE = Distributed('lh', currentDatabase(), 'lead_updates_local', lead_id);

-- 0001_tables.sql
CREATE TABLE IF NOT EXISTS events_local
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
ENGINE = ReplacingMergeTree(received_at)
ORDER BY (lead_id, event_id)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'copies of each lead event, one per callback; read events_current';

-- 0001_tables.sql
CREATE TABLE IF NOT EXISTS events AS events_local ENGINE = Distributed('lh', currentDatabase(), 'events_local', lead_id);

-- 0001_tables.sql
CREATE TABLE IF NOT EXISTS notes_local
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
ENGINE = ReplacingMergeTree(received_at)
ORDER BY (lead_id, note_id)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'copies of each note, one per callback; read notes_current';

-- 0001_tables.sql
CREATE TABLE IF NOT EXISTS notes AS notes_local ENGINE = Distributed('lh', currentDatabase(), 'notes_local', lead_id);

-- 0001_tables.sql
CREATE TABLE IF NOT EXISTS calls_local
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
ENGINE = ReplacingMergeTree(received_at)
ORDER BY (lead_id, call_id)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'copies of each call, one per callback; read calls_current';

-- 0001_tables.sql
CREATE TABLE IF NOT EXISTS calls AS calls_local ENGINE = Distributed('lh', currentDatabase(), 'calls_local', lead_id);

-- 0001_tables.sql
CREATE TABLE IF NOT EXISTS dispositions_local
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
ENGINE = ReplacingMergeTree(received_at)
ORDER BY (lead_id, disposition_id)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'copies of each call-center disposition, one per callback; read dispositions_current';

-- 0001_tables.sql
CREATE TABLE IF NOT EXISTS dispositions AS dispositions_local ENGINE = Distributed('lh', currentDatabase(), 'dispositions_local', lead_id);

-- 0001_tables.sql
CREATE TABLE IF NOT EXISTS status_transitions_local
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
ENGINE = ReplacingMergeTree(received_at)
ORDER BY (lead_id, status)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'copies of each status_changes entry, one per callback; read status_transitions_current';

-- 0001_tables.sql
CREATE TABLE IF NOT EXISTS status_transitions AS status_transitions_local ENGINE = Distributed('lh', currentDatabase(), 'status_transitions_local', lead_id);

-- 0001_tables.sql
CREATE TABLE IF NOT EXISTS booking_docs_local
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
ENGINE = ReplacingMergeTree(received_at)
ORDER BY (lead_id, doc_id)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'copies of each booking document, one per callback; read booking_docs_current';

-- 0001_tables.sql
CREATE TABLE IF NOT EXISTS booking_docs AS booking_docs_local ENGINE = Distributed('lh', currentDatabase(), 'booking_docs_local', lead_id);

-- 0001_tables.sql
CREATE TABLE IF NOT EXISTS dead_letters_local
(
    received_at DateTime64(3, 'UTC') CODEC(Delta(8), ZSTD(1)),
    remote_addr String,
    reason LowCardinality(String) COMMENT 'why it was rejected, a short fixed word',
    error String COMMENT 'the error text',
    body_size UInt32 COMMENT 'size of the body received, in bytes',
    body String COMMENT 'the body, possibly truncated; ZSTD(6) because it is written once and rarely read' CODEC(ZSTD(6))
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(received_at)
ORDER BY received_at
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'request bodies that could not be turned into rows';

-- 0001_tables.sql
CREATE TABLE IF NOT EXISTS dead_letters AS dead_letters_local ENGINE = Distributed('lh', currentDatabase(), 'dead_letters_local', rand());

-- 0002_views.sql
CREATE OR REPLACE VIEW lead_updates_dedup_local AS SELECT
    *,
    toTimeZone(received_at, 'Asia/Kolkata') AS received_at_ist
FROM lead_updates_local
ORDER BY lead_id, callback_id, received_at, mapping_version DESC
LIMIT 1 BY lead_id, callback_id
COMMENT 'one row per distinct callback (re-deliveries dropped, earliest kept); all lead_updates columns plus received_at_ist';

-- 0002_views.sql
CREATE OR REPLACE TABLE lead_updates_dedup AS lead_updates_dedup_local ENGINE = Distributed('lh', currentDatabase(), 'lead_updates_dedup_local');

-- 0002_views.sql
CREATE OR REPLACE VIEW lead_scenarios_local AS SELECT scenario, lead_id, callback_id, received_at, received_at_ist, action, lead_status, last_status, project_id, project_name, source, agent_name, agent_email, latest_disposition_type, latest_call_duration_sec, latest_event_type, action_raw, lead_status_raw, last_status_raw, latest_disposition_type_raw, latest_event_type_raw
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
CREATE OR REPLACE TABLE lead_scenarios AS lead_scenarios_local ENGINE = Distributed('lh', currentDatabase(), 'lead_scenarios_local');

-- 0002_views.sql
CREATE OR REPLACE VIEW scenario_cc_long_call_followup_local AS SELECT * EXCEPT scenario FROM lead_scenarios_local WHERE scenario = 'cc_long_call_followup'
COMMENT 'CRM example 1: call-center follow-up after a call longer than 60 s';

-- 0002_views.sql
CREATE OR REPLACE TABLE scenario_cc_long_call_followup AS scenario_cc_long_call_followup_local ENGINE = Distributed('lh', currentDatabase(), 'scenario_cc_long_call_followup_local');

-- 0002_views.sql
CREATE OR REPLACE VIEW scenario_cc_transferred_to_sales_local AS SELECT * EXCEPT scenario FROM lead_scenarios_local WHERE scenario = 'cc_transferred_to_sales'
COMMENT 'CRM example 2: call center hands the lead to sales (disposition fresh or patch_out)';

-- 0002_views.sql
CREATE OR REPLACE TABLE scenario_cc_transferred_to_sales AS scenario_cc_transferred_to_sales_local ENGINE = Distributed('lh', currentDatabase(), 'scenario_cc_transferred_to_sales_local');

-- 0002_views.sql
CREATE OR REPLACE VIEW scenario_cc_failed_local AS SELECT * EXCEPT scenario FROM lead_scenarios_local WHERE scenario = 'cc_failed'
COMMENT 'CRM example 3: call center marks the lead failed or junk';

-- 0002_views.sql
CREATE OR REPLACE TABLE scenario_cc_failed AS scenario_cc_failed_local ENGINE = Distributed('lh', currentDatabase(), 'scenario_cc_failed_local');

-- 0002_views.sql
CREATE OR REPLACE VIEW scenario_sales_site_visit_done_local AS SELECT * EXCEPT scenario FROM lead_scenarios_local WHERE scenario = 'sales_site_visit_done'
COMMENT 'CRM example 4: sales completes a site visit';

-- 0002_views.sql
CREATE OR REPLACE TABLE scenario_sales_site_visit_done AS scenario_sales_site_visit_done_local ENGINE = Distributed('lh', currentDatabase(), 'scenario_sales_site_visit_done_local');

-- 0002_views.sql
CREATE OR REPLACE VIEW scenario_sales_booking_done_local AS SELECT * EXCEPT scenario FROM lead_scenarios_local WHERE scenario = 'sales_booking_done'
COMMENT 'CRM example 5: sales books the lead';

-- 0002_views.sql
CREATE OR REPLACE TABLE scenario_sales_booking_done AS scenario_sales_booking_done_local ENGINE = Distributed('lh', currentDatabase(), 'scenario_sales_booking_done_local');

-- 0002_views.sql
CREATE OR REPLACE VIEW scenario_sales_failed_local AS SELECT * EXCEPT scenario FROM lead_scenarios_local WHERE scenario = 'sales_failed'
COMMENT 'CRM example 6: sales marks the lead failed or junk';

-- 0002_views.sql
CREATE OR REPLACE TABLE scenario_sales_failed AS scenario_sales_failed_local ENGINE = Distributed('lh', currentDatabase(), 'scenario_sales_failed_local');

-- 0002_views.sql
CREATE OR REPLACE VIEW leads_current_local AS SELECT
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
CREATE OR REPLACE TABLE leads_current AS leads_current_local ENGINE = Distributed('lh', currentDatabase(), 'leads_current_local');

-- 0002_views.sql
CREATE OR REPLACE VIEW events_current_local AS SELECT
    *,
    toTimeZone(received_at, 'Asia/Kolkata') AS received_at_ist,
    toTimeZone(start_time, 'Asia/Kolkata') AS start_time_ist,
    min(received_at) OVER (PARTITION BY lead_id, event_id) AS first_seen_at
FROM events_local
ORDER BY lead_id, event_id, received_at DESC, mapping_version DESC, callback_id DESC
LIMIT 1 BY lead_id, event_id
COMMENT 'latest copy of each event (followup, site visit, face to face) of each lead';

-- 0002_views.sql
CREATE OR REPLACE TABLE events_current AS events_current_local ENGINE = Distributed('lh', currentDatabase(), 'events_current_local');

-- 0002_views.sql
CREATE OR REPLACE VIEW notes_current_local AS SELECT
    *,
    toTimeZone(received_at, 'Asia/Kolkata') AS received_at_ist,
    toTimeZone(created_at, 'Asia/Kolkata') AS created_at_ist,
    min(received_at) OVER (PARTITION BY lead_id, note_id) AS first_seen_at
FROM notes_local
ORDER BY lead_id, note_id, received_at DESC, mapping_version DESC, callback_id DESC
LIMIT 1 BY lead_id, note_id
COMMENT 'latest copy of each note of each lead (event notes have event_id)';

-- 0002_views.sql
CREATE OR REPLACE TABLE notes_current AS notes_current_local ENGINE = Distributed('lh', currentDatabase(), 'notes_current_local');

-- 0002_views.sql
CREATE OR REPLACE VIEW calls_current_local AS SELECT
    *,
    toTimeZone(received_at, 'Asia/Kolkata') AS received_at_ist,
    toTimeZone(start_time, 'Asia/Kolkata') AS start_time_ist,
    min(received_at) OVER (PARTITION BY lead_id, call_id) AS first_seen_at
FROM calls_local
ORDER BY lead_id, call_id, received_at DESC, mapping_version DESC, callback_id DESC
LIMIT 1 BY lead_id, call_id
COMMENT 'latest copy of each call of each lead';

-- 0002_views.sql
CREATE OR REPLACE TABLE calls_current AS calls_current_local ENGINE = Distributed('lh', currentDatabase(), 'calls_current_local');

-- 0002_views.sql
CREATE OR REPLACE VIEW dispositions_current_local AS SELECT
    *,
    toTimeZone(received_at, 'Asia/Kolkata') AS received_at_ist,
    toTimeZone(created_at, 'Asia/Kolkata') AS created_at_ist,
    min(received_at) OVER (PARTITION BY lead_id, disposition_id) AS first_seen_at
FROM dispositions_local
ORDER BY lead_id, disposition_id, received_at DESC, mapping_version DESC, callback_id DESC
LIMIT 1 BY lead_id, disposition_id
COMMENT 'latest copy of each call-center disposition of each lead';

-- 0002_views.sql
CREATE OR REPLACE TABLE dispositions_current AS dispositions_current_local ENGINE = Distributed('lh', currentDatabase(), 'dispositions_current_local');

-- 0002_views.sql
CREATE OR REPLACE VIEW booking_docs_current_local AS SELECT
    *,
    toTimeZone(received_at, 'Asia/Kolkata') AS received_at_ist,
    min(received_at) OVER (PARTITION BY lead_id, doc_id) AS first_seen_at
FROM booking_docs_local
ORDER BY lead_id, doc_id, received_at DESC, mapping_version DESC, callback_id DESC
LIMIT 1 BY lead_id, doc_id
COMMENT 'latest copy of each booking document of each lead';

-- 0002_views.sql
CREATE OR REPLACE TABLE booking_docs_current AS booking_docs_current_local ENGINE = Distributed('lh', currentDatabase(), 'booking_docs_current_local');

-- 0002_views.sql
CREATE OR REPLACE VIEW status_transitions_current_local AS SELECT
    *,
    toTimeZone(received_at, 'Asia/Kolkata') AS received_at_ist,
    toTimeZone(moved_at, 'Asia/Kolkata') AS moved_at_ist,
    min(received_at) OVER (PARTITION BY lead_id, status) AS first_seen_at
FROM status_transitions_local
ORDER BY lead_id, status, received_at DESC, mapping_version DESC, callback_id DESC
LIMIT 1 BY lead_id, status
COMMENT 'per lead and status, the last time the lead moved to that status';

-- 0002_views.sql
CREATE OR REPLACE TABLE status_transitions_current AS status_transitions_current_local ENGINE = Distributed('lh', currentDatabase(), 'status_transitions_current_local');

-- 0002_views.sql
CREATE OR REPLACE VIEW lead_status_durations_local AS SELECT
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
CREATE OR REPLACE TABLE lead_status_durations AS lead_status_durations_local ENGINE = Distributed('lh', currentDatabase(), 'lead_status_durations_local');

-- 0002_views.sql
CREATE OR REPLACE VIEW lead_funnel_local AS SELECT
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
CREATE OR REPLACE TABLE lead_funnel_shards AS lead_funnel_local ENGINE = Distributed('lh', currentDatabase(), 'lead_funnel_local');

-- 0002_views.sql
CREATE OR REPLACE VIEW lead_funnel AS SELECT day_ist, project_id, project_name, source, status, status_order, sum(leads) AS leads FROM lead_funnel_shards GROUP BY day_ist, project_id, project_name, source, status, status_order;

-- 0002_views.sql
CREATE OR REPLACE VIEW cc_to_sales_handoffs_local AS SELECT
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
CREATE OR REPLACE TABLE cc_to_sales_handoffs AS cc_to_sales_handoffs_local ENGINE = Distributed('lh', currentDatabase(), 'cc_to_sales_handoffs_local');

-- 0002_views.sql
CREATE OR REPLACE VIEW dead_letters_recent_local AS SELECT
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
CREATE OR REPLACE TABLE dead_letters_recent AS dead_letters_recent_local ENGINE = Distributed('lh', currentDatabase(), 'dead_letters_recent_local');

-- 0002_views.sql
CREATE OR REPLACE VIEW unrecognized_values_local AS WITH
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
CREATE OR REPLACE TABLE unrecognized_values_shards AS unrecognized_values_local ENGINE = Distributed('lh', currentDatabase(), 'unrecognized_values_local');

-- 0002_views.sql
CREATE OR REPLACE VIEW unrecognized_values AS SELECT field, value, any(raw_example) AS raw_example, sum(callbacks) AS callbacks, sum(leads) AS leads, min(first_seen_at) AS first_seen_at, max(last_seen_at) AS last_seen_at FROM unrecognized_values_shards GROUP BY field, value;

-- 0003_lead_scenarios_prefilter.sql
CREATE OR REPLACE VIEW lead_scenarios_local AS SELECT scenario, lead_id, callback_id, received_at, received_at_ist, action, lead_status, last_status, project_id, project_name, source, agent_name, agent_email, latest_disposition_type, latest_call_duration_sec, latest_event_type, action_raw, lead_status_raw, last_status_raw, latest_disposition_type_raw, latest_event_type_raw
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
CREATE OR REPLACE TABLE lead_scenarios AS lead_scenarios_local ENGINE = Distributed('lh', currentDatabase(), 'lead_scenarios_local');

-- 0004_crm_time.sql
ALTER TABLE lead_updates_local ADD COLUMN IF NOT EXISTS crm_updated_at DateTime64(3, 'UTC') COMMENT 'newest time the callback''s document carries (the CRM''s clock); orders a lead''s callbacks' AFTER mapping_version,
    ADD COLUMN IF NOT EXISTS arrival UInt64 COMMENT 'write-ahead log position of the delivery: arrival order, breaks ties of crm_updated_at' AFTER crm_updated_at;

-- 0004_crm_time.sql
ALTER TABLE lead_updates ADD COLUMN IF NOT EXISTS crm_updated_at DateTime64(3, 'UTC') COMMENT 'newest time the callback''s document carries (the CRM''s clock); orders a lead''s callbacks' AFTER mapping_version,
    ADD COLUMN IF NOT EXISTS arrival UInt64 COMMENT 'write-ahead log position of the delivery: arrival order, breaks ties of crm_updated_at' AFTER crm_updated_at;

-- 0004_crm_time.sql
ALTER TABLE events_local ADD COLUMN IF NOT EXISTS crm_updated_at DateTime64(3, 'UTC') COMMENT 'newest time the callback''s document carries (the CRM''s clock); orders a lead''s callbacks' AFTER mapping_version,
    ADD COLUMN IF NOT EXISTS arrival UInt64 COMMENT 'write-ahead log position of the delivery: arrival order, breaks ties of crm_updated_at' AFTER crm_updated_at;

-- 0004_crm_time.sql
ALTER TABLE events ADD COLUMN IF NOT EXISTS crm_updated_at DateTime64(3, 'UTC') COMMENT 'newest time the callback''s document carries (the CRM''s clock); orders a lead''s callbacks' AFTER mapping_version,
    ADD COLUMN IF NOT EXISTS arrival UInt64 COMMENT 'write-ahead log position of the delivery: arrival order, breaks ties of crm_updated_at' AFTER crm_updated_at;

-- 0004_crm_time.sql
ALTER TABLE notes_local ADD COLUMN IF NOT EXISTS crm_updated_at DateTime64(3, 'UTC') COMMENT 'newest time the callback''s document carries (the CRM''s clock); orders a lead''s callbacks' AFTER mapping_version,
    ADD COLUMN IF NOT EXISTS arrival UInt64 COMMENT 'write-ahead log position of the delivery: arrival order, breaks ties of crm_updated_at' AFTER crm_updated_at;

-- 0004_crm_time.sql
ALTER TABLE notes ADD COLUMN IF NOT EXISTS crm_updated_at DateTime64(3, 'UTC') COMMENT 'newest time the callback''s document carries (the CRM''s clock); orders a lead''s callbacks' AFTER mapping_version,
    ADD COLUMN IF NOT EXISTS arrival UInt64 COMMENT 'write-ahead log position of the delivery: arrival order, breaks ties of crm_updated_at' AFTER crm_updated_at;

-- 0004_crm_time.sql
ALTER TABLE calls_local ADD COLUMN IF NOT EXISTS crm_updated_at DateTime64(3, 'UTC') COMMENT 'newest time the callback''s document carries (the CRM''s clock); orders a lead''s callbacks' AFTER mapping_version,
    ADD COLUMN IF NOT EXISTS arrival UInt64 COMMENT 'write-ahead log position of the delivery: arrival order, breaks ties of crm_updated_at' AFTER crm_updated_at;

-- 0004_crm_time.sql
ALTER TABLE calls ADD COLUMN IF NOT EXISTS crm_updated_at DateTime64(3, 'UTC') COMMENT 'newest time the callback''s document carries (the CRM''s clock); orders a lead''s callbacks' AFTER mapping_version,
    ADD COLUMN IF NOT EXISTS arrival UInt64 COMMENT 'write-ahead log position of the delivery: arrival order, breaks ties of crm_updated_at' AFTER crm_updated_at;

-- 0004_crm_time.sql
ALTER TABLE dispositions_local ADD COLUMN IF NOT EXISTS crm_updated_at DateTime64(3, 'UTC') COMMENT 'newest time the callback''s document carries (the CRM''s clock); orders a lead''s callbacks' AFTER mapping_version,
    ADD COLUMN IF NOT EXISTS arrival UInt64 COMMENT 'write-ahead log position of the delivery: arrival order, breaks ties of crm_updated_at' AFTER crm_updated_at;

-- 0004_crm_time.sql
ALTER TABLE dispositions ADD COLUMN IF NOT EXISTS crm_updated_at DateTime64(3, 'UTC') COMMENT 'newest time the callback''s document carries (the CRM''s clock); orders a lead''s callbacks' AFTER mapping_version,
    ADD COLUMN IF NOT EXISTS arrival UInt64 COMMENT 'write-ahead log position of the delivery: arrival order, breaks ties of crm_updated_at' AFTER crm_updated_at;

-- 0004_crm_time.sql
ALTER TABLE status_transitions_local ADD COLUMN IF NOT EXISTS crm_updated_at DateTime64(3, 'UTC') COMMENT 'newest time the callback''s document carries (the CRM''s clock); orders a lead''s callbacks' AFTER mapping_version,
    ADD COLUMN IF NOT EXISTS arrival UInt64 COMMENT 'write-ahead log position of the delivery: arrival order, breaks ties of crm_updated_at' AFTER crm_updated_at;

-- 0004_crm_time.sql
ALTER TABLE status_transitions ADD COLUMN IF NOT EXISTS crm_updated_at DateTime64(3, 'UTC') COMMENT 'newest time the callback''s document carries (the CRM''s clock); orders a lead''s callbacks' AFTER mapping_version,
    ADD COLUMN IF NOT EXISTS arrival UInt64 COMMENT 'write-ahead log position of the delivery: arrival order, breaks ties of crm_updated_at' AFTER crm_updated_at;

-- 0004_crm_time.sql
ALTER TABLE booking_docs_local ADD COLUMN IF NOT EXISTS crm_updated_at DateTime64(3, 'UTC') COMMENT 'newest time the callback''s document carries (the CRM''s clock); orders a lead''s callbacks' AFTER mapping_version,
    ADD COLUMN IF NOT EXISTS arrival UInt64 COMMENT 'write-ahead log position of the delivery: arrival order, breaks ties of crm_updated_at' AFTER crm_updated_at;

-- 0004_crm_time.sql
ALTER TABLE booking_docs ADD COLUMN IF NOT EXISTS crm_updated_at DateTime64(3, 'UTC') COMMENT 'newest time the callback''s document carries (the CRM''s clock); orders a lead''s callbacks' AFTER mapping_version,
    ADD COLUMN IF NOT EXISTS arrival UInt64 COMMENT 'write-ahead log position of the delivery: arrival order, breaks ties of crm_updated_at' AFTER crm_updated_at;

-- 0004_crm_time.sql
ALTER TABLE dead_letters_local ADD COLUMN IF NOT EXISTS arrival UInt64 COMMENT 'write-ahead log position of the request: arrival order';

-- 0004_crm_time.sql
ALTER TABLE dead_letters ADD COLUMN IF NOT EXISTS arrival UInt64 COMMENT 'write-ahead log position of the request: arrival order';

-- 0005_state.sql
CREATE TABLE IF NOT EXISTS leads_state_local
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

-- 0005_state.sql
CREATE TABLE IF NOT EXISTS leads_state AS leads_state_local ENGINE = Distributed('lh', currentDatabase(), 'leads_state_local', lead_id);

-- 0005_state.sql
CREATE MATERIALIZED VIEW IF NOT EXISTS leads_state_mv_local TO leads_state_local AS SELECT
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
FROM lead_updates_local;

-- 0005_state.sql
INSERT INTO leads_state_local SELECT
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
FROM lead_updates_local;

-- 0005_state.sql
CREATE TABLE IF NOT EXISTS lead_deliveries_local
(
    lead_id UInt64,
    deliveries AggregateFunction(minMap, Array(UInt64), Array(Int64)) COMMENT 'per cityHash64(callback_id), its first received_at in Unix milliseconds'
)
ENGINE = AggregatingMergeTree
ORDER BY lead_id
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'per lead, each distinct callback and when it was first received; read leads_current';

-- 0005_state.sql
CREATE TABLE IF NOT EXISTS lead_deliveries AS lead_deliveries_local ENGINE = Distributed('lh', currentDatabase(), 'lead_deliveries_local', lead_id);

-- 0005_state.sql
CREATE MATERIALIZED VIEW IF NOT EXISTS lead_deliveries_mv_local TO lead_deliveries_local AS SELECT
    lead_id,
    minMapState([cityHash64(callback_id)], [toUnixTimestamp64Milli(received_at)]) AS deliveries
FROM lead_updates_local
GROUP BY lead_id;

-- 0005_state.sql
INSERT INTO lead_deliveries_local SELECT
    lead_id,
    minMapState([cityHash64(callback_id)], [toUnixTimestamp64Milli(received_at)]) AS deliveries
FROM lead_updates_local
GROUP BY lead_id
SETTINGS optimize_aggregation_in_order = 1;

-- 0005_state.sql
CREATE TABLE IF NOT EXISTS events_state_local
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

-- 0005_state.sql
CREATE TABLE IF NOT EXISTS events_state AS events_state_local ENGINE = Distributed('lh', currentDatabase(), 'events_state_local', lead_id);

-- 0005_state.sql
CREATE MATERIALIZED VIEW IF NOT EXISTS events_state_mv_local TO events_state_local AS SELECT
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
FROM events_local;

-- 0005_state.sql
INSERT INTO events_state_local SELECT
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
FROM events_local;

-- 0005_state.sql
CREATE TABLE IF NOT EXISTS events_seen_local
(
    lead_id UInt64,
    event_id UInt64,
    first_seen_at SimpleAggregateFunction(min, DateTime64(3, 'UTC')) COMMENT 'when the entity first arrived (received_at)'
)
ENGINE = AggregatingMergeTree
ORDER BY (lead_id, event_id)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'per lead and event_id, when it first arrived; read events_current';

-- 0005_state.sql
CREATE TABLE IF NOT EXISTS events_seen AS events_seen_local ENGINE = Distributed('lh', currentDatabase(), 'events_seen_local', lead_id);

-- 0005_state.sql
CREATE MATERIALIZED VIEW IF NOT EXISTS events_seen_mv_local TO events_seen_local AS SELECT
    lead_id,
    event_id,
    min(received_at) AS first_seen_at
FROM events_local
GROUP BY lead_id, event_id;

-- 0005_state.sql
INSERT INTO events_seen_local SELECT
    lead_id,
    event_id,
    min(received_at) AS first_seen_at
FROM events_local
GROUP BY lead_id, event_id
SETTINGS optimize_aggregation_in_order = 1;

-- 0005_state.sql
CREATE TABLE IF NOT EXISTS notes_state_local
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

-- 0005_state.sql
CREATE TABLE IF NOT EXISTS notes_state AS notes_state_local ENGINE = Distributed('lh', currentDatabase(), 'notes_state_local', lead_id);

-- 0005_state.sql
CREATE MATERIALIZED VIEW IF NOT EXISTS notes_state_mv_local TO notes_state_local AS SELECT
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
FROM notes_local;

-- 0005_state.sql
INSERT INTO notes_state_local SELECT
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
FROM notes_local;

-- 0005_state.sql
CREATE TABLE IF NOT EXISTS notes_seen_local
(
    lead_id UInt64,
    note_id UInt64,
    first_seen_at SimpleAggregateFunction(min, DateTime64(3, 'UTC')) COMMENT 'when the entity first arrived (received_at)'
)
ENGINE = AggregatingMergeTree
ORDER BY (lead_id, note_id)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'per lead and note_id, when it first arrived; read notes_current';

-- 0005_state.sql
CREATE TABLE IF NOT EXISTS notes_seen AS notes_seen_local ENGINE = Distributed('lh', currentDatabase(), 'notes_seen_local', lead_id);

-- 0005_state.sql
CREATE MATERIALIZED VIEW IF NOT EXISTS notes_seen_mv_local TO notes_seen_local AS SELECT
    lead_id,
    note_id,
    min(received_at) AS first_seen_at
FROM notes_local
GROUP BY lead_id, note_id;

-- 0005_state.sql
INSERT INTO notes_seen_local SELECT
    lead_id,
    note_id,
    min(received_at) AS first_seen_at
FROM notes_local
GROUP BY lead_id, note_id
SETTINGS optimize_aggregation_in_order = 1;

-- 0005_state.sql
CREATE TABLE IF NOT EXISTS calls_state_local
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

-- 0005_state.sql
CREATE TABLE IF NOT EXISTS calls_state AS calls_state_local ENGINE = Distributed('lh', currentDatabase(), 'calls_state_local', lead_id);

-- 0005_state.sql
CREATE MATERIALIZED VIEW IF NOT EXISTS calls_state_mv_local TO calls_state_local AS SELECT
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
FROM calls_local;

-- 0005_state.sql
INSERT INTO calls_state_local SELECT
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
FROM calls_local;

-- 0005_state.sql
CREATE TABLE IF NOT EXISTS calls_seen_local
(
    lead_id UInt64,
    call_id UInt64,
    first_seen_at SimpleAggregateFunction(min, DateTime64(3, 'UTC')) COMMENT 'when the entity first arrived (received_at)'
)
ENGINE = AggregatingMergeTree
ORDER BY (lead_id, call_id)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'per lead and call_id, when it first arrived; read calls_current';

-- 0005_state.sql
CREATE TABLE IF NOT EXISTS calls_seen AS calls_seen_local ENGINE = Distributed('lh', currentDatabase(), 'calls_seen_local', lead_id);

-- 0005_state.sql
CREATE MATERIALIZED VIEW IF NOT EXISTS calls_seen_mv_local TO calls_seen_local AS SELECT
    lead_id,
    call_id,
    min(received_at) AS first_seen_at
FROM calls_local
GROUP BY lead_id, call_id;

-- 0005_state.sql
INSERT INTO calls_seen_local SELECT
    lead_id,
    call_id,
    min(received_at) AS first_seen_at
FROM calls_local
GROUP BY lead_id, call_id
SETTINGS optimize_aggregation_in_order = 1;

-- 0005_state.sql
CREATE TABLE IF NOT EXISTS dispositions_state_local
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

-- 0005_state.sql
CREATE TABLE IF NOT EXISTS dispositions_state AS dispositions_state_local ENGINE = Distributed('lh', currentDatabase(), 'dispositions_state_local', lead_id);

-- 0005_state.sql
CREATE MATERIALIZED VIEW IF NOT EXISTS dispositions_state_mv_local TO dispositions_state_local AS SELECT
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
FROM dispositions_local;

-- 0005_state.sql
INSERT INTO dispositions_state_local SELECT
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
FROM dispositions_local;

-- 0005_state.sql
CREATE TABLE IF NOT EXISTS dispositions_seen_local
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

-- 0005_state.sql
CREATE TABLE IF NOT EXISTS dispositions_seen AS dispositions_seen_local ENGINE = Distributed('lh', currentDatabase(), 'dispositions_seen_local', lead_id);

-- 0005_state.sql
CREATE MATERIALIZED VIEW IF NOT EXISTS dispositions_seen_mv_local TO dispositions_seen_local AS SELECT
    lead_id,
    disposition_id,
    min(received_at) AS first_seen_at,
    min(crm_updated_at) AS first_crm_updated_at
FROM dispositions_local
GROUP BY lead_id, disposition_id;

-- 0005_state.sql
INSERT INTO dispositions_seen_local SELECT
    lead_id,
    disposition_id,
    min(received_at) AS first_seen_at,
    min(crm_updated_at) AS first_crm_updated_at
FROM dispositions_local
GROUP BY lead_id, disposition_id
SETTINGS optimize_aggregation_in_order = 1;

-- 0005_state.sql
CREATE TABLE IF NOT EXISTS booking_docs_state_local
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

-- 0005_state.sql
CREATE TABLE IF NOT EXISTS booking_docs_state AS booking_docs_state_local ENGINE = Distributed('lh', currentDatabase(), 'booking_docs_state_local', lead_id);

-- 0005_state.sql
CREATE MATERIALIZED VIEW IF NOT EXISTS booking_docs_state_mv_local TO booking_docs_state_local AS SELECT
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
FROM booking_docs_local;

-- 0005_state.sql
INSERT INTO booking_docs_state_local SELECT
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
FROM booking_docs_local;

-- 0005_state.sql
CREATE TABLE IF NOT EXISTS booking_docs_seen_local
(
    lead_id UInt64,
    doc_id UInt64,
    first_seen_at SimpleAggregateFunction(min, DateTime64(3, 'UTC')) COMMENT 'when the entity first arrived (received_at)'
)
ENGINE = AggregatingMergeTree
ORDER BY (lead_id, doc_id)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'per lead and doc_id, when it first arrived; read booking_docs_current';

-- 0005_state.sql
CREATE TABLE IF NOT EXISTS booking_docs_seen AS booking_docs_seen_local ENGINE = Distributed('lh', currentDatabase(), 'booking_docs_seen_local', lead_id);

-- 0005_state.sql
CREATE MATERIALIZED VIEW IF NOT EXISTS booking_docs_seen_mv_local TO booking_docs_seen_local AS SELECT
    lead_id,
    doc_id,
    min(received_at) AS first_seen_at
FROM booking_docs_local
GROUP BY lead_id, doc_id;

-- 0005_state.sql
INSERT INTO booking_docs_seen_local SELECT
    lead_id,
    doc_id,
    min(received_at) AS first_seen_at
FROM booking_docs_local
GROUP BY lead_id, doc_id
SETTINGS optimize_aggregation_in_order = 1;

-- 0005_state.sql
CREATE TABLE IF NOT EXISTS status_transitions_state_local
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

-- 0005_state.sql
CREATE TABLE IF NOT EXISTS status_transitions_state AS status_transitions_state_local ENGINE = Distributed('lh', currentDatabase(), 'status_transitions_state_local', lead_id);

-- 0005_state.sql
CREATE MATERIALIZED VIEW IF NOT EXISTS status_transitions_state_mv_local TO status_transitions_state_local AS SELECT
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
FROM status_transitions_local;

-- 0005_state.sql
INSERT INTO status_transitions_state_local SELECT
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
FROM status_transitions_local;

-- 0005_state.sql
CREATE TABLE IF NOT EXISTS status_transitions_seen_local
(
    lead_id UInt64,
    status LowCardinality(String),
    first_seen_at SimpleAggregateFunction(min, DateTime64(3, 'UTC')) COMMENT 'when the entity first arrived (received_at)'
)
ENGINE = AggregatingMergeTree
ORDER BY (lead_id, status)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'per lead and status, when it first arrived; read status_transitions_current';

-- 0005_state.sql
CREATE TABLE IF NOT EXISTS status_transitions_seen AS status_transitions_seen_local ENGINE = Distributed('lh', currentDatabase(), 'status_transitions_seen_local', lead_id);

-- 0005_state.sql
CREATE MATERIALIZED VIEW IF NOT EXISTS status_transitions_seen_mv_local TO status_transitions_seen_local AS SELECT
    lead_id,
    status,
    min(received_at) AS first_seen_at
FROM status_transitions_local
GROUP BY lead_id, status;

-- 0005_state.sql
INSERT INTO status_transitions_seen_local SELECT
    lead_id,
    status,
    min(received_at) AS first_seen_at
FROM status_transitions_local
GROUP BY lead_id, status
SETTINGS optimize_aggregation_in_order = 1;

-- 0005_state.sql
CREATE TABLE IF NOT EXISTS scenario_counts_state_local
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

-- 0005_state.sql
CREATE TABLE IF NOT EXISTS scenario_counts_state AS scenario_counts_state_local ENGINE = Distributed('lh', currentDatabase(), 'scenario_counts_state_local', rand());

-- 0005_state.sql
CREATE MATERIALIZED VIEW IF NOT EXISTS scenario_counts_state_mv_local TO scenario_counts_state_local AS SELECT
    toDate(u.crm_updated_at, 'Asia/Kolkata') AS day_ist,
    scenario,
    u.project_name AS project_name,
    u.source AS source,
    uniqExactState(u.callback_id) AS callbacks,
    uniqExactState(u.lead_id) AS leads
FROM lead_updates_local AS u
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

-- 0005_state.sql
INSERT INTO scenario_counts_state_local SELECT
    toDate(u.crm_updated_at, 'Asia/Kolkata') AS day_ist,
    scenario,
    u.project_name AS project_name,
    u.source AS source,
    uniqExactState(u.callback_id) AS callbacks,
    uniqExactState(u.lead_id) AS leads
FROM lead_updates_local AS u
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

-- 0006_current_views.sql
CREATE OR REPLACE VIEW leads_current_local AS SELECT
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
FROM leads_state_local AS s FINAL
LEFT JOIN (SELECT lead_id, minMapMerge(deliveries) AS d FROM lead_deliveries_local GROUP BY lead_id) AS c ON c.lead_id = s.lead_id
COMMENT 'one row per lead: its latest callback in CRM time (greatest crm_updated_at, then arrival), plus first_seen_at and the number of distinct callbacks';

-- 0006_current_views.sql
CREATE OR REPLACE TABLE leads_current AS leads_current_local ENGINE = Distributed('lh', currentDatabase(), 'leads_current_local');

-- 0006_current_views.sql
CREATE OR REPLACE VIEW events_current_local AS SELECT
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
FROM events_state_local AS s FINAL
LEFT JOIN (SELECT lead_id, event_id, min(first_seen_at) AS first_seen_at FROM events_seen_local GROUP BY lead_id, event_id) AS c ON c.lead_id = s.lead_id AND c.event_id = s.event_id
COMMENT 'latest copy of each event (followup, site visit, face to face) of each lead: the one with the greatest (event_updated_at, crm_updated_at, arrival)';

-- 0006_current_views.sql
CREATE OR REPLACE TABLE events_current AS events_current_local ENGINE = Distributed('lh', currentDatabase(), 'events_current_local');

-- 0006_current_views.sql
CREATE OR REPLACE VIEW notes_current_local AS SELECT
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
FROM notes_state_local AS s FINAL
LEFT JOIN (SELECT lead_id, note_id, min(first_seen_at) AS first_seen_at FROM notes_seen_local GROUP BY lead_id, note_id) AS c ON c.lead_id = s.lead_id AND c.note_id = s.note_id
COMMENT 'latest copy of each note of each lead (event notes have event_id): the one with the greatest (updated_at, crm_updated_at, arrival)';

-- 0006_current_views.sql
CREATE OR REPLACE TABLE notes_current AS notes_current_local ENGINE = Distributed('lh', currentDatabase(), 'notes_current_local');

-- 0006_current_views.sql
CREATE OR REPLACE VIEW calls_current_local AS SELECT
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
FROM calls_state_local AS s FINAL
LEFT JOIN (SELECT lead_id, call_id, min(first_seen_at) AS first_seen_at FROM calls_seen_local GROUP BY lead_id, call_id) AS c ON c.lead_id = s.lead_id AND c.call_id = s.call_id
COMMENT 'latest copy of each call of each lead: the one with the greatest (updated_at, crm_updated_at, arrival)';

-- 0006_current_views.sql
CREATE OR REPLACE TABLE calls_current AS calls_current_local ENGINE = Distributed('lh', currentDatabase(), 'calls_current_local');

-- 0006_current_views.sql
CREATE OR REPLACE VIEW dispositions_current_local AS SELECT
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
FROM dispositions_state_local AS s FINAL
LEFT JOIN (SELECT lead_id, disposition_id, min(first_seen_at) AS first_seen_at, min(first_crm_updated_at) AS first_crm_updated_at FROM dispositions_seen_local GROUP BY lead_id, disposition_id) AS c ON c.lead_id = s.lead_id AND c.disposition_id = s.disposition_id
COMMENT 'latest copy of each call-center disposition of each lead: the one with the greatest (created_at, crm_updated_at, arrival)';

-- 0006_current_views.sql
CREATE OR REPLACE TABLE dispositions_current AS dispositions_current_local ENGINE = Distributed('lh', currentDatabase(), 'dispositions_current_local');

-- 0006_current_views.sql
CREATE OR REPLACE VIEW booking_docs_current_local AS SELECT
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
FROM booking_docs_state_local AS s FINAL
LEFT JOIN (SELECT lead_id, doc_id, min(first_seen_at) AS first_seen_at FROM booking_docs_seen_local GROUP BY lead_id, doc_id) AS c ON c.lead_id = s.lead_id AND c.doc_id = s.doc_id
COMMENT 'latest copy of each booking document of each lead: the one with the greatest (updated_at, crm_updated_at, arrival)';

-- 0006_current_views.sql
CREATE OR REPLACE TABLE booking_docs_current AS booking_docs_current_local ENGINE = Distributed('lh', currentDatabase(), 'booking_docs_current_local');

-- 0006_current_views.sql
CREATE OR REPLACE VIEW status_transitions_current_local AS SELECT
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
FROM status_transitions_state_local AS s FINAL
LEFT JOIN (SELECT lead_id, status, min(first_seen_at) AS first_seen_at FROM status_transitions_seen_local GROUP BY lead_id, status) AS c ON c.lead_id = s.lead_id AND c.status = s.status
COMMENT 'per lead and status, the last time the lead moved to that status (greatest moved_at, then crm_updated_at, arrival)';

-- 0006_current_views.sql
CREATE OR REPLACE TABLE status_transitions_current AS status_transitions_current_local ENGINE = Distributed('lh', currentDatabase(), 'status_transitions_current_local');

-- 0006_current_views.sql
CREATE OR REPLACE VIEW scenario_counts_local AS SELECT day_ist, scenario, project_name, source, uniqExactMerge(callbacks) AS callbacks, uniqExactMerge(leads) AS leads
FROM scenario_counts_state_local
GROUP BY day_ist, scenario, project_name, source
COMMENT 'distinct callbacks and leads matching each scenario, by IST day of the callback''s crm_updated_at, project and source';

-- 0006_current_views.sql
CREATE OR REPLACE TABLE scenario_counts_shards AS scenario_counts_local ENGINE = Distributed('lh', currentDatabase(), 'scenario_counts_local');

-- 0006_current_views.sql
CREATE OR REPLACE VIEW scenario_counts AS SELECT day_ist, scenario, project_name, source, sum(callbacks) AS callbacks, sum(leads) AS leads FROM scenario_counts_shards GROUP BY day_ist, scenario, project_name, source;

-- 0007_handoffs_crm_time.sql
CREATE OR REPLACE VIEW cc_to_sales_handoffs_local AS SELECT
    d.lead_id AS lead_id,
    d.disposition_id AS disposition_id,
    d.disposition_type AS disposition_type,
    d.disposition_type_raw AS disposition_type_raw,
    coalesce(d.created_at, d.first_crm_updated_at) AS handed_off_at,
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
COMMENT 'leads the call center handed to sales: when (CRM time), by which disposition and agent, for which project';

-- 0007_handoffs_crm_time.sql
CREATE OR REPLACE TABLE cc_to_sales_handoffs AS cc_to_sales_handoffs_local ENGINE = Distributed('lh', currentDatabase(), 'cc_to_sales_handoffs_local');

-- 0008_replays_and_rebuilds.sql
CREATE TABLE IF NOT EXISTS dead_letter_replays_local
(
    dead_letter_id UInt64 COMMENT 'cityHash64(received_at, remote_addr, body) of the dead letter',
    replayed_at DateTime64(3, 'UTC') COMMENT 'when replay re-submitted it',
    outcome LowCardinality(String) COMMENT 'stored, duplicate (stored by an earlier replay) or dead_letter (still fails)',
    reason LowCardinality(String) COMMENT 'why it still fails, for outcome dead_letter',
    error String COMMENT 'the error, for outcome dead_letter',
    callback_id String COMMENT 'the callback it became, for stored and duplicate'
)
ENGINE = MergeTree
ORDER BY (dead_letter_id, replayed_at)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'what dead-letters replay made of each dead letter it re-submitted';

-- 0008_replays_and_rebuilds.sql
CREATE TABLE IF NOT EXISTS dead_letter_replays AS dead_letter_replays_local ENGINE = Distributed('lh', currentDatabase(), 'dead_letter_replays_local', rand());

-- 0008_replays_and_rebuilds.sql
CREATE TABLE IF NOT EXISTS rebuild_chunks_local
(
    rebuild String COMMENT 'the rebuild: when it started',
    chunk UInt32 COMMENT 'the bucket of lead ids (lead_id % chunks); dead letters are their own chunk',
    table_name LowCardinality(String),
    rows UInt64 COMMENT 'rows written to the new table',
    done_at DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (rebuild, chunk, table_name)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'progress of leadhouse rebuild';

-- 0008_replays_and_rebuilds.sql
CREATE TABLE IF NOT EXISTS rebuild_chunks AS rebuild_chunks_local ENGINE = Distributed('lh', currentDatabase(), 'rebuild_chunks_local', rand());

-- 0020_personal_data.sql
CREATE TABLE IF NOT EXISTS pii_key_local
(
    k0 UInt64 COMMENT 'first half of the SipHash key',
    k1 UInt64 COMMENT 'second half of the SipHash key',
    created_at DateTime64(3, 'UTC') COMMENT 'when the key was drawn; the views use the earliest row'
)
ENGINE = MergeTree
ORDER BY tuple()
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'secret key of the hashes in the masked views; readable by leadhouse and analyst_pii only';

-- 0020_personal_data.sql
CREATE TABLE IF NOT EXISTS pii_key AS pii_key_local ENGINE = Distributed('lh', currentDatabase(), 'pii_key_local', rand());

-- 0020_personal_data.sql
CREATE TABLE IF NOT EXISTS erasures_local
(
    erased_at DateTime64(3, 'UTC') COMMENT 'when forget finished the request',
    erasure_id String COMMENT 'id of the request, shared by its rows',
    requested_by String COMMENT 'who ran forget (-by, default the operating-system user and host)',
    reason String COMMENT 'the reference forget was given (-reason), such as a ticket number',
    lead_id UInt64 COMMENT 'the lead removed; 0 for a request by phone that matched no lead',
    phone_hash String COMMENT 'keyed hash of the phone number the request named, empty if none',
    matched_by LowCardinality(String) COMMENT 'lead_id (named in the request) or phone (found by its phone number)',
    removed String COMMENT 'JSON object: rows removed by table, and wal_records erased, for the whole request'
)
ENGINE = MergeTree
ORDER BY erased_at
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'audit of erasures: who, when, which lead; never the data';

-- 0020_personal_data.sql
CREATE TABLE IF NOT EXISTS erasures AS erasures_local ENGINE = Distributed('lh', currentDatabase(), 'erasures_local', lead_id);

-- 0021_masked_views.sql
CREATE OR REPLACE VIEW masked_lead_updates_dedup DEFINER = CURRENT_USER SQL SECURITY DEFINER AS WITH
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

-- 0021_masked_views.sql
CREATE OR REPLACE VIEW masked_leads_current DEFINER = CURRENT_USER SQL SECURITY DEFINER AS WITH
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

-- 0021_masked_views.sql
CREATE OR REPLACE VIEW masked_lead_scenarios DEFINER = CURRENT_USER SQL SECURITY DEFINER AS WITH
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

-- 0021_masked_views.sql
CREATE OR REPLACE VIEW masked_scenario_cc_long_call_followup DEFINER = CURRENT_USER SQL SECURITY DEFINER AS WITH
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

-- 0021_masked_views.sql
CREATE OR REPLACE VIEW masked_scenario_cc_transferred_to_sales DEFINER = CURRENT_USER SQL SECURITY DEFINER AS WITH
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

-- 0021_masked_views.sql
CREATE OR REPLACE VIEW masked_scenario_cc_failed DEFINER = CURRENT_USER SQL SECURITY DEFINER AS WITH
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

-- 0021_masked_views.sql
CREATE OR REPLACE VIEW masked_scenario_sales_site_visit_done DEFINER = CURRENT_USER SQL SECURITY DEFINER AS WITH
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

-- 0021_masked_views.sql
CREATE OR REPLACE VIEW masked_scenario_sales_booking_done DEFINER = CURRENT_USER SQL SECURITY DEFINER AS WITH
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

-- 0021_masked_views.sql
CREATE OR REPLACE VIEW masked_scenario_sales_failed DEFINER = CURRENT_USER SQL SECURITY DEFINER AS WITH
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

-- 0021_masked_views.sql
CREATE OR REPLACE VIEW masked_events_current DEFINER = CURRENT_USER SQL SECURITY DEFINER AS SELECT
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

-- 0021_masked_views.sql
CREATE OR REPLACE VIEW masked_notes_current DEFINER = CURRENT_USER SQL SECURITY DEFINER AS WITH
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

-- 0021_masked_views.sql
CREATE OR REPLACE VIEW masked_calls_current DEFINER = CURRENT_USER SQL SECURITY DEFINER AS WITH
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

-- 0021_masked_views.sql
CREATE OR REPLACE VIEW masked_dispositions_current DEFINER = CURRENT_USER SQL SECURITY DEFINER AS WITH
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

-- 0021_masked_views.sql
CREATE OR REPLACE VIEW masked_booking_docs_current DEFINER = CURRENT_USER SQL SECURITY DEFINER AS SELECT
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

-- 0021_masked_views.sql
CREATE OR REPLACE VIEW masked_status_transitions_current DEFINER = CURRENT_USER SQL SECURITY DEFINER AS SELECT
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

-- 0021_masked_views.sql
CREATE OR REPLACE VIEW masked_lead_status_durations DEFINER = CURRENT_USER SQL SECURITY DEFINER AS SELECT
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

-- 0021_masked_views.sql
CREATE OR REPLACE VIEW masked_lead_funnel DEFINER = CURRENT_USER SQL SECURITY DEFINER AS SELECT
    src.day_ist AS day_ist,
    src.project_id AS project_id,
    src.project_name AS project_name,
    src.source AS source,
    src.status AS status,
    src.status_order AS status_order,
    src.leads AS leads
FROM lead_funnel AS src
COMMENT 'lead_funnel for analysts: personal columns masked';

-- 0021_masked_views.sql
CREATE OR REPLACE VIEW masked_cc_to_sales_handoffs DEFINER = CURRENT_USER SQL SECURITY DEFINER AS WITH
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

-- 0021_masked_views.sql
CREATE OR REPLACE VIEW masked_dead_letters_recent DEFINER = CURRENT_USER SQL SECURITY DEFINER AS SELECT
    src.received_at AS received_at,
    src.received_at_ist AS received_at_ist,
    src.remote_addr AS remote_addr,
    src.reason AS reason,
    src.error AS error,
    src.body_size AS body_size,
    '' AS body_head
FROM dead_letters_recent AS src
COMMENT 'dead_letters_recent for analysts: personal columns masked';

-- 0021_masked_views.sql
CREATE OR REPLACE VIEW masked_unrecognized_values DEFINER = CURRENT_USER SQL SECURITY DEFINER AS SELECT
    src.field AS field,
    src.value AS value,
    src.raw_example AS raw_example,
    src.callbacks AS callbacks,
    src.leads AS leads,
    src.first_seen_at AS first_seen_at,
    src.last_seen_at AS last_seen_at
FROM unrecognized_values AS src
COMMENT 'unrecognized_values for analysts: personal columns masked';

-- 0022_masked_state.sql
CREATE OR REPLACE VIEW masked_leads_current DEFINER = CURRENT_USER SQL SECURITY DEFINER AS WITH
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

-- 0022_masked_state.sql
CREATE OR REPLACE VIEW masked_events_current DEFINER = CURRENT_USER SQL SECURITY DEFINER AS SELECT
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

-- 0022_masked_state.sql
CREATE OR REPLACE VIEW masked_notes_current DEFINER = CURRENT_USER SQL SECURITY DEFINER AS WITH
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

-- 0022_masked_state.sql
CREATE OR REPLACE VIEW masked_calls_current DEFINER = CURRENT_USER SQL SECURITY DEFINER AS WITH
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

-- 0022_masked_state.sql
CREATE OR REPLACE VIEW masked_dispositions_current DEFINER = CURRENT_USER SQL SECURITY DEFINER AS WITH
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

-- 0022_masked_state.sql
CREATE OR REPLACE VIEW masked_status_transitions_current DEFINER = CURRENT_USER SQL SECURITY DEFINER AS SELECT
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

-- 0022_masked_state.sql
CREATE OR REPLACE VIEW masked_booking_docs_current DEFINER = CURRENT_USER SQL SECURITY DEFINER AS SELECT
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

-- 0022_masked_state.sql
CREATE OR REPLACE VIEW masked_scenario_counts DEFINER = CURRENT_USER SQL SECURITY DEFINER AS SELECT
    src.day_ist AS day_ist,
    src.scenario AS scenario,
    src.project_name AS project_name,
    src.source AS source,
    src.callbacks AS callbacks,
    src.leads AS leads
FROM scenario_counts AS src
COMMENT 'scenario_counts for analysts: counts only, nothing to mask';

