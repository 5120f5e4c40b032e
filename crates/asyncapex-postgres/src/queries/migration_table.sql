CREATE TABLE IF NOT EXISTS asyncapex_migration (
    version    BIGINT  PRIMARY KEY NOT NULL,
    name       TEXT    NOT NULL,
    applied_at BIGINT  NOT NULL
)
