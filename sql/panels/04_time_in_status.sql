-- title: Time spent in each status
-- description: Hours a lead stayed in a status before its next move (lead_status_durations), for stays that began in the time range. The status a lead is in now has no stay yet.
-- panel: barchart
-- width: 12
-- unit: h
SELECT
    from_status AS status,
    round(quantileExact(0.5)(seconds) / 3600, 2) AS median_hours,
    round(avg(seconds) / 3600, 2) AS avg_hours,
    round(quantileExact(0.9)(seconds) / 3600, 2) AS p90_hours
FROM masked_lead_status_durations
WHERE $__timeFilter(from_at)
GROUP BY status
ORDER BY indexOf(['new', 'fresh', 'claimed', 'interested', 'meeting_done', 'visit_done', 'final_negotiation',
                  'booking_done', 'in_call_center', 'in_transfer', 'linked', 'failed', 'junk'], status), status
