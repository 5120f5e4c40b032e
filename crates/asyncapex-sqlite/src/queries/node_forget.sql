-- Nodes silent since before the cut; one still named as a running job's lease holder stays
-- (the rescuer decides about that job, and the operator should see whose it was).
DELETE FROM asyncapex_node
WHERE COALESCE(stopped_at, heartbeat_at, started_at) < :cut
  AND NOT EXISTS (SELECT 1 FROM asyncapex_job j
                  WHERE j.status IN ('Preparing', 'Processing')
                    AND j.lease_owner = asyncapex_node.name || '#' || asyncapex_node.id)
