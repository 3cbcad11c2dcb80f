-- title: Hand-offs by call-centre agent
-- description: Hand-offs in the time range by the call-center agent who made them and the lead's current project, and how many of those leads have booked since.
-- panel: table
-- width: 12
SELECT
    cc_agent_name AS call_center_agent,
    project_name AS project,
    count() AS handoffs,
    countIf(current_lead_status = 'booking_done') AS booked_since,
    round(100 * booked_since / handoffs, 1) AS booked_pct
FROM masked_cc_to_sales_handoffs
WHERE $__timeFilter(handed_off_at)
GROUP BY call_center_agent, project
ORDER BY handoffs DESC, call_center_agent, project
LIMIT 100
