-- title: Call-centre to sales hand-offs per day
-- description: Leads the call center handed to sales, by IST day and how: a patch-out or a send to fresh (cc_to_sales_handoffs, each hand-off once).
-- panel: timeseries stacked bars
-- width: 12
SELECT
    toDateTime(toDate(handed_off_at_ist), 'Asia/Kolkata') AS time,
    countIf(disposition_type = 'patch_out') AS patch_out,
    countIf(disposition_type = 'fresh') AS sent_to_fresh
FROM masked_cc_to_sales_handoffs
WHERE $__timeFilter(handed_off_at)
GROUP BY time
ORDER BY time
