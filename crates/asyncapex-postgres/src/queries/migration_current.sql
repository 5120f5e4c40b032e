SELECT COALESCE(MAX(version), 0)::bigint FROM asyncapex_migration
