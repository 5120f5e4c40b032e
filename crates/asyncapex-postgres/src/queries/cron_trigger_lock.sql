-- Serialises schedule inserts across processes, so the name check and the active cap hold
-- globally; released when the transaction ends.
SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':cron'))
