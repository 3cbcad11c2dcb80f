-- 0020_personal_data: the tables behind personal data handling (issue 17): the key of the hashes
-- analysts see in place of phone numbers and e-mail addresses, and the audit of erasures.
--
-- Numbered 0020: 0004 to 0019 are reserved for other work; the runner applies files in version
-- order and does not need versions to be consecutive.

-- pii_key: the installation's secret SipHash key (two 64-bit halves). sql.Migrate inserts one
-- row from crypto/rand when the table is empty, after the migrations. The masked views (0021)
-- hash with sipHash64Keyed under this key and run as their definer, so an analyst sees hashes but
-- cannot read the key: without it, the ten billion possible Indian mobile numbers cannot be
-- hashed to find which one a hash stands for, which takes seconds for an unkeyed hash. A hash is
-- stable for as long as the table keeps its row, so it joins and counts across views and days;
-- another installation (or a database created afresh) has another key.
CREATE TABLE IF NOT EXISTS pii_key
(
    k0 UInt64 COMMENT 'first half of the SipHash key',
    k1 UInt64 COMMENT 'second half of the SipHash key',
    created_at DateTime64(3, 'UTC') COMMENT 'when the key was drawn; the views use the earliest row'
)
ENGINE = MergeTree
ORDER BY tuple()
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'secret key of the hashes in the masked views; readable by leadhouse and analyst_pii only';

-- erasures: one row per lead `leadhouse forget` removed. It keeps who asked, when, and the key
-- (lead id, keyed hash of the phone number), never the person's data, so it is the one table
-- forget leaves alone. Ordered by time: it is read as a log.
CREATE TABLE IF NOT EXISTS erasures
(
    erased_at DateTime64(3, 'UTC') COMMENT 'when forget finished the request',
    erasure_id String COMMENT 'id of the request, shared by its rows',
    requested_by String COMMENT 'who ran forget (-by, default the operating-system user and host)',
    reason String COMMENT 'the reference forget was given (-reason), such as a ticket number',
    lead_id UInt64 COMMENT 'the lead removed; 0 for a request by phone that matched no lead',
    phone_hash String COMMENT 'keyed hash of the phone number the request named, empty if none',
    matched_by LowCardinality(String) COMMENT 'lead_id (named in the request) or phone (found by its phone number)',
    removed String COMMENT 'JSON object: rows removed by table, and wal_records erased, for the whole request'
)
ENGINE = MergeTree
ORDER BY erased_at
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'audit of erasures: who, when, which lead; never the data';
