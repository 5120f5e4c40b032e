-- A finalizer attached to a running job is stored on the job's row (its class and JSON
-- state), so it outlives the process: when a rescuer fails the job because its worker died
-- on the last attempt, any node runs the finalizer from here. The job's end clears it (the
-- finalizer's own job record is inserted with that end), as does a rescue that requeues or
-- aborts the job. The partial index holds only failed jobs whose finalizer has not run: none,
-- nearly always.
ALTER TABLE asyncapex_job ADD COLUMN finalizer_class TEXT;
ALTER TABLE asyncapex_job ADD COLUMN finalizer_state TEXT;
CREATE INDEX asyncapex_job_finalizer_stranded ON asyncapex_job (completed_at)
    WHERE finalizer_class IS NOT NULL AND status = 'Failed';
