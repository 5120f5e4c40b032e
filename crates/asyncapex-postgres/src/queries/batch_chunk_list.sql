-- $1 job_id, $2 from_seq, $3 status (NULL: any), $4 limit
SELECT * FROM asyncapex_batch_chunk
WHERE job_id = $1::text AND seq >= $2::bigint AND ($3::text IS NULL OR status = $3::text)
ORDER BY seq
LIMIT $4::bigint
