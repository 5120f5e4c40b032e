-- The distinct class names, skipping through the (class_name, id) index: one seek per name,
-- however many jobs each has. $1 limit
WITH RECURSIVE names(name) AS (
    SELECT (SELECT MIN(class_name) FROM asyncapex_job)
    UNION ALL
    SELECT (SELECT MIN(class_name) FROM asyncapex_job WHERE class_name > names.name)
    FROM names
    WHERE names.name IS NOT NULL
)
SELECT name FROM names WHERE name IS NOT NULL LIMIT $1::bigint
