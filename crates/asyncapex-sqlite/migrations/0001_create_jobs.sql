-- The job table mirrors Apex's AsyncApexJob plus what a durable engine needs.
-- Instants are INTEGER microseconds since the Unix epoch, UTC.
CREATE TABLE asyncapex_job (
    id                 TEXT    PRIMARY KEY NOT NULL,   -- 15-character form, '707…'
    job_type           TEXT    NOT NULL CHECK (job_type IN
                           ('Queueable', 'Future', 'BatchApex', 'BatchApexWorker', 'ScheduledApex', 'Finalizer')),
    class_name         TEXT    NOT NULL,
    method_name        TEXT,
    status             TEXT    NOT NULL CHECK (status IN
                           ('Holding', 'Queued', 'Preparing', 'Processing', 'Completed', 'Failed', 'Aborted')),
    extended_status    TEXT,
    items_processed    INTEGER NOT NULL DEFAULT 0,
    total_items        INTEGER NOT NULL DEFAULT 0,
    number_of_errors   INTEGER NOT NULL DEFAULT 0,
    parent_job_id      TEXT,
    created_at         INTEGER NOT NULL,
    started_at         INTEGER,
    completed_at       INTEGER,
    run_at             INTEGER NOT NULL,
    attempt            INTEGER NOT NULL DEFAULT 0,
    max_attempts       INTEGER NOT NULL CHECK (max_attempts >= 1),
    stack_depth        INTEGER NOT NULL CHECK (stack_depth >= 1),
    max_stack_depth    INTEGER,
    failure_reenqueues INTEGER NOT NULL DEFAULT 0,
    signature          TEXT,
    payload            TEXT    NOT NULL,
    lease_owner        TEXT,
    lease_expires_at   INTEGER,
    abort_requested    INTEGER NOT NULL DEFAULT 0 CHECK (abort_requested IN (0, 1)),
    -- A completion time exactly when the status is terminal.
    CONSTRAINT completed_iff_terminal CHECK (
        (status IN ('Completed', 'Failed', 'Aborted')) = (completed_at IS NOT NULL)),
    -- A lease exactly when a worker holds the job.
    CONSTRAINT lease_iff_running CHECK (
        (status IN ('Preparing', 'Processing')) = (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL)),
    -- Signatures only on jobs that have not started.
    CONSTRAINT signature_only_waiting CHECK (
        signature IS NULL OR status IN ('Holding', 'Queued'))
);

-- Duplicate signatures: unique among jobs still waiting (cleared when a job starts).
CREATE UNIQUE INDEX asyncapex_job_signature ON asyncapex_job (signature) WHERE signature IS NOT NULL;
-- Claims: due queued jobs in run-time order.
CREATE INDEX asyncapex_job_queued ON asyncapex_job (run_at, id) WHERE status = 'Queued';
-- Rescue: running jobs by lease expiry.
CREATE INDEX asyncapex_job_running ON asyncapex_job (lease_expires_at) WHERE status IN ('Preparing', 'Processing');
CREATE INDEX asyncapex_job_parent ON asyncapex_job (parent_job_id) WHERE parent_job_id IS NOT NULL;
CREATE INDEX asyncapex_job_status ON asyncapex_job (status, id);
CREATE INDEX asyncapex_job_class ON asyncapex_job (class_name, id);

-- Processes sharing this store; the row id is the node number used in IDs.
CREATE TABLE asyncapex_node (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL,
    started_at    INTEGER NOT NULL
);
