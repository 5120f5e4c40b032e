-- Payload fields a job type marks sensitive, recorded by every engine that registers it,
-- so a dashboard or CLI that registers nothing still redacts them. `fields` is a JSON array
-- of field paths (`card`, `customer.email`).
CREATE TABLE asyncapex_sensitive_field (
    class_name TEXT   NOT NULL PRIMARY KEY,
    fields     TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);
