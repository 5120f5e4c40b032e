-- The guard makes each fire time fire once, whichever engine gets here first.
UPDATE asyncapex_cron_trigger
SET previous_fire_time = next_fire_time,
    next_fire_time = :next_fire_time,
    times_triggered = times_triggered + 1,
    last_job_id = :job_id,
    state = CASE WHEN :next_fire_time IS NULL THEN 'COMPLETE' ELSE 'WAITING' END,
    end_time = CASE WHEN :next_fire_time IS NULL THEN :fired_at ELSE end_time END
WHERE id = :id
  AND state = 'WAITING'
  AND next_fire_time = :expected_next_fire_time
  AND (last_job_id IS NULL OR NOT EXISTS (
        SELECT 1 FROM asyncapex_job j
        WHERE j.id = asyncapex_cron_trigger.last_job_id
          AND j.status NOT IN ('Completed', 'Failed', 'Aborted')))
