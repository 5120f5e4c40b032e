-- A rate-limited queue's start slots free now: those whose start is a window old or older.
SELECT slot FROM asyncapex_queue_slot
WHERE queue = :queue AND started_at <= :since
ORDER BY started_at, slot
LIMIT :limit
