-- A CHECK constraint of a table in a schema, as PostgreSQL reads it back, so a test can
-- compare its list with the canonical one.
-- $1 schema, $2 table, $3 constraint
SELECT pg_get_constraintdef(c.oid) AS definition
FROM pg_constraint c
JOIN pg_class t ON t.oid = c.conrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname = $1::text
  AND t.relname = $2::text
  AND c.conname = $3::text
  AND c.contype = 'c'
