-- When autovacuum is off, this store's tables whose dead row versions or changes since their
-- last ANALYZE are past autovacuum's default thresholds (20 % and 10 % of the live rows),
-- with a floor of 1,000 rows so a small table is not tidied on every look. `vacuum` says
-- which of the two; `name` is quoted for the statement.
SELECT quote_ident(schemaname) || '.' || quote_ident(relname) AS name,
       n_dead_tup > 1000 + 0.2 * n_live_tup AS vacuum
FROM pg_stat_user_tables
WHERE schemaname = current_schema()
  AND relname LIKE 'asyncapex\_%'
  AND NOT current_setting('autovacuum')::boolean
  AND (n_dead_tup > 1000 + 0.2 * n_live_tup OR n_mod_since_analyze > 1000 + 0.1 * n_live_tup)
ORDER BY relname
