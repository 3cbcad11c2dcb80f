-- 0004_crm_time: every callback-derived row carries the CRM's own time and its arrival order.
--
-- crm_updated_at is the newest time the callback's document carries (status_changes moves, event,
-- note and call times, dispositions, claimed_at, created_at: flatten.CRMUpdatedAt). The CRM
-- promises no order of delivery and re-sends a failed delivery after newer callbacks of the same
-- lead went through (leadhouse itself causes that whenever it answers 503), so received_at cannot
-- say which callback is a lead's newest: the document's own clock can. It is the same on every row
-- of one callback, and the Unix epoch when the document carries no time at all.
--
-- arrival is the callback's position in the write-ahead log (wal.Position.Uint64: segment in the
-- high 32 bits, offset in the low 32), a total order of arrival that survives restarts. It breaks
-- ties of crm_updated_at (several callbacks stamped in one millisecond, or updates that change no
-- time, such as an agent_update), instead of the callback_id hash the views used before. Every
-- delivery of a callback has its own arrival.
--
-- Rows stored before this migration have crm_updated_at and arrival 0 until `leadhouse rebuild`
-- re-flattens their raw bodies (mapping version 2 computes crm_updated_at; rows without an
-- arrival are given one from their received_at order, below every position of the log).

ALTER TABLE lead_updates
    ADD COLUMN IF NOT EXISTS crm_updated_at DateTime64(3, 'UTC') COMMENT 'newest time the callback''s document carries (the CRM''s clock); orders a lead''s callbacks' AFTER mapping_version,
    ADD COLUMN IF NOT EXISTS arrival UInt64 COMMENT 'write-ahead log position of the delivery: arrival order, breaks ties of crm_updated_at' AFTER crm_updated_at;

ALTER TABLE events
    ADD COLUMN IF NOT EXISTS crm_updated_at DateTime64(3, 'UTC') COMMENT 'newest time the callback''s document carries (the CRM''s clock); orders a lead''s callbacks' AFTER mapping_version,
    ADD COLUMN IF NOT EXISTS arrival UInt64 COMMENT 'write-ahead log position of the delivery: arrival order, breaks ties of crm_updated_at' AFTER crm_updated_at;

ALTER TABLE notes
    ADD COLUMN IF NOT EXISTS crm_updated_at DateTime64(3, 'UTC') COMMENT 'newest time the callback''s document carries (the CRM''s clock); orders a lead''s callbacks' AFTER mapping_version,
    ADD COLUMN IF NOT EXISTS arrival UInt64 COMMENT 'write-ahead log position of the delivery: arrival order, breaks ties of crm_updated_at' AFTER crm_updated_at;

ALTER TABLE calls
    ADD COLUMN IF NOT EXISTS crm_updated_at DateTime64(3, 'UTC') COMMENT 'newest time the callback''s document carries (the CRM''s clock); orders a lead''s callbacks' AFTER mapping_version,
    ADD COLUMN IF NOT EXISTS arrival UInt64 COMMENT 'write-ahead log position of the delivery: arrival order, breaks ties of crm_updated_at' AFTER crm_updated_at;

ALTER TABLE dispositions
    ADD COLUMN IF NOT EXISTS crm_updated_at DateTime64(3, 'UTC') COMMENT 'newest time the callback''s document carries (the CRM''s clock); orders a lead''s callbacks' AFTER mapping_version,
    ADD COLUMN IF NOT EXISTS arrival UInt64 COMMENT 'write-ahead log position of the delivery: arrival order, breaks ties of crm_updated_at' AFTER crm_updated_at;

ALTER TABLE status_transitions
    ADD COLUMN IF NOT EXISTS crm_updated_at DateTime64(3, 'UTC') COMMENT 'newest time the callback''s document carries (the CRM''s clock); orders a lead''s callbacks' AFTER mapping_version,
    ADD COLUMN IF NOT EXISTS arrival UInt64 COMMENT 'write-ahead log position of the delivery: arrival order, breaks ties of crm_updated_at' AFTER crm_updated_at;

ALTER TABLE booking_docs
    ADD COLUMN IF NOT EXISTS crm_updated_at DateTime64(3, 'UTC') COMMENT 'newest time the callback''s document carries (the CRM''s clock); orders a lead''s callbacks' AFTER mapping_version,
    ADD COLUMN IF NOT EXISTS arrival UInt64 COMMENT 'write-ahead log position of the delivery: arrival order, breaks ties of crm_updated_at' AFTER crm_updated_at;

ALTER TABLE dead_letters
    ADD COLUMN IF NOT EXISTS arrival UInt64 COMMENT 'write-ahead log position of the request: arrival order';
