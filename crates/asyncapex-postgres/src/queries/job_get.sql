-- $1 id
SELECT * FROM asyncapex_job WHERE id = $1::text
