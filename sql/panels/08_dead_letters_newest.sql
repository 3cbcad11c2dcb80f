-- title: Newest dead letters
-- description: The latest requests rejected in the time range (at most 7 days back), with why and how large, so a glance tells a broken sender from a changed format. Bodies are personal data: an operator reads them in dead_letters.body.
-- panel: table
-- width: 24
SELECT
    received_at,
    reason,
    error,
    body_size,
    remote_addr
FROM masked_dead_letters_recent
WHERE $__timeFilter(received_at)
ORDER BY received_at DESC
LIMIT 50
