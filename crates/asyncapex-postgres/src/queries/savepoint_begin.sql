-- job_insert_in runs inside the application's transaction: a savepoint keeps a refusal from
-- aborting it, and rolls back the search_path change with the inserts.
SAVEPOINT asyncapex_job_insert_in
