-- 0002_views: the views analysts read. Raw tables keep every copy the CRM sent; these views pick one
-- row per callback, per lead or per entity, so nothing is counted twice.
--
-- Conventions:
--   * Every view is CREATE OR REPLACE, so a later migration can change it by restating it.
--   * Timestamps are stored in UTC; *_ist columns are the same instants in Asia/Kolkata (IST),
--     the CRM's and the sales team's time zone. Days (day_ist) are IST days.
--   * Rules compare CANONICAL values (lead_status, action, latest_disposition_type, ...), which the
--     flattener derives from the raw spellings: "Fail", "Failed", " FAILED " are all `failed`;
--     "followup" and "follow_up" dispositions are `follow_up`; call_logged is `call_created` and
--     lead_updated is `lead_update`. The *_raw columns keep what was sent.
--   * One copy is picked with ORDER BY ... LIMIT 1 BY <key>, neither by trusting merges nor with
--     FINAL. Background merges collapse copies only within a partition (lead_updates is partitioned
--     by month and a re-delivery can cross a month boundary) and only when the engine gets to it.
--     SELECT ... FINAL does collapse across partitions (unless do_not_merge_across_partitions_
--     select_final is set), but it keeps the copy with the greatest received_at, not the one
--     lead_updates_dedup wants; between copies with equal received_at it keeps the last inserted;
--     and it discards the older copies first_seen_at is computed from. ORDER BY + LIMIT 1 BY states
--     the choice and the tie-break, and counts the same before and after merges (lead_updates is
--     a plain MergeTree that keeps every delivery). A filter on lead_id is pushed below LIMIT 1 BY, so
--     reading one lead through a view reads only that lead.

-- lead_updates_dedup: one row per distinct callback.
--
-- Decision: the CRM may deliver the same callback more than once (it retries when our answer is
-- lost); identical bodies get the same callback_id. Of the copies, the view keeps the EARLIEST
-- received_at: that is when the event happened, and keeping a later copy would let a late
-- re-delivery of an old callback pose as the lead's newest state in leads_current. Between copies
-- received in the same millisecond, the one made by the newest mapping (a rebuild) wins.
-- ORDER BY starts with the table's sorting key so the engine can read in key order.
CREATE OR REPLACE VIEW lead_updates_dedup AS
SELECT
    *,
    toTimeZone(received_at, 'Asia/Kolkata') AS received_at_ist
FROM lead_updates
ORDER BY lead_id, callback_id, received_at, mapping_version DESC
LIMIT 1 BY lead_id, callback_id
COMMENT 'one row per distinct callback (re-deliveries dropped, earliest kept); all lead_updates columns plus received_at_ist';

-- The scenario rules follow the CRM document's "Few Examples of the hooks about consuming hooks",
-- one per example, in its order; each example's decisions are written above its view below.
--
-- lead_scenarios: every scenario match, one row per (scenario, callback), scenario = view name
-- without "scenario_". It is where the six rules live, evaluated in ONE pass over the
-- deduplicated callbacks: a UNION of six views would read and deduplicate lead_updates six times
-- (4.6 s over a million callbacks). Two things make the pass cheap, and neither changes a count:
--   * every rule requires one of the actions below, so other callbacks are dropped before the
--     deduplication (a callback's deliveries are the same body, hence the same action);
--   * the same ORDER BY ... LIMIT 1 BY as lead_updates_dedup then keeps each callback's earliest
--     delivery, reading in the table's key order.
-- As written, the rules are mutually exclusive (examples 1 and 2 differ in disposition, 3 and 6 in
-- last_status, 5 in lead_status, 4 in action), but ARRAY JOIN would list a callback under every
-- rule it met if a future rule overlapped.
CREATE OR REPLACE VIEW lead_scenarios AS
SELECT scenario, lead_id, callback_id, received_at, received_at_ist, action, lead_status, last_status, project_id, project_name, source, agent_name, agent_email, latest_disposition_type, latest_call_duration_sec, latest_event_type, action_raw, lead_status_raw, last_status_raw, latest_disposition_type_raw, latest_event_type_raw
FROM
(
    SELECT *, toTimeZone(received_at, 'Asia/Kolkata') AS received_at_ist
    FROM lead_updates
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

-- Example 1: "Lead is in call center bucket call duration is more than 60 sec and not moved to Junk
-- & Failed". Its conditions: action disposition_created, lead_status In Call Center,
-- dispositions[0].disposition_type followup, calls[0].duration_in_sec > 60.
-- Decisions: the action condition is required, as written. "Not moved to Junk & Failed" needs no
-- rule of its own: the lead is still in the call center. Exactly 60 s does not count (> 60), and a
-- lead without calls (null duration) does not match. The document writes `followup` here but
-- `follow_up` in its list of disposition types; both are canonical follow_up.
CREATE OR REPLACE VIEW scenario_cc_long_call_followup AS
SELECT * EXCEPT scenario FROM lead_scenarios WHERE scenario = 'cc_long_call_followup'
COMMENT 'CRM example 1: call-center follow-up after a call longer than 60 s';

-- Example 2: "Lead was in call center bucket and transfer to sales team (Through patch out or send
-- to fresh)". Conditions: action disposition_created, dispositions[0].disposition_type fresh or
-- patch_out. Decision: no lead_status condition, as written; only the call center creates
-- dispositions, so the title's "was in call center" is implied.
CREATE OR REPLACE VIEW scenario_cc_transferred_to_sales AS
SELECT * EXCEPT scenario FROM lead_scenarios WHERE scenario = 'cc_transferred_to_sales'
COMMENT 'CRM example 2: call center hands the lead to sales (disposition fresh or patch_out)';

-- Example 3: "Lead is in call center bucket call duration is more than 60 sec and move to failed".
-- Conditions: action status_update or status_and_agent_update, lead_status Failed or Junk,
-- last_status In Call Center, dispositions[0].disposition_type failed or junk.
-- Decisions:
--   * The call duration in the title is NOT required: the conditions, the executable part, do not
--     test it (the title repeats example 1's). Requiring it would drop leads the call center fails
--     after short or unanswered calls from this view, and example 6 excludes them too (their
--     last_status is In Call Center), so they would be counted nowhere. latest_call_duration_sec is
--     a column, for analysts who want the stricter reading.
--   * The document says "Failed" here and "Fail" in its status list: both are canonical failed.
--   * last_status must be in_call_center; an empty (null) last_status does not match.
CREATE OR REPLACE VIEW scenario_cc_failed AS
SELECT * EXCEPT scenario FROM lead_scenarios WHERE scenario = 'cc_failed'
COMMENT 'CRM example 3: call center marks the lead failed or junk';

-- Example 4: "Lead is in Sales team bucket and Site visit event as completed/done by the sales team
-- with sales manager". Conditions: action event_update, lead_status Visit done,
-- latest_event_details.event_type sv. A face-to-face (f2f) latest event does not match.
CREATE OR REPLACE VIEW scenario_sales_site_visit_done AS
SELECT * EXCEPT scenario FROM lead_scenarios WHERE scenario = 'sales_site_visit_done'
COMMENT 'CRM example 4: sales completes a site visit';

-- Example 5: "Lead is in Sales team bucket and lead status change to booking done with sales
-- manager". Conditions: action status_update, lead_status Booking done. Decision: only
-- status_update, as written (the document lists status_and_agent_update for example 3 only).
CREATE OR REPLACE VIEW scenario_sales_booking_done AS
SELECT * EXCEPT scenario FROM lead_scenarios WHERE scenario = 'sales_booking_done'
COMMENT 'CRM example 5: sales books the lead';

-- Example 6: "Lead is in Sales team bucket and lead status change to failed with sales manager".
-- Conditions: action status_update, lead_status Failed or Junk, last_status !== In Call Center.
-- Decisions:
--   * An empty (null) last_status COUNTS as "not In Call Center": the document's condition is
--     JavaScript, where null !== 'In Call Center' is true, and a lead with no previous status was
--     never in the call center. The flattener stores null as '', so `!=` already says so.
--   * Only status_update, as written; a failure after the call center is example 3's.
CREATE OR REPLACE VIEW scenario_sales_failed AS
SELECT * EXCEPT scenario FROM lead_scenarios WHERE scenario = 'sales_failed'
COMMENT 'CRM example 6: sales marks the lead failed or junk';

-- leads_current: one row per lead, its latest state.
-- The latest state is the deduplicated callback with the greatest received_at; callbacks received
-- in the same millisecond are ordered by callback_id so the answer is stable. first_seen_at and
-- callbacks count distinct callbacks, so re-deliveries do not inflate them. The raw body is left
-- out (it is in lead_updates).
CREATE OR REPLACE VIEW leads_current AS
SELECT
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
    FROM lead_updates_dedup
    ORDER BY lead_id, received_at DESC, callback_id DESC
    LIMIT 1 BY lead_id
)
COMMENT 'one row per lead: its latest callback, plus first_seen_at and the number of distinct callbacks';

-- The *_current views: the latest copy of each entity the CRM repeats in every callback (one row
-- per lead and entity id), with first_seen_at (when the entity first arrived) and the copy's own
-- received_at and callback_id. This is the copy ReplacingMergeTree(received_at) keeps after merges;
-- copies received in the same millisecond are ordered by mapping_version, then callback_id.
-- An entity that disappears from later callbacks keeps its last copy: compare received_at with
-- leads_current.last_seen_at to tell.

CREATE OR REPLACE VIEW events_current AS
SELECT
    *,
    toTimeZone(received_at, 'Asia/Kolkata') AS received_at_ist,
    toTimeZone(start_time, 'Asia/Kolkata') AS start_time_ist,
    min(received_at) OVER (PARTITION BY lead_id, event_id) AS first_seen_at
FROM events
ORDER BY lead_id, event_id, received_at DESC, mapping_version DESC, callback_id DESC
LIMIT 1 BY lead_id, event_id
COMMENT 'latest copy of each event (followup, site visit, face to face) of each lead';

CREATE OR REPLACE VIEW notes_current AS
SELECT
    *,
    toTimeZone(received_at, 'Asia/Kolkata') AS received_at_ist,
    toTimeZone(created_at, 'Asia/Kolkata') AS created_at_ist,
    min(received_at) OVER (PARTITION BY lead_id, note_id) AS first_seen_at
FROM notes
ORDER BY lead_id, note_id, received_at DESC, mapping_version DESC, callback_id DESC
LIMIT 1 BY lead_id, note_id
COMMENT 'latest copy of each note of each lead (event notes have event_id)';

CREATE OR REPLACE VIEW calls_current AS
SELECT
    *,
    toTimeZone(received_at, 'Asia/Kolkata') AS received_at_ist,
    toTimeZone(start_time, 'Asia/Kolkata') AS start_time_ist,
    min(received_at) OVER (PARTITION BY lead_id, call_id) AS first_seen_at
FROM calls
ORDER BY lead_id, call_id, received_at DESC, mapping_version DESC, callback_id DESC
LIMIT 1 BY lead_id, call_id
COMMENT 'latest copy of each call of each lead';

CREATE OR REPLACE VIEW dispositions_current AS
SELECT
    *,
    toTimeZone(received_at, 'Asia/Kolkata') AS received_at_ist,
    toTimeZone(created_at, 'Asia/Kolkata') AS created_at_ist,
    min(received_at) OVER (PARTITION BY lead_id, disposition_id) AS first_seen_at
FROM dispositions
ORDER BY lead_id, disposition_id, received_at DESC, mapping_version DESC, callback_id DESC
LIMIT 1 BY lead_id, disposition_id
COMMENT 'latest copy of each call-center disposition of each lead';

CREATE OR REPLACE VIEW booking_docs_current AS
SELECT
    *,
    toTimeZone(received_at, 'Asia/Kolkata') AS received_at_ist,
    min(received_at) OVER (PARTITION BY lead_id, doc_id) AS first_seen_at
FROM booking_docs
ORDER BY lead_id, doc_id, received_at DESC, mapping_version DESC, callback_id DESC
LIMIT 1 BY lead_id, doc_id
COMMENT 'latest copy of each booking document of each lead';

-- status_transitions_current: per lead and status, the last time the lead moved to it. The CRM's
-- status_changes keeps only that last time, so earlier visits to a status are not known.
CREATE OR REPLACE VIEW status_transitions_current AS
SELECT
    *,
    toTimeZone(received_at, 'Asia/Kolkata') AS received_at_ist,
    toTimeZone(moved_at, 'Asia/Kolkata') AS moved_at_ist,
    min(received_at) OVER (PARTITION BY lead_id, status) AS first_seen_at
FROM status_transitions
ORDER BY lead_id, status, received_at DESC, mapping_version DESC, callback_id DESC
LIMIT 1 BY lead_id, status
COMMENT 'per lead and status, the last time the lead moved to that status';

-- lead_status_durations: for each lead, the time between consecutive status transitions, from
-- status_transitions_current ordered by moved_at (ties, common because the CRM stamps several
-- statuses with one time, in status_changes order). A row says: the lead entered from_status at
-- from_at and its next transition, to to_status, was at to_at, `seconds` later. The status a lead
-- is in now has no row (it has no next transition yet), and because the CRM keeps only the last
-- entry into each status, a lead that returned to a status shows only its last stay.
CREATE OR REPLACE VIEW lead_status_durations AS
SELECT
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
    FROM status_transitions_current
    WINDOW w AS (PARTITION BY lead_id ORDER BY moved_at, position ROWS BETWEEN CURRENT ROW AND 1 FOLLOWING)
)
WHERE next_at IS NOT NULL
COMMENT 'per lead, the seconds between consecutive status transitions (from_status entered at from_at, left for to_status at to_at)';

-- lead_funnel: how many leads reached each status, by IST day, project and source.
-- Definition: `leads` is the number of distinct leads whose (last) move to `status` happened on
-- day_ist, from status_transitions_current. Each lead counts at most once per status, so summing
-- `leads` over days gives the leads that ever reached the status (as far as status_changes tells),
-- and a stage's number can be compared with the next stage's. Project and source are the lead's
-- CURRENT ones (leads_current), so a lead is counted under one project in every stage.
-- status_order ranks statuses along the sales pipeline for sorting (0 for a status not in the
-- document).
CREATE OR REPLACE VIEW lead_funnel AS
SELECT
    toDate(t.moved_at, 'Asia/Kolkata') AS day_ist,
    l.project_id AS project_id,
    l.project_name AS project_name,
    l.source AS source,
    t.status AS status,
    indexOf(['new', 'fresh', 'claimed', 'interested', 'meeting_done', 'visit_done', 'final_negotiation',
             'booking_done', 'in_call_center', 'in_transfer', 'linked', 'failed', 'junk'], t.status) AS status_order,
    uniqExact(t.lead_id) AS leads
FROM status_transitions_current AS t
LEFT JOIN leads_current AS l ON l.lead_id = t.lead_id
GROUP BY day_ist, project_id, project_name, source, status, status_order
COMMENT 'distinct leads that moved to each status, by IST day of the move, current project and source';

-- cc_to_sales_handoffs: one row per call-center disposition that handed a lead to sales (fresh or
-- patch_out), from dispositions_current, so a handoff counts once however many callbacks repeat
-- it and even if its disposition_created callback was never received. handed_off_at is the
-- disposition's created_at, or when it was first seen if the CRM sent none. cc_agent_name is the
-- call-center agent who recorded it; project, source and the current_* columns are the lead's
-- state now (leads_current). scenario_cc_transferred_to_sales is the per-callback view of the same
-- event, exactly as the CRM document defines it.
CREATE OR REPLACE VIEW cc_to_sales_handoffs AS
SELECT
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
FROM dispositions_current AS d
LEFT JOIN leads_current AS l ON l.lead_id = d.lead_id
WHERE d.disposition_type IN ('fresh', 'patch_out')
COMMENT 'leads the call center handed to sales: when, by which disposition and agent, for which project';

-- dead_letters_recent: what was rejected in the last 7 days, newest first, with the start of each
-- body so a glance tells a broken sender from a changed format.
CREATE OR REPLACE VIEW dead_letters_recent AS
SELECT
    received_at,
    toTimeZone(received_at, 'Asia/Kolkata') AS received_at_ist,
    remote_addr,
    reason,
    error,
    body_size,
    substringUTF8(body, 1, 300) AS body_head
FROM dead_letters
WHERE received_at >= now64(3, 'UTC') - INTERVAL 7 DAY
ORDER BY received_at DESC
-- A request is kept once: after a crash the write-ahead log can replay a rejected body in another
-- batch, and that copy has the same arrival time, sender and body.
LIMIT 1 BY received_at, remote_addr, reason, cityHash64(body)
COMMENT 'request bodies rejected in the last 7 days, newest first';

-- unrecognized_values: values the flattener could not map to the document's vocabulary, and
-- top-level keys it does not know, with how often and when they were seen. A new CRM spelling
-- shows up here before anyone wonders why a scenario stopped firing. value is the canonical
-- (snake case) form; raw_example one spelling as sent.
CREATE OR REPLACE VIEW unrecognized_values AS
WITH
    ['new', 'fresh', 'claimed', 'interested', 'meeting_done', 'visit_done', 'final_negotiation',
     'booking_done', 'failed', 'junk', 'in_call_center', 'in_transfer', 'linked'] AS statuses,
    ['follow_up', 'failed', 'fresh', 'junk', 'patch_out', 'not_contacted', 'call_back'] AS dispositions,
    ['followup', 'sv', 'f2f'] AS event_types
SELECT field, value, any(raw) AS raw_example, count() AS callbacks, uniqExact(lead_id) AS leads,
       min(received_at) AS first_seen_at, max(received_at) AS last_seen_at
FROM
(
    SELECT lead_id, received_at, v.1 AS field, v.2 AS value, v.3 AS raw
    FROM lead_updates_dedup
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
