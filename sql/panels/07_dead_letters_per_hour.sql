-- title: Dead letters per hour
-- description: Requests rejected for their content, by the hour they arrived (UTC) and why: not JSON (400), JSON but not a callback (422), or other (a damaged write-ahead log record). A request replayed after a crash counts once.
-- panel: timeseries stacked bars
-- width: 12
SELECT
    toStartOfHour(received_at) AS time,
    countIf(reason = 'not_json') AS not_json,
    countIf(reason = 'not_callback') AS not_callback,
    countIf(reason NOT IN ('not_json', 'not_callback')) AS other
FROM
(
    SELECT received_at, reason
    FROM dead_letters
    WHERE $__timeFilter(received_at)
    LIMIT 1 BY received_at, remote_addr, reason, cityHash64(body)
)
GROUP BY time
ORDER BY time
