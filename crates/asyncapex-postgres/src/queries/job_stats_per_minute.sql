SELECT completed_at / 60000000 AS minute,
       COUNT(*) FILTER (WHERE status = 'Completed'),
       COUNT(*) FILTER (WHERE status = 'Failed')
FROM asyncapex_job
WHERE completed_at >= $1
GROUP BY minute
ORDER BY minute
