ALTER TABLE table_profiles DROP COLUMN column_count;

ALTER TABLE managed_tables DROP COLUMN storage_uri;
