-- A node's lease-owner name is name#id; its running jobs are the leases it holds.
-- $1 limit, $2 workers_only
SELECT n.id, n.name, n.name || '#' || n.id AS owner, n.started_at,
       COALESCE(n.heartbeat_at, n.started_at) AS heartbeat_at, n.runs_jobs, n.stopped_at,
       (SELECT COUNT(*) FROM asyncapex_job j
        WHERE j.lease_owner = n.name || '#' || n.id
          AND j.status IN ('Preparing', 'Processing')) AS running_jobs
FROM asyncapex_node n
WHERE n.runs_jobs OR NOT $2::boolean
ORDER BY n.id DESC
LIMIT $1::bigint
