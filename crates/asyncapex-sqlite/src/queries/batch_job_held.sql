-- Whether the caller still holds the batch job in one of the given statuses.
SELECT COUNT(*) FROM asyncapex_job
WHERE id = :id AND lease_owner = :owner
  AND status IN (SELECT value FROM json_each(:statuses))
