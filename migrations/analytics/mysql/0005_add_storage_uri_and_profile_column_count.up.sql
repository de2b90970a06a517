-- Expand step of managed_tables.location -> managed_tables.storage_uri: nullable new column;
-- the catalogue writes both from this release on and reads storage_uri first.
-- table_profiles.column_count: number of profiled columns, shown in profile lists; older
-- profiles are filled by backfills/table_profiles_column_count.toml.

ALTER TABLE managed_tables ADD COLUMN storage_uri VARCHAR(2048) NULL, ALGORITHM=INSTANT;

ALTER TABLE table_profiles ADD COLUMN column_count INT NULL, ALGORITHM=INSTANT;
