-- Fresh statistics after a bulk fill, so plans see the history it wrote.
ANALYZE asyncapex_job
