-- $1 class_name, $2 fields (JSON array), $3 now
INSERT INTO asyncapex_sensitive_field (class_name, fields, updated_at)
VALUES ($1::text, $2::text, $3::bigint)
ON CONFLICT (class_name) DO UPDATE SET fields = excluded.fields, updated_at = excluded.updated_at
