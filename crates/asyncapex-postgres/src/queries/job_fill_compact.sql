-- The fill writes months of creations in seconds, and the kept per-minute counts drop each
-- minute 48 hours after writing it: tens of thousands of dead rows in tables that, vacuumed
-- every minute over those months (Store::maintain), would have kept their steady size.
-- VACUUM FULL gives them that size.
VACUUM (FULL, ANALYZE) asyncapex_job_created_count, asyncapex_job_created_hour_count,
    asyncapex_job_minute_stats
