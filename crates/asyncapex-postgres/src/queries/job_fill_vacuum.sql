-- After a bulk fill: the upkeep its history would have had. VACUUM marks the new pages
-- all-visible, as a store that has run for months has them, and ANALYZE gives plans
-- statistics of the history.
VACUUM (ANALYZE) asyncapex_job, asyncapex_job_count
