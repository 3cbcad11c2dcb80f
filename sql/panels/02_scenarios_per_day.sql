-- title: Scenarios per day
-- description: Callbacks matching each of the CRM document's six scenarios, by IST day (lead_scenarios).
-- panel: timeseries stacked bars
-- width: 12
SELECT
    toDateTime(toDate(received_at_ist), 'Asia/Kolkata') AS time,
    countIf(scenario = 'cc_long_call_followup') AS cc_long_call_followup,
    countIf(scenario = 'cc_transferred_to_sales') AS cc_transferred_to_sales,
    countIf(scenario = 'cc_failed') AS cc_failed,
    countIf(scenario = 'sales_site_visit_done') AS sales_site_visit_done,
    countIf(scenario = 'sales_booking_done') AS sales_booking_done,
    countIf(scenario = 'sales_failed') AS sales_failed
FROM masked_lead_scenarios
WHERE $__timeFilter(received_at)
GROUP BY time
ORDER BY time
