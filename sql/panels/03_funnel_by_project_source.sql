-- title: Funnel by project and source
-- description: Distinct leads that moved to each stage of the sales pipeline in the time range (IST days), by the lead's current project and source, and the share of new leads that booked.
-- panel: table
-- width: 24
SELECT
    project_name AS project,
    source,
    sumIf(leads, status = 'new') AS reached_new,
    sumIf(leads, status = 'claimed') AS claimed,
    sumIf(leads, status = 'interested') AS interested,
    sumIf(leads, status = 'meeting_done') AS meeting_done,
    sumIf(leads, status = 'visit_done') AS visit_done,
    sumIf(leads, status = 'final_negotiation') AS final_negotiation,
    sumIf(leads, status = 'booking_done') AS booking_done,
    round(100 * booking_done / nullIf(reached_new, 0), 1) AS booked_pct
FROM masked_lead_funnel
WHERE $__dateFilter(day_ist)
GROUP BY project, source
ORDER BY reached_new DESC, project, source
