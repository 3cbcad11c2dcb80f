-- title: Callbacks per hour
-- description: Distinct callbacks stored, by the hour they arrived (UTC). A callback the CRM delivered twice counts once; rejected requests are in "Dead letters per hour".
-- panel: timeseries bars
-- width: 12
SELECT
    toStartOfHour(received_at) AS time,
    count() AS callbacks
FROM masked_lead_updates_dedup
WHERE $__timeFilter(received_at)
GROUP BY time
ORDER BY time
