-- Whether the caller still holds the batch job in one of the given statuses; the row stays
-- locked until the transaction ends, so the rescuer cannot take it meanwhile.
-- $1 id, $2 owner, $3 statuses
SELECT id FROM asyncapex_job
WHERE id = $1::text AND lease_owner = $2::text AND status = ANY($3::text[])
FOR UPDATE
