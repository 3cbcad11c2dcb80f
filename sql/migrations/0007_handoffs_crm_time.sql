-- 0007_handoffs_crm_time: cc_to_sales_handoffs falls back on CRM time.
--
-- handed_off_at is the disposition's created_at; for a disposition the CRM sent without one, 0002
-- fell back on when leadhouse first received it. It now falls back on first_crm_updated_at, the
-- crm_updated_at of the first callback that carried it: the CRM's own clock, which a delivery
-- that was late does not move. Otherwise as 0002.
CREATE OR REPLACE VIEW cc_to_sales_handoffs AS
SELECT
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
FROM dispositions_current AS d
LEFT JOIN leads_current AS l ON l.lead_id = d.lead_id
WHERE d.disposition_type IN ('fresh', 'patch_out')
COMMENT 'leads the call center handed to sales: when (CRM time), by which disposition and agent, for which project';
