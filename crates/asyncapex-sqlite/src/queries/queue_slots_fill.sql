-- A rate limit raised (or set) adds the slots it allows, each free at once.
WITH RECURSIVE n(slot) AS (SELECT 0 UNION ALL SELECT slot + 1 FROM n WHERE slot + 1 < :slots)
INSERT OR IGNORE INTO asyncapex_queue_slot (queue, slot, started_at)
SELECT :queue, slot, 0 FROM n
