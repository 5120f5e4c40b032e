SELECT COALESCE(MAX(version), 0) FROM asyncapex_migration
