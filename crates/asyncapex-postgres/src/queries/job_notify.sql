-- Wakes every process listening on this schema's channel; delivered only if the transaction
-- commits (and once per transaction, however many jobs it inserted).
SELECT pg_notify(current_schema() || '_wake', '')
