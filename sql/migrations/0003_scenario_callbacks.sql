-- 0003_scenario_callbacks: the scenario rules read a narrow copy of the callbacks they can match.
--
-- lead_scenarios (0002) found its callbacks in lead_updates: 85 columns, in parts that also carry
-- every raw body, so the view read and de-duplicated far more than its rules use (over a million
-- callbacks, ~0.6 to 0.9 s warm and 1.5 to 2 s cold). scenario_callbacks holds only the callbacks
-- whose action some rule needs, with only the columns the view shows, and lead_scenarios reads it
-- with the same de-duplication and the same rules: every count is what it was.
--
--   * A materialized view fills it as lead_updates is written, in the same INSERT. The action
--     filter below must name every action a rule in lead_scenarios requires.
--   * MergeTree, ordered and partitioned like lead_updates, for the same reason: every delivery is
--     kept and the view keeps a callback's earliest one. A batch the sink retries under its
--     deduplication token is dropped in lead_updates and so never reaches the materialized view.
--   * The INSERT ... SELECT copies the callbacks stored before this migration, skipping deliveries
--     already copied: those the materialized view wrote since it was created, and those of an
--     earlier, interrupted run of this file. (Any copy it still made twice would be dropped by the
--     view's de-duplication.)

CREATE TABLE IF NOT EXISTS scenario_callbacks
(
    lead_id UInt64,
    callback_id String,
    received_at DateTime64(3, 'UTC') CODEC(Delta(8), ZSTD(1)),
    mapping_version UInt16,
    action LowCardinality(String),
    lead_status LowCardinality(String),
    last_status LowCardinality(String),
    project_id Nullable(UInt64),
    project_name LowCardinality(String),
    source LowCardinality(String),
    agent_name String,
    agent_email String,
    latest_disposition_type LowCardinality(String),
    latest_call_duration_sec Nullable(Int64),
    latest_event_type LowCardinality(String),
    action_raw LowCardinality(String),
    lead_status_raw LowCardinality(String),
    last_status_raw LowCardinality(String),
    latest_disposition_type_raw LowCardinality(String),
    latest_event_type_raw LowCardinality(String)
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(received_at)
ORDER BY (lead_id, callback_id)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'copy of the lead_updates columns lead_scenarios reads, for callbacks a scenario rule can match; read lead_scenarios';

CREATE MATERIALIZED VIEW IF NOT EXISTS scenario_callbacks_mv TO scenario_callbacks AS
SELECT lead_id, callback_id, received_at, mapping_version, action, lead_status, last_status, project_id, project_name, source, agent_name, agent_email, latest_disposition_type, latest_call_duration_sec, latest_event_type, action_raw, lead_status_raw, last_status_raw, latest_disposition_type_raw, latest_event_type_raw
FROM lead_updates
WHERE action IN ('disposition_created', 'event_update', 'status_and_agent_update', 'status_update');

INSERT INTO scenario_callbacks
SELECT lead_id, callback_id, received_at, mapping_version, action, lead_status, last_status, project_id, project_name, source, agent_name, agent_email, latest_disposition_type, latest_call_duration_sec, latest_event_type, action_raw, lead_status_raw, last_status_raw, latest_disposition_type_raw, latest_event_type_raw
FROM lead_updates
WHERE action IN ('disposition_created', 'event_update', 'status_and_agent_update', 'status_update')
    AND (lead_id, callback_id, received_at, mapping_version) NOT IN (SELECT lead_id, callback_id, received_at, mapping_version FROM scenario_callbacks);

-- lead_scenarios: as in 0002 (its comments give the rules and the decisions behind them), reading
-- scenario_callbacks.
CREATE OR REPLACE VIEW lead_scenarios AS
SELECT scenario, lead_id, callback_id, received_at, received_at_ist, action, lead_status, last_status, project_id, project_name, source, agent_name, agent_email, latest_disposition_type, latest_call_duration_sec, latest_event_type, action_raw, lead_status_raw, last_status_raw, latest_disposition_type_raw, latest_event_type_raw
FROM
(
    SELECT *, toTimeZone(received_at, 'Asia/Kolkata') AS received_at_ist
    FROM scenario_callbacks
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
