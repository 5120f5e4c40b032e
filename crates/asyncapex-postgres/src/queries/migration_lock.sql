-- Several processes may start at once on a fresh schema: one migrates, the others wait here
-- and then find nothing left to do. $1 schema name. Released when the transaction ends.
SELECT pg_advisory_xact_lock(hashtext('asyncapex_migrate:' || $1::text))
