-- $1 version, $2 name, $3 applied_at
INSERT INTO asyncapex_migration (version, name, applied_at) VALUES ($1::bigint, $2::text, $3::bigint)
