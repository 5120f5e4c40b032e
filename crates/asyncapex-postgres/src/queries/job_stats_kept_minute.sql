-- The newest minute of the kept completion figures (migration 7); NULL when none are kept.
SELECT MAX(minute) FROM asyncapex_job_minute_stats
