-- Schedules (Apex's CronTrigger + CronJobDetail). EXECUTING, ACQUIRED and BLOCKED are not
-- stored: they are derived from the state of the trigger's latest job.
CREATE TABLE asyncapex_cron_trigger (
    id                 TEXT    COLLATE "C" PRIMARY KEY NOT NULL,   -- '08e…'
    name               TEXT    NOT NULL,
    job_type           TEXT    NOT NULL CHECK (job_type IN ('ScheduledApex', 'BatchApex')),
    class_name         TEXT    NOT NULL,
    payload            TEXT    NOT NULL,
    cron_expression    TEXT    NOT NULL,
    time_zone          TEXT    NOT NULL,
    dst_policy         TEXT    NOT NULL CHECK (dst_policy IN ('quartz', 'never-skip')),
    state              TEXT    NOT NULL CHECK (state IN ('WAITING', 'PAUSED', 'COMPLETE', 'ERROR', 'DELETED')),
    state_detail       TEXT,
    next_fire_time     BIGINT,
    previous_fire_time BIGINT,
    times_triggered    BIGINT  NOT NULL DEFAULT 0,
    start_time         BIGINT  NOT NULL,
    end_time           BIGINT,
    last_job_id        TEXT    COLLATE "C",
    CONSTRAINT waiting_has_next_fire CHECK (state <> 'WAITING' OR next_fire_time IS NOT NULL)
);

-- Names are unique among schedules that are still active (Apex frees a deleted one's name).
CREATE UNIQUE INDEX asyncapex_cron_trigger_name ON asyncapex_cron_trigger (name)
    WHERE state IN ('WAITING', 'PAUSED', 'ERROR');
CREATE INDEX asyncapex_cron_trigger_due ON asyncapex_cron_trigger (next_fire_time)
    WHERE state = 'WAITING';

-- A scheduled run's job points back at its schedule (Apex's AsyncApexJob.CronTriggerId).
ALTER TABLE asyncapex_job ADD COLUMN cron_trigger_id TEXT COLLATE "C";
