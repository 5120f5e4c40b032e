-- The tenants with the most live jobs. $1 limit
SELECT queue, tenant,
       COUNT(*) FILTER (WHERE status = 'Queued') AS queued,
       COUNT(*) FILTER (WHERE status IN ('Preparing', 'Processing')) AS running
FROM asyncapex_job
WHERE status IN ('Queued', 'Preparing', 'Processing') AND tenant IS NOT NULL
GROUP BY queue, tenant
ORDER BY COUNT(*) DESC, queue, tenant
LIMIT $1::bigint
