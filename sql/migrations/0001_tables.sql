-- 0001_tables: every table leadhouse writes, exactly as package schema describes them.
--
-- package schema (schema/rows.go, schema/schema.go) is the single source of truth: the sql tests
-- compare DESCRIBE TABLE and system.tables with it column for column, so a change starts there and
-- arrives here as a NEW migration (ALTER TABLE ... ADD COLUMN IF NOT EXISTS), never as an edit of
-- this file: the runner refuses a migration whose checksum changed after it was applied.
--
-- Choices shared by all tables:
--   * LowCardinality(String) for words drawn from a small vocabulary (statuses, actions, sources,
--     projects, cities): dictionary-encoded, so they take a few bits a row and GROUP BY on them is
--     cheap. Free text and identifiers (names, phones, URLs, notes) stay plain String because a
--     dictionary of millions of distinct values is slower than no dictionary.
--   * Nullable only where the CRM really sends null or omits the key and 0 would be a lie (ids,
--     budgets, timestamps). Strings use '' for null: analysts filter `x != ''` and no null mask is
--     stored.
--   * received_at DateTime64(3, 'UTC') CODEC(Delta(8), ZSTD(1)): callbacks arrive in time order, so
--     consecutive values differ by little and delta-coded milliseconds compress to a few bits.
--     Every timestamp is stored in UTC; the views add *_ist columns (Asia/Kolkata) for reports.
--   * The raw body and note text get ZSTD(3): they are long, repetitive JSON and prose, read rarely,
--     and ZSTD(3) stores them in well under half the space of the default LZ4 (measured on bodies
--     made from the CRM sample: 2.5 times smaller) at a small CPU cost.
--   * non_replicated_deduplication_window = 10000 on every MergeTree-family table: the sink sends
--     each batch with an insert_deduplication_token, and the engine remembers the last 10000 tokens
--     per table, so a batch re-sent after an ambiguous failure (timeout, crash before the ack, WAL
--     replay) is stored once. 10000 blocks cover hours of batches even at one flush a second.
--
-- Entities that the CRM repeats in every callback of a lead (event_details, notes, calls,
-- dispositions, status_changes, booking_docs) are ReplacingMergeTree(received_at) ordered by
-- (lead_id, <entity id>): each callback inserts a fresh copy of every entity, background merges
-- keep only the copy with the greatest received_at (the latest state of the entity, e.g. an event
-- that went from scheduled to cancelled), and the *_current views (0002_views.sql) pick that same
-- copy at read time with ORDER BY received_at DESC ... LIMIT 1 BY, because merges run whenever the
-- engine likes and a query must not depend on them. These tables are not partitioned, so the
-- sorting key alone identifies an entity across the whole table.
--
-- Tables are unqualified: the runner executes this file against a store bound to one database.

-- schema_migrations records each applied migration file. The runner creates it from this statement
-- before it reads what was applied, so this statement must stay first in this file.
CREATE TABLE IF NOT EXISTS schema_migrations
(
    version UInt32 COMMENT 'NNNN prefix of the migration file',
    name String COMMENT 'migration file name, e.g. 0001_tables.sql',
    checksum String COMMENT 'hex SHA-256 of the file as applied; a changed file is refused',
    applied_at DateTime64(3, 'UTC') COMMENT 'when the runner finished the file'
)
ENGINE = MergeTree
ORDER BY version
-- Two runners that race (two starts at once) record a file with the same deduplication token, so
-- the second record is dropped instead of listing the file twice.
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'migration files applied to this database, one row per file';

-- lead_updates: one row per callback, every scalar of the lead plus facts derived from its arrays.
--
-- ORDER BY (lead_id, callback_id): analysts read one lead's history or filter by lead, so lead_id
-- leads the key and a lead's callbacks sit together on disk; callback_id (a hash of the body)
-- puts a lead's deliveries of the same callback next to each other.
-- PARTITION BY toYYYYMM(received_at): monthly partitions keep the number of parts low (a partition
-- per day would mean thousands of tiny parts) while letting old months be dropped or moved whole.
-- ENGINE = MergeTree, not ReplacingMergeTree: a re-delivered callback is kept as a second row and
-- removed by the view lead_updates_dedup, which keeps its FIRST delivery. A ReplacingMergeTree
-- would keep the LAST one after a merge, so an old callback re-sent after a newer one could move
-- forward in time and become the lead's "current" state. Re-deliveries are rare, so keeping them
-- costs little; a batch retried or replayed with the same insert_deduplication_token is still
-- stored once (non_replicated_deduplication_window).
-- min_bytes_for_wide_part = 256 MiB: each flush writes a few tens of MB of this 85-column table; as
-- a Wide part that is two files per column per insert, as a Compact part one file. Measured on the
-- embedded engine, 4,000 generated callbacks insert in ~435 ms Compact against ~600 ms Wide.
-- Merges turn parts past 256 MiB into Wide parts, which is what queries over history read.
CREATE TABLE IF NOT EXISTS lead_updates
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

-- events: one row per element of event_details (followups, site visits, face-to-face meetings).
CREATE TABLE IF NOT EXISTS events
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

-- notes: lead notes and event notes (event_id set). The key is the note id alone within a lead, so
-- a note that the CRM lists both under the lead and under an event is one note.
CREATE TABLE IF NOT EXISTS notes
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

CREATE TABLE IF NOT EXISTS calls
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

CREATE TABLE IF NOT EXISTS dispositions
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

-- status_transitions: one row per moved_to_<status> key of status_changes. The CRM keeps only the
-- last time a lead moved to each status, so (lead_id, status) is the entity's key.
CREATE TABLE IF NOT EXISTS status_transitions
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

CREATE TABLE IF NOT EXISTS booking_docs
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

-- dead_letters: bodies that could not become rows, kept whole so they can be fixed and replayed.
-- Plain MergeTree: every rejected request is its own fact. Ordered and partitioned by time because
-- it is read as "what was rejected recently" and old months can be dropped.
CREATE TABLE IF NOT EXISTS dead_letters
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
