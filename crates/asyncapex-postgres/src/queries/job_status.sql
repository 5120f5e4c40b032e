-- $1 id
SELECT status FROM asyncapex_job WHERE id = $1::text
