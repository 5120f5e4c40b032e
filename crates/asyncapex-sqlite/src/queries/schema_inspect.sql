-- What a file holds before anything is written to it: how many schema objects, whether our
-- migration table is among them, whether any object has our prefix, and a few table names
-- to name the file's contents by.
SELECT
    (SELECT count(*) FROM sqlite_master) AS objects,
    EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'asyncapex_migration') AS ours,
    EXISTS (SELECT 1 FROM sqlite_master WHERE name LIKE 'asyncapex\_%' ESCAPE '\') AS our_prefix,
    (SELECT group_concat(name, ', ') FROM (
        SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name LIMIT 3
    )) AS some_tables
