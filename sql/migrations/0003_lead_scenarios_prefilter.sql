-- 0003_lead_scenarios_prefilter: lead_scenarios evaluates its rules BEFORE de-duplicating, so the
-- ORDER BY ... LIMIT 1 BY sorts only the callbacks some rule matches (about a quarter of those
-- with a rule's action). Over a million generated callbacks it answers in ~250 ms warm and
-- 0.7-0.9 s in a fresh process, against ~550 ms and 1.2-1.4 s for 0002's definition.
--
-- Why the answer is the same: a callback's deliveries are one body, and the flattener turns one
-- body into the same rows under one mapping version (a change to the rows a body becomes must
-- raise schema.MappingVersion), so they match the same rules, and keeping only matching rows
-- cannot change which delivery comes first among them. Only rows of different mapping versions
-- can disagree: there the de-duplication prefers the newest mapping (mapping_version DESC), so
-- when lead_updates holds more than one version, no row is dropped before it. The rules
-- themselves, and each example's decisions, are 0002's, unchanged.
--
-- The guard asks lead_updates itself (a scalar subquery, computed once per query), so it holds
-- however rows arrive: inserts, attached or replaced partitions, exchanged tables, mutations. It
-- reads the 2-byte mapping_version column of the whole table, nearly constant and compressed to
-- almost nothing: about 15 ms per million rows here, also when the view is filtered by lead. A
-- table kept by a materialized view was tried instead and missed rows that arrive without an
-- INSERT.
CREATE OR REPLACE VIEW lead_scenarios AS
SELECT scenario, lead_id, callback_id, received_at, received_at_ist, action, lead_status, last_status, project_id, project_name, source, agent_name, agent_email, latest_disposition_type, latest_call_duration_sec, latest_event_type, action_raw, lead_status_raw, last_status_raw, latest_disposition_type_raw, latest_event_type_raw
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
    FROM lead_updates
    WHERE action IN ('disposition_created', 'event_update', 'status_and_agent_update', 'status_update')
      AND (notEmpty(scenarios) OR (SELECT min(mapping_version) != max(mapping_version) FROM lead_updates))
    ORDER BY lead_id, callback_id, received_at, mapping_version DESC
    LIMIT 1 BY lead_id, callback_id
)
ARRAY JOIN scenarios AS scenario
COMMENT 'every scenario match, one row per (scenario, callback)';
