-- Batch jobs: scope, start progress and flex-queue position on the job record.
ALTER TABLE asyncapex_job ADD COLUMN batch_scope INTEGER;
ALTER TABLE asyncapex_job ADD COLUMN batch_start_done INTEGER NOT NULL DEFAULT 0;
ALTER TABLE asyncapex_job ADD COLUMN flex_position INTEGER;
CREATE INDEX asyncapex_job_flex_queue ON asyncapex_job (flex_position, id) WHERE status = 'Holding';
-- The promoter counts queued and running batch jobs often: only batch jobs are indexed here, so
-- a million queued queueables cost it nothing.
CREATE INDEX asyncapex_job_batch_active ON asyncapex_job (status) WHERE job_type = 'BatchApex';

-- A batch job's work set, cut into chunks when start runs (Apex's BatchApexWorker records).
CREATE TABLE asyncapex_batch_chunk (
    job_id       TEXT    NOT NULL,
    seq          INTEGER NOT NULL,
    id           TEXT    NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('Pending', 'Completed', 'Failed')),
    item_count   INTEGER NOT NULL,
    items        TEXT    NOT NULL,
    error        TEXT,
    completed_at INTEGER,
    PRIMARY KEY (job_id, seq),
    CONSTRAINT ended_iff_completed_at CHECK ((status = 'Pending') = (completed_at IS NULL))
) WITHOUT ROWID;

-- Apex's BatchApexErrorEvent.
CREATE TABLE asyncapex_batch_error_event (
    replay_id      INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id         TEXT    NOT NULL,
    phase          TEXT    NOT NULL CHECK (phase IN ('START', 'EXECUTE', 'FINISH')),
    exception_type TEXT    NOT NULL,
    message        TEXT    NOT NULL,
    job_scope      TEXT    NOT NULL,
    does_exceed_job_scope_max_length INTEGER NOT NULL CHECK (does_exceed_job_scope_max_length IN (0, 1)),
    created_at     INTEGER NOT NULL
);
CREATE INDEX asyncapex_batch_error_event_job ON asyncapex_batch_error_event (job_id, replay_id);

-- A scheduled batch (schedule_batch) remembers its scope for the job it submits.
ALTER TABLE asyncapex_cron_trigger ADD COLUMN batch_scope INTEGER;
