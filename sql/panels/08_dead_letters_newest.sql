-- title: Newest dead letters
-- description: The latest rejected requests in the time range with the start of each body, so a glance tells a broken sender from a changed format. The whole body is in dead_letters.body.
-- panel: table
-- width: 24
SELECT
    received_at,
    reason,
    error,
    body_size,
    substringUTF8(body, 1, 300) AS body_head
FROM dead_letters
WHERE $__timeFilter(received_at)
ORDER BY received_at DESC
LIMIT 1 BY received_at, remote_addr, reason, cityHash64(body)
LIMIT 50
