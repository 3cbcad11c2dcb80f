-- title: Dead letters per hour
-- description: Requests rejected for their content in the last 7 days (masked_dead_letters_recent), by the hour they arrived (UTC) and why: not JSON (400), JSON but not a callback (422), or other (a damaged write-ahead log record). A request replayed after a crash counts once.
-- panel: timeseries stacked bars
-- width: 12
SELECT
    toStartOfHour(received_at) AS time,
    countIf(reason = 'not_json') AS not_json,
    countIf(reason = 'not_callback') AS not_callback,
    countIf(reason NOT IN ('not_json', 'not_callback')) AS other
FROM masked_dead_letters_recent
WHERE $__timeFilter(received_at)
GROUP BY time
ORDER BY time
