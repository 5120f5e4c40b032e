INSERT INTO asyncapex_sensitive_field (class_name, fields, updated_at)
VALUES (:class_name, :fields, :now)
ON CONFLICT (class_name) DO UPDATE SET fields = excluded.fields, updated_at = excluded.updated_at
