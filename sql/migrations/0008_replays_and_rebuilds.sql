-- 0008_replays_and_rebuilds: the bookkeeping of `leadhouse dead-letters replay` and `leadhouse
-- rebuild`.

-- dead_letter_replays: one row each time `dead-letters replay` re-submitted a dead letter, with
-- what came of it. A dead letter is identified by cityHash64(received_at, remote_addr, body), the
-- same for every copy a crash may have stored of it (dead_letters_recent shows it once too).
-- replay skips the dead letters whose last outcome is stored or duplicate; one that still fails is
-- tried again by the next replay (a fixed parser may take it then).
CREATE TABLE IF NOT EXISTS dead_letter_replays
(
    dead_letter_id UInt64 COMMENT 'cityHash64(received_at, remote_addr, body) of the dead letter',
    replayed_at DateTime64(3, 'UTC') COMMENT 'when replay re-submitted it',
    outcome LowCardinality(String) COMMENT 'stored, duplicate (stored by an earlier replay) or dead_letter (still fails)',
    reason LowCardinality(String) COMMENT 'why it still fails, for outcome dead_letter',
    error String COMMENT 'the error, for outcome dead_letter',
    callback_id String COMMENT 'the callback it became, for stored and duplicate'
)
ENGINE = MergeTree
ORDER BY (dead_letter_id, replayed_at)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'what dead-letters replay made of each dead letter it re-submitted';

-- rebuild_chunks: the chunks of lead ids a rebuild has re-flattened, per table, with the rows it
-- wrote: a rebuild resumed after a crash skips the chunks done, and the check before the swap
-- compares each new table with the rows written to it.
CREATE TABLE IF NOT EXISTS rebuild_chunks
(
    rebuild String COMMENT 'the rebuild: when it started',
    chunk UInt32 COMMENT 'the bucket of lead ids (lead_id % chunks); dead letters are their own chunk',
    table_name LowCardinality(String),
    rows UInt64 COMMENT 'rows written to the new table',
    done_at DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (rebuild, chunk, table_name)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'progress of leadhouse rebuild';
