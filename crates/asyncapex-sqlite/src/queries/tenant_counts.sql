SELECT queue, tenant,
       SUM(status = 'Queued') AS queued,
       SUM(status IN ('Preparing', 'Processing')) AS running
FROM asyncapex_job INDEXED BY asyncapex_job_status
WHERE status IN ('Queued', 'Preparing', 'Processing') AND tenant IS NOT NULL
GROUP BY queue, tenant
ORDER BY queued + running DESC, queue, tenant
LIMIT :limit
