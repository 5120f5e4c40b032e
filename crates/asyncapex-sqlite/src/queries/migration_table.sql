CREATE TABLE IF NOT EXISTS asyncapex_migration (
    version    INTEGER PRIMARY KEY NOT NULL,
    name       TEXT    NOT NULL,
    applied_at INTEGER NOT NULL
)
