SELECT completed_at / 60000000 AS minute,
       SUM(status = 'Completed'),
       SUM(status = 'Failed')
FROM asyncapex_job
WHERE completed_at >= :since
GROUP BY minute
ORDER BY minute
