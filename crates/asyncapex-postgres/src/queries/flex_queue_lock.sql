-- Serialises everything that reads and writes the flex queue (holding cap and positions,
-- promotion and its active cap, moves) across processes; released when the transaction ends.
SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':flex'))
