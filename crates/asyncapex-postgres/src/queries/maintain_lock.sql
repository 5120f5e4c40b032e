-- One node's upkeep at a time per schema (a session lock on this connection; false when
-- another node holds it).
SELECT pg_try_advisory_lock(1634301540, hashtext(current_schema()))
