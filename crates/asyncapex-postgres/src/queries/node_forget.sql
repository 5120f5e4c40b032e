-- Nodes silent since before the cut; one still named as a running job's lease holder stays
-- (the rescuer decides about that job, and the operator should see whose it was).
-- $1 cut
DELETE FROM asyncapex_node n
WHERE COALESCE(n.stopped_at, n.heartbeat_at, n.started_at) < $1::bigint
  AND NOT EXISTS (SELECT 1 FROM asyncapex_job j
                  WHERE j.status IN ('Preparing', 'Processing')
                    AND j.lease_owner = n.name || '#' || n.id)
