-- Attempt history. The job row keeps its current (or last) attempt: when it started and who
-- ran it; an attempt that ends without completing the job (it failed, was aborted while
-- running, or its worker died and it was rescued) leaves a row here, written in the same
-- statement as its end. A plain completion writes no row, so the queue's hot path pays
-- nothing for the history.
ALTER TABLE asyncapex_job ADD COLUMN attempt_started_at BIGINT;
ALTER TABLE asyncapex_job ADD COLUMN last_owner TEXT;
CREATE TABLE asyncapex_job_attempt (
    job_id     TEXT    NOT NULL,
    attempt    BIGINT  NOT NULL,
    started_at BIGINT,
    ended_at   BIGINT  NOT NULL,
    owner      TEXT,
    outcome    TEXT    NOT NULL,
    error      TEXT,
    PRIMARY KEY (job_id, attempt)
);
