-- The job table's definition as SQLite stores it, so a test can read its CHECK lists back.
SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'asyncapex_job'
